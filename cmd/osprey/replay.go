package main

import (
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ospreygcs/osprey/mavlink"
)

func newReplayCmd() *cobra.Command {
	var speed float64
	var forward []string
	var asJSON bool
	c := &cobra.Command{
		Use:   "replay FILE.tlog",
		Short: "Play a recorded .tlog back as a live link",
		Long: `Play back a telemetry log written by osprey, MAVProxy, QGroundControl or Mission Planner, paced by
its timestamps, as if the vehicles were live. With --forward the frames also go out on other links,
so QGroundControl or a running osprey server can watch the replay.`,
		Example: `  osprey replay flight.tlog
  osprey replay flight.tlog --speed 4 --forward udpc:127.0.0.1:14550`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer in.Close()
			m, err := mavlink.NewManager(mavlink.Config{StreamRates: map[uint32]float64{}})
			if err != nil {
				return err
			}
			defer m.Close()
			for _, u := range forward {
				if _, err := m.AddLink(mavlink.LinkConfig{URL: u, Forward: true}); err != nil {
					return usageError{err}
				}
			}
			replay, err := m.Replay(in, speed, len(forward) > 0)
			if err != nil {
				return err
			}
			waitDone := make(chan error, 1)
			go func() { waitDone <- replay.Wait(cmd.Context()) }()
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select {
				case <-cmd.Context().Done():
					return nil
				case err := <-waitDone:
					printFleet(cmd, m, asJSON)
					if err != nil {
						return fmt.Errorf("%s: stopped after %d frames: %w", args[0], replay.Frames(), err)
					}
					if info := replay.Link().Info(); info.ParseErrors > 0 {
						return fmt.Errorf("%s: %d frames played, %d unreadable: %s", args[0], replay.Frames(), info.ParseErrors, info.LastError)
					}
					if !asJSON {
						fmt.Fprintf(cmd.OutOrStdout(), "replayed %d frames from %s\n", replay.Frames(), args[0])
					}
					return nil
				case <-tick.C:
					if !asJSON {
						printFleet(cmd, m, false)
					}
				}
			}
		},
	}
	c.Flags().Float64Var(&speed, "speed", 1, "playback speed; 0 plays as fast as possible")
	c.Flags().StringArrayVar(&forward, "forward", nil, "also send the frames out on this link URL (repeatable)")
	c.Flags().BoolVar(&asJSON, "json", false, "print the final vehicle states as JSON")
	return c
}

func printFleet(cmd *cobra.Command, m *mavlink.Manager, asJSON bool) {
	states := []mavlink.State{}
	for _, v := range m.Vehicles() {
		states = append(states, v.State())
	}
	if asJSON {
		_ = printJSON(cmd.OutOrStdout(), states)
		return
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	for _, s := range states {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%.6f\t%.6f\t%.1f m\t%s\n", s.SystemID, s.Mode, map[bool]string{true: "ARMED", false: "disarmed"}[s.Armed],
			s.LatDeg, s.LonDeg, s.AltRelM, batteryText(s))
	}
	_ = tw.Flush()
}
