package sitl

import (
	"fmt"
	"math"
	"time"

	"github.com/bluenviron/gomavlib/v3/pkg/dialects/common"
)

const (
	// mPerDegLat is ArduPilot's LOCATION_SCALING_FACTOR in metres per degree.
	mPerDegLat = 111318.84502145034
	// maxStepS bounds one integration step so arrivals and touchdowns are
	// resolved finely at any speed-up.
	maxStepS = 0.05
	// maxAdvanceS bounds how much simulated time one scheduler wake can
	// integrate, so a stalled process does not spin through minutes at once.
	maxAdvanceS = 30
	yawRateDegS = 90
	// landDisarmS is how long ArduCopter idles on the ground after a LAND or
	// RTL touchdown before disarming itself.
	landDisarmS = 1
	rebootS     = 2
	// Battery model: a 4S LiPo.
	cellsFullV      = 16.8
	cellsEmptyV     = 13.2
	sagOhm          = 0.01
	idleCurrentA    = 0.5
	armedCurrentA   = 2
	hoverCurrentA   = 15
	freefallMaxMS   = 15
	arriveM         = 0.05
	gravityMSS      = 9.80665
	velocityCmdTTLS = 3
)

type navKind uint8

const (
	navHold     navKind = iota // hold position and altitude (or sit on the ground)
	navTakeoff                 // climb vertically to tgtAltRelM
	navGoto                    // fly to tgtLat/tgtLon/tgtAltRelM and hold there
	navVelocity                // follow a commanded velocity until it expires
	navLand                    // descend and land where we are
	navRTL                     // return to launch, in rtlStage steps
	navAuto                    // the mission server steers
)

type rtlStage uint8

const (
	rtlClimb rtlStage = iota
	rtlReturn
	rtlLoiter
	rtlFinal
)

// simState is the vehicle's physical and flight-control state.
type simState struct {
	simTimeS, bootTimeS float64

	armed     bool
	mode      uint32
	landed    bool
	rebooting bool
	rebootEnd float64
	gpsFix    bool

	latDeg, lonDeg, altRelM               float64
	headingDeg                            float64
	velN, velE, velU                      float64
	homeLatDeg, homeLonDeg, homeAltMSLM   float64
	nav                                   navKind
	tgtLatDeg, tgtLonDeg, tgtAltRelM      float64
	velCmdN, velCmdE, velCmdU, velCmdEndS float64
	paused                                bool
	rtl                                   rtlStage
	rtlLoiterEndS                         float64
	// Speed overrides from DO_CHANGE_SPEED (m/s, 0 = use parameters); they
	// last until the next mode change, as in ArduCopter.
	speedXYMS, speedUpMS, speedDnMS float64
	// landedAtS is when the vehicle last came to rest on the ground.
	landedAtS float64

	battConsumedMAh float64
	battCurrentA    float64
	battVoltV       float64
	battCapMAh      float64
	battLowFS       bool
	battCrtFS       bool
	throttlePct     float64
}

// boot puts the vehicle on the ground at home, disarmed in STABILIZE.
func (s *simState) boot(latDeg, lonDeg, altMSLM float64) {
	*s = simState{
		mode:        ModeStabilize,
		landed:      true,
		gpsFix:      true,
		latDeg:      latDeg,
		lonDeg:      lonDeg,
		homeLatDeg:  latDeg,
		homeLonDeg:  lonDeg,
		homeAltMSLM: altMSLM,
		battVoltV:   cellsFullV,
		battCapMAh:  5200,
	}
}

// offsetM returns the north and east distance in metres from a to b on a
// flat earth scaled at a's latitude, as ArduPilot's Location does.
func offsetM(aLat, aLon, bLat, bLon float64) (north, east float64) {
	north = (bLat - aLat) * mPerDegLat
	east = (bLon - aLon) * mPerDegLat * math.Cos(aLat*math.Pi/180)
	return north, east
}

func (s *simState) moveM(north, east float64) {
	s.latDeg += north / mPerDegLat
	scale := math.Cos(s.latDeg * math.Pi / 180)
	if scale < 0.01 {
		scale = 0.01
	}
	s.lonDeg += east / (mPerDegLat * scale)
	if s.lonDeg > 180 {
		s.lonDeg -= 360
	} else if s.lonDeg < -180 {
		s.lonDeg += 360
	}
}

func (s *simState) stopXY() { s.velN, s.velE = 0, 0 }

// turnToward yaws toward bearingDeg at the yaw rate limit.
func (s *simState) turnToward(bearingDeg, h float64) {
	diff := math.Mod(bearingDeg-s.headingDeg+540, 360) - 180
	step := yawRateDegS * h
	if math.Abs(diff) <= step {
		s.headingDeg = bearingDeg
	} else {
		s.headingDeg += math.Copysign(step, diff)
	}
	s.headingDeg = math.Mod(s.headingDeg+360, 360)
}

// flyToward moves horizontally toward the target at up to cruiseMS with
// acceleration accelMSS, slowing down to stop exactly on it. It reports
// whether the target has been reached.
func (s *simState) flyToward(tLat, tLon, cruiseMS, accelMSS, h float64) bool {
	n, e := offsetM(s.latDeg, s.lonDeg, tLat, tLon)
	dist := math.Hypot(n, e)
	if dist <= arriveM {
		s.latDeg, s.lonDeg = tLat, tLon
		s.stopXY()
		return true
	}
	cur := math.Hypot(s.velN, s.velE)
	want := math.Min(cruiseMS, math.Sqrt(2*accelMSS*dist))
	spd := math.Min(want, cur+accelMSS*h)
	if spd <= 0 {
		spd = accelMSS * h
	}
	step := spd * h
	if step >= dist {
		s.latDeg, s.lonDeg = tLat, tLon
		s.stopXY()
		return true
	}
	s.velN, s.velE = spd*n/dist, spd*e/dist
	s.moveM(step*n/dist, step*e/dist)
	if spd > 0.5 {
		s.turnToward(math.Atan2(e, n)*180/math.Pi, h)
	}
	return false
}

// climbToward moves vertically toward altRelM at the given rates and reports
// whether it is there.
func (s *simState) climbToward(altRelM, upMS, dnMS, h float64) bool {
	d := altRelM - s.altRelM
	if math.Abs(d) <= 0.01 {
		s.altRelM = altRelM
		s.velU = 0
		return true
	}
	if d > 0 {
		step := math.Min(upMS*h, d)
		s.velU = step / h
		s.altRelM += step
	} else {
		step := math.Min(dnMS*h, -d)
		s.velU = -step / h
		s.altRelM -= step
	}
	return math.Abs(altRelM-s.altRelM) <= 0.01
}

// Speeds in effect, from parameters and DO_CHANGE_SPEED.
func (v *Vehicle) cruiseMS() float64 {
	if v.st.speedXYMS > 0 {
		return v.st.speedXYMS
	}
	return v.tune.wpSpeedMS
}

func (v *Vehicle) climbMS() float64 {
	if v.st.speedUpMS > 0 {
		return v.st.speedUpMS
	}
	return v.tune.wpSpeedUpMS
}

func (v *Vehicle) descentMS() float64 {
	if v.st.speedDnMS > 0 {
		return v.st.speedDnMS
	}
	return v.tune.wpSpeedDnMS
}

// landSpeedMS is ArduCopter's landing descent rate: LAND_SPEED_HIGH (or
// WPNAV_SPEED_DN) above LAND_ALT_LOW, LAND_SPEED below it.
func (v *Vehicle) landSpeedMS() float64 {
	if v.st.altRelM > v.tune.landAltLowM {
		if v.tune.landSpeedHighMS > 0 {
			return v.tune.landSpeedHighMS
		}
		return v.tune.wpSpeedDnMS
	}
	return v.tune.landSpeedMS
}

// stepPhysicsLocked advances the simulation by dtS seconds of simulated time.
func (v *Vehicle) stepPhysicsLocked(dtS float64, ob *outbox) {
	dtS = math.Min(dtS, maxAdvanceS)
	for dtS > 1e-9 {
		h := math.Min(dtS, maxStepS)
		v.step1Locked(h, ob)
		dtS -= h
	}
}

func (v *Vehicle) step1Locked(h float64, ob *outbox) {
	s := &v.st
	s.simTimeS += h
	if s.rebooting {
		if s.simTimeS >= s.rebootEnd {
			v.finishRebootLocked()
		}
		return
	}
	v.flyLocked(h, ob)
	v.updateBatteryLocked(h)
	v.checkBatteryFailsafeLocked(ob)
	v.checkAutoDisarmLocked(ob)
	if v.missions != nil {
		// Every step, so the fence is checked as often at any speed-up.
		v.missions.tickLocked(v, time.Now(), ob)
	}
}

// flyLocked moves the vehicle for one step according to its navigation state.
func (v *Vehicle) flyLocked(h float64, ob *outbox) {
	s := &v.st
	if !s.armed {
		s.stopXY()
		if s.altRelM > 0 { // unpowered: fall
			s.velU = math.Max(s.velU-gravityMSS*h, -freefallMaxMS)
			s.altRelM += s.velU * h
		}
		v.touchdownLocked()
		s.throttlePct = 0
		return
	}
	if s.landed && s.nav != navTakeoff && s.nav != navAuto {
		// On the ground only a takeoff lifts the vehicle, as ArduCopter's
		// position controllers keep a landed vehicle on the ground (in AUTO
		// the mission decides: a takeoff item climbs, a landing completes).
		s.stopXY()
		s.velU = 0
		s.throttlePct = 100 * s.throttleIdle()
		return
	}
	switch s.nav {
	case navHold:
		s.stopXY()
		s.velU = 0
	case navTakeoff:
		s.stopXY()
		if s.climbToward(s.tgtAltRelM, v.climbMS(), v.descentMS(), h) {
			s.nav = navHold
		}
		if s.altRelM > 0 {
			s.landed = false
		}
	case navGoto:
		if s.paused {
			s.stopXY()
			s.velU = 0
			break
		}
		s.flyToward(s.tgtLatDeg, s.tgtLonDeg, v.cruiseMS(), v.tune.wpAccelMSS, h)
		s.climbToward(s.tgtAltRelM, v.climbMS(), v.descentMS(), h)
	case navVelocity:
		if s.paused || s.simTimeS > s.velCmdEndS {
			// Guided velocity control stops when setpoints stop coming.
			s.stopXY()
			s.velU = 0
			break
		}
		s.velN, s.velE, s.velU = s.velCmdN, s.velCmdE, s.velCmdU
		s.moveM(s.velN*h, s.velE*h)
		s.altRelM += s.velU * h
		if math.Hypot(s.velN, s.velE) > 0.5 {
			s.turnToward(math.Atan2(s.velE, s.velN)*180/math.Pi, h)
		}
	case navLand:
		s.stopXY()
		s.velU = -v.landSpeedMS()
		s.altRelM += s.velU * h
	case navRTL:
		v.rtlStepLocked(h)
	case navAuto:
		if v.missions != nil {
			v.missions.stepAuto(v, h, ob)
		} else {
			s.stopXY()
			s.velU = 0
		}
	}
	v.touchdownLocked()
	s.throttlePct = 100 * v.throttleLocked()
}

func (v *Vehicle) rtlStepLocked(h float64) {
	s := &v.st
	switch s.rtl {
	case rtlClimb:
		s.stopXY()
		if s.climbToward(s.tgtAltRelM, v.climbMS(), v.descentMS(), h) {
			s.rtl = rtlReturn
		}
	case rtlReturn:
		speed := v.tune.rtlSpeedMS
		if speed <= 0 {
			speed = v.cruiseMS()
		}
		s.climbToward(s.tgtAltRelM, v.climbMS(), v.descentMS(), h)
		if s.flyToward(s.homeLatDeg, s.homeLonDeg, speed, v.tune.wpAccelMSS, h) {
			s.rtl = rtlLoiter
			s.rtlLoiterEndS = s.simTimeS + v.tune.rtlLoitTimeS
		}
	case rtlLoiter:
		s.stopXY()
		s.velU = 0
		if s.simTimeS >= s.rtlLoiterEndS {
			s.rtl = rtlFinal
		}
	case rtlFinal:
		s.stopXY()
		if v.tune.rtlAltFinalM > 0 {
			s.climbToward(v.tune.rtlAltFinalM, v.climbMS(), v.descentMS(), h)
			break
		}
		s.velU = -v.landSpeedMS()
		s.altRelM += s.velU * h
	}
}

// touchdownLocked detects reaching the ground.
func (v *Vehicle) touchdownLocked() {
	s := &v.st
	if s.altRelM > 0 || (s.armed && s.nav == navTakeoff) {
		return
	}
	s.altRelM = 0
	s.velU = 0
	s.stopXY()
	if !s.landed {
		s.landed = true
		s.landedAtS = s.simTimeS
	}
}

func (s *simState) throttleIdle() float64 { return 0.1 }

func (v *Vehicle) throttleLocked() float64 {
	s := &v.st
	th := v.tune.hoverThrottle
	if s.velU > 0 {
		th += 0.25 * s.velU / math.Max(v.tune.wpSpeedUpMS, 0.1)
	} else {
		th += 0.15 * s.velU / math.Max(v.tune.wpSpeedDnMS, 0.1)
	}
	th += 0.02 * math.Hypot(s.velN, s.velE)
	return min(max(th, 0), 1)
}

// checkAutoDisarmLocked disarms a vehicle resting on the ground: one second
// after a LAND/RTL touchdown, or after DISARM_DELAY otherwise.
func (v *Vehicle) checkAutoDisarmLocked(ob *outbox) {
	s := &v.st
	if !s.armed || !s.landed || s.nav == navTakeoff {
		return
	}
	idle := s.simTimeS - s.landedAtS
	landing := s.mode == ModeLand || s.mode == ModeRTL
	switch {
	case landing && idle >= landDisarmS:
	case v.tune.disarmDelayS > 0 && idle >= v.tune.disarmDelayS:
	default:
		return
	}
	v.disarmLocked()
	ob.all(statusText(common.MAV_SEVERITY_INFO, "Disarming motors"))
}

// updateBatteryLocked drains the battery by the current drawn.
func (v *Vehicle) updateBatteryLocked(h float64) {
	s := &v.st
	switch {
	case !s.armed:
		s.battCurrentA = idleCurrentA
	case s.landed:
		s.battCurrentA = armedCurrentA
	default:
		s.battCurrentA = hoverCurrentA * (0.6 + s.throttlePct/100)
	}
	s.battCapMAh = v.tune.battCapacityMAh
	s.battConsumedMAh = math.Min(s.battConsumedMAh+s.battCurrentA*h/3.6, s.battCapMAh)
	s.updateBatteryVoltage()
}

func (s *simState) batteryPct() float64 {
	if s.battCapMAh <= 0 {
		return 0
	}
	return min(max(100*(1-s.battConsumedMAh/s.battCapMAh), 0), 100)
}

func (v *Vehicle) batteryPctLocked() float64 {
	v.st.battCapMAh = v.tune.battCapacityMAh
	return v.st.batteryPct()
}

func (s *simState) updateBatteryVoltage() {
	s.battVoltV = cellsEmptyV + (cellsFullV-cellsEmptyV)*s.batteryPct()/100 - sagOhm*s.battCurrentA
}

func (v *Vehicle) battRemainingMAh() float64 {
	return v.tune.battCapacityMAh - v.st.battConsumedMAh
}

// checkBatteryFailsafeLocked raises the low and critical battery failsafes
// (BATT_LOW_*/BATT_CRT_* thresholds, zero disables) and takes the configured
// BATT_FS_*_ACT action while flying.
func (v *Vehicle) checkBatteryFailsafeLocked(ob *outbox) {
	s := &v.st
	t := &v.tune
	rem := v.battRemainingMAh()
	crit := (t.battCrtVoltV > 0 && s.battVoltV < t.battCrtVoltV) || (t.battCrtMAh > 0 && rem < t.battCrtMAh)
	low := crit || (t.battLowVoltV > 0 && s.battVoltV < t.battLowVoltV) || (t.battLowMAh > 0 && rem < t.battLowMAh)
	switch {
	case crit && !s.battCrtFS:
		s.battCrtFS, s.battLowFS = true, true
		ob.all(statusText(common.MAV_SEVERITY_CRITICAL, fmt.Sprintf("Battery 1 is critical %.2fV used %.0f mAh", s.battVoltV, s.battConsumedMAh)))
		v.batteryActionLocked(t.battFSCrtAct, ob)
	case low && !s.battLowFS:
		s.battLowFS = true
		ob.all(statusText(common.MAV_SEVERITY_CRITICAL, fmt.Sprintf("Battery 1 is low %.2fV used %.0f mAh", s.battVoltV, s.battConsumedMAh)))
		v.batteryActionLocked(t.battFSLowAct, ob)
	}
}

func (v *Vehicle) batteryActionLocked(action int, ob *outbox) {
	if !v.st.armed || v.st.landed {
		return
	}
	switch action {
	case 1, 4: // LAND; SmartRTL-or-LAND has no SmartRTL path here
		v.setModeLocked(ModeLand, ob)
	case 2, 3: // RTL; SmartRTL-or-RTL
		if !v.setModeLocked(ModeRTL, ob) {
			v.setModeLocked(ModeLand, ob)
		}
	case 5: // terminate
		v.disarmLocked()
	}
}

// modeNeedsPosition lists the modes ArduCopter refuses without a position
// estimate.
func modeNeedsPosition(mode uint32) bool {
	switch mode {
	case ModeAuto, ModeGuided, ModeLoiter, ModeRTL, ModeBrake:
		return true
	}
	return false
}

// modeAllowsArming is false for the modes ArduCopter will not arm in from a
// MAVLink request.
func modeAllowsArming(mode uint32) bool {
	switch mode {
	case ModeAuto, ModeRTL, ModeLand, ModeBrake:
		return false
	}
	return true
}

// setModeLocked changes flight mode as Copter::set_mode does: checks apply
// only while armed, and re-entering the current mode is accepted unchanged.
func (v *Vehicle) setModeLocked(mode uint32, ob *outbox) bool {
	s := &v.st
	name := ModeName(mode)
	if name == "" {
		ob.all(statusText(common.MAV_SEVERITY_WARNING, fmt.Sprintf("No such mode %d", mode)))
		return false
	}
	if s.mode == mode {
		return true
	}
	if s.armed {
		if modeNeedsPosition(mode) && !s.gpsFix {
			ob.all(statusText(common.MAV_SEVERITY_WARNING, "Mode change to "+name+" failed: requires position"))
			return false
		}
		if mode == ModeAuto && (v.missions == nil || !v.missions.hasMission()) {
			ob.all(statusText(common.MAV_SEVERITY_WARNING, "Mode change to AUTO failed: init failed"))
			return false
		}
	}
	prev := s.mode
	s.mode = mode
	s.paused = false
	s.speedXYMS, s.speedUpMS, s.speedDnMS = 0, 0, 0
	switch mode {
	case ModeLand:
		s.nav = navLand
	case ModeRTL:
		s.nav = navRTL
		s.rtl = rtlClimb
		s.tgtAltRelM = math.Max(v.tune.rtlAltM, s.altRelM+v.tune.rtlClimbMinM)
	case ModeAuto:
		s.nav = navHold
		if v.missions != nil && s.armed {
			if !v.missions.startAuto(v, ob) {
				s.mode = prev
				return false
			}
			s.nav = navAuto
		}
	default:
		s.nav = navHold
	}
	return true
}

// prearmFailureLocked returns the first failing pre-arm check, without the
// "PreArm: " prefix, or "".
func (v *Vehicle) prearmFailureLocked() string {
	s := &v.st
	t := &v.tune
	// The position check is mandatory even with ARMING_CHECK=0.
	if (modeNeedsPosition(s.mode) || t.fenceEnable != 0) && !s.gpsFix {
		if t.fenceEnable != 0 && !modeNeedsPosition(s.mode) {
			return "Fence enabled, need 3D Fix"
		}
		return "Need 3D Fix"
	}
	const checkAll, checkBattery = 1, 1 << 8
	if t.armingCheck&(checkAll|checkBattery) != 0 {
		if t.battArmMAh > 0 && v.battRemainingMAh() < t.battArmMAh {
			return "Battery 1 below minimum arming capacity"
		}
		if t.battArmVoltV > 0 && s.battVoltV < t.battArmVoltV {
			return "Battery 1 below minimum arming voltage"
		}
		if s.battCrtFS {
			return "Battery 1 critical failsafe"
		}
		if s.battLowFS {
			return "Battery 1 low failsafe"
		}
	}
	return ""
}

// armLocked arms like AP_Arming::arm: forced arming skips every check.
func (v *Vehicle) armLocked(force bool, ob *outbox) bool {
	s := &v.st
	if s.armed {
		return true
	}
	if !force {
		if why := v.prearmFailureLocked(); why != "" {
			ob.all(statusText(common.MAV_SEVERITY_CRITICAL, "PreArm: "+why))
			return false
		}
		if !modeAllowsArming(s.mode) {
			ob.all(statusText(common.MAV_SEVERITY_CRITICAL, "Arm: Mode not armable"))
			return false
		}
	}
	s.armed = true
	s.nav = navHold
	s.paused = false
	if s.altRelM <= 0 {
		s.landed = true
	}
	s.landedAtS = s.simTimeS
	// ArduCopter moves home to where it arms.
	if s.landed && s.gpsFix {
		s.homeAltMSLM += s.altRelM
		s.altRelM = 0
		s.homeLatDeg, s.homeLonDeg = s.latDeg, s.lonDeg
		home := &common.MessageHomePosition{}
		v.fillHomeLocked(home)
		ob.all(home)
	}
	return true
}

// disarmLocked stops the motors; a vehicle in the air then falls.
func (v *Vehicle) disarmLocked() {
	s := &v.st
	s.armed = false
	s.nav = navHold
	s.paused = false
}

// startTakeoffLocked is Mode::do_user_takeoff: armed, on the ground, in a mode
// with a user takeoff, and a target above the current altitude.
func (v *Vehicle) startTakeoffLocked(altRelM float64) bool {
	s := &v.st
	if !s.armed || !s.landed {
		return false
	}
	if s.mode != ModeGuided && s.mode != ModeLoiter {
		return false
	}
	if math.IsNaN(altRelM) || altRelM <= s.altRelM || altRelM > 10000 {
		return false
	}
	s.nav = navTakeoff
	s.tgtAltRelM = altRelM
	s.tgtLatDeg, s.tgtLonDeg = s.latDeg, s.lonDeg
	s.paused = false
	return true
}

// gotoLocked sets a GUIDED position target.
func (v *Vehicle) gotoLocked(latDeg, lonDeg, altRelM float64) {
	s := &v.st
	s.nav = navGoto
	s.tgtLatDeg, s.tgtLonDeg, s.tgtAltRelM = latDeg, lonDeg, math.Max(altRelM, 0)
	s.paused = false
}

// finishRebootLocked brings the vehicle back as if freshly booted where it
// stands; parameters persist, runtime settings do not.
func (v *Vehicle) finishRebootLocked() {
	s := &v.st
	s.rebooting = false
	s.bootTimeS = s.simTimeS
	s.armed = false
	s.mode = ModeStabilize
	s.nav = navHold
	s.paused = false
	s.speedXYMS, s.speedUpMS, s.speedDnMS = 0, 0, 0
	s.battLowFS, s.battCrtFS = false, false
	v.gcs = gcsLink{}
	v.plist = paramListState{}
	if v.missions != nil {
		v.missions.rebootLocked()
	}
	clear(v.cmdCache)
	// The scheduler resets message intervals, which needs the wall clock.
	v.streamsReset = true
}
