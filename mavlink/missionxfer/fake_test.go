package missionxfer_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gomavlib/v3"
	"github.com/bluenviron/gomavlib/v3/pkg/dialects/ardupilotmega"
	"github.com/bluenviron/gomavlib/v3/pkg/dialects/common"
	"github.com/bluenviron/gomavlib/v3/pkg/message"

	"github.com/ospreygcs/osprey/mavlink"
	"github.com/ospreygcs/osprey/mavlink/missionxfer"
)

// fake is a vehicle scripted by the test: a plain gomavlib node that sends
// heartbeats and whatever the test tells it to, and hands the test every
// message osprey sends.
type fake struct {
	t    *testing.T
	node *gomavlib.Node
	in   chan message.Message
	wg   sync.WaitGroup
}

func newFake(t *testing.T, autopilot common.MAV_AUTOPILOT) (*fake, *mavlink.Vehicle) {
	t.Helper()
	m, port := newManager(t, mavlink.Config{StreamRates: map[uint32]float64{}})
	f := &fake{t: t, in: make(chan message.Message, 1024)}
	f.node = &gomavlib.Node{
		Endpoints:              []gomavlib.EndpointConf{gomavlib.EndpointUDPClient{Address: "127.0.0.1:" + port}},
		Dialect:                ardupilotmega.Dialect,
		OutVersion:             gomavlib.V2,
		OutSystemID:            1,
		OutComponentID:         1,
		HeartbeatPeriod:        200 * time.Millisecond,
		HeartbeatSystemType:    int(common.MAV_TYPE_QUADROTOR),
		HeartbeatAutopilotType: int(autopilot),
		IdleTimeout:            time.Hour,
	}
	if err := f.node.Initialize(); err != nil {
		t.Fatal(err)
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for evt := range f.node.Events() {
			if fr, ok := evt.(*gomavlib.EventFrame); ok {
				select {
				case f.in <- fr.Message():
				default:
				}
			}
		}
	}()
	t.Cleanup(func() {
		f.node.Close()
		f.wg.Wait()
	})
	v, err := m.WaitVehicle(ctxFor(t, 5*time.Second), 1)
	if err != nil {
		t.Fatal(err)
	}
	return f, v
}

func (f *fake) send(m message.Message) {
	if err := f.node.WriteMessageAll(m); err != nil {
		f.t.Fatalf("fake vehicle: send %T: %v", m, err)
	}
}

// expect returns the first message from osprey that pred accepts; every
// message passed over is given to skip, when set.
func (f *fake) expect(what string, timeout time.Duration, pred func(message.Message) bool, skip func(message.Message)) message.Message {
	f.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case m := <-f.in:
			if pred(m) {
				return m
			}
			if skip != nil {
				skip(m)
			}
		case <-deadline.C:
			f.t.Fatalf("fake vehicle: no %s within %v", what, timeout)
			return nil
		}
	}
}

func isItem(seq uint16) func(message.Message) bool {
	return func(m message.Message) bool {
		it, ok := m.(*common.MessageMissionItemInt)
		return ok && it.Seq == seq
	}
}

func isAck(r common.MAV_MISSION_RESULT) func(message.Message) bool {
	return func(m message.Message) bool {
		a, ok := m.(*common.MessageMissionAck)
		return ok && a.Type == r
	}
}

// TestUploadAnswersEveryRequest drives an upload from a vehicle that asks
// for items out of order, twice, and with the legacy MISSION_REQUEST: each
// request gets MISSION_ITEM_INT for exactly the seq asked for, nothing is
// sent that was not asked for (this is not ArduPilot), and the item last
// asked for is sent again when the vehicle goes quiet.
func TestUploadAnswersEveryRequest(t *testing.T) {
	f, v := newFake(t, common.MAV_AUTOPILOT_GENERIC)
	items := missionItems(6, 4)
	ctx := ctxFor(t, 20*time.Second)
	errc := make(chan error, 1)
	go func() {
		errc <- missionxfer.Upload(ctx, v, missionxfer.Mission, items, missionxfer.Options{})
	}()
	c := f.expect("MISSION_COUNT", 3*time.Second, func(m message.Message) bool { _, ok := m.(*common.MessageMissionCount); return ok }, nil)
	if mc := c.(*common.MessageMissionCount); mc.Count != 6 || mc.MissionType != common.MAV_MISSION_TYPE_MISSION || mc.TargetSystem != 1 {
		t.Fatalf("MISSION_COUNT %+v", mc)
	}
	asked := map[uint16]bool{}
	unasked := func(m message.Message) {
		if it, ok := m.(*common.MessageMissionItemInt); ok && !asked[it.Seq] {
			t.Errorf("item %d sent before it was asked for", it.Seq)
		}
	}
	for _, r := range []struct {
		seq    uint16
		legacy bool
	}{{0, false}, {1, false}, {1, true}, {3, false}, {2, true}, {0, false}, {4, false}, {5, true}} {
		asked[r.seq] = true
		if r.legacy {
			f.send(&common.MessageMissionRequest{TargetSystem: 255, TargetComponent: 190, Seq: r.seq})
		} else {
			f.send(&common.MessageMissionRequestInt{TargetSystem: 255, TargetComponent: 190, Seq: r.seq})
		}
		m := f.expect("the item asked for", 2*time.Second, isItem(r.seq), unasked).(*common.MessageMissionItemInt)
		want := items[r.seq]
		if uint16(m.Command) != want.Command || uint8(m.Frame) != want.Frame || m.X != want.X || m.Y != want.Y ||
			m.Z != want.Z || m.Param1 != want.Param1 || m.MissionType != common.MAV_MISSION_TYPE_MISSION {
			t.Errorf("request %d answered with %+v, want %+v", r.seq, m, want)
		}
	}
	// Quiet: the item last asked for goes out again.
	f.expect("item 5 again", 3*time.Second, isItem(5), unasked)
	f.send(&common.MessageMissionAck{TargetSystem: 255, TargetComponent: 190, Type: common.MAV_MISSION_ACCEPTED})
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if s := missionState(v); s.Status != mavlink.MissionInSync || s.Items != 6 {
		t.Errorf("mission state %+v (not ArduPilot: no home item)", s)
	}
}

// TestCancelTellsTheVehicle cancels an upload and a download part-way:
// both send MISSION_ACK OPERATION_CANCELLED and return ErrCancelled.
func TestCancelTellsTheVehicle(t *testing.T) {
	f, v := newFake(t, common.MAV_AUTOPILOT_GENERIC)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		errc <- missionxfer.Upload(ctx, v, missionxfer.Mission, missionItems(10, 0), missionxfer.Options{})
	}()
	f.expect("MISSION_COUNT", 3*time.Second, func(m message.Message) bool { _, ok := m.(*common.MessageMissionCount); return ok }, nil)
	f.send(&common.MessageMissionRequestInt{TargetSystem: 255, TargetComponent: 190, Seq: 0})
	f.expect("item 0", 2*time.Second, isItem(0), nil)
	f.send(&common.MessageMissionRequestInt{TargetSystem: 255, TargetComponent: 190, Seq: 1})
	f.expect("item 1", 2*time.Second, isItem(1), nil)
	cancel()
	a := f.expect("MISSION_ACK", 2*time.Second, func(m message.Message) bool { _, ok := m.(*common.MessageMissionAck); return ok }, nil).(*common.MessageMissionAck)
	if a.Type != common.MAV_MISSION_OPERATION_CANCELLED || a.MissionType != common.MAV_MISSION_TYPE_MISSION {
		t.Errorf("cancel sent %+v", a)
	}
	err := <-errc
	var xe *missionxfer.Error
	if !errors.Is(err, missionxfer.ErrCancelled) || !errors.Is(err, context.Canceled) || !errors.As(err, &xe) || xe.Seq != 1 {
		t.Fatalf("cancelled upload: %v", err)
	}
	if s := missionState(v); s.Status != mavlink.MissionUnknown || !strings.Contains(s.Note, "cancelled at item 1 of 10") {
		t.Errorf("mission state after cancel: %+v", s)
	}

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	go func() {
		_, err := missionxfer.Download(ctx, v, missionxfer.Rally, missionxfer.Options{})
		errc <- err
	}()
	f.expect("MISSION_REQUEST_LIST", 3*time.Second, func(m message.Message) bool {
		r, ok := m.(*common.MessageMissionRequestList)
		return ok && r.MissionType == common.MAV_MISSION_TYPE_RALLY
	}, nil)
	f.send(&common.MessageMissionCount{TargetSystem: 255, TargetComponent: 190, Count: 5, MissionType: common.MAV_MISSION_TYPE_RALLY})
	f.expect("a request", 2*time.Second, func(m message.Message) bool { _, ok := m.(*common.MessageMissionRequestInt); return ok }, nil)
	cancel()
	a = f.expect("MISSION_ACK", 2*time.Second, func(m message.Message) bool { _, ok := m.(*common.MessageMissionAck); return ok }, nil).(*common.MessageMissionAck)
	if a.Type != common.MAV_MISSION_OPERATION_CANCELLED || a.MissionType != common.MAV_MISSION_TYPE_RALLY {
		t.Errorf("download cancel sent %+v", a)
	}
	if err := <-errc; !errors.Is(err, missionxfer.ErrCancelled) {
		t.Fatalf("cancelled download: %v", err)
	}
}

// TestDownloadRetriesTheSameItem answers a pipelined download out of order
// and ignores one request: the download asks for that seq again (never
// starting over) and ends with MISSION_ACK ACCEPTED.
func TestDownloadRetriesTheSameItem(t *testing.T) {
	f, v := newFake(t, common.MAV_AUTOPILOT_GENERIC)
	items := missionItems(12, 2)
	ctx := ctxFor(t, 20*time.Second)
	type result struct {
		items []missionxfer.Item
		err   error
	}
	res := make(chan result, 1)
	go func() {
		got, err := missionxfer.Download(ctx, v, missionxfer.Mission, missionxfer.Options{Window: 4})
		res <- result{got, err}
	}()
	f.expect("MISSION_REQUEST_LIST", 3*time.Second, func(m message.Message) bool { _, ok := m.(*common.MessageMissionRequestList); return ok }, nil)
	f.send(&common.MessageMissionCount{TargetSystem: 255, TargetComponent: 190, Count: 12})
	requests := map[uint16]int{}
	answered := map[uint16]bool{}
	var pending []uint16
	deadline := time.Now().Add(10 * time.Second)
	for len(answered) < 12 && time.Now().Before(deadline) {
		m := f.expect("a request", 3*time.Second, func(m message.Message) bool { _, ok := m.(*common.MessageMissionRequestInt); return ok }, nil)
		seq := m.(*common.MessageMissionRequestInt).Seq
		requests[seq]++
		if seq == 7 && requests[seq] == 1 {
			continue // lost
		}
		pending = append(pending, seq)
		if len(pending) < 3 && len(answered)+len(pending) < 11 {
			continue // answer in batches, last asked first
		}
		sort.Slice(pending, func(i, j int) bool { return pending[i] > pending[j] })
		for _, s := range pending {
			it := items[s]
			f.send(&common.MessageMissionItemInt{TargetSystem: 255, TargetComponent: 190, Seq: s, Frame: common.MAV_FRAME(it.Frame),
				Command: common.MAV_CMD(it.Command), Param1: it.Param1, Param2: it.Param2, X: it.X, Y: it.Y, Z: it.Z, Autocontinue: 1})
			answered[s] = true
		}
		pending = pending[:0]
	}
	f.expect("the final MISSION_ACK", 3*time.Second, isAck(common.MAV_MISSION_ACCEPTED), nil)
	r := <-res
	if r.err != nil {
		t.Fatal(r.err)
	}
	sameItems(t, missionxfer.Mission, items, r.items)
	if requests[7] < 2 {
		t.Errorf("item 7 was asked for %d times", requests[7])
	}
	if requests[0] > 3 {
		t.Errorf("item 0 asked for %d times: the download started over", requests[0])
	}
}

// TestLostFinalAckIsConfirmedByDownload plays ArduPilot losing its final
// MISSION_ACK: a repeated last item is answered MAV_MISSION_ERROR (no
// longer receiving). The upload reads the mission back and, finding it
// complete, succeeds; when the vehicle holds something else it fails.
func TestLostFinalAckIsConfirmedByDownload(t *testing.T) {
	for _, holds := range []string{"the upload", "something else"} {
		t.Run(holds, func(t *testing.T) {
			f, v := newFake(t, common.MAV_AUTOPILOT_ARDUPILOTMEGA)
			items := missionItems(5, 1)
			ctx := ctxFor(t, 20*time.Second)
			errc := make(chan error, 1)
			go func() {
				errc <- missionxfer.Upload(ctx, v, missionxfer.Mission, items, missionxfer.Options{ItemTimeout: 100 * time.Millisecond})
			}()
			stored := make([]*common.MessageMissionItemInt, 5)
			want := uint16(0)
			receiving := true
			for done := false; !done; {
				select {
				case err := <-errc:
					if holds == "the upload" && err != nil {
						t.Fatalf("upload whose final ACK was lost: %v", err)
					}
					var xe *missionxfer.Error
					if holds == "something else" && (!errors.Is(err, missionxfer.ErrRejected) || !errors.As(err, &xe) ||
						!strings.Contains(err.Error(), "read back")) {
						t.Fatalf("upload that did not arrive: %v", err)
					}
					t.Log(err)
					done = true
				case m := <-f.in:
					switch m := m.(type) {
					case *common.MessageMissionCount:
						f.send(&common.MessageMissionRequest{TargetSystem: 255, TargetComponent: 190, Seq: 0})
					case *common.MessageMissionItemInt:
						switch {
						case !receiving:
							f.send(&common.MessageMissionAck{TargetSystem: 255, TargetComponent: 190, Type: common.MAV_MISSION_ERROR})
						case m.Seq != want:
							f.send(&common.MessageMissionAck{TargetSystem: 255, TargetComponent: 190, Type: common.MAV_MISSION_INVALID_SEQUENCE})
						default:
							stored[m.Seq] = m
							want++
							if want == 5 {
								receiving = false // and the ACCEPTED is lost
							} else {
								f.send(&common.MessageMissionRequest{TargetSystem: 255, TargetComponent: 190, Seq: want})
							}
						}
					case *common.MessageMissionRequestList:
						f.send(&common.MessageMissionCount{TargetSystem: 255, TargetComponent: 190, Count: 5})
					case *common.MessageMissionRequestInt:
						it := *stored[m.Seq]
						if holds == "something else" && m.Seq == 3 {
							it.X++
						}
						it.TargetSystem, it.TargetComponent = 255, 190
						f.send(&it)
					}
				}
			}
			wantState := mavlink.MissionInSync
			if holds == "something else" {
				wantState = mavlink.MissionUnknown
			}
			if s := missionState(v); s.Status != wantState {
				t.Errorf("mission state %+v", s)
			}
		})
	}
}

// TestSetCurrentFallsBackToTheLegacyMessage: a vehicle that does not know
// MAV_CMD_DO_SET_MISSION_CURRENT gets MISSION_SET_CURRENT, and the change is
// confirmed by MISSION_CURRENT.
func TestSetCurrentFallsBackToTheLegacyMessage(t *testing.T) {
	f, v := newFake(t, common.MAV_AUTOPILOT_GENERIC)
	ctx := ctxFor(t, 20*time.Second)
	errc := make(chan error, 1)
	go func() { errc <- missionxfer.SetCurrent(ctx, v, 4) }()
	c := f.expect("the command", 3*time.Second, func(m message.Message) bool {
		c, ok := m.(*common.MessageCommandLong)
		return ok && c.Command == common.MAV_CMD_DO_SET_MISSION_CURRENT
	}, nil).(*common.MessageCommandLong)
	if c.Param1 != 4 {
		t.Errorf("command param1 %v", c.Param1)
	}
	f.send(&common.MessageCommandAck{Command: common.MAV_CMD_DO_SET_MISSION_CURRENT, Result: common.MAV_RESULT_UNSUPPORTED,
		TargetSystem: 255, TargetComponent: 190})
	sc := f.expect("MISSION_SET_CURRENT", 3*time.Second, func(m message.Message) bool {
		_, ok := m.(*common.MessageMissionSetCurrent)
		return ok
	}, nil).(*common.MessageMissionSetCurrent)
	if sc.Seq != 4 || sc.TargetSystem != 1 {
		t.Errorf("MISSION_SET_CURRENT %+v", sc)
	}
	f.send(&common.MessageMissionCurrent{Seq: 2, Total: 9})
	f.send(&common.MessageMissionCurrent{Seq: 4, Total: 9})
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if s := v.State(); s.MissionSeq != 4 || s.MissionTotal != 9 {
		t.Errorf("state after SetCurrent: seq %d total %d", s.MissionSeq, s.MissionTotal)
	}
}
