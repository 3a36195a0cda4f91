package whep

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestViewerGetsDecodableH264(t *testing.T) {
	r := newRig(t, Config{}, rigCam{name: "sim/1", w: 320, h: 240, fps: 15, gop: 15})
	api := clientAPI(t)
	v := join(t, api, r.http.URL, r.url("sim/1"))
	defer v.leave(t)
	waitAU(t, v, 10*time.Second)
	if got := naluTypes(v.firstAU); got != "7,8,5" {
		t.Fatalf("first access unit NAL types = %s, want 7,8,5 (SPS, PPS, IDR)", got)
	}
	waitFor(t, 5*time.Second, "more access units", func() bool { return v.auCount() >= 10 })
}
