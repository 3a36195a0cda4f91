package benchviewer

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/ospreygcs/osprey/sitl"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testWHEP is a tiny WHEP server standing in for the relay: it reads the
// camera over RTSP and forwards its RTP packets to each viewer from the
// next keyframe on, with the viewer's own timestamp and sequence offsets,
// after a fixed delay, optionally dropping packets or whole pictures.
type testWHEP struct {
	t         *testing.T
	api       *webrtc.API
	udpMux    *ice.UDPMuxDefault
	cam       *gortsplib.Client
	delay     time.Duration
	dropEvery int // drop every Nth packet (a gap the viewer sees)
	skipEvery int // skip every Nth picture, renumbering (no gap)

	mu       sync.Mutex
	sessions map[string]*testSession
	nextID   int
	wg       sync.WaitGroup
}

type testSession struct {
	pc       *webrtc.PeerConnection
	track    *webrtc.TrackLocalStaticRTP
	queue    chan testPacket
	done     chan struct{}
	started  bool
	tsOffset uint32
	seq      uint16
	packets  int
	pictures int
	skipping bool
	idr      bool
	lastTS   uint32
}

type testPacket struct {
	pkt rtp.Packet
	due time.Time
}

func newTestWHEP(t *testing.T, cameraURL string, delay time.Duration, dropEvery, skipEvery int) *testWHEP {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s := &testWHEP{t: t, delay: delay, dropEvery: dropEvery, skipEvery: skipEvery, sessions: map[string]*testSession{}}
	s.udpMux = ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: conn, Logger: quietLogger().NewLogger("mux")})
	se := webrtc.SettingEngine{LoggerFactory: quietLogger()}
	se.SetICEUDPMux(s.udpMux)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		t.Fatal(err)
	}
	s.api = webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))

	u, err := base.ParseURL(cameraURL)
	if err != nil {
		t.Fatal(err)
	}
	tcp := gortsplib.TransportTCP
	s.cam = &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Transport: &tcp}
	if err := s.cam.Start2(); err != nil {
		t.Fatal(err)
	}
	desc, _, err := s.cam.Describe(u)
	if err != nil {
		t.Fatal(err)
	}
	var forma *format.H264
	medi := desc.FindFormat(&forma)
	if _, err := s.cam.Setup(desc.BaseURL, medi, 0, 0); err != nil {
		t.Fatal(err)
	}
	s.cam.OnPacketRTP(medi, forma, s.forward)
	if _, err := s.cam.Play(nil); err != nil {
		t.Fatal(err)
	}
	return s
}

// forward hands one camera packet to every session; called by gortsplib.
func (s *testWHEP) forward(p *rtp.Packet) {
	if len(p.Payload) == 0 {
		return
	}
	key := startsKeyframe(p.Payload)
	due := time.Now().Add(s.delay)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, se := range s.sessions {
		if !se.started {
			if !key {
				continue
			}
			se.started = true
		}
		if p.Timestamp != se.lastTS {
			se.lastTS = p.Timestamp
			se.pictures++
			se.idr = key // keyframes stay whole, so viewers can start
			se.skipping = s.skipEvery > 0 && se.pictures%s.skipEvery == 0 && !key
		}
		if se.skipping {
			continue
		}
		se.packets++
		q := testPacket{pkt: *p, due: due}
		q.pkt.Payload = append([]byte(nil), p.Payload...)
		q.pkt.Timestamp += se.tsOffset
		q.pkt.SequenceNumber = se.seq
		se.seq++
		if s.dropEvery > 0 && se.packets%s.dropEvery == 0 && !se.idr {
			continue
		}
		select {
		case se.queue <- q:
		default: // the test viewer is too slow: a gap it will see
		}
	}
}

func (s *testWHEP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/whep":
		s.serveOffer(w, r)
	case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/whep/"):
		s.mu.Lock()
		se := s.sessions[strings.TrimPrefix(r.URL.Path, "/whep/")]
		delete(s.sessions, strings.TrimPrefix(r.URL.Path, "/whep/"))
		s.mu.Unlock()
		if se == nil {
			http.NotFound(w, r)
			return
		}
		close(se.done)
		w.WriteHeader(http.StatusOK)
	default:
		http.Error(w, "no", http.StatusMethodNotAllowed)
	}
}

func (s *testWHEP) serveOffer(w http.ResponseWriter, r *http.Request) {
	offer, _ := io.ReadAll(r.Body)
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "video", "test")
	if err == nil {
		var snd *webrtc.RTPSender
		if snd, err = pc.AddTrack(track); err == nil {
			go drainSender(snd)
		}
	}
	if err == nil {
		err = pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(offer)})
	}
	var answer webrtc.SessionDescription
	if err == nil {
		answer, err = pc.CreateAnswer(nil)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err == nil {
		err = pc.SetLocalDescription(answer)
	}
	if err != nil {
		_ = pc.Close()
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	<-gathered
	se := &testSession{pc: pc, track: track, queue: make(chan testPacket, 4096), done: make(chan struct{}),
		tsOffset: rand.Uint32(), seq: uint16(rand.Uint32())}
	s.mu.Lock()
	s.nextID++
	id := fmt.Sprint(s.nextID)
	s.sessions[id] = se
	s.wg.Add(1)
	s.mu.Unlock()
	go s.send(se)
	w.Header().Set("Location", "/whep/"+id)
	w.Header().Set("Content-Type", "application/sdp")
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, pc.LocalDescription().SDP)
}

func drainSender(snd *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := snd.Read(buf); err != nil {
			return
		}
	}
}

// send writes a session's packets when due, until DELETE or Close.
func (s *testWHEP) send(se *testSession) {
	defer s.wg.Done()
	defer se.pc.Close()
	for {
		select {
		case q := <-se.queue:
			if d := time.Until(q.due); d > 0 {
				select {
				case <-time.After(d):
				case <-se.done:
					return
				}
			}
			_ = se.track.WriteRTP(&q.pkt)
		case <-se.done:
			return
		}
	}
}

func (s *testWHEP) close() {
	s.cam.Close()
	s.mu.Lock()
	for id, se := range s.sessions {
		close(se.done)
		delete(s.sessions, id)
	}
	s.mu.Unlock()
	s.wg.Wait()
	_ = s.udpMux.Close()
}

func TestRunAgainstLocalWHEP(t *testing.T) {
	cam, err := sitl.NewCameraServer(sitl.CameraServerConfig{
		Address: "127.0.0.1:0",
		Cameras: []sitl.CameraConfig{{Name: "sim/1", Width: 320, Height: 240, FPS: 30, GOP: 30}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cam.Close()

	for _, c := range []struct {
		name                 string
		delay                time.Duration
		dropEvery, skipEvery int
		join                 time.Duration
	}{
		{"clean, 40 ms late", 40 * time.Millisecond, 0, 0, 0},
		{"300 ms late: never live", 300 * time.Millisecond, 0, 0, 0},
		{"every 20th packet lost", 0, 20, 0, 0},
		{"every 10th picture skipped", 0, 0, 10, 0},
		{"joining 300 ms apart", 0, 0, 0, 300 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newTestWHEP(t, cam.URL("sim/1"), c.delay, c.dropEvery, c.skipEvery)
			var postsMu sync.Mutex
			var posts []time.Time // when each offer arrived
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost {
					postsMu.Lock()
					posts = append(posts, time.Now())
					postsMu.Unlock()
				}
				s.ServeHTTP(w, r)
			}))
			defer func() {
				srv.Close()
				s.close()
			}()
			var windows []bool
			began := time.Now()
			res, err := Run(context.Background(), Config{
				WHEPURL: srv.URL + "/whep", RTSPURL: cam.URL("sim/1"), Count: 3, Duration: 2 * time.Second,
				JoinInterval: c.join, SetupTimeout: 5 * time.Second,
				OnWindow: func(start bool) { windows = append(windows, start) },
			})
			if err != nil {
				t.Fatal(err)
			}
			postsMu.Lock()
			if len(posts) != 3 {
				t.Fatalf("%d offers, want 3", len(posts))
			}
			// The third offer leaves two intervals after Run began, at the
			// earliest (the reference client connects first).
			if last := posts[2].Sub(began); last < 2*c.join {
				t.Errorf("the third offer came %v after Run began, want at least %v", last, 2*c.join)
			}
			postsMu.Unlock()
			t.Logf("%+v", res)
			if res.Connected != 3 || res.Failed != 0 || fmt.Sprint(windows) != "[true false]" {
				t.Fatalf("connected %d, failed %d %v, windows %v", res.Connected, res.Failed, res.Errors, windows)
			}
			if res.TTFFMs.Count != 3 || res.TTFFMs.P50 <= 0 || res.RefFrames < 20 || res.MbpsPerViewer <= 0 {
				t.Errorf("TTFF %+v, %d reference pictures, %.2f Mbit/s", res.TTFFMs, res.RefFrames, res.MbpsPerViewer)
			}
			switch {
			case c.delay > liveHop:
				// The window opens anyway, after the set-up timeout.
				if res.NotCaughtUp != 3 || res.CaughtUpMs.Count != 0 || res.HopMs.P50 < 300 {
					t.Errorf("%d not caught up, caught up %+v, hop %+v; want 3, none, p50 >= 300 ms",
						res.NotCaughtUp, res.CaughtUpMs, res.HopMs)
				}
			case c.join > 0:
				// Spaced joins land anywhere in the GOP, and this test
				// server starts a viewer wherever it joins: only the
				// spacing (above) is this case's point.
			case c.dropEvery > 0:
				// Only P pictures lose packets; keyframes are most packets.
				// A viewer's window may begin and end on a dropped packet:
				// one more than a 20th each.
				most := (res.Packets+res.PacketsLost)/uint64(c.dropEvery) + uint64(res.Connected)
				if res.LossPct < 0.5 || res.PacketsLost > most || res.FramesIncomplete == 0 {
					t.Errorf("loss %d packets (%.2f%%), %d incomplete pictures; want 0.5%% to %d packets",
						res.PacketsLost, res.LossPct, res.FramesIncomplete, most)
				}
			case c.skipEvery > 0:
				missing := float64(res.FramesMissing) / float64(res.FramesExpected)
				if res.PacketsLost != 0 || missing < 0.05 || missing > 0.15 {
					t.Errorf("%d lost packets, %d of %d pictures missing; want none lost, about 10%% missing",
						res.PacketsLost, res.FramesMissing, res.FramesExpected)
				}
			default:
				if res.PacketsLost != 0 || res.FramesIncomplete != 0 || res.FramesMissing != 0 {
					t.Errorf("clean run lost %d packets, %d incomplete, %d missing pictures", res.PacketsLost, res.FramesIncomplete, res.FramesMissing)
				}
				// Every picture is matched, and the relay hop includes the
				// server's delay.
				if res.HopMs.Count < 3*res.RefFrames || res.HopMs.P50 < 40 {
					t.Errorf("hop %+v for %d reference pictures, want every picture matched, p50 >= 40 ms", res.HopMs, res.RefFrames)
				}
				// The age from capture needs the camera's first RTCP sender
				// report, 10 s into its stream: TestSummarise covers it.
				if res.AgeMs.Count > 0 && res.AgeMs.P50 < res.HopMs.P50 {
					t.Errorf("age %+v below hop %+v", res.AgeMs, res.HopMs)
				}
				if res.NotCaughtUp != 0 || res.CaughtUpMs.Count != 3 || res.CaughtUpMs.P50 < res.TTFFMs.P50 {
					t.Errorf("caught up %+v (%d never), first frame %+v", res.CaughtUpMs, res.NotCaughtUp, res.TTFFMs)
				}
				if res.LateStarts != 0 || res.TTFFMs.Max > 5000 {
					t.Errorf("TTFF %+v with %d late starts: the first keyframe sent was not taken", res.TTFFMs, res.LateStarts)
				}
			}
		})
	}
}
