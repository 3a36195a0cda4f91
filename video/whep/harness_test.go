package whep

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/ospreygcs/osprey/sitl"
	"github.com/ospreygcs/osprey/video"
	"github.com/ospreygcs/osprey/video/rtspsrc"
)

// rig is a simulated camera, a hub with its source, and a WHEP server on
// loopback.
type rig struct {
	cams   *sitl.CameraServer
	hub    *video.Hub
	whep   *Server
	http   *httptest.Server
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type rigCam struct {
	name           string
	w, h, fps, gop int
}

func newRig(t *testing.T, cfg Config, cams ...rigCam) *rig {
	t.Helper()
	var cc []sitl.CameraConfig
	for _, c := range cams {
		cc = append(cc, sitl.CameraConfig{Name: c.name, Width: c.w, Height: c.h, FPS: c.fps, GOP: c.gop})
	}
	cs, err := sitl.NewCameraServer(sitl.CameraServerConfig{Address: "127.0.0.1:0", Cameras: cc})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{cams: cs, hub: video.NewHub(video.StreamConfig{})}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	for _, c := range cams {
		st, err := r.hub.Add(c.name)
		if err != nil {
			t.Fatal(err)
		}
		src, err := rtspsrc.New(rtspsrc.Config{URL: cs.URL(c.name), Transport: rtspsrc.TransportTCP,
			MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, ReadTimeout: 2 * time.Second}, st)
		if err != nil {
			t.Fatal(err)
		}
		r.wg.Add(1)
		go func() { defer r.wg.Done(); _ = src.Run(ctx) }()
	}
	if cfg.UDPAddress == "" {
		cfg.UDPAddress = "127.0.0.1:0"
	}
	w, err := New(cfg, r.hub)
	if err != nil {
		t.Fatal(err)
	}
	r.whep = w
	r.http = httptest.NewServer(w)
	t.Cleanup(r.close)
	for _, c := range cams {
		r.waitLive(t, c.name)
	}
	return r
}

func (r *rig) close() {
	r.http.Close()
	_ = r.whep.Close()
	r.cancel()
	r.wg.Wait()
	r.hub.Close()
	_ = r.cams.Close()
}

func (r *rig) waitLive(t *testing.T, name string) {
	t.Helper()
	st, err := r.hub.Stream(name)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "stream "+name+" live", func() bool {
		s, _ := st.State()
		return s == video.StateLive
	})
}

func (r *rig) url(name string) string { return r.http.URL + PathPrefix + name + "/whep" }

func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// viewer is an in-process pion WHEP client.
type viewer struct {
	pc       *webrtc.PeerConnection
	location string

	mu        sync.Mutex
	packets   []recvPacket
	paused    bool
	gotAU     chan struct{} // closed at the first complete IDR access unit
	auOnce    sync.Once
	firstAU   [][]byte
	aus       int
	kept      [][][]byte // the first access units, for decoding
	audio     []*rtp.Packet
	audioMime string
	readers   sync.WaitGroup
}

type recvPacket struct {
	at  time.Time
	pkt *rtp.Packet
}

func clientAPI(t testing.TB) *webrtc.API {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{LoggerFactory: quietLoggerFactory()}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
}

// offerSDP returns a complete (non-trickle) offer and its PeerConnection.
func makeOffer(t testing.TB, api *webrtc.API) (*webrtc.PeerConnection, string) {
	t.Helper()
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-time.After(5 * time.Second):
		t.Fatal("client gathering timed out")
	}
	return pc, pc.LocalDescription().SDP
}

func post(t testing.TB, url, contentType string, body []byte) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// join connects a viewer to url and starts reading its video.
func join(t *testing.T, api *webrtc.API, base, url string) *viewer {
	t.Helper()
	pc, offer := makeOffer(t, api)
	v := &viewer{pc: pc, gotAU: make(chan struct{})}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if tr.Kind() == webrtc.RTPCodecTypeAudio {
			v.readers.Add(1)
			go func() {
				defer v.readers.Done()
				for {
					pkt, _, err := tr.ReadRTP()
					if err != nil {
						return
					}
					v.mu.Lock()
					v.audio = append(v.audio, pkt)
					v.audioMime = tr.Codec().MimeType
					v.mu.Unlock()
				}
			}()
			return
		}
		v.readers.Add(1)
		go func() {
			defer v.readers.Done()
			v.readVideo(tr)
		}()
	})
	resp := post(t, url, "application/sdp", []byte(offer))
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		_ = pc.Close()
		t.Fatalf("POST = %d %s", resp.StatusCode, body)
	}
	v.location = base + resp.Header.Get("Location")
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
		_ = pc.Close()
		t.Fatal(err)
	}
	return v
}

func (v *viewer) readVideo(tr *webrtc.TrackRemote) {
	dec := &rtph264.Decoder{PacketizationMode: 1}
	if err := dec.Init(); err != nil {
		return
	}
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		now := time.Now()
		v.mu.Lock()
		for v.paused {
			v.mu.Unlock()
			time.Sleep(5 * time.Millisecond)
			if v.pc.ConnectionState() == webrtc.PeerConnectionStateClosed {
				return
			}
			v.mu.Lock()
		}
		v.packets = append(v.packets, recvPacket{at: now, pkt: pkt})
		v.mu.Unlock()
		au, err := dec.Decode(pkt)
		if err != nil {
			continue
		}
		v.mu.Lock()
		v.aus++
		if len(v.kept) < 30 {
			v.kept = append(v.kept, au)
		}
		v.mu.Unlock()
		v.auOnce.Do(func() {
			v.firstAU = au
			close(v.gotAU)
		})
	}
}

func (v *viewer) setPaused(on bool) {
	v.mu.Lock()
	v.paused = on
	v.mu.Unlock()
}

func (v *viewer) auCount() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.aus
}

// leave DELETEs the session and closes the PeerConnection.
func (v *viewer) leave(t *testing.T) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, v.location, nil)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Errorf("DELETE = %d", resp.StatusCode)
		}
	}
	v.close()
}

func (v *viewer) close() {
	v.setPaused(false)
	_ = v.pc.Close()
	v.readers.Wait()
}

func naluTypes(au [][]byte) string {
	var parts []string
	for _, n := range au {
		if len(n) == 0 {
			parts = append(parts, "empty")
			continue
		}
		parts = append(parts, fmt.Sprint(n[0]&0x1f))
	}
	return strings.Join(parts, ",")
}

func waitAU(t *testing.T, v *viewer, d time.Duration) {
	t.Helper()
	select {
	case <-v.gotAU:
	case <-time.After(d):
		t.Fatalf("no access unit within %v", d)
	}
}
