package missionxfer_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gomavlib/v3/pkg/dialects/common"

	"github.com/ospreygcs/osprey/mavlink"
	"github.com/ospreygcs/osprey/mavlink/missionxfer"
	"github.com/ospreygcs/osprey/sitl"
)

// TestMissionRoundTripUnderLoss uploads and downloads 500 mission items to
// the simulated ArduCopter on a clean link and with 20 % and 40 % of the
// messages lost in each direction, and checks the vehicle holds exactly what
// was sent each time.
func TestMissionRoundTripUnderLoss(t *testing.T) {
	r := newRig(t, sitl.VehicleConfig{Seed: 7})
	rtt := r.roundTrip(t)
	const n = 500
	for i, loss := range []float64{0, 0.2, 0.4} {
		r.sim.SetLoss(loss, loss)
		items := missionItems(n, i+1)
		o := lossy()
		var progress []int
		o.Progress = func(done, total int) {
			if total != n {
				t.Errorf("progress total %d", total)
			}
			progress = append(progress, done)
		}
		ctx := ctxFor(t, 60*time.Second)
		start := time.Now()
		if err := missionxfer.Upload(ctx, r.v, missionxfer.Mission, items, o); err != nil {
			t.Fatalf("upload at %.0f %% loss: %v", loss*100, err)
		}
		up := time.Since(start)
		if len(progress) == 0 || progress[len(progress)-1] != n {
			t.Errorf("upload progress ended at %v", progress[max(len(progress)-1, 0):])
		}
		if s := missionState(r.v); s.Status != mavlink.MissionInSync || s.Items != n-1 {
			t.Errorf("after upload: %+v", s)
		}
		// The simulator's ground truth, then the wire.
		stored := r.sim.Mission(common.MAV_MISSION_TYPE_MISSION)
		if len(stored) != n || int(stored[n-1].X) != int(items[n-1].X) {
			t.Fatalf("vehicle stores %d items", len(stored))
		}
		o.Progress = nil
		start = time.Now()
		got, err := missionxfer.Download(ctx, r.v, missionxfer.Mission, o)
		if err != nil {
			t.Fatalf("download at %.0f %% loss: %v", loss*100, err)
		}
		down := time.Since(start)
		sameItems(t, missionxfer.Mission, items, got)
		if got[0].X != int32(homeLat*1e7) || got[0].Frame != 0 {
			t.Errorf("item 0 is not home: %+v", got[0])
		}
		if err := missionxfer.Verify(ctx, r.v, missionxfer.Mission, items, o); err != nil {
			t.Errorf("verify: %v", err)
		}
		t.Logf("%d items at %2.0f %% loss each way: upload %6.2f s (%5.2f ms/item), download %6.2f s (%5.2f ms/item); "+
			"one round trip %v, so stop-and-wait on a clean link needs >= %.2f s",
			n, loss*100, up.Seconds(), 1000*up.Seconds()/n, down.Seconds(), 1000*down.Seconds()/n,
			rtt.Round(time.Microsecond), (time.Duration(n) * rtt).Seconds())
	}
}

// TestFenceAndRallyRoundTrip transfers the other two mission types, clean
// and at 30 % loss, and checks the mission is left alone.
func TestFenceAndRallyRoundTrip(t *testing.T) {
	r := newRig(t, sitl.VehicleConfig{Seed: 3})
	ctx := ctxFor(t, 60*time.Second)
	mission := missionItems(20, 9)
	if err := missionxfer.Upload(ctx, r.v, missionxfer.Mission, mission, missionxfer.Options{}); err != nil {
		t.Fatal(err)
	}
	for i, loss := range []float64{0, 0.3} {
		r.sim.SetLoss(loss, loss)
		o := lossy()
		fence := fenceItems(40, i) // 201 items
		rally := rallyItems(60, i)
		start := time.Now()
		if err := missionxfer.Upload(ctx, r.v, missionxfer.Fence, fence, o); err != nil {
			t.Fatalf("fence upload at %.0f %%: %v", loss*100, err)
		}
		if err := missionxfer.Upload(ctx, r.v, missionxfer.Rally, rally, o); err != nil {
			t.Fatalf("rally upload at %.0f %%: %v", loss*100, err)
		}
		gotFence, err := missionxfer.Download(ctx, r.v, missionxfer.Fence, o)
		if err != nil {
			t.Fatalf("fence download: %v", err)
		}
		gotRally, err := missionxfer.Download(ctx, r.v, missionxfer.Rally, o)
		if err != nil {
			t.Fatalf("rally download: %v", err)
		}
		t.Logf("%d fence + %d rally items up and down at %.0f %% loss: %.2f s", len(fence), len(rally), loss*100,
			time.Since(start).Seconds())
		sameItems(t, missionxfer.Fence, fence, gotFence)
		sameItems(t, missionxfer.Rally, rally, gotRally)
		for _, it := range gotFence {
			if it.Z != 0 || it.Frame != 0 {
				t.Fatalf("fence item as ArduPilot returns it has frame 0 and no altitude: %+v", it)
			}
		}
	}
	r.sim.SetLoss(0, 0)
	got, err := missionxfer.Download(ctx, r.v, missionxfer.Mission, missionxfer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sameItems(t, missionxfer.Mission, mission, got)
	// Clearing one type leaves the others.
	if err := missionxfer.Clear(ctx, r.v, missionxfer.Rally, missionxfer.Options{}); err != nil {
		t.Fatal(err)
	}
	if n := len(r.sim.Mission(common.MAV_MISSION_TYPE_RALLY)); n != 0 {
		t.Errorf("%d rally points after clear", n)
	}
	if n := len(r.sim.Mission(common.MAV_MISSION_TYPE_FENCE)); n != 201 {
		t.Errorf("%d fence items after clearing rally", n)
	}
	if got, err := missionxfer.Download(ctx, r.v, missionxfer.Rally, missionxfer.Options{}); err != nil || len(got) != 0 {
		t.Errorf("rally download after clear: %d items, %v", len(got), err)
	}
}

// TestInterruptedUpload cuts the link part-way through an upload that
// replaces an older mission: the upload must fail naming the item reached,
// osprey must mark the mission unknown, and the vehicle is left holding the
// start of the new mission followed by the rest of the old one.
func TestInterruptedUpload(t *testing.T) {
	r := newRig(t, sitl.VehicleConfig{Seed: 11})
	ctx := ctxFor(t, 30*time.Second)
	old := missionItems(120, 1)
	if err := missionxfer.Upload(ctx, r.v, missionxfer.Mission, old, missionxfer.Options{}); err != nil {
		t.Fatal(err)
	}
	const k = 40
	next := missionItems(200, 2)
	o := missionxfer.Options{AckTimeout: 300 * time.Millisecond, Retries: 3, Progress: func(done, _ int) {
		if done == k {
			r.sim.Outage(3 * time.Second) // longer than the 0.9 s the upload waits
		}
	}}
	start := time.Now()
	err := missionxfer.Upload(ctx, r.v, missionxfer.Mission, next, o)
	var xe *missionxfer.Error
	if !errors.Is(err, missionxfer.ErrTimeout) || !errors.As(err, &xe) {
		t.Fatalf("upload through an outage: %v", err)
	}
	t.Logf("after %.1f s: %v", time.Since(start).Seconds(), err)
	if xe.Seq < k || xe.Total != 200 || !strings.Contains(err.Error(), fmt.Sprintf("at item %d of 200", xe.Seq)) {
		t.Errorf("error names item %d of %d: %v", xe.Seq, xe.Total, err)
	}
	s := missionState(r.v)
	if s.Status != mavlink.MissionUnknown || !strings.Contains(s.Note, "failed at item") {
		t.Errorf("mission state after the failure: %+v", s)
	}
	// The vehicle: MISSION_COUNT(200) kept the 120 old items' slots, the new
	// items overwrote them from the front until the link went.
	stored := r.sim.Mission(common.MAV_MISSION_TYPE_MISSION)
	if len(stored) != 120 {
		t.Fatalf("vehicle holds %d items, want the old mission's 120 slots", len(stored))
	}
	is := func(st common.MessageMissionItemInt, it missionxfer.Item) bool {
		return st.X == it.X && st.Y == it.Y && st.Param2 == it.Param2 && math.Abs(float64(st.Z-it.Z)) < 0.011
	}
	boundary := 1
	for boundary < len(stored) && is(stored[boundary], next[boundary]) {
		boundary++
	}
	for i := boundary; i < len(stored); i++ {
		if !is(stored[i], old[i]) {
			t.Fatalf("item %d is neither new nor old: %+v", i, stored[i])
		}
	}
	t.Logf("the vehicle holds new items 1..%d and old items %d..119: a mix no ground station may call a mission",
		boundary-1, boundary)
	if boundary < xe.Seq || boundary > xe.Seq+missionxfer.DefaultWindow+1 || boundary >= 120 {
		t.Errorf("new items end at %d, the error says %d", boundary, xe.Seq)
	}
	// Once the link is back a fresh upload succeeds (ArduPilot lets the
	// ground station that started an upload restart it) and the state is in
	// sync again.
	time.Sleep(time.Until(start.Add(3500 * time.Millisecond)))
	if err := missionxfer.Upload(ctx, r.v, missionxfer.Mission, next, missionxfer.Options{Verify: true}); err != nil {
		t.Fatal(err)
	}
	if s := missionState(r.v); s.Status != mavlink.MissionInSync || s.Items != 199 {
		t.Errorf("after a good upload: %+v", s)
	}
}

// TestRejections checks that the vehicle's refusals come back as typed
// errors naming the result, and leave the transfer session free.
func TestRejections(t *testing.T) {
	r := newRig(t, sitl.VehicleConfig{Seed: 5})
	ctx := ctxFor(t, 30*time.Second)

	err := missionxfer.Upload(ctx, r.v, missionxfer.Mission, missionItems(800, 0), missionxfer.Options{})
	var xe *missionxfer.Error
	if !errors.Is(err, missionxfer.ErrRejected) || !errors.As(err, &xe) || xe.Result != "NO_SPACE" ||
		!strings.Contains(xe.VehicleText, "Only 724 items are supported") {
		t.Fatalf("800 items: %v", err)
	}
	t.Log(err)

	// A DO_JUMP to seq 0 is refused when it arrives; ArduPilot keeps the
	// items before it.
	items := missionItems(30, 0)
	items[12] = missionxfer.Item{Seq: 12, Frame: 2, Command: 177, Param1: 0, Param2: 1}
	err = missionxfer.Upload(ctx, r.v, missionxfer.Mission, items, missionxfer.Options{})
	if !errors.Is(err, missionxfer.ErrRejected) || !errors.As(err, &xe) || xe.Result != "ERROR" || xe.Seq != 12 {
		t.Fatalf("bad DO_JUMP: %v", err)
	}
	t.Log(err)
	if s := missionState(r.v); s.Status != mavlink.MissionUnknown {
		t.Errorf("after a rejected upload: %+v", s)
	}

	// Rally points must be relative to home.
	rally := rallyItems(3, 0)
	rally[1].Frame = 5
	err = missionxfer.Upload(ctx, r.v, missionxfer.Rally, rally, missionxfer.Options{})
	if !errors.As(err, &xe) || xe.Result != "UNSUPPORTED_FRAME" || xe.Seq != 1 {
		t.Fatalf("rally point in an absolute frame: %v", err)
	}

	// An invalid fence is refused as a whole: nothing of it is stored.
	fence := fenceItems(1, 0)
	fence[3].Param1 = 4 // a polygon whose vertices disagree on their count
	err = missionxfer.Upload(ctx, r.v, missionxfer.Fence, fence, missionxfer.Options{})
	if !errors.As(err, &xe) || (xe.Result != "ERROR" && !errors.Is(err, missionxfer.ErrMismatch)) {
		t.Fatalf("invalid fence: %v", err)
	}
	if n := len(r.sim.Mission(common.MAV_MISSION_TYPE_FENCE)); n != 0 {
		t.Errorf("an invalid fence left %d items", n)
	}

	// Verify names the first difference.
	good := missionItems(10, 3)
	if err := missionxfer.Upload(ctx, r.v, missionxfer.Mission, good, missionxfer.Options{}); err != nil {
		t.Fatal(err)
	}
	other := missionItems(10, 3)
	other[6].Z += 0.5
	err = missionxfer.Verify(ctx, r.v, missionxfer.Mission, other, missionxfer.Options{})
	if !errors.Is(err, missionxfer.ErrMismatch) || !errors.As(err, &xe) || xe.Seq != 6 || !strings.Contains(err.Error(), "altitude") {
		t.Fatalf("verify against a changed plan: %v", err)
	}
	t.Log(err)
	if s := missionState(r.v); s.Status != mavlink.MissionUnknown {
		t.Errorf("after a failed verify: %+v", s)
	}
	if err := missionxfer.Verify(ctx, r.v, missionxfer.Mission, good, missionxfer.Options{}); err != nil {
		t.Fatal(err)
	}
	if s := missionState(r.v); s.Status != mavlink.MissionInSync || s.Items != 9 {
		t.Errorf("after a good verify: %+v", s)
	}

	// Items out of order are the caller's mistake, found before sending.
	bad := missionItems(5, 0)
	bad[2].Seq = 7
	if err := missionxfer.Upload(ctx, r.v, missionxfer.Mission, bad, missionxfer.Options{}); !errors.Is(err, missionxfer.ErrInvalidItems) {
		t.Fatalf("items out of order: %v", err)
	}

	// One transfer at a time per vehicle.
	release, err := r.v.BeginTransfer("test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := missionxfer.Download(ctx, r.v, missionxfer.Mission, missionxfer.Options{}); !errors.Is(err, mavlink.ErrTransferBusy) {
		t.Errorf("download during another transfer: %v", err)
	}
	release()
	if _, err := missionxfer.Download(ctx, r.v, missionxfer.Mission, missionxfer.Options{}); err != nil {
		t.Errorf("download after release: %v", err)
	}
}
