package sitl

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gomavlib/v3"
	"github.com/bluenviron/gomavlib/v3/pkg/dialects/ardupilotmega"
	"github.com/bluenviron/gomavlib/v3/pkg/dialects/common"
	"github.com/bluenviron/gomavlib/v3/pkg/message"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const gcsSysID = 255

// rx is one frame received by the test ground station.
type rx struct {
	at   time.Time
	sys  byte
	comp byte
	m    message.Message
}

// testGCS is a plain gomavlib node acting as a ground station. It records
// every frame it receives so tests can wait for and count messages.
type testGCS struct {
	t      *testing.T
	node   *gomavlib.Node
	mu     sync.Mutex
	frames []rx
	notify chan struct{}
	wg     sync.WaitGroup

	hbMu   sync.Mutex
	hbStop chan struct{}
}

func newTestGCS(t *testing.T, ep gomavlib.EndpointConf) *testGCS {
	t.Helper()
	g := &testGCS{t: t, notify: make(chan struct{}, 1)}
	g.node = &gomavlib.Node{
		Endpoints:        []gomavlib.EndpointConf{ep},
		Dialect:          ardupilotmega.Dialect,
		OutVersion:       gomavlib.V2,
		OutSystemID:      gcsSysID,
		OutComponentID:   190,
		HeartbeatDisable: true,
	}
	if err := g.node.Initialize(); err != nil {
		t.Fatalf("GCS node: %v", err)
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		for evt := range g.node.Events() {
			fr, ok := evt.(*gomavlib.EventFrame)
			if !ok {
				continue
			}
			g.mu.Lock()
			g.frames = append(g.frames, rx{at: time.Now(), sys: fr.SystemID(), comp: fr.ComponentID(), m: fr.Message()})
			g.mu.Unlock()
			select {
			case g.notify <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(g.close)
	return g
}

func (g *testGCS) close() {
	g.stopHeartbeats()
	g.node.Close()
	g.wg.Wait()
}

// mark returns a cursor: waits and counts from it see only later frames.
func (g *testGCS) mark() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.frames)
}

// waitFor returns the first frame at or after cursor from that satisfies
// pred, waiting up to timeout.
func (g *testGCS) waitFor(from int, timeout time.Duration, pred func(rx) bool) (rx, bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		g.mu.Lock()
		frames := g.frames[from:]
		g.mu.Unlock()
		for _, f := range frames {
			if pred(f) {
				return f, true
			}
		}
		from += len(frames)
		select {
		case <-g.notify:
		case <-deadline.C:
			return rx{}, false
		}
	}
}

// frames returns a copy of the frames from cursor from.
func (g *testGCS) since(from int) []rx {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]rx(nil), g.frames[from:]...)
}

func (g *testGCS) send(m message.Message) {
	if err := g.node.WriteMessageAll(m); err != nil {
		g.t.Fatalf("send %T: %v", m, err)
	}
}

// startHeartbeats sends GCS heartbeats every period until stopHeartbeats.
func (g *testGCS) startHeartbeats(period time.Duration) {
	g.hbMu.Lock()
	defer g.hbMu.Unlock()
	if g.hbStop != nil {
		return
	}
	stop := make(chan struct{})
	g.hbStop = stop
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		tk := time.NewTicker(period)
		defer tk.Stop()
		for {
			_ = g.node.WriteMessageAll(&common.MessageHeartbeat{
				Type:           common.MAV_TYPE_GCS,
				Autopilot:      common.MAV_AUTOPILOT_INVALID,
				SystemStatus:   common.MAV_STATE_ACTIVE,
				MavlinkVersion: 3,
			})
			select {
			case <-stop:
				return
			case <-tk.C:
			}
		}
	}()
}

func (g *testGCS) stopHeartbeats() {
	g.hbMu.Lock()
	defer g.hbMu.Unlock()
	if g.hbStop != nil {
		close(g.hbStop)
		g.hbStop = nil
	}
}

func isMsg[T message.Message](sys byte) func(rx) bool {
	return func(f rx) bool {
		_, ok := f.m.(T)
		return ok && f.sys == sys
	}
}

// waitHeartbeat waits for a heartbeat from sys, which also proves the
// channel to it is open for sending.
func (g *testGCS) waitHeartbeat(sys byte, timeout time.Duration) *common.MessageHeartbeat {
	g.t.Helper()
	f, ok := g.waitFor(0, timeout, isMsg[*common.MessageHeartbeat](sys))
	if !ok {
		g.t.Fatalf("no HEARTBEAT from system %d within %v", sys, timeout)
	}
	return f.m.(*common.MessageHeartbeat)
}

const ackTimeout = 2 * time.Second

// command sends a COMMAND_LONG to sys and returns the ACK result.
func (g *testGCS) command(sys byte, cmd common.MAV_CMD, conf uint8, p ...float32) common.MAV_RESULT {
	g.t.Helper()
	var ps [7]float32
	copy(ps[:], p)
	from := g.mark()
	g.send(&common.MessageCommandLong{
		TargetSystem: sys, TargetComponent: 1, Command: cmd, Confirmation: conf,
		Param1: ps[0], Param2: ps[1], Param3: ps[2], Param4: ps[3], Param5: ps[4], Param6: ps[5], Param7: ps[6],
	})
	return g.waitAck(from, sys, cmd)
}

// commandInt sends a COMMAND_INT to sys and returns the ACK result.
func (g *testGCS) commandInt(sys byte, m *common.MessageCommandInt) common.MAV_RESULT {
	g.t.Helper()
	m.TargetSystem, m.TargetComponent = sys, 1
	from := g.mark()
	g.send(m)
	return g.waitAck(from, sys, m.Command)
}

func (g *testGCS) waitAck(from int, sys byte, cmd common.MAV_CMD) common.MAV_RESULT {
	g.t.Helper()
	f, ok := g.waitFor(from, ackTimeout, func(f rx) bool {
		a, ok := f.m.(*common.MessageCommandAck)
		return ok && f.sys == sys && a.Command == cmd
	})
	if !ok {
		g.t.Fatalf("no COMMAND_ACK for %v from system %d", cmd, sys)
	}
	a := f.m.(*common.MessageCommandAck)
	if a.TargetSystem != gcsSysID || a.TargetComponent != 190 {
		g.t.Errorf("ACK for %v addressed to %d/%d, want %d/190", cmd, a.TargetSystem, a.TargetComponent, gcsSysID)
	}
	return a.Result
}

func (g *testGCS) mustCommand(sys byte, cmd common.MAV_CMD, p ...float32) {
	g.t.Helper()
	if r := g.command(sys, cmd, 0, p...); r != common.MAV_RESULT_ACCEPTED {
		g.t.Fatalf("%v: result %v, want ACCEPTED", cmd, r)
	}
}

// waitText waits for a STATUSTEXT from sys containing substr.
func (g *testGCS) waitText(from int, sys byte, substr string, timeout time.Duration) (*common.MessageStatustext, bool) {
	f, ok := g.waitFor(from, timeout, func(f rx) bool {
		st, ok := f.m.(*common.MessageStatustext)
		return ok && f.sys == sys && strings.Contains(st.Text, substr)
	})
	if !ok {
		return nil, false
	}
	return f.m.(*common.MessageStatustext), true
}

// fastHeartbeats raises the vehicle's HEARTBEAT to 20 Hz (as ArduPilot
// allows through SET_MESSAGE_INTERVAL) so tests confirm state changes quickly.
func (g *testGCS) fastHeartbeats(sys byte) {
	g.t.Helper()
	g.mustCommand(sys, common.MAV_CMD_SET_MESSAGE_INTERVAL, 0, 50000)
}

// waitMode waits for a heartbeat from sys reporting mode.
func (g *testGCS) waitMode(from int, sys byte, mode uint32, timeout time.Duration) bool {
	_, ok := g.waitFor(from, timeout, func(f rx) bool {
		hb, ok := f.m.(*common.MessageHeartbeat)
		return ok && f.sys == sys && hb.CustomMode == mode
	})
	return ok
}

// countIn counts frames from sys with message id in [start, end).
func countIn(frames []rx, sys byte, id uint32, start, end time.Time) int {
	n := 0
	for _, f := range frames {
		if f.sys == sys && f.m.GetID() == id && !f.at.Before(start) && f.at.Before(end) {
			n++
		}
	}
	return n
}

// tcpVehicle starts a vehicle as a TCP server on a kernel-chosen loopback
// port and a test GCS connected to it, and waits for its first heartbeat.
func tcpVehicle(t *testing.T, cfg VehicleConfig) (*Vehicle, *testGCS) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Endpoint = gomavlib.EndpointCustomServer{
		Listen: func() (net.Listener, error) { return ln, nil },
		Label:  "tcp",
	}
	if cfg.SystemID == 0 {
		cfg.SystemID = 1
	}
	if cfg.HomeLatDeg == 0 {
		cfg.HomeLatDeg, cfg.HomeLonDeg, cfg.HomeAltMSLM = -35.3632621, 149.1652374, 584
	}
	v, err := NewVehicle(cfg)
	if err != nil {
		ln.Close()
		t.Fatalf("NewVehicle: %v", err)
	}
	t.Cleanup(v.Close)
	g := newTestGCS(t, gomavlib.EndpointTCPClient{Address: ln.Addr().String()})
	g.waitHeartbeat(cfg.SystemID, 5*time.Second)
	return v, g
}

// freeUDPAddr returns a loopback UDP address that was free a moment ago.
func freeUDPAddr(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

// waitState polls the vehicle's ground truth until pred holds.
func waitState(t *testing.T, v *Vehicle, timeout time.Duration, what string, pred func(VehicleState) bool) VehicleState {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := v.State()
		if pred(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; state %+v", what, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
