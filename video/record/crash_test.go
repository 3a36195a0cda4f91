package record

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"

	"github.com/ospreygcs/osprey/sitl"
)

// crashChildEnv makes the test binary a recording child: it records a
// simulated camera into the directory the variable names, printing its
// part count, until it is killed.
const crashChildEnv = "OSPREY_RECORD_CRASH_DIR"

// crashChild is the child's main: camera -> RTSP -> recorder.
func crashChild() int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return 1
	}
	cam, err := sitl.NewCameraServer(sitl.CameraServerConfig{
		Address: "127.0.0.1:0",
		Cameras: []sitl.CameraConfig{{Name: "sim/1", Width: 320, Height: 240, FPS: 30, GOP: 30}},
	})
	if err != nil {
		return fail(err)
	}
	defer cam.Close()
	rec, err := New(Config{Dir: os.Getenv(crashChildEnv), StreamName: "sim/1", SegmentDuration: time.Minute})
	if err != nil {
		return fail(err)
	}
	defer rec.Close()

	u, err := base.ParseURL(cam.URL("sim/1"))
	if err != nil {
		return fail(err)
	}
	tcp := gortsplib.TransportTCP
	c := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Transport: &tcp}
	if err := c.Start2(); err != nil {
		return fail(err)
	}
	defer c.Close()
	desc, _, err := c.Describe(u)
	if err != nil {
		return fail(err)
	}
	var forma *format.H264
	medi := desc.FindFormat(&forma)
	if medi == nil {
		return fail(fmt.Errorf("no H.264"))
	}
	dec, err := forma.CreateDecoder()
	if err != nil {
		return fail(err)
	}
	if _, err := c.Setup(desc.BaseURL, medi, 0, 0); err != nil {
		return fail(err)
	}
	c.OnPacketRTP(medi, forma, func(pkt *rtp.Packet) {
		ticks, ok := c.PacketPTS2(medi, pkt)
		if !ok {
			return
		}
		pts := ticksToSignedDuration(ticks, int64(forma.ClockRate()))
		au, err := dec.Decode(pkt)
		if err != nil {
			return
		}
		ntp, _ := c.PacketNTP(medi, pkt)
		_ = rec.WriteH264(pts, ntp, au)
	})
	if _, err := c.Play(nil); err != nil {
		return fail(err)
	}
	// Report progress until killed; give up on our own after a minute in
	// case the parent died without killing us.
	last := uint64(0)
	for end := time.Now().Add(time.Minute); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if st := rec.Status(); st.Parts != last {
			last = st.Parts
			fmt.Printf("parts %d\n", last)
		}
	}
	return 1
}

// TestCrashKeepsCompleteParts kills a recording process mid-segment and
// checks that the segment plays up to its last complete part.
func TestCrashKeepsCompleteParts(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()

	// Wait for four parts on disk, then kill at once: mid-segment, and
	// usually mid-part.
	progress := make(chan int, 1000)
	go func() {
		defer close(progress)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "parts ")); err == nil {
				progress <- n
				if n >= 4 {
					return
				}
			}
		}
	}()
	parts := 0
	timeout := time.After(30 * time.Second)
	for parts < 4 {
		select {
		case n, ok := <-progress:
			if !ok {
				t.Fatalf("child ended after %d parts", parts)
			}
			parts = n
		case <-timeout:
			t.Fatalf("child wrote %d parts in 30 s", parts)
		}
	}
	time.Sleep(700 * time.Millisecond) // part of the next part, not all of it
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed = true
	_ = cmd.Wait()
	for range progress { // let the reader goroutine end
	}

	files := segmentFiles(t, filepath.Join(dir, "sim", "1"))
	if len(files) != 1 {
		t.Fatalf("segments %s, want one", joinNames(files))
	}
	info, err := os.Stat(files[0])
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	pr, err := probeSegment(f, info.Size())
	f.Close()
	if err != nil || pr.Parts < parts {
		t.Fatalf("probeSegment = %+v, %v; want at least the %d parts reported", pr, err, parts)
	}
	p := ffprobe(t, files[0])
	if p.duration < float64(parts)-1 {
		t.Errorf("ffprobe duration %.3f s after %d parts, want at least %d s", p.duration, parts, parts-1)
	}
	if pr.CompleteBytes < info.Size() {
		// Killed inside the write of a part: the torn tail is what a
		// crash loses; everything before it must decode cleanly.
		t.Logf("torn tail of %d bytes", info.Size()-pr.CompleteBytes)
		if err := os.Truncate(files[0], pr.CompleteBytes); err != nil {
			t.Fatal(err)
		}
	}
	ffmpegDecode(t, files[0])
	t.Logf("killed after %d parts reported; file has %d parts, %.3f s", parts, pr.Parts, p.duration)
}
