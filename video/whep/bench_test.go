package whep

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/ospreygcs/osprey/sitl"
	"github.com/ospreygcs/osprey/video"
)

// BenchmarkRelayViewers relays one stream of 720p-like pictures (a 100 KB
// keyframe, then 10 KB P pictures of 9 packets) to N pion viewers in this
// process. An op is one picture to every viewer. Pictures are published
// at 200 a second, under every pacing limit, so ns/op says little; the
// figures are cpu-ns/pkt, this process's CPU time (the relay's and the
// viewers', which share it) per packet a viewer received, and the
// allocations. For the relay's share, profile:
//
//	go test -run '^$' -bench RelayViewers -benchtime 400x -cpuprofile cpu.out ./video/whep
//	go tool pprof -top -focus 'whep\.' cpu.out
//
// `osprey bench video` measures the relay alone, with the viewers in
// another process.
func BenchmarkRelayViewers(b *testing.B) {
	for _, n := range []int{1, 10, 50} {
		b.Run(fmt.Sprintf("viewers=%d", n), func(b *testing.B) { benchRelayViewers(b, n) })
	}
}

func benchRelayViewers(b *testing.B, n int) {
	enc, err := sitl.NewH264Encoder(sitl.H264EncoderConfig{Width: 1280, Height: 720, FPS: 30, GOP: 150})
	if err != nil {
		b.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	noise := func(typ byte, size int) []byte {
		nal := make([]byte, size)
		for i := range nal {
			nal[i] = byte(rnd.Uint32()) | 1 // no zero bytes: nothing to escape
		}
		nal[0] = typ
		return nal
	}
	idr, p := noise(0x65, 100<<10), noise(0x41, 10<<10)

	hub := video.NewHub(video.StreamConfig{})
	defer hub.Close()
	st, err := hub.Add("bench")
	if err != nil {
		b.Fatal(err)
	}
	pub, err := st.Publish(video.Media{Video: video.CodecH264, SPS: enc.SPS(), PPS: enc.PPS()})
	if err != nil {
		b.Fatal(err)
	}
	defer pub.Close(nil)
	pts := time.Duration(0)
	publish := func(nal []byte) {
		pts += 5 * time.Millisecond
		if err := pub.WriteVideo(pts, time.Time{}, [][]byte{nal}); err != nil {
			b.Fatal(err)
		}
	}
	publish(idr) // cached: every viewer starts with it

	srv, err := New(Config{UDPAddress: "127.0.0.1:0", MaxSessions: n + 4}, hub)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv)
	defer hs.Close()

	var received atomic.Uint64
	counts := make([]atomic.Uint64, n) // per viewer
	api := clientAPI(b)
	var pcs []*webrtc.PeerConnection
	var readers sync.WaitGroup
	defer func() {
		for _, pc := range pcs {
			_ = pc.Close()
		}
		readers.Wait()
	}()
	for i := range n {
		pc, offer := makeOffer(b, api)
		pcs = append(pcs, pc)
		pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			readers.Add(1)
			defer readers.Done()
			buf := make([]byte, 1500)
			for {
				if _, _, err := tr.Read(buf); err != nil {
					return
				}
				received.Add(1)
				counts[i].Add(1)
			}
		})
		resp := post(b, hs.URL+PathPrefix+"bench/whep", "application/sdp", []byte(offer))
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			b.Fatalf("POST = %d %s", resp.StatusCode, answer)
		}
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)}); err != nil {
			b.Fatal(err)
		}
	}
	u, _ := (&video.Unit{Codec: video.CodecH264, NALUs: [][]byte{p}}).RTPPayloads()
	perPicture := uint64(len(u))
	waitFor(b, 30*time.Second, "every viewer's keyframe", func() bool {
		for i := range counts {
			if counts[i].Load() == 0 {
				return false
			}
		}
		return true
	})
	time.Sleep(500 * time.Millisecond) // the rest of the catch-up

	b.ReportAllocs()
	b.ResetTimer()
	cpu0, got0 := processCPU(), received.Load()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for range b.N {
		<-tick.C
		publish(p)
	}
	want := got0 + uint64(b.N)*perPicture*uint64(n)
	deadline := time.Now().Add(10 * time.Second)
	for received.Load() < want && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	got := received.Load() - got0
	if got == 0 {
		b.Fatal("no packets")
	}
	b.ReportMetric(float64(processCPU()-cpu0)/float64(got), "cpu-ns/pkt")
	b.ReportMetric(100*float64(want-got0-got)/float64(want-got0), "lost-%")
}

// processCPU is this process's user and system time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
