package sitl

import (
	"math"
	"testing"
	"time"

	"github.com/bluenviron/gomavlib/v3/pkg/dialects/common"
)

// coreVehicle is a simulation without a node or goroutines, driven directly.
func coreVehicle(t testing.TB) *Vehicle {
	t.Helper()
	v, err := newVehicleCore(VehicleConfig{SystemID: 1, HomeLatDeg: 51.5, HomeLonDeg: -0.12, HomeAltMSLM: 30})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (v *Vehicle) testCommand(cmd common.MAV_CMD, isInt bool, frame common.MAV_FRAME, p [7]float32, x, y int32) common.MAV_RESULT {
	var ob outbox
	req := commandReq{cmd: cmd, p1: p[0], p2: p[1], p3: p[2], p4: p[3], xf: p[4], yf: p[5], z: p[6],
		x: x, y: y, frame: frame, isInt: isInt}
	if !isInt {
		req.frame = common.MAV_FRAME_GLOBAL_RELATIVE_ALT
	}
	v.onCommandLocked(time.Now(), source{sysID: 255, compID: 190}, req, &ob)
	return ob.msgs[0].m.(*common.MessageCommandAck).Result
}

func TestPhysicsRTLSequence(t *testing.T) {
	v := coreVehicle(t)
	var ob outbox
	must := func(r common.MAV_RESULT) {
		t.Helper()
		if r != common.MAV_RESULT_ACCEPTED {
			t.Fatalf("result %v", r)
		}
	}
	must(v.testCommand(common.MAV_CMD_DO_SET_MODE, false, 0, [7]float32{1, float32(ModeGuided)}, 0, 0))
	must(v.testCommand(common.MAV_CMD_COMPONENT_ARM_DISARM, false, 0, [7]float32{1}, 0, 0))
	must(v.testCommand(common.MAV_CMD_NAV_TAKEOFF, false, 0, [7]float32{6: 10}, 0, 0))
	v.stepPhysicsLocked(3, &ob)
	if s := v.st; math.Abs(s.altRelM-7.5) > 0.1 || s.landed {
		t.Fatalf("after 3 s at 2.5 m/s: alt %v landed %v", s.altRelM, s.landed)
	}
	v.stepPhysicsLocked(2, &ob)
	if v.st.altRelM != 10 || v.st.nav != navHold {
		t.Fatalf("takeoff did not finish at 10 m: %v", v.st.altRelM)
	}
	// 100 m north at 10 m/s with 2.5 m/s² acceleration takes ~14 s.
	// Relative altitude 0 is refused, as ArduPilot's Location::sanitize does.
	if r := v.testCommand(common.MAV_CMD_DO_REPOSITION, true, common.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
		[7]float32{-1}, degE7(51.5+100/mPerDegLat), degE7(-0.12)); r != common.MAV_RESULT_DENIED || v.st.nav == navGoto {
		t.Fatalf("reposition to relative altitude 0: %v", r)
	}
	must(v.testCommand(common.MAV_CMD_DO_REPOSITION, true, common.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
		[7]float32{-1, 6: 10}, degE7(51.5+100/mPerDegLat), degE7(-0.12)))
	v.stepPhysicsLocked(10, &ob)
	if hs := math.Hypot(v.st.velN, v.st.velE); hs < 9.9 || hs > 10.01 {
		t.Errorf("cruise speed %v", hs)
	}
	v.stepPhysicsLocked(10, &ob)
	n, e := offsetM(51.5, -0.12, v.st.latDeg, v.st.lonDeg)
	if math.Abs(n-100) > 0.01 || math.Abs(e) > 0.01 {
		t.Fatalf("at %v north %v east, want 100 north", n, e)
	}
	// RTL from 10 m: climbs to RTL_ALT 15 m, returns, loiters 5 s, lands.
	must(v.testCommand(common.MAV_CMD_NAV_RETURN_TO_LAUNCH, false, 0, [7]float32{}, 0, 0))
	v.stepPhysicsLocked(2.1, &ob)
	if v.st.altRelM != 15 {
		t.Fatalf("RTL climb reached %v, want 15", v.st.altRelM)
	}
	for range 200 {
		v.stepPhysicsLocked(1, &ob)
		if !v.st.armed {
			break
		}
	}
	if v.st.armed || !v.st.landed || v.st.altRelM != 0 {
		t.Fatalf("RTL did not end landed and disarmed: %+v", v.st)
	}
	if n, e := offsetM(51.5, -0.12, v.st.latDeg, v.st.lonDeg); math.Hypot(n, e) > 0.01 {
		t.Errorf("landed %v m from home", math.Hypot(n, e))
	}
}

// FuzzCommands throws arbitrary commands at the simulation and flies it; the
// vehicle must never panic, leave the ground below zero or lose its position.
func FuzzCommands(f *testing.F) {
	f.Add(uint16(400), false, uint8(0), float32(1), float32(0), float32(0), int32(0), int32(0), float32(0))
	f.Add(uint16(176), false, uint8(0), float32(1), float32(4), float32(0), int32(0), int32(0), float32(0))
	f.Add(uint16(22), false, uint8(3), float32(0), float32(0), float32(0), int32(0), int32(0), float32(20))
	f.Add(uint16(192), true, uint8(6), float32(-1), float32(1), float32(0), int32(515000900), int32(-1200000), float32(30))
	f.Add(uint16(192), true, uint8(5), float32(-1), float32(1), float32(0), int32(900000000), int32(1800000000), float32(1e9))
	f.Add(uint16(178), false, uint8(0), float32(1), float32(float32(math.NaN())), float32(0), int32(0), int32(0), float32(0))
	f.Add(uint16(511), false, uint8(0), float32(33), float32(-5), float32(0), int32(0), int32(0), float32(0))
	f.Add(uint16(246), false, uint8(0), float32(1), float32(0), float32(0), int32(0), int32(0), float32(0))
	f.Add(uint16(20), false, uint8(0), float32(0), float32(0), float32(0), int32(0), int32(0), float32(0))
	f.Add(uint16(193), false, uint8(0), float32(0), float32(0), float32(0), int32(0), int32(0), float32(0))
	f.Fuzz(func(t *testing.T, cmd uint16, isInt bool, frame uint8, p1, p2, p3 float32, x, y int32, z float32) {
		v := coreVehicle(t)
		var ob outbox
		// Get airborne first so flight commands have something to act on.
		v.testCommand(common.MAV_CMD_DO_SET_MODE, false, 0, [7]float32{1, float32(ModeGuided)}, 0, 0)
		v.testCommand(common.MAV_CMD_COMPONENT_ARM_DISARM, false, 0, [7]float32{1}, 0, 0)
		v.testCommand(common.MAV_CMD_NAV_TAKEOFF, false, 0, [7]float32{6: 10}, 0, 0)
		v.stepPhysicsLocked(5, &ob)
		r := v.testCommand(common.MAV_CMD(cmd), isInt, common.MAV_FRAME(frame), [7]float32{p1, p2, p3, 0, float32(x), float32(y), z}, x, y)
		if r > common.MAV_RESULT_COMMAND_UNSUPPORTED_MAV_FRAME {
			t.Fatalf("result %v", r)
		}
		v.onSetPositionTargetLocked(&common.MessageSetPositionTargetGlobalInt{
			CoordinateFrame: common.MAV_FRAME(frame), TypeMask: common.POSITION_TARGET_TYPEMASK(cmd),
			LatInt: x, LonInt: y, Alt: z, Vx: p1, Vy: p2, Vz: p3,
		})
		for range 60 {
			v.stepPhysicsLocked(1, &ob)
			s := &v.st
			if s.altRelM < 0 || math.IsNaN(s.altRelM) || math.IsNaN(s.latDeg) || math.IsNaN(s.lonDeg) ||
				math.Abs(s.latDeg) > 90 || math.Abs(s.lonDeg) > 180 || math.IsNaN(s.headingDeg) {
				t.Fatalf("bad state after command %d: %+v", cmd, *s)
			}
		}
		var m common.MessageGlobalPositionInt
		v.fillGlobalPosLocked(&m)
		if m.RelativeAlt < 0 {
			t.Fatalf("negative relative_alt %d", m.RelativeAlt)
		}
	})
}
