package whep

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

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

// Pacing: a large picture (an all-intra keyframe is ~1000 packets) or the
// cached GOP sent at once would overflow a viewer's socket buffer (a
// typical 208 KB, and loopback charges ~2.3 KB per packet), so a session
// sends burstPackets at a time with burstPause in between: ~35 MB/s, far
// above any camera, yet gentle enough for receive buffers and NACK.
const (
	burstPackets = 32
	burstPause   = time.Millisecond
)

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

	// Owned by run.
	pacer    *time.Timer
	burst    int       // packets sent since the last pause
	lastSend time.Time // when the last packet went out
	started  bool
	offset   time.Duration // stream PTS minus session PTS
	prevOut  time.Duration // last video PTS sent
}

// outTrack is one RTP track of a session with its own numbering.
type outTrack struct {
	track     *webrtc.TrackLocalStaticRTP
	clockRate int64
	seq       uint16
	tsBase    uint32
}

func newOutTrack(c video.Codec, id string) (*outTrack, error) {
	capab, rate := trackCapability(c)
	tr, err := webrtc.NewTrackLocalStaticRTP(capab, id, "osprey")
	if err != nil {
		return nil, err
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	return &outTrack{
		track:     tr,
		clockRate: int64(rate),
		seq:       binary.BigEndian.Uint16(b[0:2]),
		tsBase:    binary.BigEndian.Uint32(b[2:6]),
	}, nil
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

	for _, snd := range se.senders {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			drainRTCP(snd)
		}()
	}
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

// drainRTCP reads a sender's RTCP until the connection closes: the NACK
// responder and reports only work when someone reads.
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
		if se.pacer != nil {
			se.pacer.Stop()
		}
		_ = se.pc.GracefulClose()
		s.mu.Lock()
		delete(s.sessions, se.id)
		s.mu.Unlock()
		se.cancel()
		close(se.done)
		s.wg.Done()
		s.cfg.Logf("whep: %s: session %s…: ended", se.streamName, se.id[:8])
	}()

	setup := time.NewTimer(s.cfg.SetupTimeout)
	select {
	case <-se.connected:
		setup.Stop()
	case <-se.ctx.Done():
		setup.Stop()
		return
	case <-setup.C:
		s.cfg.Logf("whep: %s: session %s…: viewer never connected", se.streamName, se.id[:8])
		return
	}

	// Join only now, so the cached GOP is sent the moment the viewer can
	// receive it.
	r, err := se.stream.AddReader("whep:"+se.id[:8], s.cfg.QueueUnits)
	if err != nil {
		return
	}
	reader = r
	for {
		u, err := r.ReadUnit(se.ctx)
		if err != nil {
			return
		}
		if err := se.write(u, u.Seq < r.FirstLiveSeq()); err != nil {
			return
		}
	}
}

// write sends one unit; an error means the connection is gone.
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
	out := se.outPTS(u, cached)
	ts := t.tsBase + uint32(int64(out)*t.clockRate/int64(time.Second))
	video := u.Codec.IsVideo()
	for i, pl := range payloads {
		pkt := rtp.Packet{
			Header: rtp.Header{
				Version:        2,
				Marker:         video && i == len(payloads)-1,
				SequenceNumber: t.seq,
				Timestamp:      ts,
			},
			Payload: pl,
		}
		t.seq++
		if err := se.pace(); err != nil {
			return err
		}
		if err := t.track.WriteRTP(&pkt); err != nil && errors.Is(err, io.ErrClosedPipe) {
			return err
		}
	}
	return nil
}

// pace pauses after every burstPackets packets sent back to back; a
// session that sent nothing for a while starts a fresh burst.
func (se *session) pace() error {
	now := time.Now()
	if now.Sub(se.lastSend) > burstPause {
		se.burst = 0
	}
	se.lastSend = now
	se.burst++
	if se.burst <= burstPackets {
		return nil
	}
	se.burst = 1
	if se.pacer == nil {
		se.pacer = time.NewTimer(burstPause)
	} else {
		se.pacer.Reset(burstPause)
	}
	select {
	case <-se.pacer.C:
		se.lastSend = time.Now()
		return nil
	case <-se.ctx.Done():
		return se.ctx.Err()
	}
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
