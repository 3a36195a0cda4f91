package sitl

import (
	"math"
	"time"

	"github.com/bluenviron/gomavlib/v3/pkg/dialects/common"
)

// paramDef is one parameter: ArduPilot name, the type ArduPilot reports for
// it, and its default in this simulator.
type paramDef struct {
	name string
	typ  common.MAV_PARAM_TYPE
	def  float32
}

const (
	pInt8  = common.MAV_PARAM_TYPE_INT8
	pInt16 = common.MAV_PARAM_TYPE_INT16
	pInt32 = common.MAV_PARAM_TYPE_INT32
	pReal  = common.MAV_PARAM_TYPE_REAL32
)

// paramTable is the simulator's parameter set, in the order PARAM_VALUE
// indices follow. Defaults are ArduCopter 4.5's except where noted.
var paramTable = [...]paramDef{
	{"FORMAT_VERSION", pInt16, 120},
	{"SYSID_THISMAV", pInt16, 1},
	{"SYSID_MYGCS", pInt16, 255},
	{"SYSID_ENFORCE", pInt8, 0},
	{"SERIAL0_BAUD", pInt32, 115},
	{"SERIAL0_PROTOCOL", pInt8, 2},
	// Stream rates (Hz) for the one simulated link. ArduPilot ships these as
	// zero and expects the GCS to ask; the simulator starts streaming at
	// modest rates so a passive listener sees telemetry.
	{"SR0_RAW_SENS", pInt16, 0},
	{"SR0_EXT_STAT", pInt16, 2},
	{"SR0_RC_CHAN", pInt16, 0},
	{"SR0_RAW_CTRL", pInt16, 0},
	{"SR0_POSITION", pInt16, 4},
	{"SR0_EXTRA1", pInt16, 10},
	{"SR0_EXTRA2", pInt16, 4},
	{"SR0_EXTRA3", pInt16, 1},
	{"SR0_PARAMS", pInt16, 10},
	{"SR0_ADSB", pInt16, 0},
	{"FRAME_CLASS", pInt8, 1},
	{"FRAME_TYPE", pInt8, 1},
	{"ARMING_CHECK", pInt32, 1},
	{"DISARM_DELAY", pInt8, 10},
	{"ANGLE_MAX", pInt16, 3000},
	{"PILOT_SPEED_UP", pInt16, 250},
	{"PILOT_SPEED_DN", pInt16, 0},
	{"PILOT_ACCEL_Z", pInt16, 250},
	{"PILOT_TKOFF_ALT", pReal, 0},
	{"WPNAV_SPEED", pReal, 1000},
	{"WPNAV_SPEED_UP", pReal, 250},
	{"WPNAV_SPEED_DN", pReal, 150},
	{"WPNAV_RADIUS", pReal, 200},
	{"WPNAV_ACCEL", pReal, 250},
	{"WPNAV_ACCEL_Z", pReal, 100},
	{"WP_YAW_BEHAVIOR", pInt8, 2},
	{"LOIT_SPEED", pReal, 1250},
	{"RTL_ALT", pInt32, 1500},
	{"RTL_ALT_FINAL", pInt32, 0},
	{"RTL_CLIMB_MIN", pInt32, 0},
	{"RTL_SPEED", pInt16, 0},
	{"RTL_LOIT_TIME", pInt32, 5000},
	{"RTL_CONE_SLOPE", pReal, 3},
	{"LAND_SPEED", pInt16, 50},
	{"LAND_SPEED_HIGH", pInt16, 0},
	{"LAND_ALT_LOW", pInt16, 1000},
	// The simulator enables the GCS failsafe by default (ArduPilot: 0) so
	// link-loss handling is exercised without configuration.
	{"FS_GCS_ENABLE", pInt8, 1},
	{"FS_GCS_TIMEOUT", pReal, 5},
	// No RC in the simulator, so the throttle failsafe is off (ArduPilot: 1).
	{"FS_THR_ENABLE", pInt8, 0},
	{"FS_OPTIONS", pInt32, 0},
	{"FS_EKF_ACTION", pInt8, 1},
	{"FS_CRASH_CHECK", pInt8, 1},
	{"BATT_MONITOR", pInt8, 4},
	{"BATT_CAPACITY", pInt32, 5200},
	{"BATT_LOW_VOLT", pReal, 10.5},
	{"BATT_CRT_VOLT", pReal, 0},
	{"BATT_LOW_MAH", pReal, 0},
	{"BATT_CRT_MAH", pReal, 0},
	{"BATT_ARM_VOLT", pReal, 0},
	// 10 % of BATT_CAPACITY, so a nearly flat pack refuses to arm
	// (ArduPilot: 0, no check).
	{"BATT_ARM_MAH", pInt32, 520},
	{"BATT_FS_LOW_ACT", pInt8, 0},
	{"BATT_FS_CRT_ACT", pInt8, 0},
	{"BATT_LOW_TIMER", pInt8, 10},
	{"FENCE_ENABLE", pInt8, 0},
	{"FENCE_TYPE", pInt8, 7},
	{"FENCE_ACTION", pInt8, 1},
	{"FENCE_ALT_MAX", pReal, 100},
	{"FENCE_RADIUS", pReal, 300},
	{"FENCE_MARGIN", pReal, 2},
	{"FLTMODE_CH", pInt8, 5},
	{"FLTMODE1", pInt8, 0},
	{"FLTMODE2", pInt8, 2},
	{"FLTMODE3", pInt8, 5},
	{"FLTMODE4", pInt8, 4},
	{"FLTMODE5", pInt8, 6},
	{"FLTMODE6", pInt8, 9},
	{"MOT_SPIN_ARM", pReal, 0.1},
	{"MOT_SPIN_MIN", pReal, 0.15},
	{"MOT_THST_HOVER", pReal, 0.35},
	{"ATC_ANG_RLL_P", pReal, 4.5},
	{"ATC_ANG_PIT_P", pReal, 4.5},
	{"ATC_ANG_YAW_P", pReal, 4.5},
	{"ATC_RAT_RLL_P", pReal, 0.135},
	{"ATC_RAT_PIT_P", pReal, 0.135},
	{"ATC_RAT_YAW_P", pReal, 0.18},
	{"GPS_TYPE", pInt8, 1},
	{"AHRS_EKF_TYPE", pInt8, 3},
	{"EK3_ENABLE", pInt8, 1},
	{"COMPASS_USE", pInt8, 1},
	{"LOG_BITMASK", pInt32, 176126},
}

// paramStore holds current values; names and types come from paramTable.
type paramStore struct {
	values []float32
	index  map[string]int
}

func newParamStore() paramStore {
	ps := paramStore{
		values: make([]float32, len(paramTable)),
		index:  make(map[string]int, len(paramTable)),
	}
	for i, d := range paramTable {
		ps.values[i] = d.def
		ps.index[d.name] = i
	}
	return ps
}

func (ps *paramStore) count() int { return len(ps.values) }

func (ps *paramStore) lookup(name string) (int, bool) {
	i, ok := ps.index[name]
	return i, ok
}

func (ps *paramStore) get(name string) float64 {
	i, ok := ps.index[name]
	if !ok {
		return 0
	}
	return float64(ps.values[i])
}

func (ps *paramStore) set(name string, val float32) {
	if i, ok := ps.index[name]; ok {
		ps.setIndex(i, val)
	}
}

// setIndex stores val converted to the parameter's type the way ArduPilot's
// AP_Param::set_float does: integers are rounded by a small bias and clamped
// to the type's range (a C cast, not a byte-wise reinterpretation).
func (ps *paramStore) setIndex(i int, val float32) {
	ps.values[i] = castParam(paramTable[i].typ, val)
}

func castParam(typ common.MAV_PARAM_TYPE, val float32) float32 {
	var lo, hi float64
	switch typ {
	case pInt8:
		lo, hi = math.MinInt8, math.MaxInt8
	case pInt16:
		lo, hi = math.MinInt16, math.MaxInt16
	case pInt32:
		lo, hi = math.MinInt32, math.MaxInt32
	default:
		return val
	}
	f := float64(val)
	if f < 0 {
		f -= 0.01
	} else {
		f += 0.01
	}
	f = min(max(f, lo), hi)
	return float32(math.Trunc(f))
}

// paramValueLocked builds the PARAM_VALUE for index i.
func (v *Vehicle) paramValueLocked(i int) *common.MessageParamValue {
	return &common.MessageParamValue{
		ParamId:    paramTable[i].name,
		ParamValue: v.params.values[i],
		ParamType:  paramTable[i].typ,
		ParamCount: uint16(v.params.count()),
		ParamIndex: uint16(i),
	}
}

// paramListState paces a PARAM_REQUEST_LIST answer over scheduler ticks so
// the link is not flooded.
type paramListState struct {
	active bool
	next   int
	src    source
}

const (
	paramsPerTick   = 5
	paramTickPeriod = 20 * time.Millisecond
)

func (v *Vehicle) onParamRequestListLocked(src source) {
	// A new request restarts the list, as ArduPilot does.
	v.plist = paramListState{active: true, next: 0, src: src}
	v.wake()
}

func (v *Vehicle) emitParamsLocked(ob *outbox) {
	if !v.plist.active {
		return
	}
	for range paramsPerTick {
		if v.plist.next >= v.params.count() {
			v.plist.active = false
			return
		}
		ob.to(v.plist.src.ch, v.paramValueLocked(v.plist.next))
		v.plist.next++
	}
}

func (v *Vehicle) onParamRequestReadLocked(src source, m *common.MessageParamRequestRead, ob *outbox) {
	i := int(m.ParamIndex)
	if m.ParamIndex < 0 {
		var ok bool
		if i, ok = v.params.lookup(m.ParamId); !ok {
			return // ArduPilot ignores unknown names
		}
	}
	if i >= v.params.count() {
		return
	}
	ob.to(src.ch, v.paramValueLocked(i))
}

func (v *Vehicle) onParamSetLocked(now time.Time, m *common.MessageParamSet, ob *outbox) {
	i, ok := v.params.lookup(m.ParamId)
	if !ok {
		return // ArduPilot ignores unknown names: no PARAM_VALUE
	}
	val := m.ParamValue
	if math.IsNaN(float64(val)) || math.IsInf(float64(val), 0) {
		// Rejected; like ArduPilot, answer with the unchanged value.
		ob.all(v.paramValueLocked(i))
		return
	}
	v.params.setIndex(i, val)
	v.applyParamsLocked()
	if name := paramTable[i].name; len(name) > 4 && name[:4] == "SR0_" {
		v.recomputeStreamsLocked(now)
	}
	// ArduPilot announces the new value on every link.
	ob.all(v.paramValueLocked(i))
}

// tuning caches the parameters that drive behaviour, in SI units.
type tuning struct {
	wpSpeedMS, wpSpeedUpMS, wpSpeedDnMS, wpAccelMSS float64
	rtlAltM, rtlAltFinalM, rtlClimbMinM             float64
	rtlSpeedMS, rtlLoitTimeS                        float64
	landSpeedMS, landSpeedHighMS, landAltLowM       float64
	disarmDelayS                                    float64
	fsGCSEnable                                     int
	fsGCSTimeout                                    time.Duration
	myGCS                                           int
	battCapacityMAh, battArmMAh, battArmVoltV       float64
	battLowVoltV, battLowMAh, battCrtVoltV          float64
	battCrtMAh                                      float64
	battFSLowAct, battFSCrtAct                      int
	armingCheck                                     int
	fenceEnable                                     int
	angleMaxRad                                     float64
	hoverThrottle                                   float64
}

// applyParamsLocked refreshes the tuning cache after any parameter change.
func (v *Vehicle) applyParamsLocked() {
	p := &v.params
	t := &v.tune
	t.wpSpeedMS = max(p.get("WPNAV_SPEED"), 20) / 100
	t.wpSpeedUpMS = max(p.get("WPNAV_SPEED_UP"), 10) / 100
	t.wpSpeedDnMS = max(p.get("WPNAV_SPEED_DN"), 10) / 100
	t.wpAccelMSS = max(p.get("WPNAV_ACCEL"), 50) / 100
	t.rtlAltM = max(p.get("RTL_ALT"), 0) / 100
	t.rtlAltFinalM = max(p.get("RTL_ALT_FINAL"), 0) / 100
	t.rtlClimbMinM = max(p.get("RTL_CLIMB_MIN"), 0) / 100
	t.rtlSpeedMS = max(p.get("RTL_SPEED"), 0) / 100
	t.rtlLoitTimeS = max(p.get("RTL_LOIT_TIME"), 0) / 1000
	t.landSpeedMS = max(p.get("LAND_SPEED"), 30) / 100
	t.landSpeedHighMS = max(p.get("LAND_SPEED_HIGH"), 0) / 100
	t.landAltLowM = max(p.get("LAND_ALT_LOW"), 0) / 100
	t.disarmDelayS = max(p.get("DISARM_DELAY"), 0)
	t.fsGCSEnable = int(p.get("FS_GCS_ENABLE"))
	t.fsGCSTimeout = time.Duration(max(p.get("FS_GCS_TIMEOUT"), 0) * float64(time.Second))
	t.myGCS = int(p.get("SYSID_MYGCS"))
	t.battCapacityMAh = max(p.get("BATT_CAPACITY"), 100)
	t.battArmMAh = max(p.get("BATT_ARM_MAH"), 0)
	t.battArmVoltV = max(p.get("BATT_ARM_VOLT"), 0)
	t.battLowVoltV = max(p.get("BATT_LOW_VOLT"), 0)
	t.battLowMAh = max(p.get("BATT_LOW_MAH"), 0)
	t.battCrtVoltV = max(p.get("BATT_CRT_VOLT"), 0)
	t.battCrtMAh = max(p.get("BATT_CRT_MAH"), 0)
	t.battFSLowAct = int(p.get("BATT_FS_LOW_ACT"))
	t.battFSCrtAct = int(p.get("BATT_FS_CRT_ACT"))
	t.armingCheck = int(p.get("ARMING_CHECK"))
	t.fenceEnable = int(p.get("FENCE_ENABLE"))
	t.angleMaxRad = min(max(p.get("ANGLE_MAX"), 1000), 8000) / 100 * math.Pi / 180
	t.hoverThrottle = min(max(p.get("MOT_THST_HOVER"), 0.1), 0.9)
}
