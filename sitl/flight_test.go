package sitl

import (
	"math"
	"testing"
	"time"

	"github.com/bluenviron/gomavlib/v3/pkg/dialects/common"
)

// TestGuidedFlight flies the whole ArduCopter GUIDED sequence over the wire:
// mode, arm, takeoff, reposition, RTL, landing and auto-disarm.
func TestGuidedFlight(t *testing.T) {
	t.Parallel()
	v, g := tcpVehicle(t, VehicleConfig{SystemID: 2, Speedup: 40})
	home := v.State()
	g.fastHeartbeats(2)

	from := g.mark()
	g.mustCommand(2, common.MAV_CMD_DO_SET_MODE, 1, float32(ModeGuided))
	if !g.waitMode(from, 2, ModeGuided, 2*time.Second) {
		t.Fatal("no GUIDED heartbeat")
	}
	g.mustCommand(2, common.MAV_CMD_COMPONENT_ARM_DISARM, 1)
	// Take off at once: at speed-up 40, DISARM_DELAY (10 s simulated) is
	// a quarter of a second of wall time.
	g.mustCommand(2, common.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 20)
	from = g.mark()
	if _, ok := g.waitFor(from, 2*time.Second, func(f rx) bool {
		hb, ok := f.m.(*common.MessageHeartbeat)
		return ok && f.sys == 2 && hb.BaseMode&common.MAV_MODE_FLAG_SAFETY_ARMED != 0 &&
			hb.SystemStatus == common.MAV_STATE_ACTIVE
	}); !ok {
		t.Fatal("heartbeat never showed armed and active")
	}

	// The wire reports ~20 m relative altitude once the climb completes.
	from = g.mark()
	if _, ok := g.waitFor(from, 10*time.Second, func(f rx) bool {
		p, ok := f.m.(*common.MessageGlobalPositionInt)
		return ok && f.sys == 2 && math.Abs(float64(p.RelativeAlt)-20000) < 300
	}); !ok {
		t.Fatalf("never reached 20 m; state %+v", v.State())
	}
	if s := v.State(); s.Landed || math.Abs(s.AltMSLM-(home.HomeAltMSLM+20)) > 0.5 {
		t.Errorf("after takeoff: %+v", s)
	}

	// A slower WPNAV_SPEED (cm/s) limits the cruise.
	from = g.mark()
	g.send(&common.MessageParamSet{TargetSystem: 2, TargetComponent: 1, ParamId: "WPNAV_SPEED",
		ParamValue: 500, ParamType: common.MAV_PARAM_TYPE_REAL32})
	if _, ok := g.waitFor(from, time.Second, func(f rx) bool {
		p, ok := f.m.(*common.MessageParamValue)
		return ok && p.ParamId == "WPNAV_SPEED" && p.ParamValue == 500
	}); !ok {
		t.Fatal("no PARAM_VALUE echo for WPNAV_SPEED")
	}

	tgtLat, tgtLon := home.LatDeg+0.001, home.LonDeg+0.001 // ~140 m north-east
	if r := g.commandInt(2, &common.MessageCommandInt{Command: common.MAV_CMD_DO_REPOSITION,
		Frame: common.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, Param1: -1,
		X: degE7(tgtLat), Y: degE7(tgtLon), Z: 25}); r != common.MAV_RESULT_ACCEPTED {
		t.Fatalf("DO_REPOSITION: %v", r)
	}
	maxSpeed := 0.0
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := v.State()
		maxSpeed = math.Max(maxSpeed, s.GroundSpeedMS)
		n, e := offsetM(s.LatDeg, s.LonDeg, tgtLat, tgtLon)
		if math.Hypot(n, e) < 0.5 && math.Abs(s.AltRelM-25) < 0.1 {
			if s.HeadingDeg < 30 || s.HeadingDeg > 60 {
				t.Errorf("heading %v after flying north-east", s.HeadingDeg)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never reached the reposition target; state %+v", s)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if maxSpeed > 5.01 || maxSpeed < 3 {
		t.Errorf("cruise speed peaked at %.2f m/s with WPNAV_SPEED 500", maxSpeed)
	}
	// The wire agrees with the ground truth.
	from = g.mark()
	if _, ok := g.waitFor(from, 2*time.Second, func(f rx) bool {
		p, ok := f.m.(*common.MessageGlobalPositionInt)
		return ok && f.sys == 2 && abs32(p.Lat-degE7(tgtLat)) < 20 && abs32(p.Lon-degE7(tgtLon)) < 20 &&
			abs32(p.RelativeAlt-25000) < 200
	}); !ok {
		t.Error("GLOBAL_POSITION_INT does not show the target position")
	}

	// RTL: fly home, descend, land, disarm.
	from = g.mark()
	g.mustCommand(2, common.MAV_CMD_NAV_RETURN_TO_LAUNCH)
	if !g.waitMode(from, 2, ModeRTL, 2*time.Second) {
		t.Fatal("no RTL heartbeat")
	}
	s := waitState(t, v, 30*time.Second, "landed and disarmed at home", func(s VehicleState) bool {
		return !s.Armed && s.Landed
	})
	if n, e := offsetM(s.LatDeg, s.LonDeg, home.LatDeg, home.LonDeg); math.Hypot(n, e) > 1 {
		t.Errorf("landed %.1f m from home", math.Hypot(n, e))
	}
	if s.BatteryPct >= 100 || s.BatteryPct < 50 {
		t.Errorf("battery after a short flight: %v%%", s.BatteryPct)
	}
	from = g.mark()
	if _, ok := g.waitFor(from, 2*time.Second, func(f rx) bool {
		hb, ok := f.m.(*common.MessageHeartbeat)
		return ok && f.sys == 2 && hb.BaseMode&common.MAV_MODE_FLAG_SAFETY_ARMED == 0 &&
			hb.SystemStatus == common.MAV_STATE_STANDBY
	}); !ok {
		t.Error("heartbeat does not show disarmed/standby after landing")
	}
}

func abs32(x int32) int32 {
	if x < 0 {
		return -x
	}
	return x
}

func TestGCSFailsafe(t *testing.T) {
	t.Parallel()
	v, g := tcpVehicle(t, VehicleConfig{SystemID: 9, Speedup: 20,
		Params: map[string]float32{"FS_GCS_TIMEOUT": 1}})
	g.fastHeartbeats(9)
	g.startHeartbeats(100 * time.Millisecond)
	g.mustCommand(9, common.MAV_CMD_DO_SET_MODE, 1, float32(ModeGuided))
	g.mustCommand(9, common.MAV_CMD_COMPONENT_ARM_DISARM, 1)
	g.mustCommand(9, common.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 10)
	waitState(t, v, 10*time.Second, "airborne", func(s VehicleState) bool { return s.AltRelM > 5 })
	if v.State().GCSFailsafe {
		t.Fatal("failsafe while the GCS is talking")
	}

	from := g.mark()
	g.stopHeartbeats()
	st, ok := g.waitText(from, 9, "GCS Failsafe", 5*time.Second)
	if !ok {
		t.Fatal("no GCS Failsafe text")
	}
	if st.Severity > common.MAV_SEVERITY_WARNING {
		t.Errorf("failsafe severity %v", st.Severity)
	}
	if !g.waitMode(from, 9, ModeRTL, 2*time.Second) {
		t.Fatal("failsafe did not switch to RTL")
	}
	if s := v.State(); !s.GCSFailsafe || s.ModeNumber != ModeRTL {
		t.Errorf("state in failsafe: %+v", s)
	}
	f, _ := g.waitFor(g.mark(), 2*time.Second, isMsg[*common.MessageHeartbeat](9))
	if f.m.(*common.MessageHeartbeat).SystemStatus != common.MAV_STATE_CRITICAL {
		t.Error("heartbeat not CRITICAL during failsafe")
	}

	// The GCS comes back: failsafe clears, the mode stays RTL.
	from = g.mark()
	g.startHeartbeats(100 * time.Millisecond)
	if _, ok := g.waitText(from, 9, "GCS Failsafe Cleared", 3*time.Second); !ok {
		t.Fatal("no 'GCS Failsafe Cleared' text")
	}
	if s := v.State(); s.GCSFailsafe || s.ModeNumber != ModeRTL {
		t.Errorf("after recovery: %+v", s)
	}
}

// TestGCSFailsafeFromOutage shows injected inbound loss reaches the
// heartbeats: an outage longer than FS_GCS_TIMEOUT triggers the failsafe
// (here FS_GCS_ENABLE 5: LAND).
func TestGCSFailsafeFromOutage(t *testing.T) {
	t.Parallel()
	v, g := tcpVehicle(t, VehicleConfig{SystemID: 10, Speedup: 20,
		Params: map[string]float32{"FS_GCS_TIMEOUT": 1, "FS_GCS_ENABLE": 5}})
	g.startHeartbeats(100 * time.Millisecond)
	g.mustCommand(10, common.MAV_CMD_DO_SET_MODE, 1, float32(ModeGuided))
	g.mustCommand(10, common.MAV_CMD_COMPONENT_ARM_DISARM, 1)
	g.mustCommand(10, common.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 50)
	waitState(t, v, 10*time.Second, "airborne", func(s VehicleState) bool { return s.AltRelM > 5 })
	v.Outage(1500 * time.Millisecond)
	s := waitState(t, v, 5*time.Second, "failsafe", func(s VehicleState) bool { return s.GCSFailsafe })
	if s.ModeNumber != ModeLand {
		t.Errorf("FS_GCS_ENABLE 5 switched to mode %d, want LAND", s.ModeNumber)
	}
}
