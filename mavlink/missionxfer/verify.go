package missionxfer

import (
	"context"
	"fmt"
	"math"

	"github.com/ospreygcs/osprey/mavlink"
)

// Verify downloads the vehicle's items and compares them with want, as an
// autopilot stores them: global frames match their *_INT twins, altitudes
// within a centimetre (ArduPilot keeps centimetres; rally altitudes within a
// metre, fence altitudes not at all), parameters within float rounding, and
// NaN in want ("use the default") matches anything. ArduPilot's mission
// seq 0 (home) is not compared. A difference is an *Error wrapping
// ErrMismatch that names the first item and field.
func Verify(ctx context.Context, v *mavlink.Vehicle, t Type, want []Item, o Options) error {
	release, err := v.BeginTransfer(t.String() + " verify")
	if err != nil {
		return err
	}
	defer release()
	s := newSession(ctx, v, t, o, "verify")
	defer s.close()
	err = s.verify(want)
	if t == Mission {
		if err != nil {
			v.SetMissionSync(mavlink.MissionSync{Status: mavlink.MissionUnknown, Note: err.Error()})
		} else {
			v.SetMissionSync(mavlink.MissionSync{Status: mavlink.MissionInSync, Items: missionCount(v, len(want))})
		}
	}
	return err
}

func (s *session) verify(want []Item) error {
	op := s.op
	s.op = "verify"
	defer func() { s.op = op }()
	got, err := s.downloadItems(false)
	if err != nil {
		return err
	}
	if d := compare(s.t, s.isArduPilot(), want, got); d != nil {
		return s.fail(ErrMismatch, d.seq, len(want), d.Error())
	}
	return nil
}

// difference is the first field in which two item lists differ.
type difference struct {
	seq  int
	what string
}

func (d *difference) Error() string { return d.what }

// compare returns the first difference between the items meant and those
// the vehicle holds, or nil.
func compare(t Type, ardupilot bool, want, got []Item) *difference {
	if len(want) != len(got) {
		seq := min(len(want), len(got))
		return &difference{seq: seq, what: fmt.Sprintf("the vehicle holds %d items, %d were meant", len(got), len(want))}
	}
	for i := range want {
		if i == 0 && t == Mission && ardupilot {
			continue // home, which the vehicle keeps up to date itself
		}
		if what := compareItem(t, ardupilot, &want[i], &got[i]); what != "" {
			return &difference{seq: i, what: fmt.Sprintf("item %d %s", i, what)}
		}
	}
	return nil
}

// navWaypoint is MAV_CMD_NAV_WAYPOINT.
const navWaypoint = 16

func compareItem(t Type, ardupilot bool, w, g *Item) string {
	if w.Command != g.Command {
		return fmt.Sprintf("is command %d, %d was meant", g.Command, w.Command)
	}
	if isGlobal(w.Frame) && t != Fence && frameClass(w.Frame) != frameClass(g.Frame) {
		return fmt.Sprintf("is in frame %d, %d was meant", g.Frame, w.Frame)
	}
	if w.X != g.X || w.Y != g.Y {
		return fmt.Sprintf("is at %d,%d, %d,%d was meant", g.X, g.Y, w.X, w.Y)
	}
	switch t {
	case Mission:
		if !closeTo(w.Z, g.Z, 0.0105) {
			return fmt.Sprintf("altitude is %g, %g was meant", g.Z, w.Z)
		}
	case Rally:
		if !closeTo(w.Z, g.Z, 1) {
			return fmt.Sprintf("altitude is %g, %g was meant", g.Z, w.Z)
		}
		return "" // ArduPilot keeps no parameters for rally points
	}
	wp := [4]float32{w.Param1, w.Param2, w.Param3, w.Param4}
	gp := [4]float32{g.Param1, g.Param2, g.Param3, g.Param4}
	for k := range wp {
		if t == Fence && k > 0 {
			break // a fence item has only param1 (vertex count or radius)
		}
		tol := 1e-4
		if ardupilot && t == Mission && w.Command == navWaypoint {
			// ArduPilot keeps a waypoint's hold in whole seconds and not its acceptance radius, pass
			// radius or yaw: a plan from QGroundControl must not read back as a failed upload.
			if k > 0 {
				break
			}
			tol = 1
		}
		if !closeTo(wp[k], gp[k], tol) {
			return fmt.Sprintf("param%d is %g, %g was meant", k+1, gp[k], wp[k])
		}
	}
	return ""
}

// closeTo compares within an absolute tolerance plus float32 rounding; NaN
// meant matches anything.
func closeTo(want, got float32, tol float64) bool {
	w, g := float64(want), float64(got)
	if math.IsNaN(w) {
		return true
	}
	return math.Abs(w-g) <= tol+1e-6*math.Abs(w)
}

// MAV_FRAME numbers of the global frames.
const (
	frameGlobal             = 0
	frameGlobalRelAlt       = 3
	frameGlobalInt          = 5
	frameGlobalRelAltInt    = 6
	frameGlobalTerrain      = 10
	frameGlobalTerrainInt   = 11
	frameClassAbsolute      = 1
	frameClassRelative      = 2
	frameClassTerrain       = 3
	frameClassNotPositional = 0
)

func isGlobal(f uint8) bool { return frameClass(f) != frameClassNotPositional }

// frameClass groups each global frame with its *_INT twin: ArduPilot
// reports the non-INT number for both.
func frameClass(f uint8) int {
	switch f {
	case frameGlobal, frameGlobalInt:
		return frameClassAbsolute
	case frameGlobalRelAlt, frameGlobalRelAltInt:
		return frameClassRelative
	case frameGlobalTerrain, frameGlobalTerrainInt:
		return frameClassTerrain
	}
	return frameClassNotPositional
}
