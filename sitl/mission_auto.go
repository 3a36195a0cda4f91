package sitl

import (
	"fmt"
	"math"

	"github.com/bluenviron/gomavlib/v3/pkg/dialects/common"
)

// AUTO follows ArduCopter's ModeAuto and AP_Mission:
//
//   - Entering AUTO armed starts or resumes the mission (MIS_RESTART=0): a
//     mission that completed, or never ran, starts at seq 1; otherwise the
//     interrupted navigation command starts again. On the ground the first
//     navigation command must be a takeoff ("Auto: Missing Takeoff Cmd").
//   - When a navigation command starts, the DO commands after it (up to the
//     next navigation command or DO_JUMP) run at once, so a DO_CHANGE_SPEED
//     placed after waypoint 3 already applies on the way to waypoint 3.
//   - DO_JUMP is followed while looking for the next navigation command:
//     param1 is the target seq, param2 the number of jumps (-1 forever); the
//     counts restart with the mission.
//   - Each command started is announced "Mission: <seq> <name>"; a completed
//     navigation command sends MISSION_ITEM_REACHED; MISSION_CURRENT is sent
//     on every change.
//   - When the mission runs out in the air the copter stays in AUTO and holds
//     position (ModeAuto::exit_mission loiters); on the ground it disarms.
//   - Waypoints are reached within WPNAV_RADIUS (and 1 m of altitude), then
//     held for param1 seconds. LOITER_TURNS circles param1 turns at radius
//     |param3| m (clockwise when positive; 0 means CIRCLE_RADIUS, 10 m) at
//     up to CIRCLE_RATE (20 deg/s). NAV_LAND flies to its position, if it has
//     one, then lands; NAV_RETURN_TO_LAUNCH flies RTL. A landing completes
//     one second after touchdown.

const (
	// circleRadiusDefM and circleRateDegS are ArduCopter's CIRCLE_RADIUS
	// and CIRCLE_RATE defaults, used by LOITER_TURNS.
	circleRadiusDefM = 10
	circleRateDegS   = 20
	// maxJumpSteps bounds the walk through DO commands and jumps when
	// looking for the next navigation command, so a loop of DO_JUMPs with no
	// navigation command between them cannot hang the simulation.
	maxJumpSteps = 4096
)

// autoState is the mission's execution state (AP_Mission's flags and the
// current navigation command).
type autoState struct {
	navIdx   int // current navigation command; 0 before the mission starts
	cmd      common.MessageMissionItemInt
	complete bool
	paused   bool
	jumps    map[int]int // times each DO_JUMP (by seq) has jumped

	phase                  int
	holdEndS               float64
	tgtLat, tgtLon, tgtAlt float64

	circleLat, circleLon, circleR, circleDir float64
	circleAngle, circleDone, circleGoal      float64

	roi            bool
	roiLat, roiLon float64
}

// isNavCmd is AP_Mission::is_nav_cmd: ids up to MAV_CMD_NAV_LAST (95).
func isNavCmd(c common.MAV_CMD) bool { return c < 95 }

// missionRunning reports whether the vehicle is flying the mission.
func (ms *missionStore) missionRunning() bool {
	s := &ms.v.st
	return s.mode == ModeAuto && s.armed && s.nav == navAuto && !ms.auto.complete
}

// nextNav finds the first navigation command at or after seq from,
// following DO_JUMPs. With count set the jumps taken are counted, as when
// the mission advances; without, it only looks.
func (ms *missionStore) nextNav(from int, count bool) (int, bool) {
	list := ms.lists[typeMission]
	a := &ms.auto
	i := from
	for range maxJumpSteps {
		if i < 1 || i >= len(list) {
			return 0, false
		}
		it := &list[i]
		if isNavCmd(it.Command) {
			return i, true
		}
		if it.Command == cmdDoJump {
			target, repeat := int(it.Param1), int(it.Param2)
			if target >= 1 && target < len(list) {
				if repeat == -1 {
					i = target
					continue
				}
				if a.jumps[i] < repeat {
					if count {
						if a.jumps == nil {
							a.jumps = map[int]int{}
						}
						a.jumps[i]++
					}
					i = target
					continue
				}
			}
		}
		i++
	}
	return 0, false
}

// startAuto starts or resumes the mission on entering AUTO armed.
func (ms *missionStore) startAuto(v *Vehicle, ob *outbox) bool {
	a := &ms.auto
	s := &v.st
	fresh := a.complete || a.navIdx == 0 || a.navIdx >= len(ms.lists[typeMission])
	first := a.navIdx
	if fresh {
		a.jumps = nil
		var ok bool
		if first, ok = ms.nextNav(1, false); !ok {
			ob.all(statusText(common.MAV_SEVERITY_WARNING, "Mode change to AUTO failed: init failed"))
			return false
		}
	}
	if s.landed && ms.lists[typeMission][first].Command != cmdNavTakeoff {
		ob.all(statusText(common.MAV_SEVERITY_CRITICAL, "Auto: Missing Takeoff Cmd"))
		ob.all(statusText(common.MAV_SEVERITY_WARNING, "Mode change to AUTO failed: init failed"))
		return false
	}
	a.complete, a.paused, a.roi = false, false, false
	if fresh {
		first, _ = ms.nextNav(1, true)
	}
	ms.startNavLocked(first, ob)
	return true
}

func (ms *missionStore) setPaused(paused bool) bool {
	s := &ms.v.st
	if s.mode != ModeAuto || !s.armed || s.nav != navAuto {
		return false
	}
	ms.auto.paused = paused
	return true
}

func cmdName(c common.MAV_CMD) string {
	switch c {
	case cmdNavWaypoint:
		return "WP"
	case cmdNavSplineWaypoint:
		return "SplineWP"
	case cmdNavRTL:
		return "RTL"
	case cmdNavLoiterUnlim:
		return "LoitUnlim"
	case cmdNavLoiterTime:
		return "LoitTime"
	case cmdNavLoiterTurns:
		return "LoitTurns"
	case cmdNavLand:
		return "Land"
	case cmdNavTakeoff:
		return "Takeoff"
	case cmdDoJump:
		return "Jump"
	case cmdDoChangeSpeed:
		return "ChangeSpeed"
	case cmdDoSetROI:
		return "SetROI"
	}
	return fmt.Sprintf("Cmd%d", c)
}

// startNavLocked makes seq idx the current navigation command and runs the
// DO commands that follow it.
func (ms *missionStore) startNavLocked(idx int, ob *outbox) {
	v := ms.v
	s := &v.st
	a := &ms.auto
	list := ms.lists[typeMission]
	a.navIdx = idx
	a.cmd = list[idx]
	a.phase = 0
	a.holdEndS = 0
	ob.all(statusText(common.MAV_SEVERITY_INFO, fmt.Sprintf("Mission: %d %s", idx, cmdName(a.cmd.Command))))
	for j := idx + 1; j < len(list) && !isNavCmd(list[j].Command) && list[j].Command != cmdDoJump; j++ {
		ob.all(statusText(common.MAV_SEVERITY_INFO, fmt.Sprintf("Mission: %d %s", j, cmdName(list[j].Command))))
		ms.doCommandLocked(&list[j])
	}
	ms.sendCurrent(ob)

	c := &a.cmd
	a.tgtLat, a.tgtLon, a.tgtAlt = s.latDeg, s.lonDeg, s.altRelM
	if c.X != 0 || c.Y != 0 {
		a.tgtLat, a.tgtLon = float64(c.X)/1e7, float64(c.Y)/1e7
	}
	if alt, ok := v.altRelFromFrame(c.Frame, float64(c.Z)); ok && c.Z != 0 {
		a.tgtAlt = math.Max(alt, 0)
	}
	switch c.Command {
	case cmdNavTakeoff:
		a.tgtLat, a.tgtLon = s.latDeg, s.lonDeg
		a.tgtAlt = math.Max(a.tgtAlt, 1)
	case cmdNavLand:
		a.tgtAlt = s.altRelM
	case cmdNavRTL:
		s.rtl = rtlClimb
		s.tgtAltRelM = math.Max(v.tune.rtlAltM, s.altRelM+v.tune.rtlClimbMinM)
	case cmdNavLoiterTurns:
		a.circleLat, a.circleLon = a.tgtLat, a.tgtLon
		a.circleR = math.Abs(float64(c.Param3))
		if a.circleR == 0 {
			a.circleR = circleRadiusDefM
		}
		a.circleDir = 1
		if c.Param3 < 0 {
			a.circleDir = -1
		}
		// Enter the circle on the side the vehicle comes from.
		n, e := offsetM(a.circleLat, a.circleLon, s.latDeg, s.lonDeg)
		a.circleAngle = 0
		if math.Hypot(n, e) > 0.1 {
			a.circleAngle = math.Atan2(e, n)
		}
		a.tgtLat = a.circleLat + a.circleR*math.Cos(a.circleAngle)/mPerDegLat
		a.tgtLon = a.circleLon + a.circleR*math.Sin(a.circleAngle)/(mPerDegLat*math.Cos(a.circleLat*math.Pi/180))
		a.circleDone = 0
		a.circleGoal = 2 * math.Pi * float64(c.Param1)
	}
}

// doCommandLocked carries out a DO command as the mission reaches it.
func (ms *missionStore) doCommandLocked(it *common.MessageMissionItemInt) {
	a := &ms.auto
	switch it.Command {
	case cmdDoChangeSpeed:
		if it.Param2 > 0 {
			ms.v.cmdChangeSpeedLocked(commandReq{p1: it.Param1, p2: it.Param2})
		}
	case cmdDoSetROI:
		a.roi = it.X != 0 || it.Y != 0
		a.roiLat, a.roiLon = float64(it.X)/1e7, float64(it.Y)/1e7
	}
}

// reachedLocked completes the current navigation command and moves on.
func (ms *missionStore) reachedLocked(ob *outbox) {
	a := &ms.auto
	ob.all(&common.MessageMissionItemReached{Seq: uint16(a.navIdx)})
	if next, ok := ms.nextNav(a.navIdx+1, true); ok {
		ms.startNavLocked(next, ob)
		return
	}
	a.complete = true
	ms.sendCurrent(ob)
	s := &ms.v.st
	a.tgtLat, a.tgtLon, a.tgtAlt = s.latDeg, s.lonDeg, s.altRelM
	if s.landed {
		ms.v.disarmLocked()
		ob.all(statusText(common.MAV_SEVERITY_INFO, "Disarming motors"))
	}
}

// stepAuto flies the mission for h seconds of simulated time.
func (ms *missionStore) stepAuto(v *Vehicle, h float64, ob *outbox) {
	s := &v.st
	a := &ms.auto
	c := a.cmd.Command
	if a.complete || a.paused || a.navIdx == 0 {
		s.stopXY()
		s.velU = 0
		if !s.landed && a.complete {
			// Hold where the mission ended.
			s.flyToward(a.tgtLat, a.tgtLon, v.cruiseMS(), v.tune.wpAccelMSS, h)
		}
		return
	}
	if s.landed && c != cmdNavTakeoff {
		s.stopXY()
		s.velU = 0
		if (c == cmdNavLand || c == cmdNavRTL) && s.simTimeS-s.landedAtS >= landDisarmS {
			ms.reachedLocked(ob)
		}
		return
	}
	heading := s.headingDeg
	switch c {
	case cmdNavTakeoff:
		s.stopXY()
		done := s.climbToward(a.tgtAlt, v.climbMS(), v.descentMS(), h)
		if s.altRelM > 0 {
			s.landed = false
		}
		if done {
			ms.reachedLocked(ob)
		}
	case cmdNavWaypoint, cmdNavSplineWaypoint:
		ms.flyToTarget(v, h)
		radius := math.Max(v.params.get("WPNAV_RADIUS")/100, 0.05)
		n, e := offsetM(s.latDeg, s.lonDeg, a.tgtLat, a.tgtLon)
		if a.phase == 0 && math.Hypot(n, e) <= radius && math.Abs(s.altRelM-a.tgtAlt) <= 1 {
			a.phase = 1
			a.holdEndS = s.simTimeS + float64(a.cmd.Param1)
		}
		if a.phase == 1 && s.simTimeS >= a.holdEndS {
			ms.reachedLocked(ob)
		}
	case cmdNavLoiterUnlim:
		ms.flyToTarget(v, h)
	case cmdNavLoiterTime:
		arrived := ms.flyToTarget(v, h)
		if a.phase == 0 && arrived {
			a.phase = 1
			a.holdEndS = s.simTimeS + float64(a.cmd.Param1)
		}
		if a.phase == 1 && s.simTimeS >= a.holdEndS {
			ms.reachedLocked(ob)
		}
	case cmdNavLoiterTurns:
		if a.phase == 0 {
			if ms.flyToTarget(v, h) {
				a.phase = 1
			}
			break
		}
		ms.circleStep(v, h)
		if a.circleDone >= a.circleGoal {
			ms.reachedLocked(ob)
		}
	case cmdNavRTL:
		v.rtlStepLocked(h)
	case cmdNavLand:
		if a.phase == 0 {
			// Fly to the landing point at the current altitude, then descend.
			s.velU = 0
			if !s.flyToward(a.tgtLat, a.tgtLon, v.cruiseMS(), v.tune.wpAccelMSS, h) {
				break
			}
		}
		a.phase = 1
		s.stopXY()
		s.velU = -v.landSpeedMS()
		s.altRelM += s.velU * h
	default:
		// A navigation command the simulator does not fly completes at once.
		ms.reachedLocked(ob)
	}
	if a.roi {
		n, e := offsetM(s.latDeg, s.lonDeg, a.roiLat, a.roiLon)
		if math.Hypot(n, e) > 1 {
			s.headingDeg = heading
			s.turnToward(math.Mod(math.Atan2(e, n)*180/math.Pi+360, 360), h)
		}
	}
}

// flyToTarget moves toward the command's position and altitude and reports
// whether both are reached.
func (ms *missionStore) flyToTarget(v *Vehicle, h float64) bool {
	s := &v.st
	a := &ms.auto
	xy := s.flyToward(a.tgtLat, a.tgtLon, v.cruiseMS(), v.tune.wpAccelMSS, h)
	z := s.climbToward(a.tgtAlt, v.climbMS(), v.descentMS(), h)
	return xy && z
}

// circleStep advances around the LOITER_TURNS circle.
func (ms *missionStore) circleStep(v *Vehicle, h float64) {
	s := &v.st
	a := &ms.auto
	omega := math.Min(circleRateDegS*math.Pi/180, v.cruiseMS()/a.circleR)
	step := omega * h
	a.circleAngle += a.circleDir * step
	a.circleDone += step
	lat0, lon0 := s.latDeg, s.lonDeg
	s.latDeg = a.circleLat + a.circleR*math.Cos(a.circleAngle)/mPerDegLat
	s.lonDeg = a.circleLon + a.circleR*math.Sin(a.circleAngle)/(mPerDegLat*math.Cos(a.circleLat*math.Pi/180))
	n, e := offsetM(lat0, lon0, s.latDeg, s.lonDeg)
	s.velN, s.velE = n/h, e/h
	s.climbToward(a.tgtAlt, v.climbMS(), v.descentMS(), h)
	s.turnToward(math.Mod(math.Atan2(e, n)*180/math.Pi+360, 360), h)
}

// sendCurrent announces the current command with MISSION_CURRENT.
func (ms *missionStore) sendCurrent(ob *outbox) {
	m := &common.MessageMissionCurrent{}
	ms.fillMissionCurrent(m)
	ob.all(m)
}

// fillMissionCurrent reports the current navigation command, the number of
// items without home, and the mission state, as ArduPilot 4.5 does.
func (ms *missionStore) fillMissionCurrent(m *common.MessageMissionCurrent) {
	s := &ms.v.st
	a := &ms.auto
	n := len(ms.lists[typeMission]) - 1
	*m = common.MessageMissionCurrent{Seq: uint16(a.navIdx), Total: uint16(max(n, 0)), MissionMode: 2}
	if s.mode == ModeAuto {
		m.MissionMode = 1
	}
	switch {
	case n <= 0:
		m.MissionState = common.MISSION_STATE_NO_MISSION
	case a.complete:
		m.MissionState = common.MISSION_STATE_COMPLETE
	case ms.missionRunning() && a.paused:
		m.MissionState = common.MISSION_STATE_PAUSED
	case ms.missionRunning():
		m.MissionState = common.MISSION_STATE_ACTIVE
	case a.navIdx <= 1:
		m.MissionState = common.MISSION_STATE_NOT_STARTED
	default:
		m.MissionState = common.MISSION_STATE_PAUSED
	}
}

// missionChangedLocked resets execution after a new mission is stored while
// not flying it: the next AUTO starts from the first item. A running mission
// carries on with its current command and reads the new items after it.
func (ms *missionStore) missionChangedLocked(ob *outbox) {
	if !ms.missionRunning() {
		ms.auto = autoState{}
	}
	ms.sendCurrent(ob)
}

// setCurrentLocked implements DO_SET_MISSION_CURRENT and MISSION_SET_CURRENT:
// the navigation command at or after seq becomes current (seq 0 means 1),
// and a flying vehicle goes there at once. resetJumps restarts the DO_JUMP
// counts; seq -1 with resetJumps only does that.
func (ms *missionStore) setCurrentLocked(seq int, resetJumps bool, ob *outbox) bool {
	a := &ms.auto
	list := ms.lists[typeMission]
	if len(list) <= 1 {
		return false
	}
	if resetJumps {
		a.jumps = nil
		if seq == -1 {
			return true
		}
	}
	if seq < 0 || seq >= len(list) {
		return false
	}
	seq = max(seq, 1)
	idx, ok := ms.nextNav(seq, true)
	if !ok {
		return false
	}
	s := &ms.v.st
	if s.mode == ModeAuto && s.armed && s.nav == navAuto {
		a.complete, a.paused = false, false
		ms.startNavLocked(idx, ob)
		return true
	}
	a.navIdx, a.complete = idx, false
	ms.sendCurrent(ob)
	return true
}

// commandLocked carries out the commands that belong to the mission.
func (ms *missionStore) commandLocked(v *Vehicle, req commandReq, ob *outbox) (common.MAV_RESULT, bool) {
	s := &v.st
	switch req.cmd {
	case common.MAV_CMD_MISSION_START:
		if req.p1 != 0 || req.p2 != 0 {
			return common.MAV_RESULT_DENIED, true // first/last item not supported
		}
		if !ms.hasMission() {
			ob.all(statusText(common.MAV_SEVERITY_WARNING, "Missing mission"))
			return common.MAV_RESULT_FAILED, true
		}
		wasAuto := s.mode == ModeAuto
		if !v.setModeLocked(ModeAuto, ob) {
			return common.MAV_RESULT_FAILED, true
		}
		if wasAuto && s.armed && (s.nav != navAuto || ms.auto.complete) {
			// Already in AUTO but not flying the mission: start or resume it.
			if !ms.startAuto(v, ob) {
				return common.MAV_RESULT_FAILED, true
			}
			s.nav = navAuto
		}
		return common.MAV_RESULT_ACCEPTED, true
	case common.MAV_CMD_DO_SET_MISSION_CURRENT:
		return okResult(ms.setCurrentLocked(int(req.p1), req.p2 > 0.5, ob)), true
	}
	return 0, false
}
