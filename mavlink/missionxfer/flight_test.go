package missionxfer_test

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ospreygcs/osprey/mavlink"
	"github.com/ospreygcs/osprey/mavlink/missionxfer"
	"github.com/ospreygcs/osprey/sitl"
)

// offset returns the degE7 position north and east metres from home.
func offset(northM, eastM float64) (int32, int32) {
	lat := homeLat + northM/111319.5
	lon := homeLon + eastM/(111319.5*math.Cos(homeLat*math.Pi/180))
	return int32(math.Round(lat * 1e7)), int32(math.Round(lon * 1e7))
}

func distanceM(lat1, lon1, lat2, lon2 float64) float64 {
	dx := (lon2 - lon1) * 111319.5 * math.Cos(lat1*math.Pi/180)
	dy := (lat2 - lat1) * 111319.5
	return math.Hypot(dx, dy)
}

// subsequence reports whether sub appears in seq in order.
func subsequence(sub, seq []int) bool {
	for _, x := range seq {
		if len(sub) > 0 && sub[0] == x {
			sub = sub[1:]
		}
	}
	return len(sub) == 0
}

func hasText(s mavlink.State, substr string) bool {
	return slices.ContainsFunc(s.StatusTexts, func(st mavlink.StatusText) bool { return strings.Contains(st.Text, substr) })
}

// TestAutoMission uploads takeoff, three waypoints, a DO_JUMP back to the
// first waypoint (once) and RTL, flies it in AUTO and follows it through
// MISSION_CURRENT and MISSION_ITEM_REACHED until the copter has landed at
// home and disarmed.
func TestAutoMission(t *testing.T) {
	r := newRig(t, sitl.VehicleConfig{Speedup: 20, Seed: 2, Params: map[string]float32{"DISARM_DELAY": 0}})
	ctx := ctxFor(t, 60*time.Second)
	hx, hy := offset(0, 0)
	n1, e1 := offset(60, 0)
	n2, e2 := offset(60, 60)
	n3, e3 := offset(0, 60)
	items := []missionxfer.Item{
		{Seq: 0, Frame: 0, Command: 16, X: hx, Y: hy, Z: homeAlt},
		{Seq: 1, Frame: 6, Command: 22, Z: 20},
		{Seq: 2, Frame: 6, Command: 16, X: n1, Y: e1, Z: 20},
		{Seq: 3, Frame: 6, Command: 16, X: n2, Y: e2, Z: 25, Param1: 1},
		{Seq: 4, Frame: 6, Command: 16, X: n3, Y: e3, Z: 20},
		{Seq: 5, Frame: 2, Command: 177, Param1: 2, Param2: 1},
		{Seq: 6, Frame: 2, Command: 20},
	}
	if err := missionxfer.Upload(ctx, r.v, missionxfer.Mission, items, missionxfer.Options{Verify: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.v.WaitState(ctx, func(s mavlink.State) bool { return s.MissionTotal == 6 }); err != nil {
		t.Fatalf("MISSION_CURRENT never showed 6 items: %v", err)
	}

	// ArduCopter will not start a mission on the ground at a waypoint.
	if err := missionxfer.SetCurrent(ctx, r.v, 3); err != nil {
		t.Fatal(err)
	}
	if s := r.v.State(); s.MissionSeq != 3 {
		t.Errorf("current item %d after SetCurrent(3)", s.MissionSeq)
	}
	if err := r.v.SetMode(ctx, "GUIDED"); err != nil {
		t.Fatal(err)
	}
	if err := r.v.Arm(ctx); err != nil {
		t.Fatal(err)
	}
	if err := missionxfer.Start(ctx, r.v, 0, 0); !errors.Is(err, mavlink.ErrFailed) {
		t.Fatalf("start at a waypoint on the ground: %v", err)
	}
	if _, err := r.v.WaitState(ctx, func(s mavlink.State) bool { return hasText(s, "Missing Takeoff Cmd") }); err != nil {
		t.Error("no 'Auto: Missing Takeoff Cmd'")
	}
	if err := missionxfer.SetCurrent(ctx, r.v, 1); err != nil {
		t.Fatal(err)
	}

	sub := r.m.Subscribe()
	defer sub.Close()
	if err := missionxfer.Start(ctx, r.v, 0, 0); err != nil {
		t.Fatal(err)
	}
	// Flying the mission: it cannot be cleared (only replaced).
	err := missionxfer.Clear(ctx, r.v, missionxfer.Mission, missionxfer.Options{})
	var xe *missionxfer.Error
	if !errors.As(err, &xe) || xe.Result != "ERROR" {
		t.Errorf("clear while flying AUTO: %v", err)
	}
	if s := r.v.State().Mission; s.Status != mavlink.MissionInSync || s.Items != 6 {
		t.Errorf("a refused clear changed the mission state: %+v", s)
	}

	var reached, current []int
	var last mavlink.State
	for {
		u, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("mission not finished: reached %v, current %v, state mode %s armed %v alt %.1f", reached, current,
				last.Mode, last.Armed, last.AltRelM)
		}
		for _, e := range u.Events {
			if e.Kind == mavlink.EventMissionItemReached {
				reached = append(reached, e.MissionSeq)
			}
		}
		for _, s := range u.States {
			last = s
			if len(current) == 0 || current[len(current)-1] != s.MissionSeq {
				current = append(current, s.MissionSeq)
			}
		}
		if len(reached) > 0 && reached[len(reached)-1] == 6 && !last.Armed {
			break
		}
	}
	t.Logf("current items %v, reached %v", current, reached)
	if want := []int{1, 2, 3, 4, 2, 3, 4, 6}; !slices.Equal(reached, want) {
		t.Errorf("MISSION_ITEM_REACHED %v, want %v", reached, want)
	}
	// States are coalesced for slow readers, so a brief current item may be
	// skipped, never reordered.
	if i := slices.Index(current, 1); i < 0 || len(current)-i < 5 || !subsequence(current[i:], []int{1, 2, 3, 4, 2, 3, 4, 6}) {
		t.Errorf("MISSION_CURRENT went %v", current)
	}
	s := r.v.State()
	if d := distanceM(s.LatDeg, s.LonDeg, homeLat, homeLon); d > 3 || s.AltRelM > 0.5 || s.Armed || s.Mode != "AUTO" {
		t.Errorf("after the mission: %.1f m from home, alt %.1f, armed %v, mode %s", d, s.AltRelM, s.Armed, s.Mode)
	}
	if !hasText(s, "Mission: 6 RTL") {
		t.Error("no 'Mission: 6 RTL'")
	}
}

// TestFenceBreach uploads an inclusion circle of 80 m, flies out of it in
// GUIDED and expects ArduCopter's response: "Fence Breached", RTL, and a
// landing at home.
func TestFenceBreach(t *testing.T) {
	r := newRig(t, sitl.VehicleConfig{Speedup: 10, Seed: 4, Params: map[string]float32{"FENCE_ENABLE": 1, "DISARM_DELAY": 0}})
	ctx := ctxFor(t, 60*time.Second)
	hx, hy := offset(0, 0)
	fence := []missionxfer.Item{{Seq: 0, Frame: 5, Command: 5003, Param1: 80, X: hx, Y: hy}}
	if err := missionxfer.Upload(ctx, r.v, missionxfer.Fence, fence, missionxfer.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := r.v.SetMode(ctx, "GUIDED"); err != nil {
		t.Fatal(err)
	}
	if err := r.v.Arm(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.v.Takeoff(ctx, 20); err != nil {
		t.Fatal(err)
	}
	if _, err := r.v.WaitState(ctx, func(s mavlink.State) bool { return s.AltRelM > 19 }); err != nil {
		t.Fatal(err)
	}
	lat, lon := homeLat+150/111319.5, homeLon
	if err := r.v.Goto(ctx, lat, lon, 20); err != nil {
		t.Fatal(err)
	}
	// The simulator's ground truth shows where the mode changed; osprey's
	// view follows at the telemetry rate.
	var at sitl.VehicleState
	for at = r.sim.State(); at.ModeName != "RTL"; at = r.sim.State() {
		if ctx.Err() != nil {
			t.Fatalf("no RTL: %+v", at)
		}
		time.Sleep(2 * time.Millisecond)
	}
	d := distanceM(at.LatDeg, at.LonDeg, homeLat, homeLon)
	t.Logf("RTL at %.1f m from home", d)
	if d < 79 || d > 86 {
		t.Errorf("switched to RTL %.1f m from home, the fence is at 80 m", d)
	}
	if _, err := r.v.WaitState(ctx, func(s mavlink.State) bool { return s.Mode == "RTL" }); err != nil {
		t.Error("osprey never saw RTL")
	}
	if _, err := r.v.WaitState(ctx, func(s mavlink.State) bool { return hasText(s, "Fence Breached") }); err != nil {
		t.Error("no 'Fence Breached'")
	}
	s, err := r.v.WaitState(ctx, func(s mavlink.State) bool { return !s.Armed && s.AltRelM < 0.5 })
	if err != nil {
		t.Fatal("never landed")
	}
	if d := distanceM(s.LatDeg, s.LonDeg, homeLat, homeLon); d > 3 {
		t.Errorf("landed %.1f m from home", d)
	}
}
