package mavlink

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/bluenviron/gomavlib/v3/pkg/message"

	"github.com/ospreygcs/osprey/internal/clock"
)

// Listener receives the messages of one vehicle that its filter accepts: the seam through which protocols
// built on the link manager (mission transfer) see the wire without reading gomavlib's events themselves.
type Listener struct {
	v       *Vehicle
	accept  func(message.Message) bool
	ch      chan message.Message
	once    sync.Once
	dropped atomic.Uint64
}

// Listen starts delivering the vehicle's messages for which accept returns true, up to buffer of them
// waiting. A listener that falls further behind loses messages (counted), as a radio would: it never
// holds up the link. Close it when done.
func (v *Vehicle) Listen(accept func(message.Message) bool, buffer int) *Listener {
	l := &Listener{v: v, accept: accept, ch: make(chan message.Message, max(buffer, 1))}
	v.mu.Lock()
	if v.listeners == nil {
		v.listeners = map[*Listener]struct{}{}
	}
	v.listeners[l] = struct{}{}
	v.mu.Unlock()
	return l
}

// C delivers the messages.
func (l *Listener) C() <-chan message.Message { return l.ch }

// Dropped counts the messages lost because the listener fell behind.
func (l *Listener) Dropped() uint64 { return l.dropped.Load() }

// Close stops delivery. The channel is not closed, so a reader selects on its own context.
func (l *Listener) Close() {
	l.once.Do(func() {
		l.v.mu.Lock()
		delete(l.v.listeners, l)
		l.v.mu.Unlock()
	})
}

// deliver is called with the vehicle's mutex held.
func (l *Listener) deliver(m message.Message) {
	if !l.accept(m) {
		return
	}
	select {
	case l.ch <- m:
	default:
		l.dropped.Add(1)
	}
}

// SendMessage sends a message to the vehicle over its best link. Delivery is best effort; protocols on top
// retry as their specification says.
func (v *Vehicle) SendMessage(m message.Message) error { return v.send(m) }

// Target returns the system and component id of the vehicle's autopilot, for addressing messages.
func (v *Vehicle) Target() (sys, comp uint8) { return v.target() }

// Clock is the manager's clock, for protocols that time out.
func (v *Vehicle) Clock() clock.Clock { return v.m.clock }

// ErrTransferBusy is returned when another transfer (mission, fence, rally, parameters by file) already
// talks to the vehicle: the protocols allow one at a time.
var ErrTransferBusy = errors.New("another transfer with this vehicle is in progress")

// BeginTransfer claims the vehicle for an exclusive protocol session and returns the release function,
// or ErrTransferBusy.
func (v *Vehicle) BeginTransfer(what string) (release func(), err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.transfer != "" {
		return nil, fmt.Errorf("vehicle %d: %s: %w (%s)", v.id, what, ErrTransferBusy, v.transfer)
	}
	v.transfer = what
	return func() {
		v.mu.Lock()
		v.transfer = ""
		v.mu.Unlock()
	}, nil
}

// SetMissionSync records what osprey knows of the mission stored on the vehicle; transfer code calls
// it, so a failed or interrupted upload shows as unknown rather than as the plan that was meant.
func (v *Vehicle) SetMissionSync(s MissionSync) {
	v.mu.Lock()
	v.state.Mission = s
	v.snap = nil
	v.mu.Unlock()
	v.m.publishState(v)
}
