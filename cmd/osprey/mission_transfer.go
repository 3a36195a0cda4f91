package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/ospreygcs/osprey/mavlink"
	"github.com/ospreygcs/osprey/mission"
)

// newMissionTransferCmds returns the commands that move plans to and from a vehicle.
func newMissionTransferCmds() []*cobra.Command {
	return []*cobra.Command{newMissionUploadCmd(), newMissionDownloadCmd(), newMissionClearCmd(), newMissionStartCmd()}
}

// transferBar is a progress bar on a terminal, one per part (mission, fence, rally); nothing otherwise.
func transferBar(quiet bool, what string) (func(part string, done, total int), func()) {
	if quiet || !stderrIsTerminal() {
		return nil, func() {}
	}
	var bar *progressbar.ProgressBar
	current := ""
	finish := func() {
		if bar != nil {
			_ = bar.Finish()
		}
	}
	return func(part string, done, total int) {
		if bar == nil || part != current {
			finish()
			current = part
			bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(os.Stderr), progressbar.OptionSetDescription(what+" "+part),
				progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
		}
		_ = bar.Set(done)
	}, finish
}

// uploadPlan validates a plan, then uploads its mission, fence and rally points and verifies each by
// reading it back. A plan with validation errors is not sent at all.
func uploadPlan(ctx context.Context, v *mavlink.Vehicle, p *mission.Plan, vf validateFlags, quiet bool) (mission.Report, error) {
	rep := mission.Validate(p, vf.options())
	if !rep.OK() {
		return rep, fmt.Errorf("%w: %v (nothing was sent)", errPlanInvalid, rep.Err())
	}
	progress, done := transferBar(quiet, "uploading")
	defer done()
	return rep, mission.Upload(ctx, v, p, mission.TransferOptions{Progress: progress})
}

func newMissionUploadCmd() *cobra.Command {
	var f linkFlags
	var vf validateFlags
	c := &cobra.Command{
		Use:   "upload FILE",
		Short: "Validate a plan, upload it (mission, fence, rally) and verify it by reading it back",
		Long: `Validate a plan, upload its mission, geofence and rally points with the MAVLink mission protocol,
and read each back to compare. A lost item is sent again, not the whole mission; a transfer that
cannot complete fails loudly and leaves the vehicle's mission marked unknown — never a partial
mission reported as success. A plan with validation errors is not sent.`,
		Example: `  osprey mission upload patrol.plan --link tcpc:127.0.0.1:5760
  osprey mission upload survey.waypoints --link udps:0.0.0.0:14550 --vehicle 2 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := mission.Load(args[0])
			if err != nil {
				return err
			}
			return f.withSession(cmd, func(ctx context.Context, sess session) error {
				v := sess.vehicle()
				rep, err := sess.uploadPlan(ctx, p, vf, f.json)
				if err != nil {
					if f.json {
						_ = printJSON(cmd.OutOrStdout(), map[string]any{"vehicle": v.SystemID(), "ok": false, "error": err.Error(), "report": rep})
					}
					return err
				}
				if f.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"vehicle": v.SystemID(), "ok": true, "items": len(p.Items), "report": rep})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "vehicle %d: uploaded and verified %d items (%.0f m, about %s)\n", v.SystemID(), len(p.Items), rep.PathLengthM, rep.FlightTime.Round(1e9))
				for _, is := range rep.Issues {
					fmt.Fprintf(cmd.OutOrStdout(), "  %s\n", is)
				}
				return nil
			})
		},
	}
	f.register(c)
	vf.register(c)
	return c
}

func newMissionDownloadCmd() *cobra.Command {
	var f linkFlags
	c := &cobra.Command{
		Use:   "download FILE",
		Short: "Read the vehicle's mission, fence and rally points into a file (.plan, .waypoints, .geojson, .kml)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withSession(cmd, func(ctx context.Context, sess session) error {
				p, err := sess.downloadPlan(ctx, f.json)
				if err != nil {
					return err
				}
				format := strings.TrimPrefix(strings.ToLower(filepath.Ext(args[0])), ".")
				if format == "" {
					format = "plan"
				}
				return writePlanFile(cmd, args[0], format, p)
			})
		},
	}
	f.register(c)
	return c
}

func newMissionClearCmd() *cobra.Command {
	var f linkFlags
	var all bool
	c := &cobra.Command{
		Use:   "clear",
		Short: "Clear the vehicle's mission (and with --all its fence and rally points)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.withSession(cmd, func(ctx context.Context, sess session) error {
				return report(cmd.OutOrStdout(), f.json, sess.vehicle().SystemID(), "clear", sess.clearMission(ctx, all))
			})
		},
	}
	f.register(c)
	c.Flags().BoolVar(&all, "all", false, "also clear the geofence and rally points")
	return c
}

func newMissionStartCmd() *cobra.Command {
	var f linkFlags
	c := &cobra.Command{
		Use:   "start",
		Short: "Start the uploaded mission (ArduPilot switches to AUTO; arm first)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.withSession(cmd, func(ctx context.Context, sess session) error {
				v := sess.vehicle()
				return report(cmd.OutOrStdout(), f.json, v.SystemID(), "mission start", v.MissionStart(ctx))
			})
		},
	}
	f.register(c)
	return c
}
