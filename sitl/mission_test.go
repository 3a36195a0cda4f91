package sitl

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/bluenviron/gomavlib/v3/pkg/dialects/common"
	"github.com/bluenviron/gomavlib/v3/pkg/message"
)

func isMissionRequest(seq uint16) func(rx) bool {
	return func(f rx) bool {
		r, ok := f.m.(*common.MessageMissionRequest)
		return ok && r.Seq == seq
	}
}

func isMissionAck(r common.MAV_MISSION_RESULT) func(rx) bool {
	return func(f rx) bool {
		a, ok := f.m.(*common.MessageMissionAck)
		return ok && a.Type == r
	}
}

func (g *testGCS) must(from int, what string, timeout time.Duration, pred func(rx) bool) message.Message {
	g.t.Helper()
	f, ok := g.waitFor(from, timeout, pred)
	if !ok {
		g.t.Fatalf("no %s within %v", what, timeout)
	}
	return f.m
}

func wp(seq uint16, frame common.MAV_FRAME, lat, lon float64, alt float32) *common.MessageMissionItemInt {
	return &common.MessageMissionItemInt{TargetSystem: 1, TargetComponent: 1, Seq: seq, Frame: frame,
		Command: common.MAV_CMD_NAV_WAYPOINT, X: degE7(lat), Y: degE7(lon), Z: alt, Autocontinue: 1}
}

// TestMissionProtocolLikeArduPilot walks an upload and a download through
// the behaviours a ground station has to cope with on ArduPilot.
func TestMissionProtocolLikeArduPilot(t *testing.T) {
	t.Parallel()
	v, g := tcpVehicle(t, VehicleConfig{SystemID: 1})
	home := v.State()
	lat, lon := home.LatDeg, home.LonDeg

	from := g.mark()
	g.send(&common.MessageMissionCount{TargetSystem: 1, TargetComponent: 1, Count: 4})
	// ArduPilot asks with the legacy MISSION_REQUEST.
	g.must(from, "MISSION_REQUEST 0", time.Second, isMissionRequest(0))

	// An unexpected seq is NACKed; the upload goes on.
	from = g.mark()
	g.send(wp(1, common.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, lat+0.001, lon, 30))
	g.must(from, "INVALID_SEQUENCE", time.Second, isMissionAck(common.MAV_MISSION_INVALID_SEQUENCE))
	from = g.mark()
	g.send(wp(0, common.MAV_FRAME_GLOBAL_INT, lat, lon, 584))
	g.must(from, "MISSION_REQUEST 1", time.Second, isMissionRequest(1))

	// Downloads are refused while an upload is in progress.
	from = g.mark()
	g.send(&common.MessageMissionRequestList{TargetSystem: 1, TargetComponent: 1})
	g.must(from, "DENIED", time.Second, isMissionAck(common.MAV_MISSION_DENIED))

	// Silence: the request is repeated after a second.
	from = g.mark()
	start := time.Now()
	g.must(from, "a repeated MISSION_REQUEST 1", 3*time.Second, isMissionRequest(1))
	if d := time.Since(start); d < 800*time.Millisecond {
		t.Errorf("request repeated after %v", d)
	}

	g.send(wp(1, common.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, lat+0.001, lon, 30.257))
	g.must(from, "MISSION_REQUEST 2", time.Second, isMissionRequest(2))
	g.send(&common.MessageMissionItemInt{TargetSystem: 1, TargetComponent: 1, Seq: 2, Frame: common.MAV_FRAME_MISSION,
		Command: common.MAV_CMD_DO_CHANGE_SPEED, Param1: 1, Param2: 7.5, Param3: -1})
	g.must(from, "MISSION_REQUEST 3", time.Second, isMissionRequest(3))
	from = g.mark()
	g.send(&common.MessageMissionItemInt{TargetSystem: 1, TargetComponent: 1, Seq: 3, Frame: common.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
		Command: common.MAV_CMD_NAV_WAYPOINT, X: degE7(lat), Y: degE7(lon + 0.001), Z: 40, Param1: 2.7, Param4: float32(math.NaN())})
	g.must(from, "ACCEPTED", time.Second, isMissionAck(common.MAV_MISSION_ACCEPTED))
	if _, ok := g.waitText(from, 1, "Flight plan received", time.Second); !ok {
		t.Error("no 'Flight plan received'")
	}
	// A late duplicate after the upload: not receiving.
	from = g.mark()
	g.send(wp(3, common.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, lat, lon, 40))
	g.must(from, "ERROR", time.Second, isMissionAck(common.MAV_MISSION_ERROR))

	// Download: home at 0, items as ArduPilot stores them.
	from = g.mark()
	g.send(&common.MessageMissionRequestList{TargetSystem: 1, TargetComponent: 1})
	c := g.must(from, "MISSION_COUNT", time.Second, isMsg[*common.MessageMissionCount](1)).(*common.MessageMissionCount)
	if c.Count != 4 || c.TargetSystem != gcsSysID {
		t.Fatalf("MISSION_COUNT %+v", c)
	}
	got := map[uint16]*common.MessageMissionItemInt{}
	for seq := range uint16(4) {
		from = g.mark()
		g.send(&common.MessageMissionRequestInt{TargetSystem: 1, TargetComponent: 1, Seq: seq})
		got[seq] = g.must(from, "MISSION_ITEM_INT", time.Second, func(f rx) bool {
			it, ok := f.m.(*common.MessageMissionItemInt)
			return ok && it.Seq == seq
		}).(*common.MessageMissionItemInt)
	}
	if h := got[0]; h.Frame != common.MAV_FRAME_GLOBAL || h.X != degE7(lat) || h.Z != 584 {
		t.Errorf("item 0 is not home: %+v", h)
	}
	if w := got[1]; w.Frame != common.MAV_FRAME_GLOBAL_RELATIVE_ALT || w.Z != 30.25 || w.X != degE7(lat+0.001) {
		t.Errorf("waypoint: frame %v alt %v (want the non-INT frame and whole centimetres)", w.Frame, w.Z)
	}
	if s := got[2]; s.Command != common.MAV_CMD_DO_CHANGE_SPEED || s.Param2 != 7.5 || s.Param3 != 0 {
		t.Errorf("speed change: %+v", s)
	}
	if w := got[3]; w.Param1 != 2 || w.Param4 != 0 {
		t.Errorf("waypoint params %v %v: a copter keeps whole seconds of hold and no yaw", w.Param1, w.Param4)
	}
	// A request beyond the end: MISSION_COUNT again and an ERROR.
	from = g.mark()
	g.send(&common.MessageMissionRequestInt{TargetSystem: 1, TargetComponent: 1, Seq: 9})
	g.must(from, "ERROR", time.Second, isMissionAck(common.MAV_MISSION_ERROR))
	// The legacy request is answered with the legacy item, and a warning.
	from = g.mark()
	g.send(&common.MessageMissionRequest{TargetSystem: 1, TargetComponent: 1, Seq: 1})
	it := g.must(from, "MISSION_ITEM", time.Second, isMsg[*common.MessageMissionItem](1)).(*common.MessageMissionItem)
	if math.Abs(float64(it.X)-(lat+0.001)) > 1e-5 {
		t.Errorf("legacy item at %v", it.X)
	}
	if _, ok := g.waitText(from, 1, "use MISSION_REQUEST_INT", time.Second); !ok {
		t.Error("no warning about MISSION_REQUEST")
	}

	// A shorter upload truncates; MISSION_COUNT 0 leaves only home.
	from = g.mark()
	g.send(&common.MessageMissionCount{TargetSystem: 1, TargetComponent: 1, Count: 0})
	g.must(from, "ACCEPTED", time.Second, isMissionAck(common.MAV_MISSION_ACCEPTED))
	if n := len(v.Mission(common.MAV_MISSION_TYPE_MISSION)); n != 1 {
		t.Errorf("%d items after an empty upload", n)
	}
}

// TestMissionUploadTimeout leaves an upload hanging: after eight seconds
// ArduPilot gives up with a text and OPERATION_CANCELLED, keeping the items
// it had (uploads are not atomic).
func TestMissionUploadTimeout(t *testing.T) {
	t.Parallel()
	v, g := tcpVehicle(t, VehicleConfig{SystemID: 1})
	s := v.State()
	from := g.mark()
	g.send(&common.MessageMissionCount{TargetSystem: 1, TargetComponent: 1, Count: 3, MissionType: common.MAV_MISSION_TYPE_RALLY})
	g.must(from, "MISSION_REQUEST 0", time.Second, isMissionRequest(0))
	g.send(&common.MessageMissionItemInt{TargetSystem: 1, TargetComponent: 1, Seq: 0, Frame: common.MAV_FRAME_GLOBAL_RELATIVE_ALT,
		Command: common.MAV_CMD_NAV_RALLY_POINT, X: degE7(s.LatDeg), Y: degE7(s.LonDeg), Z: 55.9,
		MissionType: common.MAV_MISSION_TYPE_RALLY})
	g.must(from, "MISSION_REQUEST 1", time.Second, isMissionRequest(1))
	start := time.Now()
	a := g.must(from, "OPERATION_CANCELLED", 12*time.Second, isMissionAck(common.MAV_MISSION_OPERATION_CANCELLED)).(*common.MessageMissionAck)
	if d := time.Since(start); d < 7*time.Second || a.MissionType != common.MAV_MISSION_TYPE_RALLY {
		t.Errorf("cancelled after %v: %+v", d, a)
	}
	if _, ok := g.waitText(from, 1, "Rally upload timeout", time.Second); !ok {
		t.Error("no 'Rally upload timeout'")
	}
	// Eight repeated requests went out meanwhile, about one a second.
	if n := countIn(g.since(from), 1, 40, start, time.Now()); n < 5 || n > 10 {
		t.Errorf("%d requests during the wait", n)
	}
	rally := v.Mission(common.MAV_MISSION_TYPE_RALLY)
	if len(rally) != 1 || rally[0].Z != 55 || rally[0].Frame != common.MAV_FRAME_GLOBAL_RELATIVE_ALT {
		t.Errorf("rally points left: %+v (want the one received, in whole metres)", rally)
	}
}

// autoVehicle is a simulation without a network, armed and flying AUTO on
// the given mission (seq 0 is home).
func autoVehicle(t *testing.T, items []common.MessageMissionItemInt) (*Vehicle, *missionStore, *outbox) {
	t.Helper()
	v, err := newVehicleCore(VehicleConfig{SystemID: 1, HomeLatDeg: -35.3632621, HomeLonDeg: 149.1652374, HomeAltMSLM: 584,
		Params: map[string]float32{"DISARM_DELAY": 0}})
	if err != nil {
		t.Fatal(err)
	}
	ms := v.missions.(*missionStore)
	ms.lists[typeMission] = ms.lists[typeMission][:1]
	ob := &outbox{}
	for i := range items {
		items[i].Seq = uint16(i + 1)
		st, res := ms.convert(typeMission, &items[i])
		if res != common.MAV_MISSION_ACCEPTED {
			t.Fatalf("item %d: %v", i+1, res)
		}
		if r := ms.store(typeMission, st); r != common.MAV_MISSION_ACCEPTED {
			t.Fatalf("store %d: %v", i+1, r)
		}
	}
	if !v.setModeLocked(ModeGuided, ob) || !v.armLocked(false, ob) || !v.setModeLocked(ModeAuto, ob) {
		t.Fatalf("cannot start AUTO: %v", texts(ob))
	}
	return v, ms, ob
}

func findAck(ob *outbox) *common.MessageMissionAck {
	for _, m := range ob.msgs {
		if a, ok := m.m.(*common.MessageMissionAck); ok {
			return a
		}
	}
	return nil
}

func texts(ob *outbox) []string {
	var out []string
	for _, m := range ob.msgs {
		if st, ok := m.m.(*common.MessageStatustext); ok {
			out = append(out, st.Text)
		}
	}
	return out
}

// fly steps the simulation until the vehicle disarms or maxS simulated
// seconds pass, returning the MISSION_ITEM_REACHED seqs.
func fly(v *Vehicle, ob *outbox, maxS float64, each func()) []int {
	var reached []int
	for t := 0.0; t < maxS && v.st.armed; t += 0.1 {
		v.stepPhysicsLocked(0.1, ob)
		for _, m := range ob.msgs {
			if r, ok := m.m.(*common.MessageMissionItemReached); ok {
				reached = append(reached, int(r.Seq))
			}
		}
		ob.reset()
		if each != nil {
			each()
		}
	}
	return reached
}

// TestAutoMissionSemantics flies a mission on simulated time and checks
// ArduCopter's rules: DO commands run when the navigation command before
// them starts, DO_JUMP repeats, LOITER_TURNS circles at its radius,
// LOITER_TIME holds, NAV_LAND lands at its position and the copter
// disarms.
func TestAutoMissionSemantics(t *testing.T) {
	const lat0, lon0 = -35.3632621, 149.1652374
	north := func(m float64) float64 { return lat0 + m/mPerDegLat }
	east := func(m float64) float64 { return lon0 + m/(mPerDegLat*math.Cos(lat0*math.Pi/180)) }
	rel := common.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT
	items := []common.MessageMissionItemInt{
		{Command: cmdNavTakeoff, Frame: rel, Z: 10},                                                                      // 1
		{Command: cmdNavWaypoint, Frame: rel, X: degE7(north(50)), Y: degE7(lon0), Z: 10},                                // 2
		{Command: cmdDoChangeSpeed, Frame: common.MAV_FRAME_MISSION, Param1: 1, Param2: 4},                               // 3
		{Command: cmdNavLoiterTurns, Frame: rel, X: degE7(north(50)), Y: degE7(east(50)), Z: 15, Param1: 2, Param3: -20}, // 4
		{Command: cmdDoJump, Frame: common.MAV_FRAME_MISSION, Param1: 2, Param2: 2},                                      // 5
		{Command: cmdNavLoiterTime, Frame: rel, X: degE7(lat0), Y: degE7(east(50)), Z: 10, Param1: 5},                    // 6
		{Command: cmdNavLand, Frame: rel, X: degE7(north(10)), Y: degE7(east(10))},                                       // 7
	}
	v, ms, ob := autoVehicle(t, items)
	var maxR, speedOnLeg float64
	var sawSpeed bool
	reached := fly(v, ob, 2000, func() {
		s := &v.st
		if ms.auto.navIdx == 4 && ms.auto.phase == 1 {
			n, e := offsetM(north(50), east(50), s.latDeg, s.lonDeg)
			maxR = math.Max(maxR, math.Abs(math.Hypot(n, e)-20))
		}
		if ms.auto.navIdx == 2 && !sawSpeed {
			sawSpeed = true
			speedOnLeg = v.cruiseMS()
			// Flying the mission: MISSION_CLEAR_ALL is refused.
			var o outbox
			ms.onClearAll(source{sysID: 255}, common.MAV_MISSION_TYPE_MISSION, &o)
			if a := findAck(&o); a == nil || a.Type != common.MAV_MISSION_ERROR || len(ms.lists[typeMission]) != 8 {
				t.Errorf("clear while flying: %+v", a)
			}
		}
	})
	if want := []int{1, 2, 4, 2, 4, 2, 4, 6, 7}; !slices.Equal(reached, want) {
		t.Errorf("reached %v, want %v", reached, want)
	}
	if speedOnLeg != 4 {
		t.Errorf("cruise speed on the way to item 2 is %v: DO_CHANGE_SPEED after it applies already", speedOnLeg)
	}
	if maxR > 0.5 {
		t.Errorf("circled up to %.2f m off the 20 m radius", maxR)
	}
	s := &v.st
	if n, e := offsetM(north(10), east(10), s.latDeg, s.lonDeg); s.armed || !s.landed || math.Hypot(n, e) > 0.5 {
		t.Errorf("after the mission: armed %v landed %v, %.1f m from the landing point", s.armed, s.landed, math.Hypot(n, e))
	}
	var mc common.MessageMissionCurrent
	ms.fillMissionCurrent(&mc)
	if mc.MissionState != common.MISSION_STATE_COMPLETE || mc.Seq != 7 || mc.Total != 7 {
		t.Errorf("MISSION_CURRENT %+v", mc)
	}
}

// TestAutoMissionEnds checks that AUTO on the ground needs a takeoff first,
// and that a mission ending in the air leaves the copter holding in AUTO.
func TestAutoMissionEnds(t *testing.T) {
	v, err := newVehicleCore(VehicleConfig{SystemID: 1, HomeLatDeg: -35.36, HomeLonDeg: 149.16, HomeAltMSLM: 584})
	if err != nil {
		t.Fatal(err)
	}
	ms := v.missions.(*missionStore)
	ms.lists[typeMission] = append(ms.lists[typeMission],
		common.MessageMissionItemInt{Seq: 1, Command: cmdNavWaypoint, Frame: 3, X: degE7(-35.3601), Y: degE7(149.16), Z: 20})
	ob := &outbox{}
	v.setModeLocked(ModeGuided, ob)
	v.armLocked(false, ob)
	if v.setModeLocked(ModeAuto, ob) || !slices.Contains(texts(ob), "Auto: Missing Takeoff Cmd") {
		t.Fatalf("AUTO on the ground without a takeoff: mode %d, texts %v", v.st.mode, texts(ob))
	}
	// In the air the same mission flies, and the copter then holds in AUTO.
	v.startTakeoffLocked(20)
	fly(v, ob, 20, nil)
	if !v.setModeLocked(ModeAuto, ob) {
		t.Fatalf("AUTO in the air: %v", texts(ob))
	}
	reached := fly(v, ob, 60, nil)
	s := &v.st
	if !slices.Equal(reached, []int{1}) || !ms.auto.complete || s.mode != ModeAuto || !s.armed || s.altRelM < 19 {
		t.Errorf("after the last item: reached %v complete %v mode %d armed %v alt %.1f", reached, ms.auto.complete,
			s.mode, s.armed, s.altRelM)
	}
	// Clearing is refused only while the mission runs.
	ob.reset()
	ms.onClearAll(source{sysID: 255}, common.MAV_MISSION_TYPE_MISSION, ob)
	if a := findAck(ob); a == nil || a.Type != common.MAV_MISSION_ACCEPTED {
		t.Errorf("clear after the mission completed: %+v", a) // complete is not running
	}
}

// FuzzMissionServer feeds arbitrary mission messages (and a little flying)
// to the mission server: it must never panic, and its storage must keep its
// invariants (home slot present, limits respected, fence valid).
func FuzzMissionServer(f *testing.F) {
	f.Add([]byte{0, 3, 0, 2, 0, 1, 0, 16, 0, 2, 0, 2, 1, 22, 0, 2, 0, 9})
	f.Add([]byte{0, 2, 1, 2, 0, 0, 1, 0xb3, 0x13, 2, 1, 1, 1, 0xb3, 0x13, 5, 1, 4, 0, 7})
	f.Add([]byte{0, 255, 255, 1, 0, 3, 0, 1, 1, 5, 0, 0, 3, 2, 0, 6, 0xff, 8, 0, 9})
	f.Add([]byte{0, 4, 0, 0, 2, 0, 0, 22, 0, 2, 0, 1, 0, 177, 0, 2, 0, 2, 0, 177, 0, 2, 0, 3, 0, 20, 0, 7, 0, 9, 0, 9})
	f.Fuzz(fuzzMissionServer)
}

// fuzzMissionServer reads data as a script of mission messages, commands and
// flying time, plays it to a simulation without a network and checks the
// storage afterwards.
func fuzzMissionServer(t *testing.T, data []byte) {
	v, err := newVehicleCore(VehicleConfig{SystemID: 1, HomeLatDeg: -35.36, HomeLonDeg: 149.16, HomeAltMSLM: 584,
		Params: map[string]float32{"FENCE_ENABLE": 1}})
	if err != nil {
		t.Fatal(err)
	}
	ms := v.missions.(*missionStore)
	src := source{sysID: 255, compID: 190}
	ob := &outbox{}
	now := time.Now()
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}
	u16 := func() uint16 { return uint16(next())<<8 | uint16(next()) }
	for steps := 0; len(data) > 0 && steps < 200; steps++ {
		mt := common.MAV_MISSION_TYPE(next() % 4)
		var m message.Message
		switch next() % 10 {
		case 0:
			m = &common.MessageMissionCount{TargetSystem: 1, Count: u16(), MissionType: mt}
		case 1:
			m = &common.MessageMissionItemInt{TargetSystem: 1, Seq: u16(), Command: common.MAV_CMD(u16()),
				Frame: common.MAV_FRAME(next() % 12), Param1: float32(int8(next())), Param2: float32(int8(next())),
				X: int32(int16(u16())) * 1000, Y: int32(int16(u16())) * 1000, Z: float32(next()), MissionType: mt}
		case 2:
			m = &common.MessageMissionRequestList{TargetSystem: 1, MissionType: mt}
		case 3:
			m = &common.MessageMissionRequestInt{TargetSystem: 1, Seq: u16(), MissionType: mt}
		case 4:
			m = &common.MessageMissionClearAll{TargetSystem: 1, MissionType: mt}
		case 5:
			m = &common.MessageMissionSetCurrent{TargetSystem: 1, Seq: u16()}
		case 6:
			m = &common.MessageMissionWritePartialList{TargetSystem: 1, StartIndex: int16(u16()), EndIndex: int16(u16()), MissionType: mt}
		case 7:
			v.onCommandLocked(now, src, commandReq{cmd: common.MAV_CMD_DO_SET_MISSION_CURRENT, p1: float32(int8(next())), p2: float32(next() % 2)}, ob)
		case 8:
			v.setModeLocked(ModeGuided, ob)
			v.armLocked(true, ob)
			v.startTakeoffLocked(10)
			v.onCommandLocked(now, src, commandReq{cmd: common.MAV_CMD_MISSION_START}, ob)
		case 9:
			v.stepPhysicsLocked(float64(next()%16), ob)
			now = now.Add(time.Duration(next()) * 100 * time.Millisecond)
			ms.tickLocked(v, now, ob)
		}
		if m != nil {
			v.dispatchLocked(now, src, m, ob)
		}
		ob.reset()
	}
	if len(ms.lists[typeMission]) < 1 {
		t.Fatal("the home slot is gone")
	}
	for typ, l := range ms.lists {
		if len(l) > maxItems[typ] {
			t.Fatalf("type %d holds %d items", typ, len(l))
		}
	}
	if !validFence(ms.lists[typeFence]) {
		t.Fatalf("invalid fence stored: %+v", ms.lists[typeFence])
	}
	var mc common.MessageMissionCurrent
	ms.fillMissionCurrent(&mc)
}
