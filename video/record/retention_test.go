package record

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ospreygcs/osprey/internal/clock"
)

// testSegmentBytes returns a real 2 s segment file's bytes.
func testSegmentBytes(t testing.TB) []byte {
	t.Helper()
	dir := t.TempDir()
	r, err := New(Config{Dir: dir, StreamName: "x", Clock: clock.NewFake(testEpoch), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	feed(t, r, testFrames(t, 320, 180, 30, 30, 60), 0)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	files := segmentFiles(t, filepath.Join(dir, "x"))
	if len(files) != 1 {
		t.Fatalf("segments %s", joinNames(files))
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o640); err != nil {
		t.Fatal(err)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestRetentionByAge: segments that ended more than MaxAge ago are deleted
// at start and by the periodic check; younger ones, other streams' and
// other files are kept.
func TestRetentionByAge(t *testing.T) {
	dir := t.TempDir()
	seg := testSegmentBytes(t) // lasts 2 s
	now := testEpoch
	streamDir := filepath.Join(dir, "cam")
	at := func(ago time.Duration) string {
		return filepath.Join(streamDir, segmentFileName(now.Add(-ago)))
	}
	old1, old2, old3 := at(10*time.Minute), at(5*time.Minute), at(90*time.Second)
	straddling := at(61 * time.Second) // ends 59 s ago: inside MaxAge
	young := at(30 * time.Second)
	other := filepath.Join(streamDir, "sub", segmentFileName(now.Add(-time.Hour))) // stream "cam/sub"
	notes := filepath.Join(streamDir, "notes.txt")
	for _, p := range []string{old1, old2, old3, straddling, young, other, notes} {
		writeFile(t, p, seg)
	}

	clk := clock.NewFake(now)
	r, err := New(Config{Dir: dir, StreamName: "cam", MaxAge: time.Minute, RetentionInterval: 10 * time.Second, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.barrier()
	for _, p := range []string{old1, old2, old3} {
		if exists(p) {
			t.Errorf("%s is older than MaxAge and still there", baseName(p))
		}
	}
	for _, p := range []string{straddling, young, other, notes} {
		if !exists(p) {
			t.Errorf("%s was deleted", p)
		}
	}
	if st := r.Status(); st.Deleted != 3 {
		t.Errorf("status %+v, want 3 deleted", st)
	}

	// A minute later the periodic check removes the other two.
	clk.Advance(time.Minute)
	waitUntil(t, 10*time.Second, "the periodic retention", func() bool { return !exists(straddling) && !exists(young) })
	if !exists(other) || !exists(notes) {
		t.Error("retention touched another stream's segment or a foreign file")
	}
	if st := r.Status(); st.Deleted != 5 {
		t.Errorf("status %+v, want 5 deleted", st)
	}
}

// TestRetentionBySize: while recording, the oldest segments go so that the
// finished ones stay within MaxBytes; the one being written is never
// deleted.
func TestRetentionBySize(t *testing.T) {
	dir := t.TempDir()
	aus := testFrames(t, 320, 180, 30, 30, 300) // 10 s
	segBytes := int64(len(testSegmentBytes(t)))
	maxBytes := segBytes*5/2 + segBytes/10
	r, err := New(Config{Dir: dir, StreamName: "cam", SegmentDuration: 2 * time.Second, MaxBytes: maxBytes,
		Clock: clock.NewFake(testEpoch), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	feed(t, r, aus, 0)
	r.barrier()
	st := r.Status()
	if st.Segments != 5 || st.Deleted != 2 {
		t.Fatalf("status %+v, want 5 segments written, 2 deleted", st)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	files := segmentFiles(t, filepath.Join(dir, "cam"))
	want := []string{"2031-05-06_07-08-13.000000.mp4", "2031-05-06_07-08-15.000000.mp4", "2031-05-06_07-08-17.000000.mp4"}
	if len(files) != 3 {
		t.Fatalf("segments %s, want %v", joinNames(files), want)
	}
	var total int64
	for i, f := range files {
		if baseName(f) != want[i] {
			t.Errorf("segment %d is %s, want %s", i, baseName(f), want[i])
		}
		info, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if i < len(files)-1 {
			total += info.Size()
		}
	}
	if total > maxBytes {
		t.Errorf("finished segments take %d bytes, MaxBytes %d", total, maxBytes)
	}
}
