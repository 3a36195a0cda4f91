package whep

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// rtcpViewer is a pion viewer without interceptors (the test sends its
// own NACKs and keyframe requests) and without SRTP replay protection (so
// a packet sent again reaches it), recording every video packet and the
// RTCP the relay sends.
type rtcpViewer struct {
	pc       *webrtc.PeerConnection
	location string
	wg       sync.WaitGroup

	mu      sync.Mutex
	ssrc    uint32
	packets []*rtp.Packet
	idrs    [][][]byte // complete IDR access units, in arrival order
	reports []*rtcp.SenderReport
}

func joinRTCPViewer(t *testing.T, r *rig, name string) *rtcpViewer {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{LoggerFactory: quietLoggerFactory()}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.DisableSRTPReplayProtection(true)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(&interceptor.Registry{}), webrtc.WithSettingEngine(se))
	pc, offer := makeOffer(t, api)
	v := &rtcpViewer{pc: pc}
	pc.OnTrack(func(tr *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
		if tr.Kind() != webrtc.RTPCodecTypeVideo {
			return
		}
		v.mu.Lock()
		v.ssrc = uint32(tr.SSRC())
		v.mu.Unlock()
		v.wg.Add(2)
		go func() {
			defer v.wg.Done()
			for {
				pkts, _, err := recv.ReadRTCP()
				if err != nil {
					return
				}
				for _, p := range pkts {
					if sr, ok := p.(*rtcp.SenderReport); ok {
						v.mu.Lock()
						v.reports = append(v.reports, sr)
						v.mu.Unlock()
					}
				}
			}
		}()
		go func() {
			defer v.wg.Done()
			dec := &rtph264.Decoder{PacketizationMode: 1}
			if err := dec.Init(); err != nil {
				return
			}
			for {
				pkt, _, err := tr.ReadRTP()
				if err != nil {
					return
				}
				v.mu.Lock()
				v.packets = append(v.packets, pkt)
				v.mu.Unlock()
				au, err := dec.Decode(pkt)
				if err != nil {
					continue
				}
				if slices.ContainsFunc(au, func(n []byte) bool { return len(n) > 0 && n[0]&0x1f == 5 }) {
					v.mu.Lock()
					v.idrs = append(v.idrs, au)
					v.mu.Unlock()
				}
			}
		}()
	})
	resp := post(t, r.url(name), "application/sdp", []byte(offer))
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		_ = pc.Close()
		t.Fatalf("POST = %d %s", resp.StatusCode, body)
	}
	v.location = r.http.URL + resp.Header.Get("Location")
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
		_ = pc.Close()
		t.Fatal(err)
	}
	t.Cleanup(v.close)
	return v
}

func (v *rtcpViewer) close() {
	_ = v.pc.Close()
	v.wg.Wait()
}

func (v *rtcpViewer) count(f func() int) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return f()
}

func TestNACKedPacketsAreSentAgain(t *testing.T) {
	r := newRig(t, Config{}, rigCam{name: "sim/1", w: 320, h: 240, fps: 15, gop: 15})
	v := joinRTCPViewer(t, r, "sim/1")
	waitFor(t, 10*time.Second, "100 packets", func() bool { return v.count(func() int { return len(v.packets) }) >= 100 })

	// Ask again for packets it did get (the relay cannot tell), spread
	// over two NACK items, and for one the relay never sent.
	v.mu.Lock()
	ssrc := v.ssrc
	asked := map[uint16][]byte{}
	var seqs []uint16
	for _, i := range []int{10, 11, 13, 40, 41} {
		p := v.packets[i]
		asked[p.SequenceNumber] = bytes.Clone(p.Payload)
		seqs = append(seqs, p.SequenceNumber)
	}
	never := v.packets[len(v.packets)-1].SequenceNumber + 20000
	before := len(v.packets)
	v.mu.Unlock()
	nack := &rtcp.TransportLayerNack{MediaSSRC: ssrc, Nacks: rtcp.NackPairsFromSequenceNumbers(append(seqs, never))}
	if err := v.pc.WriteRTCP([]rtcp.Packet{nack}); err != nil {
		t.Fatal(err)
	}

	waitFor(t, 5*time.Second, "the NACKed packets again", func() bool {
		v.mu.Lock()
		defer v.mu.Unlock()
		again := 0
		for _, p := range v.packets[before:] {
			if want, ok := asked[p.SequenceNumber]; ok {
				if !bytes.Equal(p.Payload, want) {
					t.Fatalf("packet %d sent again with a different payload", p.SequenceNumber)
				}
				again++
			}
			if p.SequenceNumber == never {
				t.Fatalf("packet %d was never sent, yet came", never)
			}
		}
		return again == len(asked)
	})
}

func TestKeyframeRequestReplaysTheCachedGOP(t *testing.T) {
	// One IDR every 10 s: a second keyframe within a few seconds of the
	// request can only come from the cache.
	r := newRig(t, Config{}, rigCam{name: "sim/1", w: 320, h: 240, fps: 10, gop: 100})
	v := joinRTCPViewer(t, r, "sim/1")
	waitFor(t, 10*time.Second, "the first keyframe", func() bool { return v.count(func() int { return len(v.idrs) }) >= 1 })
	// Requests are honoured once the viewer has been live for a while.
	time.Sleep(minReplayInterval + 200*time.Millisecond)
	if n := v.count(func() int { return len(v.idrs) }); n != 1 {
		t.Fatalf("%d keyframes before the request, want 1", n)
	}
	v.mu.Lock()
	pli := &rtcp.PictureLossIndication{MediaSSRC: v.ssrc}
	v.mu.Unlock()
	if err := v.pc.WriteRTCP([]rtcp.Packet{pli}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "a keyframe after the request", func() bool { return v.count(func() int { return len(v.idrs) }) >= 2 })
	v.mu.Lock()
	first, again := v.idrs[0], v.idrs[1]
	v.mu.Unlock()
	if !slices.EqualFunc(first, again, bytes.Equal) {
		t.Fatal("the keyframe after the request differs from the cached one")
	}
	// Pictures keep coming after the replay.
	n := v.count(func() int { return len(v.packets) })
	waitFor(t, 5*time.Second, "pictures after the replay", func() bool { return v.count(func() int { return len(v.packets) }) > n+20 })
}

func TestSenderReportsDescribeTheVideoTrack(t *testing.T) {
	r := newRig(t, Config{}, rigCam{name: "sim/1", w: 320, h: 240, fps: 15, gop: 15})
	v := joinRTCPViewer(t, r, "sim/1")
	waitFor(t, 10*time.Second, "two sender reports", func() bool { return v.count(func() int { return len(v.reports) }) >= 2 })
	v.mu.Lock()
	defer v.mu.Unlock()
	a, b := v.reports[0], v.reports[1]
	if a.SSRC != v.ssrc || b.SSRC != v.ssrc {
		t.Fatalf("reports for SSRC %d and %d, want the track's %d", a.SSRC, b.SSRC, v.ssrc)
	}
	if a.PacketCount == 0 || b.PacketCount <= a.PacketCount || b.OctetCount <= a.OctetCount {
		t.Fatalf("counts %d/%d then %d/%d, want growing", a.PacketCount, a.OctetCount, b.PacketCount, b.OctetCount)
	}
	ntpNow := ntpTime(time.Now())
	if d := int64(ntpNow>>32) - int64(b.NTPTime>>32); d < 0 || d > 10 {
		t.Fatalf("report NTP time %d s off the clock", d)
	}
	// 90 kHz RTP time advances with the NTP time between reports.
	dNTP := float64(b.NTPTime-a.NTPTime) / (1 << 32)
	dRTP := float64(b.RTPTime-a.RTPTime) / 90000
	if dNTP < 0.5 || dRTP < dNTP-0.25 || dRTP > dNTP+0.25 {
		t.Fatalf("between reports: %.3f s of NTP time, %.3f s of RTP time", dNTP, dRTP)
	}
}
