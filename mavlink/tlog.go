package mavlink

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gomavlib/v3/pkg/frame"
	"github.com/bluenviron/gomavlib/v3/pkg/message"
	"github.com/bluenviron/gomavlib/v3/pkg/streamwriter"
)

// A .tlog is what MAVProxy, QGroundControl and Mission Planner write: for every frame, an 8-byte big-endian
// count of microseconds since the Unix epoch, then the raw MAVLink frame.

// ErrBadTlog is returned for a tlog that does not parse.
var ErrBadTlog = errors.New("bad tlog")

// TlogEntry is one recorded frame.
type TlogEntry struct {
	Time  time.Time
	Frame []byte // the raw frame, v1 or v2, signature included
}

// maxFrameLen is the longest MAVLink frame: a v2 header, 255 bytes of payload, checksum and signature.
const maxFrameLen = 10 + 255 + 2 + 13

// TlogReader reads a tlog entry by entry.
type TlogReader struct {
	r   *bufio.Reader
	off int64
}

// NewTlogReader reads entries from r.
func NewTlogReader(r io.Reader) *TlogReader { return &TlogReader{r: bufio.NewReader(r)} }

// Next returns the next entry, or io.EOF at a clean end. A truncated or corrupt entry is ErrBadTlog with
// the byte offset where it starts.
func (t *TlogReader) Next() (TlogEntry, error) {
	var head [8 + 3]byte
	n, err := io.ReadFull(t.r, head[:])
	if err == io.EOF {
		return TlogEntry{}, io.EOF
	}
	if err != nil {
		return TlogEntry{}, fmt.Errorf("%w: entry at byte %d truncated after %d bytes", ErrBadTlog, t.off, n)
	}
	usec := binary.BigEndian.Uint64(head[:8])
	if usec > 1<<62 {
		return TlogEntry{}, fmt.Errorf("%w: entry at byte %d: timestamp %d out of range", ErrBadTlog, t.off, usec)
	}
	var size int
	switch head[8] {
	case 0xFE: // v1: magic, len, seq, sys, comp, msg, payload, crc
		size = 6 + int(head[9]) + 2
	case 0xFD: // v2: magic, len, incompat, compat, seq, sys, comp, msgid[3], payload, crc, [signature]
		size = 10 + int(head[9]) + 2
		if head[10]&0x01 != 0 {
			size += 13
		}
	default:
		return TlogEntry{}, fmt.Errorf("%w: entry at byte %d: 0x%02x is not a MAVLink frame start", ErrBadTlog, t.off, head[8])
	}
	buf := make([]byte, size)
	copy(buf, head[8:])
	if m, err := io.ReadFull(t.r, buf[3:]); err != nil {
		return TlogEntry{}, fmt.Errorf("%w: frame at byte %d truncated after %d of %d bytes", ErrBadTlog, t.off+8, 3+m, size)
	}
	t.off += int64(8 + size)
	return TlogEntry{Time: time.UnixMicro(int64(usec)).UTC(), Frame: buf}, nil
}

// AppendTlogEntry appends one entry in tlog form to b.
func AppendTlogEntry(b []byte, t time.Time, rawFrame []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(t.UnixMicro()))
	return append(b, rawFrame...)
}

// frameTap sees every frame a link receives, on the link's reader goroutine, and every message osprey sends
// a vehicle, on the sender's goroutine. It must not block.
type frameTap interface {
	onFrame(l *Link, f frame.Frame)
	onSent(to vehicleKey, msg message.Message)
}

// recorderQueue bounds the frames waiting for the disk: a stalled disk costs recorded frames, never the link.
const recorderQueue = 4096

// Recorder writes every frame received on every link to a tlog.
type Recorder struct {
	m       *Manager
	w       io.Writer
	queue   chan []byte
	done    chan struct{}
	mu      sync.Mutex // serializes frame encoding on link and sender goroutines
	fw      *frame.Writer
	sent    *streamwriter.Writer // frames what osprey sends, as osprey's system and component
	buf     bytes.Buffer
	written atomic.Uint64
	dropped atomic.Uint64
	err     error
	// only, when set, keeps the frames of one vehicle: its system id on the links of its network.
	only *vehicleKey
}

// Record starts writing the traffic of all links to w, until the Recorder is closed.
func (m *Manager) Record(w io.Writer) (*Recorder, error) { return m.record(w, nil) }

// RecordVehicle writes only one vehicle's frames (all its components) to w: a flight's own log.
func (m *Manager) RecordVehicle(w io.Writer, network string, id byte) (*Recorder, error) {
	return m.record(w, &vehicleKey{network, id})
}

func (m *Manager) record(w io.Writer, only *vehicleKey) (*Recorder, error) {
	r := &Recorder{m: m, w: w, queue: make(chan []byte, recorderQueue), done: make(chan struct{}), only: only}
	fw := &frame.Writer{ByteWriter: &r.buf, DialectRW: m.dialectRW}
	if err := fw.Initialize(); err != nil {
		return nil, err
	}
	r.fw = fw
	r.sent = &streamwriter.Writer{FrameWriter: fw, Version: streamwriter.V2, SystemID: m.conf.SystemID, ComponentID: m.conf.ComponentID}
	if err := r.sent.Initialize(); err != nil {
		return nil, err
	}
	go r.run()
	m.tapsMu.Lock()
	m.taps = append(m.taps, r)
	m.tapsMu.Unlock()
	return r, nil
}

func (r *Recorder) onFrame(l *Link, f frame.Frame) {
	if r.only != nil && (l.network != r.only.network || f.GetSystemID() != r.only.sys) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf.Reset()
	// The writer encodes the message into the frame it is given, so it gets a copy: the original goes on to
	// the vehicle's state decoder.
	var err error
	switch ff := f.(type) {
	case *frame.V2Frame:
		cp := *ff
		err = r.fw.Write(&cp)
	case *frame.V1Frame:
		cp := *ff
		err = r.fw.Write(&cp)
	}
	r.enqueueLocked(err)
}

// onSent records a message osprey sent to a vehicle, so a log shows the commands and requests beside the
// answers, as Mission Planner's do. gomavlib numbers and signs frames inside its writer, after the message
// has left us: the recorded frame carries the recorder's own sequence numbers and no signature. The GCS
// heartbeats gomavlib sends by itself are not recorded.
func (r *Recorder) onSent(to vehicleKey, msg message.Message) {
	if r.only != nil && *r.only != to {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf.Reset()
	r.enqueueLocked(r.sent.Write(msg))
}

// enqueueLocked queues the frame encoded in r.buf, unless encoding failed. The time is read under r.mu:
// frames from link readers and senders then enter the log in the order of their timestamps.
func (r *Recorder) enqueueLocked(encodeErr error) {
	if encodeErr != nil {
		r.dropped.Add(1)
		return
	}
	select {
	case r.queue <- AppendTlogEntry(nil, r.m.clock.Now(), r.buf.Bytes()):
	default:
		r.dropped.Add(1)
	}
}

func (r *Recorder) run() {
	defer close(r.done)
	bw := bufio.NewWriter(r.w)
	for b := range r.queue {
		if r.err != nil {
			continue
		}
		if _, err := bw.Write(b); err != nil {
			r.err = err
			continue
		}
		r.written.Add(1)
		if len(r.queue) == 0 {
			r.err = bw.Flush() // flushed whenever idle: a crash loses at most what is in flight
		}
	}
	if r.err == nil {
		r.err = bw.Flush()
	}
}

// Close stops recording, flushes, and returns the first write error.
func (r *Recorder) Close() error {
	r.m.tapsMu.Lock()
	for i, t := range r.m.taps {
		if t == r {
			r.m.taps = append(r.m.taps[:i:i], r.m.taps[i+1:]...)
			break
		}
	}
	r.m.tapsMu.Unlock()
	close(r.queue)
	<-r.done
	return r.err
}

// Stats returns the frames written and dropped so far.
func (r *Recorder) Stats() (written, dropped uint64) { return r.written.Load(), r.dropped.Load() }

// Replay is a tlog being played back as a live link.
type Replay struct {
	link *Link
	src  *replaySource
}

// Replay feeds a recorded tlog into the manager as a live link, frames paced by their timestamps divided
// by speed (speed <= 0: as fast as possible), and relayed to the forwarding links if forward is set. The
// link stays until removed, so the vehicles it showed stay visible (and go stale).
func (m *Manager) Replay(r io.Reader, speed float64, forward bool) (*Replay, error) {
	src := &replaySource{tr: NewTlogReader(r), speed: speed, clock: time.Now, closed: make(chan struct{}),
		finished: make(chan struct{})}
	l, err := m.AddLink(LinkConfig{replay: src, Forward: forward})
	if err != nil {
		return nil, err
	}
	return &Replay{link: l, src: src}, nil
}

// Link is the replay's link.
func (r *Replay) Link() *Link { return r.link }

// Done is closed when the whole file has been read (or it stopped at a bad entry).
func (r *Replay) Done() <-chan struct{} { return r.src.finished }

// Frames is how many frames were played so far.
func (r *Replay) Frames() uint64 { return r.src.played.Load() }

// Err is the error that ended the file early (ErrBadTlog with the offset), nil after a clean end.
// Valid once Done is closed.
func (r *Replay) Err() error { return r.src.err }

// Wait waits until the file is played and every frame read has reached the vehicles' state, then
// returns Err.
func (r *Replay) Wait(ctx context.Context) error {
	select {
	case <-r.src.finished:
	case <-ctx.Done():
		return ctx.Err()
	}
	// gomavlib may still hold the last frames between the reader and the event loop.
	for r.link.framesIn.Load()+r.link.parseErrors.Load() < r.src.played.Load() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return r.src.err
}

// replaySource is the io.ReadWriteCloser behind a replay link. Read returns one frame at a time when it
// is due; after the last one it blocks until Close, because gomavlib would reopen an ended stream.
type replaySource struct {
	tr         *TlogReader
	speed      float64
	clock      func() time.Time // the wall clock: a replay paces real sockets
	closed     chan struct{}
	finished   chan struct{}
	once       sync.Once
	finishOnce sync.Once
	handedOut  atomic.Bool
	played     atomic.Uint64

	first, start time.Time
	pending      []byte
	err          error // written before finished is closed, read after
}

func (s *replaySource) Read(p []byte) (int, error) {
	if len(s.pending) == 0 {
		e, err := s.tr.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				s.err = err
			}
			s.finishOnce.Do(func() { close(s.finished) })
			<-s.closed
			return 0, io.EOF
		}
		if s.first.IsZero() {
			s.first, s.start = e.Time, s.clock()
		}
		if s.speed > 0 {
			due := s.start.Add(time.Duration(float64(e.Time.Sub(s.first)) / s.speed))
			if wait := due.Sub(s.clock()); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-t.C:
				case <-s.closed:
					t.Stop()
					return 0, io.EOF
				}
			}
		}
		s.pending = e.Frame
		s.played.Add(1)
	}
	n := copy(p, s.pending)
	s.pending = s.pending[n:]
	return n, nil
}

func (s *replaySource) Write(p []byte) (int, error) { return len(p), nil } // commands to a recording go nowhere

func (s *replaySource) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

// The rest of net.Conn: a replay has no addresses and no deadlines (it paces itself).
func (s *replaySource) LocalAddr() net.Addr              { return replayAddr{} }
func (s *replaySource) RemoteAddr() net.Addr             { return replayAddr{} }
func (s *replaySource) SetDeadline(time.Time) error      { return nil }
func (s *replaySource) SetReadDeadline(time.Time) error  { return nil }
func (s *replaySource) SetWriteDeadline(time.Time) error { return nil }

type replayAddr struct{}

func (replayAddr) Network() string { return "tlog" }
func (replayAddr) String() string  { return "replay" }

// connect hands gomavlib the replay once; a reconnection after it ends waits for shutdown instead.
func (s *replaySource) connect(ctx context.Context) (net.Conn, error) {
	if s.handedOut.CompareAndSwap(false, true) {
		return s, nil
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.closed:
		return nil, io.EOF
	}
}
