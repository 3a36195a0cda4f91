package record

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4/codecs"
)

const (
	videoTrackID   = 1
	audioTrackID   = 2
	videoTimescale = 90000
	opusTimescale  = 48000
	// maxJump is the largest forward jump of the timestamps that is still
	// the same source session; a bigger one, or a step backwards of more
	// than maxBackStep (B-frames reorder by a few frames only), is an
	// outage: the segment ends and the next one starts at a keyframe.
	maxJump     = 5 * time.Second
	maxBackStep = time.Second
	// defaultFrameTicks is the duration given to a last picture whose
	// successor never came, until the stream shows its frame interval.
	defaultFrameTicks = videoTimescale / 30
	// maxNameTries bounds the search for a free segment file name.
	maxNameTries = 100
	// maxStartSkew is how far a source's wall-clock time may be from the
	// recorder's clock and still name a segment: a camera whose clock is
	// wrong must not make retention delete fresh recordings.
	maxStartSkew = time.Minute
)

// writer is the recorder goroutine's state: the muxer and the open
// segment. Only that goroutine touches it.
type writer struct {
	r   *Recorder
	cfg Config
	dir string
	fs  fileSystem

	sps, pps   []byte
	dts        h264.DTSExtractor
	needIDR    bool // skip video until a keyframe
	lastSeq    uint64
	lastPTS    time.Duration
	havePTS    bool
	frameTicks int64     // the stream's last frame interval
	lastInput  time.Time // when the last video unit was handled
	lastStart  time.Time // start of the last segment named

	failed   bool
	failedAt time.Time

	seg *segment
}

// segment is the open segment and the part being assembled.
type segment struct {
	start     time.Time
	startDTS  int64
	sps, pps  []byte
	initBytes []byte // written together with the first part
	path      string // set when the file is created
	file      segmentFile
	written   int64
	nextSeq   uint32

	video     []*fmp4.Sample
	videoBase int64 // DTS of video[0]
	audio     []*fmp4.Sample
	audioBase int64 // audio ticks from the segment start of audio[0]
	audioNext int64 // where the next audio sample should start
	partBytes int

	pending    *fmp4.Sample // the last picture, until its duration is known
	pendingDTS int64
}

func newWriter(r *Recorder, fs fileSystem) *writer {
	w := &writer{r: r, cfg: r.cfg, dir: r.dir, fs: fs, needIDR: true, frameTicks: defaultFrameTicks}
	w.dts.Initialize()
	return w
}

// video handles one access unit.
func (w *writer) video(it item) {
	now := w.cfg.Clock.Now()
	w.lastInput = now
	if w.lastSeq != 0 && it.seq != w.lastSeq+1 {
		// Units were dropped on a full queue: the pictures that follow
		// reference one that is missing. Close the part where the gap is
		// so the time line shows it, and wait for a keyframe.
		w.discontinuity(false)
	}
	w.lastSeq = it.seq

	idr, nalus := w.scanNALUs(it.nalus)
	if w.havePTS && (it.pts > w.lastPTS+maxJump || it.pts < w.lastPTS-maxBackStep) {
		w.discontinuity(true)
	}
	w.lastPTS, w.havePTS = it.pts, true

	if w.failed {
		if now.Sub(w.failedAt) < w.cfg.RetryPause || !idr {
			w.skip()
			return
		}
		// Retrying: make room first if retention can.
		w.enforceRetention()
	}
	if w.needIDR || w.seg == nil {
		if !idr || w.sps == nil || w.pps == nil {
			w.skip()
			return
		}
	}

	ptsTicks := durationToTicks(it.pts, videoTimescale)
	dts, err := w.dts.Extract(nalus, ptsTicks)
	if err != nil {
		w.resetDTS()
		w.discontinuity(false)
		w.skip()
		return
	}
	sample := &fmp4.Sample{}
	if err := sample.FillH264(int32(ptsTicks-dts), nalus); err != nil {
		w.discontinuity(false)
		w.skip()
		return
	}
	w.needIDR = false

	if s := w.seg; s != nil {
		w.completePending(dts)
		switch {
		case idr && (dts-s.startDTS >= durationToTicks(w.cfg.SegmentDuration, videoTimescale) ||
			!bytes.Equal(s.sps, w.sps) || !bytes.Equal(s.pps, w.pps)):
			err = w.endSegment()
		case len(s.video) > 0 && (dts-s.videoBase >= durationToTicks(w.cfg.PartDuration, videoTimescale) ||
			s.partBytes >= w.cfg.MaxPartBytes):
			err = w.flushPart()
		}
		if err != nil {
			w.fail(err)
			return
		}
	}
	if w.seg == nil {
		if err := w.startSegment(dts, it.ntp, now); err != nil {
			w.fail(err)
			return
		}
	}
	w.seg.pending, w.seg.pendingDTS = sample, dts
	w.seg.partBytes += len(sample.Payload)
}

// scanNALUs updates the parameter sets from an access unit and reports
// whether it is a keyframe. A keyframe that does not carry its parameter
// sets gets them in front, so every segment decodes on its own.
func (w *writer) scanNALUs(au [][]byte) (idr bool, out [][]byte) {
	hasSPS := false
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeSPS:
			hasSPS = true
			var sps h264.SPS
			if !bytes.Equal(w.sps, n) && sps.Unmarshal(n) == nil {
				w.sps = bytes.Clone(n)
			}
		case h264.NALUTypePPS:
			if !bytes.Equal(w.pps, n) {
				w.pps = bytes.Clone(n)
			}
		case h264.NALUTypeIDR:
			idr = true
		}
	}
	out = make([][]byte, 0, len(au)+2)
	if idr && !hasSPS && w.sps != nil && w.pps != nil {
		out = append(out, w.sps, w.pps)
	}
	for _, n := range au {
		if len(n) > 0 {
			out = append(out, n)
		}
	}
	return idr, out
}

// audio handles one Opus packet.
func (w *writer) audio(it item) {
	s := w.seg
	if w.cfg.Audio != AudioOpus || s == nil || w.failed {
		w.skip()
		return
	}
	rel := it.pts - ticksToSignedDuration(s.startDTS, videoTimescale)
	dur := opus.PacketDuration2(it.payload)
	if rel < 0 || dur <= 0 {
		w.skip()
		return
	}
	at := durationToTicks(rel, opusTimescale)
	if n := len(s.audio); n == 0 {
		s.audioBase = at
	} else if gap := at - s.audioNext; gap > 0 && gap < opusTimescale {
		// Samples of a track run are back to back: stretch the previous
		// one over a short silence (DTX) so the time line stays true.
		s.audio[n-1].Duration += uint32(gap)
		s.audioNext += gap
	}
	if len(s.audio) > 0 && at < s.audioNext-opusTimescale/10 {
		w.skip() // out of order
		return
	}
	s.audio = append(s.audio, &fmp4.Sample{Duration: uint32(dur), Payload: it.payload})
	s.audioNext = max(s.audioNext, at) + dur
	s.partBytes += len(it.payload)
}

// completePending gives the held picture its duration, up to the picture
// at dts, and adds it to the part.
func (w *writer) completePending(dts int64) {
	s := w.seg
	if s == nil || s.pending == nil {
		return
	}
	d := dts - s.pendingDTS
	if d <= 0 {
		d = 1
	} else if d < durationToTicks(maxJump, videoTimescale) {
		w.frameTicks = d
	}
	w.addPending(d)
}

// completePendingEstimate adds the held picture with the stream's frame
// interval as its duration, when no picture follows it.
func (w *writer) completePendingEstimate() {
	if w.seg != nil && w.seg.pending != nil {
		w.addPending(w.frameTicks)
	}
}

func (w *writer) addPending(d int64) {
	s := w.seg
	s.pending.Duration = uint32(min(d, int64(^uint32(0))))
	if len(s.video) == 0 {
		s.videoBase = s.pendingDTS
	}
	s.video = append(s.video, s.pending)
	s.pending = nil
}

// discontinuity handles a break in the video: the held picture is written
// with an estimated duration and the part closed. With endSegment the
// segment ends too, and the timestamp history is forgotten.
func (w *writer) discontinuity(endSegment bool) {
	w.needIDR = true
	if endSegment {
		w.resetDTS()
	}
	if w.seg == nil {
		return
	}
	w.completePendingEstimate()
	var err error
	if endSegment {
		err = w.endSegment()
		if err == nil {
			w.r.setState(func(s *Status) { s.State = StateWaiting; s.Segment = "" })
		}
	} else {
		err = w.flushPart()
	}
	if err != nil {
		w.fail(err)
	}
}

func (w *writer) resetDTS() {
	w.dts = h264.DTSExtractor{}
	w.dts.Initialize()
}

// idleFlush writes the part when the source has been silent for two part
// durations, so a stalled source does not keep a part in memory only.
func (w *writer) idleFlush() {
	s := w.seg
	if s == nil || (s.pending == nil && len(s.video) == 0 && len(s.audio) == 0) {
		return
	}
	if w.cfg.Clock.Now().Sub(w.lastInput) < 2*w.cfg.PartDuration {
		return
	}
	w.completePendingEstimate()
	if err := w.flushPart(); err != nil {
		w.fail(err)
	}
}

// startSegment opens a segment whose first picture has the given DTS. The
// file is created with the first part.
func (w *writer) startSegment(dts int64, ntp, now time.Time) error {
	start := now
	if !ntp.IsZero() && ntp.Sub(now).Abs() < maxStartSkew {
		start = ntp
	}
	start = start.UTC().Truncate(time.Microsecond)
	if !start.After(w.lastStart) {
		start = w.lastStart.Add(time.Microsecond)
	}
	w.lastStart = start

	init := fmp4.Init{Tracks: []*fmp4.InitTrack{{
		ID:        videoTrackID,
		TimeScale: videoTimescale,
		Codec:     &codecs.H264{SPS: w.sps, PPS: w.pps},
	}}}
	if w.cfg.Audio == AudioOpus {
		init.Tracks = append(init.Tracks, &fmp4.InitTrack{
			ID:        audioTrackID,
			TimeScale: opusTimescale,
			Codec:     &codecs.Opus{ChannelCount: w.cfg.AudioChannels},
		})
	}
	var buf seekablebuffer.Buffer
	if err := init.Marshal(&buf); err != nil {
		return fmt.Errorf("record: init section: %w", err)
	}
	w.seg = &segment{
		start:     start,
		startDTS:  dts,
		sps:       w.sps,
		pps:       w.pps,
		initBytes: buf.Bytes(),
		nextSeq:   1,
	}
	if !w.failed {
		w.r.setState(func(s *Status) { s.State = StateRecording })
	}
	return nil
}

// flushPart writes the part being assembled, with the init section in
// front when it is the segment's first, in one write.
func (w *writer) flushPart() error {
	s := w.seg
	if s == nil || (len(s.video) == 0 && len(s.audio) == 0) {
		return nil
	}
	part := fmp4.Part{SequenceNumber: s.nextSeq}
	if len(s.video) > 0 {
		part.Tracks = append(part.Tracks, &fmp4.PartTrack{
			ID: videoTrackID, BaseTime: uint64(s.videoBase - s.startDTS), Samples: s.video,
		})
	}
	if len(s.audio) > 0 {
		part.Tracks = append(part.Tracks, &fmp4.PartTrack{
			ID: audioTrackID, BaseTime: uint64(s.audioBase), Samples: s.audio,
		})
	}
	var buf seekablebuffer.Buffer
	if s.file == nil {
		buf.Write(s.initBytes)
	}
	if err := part.Marshal(&buf); err != nil {
		return fmt.Errorf("record: part: %w", err)
	}
	s.video, s.audio = nil, nil
	s.partBytes = 0
	if s.pending != nil {
		s.partBytes = len(s.pending.Payload)
	}

	created := false
	if s.file == nil {
		if err := w.createFile(); err != nil {
			return err
		}
		created = true
	}
	data := buf.Bytes()
	n, err := s.file.Write(data)
	if err == nil && n < len(data) {
		err = fmt.Errorf("short write")
	}
	if err != nil {
		if n > 0 {
			// Cut the half-written part off, so the file still ends on a
			// box boundary (best effort: the disk is failing).
			_ = s.file.Truncate(s.written)
		}
		return fmt.Errorf("record: write %s: %w", s.path, err)
	}
	if !w.cfg.NoSync {
		if err := s.file.Sync(); err != nil {
			return fmt.Errorf("record: sync %s: %w", s.path, err)
		}
		if created {
			if err := w.fs.SyncDir(w.dir); err != nil {
				return fmt.Errorf("record: sync %s: %w", w.dir, err)
			}
		}
	}
	s.written += int64(n)
	s.nextSeq++
	wasFailed := w.failed
	w.failed = false
	w.r.setState(func(st *Status) {
		st.Parts++
		st.Bytes += uint64(n)
		if created {
			st.Segments++
			st.Segment = s.path
		}
		if wasFailed {
			st.Error = ""
		}
		st.State = StateRecording
	})
	return nil
}

// createFile creates the segment's file under a free name.
func (w *writer) createFile() error {
	s := w.seg
	for range maxNameTries {
		path := filepath.Join(w.dir, segmentFileName(s.start))
		f, err := w.fs.Create(path)
		if err == nil {
			s.path, s.file = path, f
			return nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("record: create %s: %w", path, err)
		}
		s.start = s.start.Add(time.Microsecond)
		w.lastStart = s.start
	}
	return fmt.Errorf("record: no free segment name near %s in %s", segmentFileName(s.start), w.dir)
}

// endSegment writes the last part of the segment and closes its file. The
// held picture must have been completed by the caller. Retention then
// runs, as a segment has just been finished.
func (w *writer) endSegment() error {
	s := w.seg
	if s == nil {
		return nil
	}
	err := w.flushPart()
	if s.file != nil {
		if cerr := s.file.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("record: close %s: %w", s.path, cerr)
		}
	}
	w.seg = nil
	if err == nil {
		w.enforceRetention()
	}
	return err
}

// fail abandons the segment after a write error and enters StateFailed.
func (w *writer) fail(err error) {
	if s := w.seg; s != nil && s.file != nil {
		_ = s.file.Close()
	}
	w.seg = nil
	w.failed = true
	w.failedAt = w.cfg.Clock.Now()
	w.needIDR = true
	w.resetDTS()
	w.r.setState(func(s *Status) {
		s.State = StateFailed
		s.Error = err.Error()
		s.Segment = ""
	})
}

// close writes what is held and closes the segment, at Close.
func (w *writer) close() error {
	if w.seg == nil {
		return nil
	}
	w.completePendingEstimate()
	s := w.seg
	err := w.flushPart()
	if s.file != nil {
		if cerr := s.file.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("record: close %s: %w", s.path, cerr)
		}
	}
	w.seg = nil
	return err
}

func (w *writer) skip() {
	w.r.setState(func(s *Status) { s.Skipped++ })
}

// ticksToSignedDuration converts ticks of a clock rate to a duration
// without overflowing.
func ticksToSignedDuration(t, rate int64) time.Duration {
	return time.Duration(t/rate)*time.Second + time.Duration(t%rate)*time.Second/time.Duration(rate)
}

// durationToTicks converts a duration to ticks of a clock rate without
// overflowing for long-running streams.
func durationToTicks(d time.Duration, rate int64) int64 {
	return int64(d/time.Second)*rate + int64(d%time.Second)*rate/int64(time.Second)
}
