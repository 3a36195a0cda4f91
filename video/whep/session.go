package whep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/ospreygcs/osprey/video"
)

// gatherTimeout bounds ICE gathering before the answer: host candidates
// on a mux are immediate, so this only trips on a broken host.
const gatherTimeout = 5 * time.Second

// catchUpStep spaces the RTP timestamps of cached pictures sent to a new
// viewer: they are already late, so the viewer decodes them back to back
// and shows the newest at once, instead of replaying the GOP in real time
// and staying a GOP behind live.
const catchUpStep = time.Millisecond

// minReplayInterval bounds how often a viewer's keyframe request (RTCP
// PLI or FIR) replays the cached GOP to it: the camera cannot be asked for
// a keyframe, so the relay sends the cached one again, a burst it must not
// repeat on every request of a viewer that keeps losing packets.
const minReplayInterval = time.Second

// session is one viewer. Its goroutine (run) owns the PeerConnection after
// startSession returns; every way out (DELETE, ICE failure, setup timeout,
// Server.Close) cancels ctx, and run tears everything down.
type session struct {
	srv        *Server
	id         string
	streamName string
	stream     *video.Stream
	plan       plan
	pc         *webrtc.PeerConnection
	videoTrack *outTrack
	audioTrack *outTrack
	senders    []*webrtc.RTPSender

	ctx       context.Context // the session's own lifetime, not a request's
	cancel    context.CancelFunc
	connected chan struct{}
	connOnce  sync.Once
	done      chan struct{}

	// keyframeWanted is set by the RTCP reader on a PLI or FIR.
	keyframeWanted atomic.Bool
	// Counters for the log line at the end.
	nacked, resent, skipped, keyframeRequests atomic.Uint64
	// catchUpHeld is how long the catch-up waited for other viewers'
	// handshakes, in nanoseconds.
	catchUpHeld atomic.Int64

	// Owned by run.
	pace    pacer       // live units
	timer   *time.Timer // for pacing waits
	joined  time.Time   // when the reader was last added
	joining bool        // counted in Server.joining
	lastSR  time.Time
	began   time.Time // the offer's arrival
	started bool
	offset  time.Duration // stream PTS minus session PTS
	prevOut time.Duration // last video PTS sent
}

// stop asks the session to end; it is called by any goroutine.
func (se *session) stop() { se.cancel() }

// startSession creates the PeerConnection, answers the offer with every
// candidate gathered, and starts the session goroutine. Errors that are
// the viewer's fault are *httpErr.
func (s *Server) startSession(reqCtx context.Context, stream *video.Stream, offerSDP string, p plan) (*session, string, error) {
	id, err := newSessionID()
	if err != nil {
		return nil, "", err
	}
	ctx, cancel := context.WithCancel(context.Background())
	se := &session{
		srv:        s,
		id:         id,
		streamName: stream.Name(),
		stream:     stream,
		plan:       p,
		ctx:        ctx,
		cancel:     cancel,
		connected:  make(chan struct{}),
		done:       make(chan struct{}),
		pace:       newPacer(liveMaxBytesPerS, liveBurstBytes),
		began:      time.Now(),
	}

	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		cancel()
		return nil, "", &httpErr{code: http.StatusServiceUnavailable, msg: "the server is shutting down"}
	case len(s.sessions) >= s.cfg.MaxSessions:
		s.mu.Unlock()
		cancel()
		return nil, "", &httpErr{code: http.StatusServiceUnavailable, retryAfter: 10,
			msg: fmt.Sprintf("too many viewers (%d); retry later", s.cfg.MaxSessions)}
	}
	s.sessions[id] = se
	s.wg.Add(1)
	s.mu.Unlock()

	answer, err := se.negotiate(reqCtx, offerSDP)
	if err != nil {
		if se.pc != nil {
			_ = se.pc.GracefulClose()
		}
		cancel()
		s.mu.Lock()
		delete(s.sessions, id)
		s.mu.Unlock()
		s.wg.Done()
		close(se.done)
		return nil, "", err
	}

	for i, snd := range se.senders {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if i == 0 && se.videoTrack != nil {
				se.readRTCP(snd)
				return
			}
			drainRTCP(snd)
		}()
	}
	// Joining from now: its handshake loads both ends, and its catch-up
	// follows.
	se.joining = true
	s.joining.Add(1)
	s.handshakes.begin() // until run sees the connection, or ends
	go se.run()
	s.cfg.Logf("whep: %s: session %s…: viewer joined", se.streamName, id[:8])
	return se, answer, nil
}

func (se *session) negotiate(reqCtx context.Context, offerSDP string) (string, error) {
	pc, err := se.srv.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return "", fmt.Errorf("whep: new peer connection: %w", err)
	}
	se.pc = pc
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		// Called by pion's goroutines.
		switch st {
		case webrtc.PeerConnectionStateConnected:
			se.connOnce.Do(func() { close(se.connected) })
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			se.stop()
		default:
		}
	})
	for _, c := range []struct {
		codec video.Codec
		dst   **outTrack
		id    string
	}{{se.plan.video, &se.videoTrack, "video"}, {se.plan.audio, &se.audioTrack, "audio"}} {
		if c.codec == video.CodecNone {
			continue
		}
		t, err := newOutTrack(c.codec, c.id)
		if err != nil {
			return "", fmt.Errorf("whep: track: %w", err)
		}
		snd, err := pc.AddTrack(t.track)
		if err != nil {
			return "", fmt.Errorf("whep: add track: %w", err)
		}
		*c.dst = t
		se.senders = append(se.senders, snd)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offerSDP}); err != nil {
		return "", &httpErr{code: http.StatusBadRequest, msg: "the offer was refused: " + err.Error()}
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", &httpErr{code: http.StatusBadRequest, msg: "no answer to this offer: " + err.Error()}
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		// The answer follows from the offer, so this is the offer's fault:
		// a codec listed in one m-line and missing in another, say.
		return "", &httpErr{code: http.StatusBadRequest, msg: "the offer cannot be answered: " + err.Error()}
	}
	t := time.NewTimer(gatherTimeout)
	defer t.Stop()
	select {
	case <-gathered:
	case <-reqCtx.Done():
		return "", fmt.Errorf("whep: request ended while gathering candidates: %w", reqCtx.Err())
	case <-t.C:
		return "", errors.New("whep: ICE candidate gathering timed out")
	}
	return pc.LocalDescription().SDP, nil
}

// drainRTCP reads a sender's RTCP until the connection closes: pion's
// interceptors only see RTCP when someone reads.
func drainRTCP(snd *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := snd.Read(buf); err != nil {
			return
		}
	}
}

// run waits for the peer to connect, then relays units until the session
// ends, and tears it down.
func (se *session) run() {
	s := se.srv
	var reader *video.Reader
	defer func() {
		if reader != nil {
			reader.Close()
		}
		if se.timer != nil {
			se.timer.Stop()
		}
		if se.joining {
			s.joining.Add(-1)
		}
		_ = se.pc.GracefulClose()
		s.mu.Lock()
		delete(s.sessions, se.id)
		s.mu.Unlock()
		se.cancel()
		close(se.done)
		s.wg.Done()
		s.cfg.Logf("whep: %s: session %s…: ended; %d packets NACKed, %d resent, %d not for lack of budget; %d keyframe requests; catch-up held %s for other viewers' handshakes",
			se.streamName, se.id[:8], se.nacked.Load(), se.resent.Load(), se.skipped.Load(), se.keyframeRequests.Load(),
			time.Duration(se.catchUpHeld.Load()).Round(time.Millisecond))
	}()

	negotiated := sync.OnceFunc(s.handshakes.end)
	defer negotiated()
	setup := time.NewTimer(s.cfg.SetupTimeout)
	select {
	case <-se.connected:
		setup.Stop()
		negotiated()
		// The handshake's length tells a slow viewer (or a herd of
		// them) from a slow relay: answering takes a few milliseconds.
		s.cfg.Logf("whep: %s: session %s…: connected %s after the offer", se.streamName, se.id[:8],
			time.Since(se.began).Round(100*time.Microsecond))
	case <-se.ctx.Done():
		setup.Stop()
		return
	case <-setup.C:
		s.cfg.Logf("whep: %s: session %s…: viewer never connected", se.streamName, se.id[:8])
		return
	}

	// Join only now, so the cached GOP is sent the moment the viewer can
	// receive it.
	reader, err := se.join()
	if err != nil {
		return
	}
	s.streaming.Add(1)
	defer s.streaming.Add(-1)
	for {
		u, err := reader.ReadUnit(se.ctx)
		if err != nil {
			return
		}
		cached := u.Seq < reader.FirstLiveSeq()
		if err := se.write(u, cached); err != nil {
			return
		}
		if !cached && se.joining {
			se.joining = false
			s.joining.Add(-1)
		}
		if !cached && se.keyframeWanted.Load() && time.Since(se.joined) >= minReplayInterval {
			// Join again: the new reader starts with the cached GOP, which
			// outPTS puts right after what was sent. Requests made while
			// catching up wait: the viewer may just be waiting for the rest.
			reader.Close()
			if reader, err = se.join(); err != nil {
				return
			}
		}
	}
}

// join adds the session's reader to the stream: its queue begins with the
// cached GOP, which answers any keyframe request made so far.
func (se *session) join() (*video.Reader, error) {
	if !se.joining {
		se.joining = true
		se.srv.joining.Add(1)
	}
	se.keyframeWanted.Store(false)
	se.joined = time.Now()
	if se.videoTrack != nil {
		se.videoTrack.catchUpPackets = 0
	}
	return se.stream.AddReader("whep:"+se.id[:8], se.srv.cfg.QueueUnits)
}

// write sends one unit, batchPackets at a time, paced (see pace.go): a
// cached unit through the server's lane, a live one through the session's
// bucket. An error means the connection is gone.
func (se *session) write(u *video.Unit, cached bool) error {
	var t *outTrack
	switch u.Codec {
	case se.plan.video:
		t = se.videoTrack
	case se.plan.audio:
		if cached {
			return nil // stale sound is worse than a moment of silence
		}
		t = se.audioTrack
	}
	if t == nil {
		return nil // a codec the viewer did not negotiate (the source changed)
	}
	payloads, err := u.RTPPayloads()
	if err != nil {
		return nil
	}
	if cached && !u.IDR {
		if err := se.yieldToHandshakes(); err != nil {
			return err
		}
	}
	out := se.outPTS(u, cached)
	ts := t.tsBase + uint32(int64(out)*t.clockRate/int64(time.Second))
	now := time.Now()
	if now.Sub(se.lastSR) >= srInterval {
		se.sendReports(now)
	}
	t.unitTS, t.unitAt = ts, now
	var laneStart time.Time // cached units: when this unit's lane booking starts
	var laneRate float64    // and the rate to send it at
	if cached {
		laneStart, laneRate = se.srv.lane.book(now, u.Size(), int(se.srv.joining.Load()))
	}
	sent := 0 // bytes of the unit sent
	for first := 0; first < len(payloads); {
		n := min(len(payloads)-first, batchPackets)
		size := 0
		for _, pl := range payloads[first : first+n] {
			size += len(pl)
		}
		var wait time.Duration
		if cached {
			wait = time.Until(laneStart.Add(bytesDuration(sent, laneRate)))
		} else {
			se.pace.rate = liveRate(int(se.srv.streaming.Load()))
			se.pace.burst = liveBurst(se.pace.rate)
			wait = se.pace.delay(time.Now(), size)
		}
		if err := se.sleep(wait); err != nil {
			return err
		}
		if t.hist != nil {
			if cached {
				t.catchUpPackets += n
				t.hist.hold(t.catchUpPackets)
			}
			t.hist.record(u, ts, first, t.seq, n)
		}
		err := se.sendBatch(t, payloads, first, n, ts)
		t.seq += uint16(n)
		first += n
		sent += size
		if !cached {
			se.srv.lane.live.Add(uint64(size))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// yieldToHandshakes holds a cached P picture back while other viewers are
// negotiating, for at most catchUpYieldMax after joining (pace.go).
func (se *session) yieldToHandshakes() error {
	left := time.Until(se.joined.Add(catchUpYieldMax))
	none := se.srv.handshakes.done()
	select {
	case <-none:
		return nil // the usual case: nobody is negotiating
	default:
	}
	if left <= 0 {
		return nil
	}
	began := time.Now()
	if se.timer == nil {
		se.timer = time.NewTimer(left)
	} else {
		se.timer.Reset(left)
	}
	defer func() { se.catchUpHeld.Add(int64(time.Since(began))) }()
	select {
	case <-none:
		se.timer.Stop()
		return nil
	case <-se.timer.C:
		return nil
	case <-se.ctx.Done():
		se.timer.Stop()
		return se.ctx.Err()
	}
}

// sendReports sends an RTCP sender report for each track that sent
// something.
func (se *session) sendReports(now time.Time) {
	se.lastSR = now
	var pkts []rtcp.Packet
	for _, t := range []*outTrack{se.videoTrack, se.audioTrack} {
		if t == nil {
			continue
		}
		if sr := t.senderReport(now); sr != nil {
			pkts = append(pkts, sr)
		}
	}
	if len(pkts) > 0 {
		_ = se.pc.WriteRTCP(pkts) // a lost report is replaced by the next
	}
}

// sleep waits for d unless the session ends first.
func (se *session) sleep(d time.Duration) error {
	if d <= 0 {
		return nil
	}
	if se.timer == nil {
		se.timer = time.NewTimer(d)
	} else {
		se.timer.Reset(d)
	}
	select {
	case <-se.timer.C:
		return nil
	case <-se.ctx.Done():
		return se.ctx.Err()
	}
}

// sendBatch writes payloads[first:first+n] with sequence numbers from
// t.seq as one burst of the socket writer.
func (se *session) sendBatch(t *outTrack, payloads [][]byte, first, n int, ts uint32) error {
	se.srv.holdWrites()
	defer se.srv.releaseWrites()
	h := &t.hdr // reused: a fresh header per packet would escape to the heap
	for i := range n {
		pl := payloads[first+i]
		*h = rtp.Header{
			Version:        2,
			Marker:         t.video && first+i == len(payloads)-1,
			SequenceNumber: t.seq + uint16(i),
			Timestamp:      ts,
		}
		if err := t.track.writeRTP(h, pl); err != nil && errors.Is(err, io.ErrClosedPipe) {
			return err
		}
		t.packets++
		t.octets += uint32(len(pl))
	}
	return nil
}

// readRTCP reads the video sender's RTCP until the connection closes,
// answering NACKs from the history and noting keyframe requests.
func (se *session) readRTCP(snd *webrtc.RTPSender) {
	t := se.videoTrack
	rp := newPacer(resendBytesPerS, resendBurstBytes)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	var resend []sentPacket
	for {
		pkts, _, err := snd.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.TransportLayerNack:
				for _, pair := range p.Nacks {
					se.nacked.Add(1 + uint64(bits.OnesCount16(uint16(pair.LostPackets))))
				}
				now := time.Now()
				resend = t.hist.lookup(resend[:0], p, now)
				// Resends are paced too: a receiver that lost much of a
				// burst asks for much of it at once, and answering at wire
				// speed would lose it again. And they draw on a budget
				// shared by all sessions, beyond which they are skipped:
				// when many viewers lose packets at once the cause is load,
				// which resending everything would only add to.
				for i := 0; i < len(resend); {
					n := min(len(resend)-i, batchPackets)
					size := n * video.MaxRTPPayloadBytes
					if !se.srv.resendBudget.take(now, size) {
						se.skipped.Add(uint64(len(resend) - i))
						break
					}
					if d := rp.delay(now, size); d > 0 {
						if timer == nil {
							timer = time.NewTimer(d)
						} else {
							timer.Reset(d)
						}
						select {
						case <-timer.C:
						case <-se.ctx.Done():
							return
						}
					}
					if !se.resend(t, resend[i:i+n]) {
						return
					}
					i += n
					now = time.Now()
				}
				clear(resend) // drop the unit references
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				se.keyframeRequests.Add(1)
				se.keyframeWanted.Store(true)
			}
		}
	}
}

// resend sends packets again, as they were; false means the connection
// is gone.
func (se *session) resend(t *outTrack, pkts []sentPacket) bool {
	se.srv.holdWrites()
	defer se.srv.releaseWrites()
	h := &t.resendHdr
	for _, e := range pkts {
		payloads, err := e.unit.RTPPayloads()
		if err != nil || int(e.index) >= len(payloads) {
			continue
		}
		*h = rtp.Header{
			Version:        2,
			Marker:         t.video && int(e.index) == len(payloads)-1,
			SequenceNumber: e.seq,
			Timestamp:      e.ts,
		}
		if err := t.track.writeRTP(h, payloads[e.index]); err != nil && errors.Is(err, io.ErrClosedPipe) {
			return false
		}
		se.resent.Add(1)
	}
	return true
}

// outPTS maps a unit's stream PTS to this session's timeline: cached
// pictures get catchUpStep spacing, live units their true spacing after
// the last cached picture.
func (se *session) outPTS(u *video.Unit, cached bool) time.Duration {
	if cached {
		var out time.Duration
		if se.started {
			out = se.prevOut + catchUpStep
		}
		se.started = true
		se.offset = u.PTS - out
		se.prevOut = out
		return out
	}
	if !se.started {
		se.started = true
		se.offset = u.PTS
	}
	out := u.PTS - se.offset
	if u.Codec.IsVideo() {
		se.prevOut = max(se.prevOut, out)
	}
	return out
}
