package rtspsrc

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ospreygcs/osprey/internal/clock"
	"github.com/ospreygcs/osprey/sitl"
	"github.com/ospreygcs/osprey/video"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSourceReadsCameraAndReconnects(t *testing.T) {
	cams, err := sitl.NewCameraServer(sitl.CameraServerConfig{
		Address: "127.0.0.1:0",
		Cameras: []sitl.CameraConfig{{Name: "sim/1", Width: 320, Height: 240, FPS: 20, GOP: 10}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cams.Close()

	st := video.NewStream("sim/1", video.StreamConfig{})
	defer st.Close()
	src, err := New(Config{URL: cams.URL("sim/1"), Transport: TransportTCP, MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}, st)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = src.Run(ctx) }()
	defer func() { cancel(); wg.Wait() }()

	r, err := st.AddReader("test", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	u, err := r.ReadUnit(rctx)
	if err != nil {
		t.Fatalf("first unit: %v", err)
	}
	if !u.IDR || u.Codec != video.CodecH264 {
		t.Fatalf("first unit IDR=%v codec=%v, want an H.264 IDR", u.IDR, u.Codec)
	}
	if typ := u.NALUs[0][0] & 0x1f; typ != 7 {
		t.Fatalf("IDR starts with NAL type %d, want SPS (7)", typ)
	}
	info := st.Info()
	if info.State != video.StateLive || info.Width != 320 || info.Height != 240 {
		t.Fatalf("info = %+v, want live 320x240", info)
	}
	epoch := u.Epoch

	if err := cams.Stop("sim/1"); err != nil {
		t.Fatal(err)
	}
	waitState(t, st, video.StateOffline)
	if err := cams.Start("sim/1"); err != nil {
		t.Fatal(err)
	}
	waitState(t, st, video.StateLive)
	for {
		u, err := r.ReadUnit(rctx)
		if err != nil {
			t.Fatalf("after restart: %v", err)
		}
		if u.Epoch != epoch {
			if !u.IDR {
				t.Fatalf("first unit of the new epoch is not an IDR")
			}
			break
		}
	}
}

func waitState(t *testing.T, st *video.Stream, want video.State) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if s, _ := st.State(); s == want {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	s, e := st.State()
	t.Fatalf("state %s (%s), want %s", s, e, want)
}

func TestBackoffDoublesWithJitterAndResets(t *testing.T) {
	rnd := []float64{0, 0.5, 0.999, 0, 0, 0}
	i := 0
	b := Backoff{Min: 100 * time.Millisecond, Max: 500 * time.Millisecond, Rand: func() float64 { v := rnd[i]; i++; return v }}
	got := []time.Duration{b.Next(), b.Next(), b.Next(), b.Next(), b.Next()}
	want := []time.Duration{
		100 * time.Millisecond,                      // no jitter
		150 * time.Millisecond,                      // 200 less half of 100
		200*time.Millisecond + 200*time.Microsecond, // 400 less 0.999 of 200
		500 * time.Millisecond,                      // capped
		500 * time.Millisecond,
	}
	for k := range want {
		if got[k] != want[k] {
			t.Fatalf("pause %d = %v, want %v (all: %v)", k, got[k], want[k], got)
		}
	}
	b.Reset()
	if d := b.Next(); d != 100*time.Millisecond {
		t.Fatalf("after Reset: %v, want the minimum", d)
	}
}

func TestRunRetriesUnreachableCameraOnFakeClock(t *testing.T) {
	fake := clock.NewFake(time.Unix(0, 0))
	st := video.NewStream("cam", video.StreamConfig{})
	defer st.Close()
	var (
		mu    sync.Mutex
		lines []string
	)
	logf := func(format string, args ...any) {
		mu.Lock()
		lines = append(lines, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(lines) }
	// Port 1 on loopback refuses at once.
	src, err := New(Config{URL: "rtsp://127.0.0.1:1/x", Transport: TransportTCP, Clock: fake, Logf: logf,
		MinBackoff: time.Second, MaxBackoff: 4 * time.Second, Rand: func() float64 { return 0 }}, st)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = src.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitState(t, st, video.StateOffline)
	if _, lastErr := st.State(); lastErr == "" {
		t.Fatal("no last error recorded")
	}
	waitCount := func(n int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for count() < n {
			if time.Now().After(deadline) {
				t.Fatalf("%d attempts logged, want %d", count(), n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitCount(1)
	// Nothing happens until the fake clock moves: the back-off waits on it.
	time.Sleep(100 * time.Millisecond)
	if n := count(); n != 1 {
		t.Fatalf("%d attempts without the clock moving, want 1", n)
	}
	fake.Advance(time.Second)
	waitCount(2)
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(lines[0], "retrying in 1s") || !strings.Contains(lines[1], "retrying in 2s") {
		t.Fatalf("log %q: want pauses of 1s then 2s", lines)
	}
}

func TestNewValidates(t *testing.T) {
	st := video.NewStream("cam", video.StreamConfig{})
	defer st.Close()
	for _, c := range []Config{
		{URL: "http://h/x"},
		{URL: "rtsp:///x"},
		{URL: "::"},
		{URL: "rtsp://h/x", Transport: "sctp"},
	} {
		if _, err := New(c, st); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
	if got := Redact("rtsp://admin:secret@10.0.0.1:554/s"); got != "rtsp://admin:xxxxx@10.0.0.1:554/s" {
		t.Errorf("Redact = %q", got)
	}
}
