package mavlink

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Autopilot families, with the MAV_AUTOPILOT numbers HEARTBEAT carries.
const (
	AutopilotGeneric   = 0
	AutopilotArduPilot = 3
	AutopilotPX4       = 12
	autopilotInvalid   = 8
	mavTypeGCS         = 6
	customModeFlag     = 1   // MAV_MODE_FLAG_CUSTOM_MODE_ENABLED
	safetyArmedFlag    = 128 // MAV_MODE_FLAG_SAFETY_ARMED
	px4MainModeShift   = 16
	px4SubModeShift    = 24
	px4MainAuto        = 4
)

// vehicleClass groups MAV_TYPE values that share one ArduPilot firmware, and so one mode table.
type vehicleClass int

const (
	classUnknown vehicleClass = iota
	classCopter
	classPlane
	classRover
	classSub
)

func classOf(mavType uint32) vehicleClass {
	switch mavType {
	case 2, 3, 4, 13, 14, 15, 29, 35: // quad, coaxial, heli, hexa, octo, tri, dodeca, decarotor
		return classCopter
	case 1, 16, 19, 20, 21, 22, 23, 24, 25: // fixed wing, flapping wing, VTOLs
		return classPlane
	case 10, 11: // ground rover, surface boat
		return classRover
	case 12: // submarine
		return classSub
	}
	return classUnknown
}

// Mode tables, from ArduPilot's mode.h enums (Copter, Plane, Rover, Sub).
var (
	arduCopterModes = map[uint32]string{0: "STABILIZE", 1: "ACRO", 2: "ALT_HOLD", 3: "AUTO", 4: "GUIDED", 5: "LOITER",
		6: "RTL", 7: "CIRCLE", 9: "LAND", 11: "DRIFT", 13: "SPORT", 14: "FLIP", 15: "AUTOTUNE", 16: "POSHOLD",
		17: "BRAKE", 18: "THROW", 19: "AVOID_ADSB", 20: "GUIDED_NOGPS", 21: "SMART_RTL", 22: "FLOWHOLD",
		23: "FOLLOW", 24: "ZIGZAG", 25: "SYSTEMID", 26: "AUTOROTATE", 27: "AUTO_RTL", 28: "TURTLE"}
	arduPlaneModes = map[uint32]string{0: "MANUAL", 1: "CIRCLE", 2: "STABILIZE", 3: "TRAINING", 4: "ACRO",
		5: "FBWA", 6: "FBWB", 7: "CRUISE", 8: "AUTOTUNE", 10: "AUTO", 11: "RTL", 12: "LOITER", 13: "TAKEOFF",
		14: "AVOID_ADSB", 15: "GUIDED", 17: "QSTABILIZE", 18: "QHOVER", 19: "QLOITER", 20: "QLAND", 21: "QRTL",
		22: "QAUTOTUNE", 23: "QACRO", 24: "THERMAL", 25: "LOITER_ALT_QLAND"}
	arduRoverModes = map[uint32]string{0: "MANUAL", 1: "ACRO", 3: "STEERING", 4: "HOLD", 5: "LOITER",
		6: "FOLLOW", 7: "SIMPLE", 8: "DOCK", 9: "CIRCLE", 10: "AUTO", 11: "RTL", 12: "SMART_RTL", 15: "GUIDED"}
	arduSubModes = map[uint32]string{0: "STABILIZE", 1: "ACRO", 2: "ALT_HOLD", 3: "AUTO", 4: "GUIDED",
		7: "CIRCLE", 9: "SURFACE", 16: "POSHOLD", 19: "MANUAL", 20: "MOTOR_DETECT", 21: "SURFTRAK"}
	// PX4 main modes, and the AUTO sub modes (px4_custom_mode.h).
	px4MainModes = map[uint32]string{1: "MANUAL", 2: "ALTCTL", 3: "POSCTL", 4: "AUTO", 5: "ACRO", 6: "OFFBOARD",
		7: "STABILIZED", 8: "RATTITUDE"}
	px4AutoSubModes = map[uint32]string{1: "READY", 2: "TAKEOFF", 3: "LOITER", 4: "MISSION", 5: "RTL", 6: "LAND",
		7: "RTGS", 8: "FOLLOW_TARGET", 9: "PRECLAND"}
)

func arduTable(mavType uint32) map[uint32]string {
	switch classOf(mavType) {
	case classCopter:
		return arduCopterModes
	case classPlane:
		return arduPlaneModes
	case classRover:
		return arduRoverModes
	case classSub:
		return arduSubModes
	}
	return nil
}

// ModeName names custom_mode for an autopilot and MAV_TYPE. A number no table knows shows as the number,
// so the pilot still sees what the vehicle reports.
func ModeName(autopilot, mavType, customMode uint32) string {
	switch autopilot {
	case AutopilotArduPilot:
		if name, ok := arduTable(mavType)[customMode]; ok {
			return name
		}
	case AutopilotPX4:
		main := (customMode >> px4MainModeShift) & 0xff
		sub := (customMode >> px4SubModeShift) & 0xff
		if name, ok := px4MainModes[main]; ok {
			if main != px4MainAuto {
				return name
			}
			if subName, ok := px4AutoSubModes[sub]; ok {
				return name + "." + subName
			}
		}
	}
	return strconv.FormatUint(uint64(customMode), 10)
}

// modeRequest is what MAV_CMD_DO_SET_MODE carries for a named mode.
type modeRequest struct {
	customMode uint32  // what HEARTBEAT will show once the mode is active
	param2     float32 // ArduPilot: mode number; PX4: main mode
	param3     float32 // PX4: sub mode
}

// lookupMode turns a mode name (case-insensitive) or a plain number into what to send.
func lookupMode(autopilot, mavType uint32, name string) (modeRequest, error) {
	upper := strings.ToUpper(strings.TrimSpace(name))
	switch autopilot {
	case AutopilotArduPilot:
		table := arduTable(mavType)
		for num, n := range table {
			if n == upper {
				return modeRequest{customMode: num, param2: float32(num)}, nil
			}
		}
		if num, err := strconv.ParseUint(upper, 10, 32); err == nil {
			return modeRequest{customMode: uint32(num), param2: float32(num)}, nil
		}
		return modeRequest{}, fmt.Errorf("%w: %q (known: %s)", ErrUnknownMode, name, strings.Join(ModeNames(autopilot, mavType), ", "))
	case AutopilotPX4:
		mainName, subName, _ := strings.Cut(upper, ".")
		for main, n := range px4MainModes {
			if n != mainName {
				continue
			}
			if subName == "" && main != px4MainAuto {
				return modeRequest{customMode: main << px4MainModeShift, param2: float32(main)}, nil
			}
			for sub, sn := range px4AutoSubModes {
				if main == px4MainAuto && sn == subName {
					return modeRequest{customMode: main<<px4MainModeShift | sub<<px4SubModeShift, param2: float32(main), param3: float32(sub)}, nil
				}
			}
		}
		return modeRequest{}, fmt.Errorf("%w: %q (known: %s)", ErrUnknownMode, name, strings.Join(ModeNames(autopilot, mavType), ", "))
	}
	return modeRequest{}, fmt.Errorf("%w: %q: no mode table for autopilot %d", ErrUnknownMode, name, autopilot)
}

// ModeNames lists the mode names known for an autopilot and MAV_TYPE, sorted.
func ModeNames(autopilot, mavType uint32) []string {
	var out []string
	switch autopilot {
	case AutopilotArduPilot:
		for _, n := range arduTable(mavType) {
			out = append(out, n)
		}
	case AutopilotPX4:
		for main, n := range px4MainModes {
			if main != px4MainAuto {
				out = append(out, n)
			}
		}
		for _, sn := range px4AutoSubModes {
			out = append(out, "AUTO."+sn)
		}
	}
	sort.Strings(out)
	return out
}
