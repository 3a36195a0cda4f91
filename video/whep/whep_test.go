package whep

import (
	"bytes"
	"context"
	"image"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/ospreygcs/osprey/sitl"
	"github.com/ospreygcs/osprey/video"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestViewerGetsDecodableH264(t *testing.T) {
	r := newRig(t, Config{}, rigCam{name: "sim/1", w: 320, h: 240, fps: 15, gop: 15})
	api := clientAPI(t)
	v := join(t, api, r.http.URL, r.url("sim/1"))
	defer v.leave(t)
	waitAU(t, v, 10*time.Second)
	if got := naluTypes(v.firstAU); got != "7,8,5" {
		t.Fatalf("first access unit NAL types = %s, want 7,8,5 (SPS, PPS, IDR)", got)
	}
	waitFor(t, 5*time.Second, "more access units", func() bool { return v.auCount() >= 10 })

	// Decode what arrived and read the capture time burned into the
	// picture: the relay must deliver the camera's pictures bit-exact.
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Log("ffmpeg not on PATH: skipping the decode check")
		return
	}
	v.mu.Lock()
	var annexB []byte
	for _, au := range v.kept {
		for _, n := range au {
			annexB = append(annexB, 0, 0, 0, 1)
			annexB = append(annexB, n...)
		}
	}
	v.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-v", "error", "-f", "h264", "-i", "pipe:0",
		"-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1")
	cmd.Stdin = bytes.NewReader(annexB)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffmpeg decode: %v\n%s", err, stderr.String())
	}
	const w, h = 320, 240
	if len(raw) != w*h {
		t.Fatalf("decoded %d bytes, want one %dx%d gray picture", len(raw), w, h)
	}
	img := &image.Gray{Pix: raw, Stride: w, Rect: image.Rect(0, 0, w, h)}
	stamp, ok := sitl.DecodeStamp(img)
	if !ok {
		t.Fatal("the decoded picture carries no valid stamp")
	}
	if age := time.Since(stamp); age < 0 || age > 30*time.Second {
		t.Fatalf("stamp %v is %v old", stamp, age)
	}
}

func TestMidGOPJoinGetsKeyframeAtOnce(t *testing.T) {
	// One IDR every 10 s: without the GOP cache a viewer joining now
	// would wait up to 10 s.
	const gop = 10 * time.Second
	r := newRig(t, Config{}, rigCam{name: "sim/1", w: 320, h: 240, fps: 10, gop: 100})
	// Let the stream get well into its GOP.
	time.Sleep(1500 * time.Millisecond)
	api := clientAPI(t)
	start := time.Now()
	v := join(t, api, r.http.URL, r.url("sim/1"))
	defer v.leave(t)
	waitAU(t, v, gop)
	took := time.Since(start)
	if got := naluTypes(v.firstAU); got != "7,8,5" {
		t.Fatalf("first access unit NAL types = %s, want 7,8,5", got)
	}
	t.Logf("first keyframe %v after POST (GOP %v)", took, gop)
	if took > gop/2 {
		t.Fatalf("first keyframe after %v, want well under the GOP interval %v", took, gop)
	}
	// The cached P pictures follow, then live ones.
	waitFor(t, 5*time.Second, "the cached GOP and live pictures", func() bool { return v.auCount() >= 20 })
}

func TestViewerSurvivesCameraRestart(t *testing.T) {
	r := newRig(t, Config{}, rigCam{name: "sim/1", w: 320, h: 240, fps: 15, gop: 15})
	api := clientAPI(t)
	v := join(t, api, r.http.URL, r.url("sim/1"))
	defer v.leave(t)
	waitAU(t, v, 10*time.Second)
	st, _ := r.hub.Stream("sim/1")

	if err := r.cams.Stop("sim/1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "stream offline", func() bool { s, _ := st.State(); return s == video.StateOffline })

	// A new viewer is told to come back later.
	pc2, offer := makeOffer(t, api)
	defer pc2.Close()
	resp := post(t, r.url("sim/1"), "application/sdp", []byte(offer))
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("POST while offline = %d (Retry-After %q) %s, want 409 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}

	before := v.auCount()
	if err := r.cams.Start("sim/1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "stream live again", func() bool { s, _ := st.State(); return s == video.StateLive })
	// The same PeerConnection receives the new session's pictures.
	waitFor(t, 10*time.Second, "pictures after the restart", func() bool { return v.auCount() >= before+10 })
	if s := v.pc.ConnectionState(); s != webrtc.PeerConnectionStateConnected {
		t.Fatalf("viewer connection %s, want still connected", s)
	}
	if r.whep.Sessions() != 1 {
		t.Fatalf("%d sessions, want the one viewer", r.whep.Sessions())
	}
}

// frameGaps returns the gaps between video frames (marker packets) that
// arrived in [from, to).
func frameGaps(v *viewer, from, to time.Time) []time.Duration {
	v.mu.Lock()
	defer v.mu.Unlock()
	var gaps []time.Duration
	var last time.Time
	for _, p := range v.packets {
		if !p.pkt.Marker || p.at.Before(from) || !p.at.Before(to) {
			continue
		}
		if !last.IsZero() {
			gaps = append(gaps, p.at.Sub(last))
		}
		last = p.at
	}
	return gaps
}

func percentile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))]
}

func TestPausedViewerDoesNotDisturbOthers(t *testing.T) {
	const fps = 20
	r := newRig(t, Config{QueueUnits: 8}, rigCam{name: "sim/1", w: 320, h: 240, fps: fps, gop: fps})
	api := clientAPI(t)
	healthy := join(t, api, r.http.URL, r.url("sim/1"))
	defer healthy.leave(t)
	waitAU(t, healthy, 10*time.Second)

	const window = 2 * time.Second
	t0 := time.Now()
	time.Sleep(window)
	alone := frameGaps(healthy, t0, time.Now())

	paused := join(t, api, r.http.URL, r.url("sim/1"))
	defer paused.leave(t)
	waitAU(t, paused, 10*time.Second)
	paused.setPaused(true)
	t1 := time.Now()
	time.Sleep(window)
	withPaused := frameGaps(healthy, t1, time.Now())

	p95a, p95b := percentile(alone, 0.95), percentile(withPaused, 0.95)
	t.Logf("healthy viewer frames: alone %d (p50 %v p95 %v), beside a paused viewer %d (p50 %v p95 %v)",
		len(alone)+1, percentile(alone, 0.5), p95a, len(withPaused)+1, percentile(withPaused, 0.5), p95b)
	want := int(0.7 * fps * window.Seconds())
	if len(alone) < want || len(withPaused) < want {
		t.Fatalf("healthy viewer got %d and %d frames in %v, want at least %d each", len(alone)+1, len(withPaused)+1, window, want)
	}
	if p95b > max(2*p95a, p95a+100*time.Millisecond) {
		t.Fatalf("frame gap p95 went from %v to %v beside a paused viewer", p95a, p95b)
	}
	if r.whep.Sessions() != 2 {
		t.Fatalf("%d sessions, want both viewers kept", r.whep.Sessions())
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count file descriptors: %v", err)
	}
	return len(ents)
}

func TestJoinLeaveCyclesLeakNothing(t *testing.T) {
	r := newRig(t, Config{}, rigCam{name: "sim/1", w: 320, h: 240, fps: 15, gop: 15})
	api := clientAPI(t)
	// Warm up: the first session allocates pools and timers that stay.
	v := join(t, api, r.http.URL, r.url("sim/1"))
	waitAU(t, v, 10*time.Second)
	v.leave(t)
	waitFor(t, 5*time.Second, "no sessions", func() bool { return r.whep.Sessions() == 0 })
	time.Sleep(200 * time.Millisecond)
	fdsBefore := openFDs(t)
	goroutinesBefore := runtime.NumGoroutine()

	// Ten full viewers: connect, receive, leave.
	for range 10 {
		v := join(t, api, r.http.URL, r.url("sim/1"))
		waitAU(t, v, 10*time.Second)
		v.leave(t)
	}
	// 190 more that POST and DELETE without connecting (one offer reused:
	// the server cannot tell), plus some left for the server to close.
	pc, offer := makeOffer(t, api)
	_ = pc.Close()
	for i := range 190 {
		resp := post(t, r.url("sim/1"), "application/sdp", []byte(offer))
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("cycle %d: POST = %d", i, resp.StatusCode)
		}
		req, _ := http.NewRequest(http.MethodDelete, r.http.URL+resp.Header.Get("Location"), nil)
		dresp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		dresp.Body.Close()
		if dresp.StatusCode != http.StatusNoContent {
			t.Fatalf("cycle %d: DELETE = %d", i, dresp.StatusCode)
		}
		// DELETE again: the session is gone.
		dresp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		dresp.Body.Close()
		if dresp.StatusCode != http.StatusNotFound {
			t.Fatalf("cycle %d: second DELETE = %d, want 404", i, dresp.StatusCode)
		}
	}
	if n := r.whep.Sessions(); n != 0 {
		t.Fatalf("%d sessions left", n)
	}
	http.DefaultClient.CloseIdleConnections()
	var fdsAfter, goroutinesAfter int
	waitFor(t, 10*time.Second, "descriptors and goroutines back to their level", func() bool {
		fdsAfter, goroutinesAfter = openFDs(t), runtime.NumGoroutine()
		return fdsAfter <= fdsBefore+5 && goroutinesAfter <= goroutinesBefore+5
	})
	t.Logf("after 200 cycles: %d→%d descriptors, %d→%d goroutines", fdsBefore, fdsAfter, goroutinesBefore, goroutinesAfter)
}
