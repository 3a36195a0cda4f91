package mavlink

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/bluenviron/gomavlib/v3/pkg/dialect"
	apm "github.com/bluenviron/gomavlib/v3/pkg/dialects/ardupilotmega"
	"github.com/bluenviron/gomavlib/v3/pkg/message"

	"github.com/ospreygcs/osprey/internal/clock"
)

// Errors callers branch on.
var (
	ErrNoVehicle   = errors.New("no such vehicle")
	ErrNoLink      = errors.New("no such link")
	ErrLinkExists  = errors.New("a link with that name exists")
	ErrClosed      = errors.New("link manager closed")
	ErrUnknownMode = errors.New("unknown flight mode")
)

// Defaults of Config.
const (
	DefaultSystemID         = 255
	DefaultComponentID      = 190 // MAV_COMP_ID_MISSIONPLANNER, what ground stations use
	DefaultHeartbeatTimeout = 3500 * time.Millisecond
	DefaultCommandTimeout   = time.Second
	DefaultCommandRetries   = 5
)

// Config configures a Manager. Zero values take the defaults.
type Config struct {
	// SystemID is osprey's own MAVLink system id (ArduPilot's SYSID_MYGCS expects 255 by default).
	SystemID    byte
	ComponentID byte
	// HeartbeatTimeout is how long a vehicle may go without HEARTBEAT before its link counts as lost.
	HeartbeatTimeout time.Duration
	// CommandTimeout is how long one attempt of a command waits for COMMAND_ACK; CommandRetries is how many
	// times it is sent again after the first.
	CommandTimeout time.Duration
	CommandRetries int
	// StreamRates are the telemetry rates requested from each vehicle on discovery, in Hz by message id.
	// Nil means DefaultStreamRates; an empty map requests nothing.
	StreamRates map[uint32]float64
	// Clock drives liveness checks and timeouts; nil means the wall clock.
	Clock clock.Clock
}

// Manager owns every link and every vehicle heard on them.
type Manager struct {
	conf      Config
	clock     clock.Clock
	dialectRW *dialect.ReadWriter

	ctx       context.Context // ends when Close is called; owns every goroutine below
	ctxCancel context.CancelFunc
	wg        sync.WaitGroup

	linksMu sync.RWMutex
	links   map[string]*Link
	nextID  int

	vehiclesMu sync.RWMutex
	vehicles   map[vehicleKey]*Vehicle

	subsMu sync.Mutex
	subs   map[*Subscription]struct{}

	tapsMu sync.RWMutex
	taps   []frameTap
}

// NewManager validates conf and starts the liveness watchdog.
func NewManager(conf Config) (*Manager, error) {
	if conf.SystemID == 0 {
		conf.SystemID = DefaultSystemID
	}
	if conf.ComponentID == 0 {
		conf.ComponentID = DefaultComponentID
	}
	if conf.HeartbeatTimeout <= 0 {
		conf.HeartbeatTimeout = DefaultHeartbeatTimeout
	}
	if conf.CommandTimeout <= 0 {
		conf.CommandTimeout = DefaultCommandTimeout
	}
	if conf.CommandRetries < 0 {
		return nil, fmt.Errorf("CommandRetries must not be negative")
	}
	if conf.CommandRetries == 0 {
		conf.CommandRetries = DefaultCommandRetries
	}
	if conf.StreamRates == nil {
		conf.StreamRates = DefaultStreamRates()
	}
	if conf.Clock == nil {
		conf.Clock = clock.Real{}
	}
	rw := &dialect.ReadWriter{Dialect: apm.Dialect}
	if err := rw.Initialize(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{
		conf:      conf,
		clock:     conf.Clock,
		dialectRW: rw,
		ctx:       ctx,
		ctxCancel: cancel,
		links:     map[string]*Link{},
		vehicles:  map[vehicleKey]*Vehicle{},
		subs:      map[*Subscription]struct{}{},
	}
	m.wg.Add(1)
	go m.runWatchdog()
	return m, nil
}

// Close removes every link and stops every goroutine the manager started, waiting for them.
func (m *Manager) Close() {
	m.ctxCancel()
	m.linksMu.Lock()
	links := m.links
	m.links = map[string]*Link{}
	m.linksMu.Unlock()
	for _, l := range links {
		l.close()
	}
	m.wg.Wait()
}

// SystemID is osprey's own system id on the links.
func (m *Manager) SystemID() byte { return m.conf.SystemID }

// vehicleKey identifies a vehicle: its system id within its MAVLink network.
type vehicleKey struct {
	network string
	sys     byte
}

// Vehicle returns the vehicle with a system id on the default network, or ErrNoVehicle.
func (m *Manager) Vehicle(id byte) (*Vehicle, error) { return m.VehicleOn("", id) }

// VehicleOn returns the vehicle with a system id on a network, or ErrNoVehicle.
func (m *Manager) VehicleOn(network string, id byte) (*Vehicle, error) {
	m.vehiclesMu.RLock()
	v := m.vehicles[vehicleKey{network, id}]
	m.vehiclesMu.RUnlock()
	if v == nil {
		if network != "" {
			return nil, fmt.Errorf("%w: system id %d on network %s", ErrNoVehicle, id, network)
		}
		return nil, fmt.Errorf("%w: system id %d", ErrNoVehicle, id)
	}
	return v, nil
}

// Vehicles returns every vehicle heard so far, by network and system id.
func (m *Manager) Vehicles() []*Vehicle {
	m.vehiclesMu.RLock()
	out := make([]*Vehicle, 0, len(m.vehicles))
	for _, v := range m.vehicles {
		out = append(out, v)
	}
	m.vehiclesMu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].network != out[j].network {
			return out[i].network < out[j].network
		}
		return out[i].id < out[j].id
	})
	return out
}

// WaitVehicle waits until the vehicle with system id has been heard, or ctx ends.
func (m *Manager) WaitVehicle(ctx context.Context, id byte) (*Vehicle, error) {
	sub := m.Subscribe()
	defer sub.Close()
	for {
		if v, err := m.Vehicle(id); err == nil {
			return v, nil
		}
		select {
		case <-sub.Ready():
			sub.Take()
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for vehicle %d: %w", id, ctx.Err())
		case <-m.ctx.Done():
			return nil, ErrClosed
		}
	}
}

// handleFrame is called by a link's reader goroutine for every frame it receives.
func (m *Manager) handleFrame(l *Link, f receivedFrame) {
	now := m.clock.Now()
	m.tapsMu.RLock()
	for _, t := range m.taps {
		t.onFrame(l, f.frame)
	}
	m.tapsMu.RUnlock()

	sys := f.frame.GetSystemID()
	if sys == m.conf.SystemID {
		return // our own traffic, echoed by a forwarder or a broadcast link
	}
	msg := f.frame.GetMessage()
	key := vehicleKey{l.network, sys}
	m.vehiclesMu.RLock()
	v := m.vehicles[key]
	m.vehiclesMu.RUnlock()
	if v == nil {
		hb, ok := msg.(*apm.MessageHeartbeat)
		if !ok || uint32(hb.Autopilot) == autopilotInvalid || uint32(hb.Type) == mavTypeGCS {
			return // only an autopilot's heartbeat makes a vehicle; GCS and companions are not vehicles
		}
		m.addVehicle(key, l, f, now)
		return
	}
	v.onFrame(l, f, now)
}

// tapSent shows the taps a message sent to a vehicle.
func (m *Manager) tapSent(to vehicleKey, msg message.Message) {
	m.tapsMu.RLock()
	defer m.tapsMu.RUnlock()
	for _, t := range m.taps {
		t.onSent(to, msg)
	}
}

// addVehicle makes a vehicle from its first heartbeat, f. The heartbeat is in the vehicle's state before
// anyone can find the vehicle: a caller of WaitVehicle must never see a vehicle whose autopilot is not yet
// known, or it would, for one, upload an ArduPilot mission without its home slot.
func (m *Manager) addVehicle(key vehicleKey, l *Link, f receivedFrame, now time.Time) {
	nv := newVehicle(m, key, f.frame.GetComponentID())
	events := nv.ingest(l, f, now)
	m.vehiclesMu.Lock()
	v := m.vehicles[key]
	if v == nil {
		m.vehicles[key] = nv
	}
	m.vehiclesMu.Unlock()
	if v != nil {
		v.onFrame(l, f, now) // another link's heartbeat made the vehicle first
		return
	}
	m.publishEvent(Event{Kind: EventVehicleDiscovered, Network: key.network, SystemID: key.sys, Time: now})
	nv.publish(events)
	nv.startStreamSetup()
}

func (m *Manager) publishState(v *Vehicle) {
	m.subsMu.Lock()
	for s := range m.subs {
		s.markDirty(v)
	}
	m.subsMu.Unlock()
}

func (m *Manager) publishEvent(e Event) {
	m.subsMu.Lock()
	for s := range m.subs {
		s.push(e)
	}
	m.subsMu.Unlock()
}

// watchdogPeriod is how often liveness is checked: well under the 3.5 s timeout, so a lost link shows at once.
const watchdogPeriod = 100 * time.Millisecond

func (m *Manager) runWatchdog() {
	defer m.wg.Done()
	t := m.clock.NewTicker(watchdogPeriod)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case now := <-t.C():
			for _, v := range m.Vehicles() {
				v.checkLiveness(now)
			}
		}
	}
}
