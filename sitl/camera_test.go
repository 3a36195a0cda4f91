package sitl

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"
	mch264 "github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtp"
	"go.uber.org/goleak"
)

// camTestAU is one access unit as a client received it.
type camTestAU struct {
	au   [][]byte
	ts   uint32
	ssrc uint32
}

// camTestClient plays one camera and records what arrives.
type camTestClient struct {
	c     *gortsplib.Client
	desc  *description.Session
	sdp   string
	forma *format.H264

	mu        sync.Mutex
	aus       []camTestAU
	packets   int
	forbidden int // packets whose first payload byte has the forbidden_zero_bit set
	lost      uint64
	ssrcs     map[uint32]struct{}
}

// camTestPlay connects to url and starts playing over transport.
func camTestPlay(t *testing.T, url string, transport gortsplib.Transport) (*camTestClient, error) {
	t.Helper()
	u, err := base.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	tc := &camTestClient{ssrcs: map[uint32]struct{}{}}
	tc.c = &gortsplib.Client{
		Scheme:      u.Scheme,
		Host:        u.Host,
		Transport:   &transport,
		ReadTimeout: 5 * time.Second,
	}
	tc.c.OnPacketsLost = func(n uint64) {
		tc.mu.Lock()
		tc.lost += n
		tc.mu.Unlock()
	}
	tc.c.OnDecodeError = func(error) {}
	if err := tc.c.Start2(); err != nil {
		return nil, err
	}
	desc, res, err := tc.c.Describe(u)
	if err != nil {
		tc.c.Close()
		return nil, err
	}
	tc.desc, tc.sdp = desc, string(res.Body)
	medi := desc.FindFormat(&tc.forma)
	if medi == nil {
		tc.c.Close()
		t.Fatalf("no H264 format in %s", tc.sdp)
	}
	dec, err := tc.forma.CreateDecoder()
	if err != nil {
		tc.c.Close()
		t.Fatal(err)
	}
	if _, err := tc.c.Setup(desc.BaseURL, medi, 0, 0); err != nil {
		tc.c.Close()
		return nil, err
	}
	tc.c.OnPacketRTP(medi, tc.forma, func(pkt *rtp.Packet) {
		tc.mu.Lock()
		defer tc.mu.Unlock()
		tc.packets++
		tc.ssrcs[pkt.SSRC] = struct{}{}
		if len(pkt.Payload) > 0 && pkt.Payload[0]&0x80 != 0 {
			tc.forbidden++
		}
		au, err := dec.Decode(pkt)
		if err != nil {
			return // more packets needed, or garbage
		}
		tc.aus = append(tc.aus, camTestAU{au: au, ts: pkt.Timestamp, ssrc: pkt.SSRC})
	})
	if _, err := tc.c.Play(nil); err != nil {
		tc.c.Close()
		return nil, err
	}
	return tc, nil
}

// waitFor polls cond until it holds or timeout passes.
func (tc *camTestClient) waitFor(t *testing.T, timeout time.Duration, what string, cond func(tc *camTestClient) bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		tc.mu.Lock()
		ok := cond(tc)
		tc.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func camTestIsIDR(au [][]byte) bool {
	return fmt.Sprint(h264TestNALTypes(au)) == "[7 8 5]"
}

// idrsFrom counts the IDR access units from index i on.
func (tc *camTestClient) idrsFrom(i int) int {
	n := 0
	for _, a := range tc.aus[min(i, len(tc.aus)):] {
		if camTestIsIDR(a.au) {
			n++
		}
	}
	return n
}

// camTestSteppingClock returns a clock that advances step on every call,
// so stamps and RTP timestamps are predictable whatever the real pace.
func camTestSteppingClock(start time.Time, step time.Duration) func() time.Time {
	var n atomic.Int64
	return func() time.Time {
		return start.Add(time.Duration(n.Add(1)-1) * step)
	}
}

func TestCameraServerRTSP(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	base0 := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	const step = 25 * time.Millisecond
	srv, err := NewCameraServer(CameraServerConfig{
		Address: "127.0.0.1:0",
		Cameras: []CameraConfig{
			{Name: "sim/1", Width: 320, Height: 240, FPS: 30, GOP: 10, Clock: camTestSteppingClock(base0, step)},
			{Name: "/sim/2/", Width: 448, Height: 250, FPS: 15, Label: "two"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Close() }()

	host, port, err := net.SplitHostPort(srv.Address())
	if err != nil || host != "127.0.0.1" || port == "0" {
		t.Fatalf("Address() = %q", srv.Address())
	}
	if got, want := srv.URL("sim/1"), "rtsp://"+srv.Address()+"/sim/1"; got != want {
		t.Fatalf("URL = %q, want %q", got, want)
	}

	tc, err := camTestPlay(t, srv.URL("sim/1"), gortsplib.TransportTCP)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.c.Close()

	// The SDP carries the parameter sets.
	if !strings.Contains(tc.sdp, "sprop-parameter-sets=") || !strings.Contains(tc.sdp, "packetization-mode=1") {
		t.Fatalf("SDP lacks sprop-parameter-sets or packetization-mode:\n%s", tc.sdp)
	}
	var sps mch264.SPS
	if err := sps.Unmarshal(tc.forma.SPS); err != nil || sps.Width() != 320 || sps.Height() != 240 || tc.forma.PPS == nil {
		t.Fatalf("SDP SPS: %v, %dx%d, PPS %x", err, sps.Width(), sps.Height(), tc.forma.PPS)
	}

	// Pictures arrive, with an IDR carrying SPS and PPS in band, at least
	// two GOPs' worth.
	tc.waitFor(t, 10*time.Second, "two IDRs and 25 pictures", func(tc *camTestClient) bool {
		return tc.idrsFrom(0) >= 2 && len(tc.aus) >= 25
	})
	tc.mu.Lock()
	aus := slices.Clone(tc.aus)
	tc.mu.Unlock()

	first := slices.IndexFunc(aus, func(a camTestAU) bool { return camTestIsIDR(a.au) })
	if !slices.Equal(aus[first].au[0], tc.forma.SPS) || !slices.Equal(aus[first].au[1], tc.forma.PPS) {
		t.Fatal("in-band SPS/PPS differ from the SDP's")
	}
	// The camera's 90 kHz timestamps follow its clock; this clock steps
	// 25 ms a picture, so RTP time advances by multiples of 2250 ticks.
	var deltas []int
	for i := 1; i < len(aus); i++ {
		d := int(int32(aus[i].ts - aus[i-1].ts))
		if d <= 0 || d%2250 != 0 {
			t.Fatalf("RTP timestamp step %d between pictures %d and %d", d, i-1, i)
		}
		deltas = append(deltas, d)
		if aus[i].ssrc != aus[0].ssrc {
			t.Fatal("SSRC changed within one stream")
		}
	}
	slices.Sort(deltas)
	if med := deltas[len(deltas)/2]; med != 2250 {
		t.Fatalf("median RTP step %d, want one clock step (2250): pictures are skipped", med)
	}

	// Decoded from the first IDR on, every picture carries the camera
	// clock's time, consistent with its RTP timestamp.
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Log("ffmpeg not on PATH: skipping the decode and stamp checks")
	} else {
		camTestCheckStamps(t, aus[first:], base0, step)
	}

	// The second camera is served under its trimmed name, with its own size.
	tc2, err := camTestPlay(t, srv.URL("sim/2"), gortsplib.TransportTCP)
	if err != nil {
		t.Fatal(err)
	}
	defer tc2.c.Close()
	if err := sps.Unmarshal(tc2.forma.SPS); err != nil || sps.Width() != 448 || sps.Height() != 250 {
		t.Fatalf("sim/2 SPS: %v %dx%d", err, sps.Width(), sps.Height())
	}
	tc2.waitFor(t, 10*time.Second, "an IDR from sim/2", func(tc *camTestClient) bool { return tc.idrsFrom(0) >= 2 })

	// An unknown path is a 404.
	if _, err := camTestPlay(t, "rtsp://"+srv.Address()+"/sim/9", gortsplib.TransportTCP); !camTestIs404(err) {
		t.Fatalf("unknown camera: err = %v, want 404", err)
	}
}

// camTestCheckStamps decodes aus (starting with an IDR) with FFmpeg and
// checks every picture's stamp lies on the camera clock (base plus a
// multiple of step) and advances exactly as the RTP timestamps do.
func camTestCheckStamps(t *testing.T, aus []camTestAU, base0 time.Time, step time.Duration) {
	t.Helper()
	var decodeAUs [][][]byte
	for _, a := range aus {
		decodeAUs = append(decodeAUs, a.au)
	}
	pics := h264TestFFmpeg(t, decodeAUs, 320, 240)
	if len(pics) != len(decodeAUs) {
		t.Fatalf("decoded %d pictures from %d access units", len(pics), len(decodeAUs))
	}
	var firstStamp time.Time
	for i, p := range pics {
		st, ok := DecodeStamp(p)
		if !ok {
			t.Fatalf("picture %d: no stamp", i)
		}
		if st.Sub(base0)%step != 0 {
			t.Fatalf("picture %d: stamp %v is not on the camera clock", i, st)
		}
		if i == 0 {
			firstStamp = st
			continue
		}
		ticks := int64(int32(aus[i].ts - aus[0].ts))
		if want := st.Sub(firstStamp).Milliseconds() * 90; ticks != want {
			t.Fatalf("picture %d: RTP advanced %d ticks, stamp %d ms", i, ticks, st.Sub(firstStamp).Milliseconds())
		}
	}
}

func camTestIs404(err error) bool {
	var bad liberrors.ErrClientBadStatusCode
	return errors.As(err, &bad) && bad.Code == base.StatusNotFound
}

// TestCameraServerStopStart kills and revives a camera: readers are cut off,
// DESCRIBE fails while it is down, and the revived stream starts with an IDR.
func TestCameraServerStopStart(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	// A GOP far longer than the test, so every IDR seen after the first is
	// one the camera forced.
	srv, err := NewCameraServer(CameraServerConfig{
		Address: "127.0.0.1:0",
		Cameras: []CameraConfig{{Name: "cam", Width: 256, Height: 64, FPS: 30, GOP: 100000}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Close() }()

	tc, err := camTestPlay(t, srv.URL("cam"), gortsplib.TransportTCP)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.c.Close()
	tc.waitFor(t, 10*time.Second, "pictures", func(tc *camTestClient) bool { return len(tc.aus) >= 3 })
	tc.mu.Lock()
	oldSSRC := tc.aus[0].ssrc
	tc.mu.Unlock()

	if err := srv.Stop("cam"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Stop("cam"); err != nil { // stopping twice is harmless
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	go func() { ended <- tc.c.Wait() }()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("reader still connected 10 s after Stop")
	}
	if _, err := camTestPlay(t, srv.URL("cam"), gortsplib.TransportTCP); !camTestIs404(err) {
		t.Fatalf("stopped camera: err = %v, want 404", err)
	}

	// Hold the camera stalled across the restart so the client is playing
	// before the first picture of the new stream is sent.
	if err := srv.SetStalled("cam", true); err != nil {
		t.Fatal(err)
	}
	if err := srv.Start("cam"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Start("cam"); err != nil { // starting twice is harmless
		t.Fatal(err)
	}
	tc2, err := camTestPlay(t, srv.URL("cam"), gortsplib.TransportTCP)
	if err != nil {
		t.Fatal(err)
	}
	defer tc2.c.Close()
	if err := srv.SetStalled("cam", false); err != nil {
		t.Fatal(err)
	}
	tc2.waitFor(t, 10*time.Second, "pictures after restart", func(tc *camTestClient) bool { return len(tc.aus) >= 3 })
	tc2.mu.Lock()
	defer tc2.mu.Unlock()
	if !camTestIsIDR(tc2.aus[0].au) {
		t.Fatalf("first picture after restart has NAL types %v, want an IDR", h264TestNALTypes(tc2.aus[0].au))
	}
	if tc2.aus[0].ssrc == oldSSRC {
		t.Fatal("restarted stream kept the old SSRC")
	}

	for _, f := range []func(string) error{srv.Stop, srv.Start, func(n string) error { return srv.SetStalled(n, true) },
		func(n string) error { return srv.SetSendGarbage(n, true) }} {
		if err := f("nope"); !errors.Is(err, ErrCameraNotFound) {
			t.Fatalf("unknown camera: err = %v, want ErrCameraNotFound", err)
		}
	}
}

// TestCameraServerFaults covers the stall and garbage hooks.
func TestCameraServerFaults(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	srv, err := NewCameraServer(CameraServerConfig{
		Address: "127.0.0.1:0",
		Cameras: []CameraConfig{{Name: "cam", Width: 256, Height: 64, FPS: 30, GOP: 100000}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Close() }()
	tc, err := camTestPlay(t, srv.URL("cam"), gortsplib.TransportTCP)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.c.Close()
	tc.waitFor(t, 10*time.Second, "pictures", func(tc *camTestClient) bool { return len(tc.aus) >= 2 })

	// Stalled: the session stays up but nothing arrives.
	if err := srv.SetStalled("cam", true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // let a picture in flight land
	tc.mu.Lock()
	before := tc.packets
	tc.mu.Unlock()
	time.Sleep(300 * time.Millisecond)
	tc.mu.Lock()
	after := tc.packets
	tc.mu.Unlock()
	if after != before {
		t.Fatalf("%d packets arrived from a stalled camera", after-before)
	}
	if err := srv.SetStalled("cam", false); err != nil {
		t.Fatal(err)
	}
	tc.waitFor(t, 10*time.Second, "packets after the stall", func(tc *camTestClient) bool { return tc.packets > after })

	// Garbage: packets keep coming, with payloads no encoder would write
	// (the NAL forbidden_zero_bit set), then the camera recovers with an IDR.
	if err := srv.SetSendGarbage("cam", true); err != nil {
		t.Fatal(err)
	}
	tc.waitFor(t, 10*time.Second, "garbage packets", func(tc *camTestClient) bool { return tc.forbidden >= 8 })
	tc.mu.Lock()
	nAUs := len(tc.aus)
	tc.mu.Unlock()
	if err := srv.SetSendGarbage("cam", false); err != nil {
		t.Fatal(err)
	}
	tc.waitFor(t, 10*time.Second, "an IDR after the garbage", func(tc *camTestClient) bool { return tc.idrsFrom(nAUs) > 0 })
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if len(tc.ssrcs) != 1 {
		t.Fatalf("garbage packets used %d SSRCs, want the stream's one", len(tc.ssrcs))
	}
}

// TestCameraServerUDP plays over the UDP transport, when a free even/odd
// port pair can be found on loopback.
func TestCameraServerUDP(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	rtpAddr := camTestFreeUDPPair(t)
	srv, err := NewCameraServer(CameraServerConfig{
		Address:       "127.0.0.1:0",
		UDPRTPAddress: rtpAddr,
		Cameras:       []CameraConfig{{Name: "cam", Width: 640, Height: 360, FPS: 30, GOP: 15}},
	})
	if err != nil {
		t.Skipf("UDP ports %s taken meanwhile: %v", rtpAddr, err)
	}
	defer func() { _ = srv.Close() }()
	tc, err := camTestPlay(t, srv.URL("cam"), gortsplib.TransportUDP)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.c.Close()
	// A 640x360 IDR is ~260 packets; paced bursts must get whole ones through.
	tc.waitFor(t, 10*time.Second, "two IDRs over UDP", func(tc *camTestClient) bool { return tc.idrsFrom(0) >= 2 })
	tc.mu.Lock()
	t.Logf("%d packets, %d access units, %d packets lost", tc.packets, len(tc.aus), tc.lost)
	tc.mu.Unlock()
}

// camTestFreeUDPPair finds an even loopback UDP port whose successor is
// free too.
func camTestFreeUDPPair(t *testing.T) string {
	t.Helper()
	for range 50 {
		a, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Skipf("no UDP: %v", err)
		}
		p := a.LocalAddr().(*net.UDPAddr).Port
		_ = a.Close()
		if p%2 != 0 || p >= 65534 {
			continue
		}
		b, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p+1))
		if err != nil {
			continue
		}
		_ = b.Close()
		return fmt.Sprintf("127.0.0.1:%d", p)
	}
	t.Skip("no free even/odd UDP port pair found")
	return ""
}

func TestCameraServerConfigErrors(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	for name, cfg := range map[string]CameraServerConfig{
		"no cameras":   {Address: "127.0.0.1:0"},
		"no name":      {Address: "127.0.0.1:0", Cameras: []CameraConfig{{}}},
		"duplicate":    {Address: "127.0.0.1:0", Cameras: []CameraConfig{{Name: "a/b"}, {Name: "/a/b/"}}},
		"odd width":    {Address: "127.0.0.1:0", Cameras: []CameraConfig{{Name: "a", Width: 641, Height: 360}}},
		"too narrow":   {Address: "127.0.0.1:0", Cameras: []CameraConfig{{Name: "a", Width: 160, Height: 120}}},
		"odd UDP port": {Address: "127.0.0.1:0", UDPRTPAddress: "127.0.0.1:8001", Cameras: []CameraConfig{{Name: "a"}}},
		"bad UDP":      {Address: "127.0.0.1:0", UDPRTPAddress: "nonsense", Cameras: []CameraConfig{{Name: "a"}}},
	} {
		if srv, err := NewCameraServer(cfg); !errors.Is(err, ErrCameraConfig) {
			if srv != nil {
				_ = srv.Close()
			}
			t.Errorf("%s: err = %v, want ErrCameraConfig", name, err)
		}
	}

	// A taken address fails cleanly.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	if srv, err := NewCameraServer(CameraServerConfig{Address: l.Addr().String(), Cameras: []CameraConfig{{Name: "a"}}}); err == nil {
		_ = srv.Close()
		t.Fatal("listening on a taken address succeeded")
	}

	// Defaults, double Close, Start after Close.
	srv, err := NewCameraServer(CameraServerConfig{Address: "127.0.0.1:0", Cameras: []CameraConfig{{Name: "a"}}})
	if err != nil {
		t.Fatal(err)
	}
	cam := srv.cams["a"]
	if cam.cfg.Width != 640 || cam.cfg.Height != 360 || cam.cfg.FPS != 30 || cam.cfg.GOP != 30 || cam.cfg.Label != "a" {
		t.Fatalf("defaults: %+v", cam.cfg)
	}
	_ = srv.Close()
	_ = srv.Close()
	if err := srv.Start("a"); err == nil {
		t.Fatal("Start after Close succeeded")
	}

	// URLs point at loopback when the server listens on every interface.
	for addr, want := range map[string]string{
		"0.0.0.0:8554":   "rtsp://127.0.0.1:8554/sim/1",
		"[::]:8554":      "rtsp://127.0.0.1:8554/sim/1",
		"10.1.2.3:554":   "rtsp://10.1.2.3:554/sim/1",
		"[::1]:8554":     "rtsp://[::1]:8554/sim/1",
		"127.0.0.1:8554": "rtsp://127.0.0.1:8554/sim/1",
	} {
		if got := (&CameraServer{addr: addr}).URL("/sim/1"); got != want {
			t.Errorf("URL on %s = %s, want %s", addr, got, want)
		}
	}
}

func TestCamRTPTicks(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want uint32
	}{
		{0, 0},
		{-time.Second, 0},
		{time.Second, 90000},
		{time.Second / 30, 3000},
		{25 * time.Millisecond, 2250},
		{1500 * time.Millisecond, 135000},
		{48 * time.Hour, uint32(int64(48*3600) * 90000 % (1 << 32))},
	} {
		if got := camRTPTicks(c.d); got != c.want {
			t.Errorf("ticks(%v) = %d, want %d", c.d, got, c.want)
		}
	}
}
