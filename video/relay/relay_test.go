package relay

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ospreygcs/osprey/sitl"
	"github.com/ospreygcs/osprey/video"
	"github.com/ospreygcs/osprey/video/rtspsrc"
	"github.com/ospreygcs/osprey/video/whep"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRelayListsStreamsAndServesWHEP(t *testing.T) {
	cams, err := sitl.NewCameraServer(sitl.CameraServerConfig{Address: "127.0.0.1:0",
		Cameras: []sitl.CameraConfig{{Name: "sim/1", Width: 320, Height: 240, FPS: 10}}})
	if err != nil {
		t.Fatal(err)
	}
	defer cams.Close()
	url := strings.Replace(cams.URL("sim/1"), "rtsp://", "rtsp://user:hunter2@", 1)
	r, err := New(Config{
		Cameras: []CameraConfig{
			{Name: "sim/1", URL: url, Transport: "tcp", VehicleSystemID: 1},
			{Name: "dead", URL: "rtsp://127.0.0.1:1/none", Transport: "tcp"},
		},
		WHEP:        whep.Config{UDPAddress: "127.0.0.1:0"},
		RTSPAddress: "127.0.0.1:0",
		Source:      rtspsrc.Config{MinBackoff: 50 * time.Millisecond, MaxBackoff: 100 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = r.Run(ctx) }()
	defer func() { cancel(); wg.Wait() }()

	hs := httptest.NewServer(r.Handler())
	defer hs.Close()
	var list struct{ Streams []StreamInfo }
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(hs.URL + "/api/v1/streams")
		if err != nil {
			t.Fatal(err)
		}
		list.Streams = nil
		err = json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Streams) == 2 && list.Streams[1].State == video.StateLive && list.Streams[0].State == video.StateOffline &&
			list.Streams[1].Width == 320 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("streams = %+v, want dead offline and sim/1 live 320x240", list.Streams)
		}
		time.Sleep(50 * time.Millisecond)
	}
	dead, sim := list.Streams[0], list.Streams[1]
	if dead.LastError == "" {
		t.Error("the dead camera has no last error")
	}
	if strings.Contains(sim.Source, "hunter2") || !strings.Contains(sim.Source, "user:") {
		t.Errorf("source %q: want the user shown and the password hidden", sim.Source)
	}
	if sim.VehicleSystemID != 1 || sim.WHEP != "/api/v1/streams/sim/1/whep" || sim.RTSP != "/sim/1" {
		t.Errorf("sim/1 = %+v", sim)
	}
	if r.RTSPAddress() == "" {
		t.Error("no RTSP address")
	}

	// One stream, and the WHEP endpoint is mounted on the same handler.
	resp, err := http.Get(hs.URL + "/api/v1/streams/sim/1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET one stream = %d", resp.StatusCode)
	}
	resp, err = http.Post(hs.URL+"/api/v1/streams/dead/whep", "application/sdp", strings.NewReader("v=0\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("POST a bad offer through the relay handler = %d, want 400", resp.StatusCode)
	}
	resp, err = http.Get(hs.URL + "/api/v1/streams/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET unknown stream = %d", resp.StatusCode)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, c := range []Config{
		{Cameras: []CameraConfig{{Name: "a b", URL: "rtsp://x/y"}}, WHEP: whep.Config{UDPAddress: "127.0.0.1:0"}},
		{Cameras: []CameraConfig{{Name: "a", URL: "http://x/y"}}, WHEP: whep.Config{UDPAddress: "127.0.0.1:0"}},
		{Cameras: []CameraConfig{{Name: "a", URL: "rtsp://x/y"}, {Name: "a", URL: "rtsp://x/z"}}, WHEP: whep.Config{UDPAddress: "127.0.0.1:0"}},
		{Cameras: []CameraConfig{{Name: "a", URL: "rtsp://x/y", Transport: "quic"}}, WHEP: whep.Config{UDPAddress: "127.0.0.1:0"}},
		{Cameras: []CameraConfig{{Name: "a", URL: "rtsp://x/y"}}},
	} {
		if r, err := New(c); err == nil {
			r.Close()
			t.Errorf("New(%+v) succeeded", c)
		}
	}
}
