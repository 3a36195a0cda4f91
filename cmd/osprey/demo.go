package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/bluenviron/gomavlib/v3"
	"github.com/spf13/cobra"

	"github.com/ospreygcs/osprey/internal/app"
	"github.com/ospreygcs/osprey/internal/config"
	"github.com/ospreygcs/osprey/mavlink"
	"github.com/ospreygcs/osprey/sitl"
)

// demoOptions are what osprey demo can change; everything else is config.Defaults().
type demoOptions struct {
	vehicles   int
	home       string
	httpAddr   string
	dataDir    string
	rtspAddr   string
	webrtcPort int
	fly        bool
	speedup    float64 // simulation speed; tests raise it
}

func newDemoCmd() *cobra.Command {
	opts := demoOptions{}
	defaults := config.Defaults()
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole system with a simulated fleet and cameras: nothing to configure",
		Long: `Run osprey with a simulated fleet: copters around a home position, each with a camera, the
server on 127.0.0.1:8080, and the browser app. Open the printed URL. Vehicle 1 waits on the ground
for you; the others fly patrols. Nothing is configured and nothing leaves this machine.`,
		Example: `  osprey demo
  osprey demo --vehicles 6 --home 51.5007,-0.1246,10 --http 127.0.0.1:9090`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), opts, cmd.OutOrStdout(), nil)
		},
	}
	fl := c.Flags()
	fl.IntVarP(&opts.vehicles, "vehicles", "n", defaults.Demo.Vehicles, "how many simulated copters, each with a camera")
	fl.StringVar(&opts.home, "home", fmt.Sprintf("%.6f,%.6f,%.0f", defaults.Demo.Home.LatDeg, defaults.Demo.Home.LonDeg, defaults.Demo.Home.AltMSLM), "home position LAT,LON[,ALT]")
	fl.StringVar(&opts.httpAddr, "http", defaults.HTTP.Address, "where the server listens")
	fl.StringVar(&opts.dataDir, "data-dir", defaults.DataDir, "where plans, flights and recordings are kept")
	fl.StringVar(&opts.rtspAddr, "rtsp", defaults.Video.RTSPAddress, "where the streams are re-published over RTSP")
	fl.IntVar(&opts.webrtcPort, "webrtc-udp-port", defaults.Video.WebRTC.UDPPort, "the UDP port WebRTC viewers connect to")
	fl.BoolVar(&opts.fly, "fly", true, "fly vehicles 2 and up on patrols (vehicle 1 always waits for you)")
	return c
}

// runDemo starts the simulated fleet and cameras, then serves until ctx ends. ready, if set, is called
// once the server listens.
func runDemo(ctx context.Context, opts demoOptions, out io.Writer, ready func(*app.App)) error {
	lat, lon, alt, err := parseHome(opts.home)
	if err != nil {
		return usageError{err}
	}
	if opts.vehicles < 1 || opts.vehicles > 50 {
		return usageError{fmt.Errorf("--vehicles %d: want 1 to 50", opts.vehicles)}
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	var cams []sitl.CameraConfig
	for i := 1; i <= opts.vehicles; i++ {
		cams = append(cams, sitl.CameraConfig{Name: fmt.Sprintf("sim/%d", i), Width: 640, Height: 360, FPS: 25, Label: fmt.Sprintf("DRONE %d", i)})
	}
	camSrv, err := sitl.NewCameraServer(sitl.CameraServerConfig{Address: "127.0.0.1:0", Cameras: cams})
	if err != nil {
		return err
	}
	defer camSrv.Close()
	fleet, err := sitl.NewFleet(sitl.FleetConfig{Count: opts.vehicles, FirstSystemID: 1, HomeLatDeg: lat, HomeLonDeg: lon, HomeAltMSLM: alt,
		Speedup: opts.speedup, Endpoint: func(int) gomavlib.EndpointConf { return gomavlib.EndpointUDPClient{Address: "127.0.0.1:" + port} }})
	if err != nil {
		return err
	}
	defer fleet.Close()

	conf := config.Defaults()
	conf.HTTP.Address = opts.httpAddr
	conf.DataDir = opts.dataDir
	conf.Video.RTSPAddress = opts.rtspAddr
	conf.Video.WebRTC.UDPPort = opts.webrtcPort
	conf.Demo.Vehicles = opts.vehicles
	conf.Demo.Home = config.Home{LatDeg: lat, LonDeg: lon, AltMSLM: alt}
	conf.Links = []config.Link{{Name: "demo-fleet", URL: "udps:127.0.0.1:" + port}}
	for i, c := range cams {
		conf.Cameras = append(conf.Cameras, config.Camera{Name: c.Name, URL: camSrv.URL(c.Name), Transport: "tcp", Vehicle: i + 1})
	}
	fmt.Fprintf(out, "osprey demo: %d simulated copters with cameras around %.6f,%.6f\n", opts.vehicles, lat, lon)

	var wg sync.WaitGroup
	defer wg.Wait()
	flyCtx, stopFlying := context.WithCancel(ctx)
	defer stopFlying()
	return serve(ctx, conf, out, func(a *app.App) {
		if opts.fly {
			for id := 2; id <= opts.vehicles; id++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := patrolSquare(flyCtx, a.Manager(), byte(id), lat, lon, float64(15+5*id)); err != nil && flyCtx.Err() == nil {
						fmt.Fprintf(out, "demo: vehicle %d stopped its patrol: %v\n", id, err)
					}
				}()
			}
		}
		if ready != nil {
			ready(a)
		}
	})
}

// patrolSquare takes a vehicle off and flies it round a square of 150 m sides until ctx ends, as a
// pilot in GUIDED would: the demo's background traffic.
func patrolSquare(ctx context.Context, m *mavlink.Manager, id byte, homeLat, homeLon, altM float64) error {
	v, err := m.WaitVehicle(ctx, id)
	if err != nil {
		return err
	}
	if _, err := v.WaitState(ctx, func(s mavlink.State) bool { return s.GPSFix >= 3 && s.HasPosition }); err != nil {
		return err
	}
	for _, step := range []func() error{
		func() error { return v.SetMode(ctx, "GUIDED") },
		func() error { return v.Arm(ctx) },
		func() error { return v.Takeoff(ctx, altM) },
	} {
		if err := step(); err != nil {
			return err
		}
	}
	// Finish the climb before the first goto, as a pilot would: a reposition sent mid-takeoff replaces it.
	if _, err := v.WaitState(ctx, func(s mavlink.State) bool { return s.AltRelM > altM-1 }); err != nil {
		return err
	}
	const sideM, mPerDeg = 150.0, 111_319.5
	north := float64(id-1) * 60 // each vehicle its own square
	for corner := 0; ctx.Err() == nil; corner = (corner + 1) % 4 {
		dx := sideM/2 - sideM*float64(corner/2)
		dy := north + sideM/2 - sideM*float64((corner+1)%4/2)
		lat := homeLat + dy/mPerDeg
		lon := homeLon + dx/(mPerDeg*math.Cos(homeLat*math.Pi/180))
		if err := v.Goto(ctx, lat, lon, altM); err != nil {
			return err
		}
		_, _ = v.WaitState(ctx, func(s mavlink.State) bool {
			return math.Abs(s.LatDeg-lat)*mPerDeg < 3 && math.Abs(s.LonDeg-lon)*mPerDeg*math.Cos(homeLat*math.Pi/180) < 3
		})
	}
	return ctx.Err()
}
