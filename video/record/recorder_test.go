package record

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ospreygcs/osprey/internal/clock"
)

// TestSegmentsAndParts records 25 s of 30 fps video with an IDR a second
// into 10 s segments of 1 s parts, and checks the files with mediacommon,
// probeSegment, ffprobe and a full ffmpeg decode.
func TestSegmentsAndParts(t *testing.T) {
	dir := t.TempDir()
	aus := testFrames(t, 320, 180, 30, 30, 750)
	clk := clock.NewFake(testEpoch)
	r, err := New(Config{Dir: dir, StreamName: "sim/1", SegmentDuration: 10 * time.Second, Clock: clk, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	feed(t, r, aus, 0)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteH264(0, time.Time{}, aus[0].nalus); !errors.Is(err, ErrClosed) {
		t.Fatalf("WriteH264 after Close = %v, want ErrClosed", err)
	}
	st := r.Status()
	if st.State != StateClosed || st.Segments != 3 || st.Parts != 25 || st.Dropped != 0 || st.Skipped != 0 {
		t.Fatalf("status %+v, want closed, 3 segments, 25 parts, nothing dropped or skipped", st)
	}

	files := segmentFiles(t, filepath.Join(dir, "sim", "1"))
	wantNames := []string{"2031-05-06_07-08-09.000000.mp4", "2031-05-06_07-08-19.000000.mp4", "2031-05-06_07-08-29.000000.mp4"}
	if len(files) != 3 {
		t.Fatalf("segments %s, want %v", joinNames(files), wantNames)
	}
	wantSecs := []float64{10, 10, 5}
	for i, f := range files {
		if baseName(f) != wantNames[i] {
			t.Errorf("segment %d is %s, want %s (UTC start of its first picture)", i, baseName(f), wantNames[i])
		}
		init, parts := fileParts(t, f)
		if len(init.Tracks) != 1 || init.Tracks[0].TimeScale != videoTimescale {
			t.Errorf("%s: init tracks %+v", baseName(f), init.Tracks)
		}
		if len(parts) != int(wantSecs[i]) {
			t.Errorf("%s: %d parts, want %v (one a second)", baseName(f), len(parts), wantSecs[i])
		}
		var base uint64
		for j, p := range parts {
			if p.SequenceNumber != uint32(j+1) || len(p.Tracks) != 1 || len(p.Tracks[0].Samples) != 30 {
				t.Fatalf("%s part %d: seq %d, %d tracks, want seq %d with 30 samples", baseName(f), j, p.SequenceNumber, len(p.Tracks), j+1)
			}
			if p.Tracks[0].BaseTime != base {
				t.Errorf("%s part %d starts at %d, want %d", baseName(f), j, p.Tracks[0].BaseTime, base)
			}
			if p.Tracks[0].Samples[0].IsNonSyncSample {
				t.Errorf("%s part %d does not start on a keyframe", baseName(f), j)
			}
			for _, s := range p.Tracks[0].Samples {
				base += uint64(s.Duration)
			}
		}
		info, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		pr, err := probeSegment(fh, info.Size())
		fh.Close()
		if err != nil || pr.Parts != len(parts) || pr.CompleteBytes != info.Size() || math.Abs(pr.Duration.Seconds()-wantSecs[i]) > 0.001 {
			t.Errorf("%s: probeSegment = %+v, %v; want %d parts, %d bytes, %vs", baseName(f), pr, err, len(parts), info.Size(), wantSecs[i])
		}
	}

	needFFmpeg(t)
	for i, f := range files {
		p := ffprobe(t, f)
		info, _ := os.Stat(f)
		if math.Abs(p.duration-wantSecs[i]) > 0.05 || p.frames != int(wantSecs[i])*30 || strings.Join(p.codecs, ",") != "h264" ||
			p.size != info.Size() {
			t.Errorf("ffprobe %s: %+v, want %vs, %v frames of h264", baseName(f), p, wantSecs[i], wantSecs[i]*30)
		}
		ffmpegDecode(t, f)
	}

	// List sees the same.
	segs, err := List(dir)
	if err != nil || len(segs) != 3 {
		t.Fatalf("List = %v, %v", segs, err)
	}
	for i, s := range segs {
		if s.Stream != "sim/1" || s.Path != files[i] || !s.Start.Equal(testEpoch.Add(time.Duration(i)*10*time.Second)) ||
			math.Abs(s.Duration.Seconds()-wantSecs[i]) > 0.001 || s.Bytes == 0 {
			t.Errorf("List[%d] = %+v", i, s)
		}
	}
}

// TestNewSegmentOnOutageAndNewParameters: a jump in the timestamps (the
// source was away) and new parameter sets (a new resolution) each start a
// new segment at the next keyframe, before the segment duration.
func TestNewSegmentOnOutageAndNewParameters(t *testing.T) {
	dir := t.TempDir()
	small := testFrames(t, 320, 180, 30, 30, 90)
	big := testFrames(t, 352, 288, 30, 30, 60)
	r, err := New(Config{Dir: dir, StreamName: "cam", Clock: clock.NewFake(testEpoch), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	feed(t, r, small, 0)                   // 0-3 s
	feed(t, r, small, 20*time.Second)      // an outage, 20-23 s
	feed(t, r, big, 23*time.Second)        // new resolution, 23-25 s
	feed(t, r, small[:45], 25*time.Second) // back, 25-26.5 s
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	files := segmentFiles(t, filepath.Join(dir, "cam"))
	if len(files) != 4 {
		t.Fatalf("segments %s, want 4", joinNames(files))
	}
	wantSecs := []float64{3, 3, 2, 1.5}
	wantWidth := []int{320, 320, 352, 320}
	for i, f := range files {
		init, parts := fileParts(t, f)
		var n int
		for _, p := range parts {
			n += len(p.Tracks[0].Samples)
		}
		if n != int(wantSecs[i]*30) {
			t.Errorf("%s: %d samples, want %v", baseName(f), n, wantSecs[i]*30)
		}
		sps := init.Tracks[0].Codec
		if w := spsWidth(t, sps); w != wantWidth[i] {
			t.Errorf("%s: width %d, want %d", baseName(f), w, wantWidth[i])
		}
	}
	if want := "2031-05-06_07-08-29.000000.mp4"; baseName(files[1]) != want {
		t.Errorf("segment after the outage is %s, want %s", baseName(files[1]), want)
	}
	needFFmpeg(t)
	for i, f := range files {
		if p := ffprobe(t, f); math.Abs(p.duration-wantSecs[i]) > 0.05 {
			t.Errorf("ffprobe %s: %+v, want %vs", baseName(f), p, wantSecs[i])
		}
		ffmpegDecode(t, f)
	}
}

// TestWaitsForParametersAndKeyframe: pictures before the first keyframe,
// and keyframes while the parameter sets are unknown, are skipped; a
// keyframe without in-band parameter sets gets them from the stream.
func TestWaitsForParametersAndKeyframe(t *testing.T) {
	dir := t.TempDir()
	aus := testFrames(t, 320, 180, 30, 30, 90)
	r, err := New(Config{Dir: dir, StreamName: "cam", Clock: clock.NewFake(testEpoch), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	// A keyframe without SPS/PPS, then P frames: nothing to record yet.
	feed(t, r, []testAU{{pts: 0, nalus: aus[0].nalus[2:]}}, 0)
	feed(t, r, aus[1:30], 0)
	r.barrier()
	if st := r.Status(); st.State != StateWaiting || st.Skipped != 30 {
		t.Fatalf("status %+v, want waiting with 30 skipped", st)
	}
	// Parameter sets alone, then keyframes without them: recorded.
	if err := r.WriteH264(999*time.Millisecond, time.Time{}, aus[0].nalus[:2]); err != nil {
		t.Fatal(err)
	}
	for _, a := range aus[30:] {
		nalus := a.nalus
		if a.idr {
			nalus = nalus[2:]
		}
		if err := r.WriteH264(a.pts, testEpoch.Add(a.pts), nalus); err != nil {
			t.Fatal(err)
		}
	}
	r.barrier()
	if st := r.Status(); st.State != StateRecording || st.Skipped != 31 {
		t.Fatalf("status %+v, want recording with 31 skipped", st)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	files := segmentFiles(t, filepath.Join(dir, "cam"))
	if len(files) != 1 {
		t.Fatalf("segments %s", joinNames(files))
	}
	_, parts := fileParts(t, files[0])
	if len(parts) != 2 {
		t.Fatalf("%d parts, want 2", len(parts))
	}
	needFFmpeg(t)
	ffmpegDecode(t, files[0])
}

// TestOpusTrack records Opus alongside the video.
func TestOpusTrack(t *testing.T) {
	dir := t.TempDir()
	aus := testFrames(t, 320, 180, 30, 30, 90)
	r, err := New(Config{Dir: dir, StreamName: "cam", Audio: AudioOpus, AudioChannels: 2, Clock: clock.NewFake(testEpoch), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	// A silent 20 ms CELT frame, as WebRTC sends in silence.
	silence := []byte{0xf8, 0xff, 0xfe}
	next := time.Duration(0)
	for _, a := range aus {
		for ; next <= a.pts; next += 20 * time.Millisecond {
			if err := r.WriteOpus(next, silence); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.WriteH264(a.pts, time.Time{}, a.nalus); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	files := segmentFiles(t, filepath.Join(dir, "cam"))
	if len(files) != 1 {
		t.Fatalf("segments %s", joinNames(files))
	}
	init, parts := fileParts(t, files[0])
	if len(init.Tracks) != 2 || init.Tracks[1].TimeScale != opusTimescale {
		t.Fatalf("init tracks %+v", init.Tracks)
	}
	var audio int
	for _, p := range parts {
		for _, tr := range p.Tracks {
			if tr.ID == audioTrackID {
				audio += len(tr.Samples)
			}
		}
	}
	// The first packet (at PTS 0, with the keyframe) is queued before the
	// segment exists and skipped; the last picture is at 2.967 s.
	if audio < 145 || audio > 150 {
		t.Errorf("%d audio samples, want about 149", audio)
	}
	needFFmpeg(t)
	p := ffprobe(t, files[0])
	if strings.Join(p.codecs, ",") != "h264,opus" || math.Abs(p.duration-3) > 0.05 {
		t.Errorf("ffprobe: %+v, want h264 and opus, 3 s", p)
	}
	ffmpegDecode(t, files[0])
}

// TestIdleFlush: a source that stops sending still gets its last part on
// disk once two part durations have passed.
func TestIdleFlush(t *testing.T) {
	dir := t.TempDir()
	aus := testFrames(t, 320, 180, 30, 30, 90)
	clk := clock.NewFake(testEpoch)
	r, err := New(Config{Dir: dir, StreamName: "cam", Clock: clk, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	feed(t, r, aus[:45], 0) // 1.5 s: one part written, half a part held
	r.barrier()
	if st := r.Status(); st.Parts != 1 {
		t.Fatalf("status %+v, want 1 part", st)
	}
	waitUntil(t, 10*time.Second, "the idle flush", func() bool {
		clk.Advance(500 * time.Millisecond)
		r.barrier()
		return r.Status().Parts == 2
	})
	files := segmentFiles(t, filepath.Join(dir, "cam"))
	_, parts := fileParts(t, files[0])
	if len(parts) != 2 || len(parts[1].Tracks[0].Samples) != 15 {
		t.Fatalf("%d parts, want 2, the second with 15 pictures", len(parts))
	}
}

// TestConfigErrors: New refuses what it cannot use.
func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		cfg  Config
		want error
	}{
		{"no dir", Config{StreamName: "a"}, ErrBadConfig},
		{"no name", Config{Dir: dir}, ErrBadStreamName},
		{"dotdot", Config{Dir: dir, StreamName: "a/../../b"}, ErrBadStreamName},
		{"negative", Config{Dir: dir, StreamName: "a", MaxAge: -time.Second}, ErrBadConfig},
		{"part > segment", Config{Dir: dir, StreamName: "a", SegmentDuration: time.Second, PartDuration: 2 * time.Second}, ErrBadConfig},
		{"audio codec", Config{Dir: dir, StreamName: "a", Audio: 9}, ErrBadConfig},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := New(c.cfg)
			if !errors.Is(err, c.want) {
				if r != nil {
					r.Close()
				}
				t.Fatalf("New = %v, want %v", err, c.want)
			}
		})
	}
}
