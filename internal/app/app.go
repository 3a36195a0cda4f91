// Package app is osprey's core: it builds every component from the configuration, runs them under one
// supervisor, and stops them in reverse order. It holds no protocol logic of its own.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/ospreygcs/osprey/internal/config"
	"github.com/ospreygcs/osprey/internal/flights"
	"github.com/ospreygcs/osprey/internal/httpapi"
	"github.com/ospreygcs/osprey/internal/store"
	"github.com/ospreygcs/osprey/mavlink"
	"github.com/ospreygcs/osprey/ui"
	"github.com/ospreygcs/osprey/video/record"
	"github.com/ospreygcs/osprey/video/relay"
	"github.com/ospreygcs/osprey/video/whep"
)

// shutdownGrace bounds a graceful stop: in-flight requests and transfers get this long.
const shutdownGrace = 5 * time.Second

// App is a running osprey server.
type App struct {
	conf     *config.Config
	log      *slog.Logger
	store    *store.Store
	manager  *mavlink.Manager
	relay    *relay.Relay
	flights  *flights.Recorder
	api      *httpapi.Server
	listener net.Listener
	http     *http.Server
}

// New builds every component and binds the HTTP listener, so a bad address or a busy port fails here,
// before anything runs. Close releases what New took if Run is never called.
func New(ctx context.Context, conf *config.Config, log *slog.Logger) (a *App, err error) {
	if log == nil {
		log = slog.Default()
	}
	a = &App{conf: conf, log: log}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if err := os.MkdirAll(conf.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	if a.store, err = store.Open(ctx, filepath.Join(conf.DataDir, "db")); err != nil {
		return nil, err
	}
	if a.manager, err = mavlink.NewManager(mavlink.Config{SystemID: byte(conf.MAVLink.SystemID),
		HeartbeatTimeout: conf.MAVLink.HeartbeatTimeout, CommandTimeout: conf.MAVLink.CommandTimeout,
		CommandRetries: conf.MAVLink.CommandRetries}); err != nil {
		return nil, err
	}
	for i, l := range conf.Links {
		lc := mavlink.LinkConfig{URL: l.URL, Name: l.Name, Network: l.Network, Forward: l.Forward, Unsigned: mavlink.UnsignedPolicy(l.Unsigned)}
		if l.SigningKeyFile != "" {
			if lc.SigningKey, err = mavlink.LoadSigningKey(l.SigningKeyFile); err != nil {
				return nil, fmt.Errorf("links[%d]: %w", i, err)
			}
		}
		if _, err := a.manager.AddLink(lc); err != nil {
			return nil, fmt.Errorf("links[%d]: %w", i, err)
		}
	}
	if a.relay, err = relay.New(relayConfig(conf, log)); err != nil {
		return nil, err
	}
	if a.flights, err = flights.New(flights.Config{Manager: a.manager, Store: a.store, Dir: filepath.Join(conf.DataDir, "flights"), Logger: log}); err != nil {
		return nil, err
	}

	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, err
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, err
	}
	if err := reg.Register(videoCollector{a.relay}); err != nil {
		return nil, err
	}
	mounts := map[string]http.Handler{
		"/api/v1/streams":  a.relay.Handler(),
		"/api/v1/streams/": a.relay.Handler(),
		"/":                ui.Handler(),
	}
	recordings := record.NewHandler(filepath.Join(conf.DataDir, "recordings"))
	mounts["/api/v1/recordings"], mounts["/api/v1/recordings/"] = recordings, recordings
	if a.api, err = httpapi.New(httpapi.Config{Fleet: a.manager, Mounts: mounts, MaxBodyBytes: conf.HTTP.MaxBodyBytes,
		UpdatesPerSecond: conf.Limits.WSUpdatesPerS, MaxWSClients: conf.Limits.WSClients, Registry: reg, Logger: log,
		Missions: httpapi.MissionConfig{Store: a.store, CeilingM: conf.Missions.CeilingM, MaxLegM: conf.Missions.MaxLegM,
			CruiseSpeedMS: conf.Missions.CruiseSpeedMS, EnduranceS: conf.Missions.EnduranceS},
		Flights: a.store}); err != nil {
		return nil, err
	}
	if a.listener, err = net.Listen("tcp", conf.HTTP.Address); err != nil {
		return nil, fmt.Errorf("http.address: %w", err)
	}
	a.http = &http.Server{Handler: a.api.Handler(), ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	return a, nil
}

func relayConfig(conf *config.Config, log *slog.Logger) relay.Config {
	rc := relay.Config{RTSPAddress: conf.Video.RTSPAddress, Logf: func(f string, args ...any) { log.Info(fmt.Sprintf(f, args...), "part", "video") }}
	for _, c := range conf.Cameras {
		rc.Cameras = append(rc.Cameras, relay.CameraConfig{Name: c.Name, URL: c.URL, Transport: c.Transport, VehicleSystemID: c.Vehicle})
	}
	w := conf.Video.WebRTC
	rc.WHEP = whep.Config{UDPAddress: ":" + strconv.Itoa(w.UDPPort), NAT1To1IPs: w.NAT1To1IPs, MaxSessions: conf.Limits.Viewers}
	if w.TCPPort > 0 {
		rc.WHEP.TCPAddress = ":" + strconv.Itoa(w.TCPPort)
	}
	for _, s := range w.ICEServers {
		rc.WHEP.ICEServers = append(rc.WHEP.ICEServers, whep.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	if r := conf.Video.Record; r.Enabled {
		rc.Record = &relay.RecordConfig{Dir: filepath.Join(conf.DataDir, "recordings"), SegmentDuration: r.Segment,
			PartDuration: r.Part, MaxAge: r.MaxAge, MaxBytes: r.MaxBytes}
	}
	return rc
}

// Addr is the address the HTTP server listens on (useful with port 0).
func (a *App) Addr() string { return a.listener.Addr().String() }

// Manager is the link manager, for embedders that add links at run time (osprey demo, tests).
func (a *App) Manager() *mavlink.Manager { return a.manager }

// Run serves until ctx ends, then stops: the HTTP server stops accepting and finishes its requests
// (transfers in them are cancelled), live sockets are told to go, flights and recordings are closed, the
// links and the database last. It returns nil after a clean stop.
func (a *App) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := a.http.Serve(a.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http: %w", err)
		}
		return nil
	})
	g.Go(func() error { return a.relay.Run(gctx) })
	g.Go(func() error { return a.flights.Run(gctx) })
	g.Go(func() error {
		<-gctx.Done()
		a.api.Shutdown()
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		if err := a.http.Shutdown(sctx); err != nil {
			_ = a.http.Close()
		}
		return nil
	})
	err := g.Wait()
	a.Close()
	return err
}

// Close releases everything, in reverse order of construction. Safe to call more than once.
func (a *App) Close() {
	if a.listener != nil {
		_ = a.listener.Close()
	}
	if a.relay != nil {
		a.relay.Close()
		a.relay = nil
	}
	if a.manager != nil {
		a.manager.Close()
		a.manager = nil
	}
	if a.store != nil {
		if err := a.store.Close(); err != nil {
			a.log.Error("closing the database", "err", err)
		}
		a.store = nil
	}
}
