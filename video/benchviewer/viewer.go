package benchviewer

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// maxAnswerBytes bounds the WHEP answer read from the relay.
const maxAnswerBytes = 1 << 20

// srtpReplayWindow is how far behind the newest packet a viewer still
// accepts one (a resent packet): a keyframe's worth.
const srtpReplayWindow = 2048

// viewer is one WHEP client: a pion PeerConnection receiving video on its
// own UDP socket, as a browser tab would.
type viewer struct {
	pc       *webrtc.PeerConnection
	mux      *ice.UDPMuxDefault
	location string // the session URL to DELETE
	client   *http.Client
	counting *atomic.Bool // shared: inside the measurement window

	postAt     time.Time
	firstPkt   time.Time                          // first RTP packet: the handshake is done; owned by the read loop
	firstKey   chan struct{}                      // closed at the first complete keyframe
	firstKeyAt time.Time                          // set before firstKey is closed
	caughtUp   chan struct{}                      // closed at the first picture within liveHop of the camera's direct path
	caughtUpAt time.Time                          // set before caughtUp is closed
	arrival    func(key uint64) (time.Time, bool) // the reference's arrival of a picture
	readDone   chan struct{}                      // closed when the read loop ends (never, if no track came)
	gotTrack   atomic.Bool
	closed     bool // set by closeAll, on Run's goroutine

	// Owned by the read loop; read after readDone.
	tracker   frameTracker
	frames    []frame
	keyOnce   bool
	beforeKey int                  // pictures that arrived before the first complete keyframe
	seen      [1 << 16 / 64]uint64 // sequence numbers counted in the window
	received  uint64               // distinct packets in the window
	bytes     uint64               // payload bytes in the window
	lastExt   int64                // extended sequence number of the last packet
	haveExt   bool
	minExt    int64 // first and last extended sequence numbers in the window
	maxExt    int64
	inWindow  bool
}

// quietLogger keeps pion's per-connection warnings out of the bench output.
func quietLogger() logging.LoggerFactory {
	f := logging.NewDefaultLoggerFactory()
	f.DefaultLogLevel = logging.LogLevelDisabled
	return f
}

// startViewer creates the PeerConnection, POSTs its offer to whepURL and
// applies the answer. The caller closes the viewer whatever happens.
func startViewer(ctx context.Context, whepURL string, client *http.Client, recvBuffer int, counting *atomic.Bool,
	arrival func(uint64) (time.Time, bool)) (*viewer, error) {
	v := &viewer{client: client, counting: counting, arrival: arrival,
		firstKey: make(chan struct{}), caughtUp: make(chan struct{}), readDone: make(chan struct{})}
	v.tracker.onFrame = v.onFrame

	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return v, err
	}
	if recvBuffer > 0 {
		_ = conn.SetReadBuffer(recvBuffer) // capped by net.core.rmem_max
	}
	v.mux = ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: conn, Logger: quietLogger().NewLogger("mux")})

	se := webrtc.SettingEngine{LoggerFactory: quietLogger()}
	se.SetICEUDPMux(v.mux)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	// pion's SRTP replay window is 64 packets: a packet sent again on a
	// NACK arrives behind the rest of its picture, and in a keyframe of a
	// thousand packets it is usually more than 64 behind, so pion drops
	// it as a replay and the loss is never repaired. A relay that answers
	// NACKs on the original SSRC (osprey, mediamtx) relies on a wider
	// window; libsrtp, which browsers use, takes the window size from
	// the application.
	se.SetSRTPReplayProtectionWindow(srtpReplayWindow)
	// A browser's defaults: every codec it knows, NACK, RTCP reports.
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return v, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return v, err
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	v.pc, err = api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return v, err
	}
	if _, err := v.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		return v, err
	}
	v.pc.OnTrack(func(tr *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
		// Called on a goroutine of pion's, which this loop keeps until
		// the connection closes.
		go drainRTCP(recv)
		if tr.Kind() != webrtc.RTPCodecTypeVideo || !v.gotTrack.CompareAndSwap(false, true) {
			return
		}
		defer close(v.readDone)
		v.read(tr)
	})

	offer, err := v.pc.CreateOffer(nil)
	if err != nil {
		return v, err
	}
	gathered := webrtc.GatheringCompletePromise(v.pc)
	if err := v.pc.SetLocalDescription(offer); err != nil {
		return v, err
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return v, ctx.Err()
	}

	v.postAt = time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, whepURL, strings.NewReader(v.pc.LocalDescription().SDP))
	if err != nil {
		return v, err
	}
	req.Header.Set("Content-Type", "application/sdp")
	res, err := client.Do(req)
	if err != nil {
		return v, err
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxAnswerBytes))
	res.Body.Close()
	if err != nil {
		return v, err
	}
	if res.StatusCode != http.StatusCreated {
		return v, fmt.Errorf("POST: %s: %s", res.Status, strings.TrimSpace(string(body)))
	}
	loc, err := res.Location()
	if err != nil {
		return v, fmt.Errorf("POST: no Location: %w", err)
	}
	v.location = loc.String()
	if err := v.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
		return v, fmt.Errorf("answer: %w", err)
	}
	return v, nil
}

func drainRTCP(recv *webrtc.RTPReceiver) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := recv.Read(buf); err != nil {
			return
		}
	}
}

// read receives RTP until the connection closes.
func (v *viewer) read(tr *webrtc.TrackRemote) {
	buf := make([]byte, 2048)
	var pkt rtp.Packet
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		now := time.Now()
		if v.firstPkt.IsZero() {
			v.firstPkt = now
		}
		v.account(&pkt)
		v.tracker.packet(&pkt, now)
	}
}

// account counts a packet towards the window's loss figures.
func (v *viewer) account(p *rtp.Packet) {
	var ext int64
	if v.haveExt {
		ext = v.lastExt + int64(int16(p.SequenceNumber-uint16(v.lastExt)))
	} else {
		ext = int64(p.SequenceNumber)
	}
	if ext > v.lastExt || !v.haveExt {
		v.lastExt, v.haveExt = ext, true
	}
	if !v.counting.Load() {
		return
	}
	if !v.inWindow {
		v.inWindow, v.minExt, v.maxExt = true, ext, ext
	}
	if ext < v.minExt {
		return // from before the window, retransmitted late
	}
	v.maxExt = max(v.maxExt, ext)
	i, bit := (ext&0xffff)/64, uint64(1)<<(ext&63)
	if v.seen[i]&bit == 0 {
		v.seen[i] |= bit
		v.received++
		v.bytes += uint64(len(p.Payload))
	}
}

func (v *viewer) onFrame(f frame) {
	v.frames = append(v.frames, f)
	if !v.keyOnce && !(f.idr && f.complete) {
		v.beforeKey++
	}
	if !v.keyOnce && f.idr && f.complete {
		v.keyOnce = true
		v.firstKeyAt = f.at
		close(v.firstKey)
	}
	// Caught up: the pictures cached at joining are behind it, and so are
	// the live ones that queued behind them.
	if v.keyOnce && v.caughtUpAt.IsZero() && f.complete {
		if at, ok := v.arrival(f.key); ok && f.at.Sub(at) <= liveHop {
			v.caughtUpAt = f.at
			close(v.caughtUp)
		}
	}
}

// close ends the WHEP session (DELETE), closes the connection and waits
// for the read loop.
func (v *viewer) close() {
	if v.location != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		req, err := http.NewRequestWithContext(ctx, http.MethodDelete, v.location, nil)
		if err == nil {
			if res, err := v.client.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		}
		cancel()
	}
	if v.pc != nil {
		_ = v.pc.Close()
	}
	if v.mux != nil {
		_ = v.mux.Close()
	}
	if v.gotTrack.Load() {
		select {
		case <-v.readDone:
		case <-time.After(5 * time.Second):
		}
	}
}
