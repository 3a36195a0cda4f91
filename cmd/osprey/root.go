package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "osprey",
		Short: "Drone ground control station and live video relay",
		Long: `osprey is a drone ground control station and a live surveillance relay in one binary.

It talks MAVLink to ArduPilot and PX4 vehicles over UDP, TCP or serial links, many at once, and has
a built-in simulator so everything can be tried with no hardware.

Links are written as URLs (the mavp2p convention):
  udps:ADDR:PORT     listen for UDP (a radio or SITL sending to us), e.g. udps:0.0.0.0:14550
  udpc:HOST:PORT     send to and receive from a UDP peer
  udpb:BCAST:PORT    UDP broadcast
  tcps:ADDR:PORT     accept TCP connections
  tcpc:HOST:PORT     connect over TCP, e.g. tcpc:127.0.0.1:5760 (ArduPilot SITL)
  serial:DEV[:BAUD]  a serial radio, e.g. serial:/dev/ttyUSB0:57600

Exit codes:
  0  success
  1  failure (bad file, I/O error, ...)
  2  bad command line
  3  the vehicle refused the command (denied, failed, unsupported)
  4  no answer (timeout, vehicle not heard, link lost)`,
		Example: `  # a simulated fleet of three copters, listening for a ground station on UDP 14550
  osprey sitl --vehicles 3 --link udpc:127.0.0.1:14550

  # in another shell: list the vehicles, then fly vehicle 1 (or add --server http://127.0.0.1:8080
  # instead of --link to go through a running osprey server)
  osprey vehicle list --link udps:127.0.0.1:14550
  osprey vehicle mode GUIDED --link udps:127.0.0.1:14550 --vehicle 1
  osprey vehicle arm --link udps:127.0.0.1:14550 --vehicle 1
  osprey vehicle takeoff 20 --link udps:127.0.0.1:14550 --vehicle 1`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.PersistentFlags().String("server", "", "send vehicle, mission and patrol commands through a running osprey server (http://HOST:PORT) instead of --link")
	root.AddCommand(newVersionCmd(), newVehicleCmd(), newParamCmd(), newSitlCmd(), newRecordCmd(), newReplayCmd(), newMissionCmd(), newPatrolCmd(), newRelayCmd(), newServeCmd(), newConfigCmd(), newDemoCmd(), newBenchCmd())
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print osprey's version and the libraries it was built with",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "osprey %s\n", version)
			if bi, ok := debug.ReadBuildInfo(); ok {
				fmt.Fprintf(out, "go %s\n", bi.GoVersion)
				for _, d := range bi.Deps {
					switch d.Path {
					case "github.com/bluenviron/gomavlib/v3", "github.com/bluenviron/gortsplib/v4", "github.com/pion/webrtc/v4":
						fmt.Fprintf(out, "%s %s\n", d.Path, d.Version)
					}
				}
			}
			return nil
		},
	}
}
