package whep

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/ospreygcs/osprey/sitl"
	"github.com/ospreygcs/osprey/video"
)

// TestOpusAudioReachesViewer publishes H.264 and Opus straight into a hub
// stream (the simulated camera has no audio) and checks the viewer gets
// the Opus packets unchanged on an audio track.
func TestOpusAudioReachesViewer(t *testing.T) {
	enc, err := sitl.NewH264Encoder(sitl.H264EncoderConfig{Width: 320, Height: 240, FPS: 25, GOP: 25})
	if err != nil {
		t.Fatal(err)
	}
	hub := video.NewHub(video.StreamConfig{})
	defer hub.Close()
	st, _ := hub.Add("av")
	pub, err := st.Publish(video.Media{Video: video.CodecH264, SPS: enc.SPS(), PPS: enc.PPS(),
		Audio: video.CodecOpus, AudioClockRateHz: 48000, AudioChannels: 2})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{UDPAddress: "127.0.0.1:0"}, hub)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv)
	defer hs.Close()

	// 20 ms Opus packets (a fixed TOC byte and a counter) and one IDR then
	// empty P pictures, as a camera would send them.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			pts := time.Duration(i) * 20 * time.Millisecond
			_ = pub.WriteAudio(pts, time.Time{}, []byte{0xfc, byte(i), byte(i >> 8)})
			if i%2 == 0 {
				au := [][]byte{{0x41, 0x9a, 0x02}}
				if i%50 == 0 {
					au = [][]byte{{0x65, 0x88, 0x84, 0x00}}
				}
				_ = pub.WriteVideo(pts, time.Time{}, au)
			}
		}
	}()
	defer func() { cancel(); wg.Wait() }()

	v := join(t, clientAPI(t), hs.URL, hs.URL+PathPrefix+"av/whep")
	defer v.leave(t)
	waitFor(t, 10*time.Second, "audio packets", func() bool {
		v.mu.Lock()
		defer v.mu.Unlock()
		return len(v.audio) >= 10
	})
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.audioMime != webrtc.MimeTypeOpus {
		t.Fatalf("audio track is %q, want Opus", v.audioMime)
	}
	for i, p := range v.audio[:10] {
		if len(p.Payload) != 3 || p.Payload[0] != 0xfc {
			t.Fatalf("audio packet %d payload %x, want the Opus packet as sent", i, p.Payload)
		}
		if i > 0 {
			prev := v.audio[i-1]
			want := uint16(int(prev.Payload[1])|int(prev.Payload[2])<<8) + 1
			got := uint16(int(p.Payload[1]) | int(p.Payload[2])<<8)
			if got == want && p.Timestamp-prev.Timestamp != 960 {
				t.Fatalf("consecutive Opus packets %d ticks apart, want 960 (20 ms at 48 kHz)", p.Timestamp-prev.Timestamp)
			}
		}
	}
}
