package sitl

import (
	"testing"
	"time"

	"github.com/bluenviron/gomavlib/v3/pkg/dialects/common"
)

func TestOutboundLoss(t *testing.T) {
	t.Parallel()
	v, g := tcpVehicle(t, VehicleConfig{SystemID: 12, Seed: 42})
	const attID = 30
	g.mustCommand(12, common.MAV_CMD_SET_MESSAGE_INTERVAL, attID, 5000) // 200 Hz
	window := func() int {
		start := time.Now().Add(100 * time.Millisecond)
		from := g.mark()
		time.Sleep(700 * time.Millisecond)
		return countIn(g.since(from), 12, attID, start, start.Add(600*time.Millisecond))
	}
	base := window()
	if base < 40 {
		t.Fatalf("only %d ATTITUDE in 0.6 s at 200 Hz; cannot measure loss", base)
	}
	v.SetLoss(0, 0.5)
	lossy := window()
	ratio := float64(lossy) / float64(base)
	if ratio < 0.3 || ratio > 0.7 {
		t.Errorf("with 50%% outbound loss %d of %d arrived (%.2f)", lossy, base, ratio)
	}
	v.SetLoss(0, 0)
	if after := window(); float64(after) < 0.8*float64(base) {
		t.Errorf("after clearing loss %d of %d arrived", after, base)
	}
}

func TestInboundLoss(t *testing.T) {
	t.Parallel()
	run := func() int {
		v, g := tcpVehicle(t, VehicleConfig{SystemID: 13, Seed: 7})
		v.SetLoss(0.5, 0)
		from := g.mark()
		const n = 200
		for range n {
			g.send(&common.MessageParamRequestRead{TargetSystem: 13, TargetComponent: 1, ParamIndex: 0})
			time.Sleep(2 * time.Millisecond) // stay within the node's write buffer
		}
		time.Sleep(300 * time.Millisecond)
		got := 0
		for _, f := range g.since(from) {
			if _, ok := f.m.(*common.MessageParamValue); ok {
				got++
			}
		}
		v.Close()
		return got
	}
	a := run()
	if a < 60 || a > 140 {
		t.Errorf("with 50%% inbound loss %d of 200 requests answered", a)
	}
	// TCP delivers every request, so the seeded generator decides exactly.
	if b := run(); b != a {
		t.Errorf("same seed, different loss: %d then %d", a, b)
	}
}

func TestOutage(t *testing.T) {
	t.Parallel()
	v, g := tcpVehicle(t, VehicleConfig{SystemID: 14})
	start := time.Now()
	v.Outage(time.Second)
	// Inbound is cut too: an arm command sent during the outage is lost.
	g.send(&common.MessageCommandLong{TargetSystem: 14, TargetComponent: 1,
		Command: common.MAV_CMD_COMPONENT_ARM_DISARM, Param1: 1})
	from := g.mark()
	if f, ok := g.waitFor(from, 850*time.Millisecond, func(f rx) bool {
		return f.sys == 14 && f.at.After(start.Add(50*time.Millisecond))
	}); ok {
		t.Fatalf("message %d during the outage", f.m.GetID())
	}
	if _, ok := g.waitFor(from, 3*time.Second, isMsg[*common.MessageHeartbeat](14)); !ok {
		t.Fatal("heartbeats did not resume after the outage")
	}
	if v.State().Armed {
		t.Error("a command sent during the outage was executed")
	}
}

func TestLatencyKeepsOrder(t *testing.T) {
	t.Parallel()
	v, g := tcpVehicle(t, VehicleConfig{SystemID: 15})
	g.mustCommand(15, common.MAV_CMD_SET_MESSAGE_INTERVAL, 30, 10000) // 100 Hz ATTITUDE
	const lat = 300 * time.Millisecond
	v.SetLatency(lat)
	time.Sleep(lat) // let the queue fill
	from := g.mark()
	sent := time.Now()
	g.send(&common.MessageCommandLong{TargetSystem: 15, TargetComponent: 1,
		Command: common.MAV_CMD_REQUEST_MESSAGE, Param1: 148})
	f, ok := g.waitFor(from, 3*time.Second, isMsg[*common.MessageCommandAck](15))
	if !ok {
		t.Fatal("no ACK with latency")
	}
	if d := f.at.Sub(sent); d < lat-20*time.Millisecond {
		t.Errorf("ACK after %v, want at least %v", d, lat)
	}
	time.Sleep(300 * time.Millisecond)
	var last uint32
	n := 0
	for _, f := range g.since(from) {
		if a, ok := f.m.(*common.MessageAttitude); ok && f.sys == 15 {
			if a.TimeBootMs < last {
				t.Fatalf("ATTITUDE out of order: %d after %d", a.TimeBootMs, last)
			}
			last = a.TimeBootMs
			n++
		}
	}
	if n < 10 {
		t.Errorf("only %d ATTITUDE messages under latency", n)
	}
	v.SetLatency(0)
	if r := g.command(15, common.MAV_CMD_REQUEST_MESSAGE, 0, 148); r != common.MAV_RESULT_ACCEPTED {
		t.Fatalf("after latency removed: %v", r)
	}
}
