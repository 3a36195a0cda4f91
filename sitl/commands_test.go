package sitl

import (
	"math"
	"testing"
	"time"

	"github.com/bluenviron/gomavlib/v3/pkg/dialects/common"
)

func TestArmingChecks(t *testing.T) {
	t.Parallel()
	v, g := tcpVehicle(t, VehicleConfig{SystemID: 5, Speedup: 10})
	g.fastHeartbeats(5)

	// No GPS: GPS_RAW_INT reports no fix, arming in GUIDED is refused.
	v.SetGPS(false)
	from := g.mark()
	if _, ok := g.waitFor(from, 2*time.Second, func(f rx) bool {
		gps, ok := f.m.(*common.MessageGpsRawInt)
		return ok && gps.FixType == common.GPS_FIX_TYPE_NO_FIX && gps.SatellitesVisible == 0
	}); !ok {
		t.Fatal("GPS_RAW_INT never reported no fix")
	}
	g.mustCommand(5, common.MAV_CMD_DO_SET_MODE, 1, float32(ModeGuided)) // allowed while disarmed
	from = g.mark()
	if r := g.command(5, common.MAV_CMD_COMPONENT_ARM_DISARM, 0, 1); r != common.MAV_RESULT_FAILED {
		t.Fatalf("arm without GPS: %v, want FAILED", r)
	}
	st, ok := g.waitText(from, 5, "PreArm: Need 3D Fix", time.Second)
	if !ok {
		t.Fatal("no PreArm STATUSTEXT")
	}
	if st.Severity != common.MAV_SEVERITY_CRITICAL {
		t.Errorf("PreArm severity %v", st.Severity)
	}
	if v.State().Armed {
		t.Fatal("armed without GPS")
	}
	// STABILIZE does not need a position, as in ArduCopter.
	g.mustCommand(5, common.MAV_CMD_DO_SET_MODE, 1, float32(ModeStabilize))
	g.mustCommand(5, common.MAV_CMD_COMPONENT_ARM_DISARM, 1)
	// Position modes cannot be entered while armed without GPS.
	from = g.mark()
	if r := g.command(5, common.MAV_CMD_DO_SET_MODE, 0, 1, float32(ModeGuided)); r != common.MAV_RESULT_FAILED {
		t.Errorf("GUIDED while armed without GPS: %v", r)
	}
	if _, ok := g.waitText(from, 5, "requires position", time.Second); !ok {
		t.Error("no mode-change failure text")
	}
	g.mustCommand(5, common.MAV_CMD_COMPONENT_ARM_DISARM, 0)
	v.SetGPS(true)

	// Modes that are not armable.
	g.mustCommand(5, common.MAV_CMD_DO_SET_MODE, 1, float32(ModeRTL))
	from = g.mark()
	if r := g.command(5, common.MAV_CMD_COMPONENT_ARM_DISARM, 0, 1); r != common.MAV_RESULT_FAILED {
		t.Fatalf("arm in RTL: %v, want FAILED", r)
	}
	if _, ok := g.waitText(from, 5, "Arm: Mode not armable", time.Second); !ok {
		t.Error("no 'Mode not armable' text")
	}

	// Nearly flat battery.
	g.mustCommand(5, common.MAV_CMD_DO_SET_MODE, 1, float32(ModeGuided))
	v.SetBatteryPct(5)
	from = g.mark()
	if r := g.command(5, common.MAV_CMD_COMPONENT_ARM_DISARM, 0, 1); r != common.MAV_RESULT_FAILED {
		t.Fatalf("arm with 5%% battery: %v, want FAILED", r)
	}
	if _, ok := g.waitText(from, 5, "PreArm: Battery 1 below minimum arming capacity", time.Second); !ok {
		t.Error("no battery PreArm text")
	}
	if p := v.State().BatteryPct; p > 5.5 {
		t.Errorf("BatteryPct = %v after SetBatteryPct(5)", p)
	}
	// Force skips the checks. The first heartbeat after the ACK must show
	// the vehicle armed: waiting for just any heartbeat raced the
	// simulator's DISARM_DELAY (10 s simulated, 1 s here at 10x) when the
	// machine was busy.
	from = g.mark()
	g.mustCommand(5, common.MAV_CMD_COMPONENT_ARM_DISARM, 1, forceMagic)
	isHeartbeat := isMsg[*common.MessageHeartbeat](5)
	if _, ok := g.waitFor(from, 2*time.Second, func(f rx) bool {
		return isHeartbeat(f) && f.m.(*common.MessageHeartbeat).BaseMode&common.MAV_MODE_FLAG_SAFETY_ARMED != 0
	}); !ok {
		t.Error("no heartbeat shows armed after forced arm")
	}
}

func TestCommandProtocol(t *testing.T) {
	t.Parallel()
	v, g := tcpVehicle(t, VehicleConfig{SystemID: 6, Speedup: 30})
	g.fastHeartbeats(6)

	// Takeoff while disarmed fails, as in ArduPilot.
	if r := g.command(6, common.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 0, 10); r != common.MAV_RESULT_FAILED {
		t.Errorf("takeoff disarmed: %v, want FAILED", r)
	}
	// Unknown command and COMMAND_LONG DO_REPOSITION.
	if r := g.command(6, common.MAV_CMD(31999), 0); r != common.MAV_RESULT_UNSUPPORTED {
		t.Errorf("unknown command: %v, want UNSUPPORTED", r)
	}
	if r := g.command(6, common.MAV_CMD_DO_REPOSITION, 0, -1, 0, 0, 0, -35.36, 149.16, 20); r != common.MAV_RESULT_UNSUPPORTED {
		t.Errorf("DO_REPOSITION as COMMAND_LONG: %v, want UNSUPPORTED", r)
	}
	// Unknown mode.
	from := g.mark()
	if r := g.command(6, common.MAV_CMD_DO_SET_MODE, 0, 1, 99); r != common.MAV_RESULT_FAILED {
		t.Errorf("mode 99: %v, want FAILED", r)
	}
	if _, ok := g.waitText(from, 6, "No such mode", time.Second); !ok {
		t.Error("no 'No such mode' text")
	}
	// A command for another system is ignored: no ACK.
	from = g.mark()
	g.send(&common.MessageCommandLong{TargetSystem: 99, TargetComponent: 1,
		Command: common.MAV_CMD_COMPONENT_ARM_DISARM, Param1: 1})
	if _, ok := g.waitFor(from, 500*time.Millisecond, isMsg[*common.MessageCommandAck](6)); ok {
		t.Error("ACK for a command addressed to system 99")
	}
	// Broadcast (target 0) is accepted; legacy SET_MODE is ACKed with id 11.
	from = g.mark()
	g.send(&common.MessageCommandLong{TargetSystem: 0, TargetComponent: 0,
		Command: common.MAV_CMD_DO_SET_MODE, Param1: 1, Param2: float32(ModeLoiter)})
	if r := g.waitAck(from, 6, common.MAV_CMD_DO_SET_MODE); r != common.MAV_RESULT_ACCEPTED {
		t.Errorf("broadcast DO_SET_MODE: %v", r)
	}
	from = g.mark()
	g.send(&common.MessageSetMode{TargetSystem: 6,
		BaseMode: common.MAV_MODE(common.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED), CustomMode: ModeGuided})
	if r := g.waitAck(from, 6, common.MAV_CMD(11)); r != common.MAV_RESULT_ACCEPTED {
		t.Errorf("SET_MODE: %v", r)
	}
	if !g.waitMode(from, 6, ModeGuided, 2*time.Second) {
		t.Fatal("mode not GUIDED after SET_MODE")
	}

	// Retransmissions: the same command with confirmation > 0 is ACKed again.
	g.mustCommand(6, common.MAV_CMD_COMPONENT_ARM_DISARM, 1)
	if r := g.command(6, common.MAV_CMD_COMPONENT_ARM_DISARM, 1, 1); r != common.MAV_RESULT_ACCEPTED {
		t.Errorf("retransmitted arm: %v", r)
	}
	g.mustCommand(6, common.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 30)
	waitState(t, v, 10*time.Second, "airborne", func(s VehicleState) bool { return s.AltRelM > 2 })
	// The vehicle is climbing: a retransmission of the takeoff (lost ACK) is
	// answered ACCEPTED again and does not restart anything ...
	if r := g.command(6, common.MAV_CMD_NAV_TAKEOFF, 1, 0, 0, 0, 0, 0, 0, 30); r != common.MAV_RESULT_ACCEPTED {
		t.Errorf("retransmitted takeoff: %v, want ACCEPTED", r)
	}
	// ... while a new takeoff in the air fails, as in ArduPilot.
	if r := g.command(6, common.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 0, 40); r != common.MAV_RESULT_FAILED {
		t.Errorf("takeoff while airborne: %v, want FAILED", r)
	}
	// Disarming in flight needs force.
	if r := g.command(6, common.MAV_CMD_COMPONENT_ARM_DISARM, 0, 0); r != common.MAV_RESULT_FAILED {
		t.Errorf("disarm in flight: %v, want FAILED", r)
	}
	// Reboot is refused while armed.
	if r := g.command(6, common.MAV_CMD_PREFLIGHT_REBOOT_SHUTDOWN, 0, 1); r != common.MAV_RESULT_FAILED {
		t.Errorf("reboot while armed: %v, want FAILED", r)
	}
	// Pause and continue in GUIDED.
	waitState(t, v, 10*time.Second, "takeoff done", func(s VehicleState) bool { return s.AltRelM > 29.9 })
	s0 := v.State()
	tgtLat := s0.LatDeg + 0.002
	if r := g.commandInt(6, &common.MessageCommandInt{Command: common.MAV_CMD_DO_REPOSITION,
		Frame: common.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, Param1: -1, X: degE7(tgtLat), Y: degE7(s0.LonDeg), Z: 30}); r != common.MAV_RESULT_ACCEPTED {
		t.Fatalf("DO_REPOSITION: %v", r)
	}
	waitState(t, v, 5*time.Second, "moving", func(s VehicleState) bool { return s.GroundSpeedMS > 3 })
	g.mustCommand(6, common.MAV_CMD_DO_PAUSE_CONTINUE, 0)
	waitState(t, v, 5*time.Second, "paused", func(s VehicleState) bool { return s.GroundSpeedMS == 0 })
	p1 := v.State()
	time.Sleep(200 * time.Millisecond)
	if p2 := v.State(); p2.LatDeg != p1.LatDeg {
		t.Errorf("moved while paused: %v -> %v", p1.LatDeg, p2.LatDeg)
	}
	g.mustCommand(6, common.MAV_CMD_DO_PAUSE_CONTINUE, 1)
	waitState(t, v, 20*time.Second, "arrived after continue", func(s VehicleState) bool {
		return math.Abs(s.LatDeg-tgtLat) < 1e-6
	})
	// Modes without pause refuse it.
	g.mustCommand(6, common.MAV_CMD_DO_SET_MODE, 1, float32(ModeLoiter))
	if r := g.command(6, common.MAV_CMD_DO_PAUSE_CONTINUE, 0, 0); r != common.MAV_RESULT_FAILED {
		t.Errorf("pause in LOITER: %v, want FAILED", r)
	}
	// Without a mission, MISSION_START fails with a text.
	from = g.mark()
	if r := g.command(6, common.MAV_CMD_MISSION_START, 0); r != common.MAV_RESULT_FAILED {
		t.Errorf("MISSION_START: %v, want FAILED", r)
	}
	if _, ok := g.waitText(from, 6, "Missing mission", time.Second); !ok {
		t.Error("no 'Missing mission' text")
	}
	if r := g.command(6, common.MAV_CMD_DO_SET_MODE, 0, 1, float32(ModeAuto)); r != common.MAV_RESULT_FAILED {
		t.Errorf("AUTO while armed without mission: %v, want FAILED", r)
	}
	// Land: the vehicle descends, touches down and disarms itself.
	g.mustCommand(6, common.MAV_CMD_NAV_LAND)
	from = g.mark()
	waitState(t, v, 30*time.Second, "landed and disarmed", func(s VehicleState) bool { return !s.Armed && s.Landed })
	if _, ok := g.waitText(from, 6, "Disarming motors", 2*time.Second); !ok {
		t.Error("no 'Disarming motors' text")
	}
}

func TestReboot(t *testing.T) {
	t.Parallel()
	v, g := tcpVehicle(t, VehicleConfig{SystemID: 8, Speedup: 2})
	g.mustCommand(8, common.MAV_CMD_DO_SET_MODE, 1, float32(ModeGuided))
	g.mustCommand(8, common.MAV_CMD_SET_MESSAGE_INTERVAL, 30, 20000)
	if r := g.command(8, common.MAV_CMD_PREFLIGHT_REBOOT_SHUTDOWN, 0, 2); r != common.MAV_RESULT_UNSUPPORTED {
		t.Errorf("shutdown: %v, want UNSUPPORTED", r)
	}
	g.mustCommand(8, common.MAV_CMD_PREFLIGHT_REBOOT_SHUTDOWN, 1)
	ackAt := time.Now()
	if !v.State().Rebooting {
		t.Fatal("not rebooting after ACK")
	}
	// Silent for the reboot (2 s simulated, 1 s at speed-up 2): no frames.
	from := g.mark()
	if f, ok := g.waitFor(from, 800*time.Millisecond, func(f rx) bool { return f.sys == 8 && f.at.After(ackAt.Add(50*time.Millisecond)) }); ok {
		t.Fatalf("message %d during reboot", f.m.GetID())
	}
	// Back in STABILIZE, disarmed, with default rates.
	if !g.waitMode(from, 8, ModeStabilize, 5*time.Second) {
		t.Fatal("no STABILIZE heartbeat after reboot")
	}
	if s := v.State(); s.Rebooting || s.Armed || s.SimTime > 6*time.Second {
		t.Errorf("state after reboot: %+v", s)
	}
	from = g.mark()
	g.mustCommand(8, common.MAV_CMD_GET_MESSAGE_INTERVAL, 30)
	f, ok := g.waitFor(from, time.Second, isMsg[*common.MessageMessageInterval](8))
	if !ok || f.m.(*common.MessageMessageInterval).IntervalUs != 100000 {
		t.Errorf("ATTITUDE interval after reboot: %+v", f.m)
	}
}
