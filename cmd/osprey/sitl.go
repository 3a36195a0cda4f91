package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/bluenviron/gomavlib/v3"
	"github.com/spf13/cobra"

	"github.com/ospreygcs/osprey/mavlink"
	"github.com/ospreygcs/osprey/sitl"
)

// Canberra Model Aircraft Club, ArduPilot SITL's default home.
const defaultHome = "-35.363261,149.165230,584"

func newSitlCmd() *cobra.Command {
	var (
		vehicles  int
		firstID   int
		home      string
		link      string
		speedup   float64
		ardupilot string
		cameras   bool
		rtspAddr  string
		camSize   string
		camFPS    int
		camGOP    int
	)
	c := &cobra.Command{
		Use:   "sitl",
		Short: "Run simulated vehicles that osprey, QGroundControl or MAVProxy can connect to",
		Long: `Run a fleet of simulated ArduCopter-compatible vehicles, each with its own system id, spread
around a home position. They speak real MAVLink, so osprey, QGroundControl or MAVProxy connect
to them as to real aircraft.

With a client link (udpc, tcpc) every vehicle talks to the same address. With a server link
(udps, tcps) vehicle i listens on PORT+10*i, as ArduPilot SITL's -I numbering does.

With --ardupilot, real ArduPilot SITL binaries are launched instead (TCP 5760+10*i).`,
		Example: `  osprey sitl --vehicles 3 --link udpc:127.0.0.1:14550
  osprey sitl --vehicles 5 --home 51.5007,-0.1246,10 --link tcps:127.0.0.1:5760 --speedup 2
  osprey sitl --vehicles 2 --ardupilot ~/ardupilot/build/sitl/bin/arducopter
  osprey sitl --vehicles 3 --cameras   # and rtsp://127.0.0.1:8554/sim/1 ... /sim/3`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lat, lon, alt, err := parseHome(home)
			if err != nil {
				return usageError{err}
			}
			if vehicles < 1 || vehicles > 250 || firstID < 1 || firstID+vehicles-1 > 250 {
				return usageError{fmt.Errorf("--vehicles %d from --first-sysid %d: system ids must stay within 1..250", vehicles, firstID)}
			}
			if speedup <= 0 {
				return usageError{fmt.Errorf("--speedup %v: must be positive", speedup)}
			}
			out := cmd.OutOrStdout()
			if cameras {
				w, h, err := parseSize(camSize)
				if err != nil {
					return usageError{err}
				}
				var cams []sitl.CameraConfig
				for i := range vehicles {
					cams = append(cams, sitl.CameraConfig{Name: fmt.Sprintf("sim/%d", firstID+i), Width: w, Height: h, FPS: camFPS, GOP: camGOP})
				}
				srv, err := sitl.NewCameraServer(sitl.CameraServerConfig{Address: rtspAddr, Cameras: cams})
				if err != nil {
					return err
				}
				defer srv.Close()
				for _, c := range cams {
					fmt.Fprintf(out, "camera %s: %s\n", c.Name, srv.URL(c.Name))
				}
			}
			if ardupilot != "" {
				ap, err := sitl.StartArduPilot(cmd.Context(), sitl.ArduPilotConfig{Binary: ardupilot, Instances: vehicles,
					HomeLatDeg: lat, HomeLonDeg: lon, HomeAltMSLM: alt, Speedup: speedup})
				if err != nil {
					return err
				}
				defer ap.Close()
				for i, addr := range ap.TCPAddresses() {
					fmt.Fprintf(out, "ArduPilot SITL instance %d (system id %d): tcpc:%s\n", i, i+1, addr)
				}
				<-cmd.Context().Done()
				return nil
			}
			endpoint, err := fleetEndpoints(link)
			if err != nil {
				return usageError{err}
			}
			fleet, err := sitl.NewFleet(sitl.FleetConfig{Count: vehicles, FirstSystemID: byte(firstID), HomeLatDeg: lat, HomeLonDeg: lon,
				HomeAltMSLM: alt, Endpoint: endpoint, Speedup: speedup})
			if err != nil {
				return err
			}
			defer fleet.Close()
			fmt.Fprintf(out, "%d simulated copters (system ids %d-%d) around %.6f,%.6f on %s; Ctrl-C stops them\n",
				vehicles, firstID, firstID+vehicles-1, lat, lon, link)
			<-cmd.Context().Done()
			return nil
		},
	}
	fl := c.Flags()
	fl.IntVarP(&vehicles, "vehicles", "n", 1, "how many vehicles")
	fl.IntVar(&firstID, "first-sysid", 1, "system id of the first vehicle; the others follow")
	fl.StringVar(&home, "home", defaultHome, "home position LAT,LON[,ALT metres MSL]")
	fl.StringVar(&link, "link", "udpc:127.0.0.1:14550", "where the vehicles talk (link URL)")
	fl.Float64Var(&speedup, "speedup", 1, "simulation speed-up factor")
	fl.StringVar(&ardupilot, "ardupilot", "", "path to a real ArduPilot SITL binary (arducopter) to launch instead")
	fl.BoolVar(&cameras, "cameras", false, "also serve one simulated H.264 camera per vehicle over RTSP (sim/ID)")
	fl.StringVar(&rtspAddr, "rtsp", "127.0.0.1:8554", "with --cameras: the RTSP listen address")
	fl.StringVar(&camSize, "camera-size", "640x360", "with --cameras: picture size WIDTHxHEIGHT")
	fl.IntVar(&camFPS, "camera-fps", 30, "with --cameras: frames per second")
	fl.IntVar(&camGOP, "camera-gop", 0, "with --cameras: frames between keyframes (default: one a second)")
	return c
}

func parseSize(s string) (w, h int, err error) {
	ws, hs, ok := strings.Cut(strings.ToLower(s), "x")
	if ok {
		w, err = strconv.Atoi(ws)
		if err == nil {
			h, err = strconv.Atoi(hs)
		}
	}
	if !ok || err != nil || w <= 0 || h <= 0 || w%2 != 0 || h%2 != 0 || w > 3840 || h > 2160 {
		return 0, 0, fmt.Errorf("size %q: want even WIDTHxHEIGHT up to 3840x2160, e.g. 640x360", s)
	}
	return w, h, nil
}

func parseHome(s string) (lat, lon, alt float64, err error) {
	parts := strings.Split(s, ",")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, 0, 0, fmt.Errorf("--home %q: want LAT,LON[,ALT]", s)
	}
	vals := make([]float64, len(parts))
	for i, p := range parts {
		if vals[i], err = strconv.ParseFloat(strings.TrimSpace(p), 64); err != nil {
			return 0, 0, 0, fmt.Errorf("--home %q: %q is not a number", s, p)
		}
	}
	if vals[0] < -90 || vals[0] > 90 || vals[1] < -180 || vals[1] > 180 {
		return 0, 0, 0, fmt.Errorf("--home %q: out of range", s)
	}
	if len(vals) == 3 {
		alt = vals[2]
	}
	return vals[0], vals[1], alt, nil
}

// fleetEndpoints maps a link URL to each vehicle's endpoint: clients share the address, servers take
// PORT+10*i like ArduPilot SITL instances.
func fleetEndpoints(link string) (func(i int) gomavlib.EndpointConf, error) {
	u, err := mavlink.ParseLinkURL(link)
	if err != nil {
		return nil, err
	}
	switch u.Kind {
	case mavlink.UDPClient, mavlink.TCPClient, mavlink.UDPBroadcast:
		ep, err := u.Endpoint()
		if err != nil {
			return nil, err
		}
		return func(int) gomavlib.EndpointConf { return ep }, nil
	case mavlink.UDPServer, mavlink.TCPServer:
		host, portStr, _ := net.SplitHostPort(u.Address)
		port, _ := strconv.Atoi(portStr)
		return func(i int) gomavlib.EndpointConf {
			addr := net.JoinHostPort(host, strconv.Itoa(port+10*i))
			if u.Kind == mavlink.UDPServer {
				return gomavlib.EndpointUDPServer{Address: addr}
			}
			return gomavlib.EndpointTCPServer{Address: addr}
		}, nil
	}
	return nil, fmt.Errorf("link %s: simulated vehicles need a network link", link)
}
