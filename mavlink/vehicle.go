package mavlink

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/bluenviron/gomavlib/v3"
	apm "github.com/bluenviron/gomavlib/v3/pkg/dialects/ardupilotmega"
	"github.com/bluenviron/gomavlib/v3/pkg/message"
)

// Vehicle is one autopilot, keyed by system id, heard on one or more links.
type Vehicle struct {
	m       *Manager
	network string
	id      byte

	mu        sync.Mutex
	comp      byte // the autopilot's component id, from its HEARTBEAT
	state     State
	snap      *State // cached snapshot of state; nil after a change
	links     map[*Link]*vehicleLink
	pending   map[uint16]chan commandAck // in-flight commands, by MAV_CMD
	params    paramCache
	listeners map[*Listener]struct{}
	transfer  string // what holds the exclusive transfer session, "" when free

	streamCancel context.CancelFunc
}

// vehicleLink is what one link knows of one vehicle.
type vehicleLink struct {
	channel       *gomavlib.Channel // where to write to reach the vehicle on this link
	lastHeard     time.Time
	lastHeartbeat time.Time
	received      uint64
	lost          uint64
	lastSeq       map[byte]byte // per component
}

func newVehicle(m *Manager, key vehicleKey, comp byte) *Vehicle {
	return &Vehicle{
		m:       m,
		network: key.network,
		id:      key.sys,
		comp:    comp,
		state: State{Network: key.network, SystemID: key.sys, ComponentID: comp, BatteryPct: -1, MissionSeq: -1, MissionTotal: -1,
			MissionReached: -1, Mission: MissionSync{Status: MissionUnknown}},
		links:   map[*Link]*vehicleLink{},
		pending: map[uint16]chan commandAck{},
		params:  newParamCache(),
	}
}

// SystemID is the vehicle's MAVLink system id.
func (v *Vehicle) SystemID() byte { return v.id }

// Network is the MAVLink network the vehicle is on; empty for the default one.
func (v *Vehicle) Network() string { return v.network }

// State returns the latest snapshot. It never changes after it is returned.
func (v *Vehicle) State() State {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.snap == nil {
		s := v.state
		s.Links = make([]LinkHealth, 0, len(v.links))
		for l, vl := range v.links {
			s.Links = append(s.Links, LinkHealth{Link: l.name, LastHeard: vl.lastHeard, LastHeartbeat: vl.lastHeartbeat,
				Received: vl.received, Lost: vl.lost, Alive: !vl.lastHeartbeat.IsZero() && !s.LinkLost && v.m.clock.Now().Sub(vl.lastHeartbeat) < v.m.conf.HeartbeatTimeout})
		}
		sort.Slice(s.Links, func(i, j int) bool { return s.Links[i].Link < s.Links[j].Link })
		v.snap = &s
	}
	return *v.snap
}

// onFrame is called by a link's reader goroutine.
func (v *Vehicle) onFrame(l *Link, f receivedFrame, now time.Time) {
	v.publish(v.ingest(l, f, now))
}

// ingest applies a frame to the vehicle's link counters and state, hands it to listeners and commands,
// and returns the events it caused for the caller to publish.
func (v *Vehicle) ingest(l *Link, f receivedFrame, now time.Time) []Event {
	msg := f.frame.GetMessage()
	comp := f.frame.GetComponentID()

	v.mu.Lock()
	vl := v.links[l]
	if vl == nil {
		vl = &vehicleLink{lastSeq: map[byte]byte{}}
		v.links[l] = vl
	}
	vl.channel = f.channel
	vl.lastHeard = now
	vl.received++
	seq := f.frame.GetSequenceNumber()
	if last, ok := vl.lastSeq[comp]; ok {
		// A gap counts as loss; a large backwards step is a reboot or reordering, not 200 lost frames.
		if gap := seq - last - 1; gap < 128 {
			vl.lost += uint64(gap)
		}
	}
	vl.lastSeq[comp] = seq
	v.state.LastHeard = now

	for l := range v.listeners {
		l.deliver(msg)
	}
	var events []Event
	switch m := msg.(type) {
	case *apm.MessageCommandAck:
		v.deliverAck(m)
	case *apm.MessageParamValue:
		v.params.onValue(m, v.state.Autopilot)
	case *apm.MessageHeartbeat:
		if uint32(m.Autopilot) == autopilotInvalid || comp != v.comp {
			break // a gimbal, camera or companion on the same system
		}
		vl.lastHeartbeat = now
		events = v.state.applyMessage(msg, now)
	case *apm.MessageStatustext:
		events = v.state.applyMessage(msg, now)
	default:
		if comp == v.comp {
			events = v.state.applyMessage(msg, now)
		}
	}
	v.snap = nil
	v.mu.Unlock()
	return events
}

// publish tells subscribers of the events and of the vehicle's new state.
func (v *Vehicle) publish(events []Event) {
	for _, e := range events {
		e.Network = v.network
		v.m.publishEvent(e)
	}
	v.m.publishState(v)
}

// checkLiveness marks the vehicle lost when no link has carried its HEARTBEAT within the timeout, and
// found again when one does. Called by the manager's watchdog.
func (v *Vehicle) checkLiveness(now time.Time) {
	v.mu.Lock()
	alive := false
	for _, vl := range v.links {
		if !vl.lastHeartbeat.IsZero() && now.Sub(vl.lastHeartbeat) < v.m.conf.HeartbeatTimeout {
			alive = true
		}
	}
	changed := alive == v.state.LinkLost
	if changed {
		v.state.LinkLost = !alive
	}
	v.snap = nil // per-link Alive flags may have changed
	v.mu.Unlock()
	if changed {
		kind := EventLinkLost
		if alive {
			kind = EventLinkRegained
			v.startStreamSetup() // the vehicle may have rebooted and forgotten our rates
		}
		v.m.publishEvent(Event{Kind: kind, Network: v.network, SystemID: v.id, Time: now})
		v.m.publishState(v)
	}
}

// send writes a message to the vehicle over the link that most recently carried its heartbeat.
func (v *Vehicle) send(msg message.Message) error {
	v.mu.Lock()
	var best *Link
	var bestVL *vehicleLink
	for l, vl := range v.links {
		if vl.channel == nil {
			continue
		}
		if bestVL == nil || vl.lastHeartbeat.After(bestVL.lastHeartbeat) {
			best, bestVL = l, vl
		}
	}
	var ch *gomavlib.Channel
	if bestVL != nil {
		ch = bestVL.channel
	}
	v.mu.Unlock()
	if best == nil {
		return fmt.Errorf("vehicle %d: %w", v.id, ErrNoLink)
	}
	if err := best.node.WriteMessageTo(ch, msg); err != nil {
		return err
	}
	v.m.tapSent(vehicleKey{v.network, v.id}, msg)
	return nil
}

// target returns the system and component ids to address the vehicle's autopilot.
func (v *Vehicle) target() (sys, comp uint8) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.id, v.comp
}

// identity returns the autopilot and MAV_TYPE from the last HEARTBEAT.
func (v *Vehicle) identity() (autopilot, mavType uint32) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.state.Autopilot, v.state.MAVType
}
