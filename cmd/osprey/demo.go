package main

import (
	"context"
	"fmt"
	"math"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/bluenviron/gomavlib/v3"
	"github.com/spf13/cobra"

	"github.com/ospreygcs/osprey/mavlink"
	"github.com/ospreygcs/osprey/sitl"
)

func newDemoCmd() *cobra.Command {
	var (
		vehicles int
		home     string
		forward  []string
	)
	c := &cobra.Command{
		Use:   "demo",
		Short: "Fly a simulated fleet through the link manager, with nothing to configure",
		Long: `Start a fleet of simulated copters around a home position, connect to them over loopback UDP
through osprey's link manager, fly each one on a small patrol, and print the fleet's live state.
With --forward, QGroundControl or MAVProxy can watch the same fleet (e.g. udpc:127.0.0.1:14550).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lat, lon, alt, err := parseHome(home)
			if err != nil {
				return usageError{err}
			}
			port, err := freePort()
			if err != nil {
				return err
			}
			m, err := mavlink.NewManager(mavlink.Config{})
			if err != nil {
				return err
			}
			defer m.Close()
			if _, err := m.AddLink(mavlink.LinkConfig{URL: "udps:127.0.0.1:" + port, Name: "fleet", Forward: len(forward) > 0}); err != nil {
				return err
			}
			for _, u := range forward {
				if _, err := m.AddLink(mavlink.LinkConfig{URL: u, Forward: true}); err != nil {
					return usageError{err}
				}
			}
			fleet, err := sitl.NewFleet(sitl.FleetConfig{Count: vehicles, FirstSystemID: 1, HomeLatDeg: lat, HomeLonDeg: lon, HomeAltMSLM: alt,
				Endpoint: func(int) gomavlib.EndpointConf { return gomavlib.EndpointUDPClient{Address: "127.0.0.1:" + port} }})
			if err != nil {
				return err
			}
			defer fleet.Close()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "osprey demo: %d simulated copters around %.6f,%.6f; Ctrl-C stops\n", vehicles, lat, lon)

			ctx := cmd.Context()
			var wg sync.WaitGroup
			defer wg.Wait()
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			for i := range vehicles {
				wg.Add(1)
				go func() {
					defer wg.Done()
					patrol(ctx, m, byte(i+1), lat, lon, float64(15+5*i), out)
				}()
			}
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return nil
				case <-tick.C:
					tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
					fmt.Fprintf(tw, "\n%s\nID\tMODE\tARMED\tLAT\tLON\tALT\tSPEED\tBATTERY\tLINK\n", time.Now().Format("15:04:05"))
					for _, v := range m.Vehicles() {
						s := v.State()
						fmt.Fprintf(tw, "%d\t%s\t%v\t%.6f\t%.6f\t%.1f m\t%.1f m/s\t%s\t%s\n", s.SystemID, s.Mode, s.Armed, s.LatDeg, s.LonDeg,
							s.AltRelM, s.GroundSpeedMS, batteryText(s), linkText(s))
					}
					_ = tw.Flush()
				}
			}
		},
	}
	c.Flags().IntVarP(&vehicles, "vehicles", "n", 3, "how many simulated copters")
	c.Flags().StringVar(&home, "home", defaultHome, "home position LAT,LON[,ALT]")
	c.Flags().StringArrayVar(&forward, "forward", nil, "also relay the fleet's MAVLink to this link URL (repeatable)")
	return c
}

// patrol takes a vehicle off and flies it round a square of 150 m sides until ctx ends.
func patrol(ctx context.Context, m *mavlink.Manager, id byte, homeLat, homeLon, altM float64, out interface{ Write([]byte) (int, error) }) {
	v, err := m.WaitVehicle(ctx, id)
	if err != nil {
		return
	}
	if _, err := v.WaitState(ctx, func(s mavlink.State) bool { return s.GPSFix >= 3 && s.HasPosition }); err != nil {
		return
	}
	steps := []func() error{
		func() error { return v.SetMode(ctx, "GUIDED") },
		func() error { return v.Arm(ctx) },
		func() error { return v.Takeoff(ctx, altM) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			if ctx.Err() == nil {
				fmt.Fprintf(out, "vehicle %d: %v\n", id, err)
			}
			return
		}
	}
	const sideM, mPerDeg = 150.0, 111_319.5
	offset := float64(id) * 0.0004
	for corner := 0; ctx.Err() == nil; corner = (corner + 1) % 4 {
		dx := sideM * float64((corner/2)*2-1) / 2
		dy := sideM * float64((((corner+1)%4)/2)*2-1) / 2
		lat := homeLat + offset + dy/mPerDeg
		lon := homeLon + dx/(mPerDeg*math.Cos(homeLat*math.Pi/180))
		if err := v.Goto(ctx, lat, lon, altM); err != nil {
			return
		}
		_, _ = v.WaitState(ctx, func(s mavlink.State) bool {
			return math.Abs(s.LatDeg-lat)*mPerDeg < 3 && math.Abs(s.LonDeg-lon)*mPerDeg*math.Cos(homeLat*math.Pi/180) < 3
		})
	}
}
