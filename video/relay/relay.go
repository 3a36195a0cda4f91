// Package relay wires the video parts together: one hub stream and RTSP
// source per camera, the WHEP endpoint for browsers, and the RTSP
// re-publisher. It is what the osprey relay command and the application
// run.
package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ospreygcs/osprey/video"
	"github.com/ospreygcs/osprey/video/record"
	"github.com/ospreygcs/osprey/video/rtspserve"
	"github.com/ospreygcs/osprey/video/rtspsrc"
	"github.com/ospreygcs/osprey/video/whep"
)

// CameraConfig is one camera to relay.
type CameraConfig struct {
	// Name is the stream name, an RTSP-style path such as "drone1/front"
	// (see video.ValidateName).
	Name string
	// URL is the camera's rtsp:// or rtsps:// URL, credentials included.
	URL string
	// Transport is "auto" (default), "udp" or "tcp".
	Transport string
	// VehicleSystemID is the MAVLink system id of the vehicle carrying the
	// camera, or 0. The relay only reports it, so the UI can put the feed
	// next to its vehicle.
	VehicleSystemID int
}

// Config configures a Relay.
type Config struct {
	// Record, when set, writes every stream to fragmented MP4 under Record.Dir (see video/record). A
	// recorder never slows the relay: its queue drops its own units when the disk cannot keep up.
	Record *RecordConfig

	Cameras []CameraConfig
	// WHEP configures the WebRTC endpoint (UDPAddress is required).
	WHEP whep.Config
	// RTSPAddress, when set, re-publishes every stream at
	// rtsp://RTSPAddress/NAME.
	RTSPAddress string
	// Stream configures each stream's hub (GOP cache bounds).
	Stream video.StreamConfig
	// Source tunes every camera's ingest: ReadTimeout, back-off, clock.
	// URL and Transport come from each CameraConfig.
	Source rtspsrc.Config
	// Logf, when set, receives the relay's log lines.
	Logf func(format string, args ...any)
}

// StreamInfo describes one stream for the API.
type StreamInfo struct {
	video.StreamInfo
	// VehicleSystemID is the camera's vehicle, 0 if none.
	VehicleSystemID int `json:"vehicle_system_id,omitempty"`
	// Source is the camera URL with any password hidden.
	Source string `json:"source"`
	// WHEP is the path viewers POST offers to.
	WHEP string `json:"whep"`
	// RTSP is the re-published URL path, empty when re-publishing is off.
	RTSP string `json:"rtsp,omitempty"`
}

// Relay relays cameras to WHEP viewers and RTSP readers.
type Relay struct {
	cfg     Config
	hub     *video.Hub
	cams    []CameraConfig
	sources []*rtspsrc.Source
	whep    *whep.Server
	rtsp    *rtspserve.Server
	mux     *http.ServeMux

	runMu   sync.Mutex
	running bool
}

// New validates cfg, creates the streams and opens the WHEP and RTSP
// sockets. Run starts relaying; Close releases everything.
func New(cfg Config) (_ *Relay, err error) {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.WHEP.Logf == nil {
		cfg.WHEP.Logf = cfg.Logf
	}
	r := &Relay{cfg: cfg, hub: video.NewHub(cfg.Stream)}
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	for _, c := range cfg.Cameras {
		st, err := r.hub.Add(c.Name)
		if err != nil {
			return nil, fmt.Errorf("relay: camera %q: %w", c.Name, err)
		}
		sc := cfg.Source
		sc.URL = c.URL
		sc.Transport = rtspsrc.Transport(c.Transport)
		if sc.Logf == nil {
			sc.Logf = cfg.Logf
		}
		src, err := rtspsrc.New(sc, st)
		if err != nil {
			return nil, fmt.Errorf("relay: camera %q: %w", c.Name, err)
		}
		r.sources = append(r.sources, src)
		c.URL = rtspsrc.Redact(c.URL)
		r.cams = append(r.cams, c)
	}
	w, err := whep.New(cfg.WHEP, r.hub)
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	r.whep = w
	if cfg.RTSPAddress != "" {
		rs, err := rtspserve.New(rtspserve.Config{Address: cfg.RTSPAddress, Logf: cfg.Logf}, r.hub.Streams())
		if err != nil {
			return nil, fmt.Errorf("relay: %w", err)
		}
		r.rtsp = rs
	}
	r.mux = http.NewServeMux()
	r.mux.HandleFunc("GET /api/v1/streams", r.serveList)
	r.mux.HandleFunc("GET "+whep.PathPrefix+"{name...}", r.serveOne)
	r.whep.Register(r.mux)
	return r, nil
}

// Hub returns the stream hub, for readers such as recorders.
func (r *Relay) Hub() *video.Hub { return r.hub }

// WHEP returns the WHEP server (its bound addresses, session count).
func (r *Relay) WHEP() *whep.Server { return r.whep }

// RTSPAddress returns the RTSP address actually bound, or "" when
// re-publishing is off.
func (r *Relay) RTSPAddress() string {
	if r.rtsp == nil {
		return ""
	}
	return r.rtsp.Address()
}

// Run pulls every camera and feeds the RTSP re-publisher until ctx ends.
// It returns nil on cancellation. Call it once.
// RecordConfig is what Config.Record takes: the video/record settings shared by every stream.
type RecordConfig struct {
	Dir             string
	SegmentDuration time.Duration
	PartDuration    time.Duration
	MaxAge          time.Duration
	MaxBytes        int64
}

func (r *Relay) Run(ctx context.Context) error {
	r.runMu.Lock()
	if r.running {
		r.runMu.Unlock()
		return errors.New("relay: Run called twice")
	}
	r.running = true
	r.runMu.Unlock()

	var wg sync.WaitGroup
	for _, src := range r.sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = src.Run(ctx) // retries internally until ctx ends
		}()
	}
	if r.rtsp != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = r.rtsp.Run(ctx)
		}()
	}
	if rc := r.cfg.Record; rc != nil {
		for _, st := range r.hub.Streams() {
			rd, err := st.AddReader("record", 0)
			if err != nil {
				r.cfg.Logf("record: %s: %v", st.Name(), err)
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer rd.Close()
				if err := feedRecorder(ctx, st, rd, *rc); err != nil {
					r.cfg.Logf("record: %s: %v", st.Name(), err)
				}
			}()
		}
	}
	wg.Wait()
	return nil
}

// feedRecorder writes a stream's units to a recorder until ctx ends. The recorder is created at the
// stream's first unit, when it is known whether there is Opus audio to record.
func feedRecorder(ctx context.Context, st *video.Stream, rd *video.Reader, rc RecordConfig) error {
	var rec *record.Recorder
	defer func() {
		if rec != nil {
			_ = rec.Close()
		}
	}()
	for {
		u, err := rd.ReadUnit(ctx)
		if err != nil {
			return nil
		}
		if rec == nil {
			cfg := record.Config{Dir: rc.Dir, StreamName: st.Name(), SegmentDuration: rc.SegmentDuration,
				PartDuration: rc.PartDuration, MaxAge: rc.MaxAge, MaxBytes: rc.MaxBytes}
			if m, _, ok := st.Media(); ok && m.Audio == video.CodecOpus {
				cfg.Audio, cfg.AudioChannels = record.AudioOpus, m.AudioChannels
			}
			if rec, err = record.New(cfg); err != nil {
				return err
			}
		}
		switch u.Codec {
		case video.CodecH264:
			_ = rec.WriteH264(u.PTS, u.NTP, u.NALUs) // a full queue is counted by the recorder
		case video.CodecOpus:
			_ = rec.WriteOpus(u.PTS, u.Payload)
		default:
			// H.265 and G.711 are not recorded (see video/record).
		}
	}
}

// Close ends every WHEP session and stream and closes the sockets. Call it
// after Run returned (or instead of Run).
func (r *Relay) Close() {
	if r.whep != nil {
		_ = r.whep.Close()
	}
	if r.hub != nil {
		r.hub.Close()
	}
	if r.rtsp != nil {
		r.rtsp.Close()
	}
}

// Streams returns every stream's state, sorted by name.
func (r *Relay) Streams() []StreamInfo {
	out := make([]StreamInfo, 0, len(r.cams))
	for _, st := range r.hub.Streams() {
		out = append(out, r.info(st))
	}
	return out
}

func (r *Relay) info(st *video.Stream) StreamInfo {
	si := StreamInfo{StreamInfo: st.Info(), WHEP: whep.PathPrefix + st.Name() + "/whep"}
	for _, c := range r.cams {
		if c.Name == st.Name() {
			si.VehicleSystemID, si.Source = c.VehicleSystemID, c.URL
		}
	}
	if r.rtsp != nil {
		si.RTSP = "/" + st.Name()
	}
	return si
}

// Handler serves the video API, with Go 1.22 patterns so another mux can
// mount it as is:
//
//	GET     /api/v1/streams                     {"streams": [StreamInfo...]}
//	GET     /api/v1/streams/{name}              StreamInfo
//	POST    /api/v1/streams/{name}/whep         WHEP offer -> 201 answer
//	DELETE  /api/v1/streams/{name}/whep/{id}    end a WHEP session
//	OPTIONS /api/v1/streams/{name}/whep[/{id}]  CORS
//
// It does no authentication: the server mounting it does.
func (r *Relay) Handler() http.Handler { return r.mux }

func (r *Relay) serveList(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, struct {
		Streams []StreamInfo `json:"streams"`
	}{r.Streams()})
}

func (r *Relay) serveOne(w http.ResponseWriter, req *http.Request) {
	name := req.PathValue("name")
	if strings.HasSuffix(name, "/whep") || strings.Contains(name, "/whep/") {
		w.Header().Set("Allow", "OPTIONS, POST, DELETE")
		http.Error(w, "WHEP endpoints take POST and DELETE", http.StatusMethodNotAllowed)
		return
	}
	st, err := r.hub.Stream(name)
	if err != nil {
		http.Error(w, fmt.Sprintf("no stream named %q", name), http.StatusNotFound)
		return
	}
	writeJSON(w, http.StatusOK, r.info(st))
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
