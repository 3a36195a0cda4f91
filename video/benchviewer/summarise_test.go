package benchviewer

import (
	"errors"
	"testing"
	"time"
)

// TestSummarise checks the figures on made-up records: two viewers, one
// failed, ten reference pictures 100 ms apart captured 5 ms before they
// reached the reference.
func TestSummarise(t *testing.T) {
	t0 := time.Unix(1000, 0)
	start, end := t0, t0.Add(2*time.Second)
	ref := map[uint64]refFrame{}
	for i := range 10 {
		at := t0.Add(time.Duration(i)*100*time.Millisecond + 50*time.Millisecond)
		ref[uint64(i+1)] = refFrame{at: at, capture: at.Add(-5 * time.Millisecond)}
	}
	// Viewer A gets every picture 20 ms after the reference, one of them
	// broken; viewer B misses two and gets the rest 40 ms late.
	a := &viewer{postAt: t0.Add(-time.Second), firstKeyAt: t0.Add(-700 * time.Millisecond), inWindow: true,
		received: 95, minExt: 100, maxExt: 199, bytes: 125000}
	a.caughtUpAt = t0.Add(-600 * time.Millisecond)
	b := &viewer{postAt: t0.Add(-time.Second), firstKeyAt: t0.Add(-500 * time.Millisecond), inWindow: true,
		received: 100, minExt: 0, maxExt: 99, bytes: 125000, beforeKey: 2}
	for k, rf := range ref {
		a.frames = append(a.frames, frame{key: k, complete: k != 6, at: rf.at.Add(20 * time.Millisecond)})
		if k != 7 && k != 8 {
			b.frames = append(b.frames, frame{key: k, complete: true, at: rf.at.Add(40 * time.Millisecond)})
		}
	}
	a.frames = append(a.frames, frame{key: 99, complete: true, at: t0.Add(-time.Second)}) // before the window
	var res Result
	res.WindowS = 2
	summarise(&res, []*viewer{a, b, nil}, []error{nil, nil, errors.New("boom")}, ref, start, end)

	if res.Connected != 2 || res.Failed != 1 || len(res.Errors) != 1 || res.Errors[0] != "boom" || res.LateStarts != 1 {
		t.Errorf("connected %d, failed %d %v, late %d", res.Connected, res.Failed, res.Errors, res.LateStarts)
	}
	if res.TTFFMs.P50 != 500 || res.TTFFMs.Max != 500 || res.TTFFMs.Count != 2 {
		t.Errorf("TTFF %+v", res.TTFFMs)
	}
	// B never caught up before the window.
	if res.CaughtUpMs.P50 != 400 || res.CaughtUpMs.Count != 1 || res.NotCaughtUp != 1 {
		t.Errorf("caught up %+v, %d not", res.CaughtUpMs, res.NotCaughtUp)
	}
	if res.Packets != 195 || res.PacketsLost != 5 || res.LossPct != 100*5.0/200 {
		t.Errorf("packets %d lost %d (%.2f%%)", res.Packets, res.PacketsLost, res.LossPct)
	}
	// Pictures whose reference arrival is inside the window's edges
	// (500..1500 ms): keys 6..10. A broke key 6, B missed 7 and 8.
	if res.RefFrames != 5 || res.FramesExpected != 10 || res.FramesMissing != 3 {
		t.Errorf("reference pictures %d, expected %d, missing %d", res.RefFrames, res.FramesExpected, res.FramesMissing)
	}
	if res.Frames != 18 || res.FramesIncomplete != 1 {
		t.Errorf("frames %d, incomplete %d", res.Frames, res.FramesIncomplete)
	}
	if res.HopMs.Count != 17 || res.HopMs.P50 != 20 || res.HopMs.Max != 40 || res.AgeMs.P50 != 25 || res.AgeMs.Max != 45 ||
		res.RefLagMs.P50 != 5 || res.RefLagMs.Count != 5 {
		t.Errorf("hop %+v, age %+v, reference lag %+v", res.HopMs, res.AgeMs, res.RefLagMs)
	}
	if res.MbpsPerViewer != 0.5 {
		t.Errorf("%.3f Mbit/s per viewer", res.MbpsPerViewer)
	}
}
