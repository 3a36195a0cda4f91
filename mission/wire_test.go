package mission

import (
	"math"
	"testing"

	"github.com/ospreygcs/osprey/mavlink/missionxfer"
)

func TestWireRoundTripArduPilotAndPX4(t *testing.T) {
	home := &Position{LatDeg: -35.363261, LonDeg: 149.165230, AltM: 584}
	p := &Plan{
		Vehicle:     VehicleInfo{Firmware: FirmwareArduPilot, Type: VehicleQuadrotor},
		PlannedHome: home,
		Items: []Item{
			{Command: CmdNavTakeoff, Frame: FrameGlobalRelativeAlt, LatDeg: home.LatDeg, LonDeg: home.LonDeg, AltM: 20, AutoContinue: true},
			{Command: CmdNavWaypoint, Frame: FrameGlobalRelativeAlt, LatDeg: -35.3620, LonDeg: 149.1650, AltM: 30, AutoContinue: true},
			{Command: CmdNavWaypoint, Frame: FrameGlobalRelativeAlt, LatDeg: -35.3625, LonDeg: 149.1660, AltM: 30, Param1: 5, AutoContinue: true},
			{Command: CmdDoJump, Frame: FrameMission, Param1: 1, Param2: 2, AutoContinue: true},
			{Command: CmdNavReturnToLaunch, Frame: FrameMission, AutoContinue: true},
		},
		Rally: []RallyPoint{{LatDeg: -35.3630, LonDeg: 149.1640, AltM: 30}},
	}
	w, err := ToWire(p, FirmwareArduPilot)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Mission) != 6 || w.Mission[0].Seq != 0 || w.Mission[0].X != -353632610 || w.Mission[1].Seq != 1 {
		t.Fatalf("ArduPilot wire does not start with home at seq 0: %+v", w.Mission[:2])
	}
	if w.Mission[4].Param1 != 2 {
		t.Fatalf("DO_JUMP to item index 1 went out as seq %v, want 2 (home is seq 0)", w.Mission[4].Param1)
	}
	if w.Mission[2].Frame != uint8(FrameGlobalRelativeAltInt) || w.Mission[2].X != -353620000 {
		t.Fatalf("waypoint not in the INT frame as degE7: %+v", w.Mission[2])
	}
	if len(w.Rally) != 1 {
		t.Fatalf("%d rally items", len(w.Rally))
	}
	back, err := FromWire(w, FirmwareArduPilot)
	if err != nil {
		t.Fatal(err)
	}
	if back.PlannedHome == nil || math.Abs(back.PlannedHome.LatDeg-home.LatDeg) > 1e-7 {
		t.Fatalf("home %+v", back.PlannedHome)
	}
	if len(back.Items) != len(p.Items) {
		t.Fatalf("%d items back, want %d", len(back.Items), len(p.Items))
	}
	for i := range p.Items {
		a, b := p.Items[i], back.Items[i]
		if a.Command != b.Command || a.Frame != b.Frame || math.Abs(a.LatDeg-b.LatDeg) > 1e-7 || math.Abs(a.AltM-b.AltM) > 1e-4 || a.Param1 != b.Param1 {
			t.Errorf("item %d: %+v back as %+v", i+1, a, b)
		}
	}

	px, err := ToWire(p, FirmwarePX4)
	if err != nil {
		t.Fatal(err)
	}
	if len(px.Mission) != 5 || px.Mission[3].Param1 != 1 {
		t.Fatalf("PX4 wire: %d items, jump to %v; want 5 items and the jump unshifted", len(px.Mission), px.Mission[3].Param1)
	}
}

func TestWireRejectsWhatCannotFly(t *testing.T) {
	p := &Plan{Items: []Item{{Command: CmdNavWaypoint, Frame: FrameGlobalRelativeAlt, LatDeg: 1, LonDeg: 1, AltM: math.NaN()}}}
	if _, err := ToWire(p, FirmwareArduPilot); err == nil {
		t.Fatal("a waypoint without altitude went to the wire")
	}
	w := Wire{Mission: []missionxfer.Item{{Seq: 0}, {Seq: 1, Command: uint16(CmdDoJump), Frame: 2, Param1: 9}}}
	if _, err := FromWire(w, FirmwareArduPilot); err == nil {
		t.Fatal("a DO_JUMP to a missing item was accepted from the vehicle")
	}
}
