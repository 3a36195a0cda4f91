package sitl

import (
	"math"
	"time"

	"github.com/bluenviron/gomavlib/v3/pkg/dialects/common"
)

const (
	// forceMagic in param2 of COMPONENT_ARM_DISARM skips checks.
	forceMagic = 21196
	// retransmitWindow is how long a command's result is remembered for
	// answering its retransmissions.
	retransmitWindow = 5 * time.Second
	maxCmdCache      = 64
	msgIDSetMode     = 11
)

// commandReq is COMMAND_LONG or COMMAND_INT in one shape. For COMMAND_LONG,
// x and y hold param5/param6 as sent; for COMMAND_INT, the integer fields.
type commandReq struct {
	cmd          common.MAV_CMD
	p1, p2       float32
	p3, p4       float32
	xf, yf       float32
	x, y         int32
	z            float32
	frame        common.MAV_FRAME
	isInt        bool
	confirmation uint8
}

func commandFromLong(m *common.MessageCommandLong) commandReq {
	return commandReq{
		cmd: m.Command, p1: m.Param1, p2: m.Param2, p3: m.Param3, p4: m.Param4,
		xf: m.Param5, yf: m.Param6, z: m.Param7,
		// ArduPilot treats COMMAND_LONG positions as relative to home.
		frame:        common.MAV_FRAME_GLOBAL_RELATIVE_ALT,
		confirmation: m.Confirmation,
	}
}

func commandFromInt(m *common.MessageCommandInt) commandReq {
	return commandReq{
		cmd: m.Command, p1: m.Param1, p2: m.Param2, p3: m.Param3, p4: m.Param4,
		x: m.X, y: m.Y, z: m.Z, frame: m.Frame, isInt: true,
	}
}

type cmdKey struct {
	sysID, compID byte
	cmd           common.MAV_CMD
}

type cmdRecord struct {
	req    commandReq
	result common.MAV_RESULT
	at     time.Time
}

// isQuery lists commands that are harmless to execute again, so their
// retransmissions are executed (and resend what they ask for).
func isQuery(cmd common.MAV_CMD) bool {
	switch cmd {
	case common.MAV_CMD_REQUEST_MESSAGE, common.MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES,
		common.MAV_CMD_GET_MESSAGE_INTERVAL:
		return true
	}
	return false
}

// onCommandLocked answers every command addressed to the vehicle with a
// COMMAND_ACK to the sender, sent before any STATUSTEXT the command causes,
// as ArduPilot's queued texts are.
func (v *Vehicle) onCommandLocked(now time.Time, src source, req commandReq, ob *outbox) {
	ack := &common.MessageCommandAck{
		Command:         req.cmd,
		TargetSystem:    src.sysID,
		TargetComponent: src.compID,
	}
	ob.to(src.ch, ack)
	key := cmdKey{src.sysID, src.compID, req.cmd}
	if req.confirmation > 0 && !isQuery(req.cmd) {
		if rec, ok := v.cmdCache[key]; ok && now.Sub(rec.at) < retransmitWindow && sameCommand(rec.req, req) {
			// A retransmission of a command already acted on: answer again,
			// do not act twice.
			ack.Result = rec.result
			return
		}
	}
	ack.Result = v.execCommandLocked(now, src, req, ob)
	if len(v.cmdCache) >= maxCmdCache {
		for k, rec := range v.cmdCache {
			if now.Sub(rec.at) >= retransmitWindow {
				delete(v.cmdCache, k)
			}
		}
	}
	if len(v.cmdCache) < maxCmdCache {
		v.cmdCache[key] = cmdRecord{req: req, result: ack.Result, at: now}
	}
}

// sameCommand compares two commands ignoring confirmation; floats compare by
// bits so NaN "use current value" parameters match themselves.
func sameCommand(a, b commandReq) bool {
	fa := [...]float32{a.p1, a.p2, a.p3, a.p4, a.xf, a.yf, a.z}
	fb := [...]float32{b.p1, b.p2, b.p3, b.p4, b.xf, b.yf, b.z}
	for i := range fa {
		if math.Float32bits(fa[i]) != math.Float32bits(fb[i]) {
			return false
		}
	}
	return a.cmd == b.cmd && a.x == b.x && a.y == b.y && a.frame == b.frame && a.isInt == b.isInt
}

func (v *Vehicle) execCommandLocked(now time.Time, src source, req commandReq, ob *outbox) common.MAV_RESULT {
	s := &v.st
	if v.missions != nil {
		if r, ok := v.missions.commandLocked(v, req, ob); ok {
			return r
		}
	}
	switch req.cmd {
	case common.MAV_CMD_COMPONENT_ARM_DISARM:
		return v.cmdArmDisarmLocked(req, ob)
	case common.MAV_CMD_DO_SET_MODE:
		if int(req.p1)&int(common.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED) == 0 {
			return common.MAV_RESULT_DENIED
		}
		return okResult(v.setModeLocked(uint32(req.p2), ob))
	case common.MAV_CMD_NAV_TAKEOFF:
		if req.isInt && req.frame != common.MAV_FRAME_GLOBAL_RELATIVE_ALT &&
			req.frame != common.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT {
			return common.MAV_RESULT_DENIED
		}
		return okResult(v.startTakeoffLocked(float64(req.z)))
	case common.MAV_CMD_NAV_LAND:
		return okResult(v.setModeLocked(ModeLand, ob))
	case common.MAV_CMD_NAV_RETURN_TO_LAUNCH:
		return okResult(v.setModeLocked(ModeRTL, ob))
	case common.MAV_CMD_NAV_LOITER_UNLIM:
		return okResult(v.setModeLocked(ModeLoiter, ob))
	case common.MAV_CMD_DO_CHANGE_SPEED:
		return v.cmdChangeSpeedLocked(req)
	case common.MAV_CMD_DO_REPOSITION:
		if !req.isInt {
			return common.MAV_RESULT_UNSUPPORTED
		}
		return v.cmdRepositionLocked(req, ob)
	case common.MAV_CMD_DO_PAUSE_CONTINUE:
		return v.cmdPauseContinueLocked(req)
	case common.MAV_CMD_MISSION_START:
		if req.p1 != 0 || req.p2 != 0 {
			return common.MAV_RESULT_DENIED // first/last item not supported
		}
		if v.missions == nil || !v.missions.hasMission() {
			ob.all(statusText(common.MAV_SEVERITY_WARNING, "Missing mission"))
			return common.MAV_RESULT_FAILED
		}
		return okResult(v.setModeLocked(ModeAuto, ob))
	case common.MAV_CMD_PREFLIGHT_REBOOT_SHUTDOWN:
		if req.p1 != 1 && req.p1 != 3 {
			return common.MAV_RESULT_UNSUPPORTED
		}
		if s.armed {
			return common.MAV_RESULT_FAILED
		}
		// The ACK is already in the outbox; after it the vehicle goes silent.
		s.rebooting = true
		s.rebootEnd = s.simTimeS + rebootS
		return common.MAV_RESULT_ACCEPTED
	case common.MAV_CMD_SET_MESSAGE_INTERVAL:
		return v.setMessageIntervalLocked(now, uint32(req.p1), req.p2, ob)
	case common.MAV_CMD_GET_MESSAGE_INTERVAL:
		ob.to(src.ch, v.messageIntervalLocked(uint32(req.p1)))
		return common.MAV_RESULT_ACCEPTED
	case common.MAV_CMD_REQUEST_MESSAGE:
		m := v.buildMessageLocked(uint32(req.p1))
		if m == nil {
			return common.MAV_RESULT_FAILED
		}
		ob.to(src.ch, m)
		return common.MAV_RESULT_ACCEPTED
	case common.MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES:
		m := &common.MessageAutopilotVersion{}
		v.fillAutopilotVersion(m)
		ob.to(src.ch, m)
		return common.MAV_RESULT_ACCEPTED
	}
	return common.MAV_RESULT_UNSUPPORTED
}

func okResult(ok bool) common.MAV_RESULT {
	if ok {
		return common.MAV_RESULT_ACCEPTED
	}
	return common.MAV_RESULT_FAILED
}

// cmdArmDisarmLocked follows GCS_MAVLINK::handle_command_component_arm_disarm:
// arming or disarming to the state already held is ACCEPTED; disarming in
// flight needs the force value.
func (v *Vehicle) cmdArmDisarmLocked(req commandReq, ob *outbox) common.MAV_RESULT {
	force := req.p2 == forceMagic
	switch req.p1 {
	case 1:
		return okResult(v.armLocked(force, ob))
	case 0:
		if !v.st.armed {
			return common.MAV_RESULT_ACCEPTED
		}
		if !force && !v.st.landed {
			return common.MAV_RESULT_FAILED
		}
		v.disarmLocked()
		return common.MAV_RESULT_ACCEPTED
	}
	return common.MAV_RESULT_UNSUPPORTED
}

// cmdChangeSpeedLocked: p1 speed type (0 air, 1 ground, 2 climb, 3 descent),
// p2 speed m/s. The new speed lasts until the next mode change.
func (v *Vehicle) cmdChangeSpeedLocked(req commandReq) common.MAV_RESULT {
	s := &v.st
	speed := float64(req.p2)
	if !(speed > 0) || speed > 50 {
		return common.MAV_RESULT_FAILED
	}
	switch req.p1 {
	case 0, 1:
		if s.mode != ModeGuided && s.mode != ModeAuto && s.mode != ModeRTL {
			return common.MAV_RESULT_FAILED
		}
		s.speedXYMS = speed
	case 2:
		s.speedUpMS = speed
	case 3:
		s.speedDnMS = speed
	default:
		return common.MAV_RESULT_FAILED
	}
	return common.MAV_RESULT_ACCEPTED
}

// altRelFromFrame converts an altitude in a global frame to metres above home.
func (v *Vehicle) altRelFromFrame(frame common.MAV_FRAME, z float64) (float64, bool) {
	switch frame {
	case common.MAV_FRAME_GLOBAL, common.MAV_FRAME_GLOBAL_INT:
		return z - v.st.homeAltMSLM, true
	case common.MAV_FRAME_GLOBAL_RELATIVE_ALT, common.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
		// Flat terrain: above-terrain is above-home.
		common.MAV_FRAME_GLOBAL_TERRAIN_ALT, common.MAV_FRAME_GLOBAL_TERRAIN_ALT_INT:
		return z, true
	}
	return 0, false
}

// cmdRepositionLocked follows handle_command_int_do_reposition: GUIDED
// required unless p2 has MAV_DO_REPOSITION_FLAGS_CHANGE_MODE, and a location
// that Location::sanitize would have to change (0,0 or relative altitude 0)
// is DENIED.
func (v *Vehicle) cmdRepositionLocked(req commandReq, ob *outbox) common.MAV_RESULT {
	const changeMode = 1
	s := &v.st
	if s.mode != ModeGuided && int32(req.p2)&changeMode == 0 {
		return common.MAV_RESULT_DENIED
	}
	if (req.x == 0 && req.y == 0) || req.x < -900000000 || req.x > 900000000 ||
		req.y < -1800000000 || req.y > 1800000000 {
		return common.MAV_RESULT_DENIED
	}
	z := float64(req.z)
	if math.IsNaN(z) || math.IsInf(z, 0) || math.Abs(z) > 50000 {
		return common.MAV_RESULT_DENIED
	}
	alt, ok := v.altRelFromFrame(req.frame, z)
	if !ok {
		return common.MAV_RESULT_DENIED
	}
	if z == 0 && req.frame != common.MAV_FRAME_GLOBAL && req.frame != common.MAV_FRAME_GLOBAL_INT {
		return common.MAV_RESULT_DENIED
	}
	if s.mode != ModeGuided && !v.setModeLocked(ModeGuided, ob) {
		return common.MAV_RESULT_FAILED
	}
	v.gotoLocked(float64(req.x)/1e7, float64(req.y)/1e7, alt)
	return common.MAV_RESULT_ACCEPTED
}

// cmdPauseContinueLocked: p1 0 pauses (hold position), 1 continues; only
// GUIDED and AUTO can pause.
func (v *Vehicle) cmdPauseContinueLocked(req commandReq) common.MAV_RESULT {
	s := &v.st
	var pause bool
	switch req.p1 {
	case 0:
		pause = true
	case 1:
		pause = false
	default:
		return common.MAV_RESULT_DENIED
	}
	switch s.mode {
	case ModeGuided:
		s.paused = pause
		return common.MAV_RESULT_ACCEPTED
	case ModeAuto:
		if v.missions != nil && v.missions.setPaused(pause) {
			return common.MAV_RESULT_ACCEPTED
		}
	}
	return common.MAV_RESULT_FAILED
}

// onSetModeMessageLocked handles the legacy SET_MODE message; ArduPilot
// answers it with a COMMAND_ACK whose command is the message id, 11.
func (v *Vehicle) onSetModeMessageLocked(src source, m *common.MessageSetMode, ob *outbox) {
	ack := &common.MessageCommandAck{
		Command:         msgIDSetMode,
		TargetSystem:    src.sysID,
		TargetComponent: src.compID,
	}
	ob.to(src.ch, ack)
	if int(m.BaseMode)&int(common.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED) == 0 {
		ack.Result = common.MAV_RESULT_DENIED
		return
	}
	ack.Result = okResult(v.setModeLocked(m.CustomMode, ob))
}

// onSetPositionTargetLocked handles GUIDED setpoints: a position (goto) or,
// with position ignored, a velocity that lapses after a few seconds.
func (v *Vehicle) onSetPositionTargetLocked(m *common.MessageSetPositionTargetGlobalInt) {
	s := &v.st
	if s.mode != ModeGuided {
		return
	}
	const posIgnore = common.POSITION_TARGET_TYPEMASK_X_IGNORE | common.POSITION_TARGET_TYPEMASK_Y_IGNORE |
		common.POSITION_TARGET_TYPEMASK_Z_IGNORE
	const velIgnore = common.POSITION_TARGET_TYPEMASK_VX_IGNORE | common.POSITION_TARGET_TYPEMASK_VY_IGNORE |
		common.POSITION_TARGET_TYPEMASK_VZ_IGNORE
	switch {
	case m.TypeMask&posIgnore == 0:
		if m.LatInt < -900000000 || m.LatInt > 900000000 || m.LonInt < -1800000000 || m.LonInt > 1800000000 {
			return
		}
		alt, ok := v.altRelFromFrame(m.CoordinateFrame, float64(m.Alt))
		if !ok || math.IsNaN(alt) || math.IsInf(alt, 0) {
			return
		}
		v.gotoLocked(float64(m.LatInt)/1e7, float64(m.LonInt)/1e7, alt)
	case m.TypeMask&velIgnore == 0:
		vn, ve, vd := float64(m.Vx), float64(m.Vy), float64(m.Vz)
		if math.IsNaN(vn+ve+vd) || math.IsInf(vn+ve+vd, 0) {
			return
		}
		limit := v.cruiseMS()
		if hs := math.Hypot(vn, ve); hs > limit {
			vn, ve = vn*limit/hs, ve*limit/hs
		}
		s.nav = navVelocity
		s.paused = false
		s.velCmdN, s.velCmdE = vn, ve
		s.velCmdU = min(max(-vd, -v.descentMS()), v.climbMS())
		s.velCmdEndS = s.simTimeS + velocityCmdTTLS
	}
}

// gcsLink tracks heartbeats from the ground station named by SYSID_MYGCS.
type gcsLink struct {
	seen     bool
	last     time.Time
	failsafe bool
}

// onHeartbeatLocked counts a heartbeat from SYSID_MYGCS (any component) as
// the GCS being present, as ArduPilot does; it clears an active GCS failsafe
// but does not restore the mode.
func (v *Vehicle) onHeartbeatLocked(now time.Time, src source, _ *common.MessageHeartbeat, ob *outbox) {
	if int(src.sysID) != v.tune.myGCS {
		return
	}
	v.gcs.seen = true
	v.gcs.last = now
	if v.gcs.failsafe {
		v.gcs.failsafe = false
		ob.all(statusText(common.MAV_SEVERITY_WARNING, "GCS Failsafe Cleared"))
	}
}

// checkGCSFailsafeLocked raises the GCS failsafe once a GCS has been heard
// and then stays silent for FS_GCS_TIMEOUT (wall time), and acts on it as
// Copter::failsafe_gcs_on_event does.
func (v *Vehicle) checkGCSFailsafeLocked(now time.Time, ob *outbox) {
	g := &v.gcs
	t := &v.tune
	if !g.seen || g.failsafe || t.fsGCSEnable == 0 || now.Sub(g.last) < t.fsGCSTimeout {
		return
	}
	g.failsafe = true
	s := &v.st
	switch {
	case !s.armed:
		ob.all(statusText(common.MAV_SEVERITY_WARNING, "GCS Failsafe"))
	case s.landed:
		v.disarmLocked()
		ob.all(statusText(common.MAV_SEVERITY_WARNING, "GCS Failsafe - Disarming"))
	default:
		ob.all(statusText(common.MAV_SEVERITY_WARNING, "GCS Failsafe"))
		switch t.fsGCSEnable {
		case 4, 5: // SmartRTL-or-LAND (no SmartRTL path here), LAND
			v.setModeLocked(ModeLand, ob)
		case 7: // BRAKE or LAND
			if !v.setModeLocked(ModeBrake, ob) {
				v.setModeLocked(ModeLand, ob)
			}
		default: // 1 RTL, 2 and 3 RTL variants, 6 RTL
			if s.mode != ModeLand && !v.setModeLocked(ModeRTL, ob) {
				v.setModeLocked(ModeLand, ob)
			}
		}
	}
}
