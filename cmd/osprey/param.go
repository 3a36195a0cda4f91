package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"text/tabwriter"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/ospreygcs/osprey/mavlink"
)

func newParamCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "param",
		Short: "Read, change, save and load a vehicle's parameters",
		Long: `Read and change autopilot parameters over a link, or through a running osprey server with --server.

A download asks again for every parameter a lossy radio dropped, so it finishes instead of stalling
at 99 %. A set is confirmed by the value the vehicle sends back. Files are written in Mission Planner
(NAME,VALUE) or QGroundControl (tab-separated) format; both are read.`,
		Example: `  osprey param list --link tcpc:127.0.0.1:5760
  osprey param get WPNAV_SPEED --link tcpc:127.0.0.1:5760
  osprey param set WPNAV_SPEED 800 --link tcpc:127.0.0.1:5760
  osprey param save copter.param --link tcpc:127.0.0.1:5760
  osprey param load copter.param --link tcpc:127.0.0.1:5760

  # through a running server (osprey serve, osprey demo)
  osprey param get RTL_ALT --server http://127.0.0.1:8080 --vehicle 2 --json`,
	}
	with := func(use, short string, args cobra.PositionalArgs, do func(cmd *cobra.Command, f *linkFlags, v paramHandle, args []string) error) (*cobra.Command, *linkFlags) {
		f := &linkFlags{}
		c := &cobra.Command{Use: use, Short: short, Args: args, RunE: func(cmd *cobra.Command, args []string) error {
			return f.withSession(cmd, func(ctx context.Context, sess session) error {
				cmd.SetContext(ctx)
				return do(cmd, f, sess.params(), args)
			})
		}}
		f.register(c)
		return c, f
	}
	list, _ := with("list", "Download and print every parameter", cobra.NoArgs, func(cmd *cobra.Command, f *linkFlags, v paramHandle, _ []string) error {
		params, err := download(cmd.Context(), v, f.json)
		if err != nil {
			return err
		}
		if f.json {
			return printJSON(cmd.OutOrStdout(), params)
		}
		tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
		for _, p := range params {
			fmt.Fprintf(tw, "%s\t%s\n", p.Name, strconv.FormatFloat(p.Value, 'g', -1, 32))
		}
		return tw.Flush()
	})
	get, _ := with("get NAME", "Read one parameter from the vehicle", cobra.ExactArgs(1), func(cmd *cobra.Command, f *linkFlags, v paramHandle, args []string) error {
		p, err := v.GetParam(cmd.Context(), args[0])
		if errors.Is(err, mavlink.ErrTimeout) {
			err = fmt.Errorf("%w (is %s a parameter of this vehicle?)", err, args[0])
		}
		if err != nil {
			return err
		}
		if f.json {
			return printJSON(cmd.OutOrStdout(), p)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s = %s\n", p.Name, strconv.FormatFloat(p.Value, 'g', -1, 32))
		return nil
	})
	set, _ := with("set NAME VALUE", "Change one parameter, confirmed by the vehicle's echo", cobra.ExactArgs(2), func(cmd *cobra.Command, f *linkFlags, v paramHandle, args []string) error {
		val, err := parseFloatArg("value", args[1])
		if err != nil {
			return err
		}
		p, err := v.SetParam(cmd.Context(), args[0], val)
		if err != nil {
			return err
		}
		if f.json {
			return printJSON(cmd.OutOrStdout(), p)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s = %s\n", p.Name, strconv.FormatFloat(p.Value, 'g', -1, 32))
		return nil
	})
	var format string
	save, _ := with("save FILE", "Download every parameter into a file", cobra.ExactArgs(1), func(cmd *cobra.Command, f *linkFlags, v paramHandle, args []string) error {
		ff := mavlink.ParamFileFormat(format)
		if ff != mavlink.MissionPlannerFormat && ff != mavlink.QGCFormat {
			return usageError{fmt.Errorf("--format %q: want missionplanner or qgc", format)}
		}
		params, err := download(cmd.Context(), v, f.json)
		if err != nil {
			return err
		}
		s := v.State()
		tmp := args[0] + ".tmp"
		out, err := os.Create(tmp)
		if err != nil {
			return err
		}
		err = mavlink.WriteParamFile(out, params, ff, mavlink.ParamFileHeader{SystemID: s.SystemID, ComponentID: s.ComponentID,
			Stack: autopilotName(s.Autopilot), Firmware: s.Firmware})
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp, args[0]) // never a half-written file under the real name
		}
		if err != nil {
			_ = os.Remove(tmp)
			return err
		}
		if f.json {
			return printJSON(cmd.OutOrStdout(), map[string]any{"file": args[0], "params": len(params)})
		}
		fmt.Fprintf(cmd.OutOrStdout(), "saved %d parameters to %s\n", len(params), args[0])
		return nil
	})
	save.Flags().StringVar(&format, "format", string(mavlink.MissionPlannerFormat), "file format: missionplanner or qgc")
	load, _ := with("load FILE", "Set every parameter in a file that differs on the vehicle", cobra.ExactArgs(1), func(cmd *cobra.Command, f *linkFlags, v paramHandle, args []string) error {
		in, err := os.Open(args[0])
		if err != nil {
			return err
		}
		want, _, err := mavlink.ParseParamFile(in)
		in.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", args[0], err) // nothing was sent: the whole file is checked first
		}
		have, err := download(cmd.Context(), v, f.json)
		if err != nil {
			return err
		}
		current := map[string]float64{}
		for _, p := range have {
			current[p.Name] = p.Value
		}
		var unknown, changed []string
		for _, p := range want {
			if _, ok := current[p.Name]; !ok {
				unknown = append(unknown, p.Name)
			}
		}
		if len(unknown) > 0 {
			return fmt.Errorf("%s: the vehicle has no parameter %v; nothing changed", args[0], unknown)
		}
		for _, p := range want {
			if float32(current[p.Name]) == float32(p.Value) {
				continue
			}
			if _, err := v.SetParam(cmd.Context(), p.Name, p.Value); err != nil {
				return fmt.Errorf("after changing %d parameters %v: %w", len(changed), changed, err)
			}
			changed = append(changed, p.Name)
		}
		if f.json {
			return printJSON(cmd.OutOrStdout(), map[string]any{"file": args[0], "changed": changed, "unchanged": len(want) - len(changed)})
		}
		fmt.Fprintf(cmd.OutOrStdout(), "changed %d parameters, %d already had the file's value\n", len(changed), len(want)-len(changed))
		return nil
	})
	cmd.AddCommand(list, get, set, save, load)
	return cmd
}

// download fetches every parameter with a progress bar on a terminal.
func download(ctx context.Context, v paramHandle, quiet bool) ([]mavlink.Param, error) {
	var bar *progressbar.ProgressBar
	progress := func(got, total int) {
		if quiet || !stderrIsTerminal() {
			return
		}
		if bar == nil {
			bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(os.Stderr), progressbar.OptionSetDescription("parameters"),
				progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
		}
		_ = bar.Set(got)
	}
	params, err := v.DownloadParams(ctx, progress)
	if bar != nil {
		_ = bar.Finish()
	}
	return params, err
}
