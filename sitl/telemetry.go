package sitl

import (
	"fmt"
	"math"
	"time"

	"github.com/bluenviron/gomavlib/v3/pkg/dialects/common"
	"github.com/bluenviron/gomavlib/v3/pkg/message"
)

// streamID indexes the periodic messages the vehicle sends.
type streamID int

const (
	stHeartbeat streamID = iota
	stSysStatus
	stGPSRaw
	stMissionCurrent
	stGlobalPos
	stAttitude
	stVFRHUD
	stBattery
	stHome
	numStreams
)

// streamDef describes one periodic message: its MAVLink id and either the
// REQUEST_DATA_STREAM group (and SR0_* parameter) that sets its rate, or a
// fixed default rate.
type streamDef struct {
	msgID   uint32
	grouped bool
	group   common.MAV_DATA_STREAM
	fixedHz float64
}

// streamDefs follows ArduCopter's stream groups: EXTENDED_STATUS carries
// SYS_STATUS, GPS_RAW_INT and MISSION_CURRENT; POSITION carries
// GLOBAL_POSITION_INT; EXTRA1 ATTITUDE; EXTRA2 VFR_HUD; EXTRA3 BATTERY_STATUS.
var streamDefs = [numStreams]streamDef{
	stHeartbeat:      {msgID: 0, fixedHz: 1},
	stSysStatus:      {msgID: 1, grouped: true, group: common.MAV_DATA_STREAM_EXTENDED_STATUS},
	stGPSRaw:         {msgID: 24, grouped: true, group: common.MAV_DATA_STREAM_EXTENDED_STATUS},
	stMissionCurrent: {msgID: 42, grouped: true, group: common.MAV_DATA_STREAM_EXTENDED_STATUS},
	stGlobalPos:      {msgID: 33, grouped: true, group: common.MAV_DATA_STREAM_POSITION},
	stAttitude:       {msgID: 30, grouped: true, group: common.MAV_DATA_STREAM_EXTRA1},
	stVFRHUD:         {msgID: 74, grouped: true, group: common.MAV_DATA_STREAM_EXTRA2},
	stBattery:        {msgID: 147, grouped: true, group: common.MAV_DATA_STREAM_EXTRA3},
	stHome:           {msgID: 242, fixedHz: 0.2},
}

const (
	msgIDAutopilotVersion = 148
	msgIDProtocolVersion  = 300
	// Limits on SET_MESSAGE_INTERVAL, and on stream rates (SRx max 50 Hz).
	minIntervalUs   = 2500
	maxIntervalUs   = 60_000_000
	maxStreamHz     = 50
	maxSleep        = 100 * time.Millisecond
	scheduleSlack   = time.Millisecond
	initialPhaseMax = 200 * time.Millisecond
)

// groupParam maps a REQUEST_DATA_STREAM group to its rate parameter.
func groupParam(g common.MAV_DATA_STREAM) string {
	switch g {
	case common.MAV_DATA_STREAM_RAW_SENSORS:
		return "SR0_RAW_SENS"
	case common.MAV_DATA_STREAM_EXTENDED_STATUS:
		return "SR0_EXT_STAT"
	case common.MAV_DATA_STREAM_RC_CHANNELS:
		return "SR0_RC_CHAN"
	case common.MAV_DATA_STREAM_RAW_CONTROLLER:
		return "SR0_RAW_CTRL"
	case common.MAV_DATA_STREAM_POSITION:
		return "SR0_POSITION"
	case common.MAV_DATA_STREAM_EXTRA1:
		return "SR0_EXTRA1"
	case common.MAV_DATA_STREAM_EXTRA2:
		return "SR0_EXTRA2"
	case common.MAV_DATA_STREAM_EXTRA3:
		return "SR0_EXTRA3"
	}
	return ""
}

// streamState is one stream's schedule.
type streamState struct {
	// overrideUs is the SET_MESSAGE_INTERVAL setting: 0 default, -1
	// disabled, >0 interval in µs.
	overrideUs int64
	interval   time.Duration // in effect; 0 = not sent
	next       time.Time
}

// telemetryMsgs are the scheduler's reusable message structs. The node
// encodes a message before WriteMessage returns, so reuse is safe.
type telemetryMsgs struct {
	hb   common.MessageHeartbeat
	sys  common.MessageSysStatus
	gps  common.MessageGpsRawInt
	mc   common.MessageMissionCurrent
	gpi  common.MessageGlobalPositionInt
	att  common.MessageAttitude
	vfr  common.MessageVfrHud
	batt common.MessageBatteryStatus
	home common.MessageHomePosition
}

func streamByMsgID(id uint32) (streamID, bool) {
	for i, d := range streamDefs {
		if d.msgID == id {
			return streamID(i), true
		}
	}
	return 0, false
}

func (v *Vehicle) effectiveIntervalLocked(i streamID) time.Duration {
	st := &v.streams[i]
	switch {
	case st.overrideUs < 0:
		return 0
	case st.overrideUs > 0:
		return time.Duration(st.overrideUs) * time.Microsecond
	}
	d := streamDefs[i]
	hz := d.fixedHz
	if d.grouped {
		hz = min(v.params.get(groupParam(d.group)), maxStreamHz)
	}
	if hz <= 0 {
		return 0
	}
	return time.Duration(float64(time.Second) / hz)
}

// initStreamsLocked schedules every stream with a seeded phase so that many
// vehicles started together do not all send in the same instant.
func (v *Vehicle) initStreamsLocked(now time.Time) {
	for i := range v.streams {
		st := &v.streams[i]
		st.overrideUs = 0
		st.interval = v.effectiveIntervalLocked(streamID(i))
		phase := min(st.interval, initialPhaseMax)
		st.next = now.Add(time.Duration(v.phaseRng.Float64() * float64(phase)))
	}
}

// recomputeStreamsLocked applies rate changes, bringing a stream forward when
// it was off or its new interval is shorter than the wait.
func (v *Vehicle) recomputeStreamsLocked(now time.Time) {
	for i := range v.streams {
		st := &v.streams[i]
		iv := v.effectiveIntervalLocked(streamID(i))
		if iv > 0 && (st.interval <= 0 || st.next.After(now.Add(iv))) {
			st.next = now.Add(iv)
			if st.interval <= 0 {
				st.next = now
			}
		}
		st.interval = iv
	}
	v.wake()
}

// emitDueStreamsLocked queues every stream message that is due.
func (v *Vehicle) emitDueStreamsLocked(now time.Time, ob *outbox) {
	limit := now.Add(scheduleSlack)
	for i := range v.streams {
		st := &v.streams[i]
		if st.interval <= 0 || st.next.After(limit) {
			continue
		}
		ob.all(v.fillStreamLocked(streamID(i), &v.tm))
		st.next = st.next.Add(st.interval)
		if st.next.Before(now) {
			// Fell behind (a stall or a rate change): skip, do not burst.
			st.next = now.Add(st.interval)
		}
	}
}

func (v *Vehicle) nextWakeLocked(now time.Time) time.Time {
	wake := now.Add(maxSleep)
	if !v.st.rebooting {
		for i := range v.streams {
			st := &v.streams[i]
			if st.interval > 0 && st.next.Before(wake) {
				wake = st.next
			}
		}
		if v.plist.active {
			wake = minTime(wake, now.Add(paramTickPeriod))
		}
	}
	return wake
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// runScheduler is the vehicle's one clock: it integrates physics, checks the
// failsafes, sends due telemetry and paced parameters, and flushes messages
// held back by injected latency. It sleeps until the next thing is due.
func (v *Vehicle) runScheduler() {
	defer v.wg.Done()
	timer := time.NewTimer(0)
	defer timer.Stop()
	last := time.Now()
	ob := &v.schedOut
	for {
		select {
		case <-v.done:
			return
		case <-timer.C:
		case <-v.kick:
		}
		now := time.Now()
		dt := now.Sub(last).Seconds()
		last = now

		v.mu.Lock()
		v.stepPhysicsLocked(dt*v.speedup, ob)
		if v.streamsReset {
			v.streamsReset = false
			v.resetStreamOverridesLocked(now)
		}
		v.checkGCSFailsafeLocked(now, ob)
		if !v.st.rebooting {
			v.emitDueStreamsLocked(now, ob)
			v.emitParamsLocked(ob)
		}
		wake := v.nextWakeLocked(now)
		v.mu.Unlock()

		v.emit(now, ob)
		if due, ok := v.flushDelayed(time.Now()); ok {
			wake = minTime(wake, due)
		}
		timer.Reset(max(time.Until(wake), 0))
	}
}

// resetStreamOverridesLocked forgets SET_MESSAGE_INTERVAL settings, as a
// reboot does.
func (v *Vehicle) resetStreamOverridesLocked(now time.Time) {
	for i := range v.streams {
		v.streams[i].overrideUs = 0
	}
	v.recomputeStreamsLocked(now)
}

// onRequestDataStreamLocked implements REQUEST_DATA_STREAM as ArduPilot
// does: it sets the group's SR0_* rate (all groups but PARAMS for
// MAV_DATA_STREAM_ALL) and resets the intervals of that group's messages.
func (v *Vehicle) onRequestDataStreamLocked(now time.Time, m *common.MessageRequestDataStream) {
	var hz float32
	switch m.StartStop {
	case 0:
		hz = 0
	case 1:
		hz = float32(m.ReqMessageRate)
	default:
		return
	}
	var groups []common.MAV_DATA_STREAM
	if m.ReqStreamId == common.MAV_DATA_STREAM_ALL {
		groups = []common.MAV_DATA_STREAM{
			common.MAV_DATA_STREAM_RAW_SENSORS, common.MAV_DATA_STREAM_EXTENDED_STATUS,
			common.MAV_DATA_STREAM_RC_CHANNELS, common.MAV_DATA_STREAM_RAW_CONTROLLER,
			common.MAV_DATA_STREAM_POSITION, common.MAV_DATA_STREAM_EXTRA1,
			common.MAV_DATA_STREAM_EXTRA2, common.MAV_DATA_STREAM_EXTRA3,
		}
		v.params.set("SR0_ADSB", hz)
	} else if groupParam(m.ReqStreamId) != "" {
		groups = []common.MAV_DATA_STREAM{m.ReqStreamId}
	}
	for _, g := range groups {
		v.params.set(groupParam(g), hz)
		for i, d := range streamDefs {
			if d.grouped && d.group == g {
				v.streams[i].overrideUs = 0
			}
		}
	}
	v.recomputeStreamsLocked(now)
}

// setMessageIntervalLocked implements MAV_CMD_SET_MESSAGE_INTERVAL.
func (v *Vehicle) setMessageIntervalLocked(now time.Time, msgID uint32, intervalUs float32, ob *outbox) common.MAV_RESULT {
	i, ok := streamByMsgID(msgID)
	if !ok {
		ob.all(statusText(common.MAV_SEVERITY_INFO, fmt.Sprintf("No ap_message for mavlink id (%d)", msgID)))
		return common.MAV_RESULT_DENIED
	}
	var us int64
	switch iv := int64(intervalUs); {
	case iv == 0:
		us = 0
	case iv == -1:
		us = -1
	case iv < minIntervalUs:
		us = minIntervalUs
	case iv > maxIntervalUs:
		us = maxIntervalUs
	default:
		us = iv
	}
	v.streams[i].overrideUs = us
	v.recomputeStreamsLocked(now)
	return common.MAV_RESULT_ACCEPTED
}

// messageIntervalLocked answers MAV_CMD_GET_MESSAGE_INTERVAL.
func (v *Vehicle) messageIntervalLocked(msgID uint32) *common.MessageMessageInterval {
	m := &common.MessageMessageInterval{MessageId: uint16(msgID)}
	if i, ok := streamByMsgID(msgID); ok {
		m.IntervalUs = -1
		if iv := v.streams[i].interval; iv > 0 {
			m.IntervalUs = int32(iv / time.Microsecond)
		}
	}
	return m
}

// fillStreamLocked fills stream i's struct in t and returns it. The
// scheduler passes its reusable v.tm; anyone else must pass their own.
func (v *Vehicle) fillStreamLocked(i streamID, t *telemetryMsgs) message.Message {
	switch i {
	case stHeartbeat:
		v.fillHeartbeatLocked(&t.hb)
		return &t.hb
	case stSysStatus:
		v.fillSysStatusLocked(&t.sys)
		return &t.sys
	case stGPSRaw:
		v.fillGPSRawLocked(&t.gps)
		return &t.gps
	case stMissionCurrent:
		v.fillMissionCurrentLocked(&t.mc)
		return &t.mc
	case stGlobalPos:
		v.fillGlobalPosLocked(&t.gpi)
		return &t.gpi
	case stAttitude:
		v.fillAttitudeLocked(&t.att)
		return &t.att
	case stVFRHUD:
		v.fillVFRHUDLocked(&t.vfr)
		return &t.vfr
	case stBattery:
		v.fillBatteryLocked(&t.batt)
		return &t.batt
	default:
		v.fillHomeLocked(&t.home)
		return &t.home
	}
}

// buildMessageLocked builds a fresh message for MAV_CMD_REQUEST_MESSAGE, or
// returns nil if the vehicle cannot send that id.
func (v *Vehicle) buildMessageLocked(id uint32) message.Message {
	switch id {
	case msgIDAutopilotVersion:
		m := &common.MessageAutopilotVersion{}
		v.fillAutopilotVersion(m)
		return m
	case msgIDProtocolVersion:
		return &common.MessageProtocolVersion{Version: 200, MinVersion: 100, MaxVersion: 200}
	}
	i, ok := streamByMsgID(id)
	if !ok {
		return nil
	}
	// Not v.tm: that belongs to the scheduler goroutine, which may be
	// encoding it right now.
	return v.fillStreamLocked(i, &telemetryMsgs{})
}

func (v *Vehicle) bootMs() uint32 {
	return uint32((v.st.simTimeS - v.st.bootTimeS) * 1000)
}

func degE7(deg float64) int32 { return int32(math.Round(deg * 1e7)) }

func clampInt16(f float64) int16 {
	return int16(min(max(math.Round(f), math.MinInt16), math.MaxInt16))
}

func (v *Vehicle) failsafeActiveLocked() bool {
	return v.gcs.failsafe || v.st.battLowFS
}

// fillHeartbeatLocked builds the HEARTBEAT as ArduCopter does: stabilize and
// manual-input flags always, guided when position control runs, armed flag,
// custom mode = mode number; CRITICAL during a failsafe, STANDBY on the ground.
func (v *Vehicle) fillHeartbeatLocked(m *common.MessageHeartbeat) {
	s := &v.st
	base := common.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED | common.MAV_MODE_FLAG_STABILIZE_ENABLED |
		common.MAV_MODE_FLAG_MANUAL_INPUT_ENABLED
	if modeNeedsPosition(s.mode) || s.mode == ModeLand {
		base |= common.MAV_MODE_FLAG_GUIDED_ENABLED
	}
	if s.armed {
		base |= common.MAV_MODE_FLAG_SAFETY_ARMED
	}
	status := common.MAV_STATE_ACTIVE
	switch {
	case v.failsafeActiveLocked():
		status = common.MAV_STATE_CRITICAL
	case s.landed:
		status = common.MAV_STATE_STANDBY
	}
	*m = common.MessageHeartbeat{
		Type:           common.MAV_TYPE_QUADROTOR,
		Autopilot:      common.MAV_AUTOPILOT_ARDUPILOTMEGA,
		BaseMode:       base,
		CustomMode:     s.mode,
		SystemStatus:   status,
		MavlinkVersion: 3,
	}
}

const sensorsPresent = common.MAV_SYS_STATUS_SENSOR_3D_GYRO | common.MAV_SYS_STATUS_SENSOR_3D_ACCEL |
	common.MAV_SYS_STATUS_SENSOR_3D_MAG | common.MAV_SYS_STATUS_SENSOR_ABSOLUTE_PRESSURE |
	common.MAV_SYS_STATUS_SENSOR_GPS | common.MAV_SYS_STATUS_SENSOR_ANGULAR_RATE_CONTROL |
	common.MAV_SYS_STATUS_SENSOR_ATTITUDE_STABILIZATION | common.MAV_SYS_STATUS_SENSOR_YAW_POSITION |
	common.MAV_SYS_STATUS_SENSOR_Z_ALTITUDE_CONTROL | common.MAV_SYS_STATUS_SENSOR_XY_POSITION_CONTROL |
	common.MAV_SYS_STATUS_SENSOR_MOTOR_OUTPUTS | common.MAV_SYS_STATUS_AHRS |
	common.MAV_SYS_STATUS_SENSOR_BATTERY | common.MAV_SYS_STATUS_PREARM_CHECK

func (v *Vehicle) fillSysStatusLocked(m *common.MessageSysStatus) {
	s := &v.st
	health := sensorsPresent
	if !s.gpsFix {
		health &^= common.MAV_SYS_STATUS_SENSOR_GPS
	}
	// Like ArduPilot, the PREARM_CHECK health bit tells a GCS whether the
	// vehicle would pass its pre-arm checks right now.
	if s.armed || v.prearmFailureLocked() != "" {
		health &^= common.MAV_SYS_STATUS_PREARM_CHECK
	}
	if s.battLowFS {
		health &^= common.MAV_SYS_STATUS_SENSOR_BATTERY
	}
	*m = common.MessageSysStatus{
		OnboardControlSensorsPresent: sensorsPresent,
		OnboardControlSensorsEnabled: sensorsPresent,
		OnboardControlSensorsHealth:  health,
		Load:                         200,
		VoltageBattery:               uint16(math.Round(s.battVoltV * 1000)),
		CurrentBattery:               clampInt16(s.battCurrentA * 100),
		BatteryRemaining:             int8(math.Round(v.batteryPctLocked())),
	}
}

func (v *Vehicle) fillGPSRawLocked(m *common.MessageGpsRawInt) {
	s := &v.st
	if !s.gpsFix {
		*m = common.MessageGpsRawInt{
			TimeUsec: uint64(time.Now().UnixMicro()),
			FixType:  common.GPS_FIX_TYPE_NO_FIX,
			Eph:      math.MaxUint16,
			Epv:      math.MaxUint16,
			Cog:      math.MaxUint16,
		}
		return
	}
	altMM := int32(math.Round((s.homeAltMSLM + s.altRelM) * 1000))
	hs := math.Hypot(s.velN, s.velE)
	cog := uint16(math.MaxUint16)
	if hs > 0.2 {
		cog = uint16(math.Mod(math.Atan2(s.velE, s.velN)*180/math.Pi+360, 360) * 100)
	}
	*m = common.MessageGpsRawInt{
		TimeUsec:          uint64(time.Now().UnixMicro()),
		FixType:           common.GPS_FIX_TYPE_3D_FIX,
		Lat:               degE7(s.latDeg),
		Lon:               degE7(s.lonDeg),
		Alt:               altMM,
		Eph:               70, // HDOP 0.7
		Epv:               120,
		Vel:               uint16(min(math.Round(hs*100), math.MaxUint16-1)),
		Cog:               cog,
		SatellitesVisible: 14,
		AltEllipsoid:      altMM,
		HAcc:              300,
		VAcc:              500,
		VelAcc:            100,
	}
}

func (v *Vehicle) fillMissionCurrentLocked(m *common.MessageMissionCurrent) {
	if v.missions != nil {
		v.missions.fillMissionCurrent(m)
		return
	}
	*m = common.MessageMissionCurrent{MissionState: common.MISSION_STATE_NO_MISSION}
	if v.st.mode == ModeAuto {
		m.MissionMode = 1
	}
}

func (v *Vehicle) fillGlobalPosLocked(m *common.MessageGlobalPositionInt) {
	s := &v.st
	*m = common.MessageGlobalPositionInt{
		TimeBootMs:  v.bootMs(),
		Lat:         degE7(s.latDeg),
		Lon:         degE7(s.lonDeg),
		Alt:         int32(math.Round((s.homeAltMSLM + s.altRelM) * 1000)),
		RelativeAlt: int32(math.Round(s.altRelM * 1000)),
		Vx:          clampInt16(s.velN * 100),
		Vy:          clampInt16(s.velE * 100),
		Vz:          clampInt16(-s.velU * 100),
		Hdg:         uint16(math.Mod(math.Round(s.headingDeg*100), 36000)),
	}
}

func (v *Vehicle) fillAttitudeLocked(m *common.MessageAttitude) {
	s := &v.st
	yaw := s.headingDeg * math.Pi / 180
	if yaw > math.Pi {
		yaw -= 2 * math.Pi
	}
	// Lean into the direction of travel: pitch for forward speed.
	pitch := -min(math.Hypot(s.velN, s.velE)*0.02, v.tune.angleMaxRad)
	*m = common.MessageAttitude{
		TimeBootMs: v.bootMs(),
		Pitch:      float32(pitch),
		Yaw:        float32(yaw),
	}
}

func (v *Vehicle) fillVFRHUDLocked(m *common.MessageVfrHud) {
	s := &v.st
	hs := float32(math.Hypot(s.velN, s.velE))
	*m = common.MessageVfrHud{
		Airspeed:    hs,
		Groundspeed: hs,
		Heading:     int16(math.Mod(math.Round(s.headingDeg), 360)),
		Throttle:    uint16(math.Round(s.throttlePct)),
		Alt:         float32(s.homeAltMSLM + s.altRelM),
		Climb:       float32(s.velU),
	}
}

func (v *Vehicle) fillBatteryLocked(m *common.MessageBatteryStatus) {
	s := &v.st
	state := common.MAV_BATTERY_CHARGE_STATE_OK
	switch {
	case s.battCrtFS:
		state = common.MAV_BATTERY_CHARGE_STATE_CRITICAL
	case s.battLowFS:
		state = common.MAV_BATTERY_CHARGE_STATE_LOW
	}
	*m = common.MessageBatteryStatus{
		BatteryFunction:  common.MAV_BATTERY_FUNCTION_ALL,
		Type:             common.MAV_BATTERY_TYPE_LIPO,
		Temperature:      math.MaxInt16,
		CurrentBattery:   clampInt16(s.battCurrentA * 100),
		CurrentConsumed:  int32(math.Round(s.battConsumedMAh)),
		EnergyConsumed:   int32(math.Round(s.battConsumedMAh / 1000 * (cellsFullV + cellsEmptyV) / 2 * 36)),
		BatteryRemaining: int8(math.Round(v.batteryPctLocked())),
		ChargeState:      state,
	}
	for i := range m.Voltages {
		m.Voltages[i] = math.MaxUint16
	}
	m.Voltages[0] = uint16(math.Round(s.battVoltV * 1000))
}

func (v *Vehicle) fillHomeLocked(m *common.MessageHomePosition) {
	s := &v.st
	*m = common.MessageHomePosition{
		Latitude:  degE7(s.homeLatDeg),
		Longitude: degE7(s.homeLonDeg),
		Altitude:  int32(math.Round(s.homeAltMSLM * 1000)),
		Q:         [4]float32{1, 0, 0, 0},
		TimeUsec:  uint64(time.Now().UnixMicro()),
	}
}

// fillAutopilotVersion describes an ArduCopter build: MAVLink 2, the
// mission/fence/rally and COMMAND_INT capabilities, C-cast parameter
// encoding. FTP is deliberately absent: the simulator has no MAVFTP server.
func (v *Vehicle) fillAutopilotVersion(m *common.MessageAutopilotVersion) {
	*m = common.MessageAutopilotVersion{
		Capabilities: common.MAV_PROTOCOL_CAPABILITY_MISSION_FLOAT |
			common.MAV_PROTOCOL_CAPABILITY_PARAM_FLOAT |
			common.MAV_PROTOCOL_CAPABILITY_MISSION_INT |
			common.MAV_PROTOCOL_CAPABILITY_COMMAND_INT |
			common.MAV_PROTOCOL_CAPABILITY_SET_ATTITUDE_TARGET |
			common.MAV_PROTOCOL_CAPABILITY_SET_POSITION_TARGET_LOCAL_NED |
			common.MAV_PROTOCOL_CAPABILITY_SET_POSITION_TARGET_GLOBAL_INT |
			common.MAV_PROTOCOL_CAPABILITY_FLIGHT_TERMINATION |
			common.MAV_PROTOCOL_CAPABILITY_COMPASS_CALIBRATION |
			common.MAV_PROTOCOL_CAPABILITY_MAVLINK2 |
			common.MAV_PROTOCOL_CAPABILITY_MISSION_FENCE |
			common.MAV_PROTOCOL_CAPABILITY_MISSION_RALLY |
			common.MAV_PROTOCOL_CAPABILITY_PARAM_ENCODE_C_CAST,
		// major<<24 | minor<<16 | patch<<8 | FIRMWARE_VERSION_TYPE_OFFICIAL
		FlightSwVersion:     4<<24 | 5<<16 | 7<<8 | uint32(common.FIRMWARE_VERSION_TYPE_OFFICIAL),
		FlightCustomVersion: [8]uint8{'5', 'f', 'a', '1', 'c', '0', 'd', 'e'},
		Uid:                 0x05B7E70000000000 | uint64(v.sysID),
	}
}
