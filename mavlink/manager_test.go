package mavlink_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gomavlib/v3"
	apm "github.com/bluenviron/gomavlib/v3/pkg/dialects/ardupilotmega"

	"github.com/ospreygcs/osprey/mavlink"
	"github.com/ospreygcs/osprey/sitl"
)

func newVehicle(t *testing.T, conf sitl.VehicleConfig) *sitl.Vehicle {
	t.Helper()
	if conf.HomeLatDeg == 0 {
		conf.HomeLatDeg, conf.HomeLonDeg, conf.HomeAltMSLM = homeLat, homeLon, homeAlt
	}
	v, err := sitl.NewVehicle(conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

func waitState(t *testing.T, ctx context.Context, v *mavlink.Vehicle, what string, pred func(mavlink.State) bool) mavlink.State {
	t.Helper()
	s, err := v.WaitState(ctx, pred)
	if err != nil {
		t.Fatalf("waiting for %s: %v; state: mode %s armed %v alt %.1f lat %.6f lon %.6f", what, err, s.Mode, s.Armed, s.AltRelM, s.LatDeg, s.LonDeg)
	}
	return s
}

// distanceM is a flat-earth distance, good for the few hundred metres of these tests.
func distanceM(lat1, lon1, lat2, lon2 float64) float64 {
	const mPerDeg = 111_319.5
	dx := (lon2 - lon1) * mPerDeg * math.Cos(lat1*math.Pi/180)
	dy := (lat2 - lat1) * mPerDeg
	return math.Hypot(dx, dy)
}

func TestThreeVehiclesOnOneUDPLink(t *testing.T) {
	port := freeUDPPort(t)
	m := newManager(t, mavlink.Config{})
	addLink(t, m, mavlink.LinkConfig{URL: "udps:127.0.0.1:" + port})
	fleet, err := sitl.NewFleet(sitl.FleetConfig{Count: 3, FirstSystemID: 1, HomeLatDeg: homeLat, HomeLonDeg: homeLon, HomeAltMSLM: homeAlt,
		Endpoint: func(int) gomavlib.EndpointConf { return gomavlib.EndpointUDPClient{Address: "127.0.0.1:" + port} }})
	if err != nil {
		t.Fatal(err)
	}
	defer fleet.Close()

	ctx := ctxFor(t, 20*time.Second)
	positions := map[[2]float64]bool{}
	for id := byte(1); id <= 3; id++ {
		v, err := m.WaitVehicle(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		s := waitState(t, ctx, v, "a position", func(s mavlink.State) bool { return s.HasPosition && s.GPSFix >= 3 })
		if s.Autopilot != mavlink.AutopilotArduPilot || s.Mode != "STABILIZE" || s.Armed {
			t.Errorf("vehicle %d: autopilot %d mode %s armed %v", id, s.Autopilot, s.Mode, s.Armed)
		}
		if d := distanceM(s.LatDeg, s.LonDeg, homeLat, homeLon); d > 500 {
			t.Errorf("vehicle %d is %.0f m from home", id, d)
		}
		positions[[2]float64{s.LatDeg, s.LonDeg}] = true
	}
	if len(positions) != 3 {
		t.Errorf("3 vehicles share positions: %v", positions)
	}
	if n := len(m.Vehicles()); n != 3 {
		t.Fatalf("%d vehicles, want 3", n)
	}
}

// fly runs the whole guided sequence pilots use, checking the state follows each command.
func TestGuidedFlight(t *testing.T) {
	port := freeUDPPort(t)
	m := newManager(t, mavlink.Config{})
	addLink(t, m, mavlink.LinkConfig{URL: "udps:127.0.0.1:" + port})
	newVehicle(t, sitl.VehicleConfig{SystemID: 1, Speedup: 5, Endpoint: gomavlib.EndpointUDPClient{Address: "127.0.0.1:" + port}})
	ctx := ctxFor(t, 60*time.Second)
	v, err := m.WaitVehicle(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, ctx, v, "GPS fix", func(s mavlink.State) bool { return s.GPSFix >= 3 && s.HasPosition })

	if err := v.SetMode(ctx, "GUIDED"); err != nil {
		t.Fatal(err)
	}
	if err := v.Arm(ctx); err != nil {
		t.Fatal(err)
	}
	if err := v.Takeoff(ctx, 20); err != nil {
		t.Fatal(err)
	}
	waitState(t, ctx, v, "20 m", func(s mavlink.State) bool { return s.AltRelM > 19 })

	targetLat, targetLon := homeLat+0.0009, homeLon+0.0009 // about 100 m north and 80 m east
	if err := v.Goto(ctx, targetLat, targetLon, 30); err != nil {
		t.Fatal(err)
	}
	waitState(t, ctx, v, "the goto target", func(s mavlink.State) bool {
		return distanceM(s.LatDeg, s.LonDeg, targetLat, targetLon) < 3 && math.Abs(s.AltRelM-30) < 1.5
	})

	if err := v.RTL(ctx); err != nil {
		t.Fatal(err)
	}
	waitState(t, ctx, v, "RTL mode", func(s mavlink.State) bool { return s.Mode == "RTL" })
	s := waitState(t, ctx, v, "landed and disarmed at home", func(s mavlink.State) bool { return !s.Armed && s.AltRelM < 0.5 })
	if d := distanceM(s.LatDeg, s.LonDeg, homeLat, homeLon); d > 5 {
		t.Fatalf("landed %.1f m from home", d)
	}
}

func TestLandAndDisarm(t *testing.T) {
	port := freeUDPPort(t)
	m := newManager(t, mavlink.Config{})
	addLink(t, m, mavlink.LinkConfig{URL: "udps:127.0.0.1:" + port})
	newVehicle(t, sitl.VehicleConfig{SystemID: 2, Speedup: 5, Endpoint: gomavlib.EndpointUDPClient{Address: "127.0.0.1:" + port}})
	ctx := ctxFor(t, 45*time.Second)
	v, err := m.WaitVehicle(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, ctx, v, "GPS fix", func(s mavlink.State) bool { return s.GPSFix >= 3 })
	for _, step := range []func() error{
		func() error { return v.SetMode(ctx, "guided") },
		v2(v.Arm, ctx),
		func() error { return v.Takeoff(ctx, 10) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	waitState(t, ctx, v, "10 m", func(s mavlink.State) bool { return s.AltRelM > 9 })
	if err := v.Land(ctx); err != nil {
		t.Fatal(err)
	}
	waitState(t, ctx, v, "LAND then disarmed on the ground", func(s mavlink.State) bool { return s.Mode == "LAND" && !s.Armed && s.AltRelM < 0.5 })
	if err := v.Arm(ctx); err == nil {
		t.Fatal("armed in LAND")
	}
	if err := v.Disarm(ctx, false); err != nil {
		t.Fatalf("disarming a disarmed vehicle: %v", err)
	}
}

func v2(f func(context.Context) error, ctx context.Context) func() error {
	return func() error { return f(ctx) }
}

func TestDenials(t *testing.T) {
	port := freeUDPPort(t)
	m := newManager(t, mavlink.Config{})
	addLink(t, m, mavlink.LinkConfig{URL: "udps:127.0.0.1:" + port})
	sim := newVehicle(t, sitl.VehicleConfig{SystemID: 1, Endpoint: gomavlib.EndpointUDPClient{Address: "127.0.0.1:" + port}})
	sim.SetGPS(false)
	ctx := ctxFor(t, 30*time.Second)
	v, err := m.WaitVehicle(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.SetMode(ctx, "GUIDED"); err != nil {
		t.Fatal(err)
	}

	err = v.Arm(ctx)
	var ce *mavlink.CommandError
	if !errors.As(err, &ce) || !(errors.Is(err, mavlink.ErrFailed) || errors.Is(err, mavlink.ErrDenied)) {
		t.Fatalf("arming without GPS: %v, want a refusal", err)
	}
	if !strings.Contains(ce.StatusText, "PreArm") {
		t.Errorf("refusal %q does not carry the vehicle's PreArm reason", err)
	}
	if v.State().Armed {
		t.Fatal("armed without GPS")
	}

	err = v.Takeoff(ctx, 10)
	if !errors.Is(err, mavlink.ErrFailed) && !errors.Is(err, mavlink.ErrDenied) {
		t.Fatalf("takeoff while disarmed: %v, want a refusal", err)
	}
	if err := v.SetMode(ctx, "WARP"); !errors.Is(err, mavlink.ErrUnknownMode) {
		t.Fatalf("unknown mode: %v", err)
	}
	if _, err := m.Vehicle(99); !errors.Is(err, mavlink.ErrNoVehicle) {
		t.Fatalf("unknown vehicle: %v", err)
	}
}

func TestLinkLossAndRecovery(t *testing.T) {
	port := freeUDPPort(t)
	m := newManager(t, mavlink.Config{})
	addLink(t, m, mavlink.LinkConfig{URL: "udps:127.0.0.1:" + port})
	sim := newVehicle(t, sitl.VehicleConfig{SystemID: 1, Endpoint: gomavlib.EndpointUDPClient{Address: "127.0.0.1:" + port}})
	ctx := ctxFor(t, 30*time.Second)
	v, err := m.WaitVehicle(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	sub := m.Subscribe()
	defer sub.Close()
	waitState(t, ctx, v, "heartbeats", func(s mavlink.State) bool { return !s.LastHeartbeat.IsZero() })

	silentFrom := time.Now()
	sim.Outage(6 * time.Second)
	lost := waitEvent(t, ctx, sub, mavlink.EventLinkLost)
	if !v.State().LinkLost {
		t.Fatal("event fired but state does not say lost")
	}
	t.Logf("link loss shown %v after the vehicle went silent", lost.Sub(silentFrom).Round(time.Millisecond))
	regained := waitEvent(t, ctx, sub, mavlink.EventLinkRegained)
	if v.State().LinkLost {
		t.Fatal("regained event fired but state says lost")
	}
	t.Logf("recovery shown %v after the outage began", regained.Sub(silentFrom).Round(time.Millisecond))
}

func waitEvent(t *testing.T, ctx context.Context, sub *mavlink.Subscription, kind mavlink.EventKind) time.Time {
	t.Helper()
	for {
		u, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", kind, err)
		}
		for _, e := range u.Events {
			if e.Kind == kind {
				return time.Now()
			}
		}
	}
}

// TestLossyLink: commands and a full parameter download succeed with 20 % of frames lost both ways.
func TestLossyLink(t *testing.T) {
	port := freeUDPPort(t)
	m := newManager(t, mavlink.Config{CommandTimeout: 300 * time.Millisecond, CommandRetries: 15})
	addLink(t, m, mavlink.LinkConfig{URL: "udps:127.0.0.1:" + port})
	// Real time: at a speed-up, ArduCopter's 10 s auto-disarm after arming would be too short for a radio
	// this bad.
	sim := newVehicle(t, sitl.VehicleConfig{SystemID: 1, Seed: 7, Endpoint: gomavlib.EndpointUDPClient{Address: "127.0.0.1:" + port}})
	ctx := ctxFor(t, 90*time.Second)
	v, err := m.WaitVehicle(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, ctx, v, "GPS fix", func(s mavlink.State) bool { return s.GPSFix >= 3 })
	sim.SetLoss(0.2, 0.2)

	params, err := v.DownloadParams(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(params) < 20 {
		t.Fatalf("only %d parameters", len(params))
	}
	for i, p := range params {
		if p.Index != i {
			t.Fatalf("parameter %d has index %d: the download has a hole", i, p.Index)
		}
	}
	if err := v.SetMode(ctx, "GUIDED"); err != nil {
		t.Fatal(err)
	}
	if err := v.Arm(ctx); err != nil {
		t.Fatal(err)
	}
	if err := v.Takeoff(ctx, 5); err != nil {
		t.Fatal(err)
	}
	if _, err := v.SetParam(ctx, "WPNAV_SPEED", 750); err != nil {
		t.Fatal(err)
	}
	if p, err := v.GetParam(ctx, "WPNAV_SPEED"); err != nil || p.Value != 750 {
		t.Fatalf("WPNAV_SPEED read back %v, %v", p.Value, err)
	}
	waitState(t, ctx, v, "5 m", func(s mavlink.State) bool { return s.AltRelM > 4.5 })
	lost := v.State().Links[0]
	if lost.LossPct() < 5 {
		t.Errorf("link shows %.1f%% loss under 20%% injected loss", lost.LossPct())
	}
	t.Logf("%d parameters downloaded; link loss seen %.1f%%", len(params), lost.LossPct())
}

func TestTlogRecordAndReplay(t *testing.T) {
	port := freeUDPPort(t)
	m := newManager(t, mavlink.Config{})
	addLink(t, m, mavlink.LinkConfig{URL: "udps:127.0.0.1:" + port})
	var tlog bytes.Buffer
	rec, err := m.Record(&tlog)
	if err != nil {
		t.Fatal(err)
	}
	newVehicle(t, sitl.VehicleConfig{SystemID: 3, Endpoint: gomavlib.EndpointUDPClient{Address: "127.0.0.1:" + port}})
	ctx := ctxFor(t, 30*time.Second)
	v, err := m.WaitVehicle(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.SetMode(ctx, "GUIDED"); err != nil {
		t.Fatal(err)
	}
	live := waitState(t, ctx, v, "a position and two heartbeats", func(s mavlink.State) bool {
		return s.HasPosition && s.Links[0].Received > 20
	})
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	written, dropped := rec.Stats()
	if written < 20 || dropped != 0 {
		t.Fatalf("recorded %d frames, dropped %d", written, dropped)
	}

	// A vehicle's own log holds its frames only.
	var own bytes.Buffer
	ownRec, err := m.RecordVehicle(&own, "", 3)
	if err != nil {
		t.Fatal(err)
	}
	otherRec, err := m.RecordVehicle(io.Discard, "", 4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.GetParam(ctx, "RTL_ALT"); err != nil {
		t.Fatal(err)
	}
	waitState(t, ctx, v, "more telemetry", func(s mavlink.State) bool { return s.Links[0].Received > live.Links[0].Received+10 })
	_ = ownRec.Close()
	_ = otherRec.Close()
	if n, _ := ownRec.Stats(); n < 10 {
		t.Fatalf("vehicle 3's own log has %d frames", n)
	}
	// What osprey sent is in the logs too, as osprey (255/190) sent it: the mode change (COMMAND_LONG
	// DO_SET_MODE, or SET_MODE) in the log of everything, the parameter request in the vehicle's own.
	if sent := sentMessages(t, tlog.Bytes()); sent[76]+sent[11] == 0 {
		t.Fatalf("no mode change among what the log shows osprey sent: %v", sent)
	}
	if sent := sentMessages(t, own.Bytes()); sent[20] != 1 {
		t.Fatalf("vehicle 3's log shows %d PARAM_REQUEST_READ sent, want 1 (all sent: %v)", sent[20], sent)
	}
	if n, _ := otherRec.Stats(); n != 0 {
		t.Fatalf("vehicle 4's log has %d frames, but there is no vehicle 4", n)
	}

	// The tlog parses entry by entry with increasing timestamps.
	r := mavlink.NewTlogReader(bytes.NewReader(tlog.Bytes()))
	var last time.Time
	var n int
	for {
		e, err := r.Next()
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("entry %d: %v", n, err)
			}
			break
		}
		if e.Time.Before(last) {
			t.Fatalf("entry %d goes back in time", n)
		}
		last = e.Time
		n++
	}
	if uint64(n) != written {
		t.Fatalf("tlog has %d entries, recorder wrote %d", n, written)
	}

	// Replayed into a fresh manager, the same vehicle appears where it was.
	m2 := newManager(t, mavlink.Config{StreamRates: map[uint32]float64{}})
	replay, err := m2.Replay(bytes.NewReader(tlog.Bytes()), 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := replay.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if replay.Frames() != written || replay.Link().Info().FramesIn != written {
		t.Fatalf("replayed %d frames (%d reached the manager), recorded %d", replay.Frames(), replay.Link().Info().FramesIn, written)
	}

	// A truncated log plays up to the damage and says where it is.
	m3 := newManager(t, mavlink.Config{StreamRates: map[uint32]float64{}})
	cut, err := m3.Replay(bytes.NewReader(tlog.Bytes()[:tlog.Len()-5]), 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := cut.Wait(ctx); !errors.Is(err, mavlink.ErrBadTlog) || cut.Frames() != written-1 {
		t.Fatalf("truncated replay: %v after %d frames, want ErrBadTlog after %d", err, cut.Frames(), written-1)
	}
	rv, err := m2.WaitVehicle(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	got := waitState(t, ctx, rv, "replayed position", func(s mavlink.State) bool { return s.HasPosition })
	if distanceM(got.LatDeg, got.LonDeg, live.LatDeg, live.LonDeg) > 1 || got.Mode != live.Mode {
		t.Fatalf("replayed vehicle at %.6f,%.6f %s; live was %.6f,%.6f %s", got.LatDeg, got.LonDeg, got.Mode, live.LatDeg, live.LonDeg, live.Mode)
	}
}

// sentMessages counts the frames in a tlog from osprey's default system and component, by message id.
func sentMessages(t *testing.T, log []byte) map[uint32]int {
	t.Helper()
	r := mavlink.NewTlogReader(bytes.NewReader(log))
	out := map[uint32]int{}
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		f := e.Frame
		if f[0] == 0xFD && f[5] == mavlink.DefaultSystemID && f[6] == mavlink.DefaultComponentID {
			out[uint32(f[7])|uint32(f[8])<<8|uint32(f[9])<<16]++
		}
	}
}

// TestForwarding: a second ground station (a plain gomavlib node, as QGroundControl would be) hears the
// vehicle through osprey and can command it.
func TestForwarding(t *testing.T) {
	vehiclePort, gcsPort := freeUDPPort(t), freeUDPPort(t)
	m := newManager(t, mavlink.Config{})
	addLink(t, m, mavlink.LinkConfig{URL: "udps:127.0.0.1:" + vehiclePort, Forward: true})
	addLink(t, m, mavlink.LinkConfig{URL: "udps:127.0.0.1:" + gcsPort, Forward: true})
	sim := newVehicle(t, sitl.VehicleConfig{SystemID: 5, Endpoint: gomavlib.EndpointUDPClient{Address: "127.0.0.1:" + vehiclePort}})

	qgc := &gomavlib.Node{
		Endpoints:              []gomavlib.EndpointConf{gomavlib.EndpointUDPClient{Address: "127.0.0.1:" + gcsPort}},
		Dialect:                apm.Dialect,
		OutVersion:             gomavlib.V2,
		OutSystemID:            200,
		HeartbeatPeriod:        time.Second,
		HeartbeatAutopilotType: 8,
	}
	if err := qgc.Initialize(); err != nil {
		t.Fatal(err)
	}
	defer qgc.Close()

	deadline := time.After(20 * time.Second)
	heard, commanded := false, false
	for !commanded {
		select {
		case e := <-qgc.Events():
			f, ok := e.(*gomavlib.EventFrame)
			if !ok {
				continue
			}
			if hb, ok := f.Message().(*apm.MessageHeartbeat); ok && f.SystemID() == 5 && hb.Autopilot == 3 && !heard {
				heard = true
				// Ask for a mode change the way QGroundControl would; the vehicle's ACK comes back here.
				_ = qgc.WriteMessageAll(&apm.MessageCommandLong{TargetSystem: 5, TargetComponent: 1, Command: 176, Param1: 1, Param2: 5})
			}
			if ack, ok := f.Message().(*apm.MessageCommandAck); ok && f.SystemID() == 5 && ack.Command == 176 {
				if ack.Result != 0 {
					t.Fatalf("forwarded command result %d", ack.Result)
				}
				commanded = true
			}
		case <-deadline:
			t.Fatalf("second ground station: heard vehicle %v, command acknowledged %v", heard, commanded)
		}
	}
	ctx := ctxFor(t, 10*time.Second)
	v, err := m.WaitVehicle(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, ctx, v, "LOITER set by the other ground station", func(s mavlink.State) bool { return s.Mode == "LOITER" })
	if sim.State().ModeNumber != 5 {
		t.Fatalf("simulator in mode %d", sim.State().ModeNumber)
	}
	if _, err := m.Vehicle(200); err == nil {
		t.Fatal("the other ground station became a vehicle")
	}
}

// TestGarbageOnTheUDPPort: random bytes are counted as parse errors and the vehicle keeps updating.
func TestGarbageOnTheUDPPort(t *testing.T) {
	port := freeUDPPort(t)
	m := newManager(t, mavlink.Config{})
	link := addLink(t, m, mavlink.LinkConfig{URL: "udps:127.0.0.1:" + port})
	newVehicle(t, sitl.VehicleConfig{SystemID: 1, Endpoint: gomavlib.EndpointUDPClient{Address: "127.0.0.1:" + port}})
	ctx := ctxFor(t, 30*time.Second)
	v, err := m.WaitVehicle(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("udp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	garbage := []byte{0xfd, 0xff, 0x00, 0x00, 0x01, 0x02}
	for i := range 200 {
		payload := append(garbage, bytes.Repeat([]byte{byte(i)}, i%64)...)
		_, _ = conn.Write(payload)
		_, _ = conn.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
	}
	before := v.State().Links[0].Received
	waitState(t, ctx, v, "telemetry after the garbage", func(s mavlink.State) bool { return s.Links[0].Received > before+20 })
	info := link.Info()
	if info.ParseErrors == 0 {
		t.Fatal("garbage was not counted")
	}
	t.Logf("parse errors counted: %d, last: %s", info.ParseErrors, info.LastError)
	if err := v.SetMode(ctx, "LOITER"); err != nil {
		t.Fatalf("command after garbage: %v", err)
	}
}

func TestBadLinks(t *testing.T) {
	m := newManager(t, mavlink.Config{})
	if _, err := m.AddLink(mavlink.LinkConfig{URL: "udp:nowhere"}); !errors.Is(err, mavlink.ErrBadLinkURL) {
		t.Fatalf("bad URL: %v", err)
	}
	if _, err := m.AddLink(mavlink.LinkConfig{URL: "serial:/dev/osprey-missing-radio:57600"}); err == nil || !strings.Contains(err.Error(), "osprey-missing-radio") {
		t.Fatalf("missing serial device: %v", err)
	}
	port := freeTCPPort(t)
	addLink(t, m, mavlink.LinkConfig{URL: "tcps:127.0.0.1:" + port})
	if _, err := m.AddLink(mavlink.LinkConfig{URL: "tcps:127.0.0.1:" + port}); !errors.Is(err, mavlink.ErrLinkExists) {
		t.Fatalf("same link twice: %v", err)
	}
	if err := m.RemoveLink("tcps:127.0.0.1:" + port); err != nil {
		t.Fatal(err)
	}
	if err := m.RemoveLink("tcps:127.0.0.1:" + port); !errors.Is(err, mavlink.ErrNoLink) {
		t.Fatalf("removing twice: %v", err)
	}
	if _, err := m.AddLink(mavlink.LinkConfig{URL: "udps:127.0.0.1:0", SigningKey: []byte("short")}); err == nil {
		t.Fatal("a 5-byte signing key was accepted")
	}
	// The manager still works after all that.
	addLink(t, m, mavlink.LinkConfig{URL: "tcps:127.0.0.1:" + port})
}

// TestOneVehicleOnTwoLinks: a vehicle heard on two radios is one vehicle, and stays connected when one
// radio goes.
func TestOneVehicleOnTwoLinks(t *testing.T) {
	m := newManager(t, mavlink.Config{})
	p1, p2 := freeTCPPort(t), freeTCPPort(t)
	addLink(t, m, mavlink.LinkConfig{URL: "tcpc:127.0.0.1:" + p1, Name: "radio-a"})
	addLink(t, m, mavlink.LinkConfig{URL: "tcpc:127.0.0.1:" + p2, Name: "radio-b"})
	// One simulated vehicle can serve one endpoint; a fleet member per port with the same system id
	// stands for the two radios of one aircraft.
	newVehicle(t, sitl.VehicleConfig{SystemID: 9, Endpoint: gomavlib.EndpointTCPServer{Address: "127.0.0.1:" + p1}})
	newVehicle(t, sitl.VehicleConfig{SystemID: 9, Endpoint: gomavlib.EndpointTCPServer{Address: "127.0.0.1:" + p2}})
	ctx := ctxFor(t, 30*time.Second)
	v, err := m.WaitVehicle(ctx, 9)
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, ctx, v, "heard on both links", func(s mavlink.State) bool {
		return len(s.Links) == 2 && s.Links[0].Alive && s.Links[1].Alive
	})
	if n := len(m.Vehicles()); n != 1 {
		t.Fatalf("%d vehicles, want one", n)
	}
	if err := m.RemoveLink("radio-a"); err != nil {
		t.Fatal(err)
	}
	if err := v.SetMode(ctx, "LOITER"); err != nil {
		t.Fatalf("command over the remaining radio: %v", err)
	}
}

func TestPauseResumeSpeedAndReboot(t *testing.T) {
	port := freeUDPPort(t)
	m := newManager(t, mavlink.Config{})
	addLink(t, m, mavlink.LinkConfig{URL: "udps:127.0.0.1:" + port})
	newVehicle(t, sitl.VehicleConfig{SystemID: 4, Speedup: 4, Endpoint: gomavlib.EndpointUDPClient{Address: "127.0.0.1:" + port}})
	ctx := ctxFor(t, 60*time.Second)
	v, err := m.WaitVehicle(ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, ctx, v, "GPS fix", func(s mavlink.State) bool { return s.GPSFix >= 3 && s.HasPosition })
	for _, step := range []func() error{
		func() error { return v.SetMode(ctx, "GUIDED") },
		v2(v.Arm, ctx),
		func() error { return v.Takeoff(ctx, 10) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	waitState(t, ctx, v, "10 m", func(s mavlink.State) bool { return s.AltRelM > 9.5 })
	if err := v.ChangeSpeed(ctx, 4); err != nil {
		t.Fatal(err)
	}
	farLat := homeLat + 0.01 // a kilometre north: far enough to still be flying when paused
	if err := v.Goto(ctx, farLat, homeLon, 10); err != nil {
		t.Fatal(err)
	}
	s := waitState(t, ctx, v, "cruising", func(s mavlink.State) bool { return s.GroundSpeedMS > 3 })
	if s.GroundSpeedMS > 4.5 {
		t.Fatalf("cruising at %.1f m/s after asking for 4", s.GroundSpeedMS)
	}
	if err := v.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	paused := waitState(t, ctx, v, "stopped", func(s mavlink.State) bool { return s.GroundSpeedMS < 0.2 })
	if err := v.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	waitState(t, ctx, v, "moving again", func(s mavlink.State) bool {
		return distanceM(s.LatDeg, s.LonDeg, paused.LatDeg, paused.LonDeg) > 5
	})
	if err := v.Reboot(ctx); err == nil {
		t.Fatal("reboot accepted in flight")
	}
	if err := v.Land(ctx); err != nil {
		t.Fatal(err)
	}
	waitState(t, ctx, v, "landed and disarmed", func(s mavlink.State) bool { return !s.Armed && s.AltRelM < 0.3 })
	if err := v.Reboot(ctx); err != nil {
		t.Fatal(err)
	}
	waitState(t, ctx, v, "back in STABILIZE after the reboot", func(s mavlink.State) bool { return s.Mode == "STABILIZE" })
}
