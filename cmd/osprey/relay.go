package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ospreygcs/osprey/video"
	"github.com/ospreygcs/osprey/video/relay"
	"github.com/ospreygcs/osprey/video/whep"
)

func newRelayCmd() *cobra.Command {
	var (
		cameras    []string
		transport  string
		httpAddr   string
		rtspAddr   string
		udpPort    int
		tcpPort    int
		webrtcIP   string
		natIPs     []string
		iceServers []string
		recordDir  string
	)
	c := &cobra.Command{
		Use:   "relay --camera NAME=RTSP_URL ...",
		Short: "Relay RTSP cameras to browsers (WebRTC/WHEP) and RTSP players, without transcoding",
		Long: `Pull each camera's RTSP stream and relay it, without transcoding, to:

  browsers over WebRTC, through WHEP:  POST http://HTTP/api/v1/streams/NAME/whep
  RTSP players (VLC, ffmpeg, a VMS):   rtsp://RTSP/NAME            (with --rtsp)

A new viewer gets a picture at once, from the keyframe group the relay keeps, and a slow viewer
drops its own frames without delaying anyone else. A camera that goes away is retried with
back-off; viewers stay connected and the picture resumes when it returns.

GET http://HTTP/api/v1/streams lists the streams with their state (connecting, live, offline),
last error, resolution, frame rate, bitrate and reader count.

Camera URLs take credentials as rtsp://user:password@host/path; passwords are never printed.
H.264 and H.265 video, Opus and G.711 audio are relayed; browsers get H.265 only if they offer it.

WebRTC media uses one UDP port for every viewer (--webrtc-udp-port), plus optionally one TCP
port (--webrtc-tcp-port) for networks that block UDP. Behind a 1:1 NAT (a cloud VM), give the
public address with --nat-ip. --ice-server URLs are handed to browsers (WHEP Link headers).

This command has no authentication: keep --http on a trusted network or behind a proxy that
authenticates. 'osprey serve' mounts the same endpoints behind its login.`,
		Example: `  # a simulated camera, then relay it
  osprey sitl --vehicles 1 --cameras &
  osprey relay --camera sim/1=rtsp://127.0.0.1:8554/sim/1 --http 127.0.0.1:8889

  # two drones, re-published over RTSP, reachable from the LAN
  osprey relay --camera drone1=rtsp://admin:secret@10.0.0.21/stream1 \
               --camera drone2=rtsp://10.0.0.22:554/live --rtsp-transport tcp \
               --http 0.0.0.0:8889 --rtsp 0.0.0.0:8555 --webrtc-udp-port 8189

  # then: ffplay rtsp://HOST:8555/drone1 ; curl http://HOST:8889/api/v1/streams`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := relayConfig(cameras, transport, rtspAddr, udpPort, tcpPort, webrtcIP, natIPs, iceServers)
			if err != nil {
				return usageError{err}
			}
			if _, _, err := net.SplitHostPort(httpAddr); err != nil {
				return usageError{fmt.Errorf("--http %q: %w", httpAddr, err)}
			}
			out := cmd.ErrOrStderr()
			cfg.Logf = func(format string, args ...any) {
				fmt.Fprintf(out, time.Now().Format("15:04:05 ")+format+"\n", args...)
			}
			return runRelay(cmd.Context(), cfg, httpAddr, recordDir, cmd)
		},
	}
	f := c.Flags()
	f.StringArrayVar(&cameras, "camera", nil, "a camera as NAME=RTSP_URL (repeatable); NAME is a path such as drone1/front")
	f.StringVar(&transport, "rtsp-transport", "auto", "how to pull cameras: auto (UDP, then TCP), udp or tcp")
	f.StringVar(&httpAddr, "http", "127.0.0.1:8889", "listen address for the WHEP and stream-list HTTP API")
	f.StringVar(&rtspAddr, "rtsp", "", "re-publish every stream over RTSP at this listen address, such as :8555")
	f.IntVar(&udpPort, "webrtc-udp-port", 8189, "the UDP port all WebRTC media uses")
	f.IntVar(&tcpPort, "webrtc-tcp-port", 0, "also accept WebRTC media over TCP on this port (0: off)")
	f.StringVar(&webrtcIP, "webrtc-ip", "", "bind WebRTC media to this local address only (default: every interface)")
	f.StringArrayVar(&natIPs, "nat-ip", nil, "public IP to announce for WebRTC when behind a 1:1 NAT (repeatable)")
	f.StringArrayVar(&iceServers, "ice-server", nil, "STUN/TURN URL handed to browsers, such as stun:stun.example.net:3478 (repeatable)")
	f.StringVar(&recordDir, "record", "", "record every stream to fragmented MP4 files under this directory (DIR/NAME/START.mp4)")
	return c
}

// relayConfig turns the flags into a relay.Config; errors are usage errors.
func relayConfig(cameras []string, transport, rtspAddr string, udpPort, tcpPort int, webrtcIP string,
	natIPs, iceServers []string,
) (relay.Config, error) {
	var cfg relay.Config
	if len(cameras) == 0 {
		return cfg, errors.New("no camera: give at least one --camera NAME=RTSP_URL")
	}
	switch transport {
	case "auto", "udp", "tcp":
	default:
		return cfg, fmt.Errorf("--rtsp-transport %q: want auto, udp or tcp", transport)
	}
	seen := map[string]bool{}
	for _, c := range cameras {
		name, url, ok := strings.Cut(c, "=")
		if !ok || url == "" {
			return cfg, fmt.Errorf("--camera %q: want NAME=RTSP_URL", c)
		}
		name = strings.Trim(name, "/")
		if err := video.ValidateName(name); err != nil {
			return cfg, fmt.Errorf("--camera %q: %w", name, err)
		}
		if seen[name] {
			return cfg, fmt.Errorf("--camera %q: name given twice", name)
		}
		seen[name] = true
		if !strings.HasPrefix(url, "rtsp://") && !strings.HasPrefix(url, "rtsps://") {
			return cfg, fmt.Errorf("--camera %s: URL must start with rtsp:// or rtsps://", name)
		}
		cfg.Cameras = append(cfg.Cameras, relay.CameraConfig{Name: name, URL: url, Transport: transport})
	}
	if udpPort < 1 || udpPort > 65535 {
		return cfg, fmt.Errorf("--webrtc-udp-port %d: want 1..65535", udpPort)
	}
	if tcpPort < 0 || tcpPort > 65535 {
		return cfg, fmt.Errorf("--webrtc-tcp-port %d: want 0 (off) or 1..65535", tcpPort)
	}
	if webrtcIP != "" && net.ParseIP(webrtcIP) == nil {
		return cfg, fmt.Errorf("--webrtc-ip %q: not an IP address", webrtcIP)
	}
	cfg.WHEP.UDPAddress = net.JoinHostPort(webrtcIP, strconv.Itoa(udpPort))
	if tcpPort > 0 {
		cfg.WHEP.TCPAddress = net.JoinHostPort(webrtcIP, strconv.Itoa(tcpPort))
	}
	for _, ip := range natIPs {
		if net.ParseIP(ip) == nil {
			return cfg, fmt.Errorf("--nat-ip %q: not an IP address", ip)
		}
	}
	cfg.WHEP.NAT1To1IPs = natIPs
	for _, u := range iceServers {
		cfg.WHEP.ICEServers = append(cfg.WHEP.ICEServers, whep.ICEServer{URLs: []string{u}})
	}
	if rtspAddr != "" {
		if _, _, err := net.SplitHostPort(rtspAddr); err != nil {
			return cfg, fmt.Errorf("--rtsp %q: %w", rtspAddr, err)
		}
		cfg.RTSPAddress = rtspAddr
	}
	return cfg, nil
}

// runRelay runs the relay and its HTTP server until ctx ends.
func runRelay(ctx context.Context, cfg relay.Config, httpAddr, recordDir string, cmd *cobra.Command) error {
	if recordDir != "" {
		if err := os.MkdirAll(recordDir, 0o750); err != nil {
			return fmt.Errorf("--record: %w", err)
		}
		cfg.Record = &relay.RecordConfig{Dir: recordDir}
	}
	r, err := relay.New(cfg)
	if err != nil {
		return err
	}
	defer r.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ln, err := net.Listen("tcp", httpAddr)
	if err != nil {
		return fmt.Errorf("--http: %w", err)
	}
	srv := &http.Server{Handler: r.Handler(), ReadHeaderTimeout: 10 * time.Second}

	out := cmd.OutOrStdout()
	base := "http://" + ln.Addr().String()
	for _, s := range r.Streams() {
		fmt.Fprintf(out, "stream %s: WHEP %s%s", s.Name, base, s.WHEP)
		if a := r.RTSPAddress(); a != "" {
			fmt.Fprintf(out, "  RTSP rtsp://%s/%s", a, s.Name)
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "streams: %s/api/v1/streams\n", base)

	httpErr := make(chan error, 1)
	go func() { httpErr <- srv.Serve(ln) }()
	runDone := make(chan struct{})
	go func() {
		defer close(runDone)
		_ = r.Run(ctx)
	}()

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-httpErr:
	}
	cancel()
	shutCtx, shutCancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer shutCancel()
	_ = srv.Shutdown(shutCtx)
	<-runDone
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("http: %w", serveErr)
	}
	return nil
}
