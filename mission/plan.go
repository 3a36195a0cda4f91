package mission

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// Sentinel errors callers can branch on with errors.Is.
var (
	// ErrInvalidFile wraps every error a parser returns for bad input.
	ErrInvalidFile = errors.New("mission: invalid file")
	// ErrUnknownCommand marks a MAV_CMD number that is not in the command
	// table; it is wrapped together with ErrInvalidFile by the parsers.
	ErrUnknownCommand = errors.New("mission: unknown command")
	// ErrUnknownFormat is returned by Decode and Load when the content is
	// none of the formats this package reads.
	ErrUnknownFormat = errors.New("mission: unknown file format")
	// ErrPattern wraps errors from the pattern generators (bad options,
	// degenerate areas).
	ErrPattern = errors.New("mission: cannot generate pattern")
)

// Firmware is the autopilot family, numbered as MAV_AUTOPILOT.
type Firmware uint8

// Firmware families the package knows about.
const (
	FirmwareGeneric   Firmware = 0
	FirmwareArduPilot Firmware = 3
	FirmwarePX4       Firmware = 12
)

// String names the firmware.
func (f Firmware) String() string {
	switch f {
	case FirmwareGeneric:
		return "generic"
	case FirmwareArduPilot:
		return "ArduPilot"
	case FirmwarePX4:
		return "PX4"
	}
	return fmt.Sprintf("firmware %d", uint8(f))
}

// VehicleType is the airframe, numbered as MAV_TYPE. Unlisted numbers are
// kept as they are and classed as ClassGeneric.
type VehicleType uint8

// MAV_TYPE values that decide how a plan is checked and generated.
const (
	VehicleGeneric                VehicleType = 0
	VehicleFixedWing              VehicleType = 1
	VehicleQuadrotor              VehicleType = 2
	VehicleCoaxial                VehicleType = 3
	VehicleHelicopter             VehicleType = 4
	VehicleGroundRover            VehicleType = 10
	VehicleSurfaceBoat            VehicleType = 11
	VehicleSubmarine              VehicleType = 12
	VehicleHexarotor              VehicleType = 13
	VehicleOctorotor              VehicleType = 14
	VehicleTricopter              VehicleType = 15
	VehicleVTOLTailsitterDuorotor VehicleType = 19
	VehicleVTOLTailsitterQuad     VehicleType = 20
	VehicleVTOLTiltrotor          VehicleType = 21
	VehicleVTOLFixedrotor         VehicleType = 22
	VehicleVTOLTailsitter         VehicleType = 23
	VehicleVTOLTiltwing           VehicleType = 24
	VehicleDodecarotor            VehicleType = 29
	VehicleDecarotor              VehicleType = 35
	VehicleGenericMultirotor      VehicleType = 43
)

// VehicleClass groups airframes that fly missions the same way.
type VehicleClass uint8

// Vehicle classes.
const (
	ClassGeneric VehicleClass = iota
	ClassCopter
	ClassPlane
	ClassVTOL
	ClassRover
	ClassBoat
	ClassSub
)

var classNames = [...]string{"generic", "copter", "plane", "VTOL", "rover", "boat", "sub"}

// String names the class.
func (c VehicleClass) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return fmt.Sprintf("class %d", uint8(c))
}

// Flies reports whether the class leaves the ground (generic is assumed to).
func (c VehicleClass) Flies() bool {
	switch c {
	case ClassRover, ClassBoat, ClassSub:
		return false
	}
	return true
}

// VehicleInfo says which autopilot and airframe a plan is for.
type VehicleInfo struct {
	Firmware Firmware
	Type     VehicleType
}

// Class maps the MAV_TYPE to a VehicleClass.
func (v VehicleInfo) Class() VehicleClass {
	switch v.Type {
	case VehicleQuadrotor, VehicleCoaxial, VehicleHelicopter, VehicleHexarotor, VehicleOctorotor,
		VehicleTricopter, VehicleDodecarotor, VehicleDecarotor, VehicleGenericMultirotor:
		return ClassCopter
	case VehicleFixedWing:
		return ClassPlane
	case VehicleVTOLTailsitterDuorotor, VehicleVTOLTailsitterQuad, VehicleVTOLTiltrotor,
		VehicleVTOLFixedrotor, VehicleVTOLTailsitter, VehicleVTOLTiltwing:
		return ClassVTOL
	case VehicleGroundRover:
		return ClassRover
	case VehicleSurfaceBoat:
		return ClassBoat
	case VehicleSubmarine:
		return ClassSub
	}
	return ClassGeneric
}

// Frame is a MAV_FRAME number.
type Frame uint8

// MAV_FRAME values used in mission files.
const (
	FrameGlobal               Frame = 0
	FrameLocalNED             Frame = 1
	FrameMission              Frame = 2
	FrameGlobalRelativeAlt    Frame = 3
	FrameLocalENU             Frame = 4
	FrameGlobalInt            Frame = 5
	FrameGlobalRelativeAltInt Frame = 6
	FrameLocalOffsetNED       Frame = 7
	FrameBodyNED              Frame = 8
	FrameBodyOffsetNED        Frame = 9
	FrameGlobalTerrainAlt     Frame = 10
	FrameGlobalTerrainAltInt  Frame = 11
	FrameBodyFRD              Frame = 12
	FrameLocalFRD             Frame = 20
	FrameLocalFLU             Frame = 21

	// frameMax is the largest MAV_FRAME number defined by MAVLink.
	frameMax Frame = 21
)

// IsGlobal reports whether params 5-7 are latitude, longitude and altitude.
func (f Frame) IsGlobal() bool {
	switch f {
	case FrameGlobal, FrameGlobalRelativeAlt, FrameGlobalInt, FrameGlobalRelativeAltInt,
		FrameGlobalTerrainAlt, FrameGlobalTerrainAltInt:
		return true
	}
	return false
}

// Int returns the *_INT twin of a global frame (GLOBAL -> GLOBAL_INT and so
// on), which MISSION_ITEM_INT needs; other frames are returned unchanged.
func (f Frame) Int() Frame {
	switch f {
	case FrameGlobal:
		return FrameGlobalInt
	case FrameGlobalRelativeAlt:
		return FrameGlobalRelativeAltInt
	case FrameGlobalTerrainAlt:
		return FrameGlobalTerrainAltInt
	}
	return f
}

// NonInt is the inverse of Int: the model and the files use the non-INT
// global frames, because coordinates there are degrees either way.
func (f Frame) NonInt() Frame {
	switch f {
	case FrameGlobalInt:
		return FrameGlobal
	case FrameGlobalRelativeAltInt:
		return FrameGlobalRelativeAlt
	case FrameGlobalTerrainAltInt:
		return FrameGlobalTerrainAlt
	}
	return f
}

// AltRef is what an altitude is measured from.
type AltRef uint8

// Altitude references.
const (
	AltRefNone    AltRef = iota // not a global frame
	AltRefAMSL                  // above mean sea level
	AltRefHome                  // above the home position
	AltRefTerrain               // above the terrain below the vehicle
)

// AltRef says what AltM of an item in this frame is measured from.
func (f Frame) AltRef() AltRef {
	switch f.NonInt() {
	case FrameGlobal:
		return AltRefAMSL
	case FrameGlobalRelativeAlt:
		return AltRefHome
	case FrameGlobalTerrainAlt:
		return AltRefTerrain
	}
	return AltRefNone
}

// Command is a MAV_CMD number.
type Command uint16

// MAV_CMD numbers the package names. The table behind LookupCommand knows
// more.
const (
	CmdNavWaypoint              Command = 16
	CmdNavLoiterUnlim           Command = 17
	CmdNavLoiterTurns           Command = 18
	CmdNavLoiterTime            Command = 19
	CmdNavReturnToLaunch        Command = 20
	CmdNavLand                  Command = 21
	CmdNavTakeoff               Command = 22
	CmdNavLoiterToAlt           Command = 31
	CmdNavSplineWaypoint        Command = 82
	CmdNavVTOLTakeoff           Command = 84
	CmdNavVTOLLand              Command = 85
	CmdNavDelay                 Command = 93
	CmdConditionDelay           Command = 112
	CmdConditionYaw             Command = 115
	CmdDoJump                   Command = 177
	CmdDoChangeSpeed            Command = 178
	CmdDoSetHome                Command = 179
	CmdDoLandStart              Command = 189
	CmdDoSetROILocation         Command = 195
	CmdDoSetROI                 Command = 201
	CmdDoSetCamTriggDist        Command = 206
	CmdJumpTag                  Command = 600
	CmdDoJumpTag                Command = 601
	CmdFenceReturnPoint         Command = 5000
	CmdFenceVertexInclusion     Command = 5001
	CmdFenceVertexExclusion     Command = 5002
	CmdFenceCircleInclusion     Command = 5003
	CmdFenceCircleExclusion     Command = 5004
	CmdFenceHomeCircleInclusion Command = 5005
	CmdNavRallyPoint            Command = 5100
)

// CommandInfo describes one MAV_CMD.
type CommandInfo struct {
	// Name is the MAVLink name without the MAV_CMD_ prefix.
	Name string
	// Positional commands carry latitude, longitude and altitude in
	// params 5-7; the others carry plain numbers there.
	Positional bool
	// Travels is set for navigation commands that move the vehicle to
	// their position (the ones that make up the flown path).
	Travels bool
}

// cmdFlags packs a table entry.
type cmdFlags uint8

const (
	fPos cmdFlags = 1 << iota
	fTravel
)

type cmdEntry struct {
	name  string
	flags cmdFlags
}

// commandTable is every MAV_CMD a mission, fence or rally file may hold.
// Numbers not in it are rejected on import and flagged by Validate.
var commandTable = map[Command]cmdEntry{
	16:    {"NAV_WAYPOINT", fPos | fTravel},
	17:    {"NAV_LOITER_UNLIM", fPos | fTravel},
	18:    {"NAV_LOITER_TURNS", fPos | fTravel},
	19:    {"NAV_LOITER_TIME", fPos | fTravel},
	20:    {"NAV_RETURN_TO_LAUNCH", 0},
	21:    {"NAV_LAND", fPos | fTravel},
	22:    {"NAV_TAKEOFF", fPos | fTravel},
	23:    {"NAV_LAND_LOCAL", 0},
	24:    {"NAV_TAKEOFF_LOCAL", 0},
	25:    {"NAV_FOLLOW", 0},
	30:    {"NAV_CONTINUE_AND_CHANGE_ALT", 0},
	31:    {"NAV_LOITER_TO_ALT", fPos | fTravel},
	32:    {"DO_FOLLOW", 0},
	33:    {"DO_FOLLOW_REPOSITION", 0},
	34:    {"DO_ORBIT", fPos},
	80:    {"NAV_ROI", fPos},
	81:    {"NAV_PATHPLANNING", fPos | fTravel},
	82:    {"NAV_SPLINE_WAYPOINT", fPos | fTravel},
	83:    {"NAV_ALTITUDE_WAIT", 0},
	84:    {"NAV_VTOL_TAKEOFF", fPos | fTravel},
	85:    {"NAV_VTOL_LAND", fPos | fTravel},
	92:    {"NAV_GUIDED_ENABLE", 0},
	93:    {"NAV_DELAY", 0},
	94:    {"NAV_PAYLOAD_PLACE", fPos | fTravel},
	112:   {"CONDITION_DELAY", 0},
	113:   {"CONDITION_CHANGE_ALT", 0},
	114:   {"CONDITION_DISTANCE", 0},
	115:   {"CONDITION_YAW", 0},
	176:   {"DO_SET_MODE", 0},
	177:   {"DO_JUMP", 0},
	178:   {"DO_CHANGE_SPEED", 0},
	179:   {"DO_SET_HOME", fPos},
	180:   {"DO_SET_PARAMETER", 0},
	181:   {"DO_SET_RELAY", 0},
	182:   {"DO_REPEAT_RELAY", 0},
	183:   {"DO_SET_SERVO", 0},
	184:   {"DO_REPEAT_SERVO", 0},
	185:   {"DO_FLIGHTTERMINATION", 0},
	186:   {"DO_CHANGE_ALTITUDE", 0},
	187:   {"DO_SET_ACTUATOR", 0},
	188:   {"DO_RETURN_PATH_START", 0},
	189:   {"DO_LAND_START", 0},
	190:   {"DO_RALLY_LAND", 0},
	191:   {"DO_GO_AROUND", 0},
	192:   {"DO_REPOSITION", fPos},
	193:   {"DO_PAUSE_CONTINUE", 0},
	194:   {"DO_SET_REVERSE", 0},
	195:   {"DO_SET_ROI_LOCATION", fPos},
	196:   {"DO_SET_ROI_WPNEXT_OFFSET", 0},
	197:   {"DO_SET_ROI_NONE", 0},
	198:   {"DO_SET_ROI_SYSID", 0},
	200:   {"DO_CONTROL_VIDEO", 0},
	201:   {"DO_SET_ROI", fPos},
	202:   {"DO_DIGICAM_CONFIGURE", 0},
	203:   {"DO_DIGICAM_CONTROL", 0},
	204:   {"DO_MOUNT_CONFIGURE", 0},
	205:   {"DO_MOUNT_CONTROL", 0},
	206:   {"DO_SET_CAM_TRIGG_DIST", 0},
	207:   {"DO_FENCE_ENABLE", 0},
	208:   {"DO_PARACHUTE", 0},
	209:   {"DO_MOTOR_TEST", 0},
	210:   {"DO_INVERTED_FLIGHT", 0},
	211:   {"DO_GRIPPER", 0},
	212:   {"DO_AUTOTUNE_ENABLE", 0},
	213:   {"NAV_SET_YAW_SPEED", 0},
	214:   {"DO_SET_CAM_TRIGG_INTERVAL", 0},
	215:   {"DO_SET_RESUME_REPEAT_DIST", 0},
	216:   {"DO_SPRAYER", 0},
	217:   {"DO_SEND_SCRIPT_MESSAGE", 0},
	218:   {"DO_AUX_FUNCTION", 0},
	220:   {"DO_MOUNT_CONTROL_QUAT", 0},
	221:   {"DO_GUIDED_MASTER", 0},
	222:   {"DO_GUIDED_LIMITS", 0},
	223:   {"DO_ENGINE_CONTROL", 0},
	224:   {"DO_SET_MISSION_CURRENT", 0},
	530:   {"SET_CAMERA_MODE", 0},
	531:   {"SET_CAMERA_ZOOM", 0},
	532:   {"SET_CAMERA_FOCUS", 0},
	600:   {"JUMP_TAG", 0},
	601:   {"DO_JUMP_TAG", 0},
	1000:  {"DO_GIMBAL_MANAGER_PITCHYAW", 0},
	1001:  {"DO_GIMBAL_MANAGER_CONFIGURE", 0},
	2000:  {"IMAGE_START_CAPTURE", 0},
	2001:  {"IMAGE_STOP_CAPTURE", 0},
	2003:  {"DO_TRIGGER_CONTROL", 0},
	2500:  {"VIDEO_START_CAPTURE", 0},
	2501:  {"VIDEO_STOP_CAPTURE", 0},
	3000:  {"DO_VTOL_TRANSITION", 0},
	5000:  {"NAV_FENCE_RETURN_POINT", fPos},
	5001:  {"NAV_FENCE_POLYGON_VERTEX_INCLUSION", fPos},
	5002:  {"NAV_FENCE_POLYGON_VERTEX_EXCLUSION", fPos},
	5003:  {"NAV_FENCE_CIRCLE_INCLUSION", fPos},
	5004:  {"NAV_FENCE_CIRCLE_EXCLUSION", fPos},
	5005:  {"NAV_FENCE_HOME_CIRCLE_INCLUSION", 0},
	5100:  {"NAV_RALLY_POINT", fPos},
	31000: {"WAYPOINT_USER_1", fPos | fTravel},
	31001: {"WAYPOINT_USER_2", fPos | fTravel},
	31002: {"WAYPOINT_USER_3", fPos | fTravel},
	31003: {"WAYPOINT_USER_4", fPos | fTravel},
	31004: {"WAYPOINT_USER_5", fPos | fTravel},
	31005: {"SPATIAL_USER_1", fPos},
	31006: {"SPATIAL_USER_2", fPos},
	31007: {"SPATIAL_USER_3", fPos},
	31008: {"SPATIAL_USER_4", fPos},
	31009: {"SPATIAL_USER_5", fPos},
	31010: {"USER_1", 0},
	31011: {"USER_2", 0},
	31012: {"USER_3", 0},
	31013: {"USER_4", 0},
	31014: {"USER_5", 0},
	42600: {"DO_WINCH", 0},
}

// LookupCommand returns what the package knows about a MAV_CMD number.
func LookupCommand(c Command) (CommandInfo, bool) {
	e, ok := commandTable[c]
	if !ok {
		return CommandInfo{}, false
	}
	return CommandInfo{Name: e.name, Positional: e.flags&fPos != 0, Travels: e.flags&fTravel != 0}, true
}

// KnownCommands lists the command table in ascending order.
func KnownCommands() []Command {
	out := make([]Command, 0, len(commandTable))
	for c := range commandTable {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// String returns the MAVLink name, or the number for unknown commands.
func (c Command) String() string {
	if e, ok := commandTable[c]; ok {
		return e.name
	}
	return fmt.Sprintf("MAV_CMD %d", uint16(c))
}

// isFenceCommand reports commands that belong to the fence mission type.
func isFenceCommand(c Command) bool {
	return c >= CmdFenceReturnPoint && c <= CmdFenceHomeCircleInclusion
}

// LatLon is a horizontal position.
type LatLon struct {
	LatDeg, LonDeg float64
}

// Position is a point with an altitude; what AltM is measured from is said
// where a Position is used.
type Position struct {
	LatDeg, LonDeg, AltM float64
}

// Item is one mission item with MAVLink numbering.
//
// For commands whose CommandInfo.Positional is set and whose frame is
// global, LatDeg, LonDeg and AltM are the position (AltM measured as the
// frame says). For other commands they hold params 5, 6 and 7 unchanged.
// NaN is a legal value for params ("unset"), as in QGroundControl files.
//
// A positional item must have a valid latitude and longitude, but AltM may
// be NaN: QGroundControl writes null for the sea-level altitude of
// "calculated above terrain" items until it has terrain data. Such items
// import, and Validate rejects them until an altitude is set.
//
// For DO_JUMP, Param1 is the 0-based index into Plan.Items of the target
// item (not a file seq and not a QGroundControl doJumpId); Param2 is the
// repeat count (-1 = forever).
type Item struct {
	Command                        Command
	Frame                          Frame
	Param1, Param2, Param3, Param4 float64
	LatDeg, LonDeg, AltM           float64
	AutoContinue                   bool
	// AltAboveTerrainM is the height above terrain the user asked for in
	// QGroundControl's "calculated above terrain" mode (AltitudeMode 3),
	// kept so the .plan writer can give it back; AltM then holds the AMSL
	// altitude QGroundControl computed from it (frame GLOBAL), or NaN.
	// Zero when the mode is not used.
	AltAboveTerrainM float64
}

// Info returns the command table entry (zero when unknown).
func (it Item) Info() CommandInfo {
	info, _ := LookupCommand(it.Command)
	return info
}

// HasPosition reports whether the item carries a geographic position:
// a positional command in a global frame.
func (it Item) HasPosition() bool {
	return it.Info().Positional && it.Frame.IsGlobal()
}

// hasFix reports a usable position: ArduPilot writes lat=lon=0 for
// "where the vehicle is now", so such items add no leg and no fence check.
func (it Item) hasFix() bool {
	return it.HasPosition() && !(it.LatDeg == 0 && it.LonDeg == 0)
}

// FencePolygon is one geofence polygon; vertices are in order, not closed
// (the first vertex is not repeated at the end).
type FencePolygon struct {
	Inclusion bool
	Vertices  []LatLon
}

// FenceCircle is one circular geofence.
type FenceCircle struct {
	Inclusion bool
	Center    LatLon
	RadiusM   float64
}

// Fence is the geofence part of a plan. Inclusion zones must contain the
// vehicle, exclusion zones must not.
type Fence struct {
	Polygons []FencePolygon
	Circles  []FenceCircle
	// ReturnPoint is where the vehicle goes on a breach (ArduPilot Plane's
	// FENCE_RETURN_POINT, QGroundControl's breachReturn); AltM is above home.
	ReturnPoint *Position
}

// Empty reports a fence with no zones and no return point.
func (f Fence) Empty() bool {
	return len(f.Polygons) == 0 && len(f.Circles) == 0 && f.ReturnPoint == nil
}

// RallyPoint is a safe landing or loiter point; AltM is above home.
type RallyPoint struct {
	LatDeg, LonDeg, AltM float64
}

// ComplexItem is a QGroundControl ComplexItem (survey, CorridorScan,
// StructureScan, landing patterns) kept verbatim so it can be written back
// unchanged.
//
// The mission items it generated (TransectStyleComplexItem.Items in the
// file) are part of Plan.Items at Index..Index+Count-1, so validation, path
// length and upload include them. Editing those items does not change JSON;
// WritePlan writes JSON in their place. StructureScan and landing patterns
// store no generated items (Count is 0): QGroundControl regenerates them,
// this package cannot, and Validate warns about it.
type ComplexItem struct {
	// Type is the complexItemType value ("survey", "CorridorScan", ...).
	Type string
	// Index is where the item sits in Plan.Items (where its first
	// generated item is, or where the next simple item is when Count is 0).
	Index int
	// Count is how many consecutive Plan.Items came from this item.
	Count int
	// JSON is the item object exactly as read.
	JSON []byte
}

// Plan is a mission with its geofence and rally points.
type Plan struct {
	Vehicle VehicleInfo
	// PlannedHome is the expected home (launch) position, AltM above mean
	// sea level; nil when the file has none (or has 0,0, which the formats
	// use for "unset").
	PlannedHome *Position
	// CruiseSpeedMS is the fixed-wing/VTOL/rover speed, HoverSpeedMS the
	// multirotor speed, as QGroundControl stores them; 0 = unset.
	CruiseSpeedMS, HoverSpeedMS float64
	Items                       []Item
	Fence                       Fence
	Rally                       []RallyPoint
	Complex                     []ComplexItem
}

// isFinite reports a number that is neither NaN nor infinite.
func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// checkLatLon reports an invalid coordinate in words.
func checkLatLon(lat, lon float64) error {
	switch {
	case math.IsNaN(lat):
		return errors.New("latitude is missing (null/NaN)")
	case math.IsNaN(lon):
		return errors.New("longitude is missing (null/NaN)")
	case math.IsInf(lat, 0) || lat < -90 || lat > 90:
		return fmt.Errorf("latitude %v out of range", lat)
	case math.IsInf(lon, 0) || lon < -180 || lon > 180:
		return fmt.Errorf("longitude %v out of range", lon)
	}
	return nil
}

// checkItem is the import-time check for one item: known
// command, legal frame, and a real position where one is needed.
func checkItem(it Item) error {
	info, ok := LookupCommand(it.Command)
	if !ok {
		return fmt.Errorf("%w %d", ErrUnknownCommand, uint16(it.Command))
	}
	if it.Frame > frameMax {
		return fmt.Errorf("unknown frame %d", uint8(it.Frame))
	}
	if info.Positional && it.Frame.IsGlobal() {
		if err := checkLatLon(it.LatDeg, it.LonDeg); err != nil {
			return err
		}
	}
	for i, v := range [...]float64{it.Param1, it.Param2, it.Param3, it.Param4, it.LatDeg, it.LonDeg, it.AltM} {
		if math.IsInf(v, 0) {
			return fmt.Errorf("param %d is infinite", i+1)
		}
	}
	return nil
}

// homeFrom turns a file's home triple into PlannedHome; 0,0 means unset.
func homeFrom(lat, lon, alt float64) (*Position, error) {
	if lat == 0 && lon == 0 {
		return nil, nil
	}
	if err := checkLatLon(lat, lon); err != nil {
		return nil, err
	}
	if !isFinite(alt) {
		return nil, fmt.Errorf("altitude %v is not a number", alt)
	}
	return &Position{LatDeg: lat, LonDeg: lon, AltM: alt}, nil
}
