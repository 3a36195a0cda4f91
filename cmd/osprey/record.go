package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
)

func newRecordCmd() *cobra.Command {
	var f linkFlags
	var duration time.Duration
	c := &cobra.Command{
		Use:   "record FILE.tlog",
		Short: "Record a link's MAVLink traffic to a .tlog until Ctrl-C",
		Long: `Record every frame received on the links to a telemetry log in the format MAVProxy, QGroundControl
and Mission Planner write (an 8-byte big-endian microsecond timestamp before each raw frame), so
any of them, or osprey replay, can play it back. The file is flushed as it goes: a crash loses
at most the last moment.

What osprey itself sends a vehicle (here its telemetry-rate requests; in a server's flight logs
every command, parameter and mission message too) is recorded as well, as osprey's system and
component id sent it. osprey's own GCS heartbeats are not.`,
		Example: `  osprey record flight.tlog --link udps:0.0.0.0:14550
  osprey record ten-seconds.tlog --link tcpc:127.0.0.1:5760 --duration 10s`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := f.open()
			if err != nil {
				return err
			}
			defer m.Close()
			out, err := os.OpenFile(args[0], os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
			if err != nil {
				return err // never overwrite a recording
			}
			rec, err := m.Record(out)
			if err != nil {
				out.Close()
				return err
			}
			var stop <-chan time.Time
			if duration > 0 {
				stop = time.After(duration)
			}
			select {
			case <-cmd.Context().Done():
			case <-stop:
			}
			err = rec.Close()
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			written, dropped := rec.Stats()
			if f.json {
				_ = printJSON(cmd.OutOrStdout(), map[string]any{"file": args[0], "frames": written, "dropped": dropped})
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "recorded %d frames to %s (%d dropped)\n", written, args[0], dropped)
			}
			return err
		},
	}
	f.register(c)
	c.Flags().DurationVar(&duration, "duration", 0, "stop after this long (default: until Ctrl-C)")
	return c
}
