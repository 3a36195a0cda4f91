package whep

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBrowserPlaysStream plays a simulated camera in headless Chromium
// through WHEP and checks getStats: framesDecoded must keep rising. It
// needs /usr/bin/chromium (apt-get install chromium), node, and
// e2e/node_modules (npm ci in e2e/); it skips without them.
func TestBrowserPlaysStream(t *testing.T) {
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("no Chromium at %s (apt-get install chromium): %v", chromium, err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not on PATH")
	}
	e2e, err := filepath.Abs(filepath.Join("..", "..", "e2e"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(e2e, "node_modules", "playwright-core")); err != nil {
		t.Skipf("e2e/node_modules missing (run npm ci in %s): %v", e2e, err)
	}

	r := newRig(t, Config{}, rigCam{name: "sim/1", w: 640, h: 360, fps: 15, gop: 30})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(e2e, "whep.mjs"), "--url", r.url("sim/1"),
		"--frames", "30", "--timeout", "30000")
	cmd.Dir = e2e
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, runErr := cmd.Output()

	// The last line is the verdict.
	var last string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			last = l
		}
	}
	var res struct {
		OK               bool   `json:"ok"`
		Error            string `json:"error"`
		FramesDecoded    int    `json:"framesDecoded"`
		KeyFramesDecoded int    `json:"keyFramesDecoded"`
		Width            int    `json:"width"`
		Height           int    `json:"height"`
		Codec            string `json:"codec"`
		AnswerMs         int    `json:"answerMs"`
		FirstFrameMs     int    `json:"firstFrameMs"`
	}
	if err := json.Unmarshal([]byte(last), &res); err != nil {
		t.Fatalf("browser run: %v; no verdict (%v)\nstdout:\n%s\nstderr:\n%s", runErr, err, out, stderr.String())
	}
	t.Logf("Chromium: %+v", res)
	if !res.OK || runErr != nil {
		t.Fatalf("browser did not play: %+v (%v)\nstdout:\n%s\nstderr:\n%s", res, runErr, out, stderr.String())
	}
	if res.FramesDecoded < 30 || res.Width != 640 || res.Height != 360 || !strings.EqualFold(res.Codec, "video/H264") {
		t.Fatalf("stats %+v, want >= 30 H.264 frames of 640x360", res)
	}
	// The browser DELETEd its session on the way out.
	waitFor(t, 10*time.Second, "the browser's session to end", func() bool { return r.whep.Sessions() == 0 })
}
