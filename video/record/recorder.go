package record

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ospreygcs/osprey/internal/clock"
)

// Errors callers branch on.
var (
	// ErrClosed is returned by the Write methods after Close.
	ErrClosed = errors.New("record: recorder closed")
	// ErrQueueFull is returned by the Write methods when the recorder's
	// queue is full and the unit was dropped (and counted). Video then
	// resumes at the next keyframe.
	ErrQueueFull = errors.New("record: queue full, unit dropped")
	// ErrBadConfig is returned, wrapped, by New for a configuration it
	// cannot use.
	ErrBadConfig = errors.New("record: bad configuration")
)

// Defaults of Config.
const (
	DefaultSegmentDuration = time.Minute
	DefaultPartDuration    = time.Second
	DefaultQueueLen        = 512
	DefaultQueueBytes      = 64 << 20
	DefaultMaxPartBytes    = 50 << 20
	DefaultRetryPause      = 5 * time.Second
	// DefaultRetentionInterval is how often retention runs besides at
	// every new segment.
	DefaultRetentionInterval = time.Minute
)

// AudioCodec is the codec of a recorded audio track.
type AudioCodec uint8

// The audio codecs a Recorder writes. G.711 is not offered: MP4 carries it
// only as decoded LPCM ("ipcm"), which FFmpeg reads from version 6.1 on.
const (
	AudioNone AudioCodec = iota
	AudioOpus
)

// Config configures a Recorder.
type Config struct {
	// Dir is the recordings root; the stream's segments go in a
	// directory below it (see the package documentation). Required.
	Dir string
	// StreamName names the stream, such as "sim/1". Required.
	StreamName string
	// SegmentDuration is the length after which a new segment file starts
	// at the next keyframe. Zero means DefaultSegmentDuration.
	SegmentDuration time.Duration
	// PartDuration is the length of a part, written to disk at once: the
	// most a crash can lose. Zero means DefaultPartDuration.
	PartDuration time.Duration
	// MaxPartBytes ends a part early when it grows this big. Zero means
	// DefaultMaxPartBytes.
	MaxPartBytes int
	// MaxAge deletes the stream's segments whose end is older than this.
	// Zero keeps them forever.
	MaxAge time.Duration
	// MaxBytes deletes the stream's oldest segments while all of them
	// together take more than this (the segment being written is never
	// deleted). Zero means no limit.
	MaxBytes int64
	// RetentionInterval is how often MaxAge and MaxBytes are enforced
	// besides at each new segment. Zero means DefaultRetentionInterval.
	RetentionInterval time.Duration
	// QueueLen and QueueBytes bound the units waiting to be written; a unit
	// that would exceed either is dropped. Zero means DefaultQueueLen and
	// DefaultQueueBytes.
	QueueLen   int
	QueueBytes int
	// RetryPause is how long a recorder that failed (a full disk, say)
	// waits before it tries a new segment. Zero means DefaultRetryPause.
	RetryPause time.Duration
	// NoSync skips the fsync after each part. A process crash still loses
	// at most one part (the data is in the page cache); a power cut may
	// lose more.
	NoSync bool
	// Audio is the codec of the audio track to record, AudioNone for video
	// only. AudioChannels is its channel count (zero means 2 for Opus).
	Audio         AudioCodec
	AudioChannels int
	// Clock names segments when the source gives no usable wall-clock
	// time, and drives retention, retries and the idle flush. Nil means
	// the wall clock.
	Clock clock.Clock
}

// State is a recorder's state.
type State string

// The states of a Recorder.
const (
	// StateWaiting: no segment is open; the recorder waits for parameter
	// sets and a keyframe.
	StateWaiting State = "waiting"
	// StateRecording: a segment is open and being written.
	StateRecording State = "recording"
	// StateFailed: the last write failed; Status.Error says why. The
	// recorder retries after Config.RetryPause.
	StateFailed State = "failed"
	// StateClosed: Close was called.
	StateClosed State = "closed"
)

// Status is a snapshot of a recorder, shaped for the JSON API.
type Status struct {
	Stream string `json:"stream"`
	State  State  `json:"state"`
	// Error is the last write error, kept until a segment is written
	// again.
	Error string `json:"error,omitempty"`
	// Segment is the path of the segment being written, if any.
	Segment string `json:"segment,omitempty"`
	// Segments and Parts count what was written; Bytes the bytes written.
	Segments uint64 `json:"segments"`
	Parts    uint64 `json:"parts"`
	Bytes    uint64 `json:"bytes"`
	// Dropped counts units dropped because the queue was full; Skipped
	// units not written for another reason (waiting for a keyframe, bad
	// timestamps, failed state).
	Dropped uint64 `json:"dropped"`
	Skipped uint64 `json:"skipped"`
	// Deleted counts segments removed by retention.
	Deleted uint64 `json:"deleted"`
}

// Recorder records one stream to fragmented MP4 segments. Its Write
// methods never block: units are queued and written by the recorder's own
// goroutine. All methods are safe for concurrent use; units written
// concurrently are recorded in the order they were queued.
type Recorder struct {
	cfg   Config
	dir   string // the stream's directory
	clock clock.Clock

	inMu       sync.Mutex // orders Write calls with the queue
	closed     bool
	seq        uint64 // numbers video units as queued, drops included
	queue      chan item
	queueBytes atomic.Int64

	done     chan struct{} // closed by Close
	finished chan struct{} // closed when the goroutine returns
	closeErr error         // set by the goroutine before finished

	mu     sync.Mutex // guards status
	status Status
}

// itemKind tells what an item carries.
type itemKind uint8

const (
	itemVideo itemKind = iota
	itemAudio
	itemBarrier // answered when everything before it is processed
)

// item is one queued unit.
type item struct {
	kind    itemKind
	seq     uint64
	pts     time.Duration
	ntp     time.Time
	nalus   [][]byte
	payload []byte
	size    int
	reply   chan struct{}
}

// New checks cfg, creates the stream's directory, and starts the
// recorder's goroutine. Segments already in the directory are kept (and
// subject to retention).
func New(cfg Config) (*Recorder, error) {
	if cfg.Dir == "" {
		return nil, fmt.Errorf("%w: no directory", ErrBadConfig)
	}
	rel, err := streamRelDir(cfg.StreamName)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.SegmentDuration < 0, cfg.PartDuration < 0, cfg.MaxAge < 0, cfg.MaxBytes < 0, cfg.MaxPartBytes < 0,
		cfg.QueueLen < 0, cfg.QueueBytes < 0, cfg.RetryPause < 0, cfg.RetentionInterval < 0, cfg.AudioChannels < 0:
		return nil, fmt.Errorf("%w: negative duration, size or count", ErrBadConfig)
	case cfg.Audio > AudioOpus:
		return nil, fmt.Errorf("%w: unknown audio codec %d", ErrBadConfig, cfg.Audio)
	}
	cfg.SegmentDuration = orDefault(cfg.SegmentDuration, DefaultSegmentDuration)
	cfg.PartDuration = orDefault(cfg.PartDuration, DefaultPartDuration)
	cfg.MaxPartBytes = orDefault(cfg.MaxPartBytes, DefaultMaxPartBytes)
	cfg.QueueLen = orDefault(cfg.QueueLen, DefaultQueueLen)
	cfg.QueueBytes = orDefault(cfg.QueueBytes, DefaultQueueBytes)
	cfg.RetryPause = orDefault(cfg.RetryPause, DefaultRetryPause)
	cfg.RetentionInterval = orDefault(cfg.RetentionInterval, DefaultRetentionInterval)
	if cfg.Audio == AudioOpus && cfg.AudioChannels == 0 {
		cfg.AudioChannels = 2
	}
	if cfg.PartDuration > cfg.SegmentDuration {
		return nil, fmt.Errorf("%w: part duration %v longer than segment duration %v", ErrBadConfig, cfg.PartDuration, cfg.SegmentDuration)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	return newRecorder(cfg, filepath.Join(cfg.Dir, rel), osFS{})
}

// newRecorder starts a recorder on fs; tests pass a failing one.
func newRecorder(cfg Config, dir string, fs fileSystem) (*Recorder, error) {
	if err := fs.MkdirAll(dir); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	r := &Recorder{
		cfg:      cfg,
		dir:      dir,
		clock:    cfg.Clock,
		queue:    make(chan item, cfg.QueueLen),
		done:     make(chan struct{}),
		finished: make(chan struct{}),
		status:   Status{Stream: cfg.StreamName, State: StateWaiting},
	}
	w := newWriter(r, fs)
	go r.run(w)
	return r, nil
}

func orDefault[T time.Duration | int | int64](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// WriteH264 queues one H.264 access unit: its NAL units without start
// codes, its presentation time (any origin, the same as the audio's) and
// its capture wall-clock time (zero if unknown). The recorder keeps nalus
// until written: the caller must not modify them afterwards. Parameter
// sets are taken from the stream as they appear; recording starts at the
// first keyframe after both are known. It returns ErrQueueFull when the
// unit was dropped and ErrClosed after Close, and never blocks.
func (r *Recorder) WriteH264(pts time.Duration, ntp time.Time, nalus [][]byte) error {
	size := 0
	for _, n := range nalus {
		size += len(n)
	}
	return r.enqueue(item{kind: itemVideo, pts: pts, ntp: ntp, nalus: nalus, size: size})
}

// WriteOpus queues one Opus packet with its presentation time (on the
// video's time line). It is dropped unless Config.Audio is AudioOpus. The
// caller must not modify payload afterwards.
func (r *Recorder) WriteOpus(pts time.Duration, payload []byte) error {
	return r.enqueue(item{kind: itemAudio, pts: pts, payload: payload, size: len(payload)})
}

func (r *Recorder) enqueue(it item) error {
	r.inMu.Lock()
	defer r.inMu.Unlock()
	if r.closed {
		return ErrClosed
	}
	if it.kind == itemVideo {
		r.seq++ // a gap tells the writer video was dropped
		it.seq = r.seq
	}
	if r.queueBytes.Load()+int64(it.size) > int64(r.cfg.QueueBytes) {
		r.countDropped()
		return ErrQueueFull
	}
	select {
	case r.queue <- it:
		r.queueBytes.Add(int64(it.size))
		return nil
	default:
		r.countDropped()
		return ErrQueueFull
	}
}

func (r *Recorder) countDropped() {
	r.mu.Lock()
	r.status.Dropped++
	r.mu.Unlock()
}

// Status returns a snapshot of the recorder's state and counters.
func (r *Recorder) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

// Dir returns the directory the stream's segments are written to.
func (r *Recorder) Dir() string { return r.dir }

// Close stops accepting units, writes those already queued, flushes the
// current part and closes the segment. It waits for the recorder's
// goroutine and returns the error of that final write, if any. Safe to
// call twice.
func (r *Recorder) Close() error {
	r.inMu.Lock()
	if !r.closed {
		r.closed = true
		close(r.done)
	}
	r.inMu.Unlock()
	<-r.finished
	return r.closeErr
}

// barrier waits until every unit queued before it has been processed, or
// the recorder ends. Tests use it to observe a settled recorder.
func (r *Recorder) barrier() {
	reply := make(chan struct{})
	r.inMu.Lock()
	closed := r.closed
	r.inMu.Unlock()
	if closed {
		<-r.finished
		return
	}
	select {
	case r.queue <- item{kind: itemBarrier, reply: reply}:
	case <-r.finished:
		return
	}
	select {
	case <-reply:
	case <-r.finished:
	}
}

// run is the recorder's goroutine: it owns w and every file.
func (r *Recorder) run(w *writer) {
	defer close(r.finished)
	retention := r.clock.NewTicker(r.cfg.RetentionInterval)
	defer retention.Stop()
	idle := r.clock.NewTicker(r.cfg.PartDuration)
	defer idle.Stop()

	w.enforceRetention()
	for {
		select {
		case it := <-r.queue:
			r.handle(w, it)
		case <-retention.C():
			w.enforceRetention()
		case <-idle.C():
			w.idleFlush()
		case <-r.done:
			// Write what was queued before Close, then the last part.
			for drained := false; !drained; {
				select {
				case it := <-r.queue:
					r.handle(w, it)
				default:
					drained = true
				}
			}
			r.closeErr = w.close()
			r.setState(func(s *Status) { s.State = StateClosed; s.Segment = "" })
			return
		}
	}
}

func (r *Recorder) handle(w *writer, it item) {
	r.queueBytes.Add(-int64(it.size))
	switch it.kind {
	case itemVideo:
		w.video(it)
	case itemAudio:
		w.audio(it)
	case itemBarrier:
		close(it.reply)
	}
}

// setState updates the status under its lock.
func (r *Recorder) setState(f func(*Status)) {
	r.mu.Lock()
	f(&r.status)
	r.mu.Unlock()
}
