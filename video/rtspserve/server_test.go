package rtspserve

import (
	"context"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"go.uber.org/goleak"

	"github.com/ospreygcs/osprey/sitl"
	"github.com/ospreygcs/osprey/video"
	"github.com/ospreygcs/osprey/video/rtspsrc"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// rig: simulated camera -> source -> hub -> RTSP re-publisher.
func newRig(t *testing.T) (*sitl.CameraServer, *video.Stream, *Server) {
	t.Helper()
	cams, err := sitl.NewCameraServer(sitl.CameraServerConfig{Address: "127.0.0.1:0",
		Cameras: []sitl.CameraConfig{{Name: "sim/1", Width: 320, Height: 240, FPS: 15, GOP: 15}}})
	if err != nil {
		t.Fatal(err)
	}
	hub := video.NewHub(video.StreamConfig{})
	st, _ := hub.Add("sim/1")
	_, _ = hub.Add("idle") // a stream whose camera never connects
	src, err := rtspsrc.New(rtspsrc.Config{URL: cams.URL("sim/1"), Transport: rtspsrc.TransportTCP,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}, st)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Address: "127.0.0.1:0"}, hub.Streams())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = src.Run(ctx) }()
	go func() { defer wg.Done(); _ = srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		hub.Close()
		_ = cams.Close()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if s, _ := st.State(); s == video.StateLive {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("stream never went live")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cams, st, srv
}

func TestFFmpegReadsRepublishedStream(t *testing.T) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg not on PATH (Debian package ffmpeg)")
	}
	_, _, srv := newRig(t)
	url := "rtsp://" + srv.Address() + "/sim/1"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-v", "error", "-rtsp_transport", "tcp",
		"-i", url, "-frames:v", "5", "-f", "null", "-").CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	ffprobe, err := exec.LookPath("ffprobe")
	if err != nil {
		return
	}
	out, err = exec.CommandContext(ctx, ffprobe, "-v", "error", "-rtsp_transport", "tcp", "-select_streams", "v:0",
		"-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0", url).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "h264,320,240" {
		t.Fatalf("ffprobe says %q, want h264,320,240", got)
	}
}

func TestDescribeUnknownOrOfflineIs404(t *testing.T) {
	cams, st, srv := newRig(t)
	describe := func(path string) error {
		u, err := base.ParseURL("rtsp://" + srv.Address() + "/" + path)
		if err != nil {
			t.Fatal(err)
		}
		c := gortsplib.Client{Scheme: u.Scheme, Host: u.Host}
		if err := c.Start2(); err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, _, err = c.Describe(u)
		return err
	}
	if err := describe("sim/1"); err != nil {
		t.Fatalf("DESCRIBE a live stream: %v", err)
	}
	for _, p := range []string{"nope", "idle"} {
		if err := describe(p); err == nil || !strings.Contains(err.Error(), "404") {
			t.Fatalf("DESCRIBE %s: %v, want 404", p, err)
		}
	}
	_ = cams.Stop("sim/1")
	deadline := time.Now().Add(10 * time.Second)
	for s, _ := st.State(); s != video.StateOffline; s, _ = st.State() {
		if time.Now().After(deadline) {
			t.Fatal("stream never went offline")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := describe("sim/1"); err == nil {
		t.Fatal("DESCRIBE an offline stream succeeded")
	}
}
