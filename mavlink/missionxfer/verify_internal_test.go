package missionxfer

import "testing"

func TestCompareAsArduPilotStores(t *testing.T) {
	wp := Item{Seq: 1, Frame: 6, Command: navWaypoint, X: 1, Y: 2, Z: 30, Param1: 2.5, Param2: 3, Param4: 90}
	stored := Item{Seq: 1, Frame: 3, Command: navWaypoint, X: 1, Y: 2, Z: 30, Param1: 2}
	if d := compare(Mission, true, []Item{{}, wp}, []Item{{}, stored}); d != nil {
		t.Fatalf("a waypoint as ArduPilot stores it reads as a mismatch: %v", d)
	}
	if d := compare(Mission, false, []Item{{}, wp}, []Item{{}, stored}); d == nil {
		t.Fatal("another autopilot dropping params 2-4 went unnoticed")
	}
	jump := Item{Seq: 1, Frame: 2, Command: 177, Param1: 3, Param2: 2}
	off := jump
	off.Param1 = 4
	if d := compare(Mission, true, []Item{{}, jump}, []Item{{}, off}); d == nil {
		t.Fatal("a DO_JUMP to the wrong item went unnoticed")
	}
	moved := stored
	moved.Z = 35
	if d := compare(Mission, true, []Item{{}, wp}, []Item{{}, moved}); d == nil {
		t.Fatal("a waypoint at the wrong altitude went unnoticed")
	}
}
