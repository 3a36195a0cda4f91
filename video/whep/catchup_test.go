package whep

import (
	"bytes"
	"slices"
	"testing"
	"time"
)

// TestViewersJoiningTogetherAllStartOnTheCachedKeyframe: joins at the
// same moment share the catch-up lane, and each still starts with the
// cached keyframe, whole, well before the camera's next one.
func TestViewersJoiningTogetherAllStartOnTheCachedKeyframe(t *testing.T) {
	r := newRig(t, Config{}, rigCam{name: "sim/1", w: 320, h: 240, fps: 10, gop: 100})
	time.Sleep(500 * time.Millisecond) // into the GOP: the cache holds P pictures too
	api := clientAPI(t)
	start := time.Now()
	var vs []*viewer
	for range 6 {
		v := join(t, api, r.http.URL, r.url("sim/1"))
		defer v.leave(t)
		vs = append(vs, v)
	}
	for i, v := range vs {
		waitAU(t, v, 8*time.Second)
		if got := naluTypes(v.firstAU); got != "7,8,5" {
			t.Fatalf("viewer %d: first access unit NAL types %s, want 7,8,5", i, got)
		}
		if !slices.EqualFunc(v.firstAU, vs[0].firstAU, bytes.Equal) {
			t.Fatalf("viewer %d started on a different keyframe than viewer 0", i)
		}
	}
	t.Logf("six viewers have the cached keyframe %v after the first POST", time.Since(start).Round(time.Millisecond))
	for _, v := range vs {
		waitFor(t, 5*time.Second, "pictures after the keyframe", func() bool { return v.auCount() >= 10 })
	}
}
