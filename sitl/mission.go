package sitl

import (
	"fmt"
	"math"
	"time"

	"github.com/bluenviron/gomavlib/v3/pkg/dialects/common"
	"github.com/bluenviron/gomavlib/v3/pkg/message"
)

// The mission server follows ArduPilot's MissionItemProtocol (GCS_MAVLink):
//
//   - One transfer state per mission type. MISSION_COUNT starts an upload
//     that the vehicle drives with legacy MISSION_REQUEST messages (ArduPilot
//     has never switched its upload requests to MISSION_REQUEST_INT; a GCS
//     answers with MISSION_ITEM_INT). A request is re-sent when no item came
//     for a second, and the upload is abandoned after eight seconds without
//     an item, with "Mission upload timeout" and MISSION_ACK
//     OPERATION_CANCELLED.
//   - Mission and rally uploads are not atomic: MISSION_COUNT truncates the
//     stored list to the new count and each item overwrites its slot as it
//     arrives, so an interrupted upload leaves new items followed by old ones.
//     Fence uploads are collected and written only when complete.
//   - An item whose seq is not the one requested is answered
//     MISSION_ACK INVALID_SEQUENCE and the upload goes on (a NACK, not an
//     abort). An item that cannot be stored ends the upload with its error.
//   - Mission seq 0 is home: whatever an upload puts there is stored, but a
//     download always returns the current home position.
//   - Stored items are ArduPilot's packed commands, so a download returns
//     what ArduPilot would: global frames in their non-INT numbering,
//     altitudes truncated to whole centimetres (rally points to whole
//     metres), waypoint hold times in whole seconds, and parameters a copter
//     does not keep (waypoint params 2-4, fence altitudes) as zero.
//   - MISSION_CLEAR_ALL is refused (MAV_MISSION_ERROR) while the mission runs
//     in AUTO or while an upload of that type is in progress.
//   - A GCS's MISSION_ACK is ignored: ArduPilot has no upload cancel.

// Mission type indexes.
const (
	typeMission = int(common.MAV_MISSION_TYPE_MISSION)
	typeFence   = int(common.MAV_MISSION_TYPE_FENCE)
	typeRally   = int(common.MAV_MISSION_TYPE_RALLY)
	numTypes    = 3
)

// Storage limits, including mission seq 0 (home). ArduPilot's depend on the
// board's storage; these are those of a Pixhawk-class board.
var maxItems = [numTypes]int{typeMission: 724, typeFence: 255, typeRally: 100}

const (
	// requestRetry is how long ArduPilot waits for an item before asking
	// again (1000 ms plus the link's stream slowdown, zero here).
	requestRetry = time.Second
	// uploadTimeout is how long ArduPilot waits for the next item before it
	// gives up on an upload.
	uploadTimeout = 8 * time.Second
	// maxAltCm is the altitude limit of ArduPilot's packed location
	// (LOCATION_ALT_MAX_M, 83 km).
	maxAltCm = 8_300_000
)

// MAV_CMD numbers the mission server knows that gomavlib names only in the
// common dialect; kept here as the type the messages carry.
const (
	cmdNavWaypoint       = common.MAV_CMD_NAV_WAYPOINT
	cmdNavLoiterUnlim    = common.MAV_CMD_NAV_LOITER_UNLIM
	cmdNavLoiterTurns    = common.MAV_CMD_NAV_LOITER_TURNS
	cmdNavLoiterTime     = common.MAV_CMD_NAV_LOITER_TIME
	cmdNavRTL            = common.MAV_CMD_NAV_RETURN_TO_LAUNCH
	cmdNavLand           = common.MAV_CMD_NAV_LAND
	cmdNavTakeoff        = common.MAV_CMD_NAV_TAKEOFF
	cmdNavSplineWaypoint = common.MAV_CMD_NAV_SPLINE_WAYPOINT
	cmdDoJump            = common.MAV_CMD_DO_JUMP
	cmdDoChangeSpeed     = common.MAV_CMD_DO_CHANGE_SPEED
	cmdDoSetROI          = common.MAV_CMD_DO_SET_ROI
	cmdFenceReturn       = common.MAV_CMD_NAV_FENCE_RETURN_POINT
	cmdFencePolyIn       = common.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION
	cmdFencePolyOut      = common.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION
	cmdFenceCircleIn     = common.MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION
	cmdFenceCircleOut    = common.MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION
	cmdRallyPoint        = common.MAV_CMD_NAV_RALLY_POINT
)

// missionStore is the vehicle's mission, fence and rally storage, the
// transfer protocol that fills and reads it, AUTO flight and the fence. All
// of it is guarded by Vehicle.mu.
type missionStore struct {
	v     *Vehicle
	lists [numTypes][]common.MessageMissionItemInt // as stored; mission [0] is home's slot
	xfer  [numTypes]upload
	auto  autoState
	fence fenceState
}

// upload is one mission type's transfer state, after MissionItemProtocol.
type upload struct {
	receiving   bool
	dest        source
	requestI    int
	requestLast int
	lastReceive time.Time
	lastRequest time.Time
	// pending collects a fence upload, written only when complete.
	pending     []common.MessageMissionItemInt
	warnedItem  bool
	warnedCount bool
}

// installMissionServer plugs the mission server into the vehicle's seams.
func (v *Vehicle) installMissionServer() {
	ms := &missionStore{v: v}
	ms.lists[typeMission] = []common.MessageMissionItemInt{{Command: cmdNavWaypoint}}
	v.missions = ms
	v.handlers = append(v.handlers, ms)
}

func (ms *missionStore) hasMission() bool { return len(ms.lists[typeMission]) > 1 }

func (ms *missionStore) rebootLocked() {
	ms.xfer = [numTypes]upload{}
	ms.auto = autoState{}
	ms.fence = fenceState{}
}

// handleMessageLocked serves the MISSION_* messages addressed to the vehicle.
func (ms *missionStore) handleMessageLocked(now time.Time, src source, m message.Message, ob *outbox) bool {
	v := ms.v
	switch msg := m.(type) {
	case *common.MessageMissionCount:
		if v.addressedToUs(msg.TargetSystem, msg.TargetComponent) {
			ms.onCount(now, src, int(msg.MissionType), int(msg.Count), ob)
		}
	case *common.MessageMissionWritePartialList:
		if v.addressedToUs(msg.TargetSystem, msg.TargetComponent) {
			ms.onWritePartial(now, src, int(msg.MissionType), int(msg.StartIndex), int(msg.EndIndex), ob)
		}
	case *common.MessageMissionItemInt:
		if v.addressedToUs(msg.TargetSystem, msg.TargetComponent) {
			ms.onItem(now, src, msg, false, ob)
		}
	case *common.MessageMissionItem:
		if v.addressedToUs(msg.TargetSystem, msg.TargetComponent) {
			it := itemIntFromLegacy(msg)
			ms.onItem(now, src, &it, true, ob)
		}
	case *common.MessageMissionRequestList:
		if v.addressedToUs(msg.TargetSystem, msg.TargetComponent) {
			ms.onRequestList(src, int(msg.MissionType), ob)
		}
	case *common.MessageMissionRequestInt:
		if v.addressedToUs(msg.TargetSystem, msg.TargetComponent) {
			ms.onRequest(src, int(msg.MissionType), int(msg.Seq), false, ob)
		}
	case *common.MessageMissionRequest:
		if v.addressedToUs(msg.TargetSystem, msg.TargetComponent) {
			ms.onRequest(src, int(msg.MissionType), int(msg.Seq), true, ob)
		}
	case *common.MessageMissionClearAll:
		if v.addressedToUs(msg.TargetSystem, msg.TargetComponent) {
			ms.onClearAll(src, msg.MissionType, ob)
		}
	case *common.MessageMissionSetCurrent:
		if v.addressedToUs(msg.TargetSystem, msg.TargetComponent) {
			// The legacy message has no ACK: success shows as MISSION_CURRENT.
			ms.setCurrentLocked(int(msg.Seq), false, ob)
		}
	case *common.MessageMissionAck:
		// ArduPilot ignores a GCS's MISSION_ACK: there is no upload cancel.
	default:
		return false
	}
	return true
}

func ack(src source, t int, r common.MAV_MISSION_RESULT) *common.MessageMissionAck {
	return &common.MessageMissionAck{TargetSystem: src.sysID, TargetComponent: src.compID, Type: r,
		MissionType: common.MAV_MISSION_TYPE(t)}
}

func validType(t int) bool { return t >= 0 && t < numTypes }

func (ms *missionStore) onCount(now time.Time, src source, t, count int, ob *outbox) {
	if !validType(t) {
		ob.to(src.ch, ack(src, t, common.MAV_MISSION_UNSUPPORTED))
		return
	}
	x := &ms.xfer[t]
	if x.receiving && (src.sysID != x.dest.sysID || src.compID != x.dest.compID) {
		// Someone else is uploading: they keep the lock until done or timed out.
		ob.to(src.ch, ack(src, t, common.MAV_MISSION_DENIED))
		return
	}
	if count > maxItems[t] {
		ob.to(src.ch, ack(src, t, common.MAV_MISSION_NO_SPACE))
		ob.all(statusText(common.MAV_SEVERITY_WARNING, fmt.Sprintf("Only %d items are supported", maxItems[t])))
		return
	}
	*x = upload{}
	switch t {
	case typeFence:
		x.pending = make([]common.MessageMissionItemInt, count)
	case typeMission:
		// The home slot always exists.
		if len(ms.lists[t]) > max(count, 1) {
			ms.lists[t] = ms.lists[t][:max(count, 1)]
		}
	case typeRally:
		if len(ms.lists[t]) > count {
			ms.lists[t] = ms.lists[t][:count]
		}
	}
	if count == 0 {
		ms.completeUpload(src, t, ob)
		return
	}
	x.receiving = true
	x.dest = src
	x.requestI, x.requestLast = 0, count-1
	x.lastReceive = now
	ms.sendRequest(now, t, ob)
}

func (ms *missionStore) onWritePartial(now time.Time, src source, t, start, end int, ob *outbox) {
	if !validType(t) || t == typeFence {
		// The simulator has no partial fence update (ArduPilot rebuilds the
		// whole fence for one).
		ob.to(src.ch, ack(src, t, common.MAV_MISSION_UNSUPPORTED))
		return
	}
	x := &ms.xfer[t]
	n := len(ms.lists[t])
	if x.receiving || start > n || end > n || end < start || start < 0 {
		ob.all(statusText(common.MAV_SEVERITY_WARNING, "Flight plan update rejected"))
		ob.to(src.ch, ack(src, t, common.MAV_MISSION_ERROR))
		return
	}
	*x = upload{receiving: true, dest: src, requestI: start, requestLast: end, lastReceive: now}
	ms.sendRequest(now, t, ob)
}

// sendRequest asks for the next item, as ArduPilot does, with the legacy
// MISSION_REQUEST.
func (ms *missionStore) sendRequest(now time.Time, t int, ob *outbox) {
	x := &ms.xfer[t]
	x.lastRequest = now
	ob.to(x.dest.ch, &common.MessageMissionRequest{TargetSystem: x.dest.sysID, TargetComponent: x.dest.compID,
		Seq: uint16(x.requestI), MissionType: common.MAV_MISSION_TYPE(t)})
}

func (ms *missionStore) onItem(now time.Time, src source, it *common.MessageMissionItemInt, legacy bool, ob *outbox) {
	t := int(it.MissionType)
	if !validType(t) {
		ob.to(src.ch, ack(src, t, common.MAV_MISSION_UNSUPPORTED))
		return
	}
	if t == typeMission && (it.Current == 2 || it.Current == 3) {
		// Guided-mode waypoints through the mission protocol are not simulated.
		ob.to(src.ch, ack(src, t, common.MAV_MISSION_UNSUPPORTED))
		return
	}
	x := &ms.xfer[t]
	if legacy && !x.warnedItem {
		x.warnedItem = true
		ob.all(statusText(common.MAV_SEVERITY_WARNING, "got MISSION_ITEM; GCS should send MISSION_ITEM_INT"))
	}
	if !x.receiving {
		// A late duplicate after the upload finished, or an item with no upload.
		ob.to(src.ch, ack(src, t, common.MAV_MISSION_ERROR))
		return
	}
	if int(it.Seq) != x.requestI {
		ob.to(src.ch, ack(src, t, common.MAV_MISSION_INVALID_SEQUENCE))
		return
	}
	if src.sysID != x.dest.sysID || src.compID != x.dest.compID {
		ob.to(src.ch, ack(src, t, common.MAV_MISSION_DENIED))
		return
	}
	stored, res := ms.convert(t, it)
	if res == common.MAV_MISSION_ACCEPTED {
		res = ms.store(t, stored)
	}
	if res != common.MAV_MISSION_ACCEPTED {
		ob.to(src.ch, ack(src, t, res))
		*x = upload{}
		return
	}
	x.lastReceive = now
	x.requestI++
	if x.requestI > x.requestLast {
		ms.completeUpload(src, t, ob)
		return
	}
	ms.sendRequest(now, t, ob)
}

// store writes one converted item to its slot: replace, append, or (beyond
// the end) an error, as MissionItemProtocol does.
func (ms *missionStore) store(t int, it common.MessageMissionItemInt) common.MAV_MISSION_RESULT {
	seq := int(it.Seq)
	if t == typeFence {
		x := &ms.xfer[t]
		if seq >= len(x.pending) {
			return common.MAV_MISSION_INVALID_SEQUENCE
		}
		x.pending[seq] = it
		return common.MAV_MISSION_ACCEPTED
	}
	list := ms.lists[t]
	switch {
	case seq < len(list):
		list[seq] = it
	case seq == len(list):
		ms.lists[t] = append(list, it)
	default:
		return common.MAV_MISSION_ERROR
	}
	return common.MAV_MISSION_ACCEPTED
}

func (ms *missionStore) completeUpload(src source, t int, ob *outbox) {
	x := &ms.xfer[t]
	res := common.MAV_MISSION_ACCEPTED
	switch t {
	case typeMission:
		ob.all(statusText(common.MAV_SEVERITY_INFO, "Flight plan received"))
	case typeFence:
		if validFence(x.pending) {
			ms.lists[t] = x.pending
			ms.fence.breaches = 0
		} else {
			res = common.MAV_MISSION_ERROR
		}
	case typeRally:
		ob.all(statusText(common.MAV_SEVERITY_INFO, "Rally points received"))
	}
	ob.to(src.ch, ack(src, t, res))
	*x = upload{}
	if t == typeMission {
		ms.missionChangedLocked(ob)
	}
}

// tickLocked runs the upload timers on wall time and checks the fence.
func (ms *missionStore) tickLocked(v *Vehicle, now time.Time, ob *outbox) {
	for t := range ms.xfer {
		x := &ms.xfer[t]
		if !x.receiving {
			continue
		}
		if now.Sub(x.lastReceive) > uploadTimeout {
			ob.all(statusText(common.MAV_SEVERITY_WARNING, uploadTimeoutText(t)))
			ob.to(x.dest.ch, ack(x.dest, t, common.MAV_MISSION_OPERATION_CANCELLED))
			*x = upload{}
			continue
		}
		if now.Sub(x.lastRequest) > requestRetry {
			ms.sendRequest(now, t, ob)
		}
	}
	ms.checkFenceLocked(v, ob)
}

func uploadTimeoutText(t int) string {
	switch t {
	case typeFence:
		return "Fence upload timeout"
	case typeRally:
		return "Rally upload timeout"
	}
	return "Mission upload timeout"
}

func (ms *missionStore) onRequestList(src source, t int, ob *outbox) {
	if !validType(t) {
		ob.to(src.ch, ack(src, t, common.MAV_MISSION_UNSUPPORTED))
		return
	}
	if ms.xfer[t].receiving {
		ob.to(src.ch, ack(src, t, common.MAV_MISSION_DENIED))
		return
	}
	ob.to(src.ch, &common.MessageMissionCount{TargetSystem: src.sysID, TargetComponent: src.compID,
		Count: uint16(len(ms.lists[t])), MissionType: common.MAV_MISSION_TYPE(t)})
}

func (ms *missionStore) onRequest(src source, t, seq int, legacy bool, ob *outbox) {
	if !validType(t) {
		ob.to(src.ch, ack(src, t, common.MAV_MISSION_UNSUPPORTED))
		return
	}
	x := &ms.xfer[t]
	if x.receiving {
		ob.to(src.ch, ack(src, t, common.MAV_MISSION_DENIED))
		return
	}
	it, res := ms.itemForDownload(src, t, seq, ob)
	if res != common.MAV_MISSION_ACCEPTED {
		ob.to(src.ch, ack(src, t, res))
		return
	}
	if legacy {
		if !x.warnedCount {
			x.warnedCount = true
			ob.all(statusText(common.MAV_SEVERITY_WARNING, "got MISSION_REQUEST; use MISSION_REQUEST_INT!"))
		}
		ob.to(src.ch, legacyFromItemInt(&it))
		return
	}
	ob.to(src.ch, &it)
}

// itemForDownload returns stored item seq addressed to src, with home in
// mission seq 0.
func (ms *missionStore) itemForDownload(src source, t, seq int, ob *outbox) (common.MessageMissionItemInt, common.MAV_MISSION_RESULT) {
	list := ms.lists[t]
	if seq < 0 || seq >= len(list) {
		if t == typeMission {
			// Educate the GCS about the real size, as ArduPilot does.
			ob.to(src.ch, &common.MessageMissionCount{TargetSystem: src.sysID, TargetComponent: src.compID,
				Count: uint16(len(list)), MissionType: common.MAV_MISSION_TYPE(t)})
			return common.MessageMissionItemInt{}, common.MAV_MISSION_ERROR
		}
		return common.MessageMissionItemInt{}, common.MAV_MISSION_INVALID_SEQUENCE
	}
	it := list[seq]
	if t == typeMission && seq == 0 {
		s := &ms.v.st
		it = common.MessageMissionItemInt{Command: cmdNavWaypoint, Frame: common.MAV_FRAME_GLOBAL,
			X: degE7(s.homeLatDeg), Y: degE7(s.homeLonDeg), Z: float32(math.Trunc(s.homeAltMSLM*100)) / 100}
	}
	it.TargetSystem, it.TargetComponent = src.sysID, src.compID
	it.Seq = uint16(seq)
	it.MissionType = common.MAV_MISSION_TYPE(t)
	it.Autocontinue = 1
	it.Current = 0
	if t == typeMission && seq == ms.auto.navIdx && seq != 0 {
		it.Current = 1
	}
	return it, common.MAV_MISSION_ACCEPTED
}

func (ms *missionStore) onClearAll(src source, mt common.MAV_MISSION_TYPE, ob *outbox) {
	types := []int{int(mt)}
	if mt == common.MAV_MISSION_TYPE_ALL {
		types = []int{typeMission, typeFence, typeRally}
	} else if !validType(int(mt)) {
		ob.to(src.ch, ack(src, int(mt), common.MAV_MISSION_UNSUPPORTED))
		return
	}
	ok := true
	for _, t := range types {
		if ms.xfer[t].receiving {
			ok = false
			continue
		}
		switch t {
		case typeMission:
			if ms.missionRunning() {
				// AP_Mission::clear refuses while the mission runs.
				ok = false
				continue
			}
			ms.lists[t] = ms.lists[t][:1]
			ms.missionChangedLocked(ob)
		default:
			ms.lists[t] = nil
			if t == typeFence {
				ms.fence.breaches = 0
			}
		}
	}
	res := common.MAV_MISSION_ACCEPTED
	if !ok {
		res = common.MAV_MISSION_ERROR
	}
	a := ack(src, 0, res)
	a.MissionType = mt
	ob.to(src.ch, a)
}

// Mission returns the items stored for a mission type as a download would
// return them (mission seq 0 is the current home). It is the simulator's
// ground truth, for tests: it shows what an interrupted upload left behind.
func (v *Vehicle) Mission(missionType common.MAV_MISSION_TYPE) []common.MessageMissionItemInt {
	v.mu.Lock()
	defer v.mu.Unlock()
	ms, ok := v.missions.(*missionStore)
	t := int(missionType)
	if !ok || !validType(t) {
		return nil
	}
	out := make([]common.MessageMissionItemInt, len(ms.lists[t]))
	var ob outbox
	for i := range out {
		out[i], _ = ms.itemForDownload(source{}, t, i, &ob)
	}
	return out
}

// Conversion to ArduPilot's storage.

func isGlobalFrame(f common.MAV_FRAME) bool {
	switch f {
	case common.MAV_FRAME_GLOBAL, common.MAV_FRAME_GLOBAL_INT,
		common.MAV_FRAME_GLOBAL_RELATIVE_ALT, common.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
		common.MAV_FRAME_GLOBAL_TERRAIN_ALT, common.MAV_FRAME_GLOBAL_TERRAIN_ALT_INT:
		return true
	}
	return false
}

// legacyFrame maps the *_INT global frames to the numbering ArduPilot
// reports on download.
func legacyFrame(f common.MAV_FRAME) common.MAV_FRAME {
	switch f {
	case common.MAV_FRAME_GLOBAL_INT:
		return common.MAV_FRAME_GLOBAL
	case common.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT:
		return common.MAV_FRAME_GLOBAL_RELATIVE_ALT
	case common.MAV_FRAME_GLOBAL_TERRAIN_ALT_INT:
		return common.MAV_FRAME_GLOBAL_TERRAIN_ALT
	}
	return f
}

// storedInLocation lists the mission commands ArduPilot keeps a location
// for (AP_Mission::stored_in_location, the ones a copter flies).
func storedInLocation(c common.MAV_CMD) bool {
	switch c {
	case cmdNavWaypoint, cmdNavLoiterUnlim, cmdNavLoiterTurns, cmdNavLoiterTime, cmdNavLand, cmdNavTakeoff,
		cmdNavSplineWaypoint, cmdDoSetROI, common.MAV_CMD_NAV_LOITER_TO_ALT, common.MAV_CMD_DO_SET_HOME,
		common.MAV_CMD_DO_LAND_START, common.MAV_CMD_NAV_PAYLOAD_PLACE:
		return true
	}
	return false
}

// storedAsIs lists the other commands the simulator accepts; their
// parameters are kept as sent.
func storedAsIs(c common.MAV_CMD) bool {
	switch c {
	case common.MAV_CMD_NAV_DELAY, common.MAV_CMD_CONDITION_DELAY, common.MAV_CMD_CONDITION_CHANGE_ALT,
		common.MAV_CMD_CONDITION_DISTANCE, common.MAV_CMD_CONDITION_YAW, common.MAV_CMD_DO_SET_RELAY,
		common.MAV_CMD_DO_REPEAT_RELAY, common.MAV_CMD_DO_SET_SERVO, common.MAV_CMD_DO_REPEAT_SERVO,
		common.MAV_CMD_DO_DIGICAM_CONFIGURE, common.MAV_CMD_DO_DIGICAM_CONTROL, common.MAV_CMD_DO_MOUNT_CONTROL,
		common.MAV_CMD_DO_SET_CAM_TRIGG_DIST, common.MAV_CMD_DO_FENCE_ENABLE, common.MAV_CMD_DO_GRIPPER,
		common.MAV_CMD_DO_SET_CAM_TRIGG_INTERVAL, common.MAV_CMD_IMAGE_START_CAPTURE,
		common.MAV_CMD_IMAGE_STOP_CAPTURE, common.MAV_CMD_VIDEO_START_CAPTURE, common.MAV_CMD_VIDEO_STOP_CAPTURE,
		common.MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW:
		return true
	}
	return false
}

// u16 converts a parameter the way a C cast into ArduPilot's uint16 fields
// behaves for sane values: truncation, with out-of-range values clamped.
func u16(f float32) float32 {
	switch {
	case f != f || f <= 0:
		return 0
	case f >= math.MaxUint16:
		return math.MaxUint16
	}
	return float32(math.Trunc(float64(f)))
}

func clampTrunc(f float32, lo, hi float64) float32 {
	if f != f {
		return 0
	}
	return float32(math.Trunc(min(max(float64(f), lo), hi)))
}

func validLatLon(it *common.MessageMissionItemInt) common.MAV_MISSION_RESULT {
	if it.X < -900000000 || it.X > 900000000 {
		return common.MAV_MISSION_INVALID_PARAM5_X
	}
	if it.Y < -1800000000 || it.Y > 1800000000 {
		return common.MAV_MISSION_INVALID_PARAM6_Y
	}
	return common.MAV_MISSION_ACCEPTED
}

// convert turns an uploaded item into what ArduPilot stores, or the
// MAV_MISSION_RESULT it refuses it with.
func (ms *missionStore) convert(t int, in *common.MessageMissionItemInt) (common.MessageMissionItemInt, common.MAV_MISSION_RESULT) {
	out := common.MessageMissionItemInt{Seq: in.Seq, Command: in.Command, Frame: in.Frame}
	switch t {
	case typeFence:
		return convertFence(in)
	case typeRally:
		return convertRally(in)
	}
	c := in.Command
	switch {
	case storedInLocation(c):
		if !isGlobalFrame(in.Frame) {
			return out, common.MAV_MISSION_UNSUPPORTED_FRAME
		}
		if r := validLatLon(in); r != common.MAV_MISSION_ACCEPTED {
			return out, r
		}
		altCm := math.Trunc(float64(in.Z) * 100)
		if in.Z != in.Z || math.Abs(altCm) > maxAltCm {
			return out, common.MAV_MISSION_INVALID_PARAM7
		}
		out.Frame = legacyFrame(in.Frame)
		out.X, out.Y, out.Z = in.X, in.Y, float32(altCm)/100
		switch c {
		case cmdNavLoiterTurns:
			// Turns and radius share one uint16: a byte each.
			out.Param1 = min(u16(in.Param1), 255)
			r := min(u16(float32(math.Abs(float64(in.Param3)))), 255)
			if in.Param3 < 0 {
				r = -r
			}
			out.Param3 = r
		default:
			// Hold time (s), pitch, abort altitude or ROI mode: one uint16.
			out.Param1 = u16(in.Param1)
		}
	case c == cmdNavRTL:
		// No parameters and no location.
	case c == cmdDoJump:
		out.Param1 = u16(in.Param1)
		out.Param2 = clampTrunc(in.Param2, math.MinInt16, math.MaxInt16)
		target := int(out.Param1)
		if target == 0 || (target >= len(ms.lists[typeMission]) && target > ms.xfer[typeMission].requestLast) {
			return out, common.MAV_MISSION_ERROR
		}
	case c == cmdDoChangeSpeed:
		out.Param1 = clampTrunc(in.Param1, 0, 255)
		out.Param2 = in.Param2
		out.Param3 = clampTrunc(in.Param3, 0, 255)
	case storedAsIs(c):
		out = *in
		out.TargetSystem, out.TargetComponent, out.Current, out.Autocontinue = 0, 0, 0, 0
	default:
		return out, common.MAV_MISSION_UNSUPPORTED
	}
	return out, common.MAV_MISSION_ACCEPTED
}

// convertFence follows MissionItemProtocol_Fence: global frames only, a
// location and param1 (vertex count or radius); no altitude.
func convertFence(in *common.MessageMissionItemInt) (common.MessageMissionItemInt, common.MAV_MISSION_RESULT) {
	out := common.MessageMissionItemInt{Seq: in.Seq, Command: in.Command, Frame: common.MAV_FRAME_GLOBAL}
	if !isGlobalFrame(in.Frame) {
		return out, common.MAV_MISSION_UNSUPPORTED_FRAME
	}
	switch in.Command {
	case cmdFencePolyIn, cmdFencePolyOut:
		out.Param1 = clampTrunc(in.Param1, 0, 255)
	case cmdFenceCircleIn, cmdFenceCircleOut:
		out.Param1 = in.Param1
	case cmdFenceReturn:
	default:
		return out, common.MAV_MISSION_UNSUPPORTED
	}
	out.X, out.Y = in.X, in.Y
	return out, common.MAV_MISSION_ACCEPTED
}

// convertRally follows MissionItemProtocol_Rally: RALLY_POINT in a relative
// frame, the altitude kept as int16 metres.
func convertRally(in *common.MessageMissionItemInt) (common.MessageMissionItemInt, common.MAV_MISSION_RESULT) {
	out := common.MessageMissionItemInt{Seq: in.Seq, Command: cmdRallyPoint, Frame: common.MAV_FRAME_GLOBAL_RELATIVE_ALT}
	if in.Command != cmdRallyPoint {
		return out, common.MAV_MISSION_UNSUPPORTED
	}
	if in.Frame != common.MAV_FRAME_GLOBAL_RELATIVE_ALT && in.Frame != common.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT {
		return out, common.MAV_MISSION_UNSUPPORTED_FRAME
	}
	if r := validLatLon(in); r != common.MAV_MISSION_ACCEPTED {
		return out, r
	}
	if in.Z != in.Z || in.Z < math.MinInt16 || in.Z > math.MaxInt16 {
		return out, common.MAV_MISSION_INVALID_PARAM7
	}
	out.X, out.Y, out.Z = in.X, in.Y, float32(math.Trunc(float64(in.Z)))
	return out, common.MAV_MISSION_ACCEPTED
}

// validFence checks what AC_PolyFence_loader checks before writing: every
// polygon is a run of at least three vertices of one kind, each carrying the
// run's length; circles have a positive radius; one return point at most.
func validFence(items []common.MessageMissionItemInt) bool {
	returns := 0
	for i := 0; i < len(items); {
		it := items[i]
		switch it.Command {
		case cmdFencePolyIn, cmdFencePolyOut:
			n := int(it.Param1)
			if n < 3 || i+n > len(items) {
				return false
			}
			for j := i; j < i+n; j++ {
				if items[j].Command != it.Command || int(items[j].Param1) != n {
					return false
				}
			}
			i += n
			continue
		case cmdFenceCircleIn, cmdFenceCircleOut:
			if !(it.Param1 > 0) {
				return false
			}
		case cmdFenceReturn:
			returns++
			if returns > 1 {
				return false
			}
		default:
			return false
		}
		i++
	}
	return true
}

// itemIntFromLegacy converts MISSION_ITEM as ArduPilot does: positions in
// global frames become degE7.
func itemIntFromLegacy(m *common.MessageMissionItem) common.MessageMissionItemInt {
	it := common.MessageMissionItemInt{TargetSystem: m.TargetSystem, TargetComponent: m.TargetComponent, Seq: m.Seq,
		Frame: m.Frame, Command: m.Command, Current: m.Current, Autocontinue: m.Autocontinue, Param1: m.Param1,
		Param2: m.Param2, Param3: m.Param3, Param4: m.Param4, Z: m.Z, MissionType: m.MissionType}
	if isGlobalFrame(m.Frame) {
		it.X = int32(math.Round(float64(m.X) * 1e7))
		it.Y = int32(math.Round(float64(m.Y) * 1e7))
	} else {
		it.X, it.Y = int32(m.X), int32(m.Y)
	}
	return it
}

func legacyFromItemInt(it *common.MessageMissionItemInt) *common.MessageMissionItem {
	m := &common.MessageMissionItem{TargetSystem: it.TargetSystem, TargetComponent: it.TargetComponent, Seq: it.Seq,
		Frame: it.Frame, Command: it.Command, Current: it.Current, Autocontinue: it.Autocontinue, Param1: it.Param1,
		Param2: it.Param2, Param3: it.Param3, Param4: it.Param4, Z: it.Z, MissionType: it.MissionType}
	if isGlobalFrame(it.Frame) {
		m.X, m.Y = float32(float64(it.X)/1e7), float32(float64(it.Y)/1e7)
	} else {
		m.X, m.Y = float32(it.X), float32(it.Y)
	}
	return m
}
