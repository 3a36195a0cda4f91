package record

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ospreygcs/osprey/internal/clock"
)

// faultFS is the real file system with switches: a full disk (writes
// store half their bytes and fail with ENOSPC, as a disk filling up
// mid-write does) and a stuck disk (writes wait until released).
type faultFS struct {
	osFS
	mu    sync.Mutex
	full  bool
	stuck chan struct{} // non-nil: writes wait for it to be closed
}

func (f *faultFS) setFull(on bool) {
	f.mu.Lock()
	f.full = on
	f.mu.Unlock()
}

func (f *faultFS) Create(path string) (segmentFile, error) {
	file, err := f.osFS.Create(path)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file.(*os.File), fs: f}, nil
}

type faultFile struct {
	*os.File
	fs *faultFS
}

func (f *faultFile) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	full, stuck := f.fs.full, f.fs.stuck
	f.fs.mu.Unlock()
	if stuck != nil {
		<-stuck
	}
	if full {
		n, _ := f.File.Write(p[:len(p)/2])
		return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	return f.File.Write(p)
}

// TestFullDisk: a write error stops the recording with the error in
// Status, the writer is never blocked, the torn part is cut off, and the
// recorder starts a new segment once the disk has room and RetryPause has
// passed.
func TestFullDisk(t *testing.T) {
	dir := t.TempDir()
	aus := testFrames(t, 320, 180, 30, 30, 90)
	clk := clock.NewFake(testEpoch)
	ffs := &faultFS{}
	cfg := Config{Dir: dir, StreamName: "cam", Clock: clk, RetryPause: 10 * time.Second,
		SegmentDuration: time.Minute, PartDuration: time.Second, MaxPartBytes: DefaultMaxPartBytes,
		QueueLen: 64, QueueBytes: DefaultQueueBytes, RetentionInterval: time.Hour}
	r, err := newRecorder(cfg, filepath.Join(dir, "cam"), ffs)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	feed(t, r, aus, 0) // 0-3 s: two parts written, the third held
	r.barrier()
	if st := r.Status(); st.State != StateRecording || st.Parts != 2 {
		t.Fatalf("status %+v, want recording with 2 parts", st)
	}
	ffs.setFull(true)
	feed(t, r, aus, 3*time.Second) // the third part's write fails
	r.barrier()
	st := r.Status()
	if st.State != StateFailed || !strings.Contains(st.Error, "no space left on device") || st.Parts != 2 || st.Segment != "" {
		t.Fatalf("status %+v, want failed with ENOSPC after 2 parts", st)
	}
	// The writer never waits while the recorder is failed: a long burst
	// goes through or is dropped, nothing blocks.
	for i := range 20 {
		for _, a := range aus {
			pts := a.pts + time.Duration(6+3*i)*time.Second
			if err := r.WriteH264(pts, time.Time{}, a.nalus); err != nil && !errors.Is(err, ErrQueueFull) {
				t.Fatal(err)
			}
		}
	}
	r.barrier()
	files := segmentFiles(t, filepath.Join(dir, "cam"))
	if len(files) != 1 {
		t.Fatalf("segments %s", joinNames(files))
	}
	// The half-written part was cut off: the file ends on its last good part.
	info, _ := os.Stat(files[0])
	fh, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	pr, err := probeSegment(fh, info.Size())
	fh.Close()
	if err != nil || pr.Parts != 2 || pr.CompleteBytes != info.Size() {
		t.Fatalf("after the failure: %+v, %v; size %d", pr, err, info.Size())
	}

	// Room again; within RetryPause nothing is tried, after it a new
	// segment starts at the next keyframe.
	ffs.setFull(false)
	feed(t, r, aus, 66*time.Second)
	r.barrier()
	if st := r.Status(); st.State != StateFailed {
		t.Fatalf("status %+v, want still failed before RetryPause", st)
	}
	clk.Advance(10 * time.Second)
	feed(t, r, aus, 69*time.Second)
	r.barrier()
	st = r.Status()
	if st.State != StateRecording || st.Error != "" || st.Segments != 2 || st.Parts != 4 {
		t.Fatalf("status %+v, want recording again in a second segment", st)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	files = segmentFiles(t, filepath.Join(dir, "cam"))
	if len(files) != 2 {
		t.Fatalf("segments %s, want 2", joinNames(files))
	}
	needFFmpeg(t)
	for _, f := range files {
		ffmpegDecode(t, f)
	}
	if p := ffprobe(t, files[0]); p.duration < 1.95 || p.duration > 2.05 {
		t.Errorf("first segment lasts %.3f s, want 2", p.duration)
	}
}

// TestQueueFullDropsAndResumesAtKeyframe: while the disk is stuck the
// queue fills, writes are dropped and counted instead of blocking, and
// when it moves again the recording resumes at a keyframe, decodable.
func TestQueueFullDropsAndResumesAtKeyframe(t *testing.T) {
	dir := t.TempDir()
	aus := testFrames(t, 320, 180, 30, 30, 90)
	ffs := &faultFS{stuck: make(chan struct{})}
	cfg := Config{Dir: dir, StreamName: "cam", Clock: clock.NewFake(testEpoch), RetryPause: time.Second,
		SegmentDuration: time.Minute, PartDuration: time.Second, MaxPartBytes: DefaultMaxPartBytes,
		QueueLen: 16, QueueBytes: DefaultQueueBytes, RetentionInterval: time.Hour, NoSync: true}
	r, err := newRecorder(cfg, filepath.Join(dir, "cam"), ffs)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var dropped uint64
	for _, a := range aus {
		switch err := r.WriteH264(a.pts, time.Time{}, a.nalus); {
		case errors.Is(err, ErrQueueFull):
			dropped++
		case err != nil:
			t.Fatal(err)
		}
	}
	if st := r.Status(); dropped == 0 || st.Dropped != dropped {
		t.Fatalf("dropped %d, status %+v", dropped, st)
	}
	ffs.mu.Lock()
	close(ffs.stuck)
	ffs.stuck = nil
	ffs.mu.Unlock()
	// Resume mid-GOP: the P frames before the next keyframe reference
	// pictures that were dropped, so they must be skipped.
	for i, a := range aus[10:] {
		if i%8 == 0 {
			r.barrier() // keep this part of the test free of drops
		}
		if err := r.WriteH264(a.pts+3*time.Second, time.Time{}, a.nalus); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	st := r.Status()
	files := segmentFiles(t, filepath.Join(dir, "cam"))
	if len(files) != 1 {
		t.Fatalf("segments %s", joinNames(files))
	}
	_, parts := fileParts(t, files[0])
	var samples int
	for _, p := range parts {
		samples += len(p.Tracks[0].Samples)
		if p.Tracks[0].Samples[0].IsNonSyncSample {
			t.Errorf("part %d starts with a non-keyframe", p.SequenceNumber)
		}
	}
	if st.Skipped < 20 || uint64(samples) != 170-st.Dropped-st.Skipped || samples < 60 {
		t.Errorf("%d samples recorded of 170, status %+v", samples, st)
	}
	needFFmpeg(t)
	ffmpegDecode(t, files[0])
}
