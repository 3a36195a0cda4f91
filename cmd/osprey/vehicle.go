package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ospreygcs/osprey/mavlink"
)

func newVehicleCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vehicle",
		Short: "List, inspect and command vehicles straight over a link",
		Long: `Talk to vehicles straight over a MAVLink link, without a server.

Every command waits for the vehicle's acknowledgement (resending as MAVLink asks) and exits
non-zero when the vehicle refuses (3) or does not answer (4). Arm, disarm and mode changes also
wait until the vehicle's heartbeat shows the new state.`,
		Example: `  osprey vehicle list --link udps:0.0.0.0:14550
  osprey vehicle show --link tcpc:127.0.0.1:5760 --json
  osprey vehicle mode GUIDED --link tcpc:127.0.0.1:5760 && osprey vehicle arm --link tcpc:127.0.0.1:5760
  osprey vehicle takeoff 20 --link tcpc:127.0.0.1:5760
  osprey vehicle goto -35.3632 149.1652 30 --link tcpc:127.0.0.1:5760`,
	}
	cmd.AddCommand(newVehicleListCmd(), newVehicleShowCmd())
	action := func(use, short string, args cobra.PositionalArgs, do func(ctx context.Context, v vehicleHandle, args []string) error) *cobra.Command {
		var f linkFlags
		c := &cobra.Command{
			Use:   use,
			Short: short,
			Args:  args,
			RunE: func(cmd *cobra.Command, args []string) error {
				return f.withSession(cmd, func(ctx context.Context, sess session) error {
					v := sess.vehicle()
					name := strings.Fields(use)[0]
					err := do(ctx, v, args)
					return report(cmd.OutOrStdout(), f.json, v.SystemID(), name, err)
				})
			},
		}
		f.register(c)
		return c
	}
	var force bool
	disarm := action("disarm", "Disarm the motors (--force also in flight: the vehicle falls)", cobra.NoArgs,
		func(ctx context.Context, v vehicleHandle, _ []string) error { return v.Disarm(ctx, force) })
	disarm.Flags().BoolVar(&force, "force", false, "skip the autopilot's checks; disarms in flight")
	mode := action("mode NAME", "Switch flight mode (GUIDED, LOITER, RTL, AUTO, ... or a number)", cobra.ExactArgs(1),
		func(ctx context.Context, v vehicleHandle, args []string) error { return v.SetMode(ctx, args[0]) })
	mode.ValidArgs = mavlink.ModeNames(mavlink.AutopilotArduPilot, 2)
	cmd.AddCommand(
		action("arm", "Arm the motors (the autopilot's pre-arm checks apply)", cobra.NoArgs,
			func(ctx context.Context, v vehicleHandle, _ []string) error { return v.Arm(ctx) }),
		disarm,
		mode,
		action("takeoff ALT", "Take off to ALT metres above home (ArduCopter: armed, in GUIDED)", cobra.ExactArgs(1),
			func(ctx context.Context, v vehicleHandle, args []string) error {
				alt, err := parseFloatArg("altitude", args[0])
				if err != nil {
					return err
				}
				return v.Takeoff(ctx, alt)
			}),
		action("land", "Land where the vehicle is", cobra.NoArgs,
			func(ctx context.Context, v vehicleHandle, _ []string) error { return v.Land(ctx) }),
		action("rtl", "Return to launch", cobra.NoArgs,
			func(ctx context.Context, v vehicleHandle, _ []string) error { return v.RTL(ctx) }),
		action("goto LAT LON ALT", "Fly to a point, ALT metres above home (switches to GUIDED)", cobra.ExactArgs(3),
			func(ctx context.Context, v vehicleHandle, args []string) error {
				var vals [3]float64
				for i, name := range []string{"latitude", "longitude", "altitude"} {
					x, err := parseFloatArg(name, args[i])
					if err != nil {
						return err
					}
					vals[i] = x
				}
				return v.Goto(ctx, vals[0], vals[1], vals[2])
			}),
		action("speed MS", "Set the horizontal speed in m/s", cobra.ExactArgs(1),
			func(ctx context.Context, v vehicleHandle, args []string) error {
				s, err := parseFloatArg("speed", args[0])
				if err != nil {
					return err
				}
				return v.ChangeSpeed(ctx, s)
			}),
		action("reboot", "Reboot the autopilot (refused while armed)", cobra.NoArgs,
			func(ctx context.Context, v vehicleHandle, _ []string) error { return v.Reboot(ctx) }),
	)
	return cmd
}

func parseFloatArg(name, s string) (float64, error) {
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, usageError{fmt.Errorf("%s %q is not a number", name, s)}
	}
	return x, nil
}

// commandResult is the --json output of a vehicle command.
type commandResult struct {
	Vehicle byte   `json:"vehicle"`
	Command string `json:"command"`
	OK      bool   `json:"ok"`
	Result  string `json:"result,omitempty"`
	Error   string `json:"error,omitempty"`
	Detail  string `json:"status_text,omitempty"`
}

func report(w io.Writer, asJSON bool, id byte, name string, err error) error {
	if asJSON {
		r := commandResult{Vehicle: id, Command: name, OK: err == nil, Result: "ACCEPTED"}
		var ce *mavlink.CommandError
		if errors.As(err, &ce) {
			r.Result, r.Detail = ce.Result, ce.StatusText
		}
		if err != nil {
			r.Error = err.Error()
			if ce == nil {
				r.Result = ""
			}
		}
		if perr := printJSON(w, r); perr != nil {
			return perr
		}
		return err
	}
	if err == nil {
		fmt.Fprintf(w, "vehicle %d: %s accepted\n", id, name)
	}
	return err
}

func newVehicleListCmd() *cobra.Command {
	var f linkFlags
	c := &cobra.Command{
		Use:   "list",
		Short: "List the vehicles heard on the links",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			states, err := listStates(cmd.Context(), &f)
			if err != nil {
				return err
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), states)
			}
			if len(states) == 0 {
				return fmt.Errorf("no vehicle heard on %v within %v: %w", f.links, f.wait, mavlink.ErrNoVehicle)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tAUTOPILOT\tMODE\tARMED\tLAT\tLON\tALT REL\tBATTERY\tGPS\tLINK")
			for _, s := range states {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%v\t%.6f\t%.6f\t%.1f m\t%s\t%s\t%s\n", s.SystemID, autopilotName(s.Autopilot), s.Mode,
					s.Armed, s.LatDeg, s.LonDeg, s.AltRelM, batteryText(s), gpsText(s), linkText(s))
			}
			return tw.Flush()
		},
	}
	f.register(c)
	c.Flags().Lookup("wait").DefValue = "3s"
	_ = c.Flags().Set("wait", "3s")
	return c
}

func newVehicleShowCmd() *cobra.Command {
	var f linkFlags
	c := &cobra.Command{
		Use:   "show",
		Short: "Show one vehicle's state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.withSession(cmd, func(ctx context.Context, sess session) error {
				s := settledState(ctx, sess.vehicle())
				if f.json {
					return printJSON(cmd.OutOrStdout(), s)
				}
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "vehicle %d (%s %s)\n", s.SystemID, autopilotName(s.Autopilot), s.Firmware)
				fmt.Fprintf(w, "  mode      %s, %s, %s\n", s.Mode, map[bool]string{true: "ARMED", false: "disarmed"}[s.Armed], s.SystemStatus)
				fmt.Fprintf(w, "  position  %.7f, %.7f  alt %.1f m above home, %.1f m MSL\n", s.LatDeg, s.LonDeg, s.AltRelM, s.AltMSLM)
				fmt.Fprintf(w, "  motion    heading %.0f°, ground %.1f m/s, air %.1f m/s, climb %.1f m/s\n", s.HeadingDeg, s.GroundSpeedMS, s.AirSpeedMS, s.ClimbMS)
				fmt.Fprintf(w, "  attitude  roll %.1f°, pitch %.1f°, yaw %.1f°\n", s.RollDeg, s.PitchDeg, s.YawDeg)
				fmt.Fprintf(w, "  battery   %.2f V, %.1f A, %s\n", s.BatteryV, s.BatteryA, batteryText(s))
				fmt.Fprintf(w, "  gps       %s, hdop %.2f\n", gpsText(s), s.GPSHDOP)
				if s.Home != nil {
					fmt.Fprintf(w, "  home      %.7f, %.7f, %.1f m MSL\n", s.Home.LatDeg, s.Home.LonDeg, s.Home.AltMSLM)
				}
				for _, l := range s.Links {
					fmt.Fprintf(w, "  link      %s: %d received, %.1f%% lost, last heard %s ago\n", l.Link, l.Received, l.LossPct(), time.Since(l.LastHeard).Round(time.Millisecond))
				}
				for _, st := range s.StatusTexts {
					fmt.Fprintf(w, "  %s  %-9s %s\n", st.Time.Format("15:04:05"), mavlink.SeverityName(st.Severity), st.Text)
				}
				return nil
			})
		},
	}
	f.register(c)
	return c
}

func autopilotName(a uint32) string {
	switch a {
	case mavlink.AutopilotArduPilot:
		return "ArduPilot"
	case mavlink.AutopilotPX4:
		return "PX4"
	}
	return "autopilot " + strconv.Itoa(int(a))
}

func batteryText(s mavlink.State) string {
	if s.BatteryPct < 0 {
		return "?"
	}
	return strconv.Itoa(s.BatteryPct) + "%"
}

func gpsText(s mavlink.State) string {
	fix := [...]string{"no GPS", "no fix", "2D", "3D", "DGPS", "RTK float", "RTK fixed", "static", "PPP"}
	name := "fix " + strconv.Itoa(s.GPSFix)
	if s.GPSFix >= 0 && s.GPSFix < len(fix) {
		name = fix[s.GPSFix]
	}
	return fmt.Sprintf("%s/%d sats", name, s.GPSSats)
}

func linkText(s mavlink.State) string {
	if s.LinkLost {
		return "LOST"
	}
	var parts []string
	for _, l := range s.Links {
		parts = append(parts, fmt.Sprintf("%s %.0f%% loss", l.Link, l.LossPct()))
	}
	return strings.Join(parts, ", ")
}

// listStates collects the vehicles heard on the links for --wait, or asks the server.
func listStates(ctx context.Context, f *linkFlags) ([]mavlink.State, error) {
	if srv := f.server(); srv != "" {
		c, err := newRemoteClient(srv)
		if err != nil {
			return nil, err
		}
		return c.vehicles(ctx)
	}
	m, err := f.open()
	if err != nil {
		return nil, err
	}
	defer m.Close()
	select {
	case <-time.After(f.wait):
	case <-ctx.Done():
	}
	states := []mavlink.State{}
	for _, v := range m.Vehicles() {
		states = append(states, v.State())
	}
	return states, nil
}

// settledState waits briefly for a vehicle met over a link to report its position and battery.
func settledState(ctx context.Context, v vehicleHandle) mavlink.State {
	if mv, ok := v.(*mavlink.Vehicle); ok {
		wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		s, _ := mv.WaitState(wctx, func(s mavlink.State) bool { return s.HasPosition && s.BatteryPct >= 0 })
		return s
	}
	return v.State()
}
