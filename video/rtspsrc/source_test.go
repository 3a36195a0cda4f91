package rtspsrc

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

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
