package sitl

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/bluenviron/gomavlib/v3"
	"github.com/bluenviron/gomavlib/v3/pkg/dialects/ardupilotmega"
	"github.com/bluenviron/gomavlib/v3/pkg/dialects/common"
	"github.com/bluenviron/gomavlib/v3/pkg/message"
)

// ErrInvalidConfig is returned (wrapped) when a VehicleConfig, FleetConfig or
// ArduPilotConfig is rejected.
var ErrInvalidConfig = errors.New("sitl: invalid config")

// ArduCopter flight mode numbers (custom_mode in HEARTBEAT) that the simulator
// implements. Other ArduCopter modes are answered "No such mode".
const (
	ModeStabilize uint32 = 0
	ModeAltHold   uint32 = 2
	ModeAuto      uint32 = 3
	ModeGuided    uint32 = 4
	ModeLoiter    uint32 = 5
	ModeRTL       uint32 = 6
	ModeLand      uint32 = 9
	ModeBrake     uint32 = 17
)

// FirmwareVersion is the ArduCopter version the simulator claims to be, in
// AUTOPILOT_VERSION.flight_sw_version.
const FirmwareVersion = "4.5.7"

// autopilotCompID is MAV_COMP_ID_AUTOPILOT1.
const autopilotCompID = 1

// ModeName returns the ArduCopter name of a mode number ("GUIDED"), or "" if
// the simulator does not implement it.
func ModeName(mode uint32) string {
	switch mode {
	case ModeStabilize:
		return "STABILIZE"
	case ModeAltHold:
		return "ALT_HOLD"
	case ModeAuto:
		return "AUTO"
	case ModeGuided:
		return "GUIDED"
	case ModeLoiter:
		return "LOITER"
	case ModeRTL:
		return "RTL"
	case ModeLand:
		return "LAND"
	case ModeBrake:
		return "BRAKE"
	}
	return ""
}

// VehicleConfig configures one simulated copter.
type VehicleConfig struct {
	// SystemID is the MAVLink system id, 1..250. Required.
	SystemID byte
	// Endpoint is where the vehicle talks, for example
	// gomavlib.EndpointUDPClient{Address: "127.0.0.1:14550"} or
	// gomavlib.EndpointTCPServer{Address: "127.0.0.1:5760"}. Required.
	Endpoint gomavlib.EndpointConf
	// HomeLatDeg, HomeLonDeg and HomeAltMSLM place the vehicle, landed, at
	// boot. Home is reset to the current position on every arming.
	HomeLatDeg, HomeLonDeg, HomeAltMSLM float64
	// Speedup multiplies simulated time; 0 means 1.
	Speedup float64
	// Seed makes injected randomness (loss, stream phases) reproducible.
	Seed int64
	// Params overrides default parameter values by ArduPilot name. Unknown
	// names are rejected. SYSID_THISMAV, if given, must equal SystemID.
	Params map[string]float32
}

// VehicleState is the simulator's ground truth, for tests.
type VehicleState struct {
	SystemID       byte
	Armed          bool
	ModeNumber     uint32
	ModeName       string
	LatDeg, LonDeg float64
	// AltRelM is the altitude above home; AltMSLM above mean sea level.
	AltRelM, AltMSLM float64
	HeadingDeg       float64
	GroundSpeedMS    float64
	// ClimbMS is the vertical speed, positive up.
	ClimbMS         float64
	BatteryPct      float64
	BatteryVoltV    float64
	BatteryCurrentA float64
	Landed          bool
	GPSFix          bool
	// GCSFailsafe is true while the GCS failsafe is active.
	GCSFailsafe bool
	// Rebooting is true while the vehicle is silent after a reboot command.
	Rebooting                           bool
	HomeLatDeg, HomeLonDeg, HomeAltMSLM float64
	// SimTime is the simulated time since (re)boot.
	SimTime time.Duration
}

// Vehicle is a simulated ArduCopter on its own gomavlib node. Create it with
// NewVehicle and stop it with Close. All methods are safe for concurrent use.
type Vehicle struct {
	sysID   byte
	speedup float64
	node    *gomavlib.Node

	done      chan struct{}
	kick      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once

	// mu guards the simulation: everything from here to link.
	mu       sync.Mutex
	st       simState
	params   paramStore
	tune     tuning
	streams  [numStreams]streamState
	plist    paramListState
	gcs      gcsLink
	cmdCache map[cmdKey]cmdRecord
	phaseRng *rand.Rand
	// streamsReset asks the scheduler to drop SET_MESSAGE_INTERVAL
	// settings after a reboot.
	streamsReset bool
	// handlers get every inbound message before the built-in dispatch. It is
	// the seam for services added later (the mission server registers itself
	// here and in missions).
	handlers []messageHandler
	// missions is the mission server (mission*.go); AUTO and MISSION_START
	// consult it.
	missions missionServer

	// link holds fault injection state and the delayed-send queue; it has its
	// own lock so injecting faults never waits for the simulation.
	link linkFaults

	// evOut is owned by the event goroutine, schedOut and tm by the scheduler
	// goroutine; reusing them avoids per-message allocations.
	evOut    outbox
	schedOut outbox
	tm       telemetryMsgs
}

// source identifies where an inbound message came from.
type source struct {
	sysID, compID byte
	ch            *gomavlib.Channel
}

// messageHandler is the internal seam through which optional services see
// inbound messages. It is called with Vehicle.mu held and reports whether it
// consumed the message.
type messageHandler interface {
	handleMessageLocked(now time.Time, src source, m message.Message, ob *outbox) bool
}

// missionServer is what AUTO flight and the mission commands need from the
// mission protocol implementation (mission*.go; it handles the MISSION_*
// messages through messageHandler). All methods are called with Vehicle.mu
// held.
type missionServer interface {
	messageHandler
	// hasMission reports whether a flyable mission is loaded.
	hasMission() bool
	// startAuto is called on entering AUTO (also via MISSION_START); false
	// refuses the mode change.
	startAuto(v *Vehicle, ob *outbox) bool
	// stepAuto flies the mission for h seconds of simulated time while AUTO
	// is active, steering through the vehicle's navigation helpers.
	stepAuto(v *Vehicle, h float64, ob *outbox)
	// setPaused implements DO_PAUSE_CONTINUE in AUTO.
	setPaused(paused bool) bool
	// fillMissionCurrent fills the MISSION_CURRENT stream.
	fillMissionCurrent(m *common.MessageMissionCurrent)
	// commandLocked carries out the mission's commands (MISSION_START,
	// DO_SET_MISSION_CURRENT); handled is false for any other command.
	commandLocked(v *Vehicle, req commandReq, ob *outbox) (result common.MAV_RESULT, handled bool)
	// tickLocked runs the transfer timers on wall time and checks the fence;
	// it is called after every physics step.
	tickLocked(v *Vehicle, now time.Time, ob *outbox)
	// rebootLocked forgets transfers and execution state; stored items
	// survive a reboot, as they do in ArduPilot's storage.
	rebootLocked()
}

// outMsg is one message to send: to one channel, or to all when ch is nil.
type outMsg struct {
	ch  *gomavlib.Channel
	m   message.Message
	seq byte // MAVLink sequence number, given when the message leaves the autopilot
}

// outbox collects messages while Vehicle.mu is held so they are written to
// the node after it is released.
type outbox struct {
	msgs []outMsg
}

func (o *outbox) all(m message.Message) { o.msgs = append(o.msgs, outMsg{m: m}) }

func (o *outbox) to(ch *gomavlib.Channel, m message.Message) {
	o.msgs = append(o.msgs, outMsg{ch: ch, m: m})
}

func (o *outbox) reset() {
	clear(o.msgs)
	o.msgs = o.msgs[:0]
}

// NewVehicle validates cfg, starts the vehicle's gomavlib node, its event
// reader and its scheduler, and returns the running vehicle.
func NewVehicle(cfg VehicleConfig) (*Vehicle, error) {
	if cfg.Endpoint == nil {
		return nil, fmt.Errorf("%w: Endpoint is required", ErrInvalidConfig)
	}
	v, err := newVehicleCore(cfg)
	if err != nil {
		return nil, err
	}
	v.node = &gomavlib.Node{
		Endpoints:        []gomavlib.EndpointConf{cfg.Endpoint},
		Dialect:          ardupilotmega.Dialect,
		OutVersion:       gomavlib.V2,
		OutSystemID:      cfg.SystemID,
		OutComponentID:   autopilotCompID,
		HeartbeatDisable: true,
		// An autopilot keeps talking to a quiet ground station; the default
		// 60 s idle timeout would drop and re-dial a UDP link every minute.
		IdleTimeout: 24 * time.Hour,
	}
	if err := v.node.Initialize(); err != nil {
		return nil, fmt.Errorf("sitl: vehicle %d: start MAVLink node: %w", cfg.SystemID, err)
	}
	v.wg.Add(2)
	go v.runEvents()
	go v.runScheduler()
	return v, nil
}

// newVehicleCore builds the simulation without any network or goroutine, so
// unit and fuzz tests can drive it directly.
func newVehicleCore(cfg VehicleConfig) (*Vehicle, error) {
	if cfg.SystemID < 1 || cfg.SystemID > 250 {
		return nil, fmt.Errorf("%w: SystemID %d outside 1..250", ErrInvalidConfig, cfg.SystemID)
	}
	if cfg.Speedup == 0 {
		cfg.Speedup = 1
	}
	if cfg.Speedup < 0 || math.IsNaN(cfg.Speedup) || math.IsInf(cfg.Speedup, 0) || cfg.Speedup > 1000 {
		return nil, fmt.Errorf("%w: Speedup %v outside (0, 1000]", ErrInvalidConfig, cfg.Speedup)
	}
	if cfg.HomeLatDeg < -89 || cfg.HomeLatDeg > 89 || cfg.HomeLonDeg < -180 || cfg.HomeLonDeg > 180 ||
		math.IsNaN(cfg.HomeLatDeg) || math.IsNaN(cfg.HomeLonDeg) || math.IsNaN(cfg.HomeAltMSLM) ||
		math.Abs(cfg.HomeAltMSLM) > 10000 {
		return nil, fmt.Errorf("%w: home %v,%v,%v out of range", ErrInvalidConfig,
			cfg.HomeLatDeg, cfg.HomeLonDeg, cfg.HomeAltMSLM)
	}
	v := &Vehicle{
		sysID:    cfg.SystemID,
		speedup:  cfg.Speedup,
		done:     make(chan struct{}),
		kick:     make(chan struct{}, 1),
		cmdCache: make(map[cmdKey]cmdRecord),
		phaseRng: rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(cfg.SystemID)<<8|1)),
	}
	v.params = newParamStore()
	v.params.set("SYSID_THISMAV", float32(cfg.SystemID))
	for name, val := range cfg.Params {
		i, ok := v.params.lookup(name)
		if !ok {
			return nil, fmt.Errorf("%w: unknown parameter %q", ErrInvalidConfig, name)
		}
		if name == "SYSID_THISMAV" && val != float32(cfg.SystemID) {
			return nil, fmt.Errorf("%w: SYSID_THISMAV %v differs from SystemID %d", ErrInvalidConfig, val, cfg.SystemID)
		}
		if math.IsNaN(float64(val)) || math.IsInf(float64(val), 0) {
			return nil, fmt.Errorf("%w: parameter %s is not finite", ErrInvalidConfig, name)
		}
		v.params.setIndex(i, val)
	}
	v.link.init(cfg.Seed, cfg.SystemID)
	v.installMissionServer()
	v.applyParamsLocked()
	v.st.boot(cfg.HomeLatDeg, cfg.HomeLonDeg, cfg.HomeAltMSLM)
	v.initStreamsLocked(time.Now())
	return v, nil
}

// Close stops the node and every goroutine of the vehicle and waits for them.
// It is safe to call more than once.
func (v *Vehicle) Close() {
	v.closeOnce.Do(func() {
		close(v.done)
		if v.node != nil {
			v.node.Close()
		}
		v.wg.Wait()
	})
}

// SystemID returns the vehicle's MAVLink system id.
func (v *Vehicle) SystemID() byte { return v.sysID }

// State returns a snapshot of the simulator's ground truth.
func (v *Vehicle) State() VehicleState {
	v.mu.Lock()
	defer v.mu.Unlock()
	s := &v.st
	return VehicleState{
		SystemID:        v.sysID,
		Armed:           s.armed,
		ModeNumber:      s.mode,
		ModeName:        ModeName(s.mode),
		LatDeg:          s.latDeg,
		LonDeg:          s.lonDeg,
		AltRelM:         s.altRelM,
		AltMSLM:         s.homeAltMSLM + s.altRelM,
		HeadingDeg:      s.headingDeg,
		GroundSpeedMS:   math.Hypot(s.velN, s.velE),
		ClimbMS:         s.velU,
		BatteryPct:      v.batteryPctLocked(),
		BatteryVoltV:    s.battVoltV,
		BatteryCurrentA: s.battCurrentA,
		Landed:          s.landed,
		GPSFix:          s.gpsFix,
		GCSFailsafe:     v.gcs.failsafe,
		Rebooting:       s.rebooting,
		HomeLatDeg:      s.homeLatDeg,
		HomeLonDeg:      s.homeLonDeg,
		HomeAltMSLM:     s.homeAltMSLM,
		SimTime:         time.Duration((s.simTimeS - s.bootTimeS) * float64(time.Second)),
	}
}

// wake asks the scheduler to recompute its next wake-up (after a rate change
// or a queued delayed message). It never blocks.
func (v *Vehicle) wake() {
	select {
	case v.kick <- struct{}{}:
	default:
	}
}

// runEvents is the single reader of the node's events. It ends when the node
// is closed, which closes the event channel.
func (v *Vehicle) runEvents() {
	defer v.wg.Done()
	for evt := range v.node.Events() {
		if fr, ok := evt.(*gomavlib.EventFrame); ok {
			v.handleFrame(fr)
		}
	}
}

func (v *Vehicle) handleFrame(fr *gomavlib.EventFrame) {
	if fr.SystemID() == v.sysID && fr.ComponentID() == autopilotCompID {
		return // our own frame echoed back by a broadcast or a router
	}
	now := time.Now()
	if v.link.dropInbound(now) {
		return
	}
	src := source{sysID: fr.SystemID(), compID: fr.ComponentID(), ch: fr.Channel}
	v.mu.Lock()
	if !v.st.rebooting {
		v.dispatchLocked(now, src, fr.Message(), &v.evOut)
	}
	v.mu.Unlock()
	v.emit(now, &v.evOut)
}

// dispatchLocked routes one inbound message. It is the vehicle's single
// frame-dispatch point: handlers registered in v.handlers see the message
// first, so a mission server can be added without restructuring.
func (v *Vehicle) dispatchLocked(now time.Time, src source, m message.Message, ob *outbox) {
	for _, h := range v.handlers {
		if h.handleMessageLocked(now, src, m, ob) {
			return
		}
	}
	switch msg := m.(type) {
	case *common.MessageHeartbeat:
		v.onHeartbeatLocked(now, src, msg, ob)
	case *common.MessageCommandLong:
		if v.addressedToUs(msg.TargetSystem, msg.TargetComponent) {
			v.onCommandLocked(now, src, commandFromLong(msg), ob)
		}
	case *common.MessageCommandInt:
		if v.addressedToUs(msg.TargetSystem, msg.TargetComponent) {
			v.onCommandLocked(now, src, commandFromInt(msg), ob)
		}
	case *common.MessageSetMode:
		if msg.TargetSystem == v.sysID {
			v.onSetModeMessageLocked(src, msg, ob)
		}
	case *common.MessageParamRequestList:
		if v.addressedToUs(msg.TargetSystem, msg.TargetComponent) {
			v.onParamRequestListLocked(src)
		}
	case *common.MessageParamRequestRead:
		if v.addressedToUs(msg.TargetSystem, msg.TargetComponent) {
			v.onParamRequestReadLocked(src, msg, ob)
		}
	case *common.MessageParamSet:
		if v.addressedToUs(msg.TargetSystem, msg.TargetComponent) {
			v.onParamSetLocked(now, msg, ob)
		}
	case *common.MessageRequestDataStream:
		if v.addressedToUs(msg.TargetSystem, msg.TargetComponent) {
			v.onRequestDataStreamLocked(now, msg)
		}
	case *common.MessageSetPositionTargetGlobalInt:
		if v.addressedToUs(msg.TargetSystem, msg.TargetComponent) {
			v.onSetPositionTargetLocked(msg)
		}
	}
}

// addressedToUs applies MAVLink addressing: 0 is broadcast.
func (v *Vehicle) addressedToUs(sys, comp uint8) bool {
	return (sys == 0 || sys == v.sysID) && (comp == 0 || comp == autopilotCompID)
}

// statusText builds a STATUSTEXT, truncated to the 50 characters the field holds.
func statusText(sev common.MAV_SEVERITY, text string) *common.MessageStatustext {
	if len(text) > 50 {
		text = text[:50]
	}
	return &common.MessageStatustext{Severity: sev, Text: text}
}
