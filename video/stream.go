package video

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ospreygcs/osprey/internal/clock"
)

// Errors callers branch on.
var (
	// ErrStreamClosed is returned by a Stream (and its readers) after Close.
	ErrStreamClosed = errors.New("video: stream closed")
	// ErrReaderClosed is returned by ReadUnit after the reader was closed.
	ErrReaderClosed = errors.New("video: reader closed")
	// ErrPublisherExists is returned by Publish while another publisher
	// is active on the stream.
	ErrPublisherExists = errors.New("video: stream already has a publisher")
	// ErrPublisherClosed is returned by a Publisher's writes after Close.
	ErrPublisherClosed = errors.New("video: publisher closed")
	// ErrBadUnit wraps the reason a published unit was dropped (empty,
	// oversized, malformed NAL units, no parameter sets for an IDR, a
	// codec the media did not announce).
	ErrBadUnit = errors.New("video: unit dropped")
	// ErrStreamNotFound is returned by Hub.Stream for an unknown name.
	ErrStreamNotFound = errors.New("video: no such stream")
	// ErrStreamExists is returned by Hub.Add for a name already in use.
	ErrStreamExists = errors.New("video: stream already exists")
)

// State is a stream's source state.
type State string

// The states of a stream's source.
const (
	// StateConnecting: the source has not connected yet since start.
	StateConnecting State = "connecting"
	// StateLive: a publisher is attached.
	StateLive State = "live"
	// StateOffline: the source failed or went away; it is being retried.
	StateOffline State = "offline"
)

// Default limits of a Stream.
const (
	// DefaultMaxGOPBytes bounds the cached group of pictures. Sixty-four
	// MiB holds a 10 s GOP of an all-I_PCM 720p simulated camera.
	DefaultMaxGOPBytes = 64 << 20
	// DefaultMaxGOPUnits bounds the number of cached units.
	DefaultMaxGOPUnits = 4096
	// DefaultReaderQueue is the reader queue length AddReader uses for a
	// queueLen of zero: about four seconds of 30 fps video with audio.
	DefaultReaderQueue = 256
)

// StreamConfig configures a Stream. The zero value is usable.
type StreamConfig struct {
	// MaxGOPBytes and MaxGOPUnits bound the group-of-pictures cache; a
	// GOP that outgrows them is dropped from the cache (joining readers
	// then wait for the next keyframe). Zero means the defaults.
	MaxGOPBytes int
	MaxGOPUnits int
	// Clock drives statistics and the PTS gap across reconnections. Nil
	// means the wall clock.
	Clock clock.Clock
}

// Stream is the hub of one named stream: a single publisher writes access
// units in, each reader gets them through its own bounded queue. Writing
// never blocks on a reader: a reader whose queue is full drops its own
// units until the next keyframe. The current group of pictures (from the
// last IDR) is cached, so a new reader starts with a keyframe at once.
//
// All methods are safe for concurrent use.
type Stream struct {
	name  string
	cfg   StreamConfig
	clock clock.Clock

	mu        sync.Mutex
	closed    bool
	state     State
	since     time.Time
	lastErr   string
	pub       *Publisher
	media     Media
	epoch     int
	params    paramSets // current video parameter sets
	width     int
	height    int
	readers   map[*Reader]struct{}
	nextSeq   uint64
	gop       []*Unit // from the last IDR; nil when none or overflowed
	gopBytes  int
	lastPTS   time.Duration
	lastWall  time.Time
	havePTS   bool
	needIDR   bool          // drop video until an IDR (start of an epoch)
	ptsOffset time.Duration // added to the publisher's PTS this epoch
	ptsSet    bool          // ptsOffset chosen for this epoch

	// counters
	units        uint64
	badUnits     uint64
	droppedNALUs uint64
	decodeErrors uint64
	readerDrops  uint64
	rate         rateMeter
}

// NewStream returns a stream in the connecting state.
func NewStream(name string, cfg StreamConfig) *Stream {
	if cfg.MaxGOPBytes <= 0 {
		cfg.MaxGOPBytes = DefaultMaxGOPBytes
	}
	if cfg.MaxGOPUnits <= 0 {
		cfg.MaxGOPUnits = DefaultMaxGOPUnits
	}
	clk := cfg.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	return &Stream{
		name:    name,
		cfg:     cfg,
		clock:   clk,
		state:   StateConnecting,
		since:   clk.Now(),
		readers: make(map[*Reader]struct{}),
	}
}

// Name returns the stream's name.
func (s *Stream) Name() string { return s.name }

// Media returns the media the current publisher announced, with the
// parameter sets seen most recently, and the epoch (source session) it
// belongs to. ok is false while no publisher is attached.
func (s *Stream) Media() (m Media, epoch int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pub == nil {
		return Media{}, s.epoch, false
	}
	m = s.media
	m.VPS, m.SPS, m.PPS = s.params.vps, s.params.sps, s.params.pps
	return m, s.epoch, true
}

// State returns the source state and the last source error ("" if none).
func (s *Stream) State() (State, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state, s.lastErr
}

// SetSourceError records that the source failed to connect or broke: the
// stream goes offline (unless a publisher is attached) and err becomes the
// last error. It is called by the source.
func (s *Stream) SetSourceError(err error) {
	if err == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastErr = err.Error()
	if s.pub == nil && s.state != StateOffline {
		s.state = StateOffline
		s.since = s.clock.Now()
	}
}

// Close ends the stream: the publisher's writes fail and every reader's
// ReadUnit returns ErrStreamClosed. Safe to call twice.
func (s *Stream) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	s.state = StateOffline
	s.pub = nil
	s.gop, s.gopBytes = nil, 0
	for r := range s.readers {
		r.closeLocked(ErrStreamClosed)
	}
	clear(s.readers)
}

// Publish attaches a publisher for one source session. The stream goes
// live, the epoch advances, and the GOP cache starts empty. Only one
// publisher may be attached at a time.
func (s *Stream) Publish(m Media) (*Publisher, error) {
	if m.Video != CodecNone && !m.Video.IsVideo() {
		return nil, fmt.Errorf("video: publish %q: %v is not a video codec", s.name, m.Video)
	}
	if m.Audio != CodecNone && !m.Audio.IsAudio() {
		return nil, fmt.Errorf("video: publish %q: %v is not an audio codec", s.name, m.Audio)
	}
	if m.Video == CodecNone && m.Audio == CodecNone {
		return nil, fmt.Errorf("video: publish %q: no supported track", s.name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrStreamClosed
	}
	if s.pub != nil {
		return nil, ErrPublisherExists
	}
	p := &Publisher{s: s}
	s.pub = p
	s.media = m
	s.epoch++
	s.params = paramSets{}
	s.width, s.height = 0, 0
	s.params.update(m.Video, m.VPS)
	s.params.update(m.Video, m.SPS)
	s.params.update(m.Video, m.PPS)
	s.width, s.height = s.params.width, s.params.height
	s.gop, s.gopBytes = nil, 0
	s.needIDR = m.Video != CodecNone
	s.ptsSet = false
	s.state = StateLive
	s.since = s.clock.Now()
	s.lastErr = ""
	return p, nil
}

// Info returns a snapshot of the stream's state and statistics.
func (s *Stream) Info() StreamInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	bps, fps := s.rate.rates(now)
	info := StreamInfo{
		Name:         s.name,
		State:        s.state,
		Since:        s.since,
		LastError:    s.lastErr,
		Epoch:        s.epoch,
		Readers:      len(s.readers),
		BitrateBPS:   bps,
		FPS:          fps,
		Units:        s.units,
		BadUnits:     s.badUnits,
		DroppedNALUs: s.droppedNALUs,
		DecodeErrors: s.decodeErrors,
		ReaderDrops:  s.readerDrops,
	}
	if s.pub != nil {
		info.Video = s.media.Video.String()
		info.Audio = s.media.Audio.String()
		info.Width, info.Height = s.width, s.height
	}
	return info
}

// StreamInfo is a snapshot of a stream, shaped for the JSON API.
type StreamInfo struct {
	Name  string `json:"name"`
	State State  `json:"state"`
	// Since is when the stream entered State.
	Since     time.Time `json:"since"`
	LastError string    `json:"last_error,omitempty"`
	// Epoch counts source sessions.
	Epoch int `json:"epoch"`
	// Video and Audio are codec names, empty when absent or offline.
	Video string `json:"video,omitempty"`
	Audio string `json:"audio,omitempty"`
	// Width and Height come from the current SPS.
	Width  int `json:"width,omitempty"`
	Height int `json:"height,omitempty"`
	// FPS and BitrateBPS are measured over the last second.
	FPS        float64 `json:"fps"`
	BitrateBPS int64   `json:"bitrate_bps"`
	// Readers counts attached readers: viewers, re-publishers, recorders.
	Readers int `json:"readers"`
	// Units counts published units; BadUnits those dropped as broken;
	// DroppedNALUs malformed NAL units removed from otherwise good units;
	// DecodeErrors RTP depacketizing errors the source reported;
	// ReaderDrops units slow readers dropped.
	Units        uint64 `json:"units"`
	BadUnits     uint64 `json:"bad_units"`
	DroppedNALUs uint64 `json:"dropped_nalus"`
	DecodeErrors uint64 `json:"decode_errors"`
	ReaderDrops  uint64 `json:"reader_drops"`
}

// AddReader attaches a reader with a queue of queueLen units (zero means
// DefaultReaderQueue). The queue first holds the cached group of pictures,
// beginning with a keyframe, on top of queueLen; when there is none, the
// reader's video starts at the next keyframe. name labels the reader in
// logs and statistics.
func (s *Stream) AddReader(name string, queueLen int) (*Reader, error) {
	if queueLen <= 0 {
		queueLen = DefaultReaderQueue
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrStreamClosed
	}
	r := &Reader{
		name:   name,
		s:      s,
		wake:   make(chan struct{}, 1),
		limit:  queueLen + len(s.gop),
		live:   s.nextSeq,
		waitKF: s.media.Video != CodecNone,
	}
	for _, u := range s.gop {
		r.push(u)
	}
	s.readers[r] = struct{}{}
	return r, nil
}

// publish numbers u, caches it and fans it out. Called with s.mu held.
func (s *Stream) publishLocked(u *Unit) {
	u.Seq = s.nextSeq
	s.nextSeq++
	u.Epoch = s.epoch
	s.units++
	now := s.clock.Now()
	s.rate.add(now, u.Size(), u.Codec.IsVideo())
	s.lastPTS, s.lastWall, s.havePTS = u.PTS, now, true

	switch {
	case u.IDR:
		s.gop, s.gopBytes = s.gop[:0:0], 0
		fallthrough
	case s.gop != nil:
		size := u.Size()
		if len(s.gop) >= s.cfg.MaxGOPUnits || s.gopBytes+size > s.cfg.MaxGOPBytes {
			// Too long a GOP to cache: joiners wait for the next IDR.
			s.gop, s.gopBytes = nil, 0
			break
		}
		s.gop = append(s.gop, u)
		s.gopBytes += size
	}
	for r := range s.readers {
		s.readerDrops += r.push(u)
	}
}

// streamPTS maps a publisher PTS to the stream's timeline. Called with
// s.mu held.
func (s *Stream) streamPTS(pts time.Duration) time.Duration {
	if !s.ptsSet {
		s.ptsSet = true
		s.ptsOffset = -pts
		if s.havePTS {
			// Continue after the previous session, leaving a gap as long
			// as the outage so players keep their timing.
			gap := max(s.clock.Now().Sub(s.lastWall), time.Millisecond)
			s.ptsOffset = s.lastPTS + gap - pts
		}
	}
	return pts + s.ptsOffset
}

// removeReader detaches r.
func (s *Stream) removeReader(r *Reader) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.readers, r)
	r.closeLocked(ErrReaderClosed)
}

// Publisher writes one source session's units into a Stream. Its methods
// are called by the source; they never block on readers.
type Publisher struct {
	s *Stream
}

// WriteVideo publishes one video access unit. pts is the presentation
// time within this session (any origin; the stream maps it onto its own
// timeline), ntp the capture time or the zero time. Malformed NAL units
// are dropped and counted; a unit that cannot be used at all is dropped,
// counted, and reported with an error wrapping ErrBadUnit. The stream
// keeps references to the NAL units: do not modify them afterwards.
func (p *Publisher) WriteVideo(pts time.Duration, ntp time.Time, au [][]byte) error {
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pub != p {
		return ErrPublisherClosed
	}
	if s.media.Video == CodecNone {
		s.badUnits++
		return fmt.Errorf("%w: no video track announced", ErrBadUnit)
	}
	nalus, idr, dropped, err := sanitizeAU(s.media.Video, au, &s.params)
	s.droppedNALUs += uint64(dropped)
	s.width, s.height = s.params.width, s.params.height
	if err != nil {
		s.badUnits++
		return err
	}
	if nalus == nil {
		return nil // parameter sets only: remembered, nothing to show
	}
	if s.needIDR && !idr {
		return nil // nothing decodes before the first keyframe
	}
	s.needIDR = false
	if ntp.IsZero() {
		ntp = s.clock.Now()
	}
	s.publishLocked(&Unit{Codec: s.media.Video, PTS: s.streamPTS(pts), NTP: ntp, NALUs: nalus, IDR: idr})
	return nil
}

// WriteAudio publishes one audio packet (an Opus packet or G.711
// samples); see WriteVideo for pts and ntp.
func (p *Publisher) WriteAudio(pts time.Duration, ntp time.Time, payload []byte) error {
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pub != p {
		return ErrPublisherClosed
	}
	if s.media.Audio == CodecNone {
		s.badUnits++
		return fmt.Errorf("%w: no audio track announced", ErrBadUnit)
	}
	if len(payload) == 0 || len(payload) > maxAudioBytes {
		s.badUnits++
		return fmt.Errorf("%w: audio packet of %d bytes", ErrBadUnit, len(payload))
	}
	if ntp.IsZero() {
		ntp = s.clock.Now()
	}
	s.publishLocked(&Unit{Codec: s.media.Audio, PTS: s.streamPTS(pts), NTP: ntp, Payload: payload})
	return nil
}

// CountDecodeError counts an error the source met depacketizing RTP (a
// lost packet, a malformed payload). err is kept as the stream's last
// error.
func (p *Publisher) CountDecodeError(err error) {
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pub != p {
		return
	}
	s.decodeErrors++
	if err != nil {
		s.lastErr = err.Error()
	}
}

// Close detaches the publisher: the stream goes offline with err (which
// may be nil) as its last error. Readers stay attached and resume with the
// next publisher. Safe to call twice.
func (p *Publisher) Close(err error) {
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pub != p {
		return
	}
	s.pub = nil
	s.gop, s.gopBytes = nil, 0
	if !s.closed {
		s.state = StateOffline
		s.since = s.clock.Now()
	}
	if err != nil {
		s.lastErr = err.Error()
	}
	// The next session starts with a keyframe; make readers that had
	// fallen behind wait for it rather than resume mid-GOP.
	for r := range s.readers {
		r.mu.Lock()
		r.waitKF = s.media.Video != CodecNone
		r.mu.Unlock()
	}
}

// Reader receives a stream's units through its own bounded queue. When
// the queue is full the reader drops units, and after a dropped video unit
// it drops video until the next keyframe, so what it reads always decodes.
// One goroutine should call ReadUnit; Close may be called from any.
type Reader struct {
	name string
	s    *Stream
	wake chan struct{} // capacity 1: a unit was queued or the reader closed
	live uint64        // units with a lower Seq came from the GOP cache

	mu      sync.Mutex
	queue   []*Unit
	head    int
	limit   int
	waitKF  bool
	dropped uint64
	err     error // set once closed
}

// Name returns the name given to AddReader.
func (r *Reader) Name() string { return r.name }

// FirstLiveSeq returns the Seq of the first unit published after the
// reader joined: units with a lower Seq came from the GOP cache, already
// late, and a player may show them as fast as it decodes them.
func (r *Reader) FirstLiveSeq() uint64 { return r.live }

// Dropped returns how many units this reader dropped because it was slow.
func (r *Reader) Dropped() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped
}

// ReadUnit returns the next unit, waiting for one until ctx ends. It
// returns ErrReaderClosed after Close and ErrStreamClosed after the stream
// closed.
func (r *Reader) ReadUnit(ctx context.Context) (*Unit, error) {
	for {
		r.mu.Lock()
		if r.head < len(r.queue) {
			u := r.queue[r.head]
			r.queue[r.head] = nil
			r.head++
			if r.head == len(r.queue) {
				r.queue, r.head = r.queue[:0], 0
			}
			r.mu.Unlock()
			return u, nil
		}
		err := r.err
		r.mu.Unlock()
		if err != nil {
			return nil, err
		}
		select {
		case <-r.wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Close detaches the reader from the stream and drops its queue.
func (r *Reader) Close() { r.s.removeReader(r) }

// push queues u unless the reader is full or waiting for a keyframe; it
// returns the number of units dropped (0 or 1). Called with s.mu held.
func (r *Reader) push(u *Unit) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return 0
	}
	video := u.Codec.IsVideo()
	if video && r.waitKF {
		if !u.IDR {
			r.dropped++
			return 1
		}
		r.waitKF = false
	}
	if len(r.queue)-r.head >= r.limit {
		if video {
			r.waitKF = true
		}
		r.dropped++
		return 1
	}
	if r.head > 0 && len(r.queue) == cap(r.queue) {
		// Compact rather than grow: the queue never holds more than
		// limit units.
		n := copy(r.queue, r.queue[r.head:])
		clear(r.queue[n:])
		r.queue, r.head = r.queue[:n], 0
	}
	r.queue = append(r.queue, u)
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return 0
}

// closeLocked ends the reader with err. Called with s.mu held.
func (r *Reader) closeLocked(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return
	}
	r.err = err
	clear(r.queue)
	r.queue, r.head = nil, 0
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Hub holds named streams. It is safe for concurrent use.
type Hub struct {
	cfg     StreamConfig
	mu      sync.Mutex
	streams map[string]*Stream
}

// NewHub returns an empty hub whose streams use cfg.
func NewHub(cfg StreamConfig) *Hub {
	return &Hub{cfg: cfg, streams: make(map[string]*Stream)}
}

// Add creates the stream name. Names are RTSP-style paths such as
// "sim/1" or "drone3/front": non-empty, made of letters, digits and
// "-_.~/" , with no empty, "." or ".." segment.
func (h *Hub) Add(name string) (*Stream, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.streams[name]; ok {
		return nil, fmt.Errorf("%w: %q", ErrStreamExists, name)
	}
	s := NewStream(name, h.cfg)
	h.streams[name] = s
	return s, nil
}

// Stream returns the named stream, or an error wrapping ErrStreamNotFound.
func (h *Hub) Stream(name string) (*Stream, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.streams[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrStreamNotFound, name)
	}
	return s, nil
}

// Streams returns every stream, sorted by name.
func (h *Hub) Streams() []*Stream {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*Stream, 0, len(h.streams))
	for _, s := range h.streams {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *Stream) int {
		switch {
		case a.name < b.name:
			return -1
		case a.name > b.name:
			return 1
		}
		return 0
	})
	return out
}

// Close closes every stream.
func (h *Hub) Close() {
	for _, s := range h.Streams() {
		s.Close()
	}
}
