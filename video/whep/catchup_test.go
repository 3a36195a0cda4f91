package whep

import (
	"bytes"
	"io"
	"net/http"
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

// TestCatchUpYieldsToHandshakesForABoundedTime: while another viewer is
// still negotiating, a joining viewer gets its keyframe at once and holds
// the rest of its catch-up back, but only for a while: a viewer whose
// handshake never finishes cannot keep the others on their first picture.
func TestCatchUpYieldsToHandshakesForABoundedTime(t *testing.T) {
	r := newRig(t, Config{SetupTimeout: time.Minute}, rigCam{name: "sim/1", w: 320, h: 240, fps: 10, gop: 100})
	time.Sleep(1500 * time.Millisecond) // into the GOP: the cache holds P pictures
	api := clientAPI(t)

	// A viewer that offers and is never heard from again negotiates until
	// SetupTimeout, far beyond this test.
	pc, offer := makeOffer(t, api)
	_ = pc.Close()
	resp := post(t, r.url("sim/1"), "application/sdp", []byte(offer))
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || r.whep.handshakes.count() != 1 {
		t.Fatalf("POST = %d, %d negotiating, want 201 and 1", resp.StatusCode, r.whep.handshakes.count())
	}

	v := join(t, api, r.http.URL, r.url("sim/1"))
	defer v.leave(t)
	waitAU(t, v, 8*time.Second)
	if got := naluTypes(v.firstAU); got != "7,8,5" {
		t.Fatalf("first access unit NAL types %s, want 7,8,5", got)
	}
	// The cached P pictures (15 or so) and live ones follow all the same.
	waitFor(t, 10*time.Second, "the cached GOP and live pictures", func() bool { return v.auCount() >= 30 })
	var held time.Duration
	r.whep.mu.Lock()
	for _, se := range r.whep.sessions {
		held = max(held, time.Duration(se.catchUpHeld.Load()))
	}
	r.whep.mu.Unlock()
	if held == 0 {
		t.Fatal("the catch-up never waited for the other viewer's handshake")
	}
	if r.whep.handshakes.count() != 1 {
		t.Fatalf("%d negotiating, want the silent viewer still counted", r.whep.handshakes.count())
	}
}
