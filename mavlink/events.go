package mavlink

import (
	"context"
	"sync"
	"time"
)

// EventKind says what happened.
type EventKind string

// The events a subscriber receives.
const (
	EventVehicleDiscovered  EventKind = "vehicle_discovered"
	EventLinkLost           EventKind = "link_lost"     // no HEARTBEAT from the vehicle on any link for the timeout
	EventLinkRegained       EventKind = "link_regained" // heartbeats are back
	EventArmed              EventKind = "armed"         // Armed tells which way
	EventModeChanged        EventKind = "mode_changed"
	EventStatusText         EventKind = "status_text"
	EventMissionItemReached EventKind = "mission_item_reached"
)

// Event is something that happened to a vehicle. Only the fields of its kind are set.
type Event struct {
	Kind         EventKind   `json:"kind"`
	Network      string      `json:"network"` // the vehicle's MAVLink network; empty for the default one
	SystemID     byte        `json:"system_id"`
	Time         time.Time   `json:"time"`
	Armed        bool        `json:"armed"`
	Mode         string      `json:"mode"`
	PreviousMode string      `json:"previous_mode"`
	Text         *StatusText `json:"text,omitempty"`
	MissionSeq   int         `json:"mission_seq"`
}

// maxQueuedEvents bounds what a subscriber that does not read can cost: past it the oldest events go.
const maxQueuedEvents = 256

// Subscription delivers coalesced state changes and events to one consumer. Publishing never blocks: a
// vehicle that changes a hundred times before the consumer looks is delivered once, with its latest state,
// and events beyond a bounded queue are dropped oldest first and counted.
type Subscription struct {
	manager *Manager
	notify  chan struct{}

	mu            sync.Mutex
	dirty         map[*Vehicle]bool
	dirtyList     []*Vehicle
	events        []Event
	droppedEvents uint64
}

// Update is what Next returns: the vehicles that changed, with their latest state, and the events since
// the last call.
type Update struct {
	States        []State
	Events        []Event
	DroppedEvents uint64 // events dropped because the consumer fell behind, since the last call
}

// Subscribe returns a subscription to every vehicle. Close it when done.
func (m *Manager) Subscribe() *Subscription {
	s := &Subscription{manager: m, notify: make(chan struct{}, 1), dirty: map[*Vehicle]bool{}}
	m.subsMu.Lock()
	m.subs[s] = struct{}{}
	m.subsMu.Unlock()
	return s
}

// Close stops delivery.
func (s *Subscription) Close() {
	s.manager.subsMu.Lock()
	delete(s.manager.subs, s)
	s.manager.subsMu.Unlock()
}

// Ready is signalled when there is something to take with Take.
func (s *Subscription) Ready() <-chan struct{} { return s.notify }

// Take returns what changed since the last call, without waiting.
func (s *Subscription) Take() Update {
	s.mu.Lock()
	vs := s.dirtyList
	s.dirtyList = nil
	clear(s.dirty)
	u := Update{Events: s.events, DroppedEvents: s.droppedEvents}
	s.events, s.droppedEvents = nil, 0
	s.mu.Unlock()
	for _, v := range vs {
		u.States = append(u.States, v.State())
	}
	return u
}

// Next waits for something to change, or for ctx to end, and returns it.
func (s *Subscription) Next(ctx context.Context) (Update, error) {
	select {
	case <-s.notify:
		return s.Take(), nil
	case <-ctx.Done():
		return Update{}, ctx.Err()
	}
}

func (s *Subscription) markDirty(v *Vehicle) {
	s.mu.Lock()
	if !s.dirty[v] {
		s.dirty[v] = true
		s.dirtyList = append(s.dirtyList, v)
	}
	s.mu.Unlock()
	s.signal()
}

func (s *Subscription) push(e Event) {
	s.mu.Lock()
	if len(s.events) >= maxQueuedEvents {
		copy(s.events, s.events[1:])
		s.events = s.events[:len(s.events)-1]
		s.droppedEvents++
	}
	s.events = append(s.events, e)
	s.mu.Unlock()
	s.signal()
}

func (s *Subscription) signal() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}
