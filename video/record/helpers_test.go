package record

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4/codecs"
	"go.uber.org/goleak"

	"github.com/ospreygcs/osprey/sitl"
)

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		// The re-executed test binary of TestCrashKeepsCompleteParts.
		os.Exit(crashChild())
	}
	goleak.VerifyTestMain(m)
}

// testAU is one encoded access unit with its presentation time.
type testAU struct {
	pts   time.Duration
	nalus [][]byte
	idr   bool
}

// testVideo caches encoded streams by shape: encoding is the slow part of
// these tests.
var (
	testVideoMu    sync.Mutex
	testVideoCache = map[string][]testAU{}
)

// testFrames encodes n pictures of a w x h moving square at fps with an
// IDR every gop pictures, with PTS from zero.
func testFrames(t testing.TB, w, h, fps, gop, n int) []testAU {
	t.Helper()
	key := strconv.Itoa(w) + "x" + strconv.Itoa(h) + "@" + strconv.Itoa(fps) + "/" + strconv.Itoa(gop) + "#" + strconv.Itoa(n)
	testVideoMu.Lock()
	defer testVideoMu.Unlock()
	if aus, ok := testVideoCache[key]; ok {
		return aus
	}
	enc, err := sitl.NewH264Encoder(sitl.H264EncoderConfig{Width: w, Height: h, FPS: fps, GOP: gop})
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	aus := make([]testAU, 0, n)
	for i := range n {
		for j := range img.Y {
			img.Y[j] = 40
		}
		for j := range img.Cb {
			img.Cb[j], img.Cr[j] = 128, 128
		}
		x0 := (i * 4) % (w - 32)
		for y := 8; y < 40 && y < h; y++ {
			for x := x0; x < x0+32; x++ {
				c := color.YCbCr{Y: 220, Cb: 90, Cr: 200}
				img.Y[img.YOffset(x, y)] = c.Y
				img.Cb[img.COffset(x, y)], img.Cr[img.COffset(x, y)] = c.Cb, c.Cr
			}
		}
		au, idr, err := enc.Encode(img)
		if err != nil {
			t.Fatal(err)
		}
		aus = append(aus, testAU{pts: time.Duration(i) * time.Second / time.Duration(fps), nalus: au, idr: idr})
	}
	testVideoCache[key] = aus
	return aus
}

// testEpoch is the wall-clock time of PTS zero in the tests.
var testEpoch = time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)

// feed writes aus with PTS shifted by offset, failing on anything but
// success. It waits for the recorder now and then so nothing is dropped.
func feed(t testing.TB, r *Recorder, aus []testAU, offset time.Duration) {
	t.Helper()
	for i, a := range aus {
		if i%64 == 63 {
			r.barrier() // the writer is slower than this loop: never overflow the queue
		}
		if err := r.WriteH264(a.pts+offset, testEpoch.Add(a.pts+offset), a.nalus); err != nil {
			t.Fatalf("WriteH264 at %v: %v", a.pts+offset, err)
		}
	}
}

// needFFmpeg skips the test when ffmpeg or ffprobe is missing.
func needFFmpeg(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (apt-get install ffmpeg): %v", tool, err)
		}
	}
}

// probeResult is what ffprobe says of a file.
type probeResult struct {
	duration float64
	size     int64
	frames   int
	codecs   []string
}

// ffprobe reads a file's duration, its video frame count and its codecs.
func ffprobe(t testing.TB, path string) probeResult {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-count_packets", "-show_entries",
		"format=duration,size:stream=codec_name,nb_read_packets", "-of", "json", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, out)
	}
	var v struct {
		Format struct {
			Duration string `json:"duration"`
			Size     string `json:"size"`
		} `json:"format"`
		Streams []struct {
			CodecName     string `json:"codec_name"`
			NbReadPackets string `json:"nb_read_packets"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("ffprobe output %s: %v", out, err)
	}
	var r probeResult
	r.duration, _ = strconv.ParseFloat(v.Format.Duration, 64)
	r.size, _ = strconv.ParseInt(v.Format.Size, 10, 64)
	for _, s := range v.Streams {
		r.codecs = append(r.codecs, s.CodecName)
		if s.CodecName == "h264" {
			r.frames, _ = strconv.Atoi(s.NbReadPackets)
		}
	}
	return r
}

// ffmpegDecode decodes every frame of path and fails on any decoder
// message.
func ffmpegDecode(t testing.TB, path string) {
	t.Helper()
	// The stream's own time base and no frame-rate conversion: a camera
	// paced by a busy machine sends pictures a few milliseconds apart,
	// which the null muxer's default 1/fps time base cannot tell apart.
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-fps_mode", "passthrough", "-enc_time_base", "-1",
		"-f", "null", "-").CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("ffmpeg decode %s: %v\n%s", path, err, out)
	}
}

// fileParts parses a segment with mediacommon (a parser independent of
// probeSegment) and returns its init section and parts.
func fileParts(t testing.TB, path string) (fmp4.Init, fmp4.Parts) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var init fmp4.Init
	if err := init.Unmarshal(bytes.NewReader(b)); err != nil {
		t.Fatalf("init of %s: %v", path, err)
	}
	var parts fmp4.Parts
	if err := parts.Unmarshal(b); err != nil {
		t.Fatalf("parts of %s: %v", path, err)
	}
	return init, parts
}

// segmentFiles lists the segment files of a stream directory, oldest first.
func segmentFiles(t testing.TB, dir string) []string {
	t.Helper()
	es, err := streamSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.path)
	}
	return out
}

// waitUntil polls cond until it holds or timeout passes.
func waitUntil(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// baseName is filepath.Base for messages.
func baseName(p string) string { return filepath.Base(p) }

// joinNames joins file base names for messages.
func joinNames(ps []string) string {
	var b []string
	for _, p := range ps {
		b = append(b, baseName(p))
	}
	return strings.Join(b, " ")
}

// spsWidth returns the picture width of an init track's H.264 codec.
func spsWidth(t testing.TB, c codecs.Codec) int {
	t.Helper()
	h, ok := c.(*codecs.H264)
	if !ok {
		t.Fatalf("codec %T, want H.264", c)
	}
	var sps h264.SPS
	if err := sps.Unmarshal(h.SPS); err != nil {
		t.Fatal(err)
	}
	return sps.Width()
}
