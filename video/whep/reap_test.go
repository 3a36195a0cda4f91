package whep

import (
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

// blackhole wraps a viewer's UDP socket; once cut, nothing goes out and
// nothing comes in, as when a laptop lid closes or a network drops.
type blackhole struct {
	net.PacketConn
	cut atomic.Bool
}

func (b *blackhole) WriteTo(p []byte, addr net.Addr) (int, error) {
	if b.cut.Load() {
		return len(p), nil
	}
	return b.PacketConn.WriteTo(p, addr)
}

func (b *blackhole) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := b.PacketConn.ReadFrom(p)
		if err != nil || !b.cut.Load() {
			return n, addr, err
		}
	}
}

func TestVanishedViewerIsReaped(t *testing.T) {
	r := newRig(t, Config{ICEDisconnectedTimeout: 300 * time.Millisecond, ICEFailedTimeout: 300 * time.Millisecond},
		rigCam{name: "sim/1", w: 320, h: 240, fps: 15, gop: 15})
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bh := &blackhole{PacketConn: conn}
	mux := webrtc.NewICEUDPMux(nil, bh)
	defer mux.Close()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{LoggerFactory: quietLoggerFactory()}
	se.SetICEUDPMux(mux)
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))

	v := join(t, api, r.http.URL, r.url("sim/1"))
	waitAU(t, v, 10*time.Second)
	if r.whep.Sessions() != 1 {
		t.Fatalf("%d sessions, want 1", r.whep.Sessions())
	}
	bh.cut.Store(true) // the viewer vanishes without a DELETE or a DTLS close
	waitFor(t, 10*time.Second, "the vanished viewer's session reaped", func() bool { return r.whep.Sessions() == 0 })
	v.close()
}

func TestViewerThatNeverConnectsIsDropped(t *testing.T) {
	r := newRig(t, Config{SetupTimeout: 300 * time.Millisecond}, rigCam{name: "sim/1", w: 320, h: 240, fps: 15, gop: 15})
	pc, offer := makeOffer(t, clientAPI(t))
	_ = pc.Close() // its candidates lead nowhere now
	resp := post(t, r.url("sim/1"), "application/sdp", []byte(offer))
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST = %d", resp.StatusCode)
	}
	if r.whep.Sessions() != 1 {
		t.Fatalf("%d sessions after POST, want 1", r.whep.Sessions())
	}
	waitFor(t, 10*time.Second, "the unconnected session dropped", func() bool { return r.whep.Sessions() == 0 })
}
