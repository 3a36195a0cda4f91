package mavlink

import (
	"testing"
	"time"

	apm "github.com/bluenviron/gomavlib/v3/pkg/dialects/ardupilotmega"
	"github.com/bluenviron/gomavlib/v3/pkg/frame"
	"github.com/bluenviron/gomavlib/v3/pkg/message"

	"github.com/ospreygcs/osprey/internal/clock"
)

// TestLinkLostAfterHeartbeatTimeout drives liveness on a fake clock: a vehicle is lost once 3.5 s pass
// without HEARTBEAT, not a moment before, and found again by the next one.
func TestLinkLostAfterHeartbeatTimeout(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	fake := clock.NewFake(t0)
	m, err := NewManager(Config{Clock: fake, StreamRates: map[uint32]float64{}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	l := &Link{manager: m, name: "test"}
	sub := m.Subscribe()
	defer sub.Close()
	hb := &frame.V2Frame{SystemID: 7, ComponentID: 1, Message: &apm.MessageHeartbeat{Type: 2, Autopilot: 3, CustomMode: 4}}
	m.handleFrame(l, receivedFrame{frame: hb})
	v, err := m.Vehicle(7)
	if err != nil {
		t.Fatal(err)
	}
	if s := v.State(); s.Mode != "GUIDED" || s.LinkLost {
		t.Fatalf("after first heartbeat: mode %q lost %v", s.Mode, s.LinkLost)
	}

	v.checkLiveness(t0.Add(3499 * time.Millisecond))
	if v.State().LinkLost {
		t.Fatal("lost before 3.5 s without heartbeat")
	}
	v.checkLiveness(t0.Add(3500 * time.Millisecond))
	if !v.State().LinkLost {
		t.Fatal("not lost after 3.5 s without heartbeat")
	}
	fake.Advance(4 * time.Second)
	m.handleFrame(l, receivedFrame{frame: hb})
	v.checkLiveness(fake.Now())
	if v.State().LinkLost {
		t.Fatal("still lost after a new heartbeat")
	}
	var kinds []EventKind
	for _, e := range sub.Take().Events {
		kinds = append(kinds, e.Kind)
	}
	want := []EventKind{EventVehicleDiscovered, EventLinkLost, EventLinkRegained}
	if len(kinds) != len(want) {
		t.Fatalf("events %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("events %v, want %v", kinds, want)
		}
	}
}

// TestOnlyAutopilotsAreVehicles: a GCS or a companion computer heartbeat makes no vehicle.
func TestOnlyAutopilotsAreVehicles(t *testing.T) {
	m, err := NewManager(Config{StreamRates: map[uint32]float64{}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	l := &Link{manager: m, name: "test"}
	m.handleFrame(l, receivedFrame{frame: &frame.V2Frame{SystemID: 250, ComponentID: 190,
		Message: &apm.MessageHeartbeat{Type: 6, Autopilot: 8}}}) // another ground station
	m.handleFrame(l, receivedFrame{frame: &frame.V2Frame{SystemID: 3, ComponentID: 191,
		Message: &apm.MessageHeartbeat{Type: 18, Autopilot: 8}}}) // onboard controller
	m.handleFrame(l, receivedFrame{frame: &frame.V2Frame{SystemID: 4, ComponentID: 1,
		Message: &apm.MessageGlobalPositionInt{Lat: 1}}}) // telemetry before any heartbeat
	if n := len(m.Vehicles()); n != 0 {
		t.Fatalf("%d vehicles from non-autopilot traffic", n)
	}
	m.handleFrame(l, receivedFrame{frame: &frame.V2Frame{SystemID: 4, ComponentID: 1,
		Message: &apm.MessageHeartbeat{Type: 2, Autopilot: 12, CustomMode: 4<<16 | 4<<24}}})
	v, err := m.Vehicle(4)
	if err != nil {
		t.Fatal(err)
	}
	if s := v.State(); s.Mode != "AUTO.MISSION" || s.Autopilot != AutopilotPX4 {
		t.Fatalf("PX4 vehicle state %+v", s)
	}
	if _, err := m.Vehicle(42); err == nil {
		t.Fatal("unknown vehicle found")
	}
}

func TestSequenceGapsCountAsLoss(t *testing.T) {
	m, err := NewManager(Config{StreamRates: map[uint32]float64{}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	l := &Link{manager: m, name: "radio"}
	send := func(seq byte) {
		m.handleFrame(l, receivedFrame{frame: &frame.V2Frame{SystemID: 1, ComponentID: 1, SequenceNumber: seq,
			Message: &apm.MessageHeartbeat{Type: 2, Autopilot: 3}}})
	}
	for _, seq := range []byte{250, 251, 255, 0, 3, 2} { // 3 lost before 255, 2 before 3; 2 is reordered
		send(seq)
	}
	v, _ := m.Vehicle(1)
	h := v.State().Links[0]
	if h.Received != 6 || h.Lost != 5 {
		t.Fatalf("received %d lost %d, want 6 and 5", h.Received, h.Lost)
	}
}

// TestNetworksKeepSeparateIDSpaces: system id 1 on two networks is two vehicles; on two links of one
// network it is one.
func TestNetworksKeepSeparateIDSpaces(t *testing.T) {
	m, err := NewManager(Config{StreamRates: map[uint32]float64{}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	hb := receivedFrame{frame: &frame.V2Frame{SystemID: 1, ComponentID: 1, Message: &apm.MessageHeartbeat{Type: 2, Autopilot: 3}}}
	for _, l := range []*Link{{manager: m, name: "a"}, {manager: m, name: "b"}, {manager: m, name: "c", network: "east"}} {
		m.handleFrame(l, hb)
	}
	vs := m.Vehicles()
	if len(vs) != 2 || vs[0].Network() != "" || vs[1].Network() != "east" {
		t.Fatalf("%d vehicles", len(vs))
	}
	if links := vs[0].State().Links; len(links) != 2 {
		t.Fatalf("default-network vehicle heard on %d links, want 2", len(links))
	}
	if _, err := m.VehicleOn("east", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := m.VehicleOn("west", 1); err == nil {
		t.Fatal("vehicle found on a network never heard")
	}
}

func TestListenerSeesFilteredMessagesAndNeverBlocks(t *testing.T) {
	m, err := NewManager(Config{StreamRates: map[uint32]float64{}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	l := &Link{manager: m, name: "test"}
	m.handleFrame(l, receivedFrame{frame: &frame.V2Frame{SystemID: 1, ComponentID: 1, Message: &apm.MessageHeartbeat{Type: 2, Autopilot: 3}}})
	v, _ := m.Vehicle(1)
	lis := v.Listen(func(msg message.Message) bool { _, ok := msg.(*apm.MessageMissionRequestInt); return ok }, 2)
	defer lis.Close()
	for seq := range 5 {
		m.handleFrame(l, receivedFrame{frame: &frame.V2Frame{SystemID: 1, ComponentID: 1, Message: &apm.MessageMissionRequestInt{Seq: uint16(seq)}}})
		m.handleFrame(l, receivedFrame{frame: &frame.V2Frame{SystemID: 1, ComponentID: 1, Message: &apm.MessageAttitude{}}})
	}
	for want := range 2 {
		got := (<-lis.C()).(*apm.MessageMissionRequestInt)
		if int(got.Seq) != want {
			t.Fatalf("got seq %d, want %d", got.Seq, want)
		}
	}
	if lis.Dropped() != 3 {
		t.Fatalf("dropped %d, want 3", lis.Dropped())
	}
	lis.Close()
	m.handleFrame(l, receivedFrame{frame: &frame.V2Frame{SystemID: 1, ComponentID: 1, Message: &apm.MessageMissionRequestInt{Seq: 9}}})
	select {
	case <-lis.C():
		t.Fatal("closed listener still delivered")
	default:
	}
}

// TestSlowSubscriberNeverBlocksTheLink: a subscriber that never reads costs a bounded queue, gets the
// latest state once, and learns how many events it missed.
func TestSlowSubscriberNeverBlocksTheLink(t *testing.T) {
	m, err := NewManager(Config{StreamRates: map[uint32]float64{}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	l := &Link{manager: m, name: "test"}
	sleeper := m.Subscribe() // never reads until the end
	defer sleeper.Close()
	m.handleFrame(l, receivedFrame{frame: &frame.V2Frame{SystemID: 1, ComponentID: 1, Message: &apm.MessageHeartbeat{Type: 2, Autopilot: 3}}})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 5000 {
			m.handleFrame(l, receivedFrame{frame: &frame.V2Frame{SystemID: 1, ComponentID: 1, SequenceNumber: byte(i),
				Message: &apm.MessageGlobalPositionInt{Lat: int32(i), RelativeAlt: int32(i)}}})
			if i%10 == 0 {
				m.handleFrame(l, receivedFrame{frame: &frame.V2Frame{SystemID: 1, ComponentID: 1, Message: &apm.MessageStatustext{Severity: 6, Text: "tick"}}})
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the link blocked on a subscriber that does not read")
	}
	u := sleeper.Take()
	if len(u.States) != 1 || u.States[0].LatDeg != 4999/1e7 {
		t.Fatalf("coalesced update: %d states, lat %v; want one state with the latest position", len(u.States), u.States)
	}
	if len(u.Events) > maxQueuedEvents || u.DroppedEvents == 0 {
		t.Fatalf("%d events queued, %d dropped: the queue is not bounded", len(u.Events), u.DroppedEvents)
	}
	if got := uint64(len(u.Events)) + u.DroppedEvents; got != 1+500 {
		t.Fatalf("%d events kept or counted, want 501 (discovery + 500 texts)", got)
	}
}

// TestVehicleFoundWithItsHeartbeat: a vehicle can be found only once its first heartbeat is in its state.
// A caller that found one with the autopilot still unknown uploaded a mission without ArduPilot's home
// slot, and the vehicle refused to start it ("Auto: Missing Takeoff Cmd").
func TestVehicleFoundWithItsHeartbeat(t *testing.T) {
	m, err := NewManager(Config{StreamRates: map[uint32]float64{}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	l := &Link{manager: m, name: "test"}
	const vehicles = 250
	next := make(chan byte)
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		for id := range next {
			m.handleFrame(l, receivedFrame{frame: &frame.V2Frame{SystemID: id, ComponentID: 1,
				Message: &apm.MessageHeartbeat{Type: 2, Autopilot: 3, CustomMode: 4}}})
		}
	}()
	defer func() { close(next); <-fed }()
	deadline := time.Now().Add(30 * time.Second)
	for id := range byte(vehicles) {
		next <- id + 1
		// Look as often as possible while the heartbeat is being handled, as a command line tool that
		// started before its vehicle was heard does.
		var v *Vehicle
		for v == nil && time.Now().Before(deadline) {
			v, _ = m.Vehicle(id + 1)
		}
		if v == nil {
			t.Fatalf("vehicle %d never found", id+1)
		}
		if s := v.State(); s.Autopilot != 3 || s.Mode != "GUIDED" {
			t.Fatalf("vehicle %d found with autopilot %d, mode %q: its heartbeat is not in its state yet", id+1, s.Autopilot, s.Mode)
		}
	}
}
