package flights_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/bluenviron/gomavlib/v3"
	"go.uber.org/goleak"

	"github.com/ospreygcs/osprey/internal/flights"
	"github.com/ospreygcs/osprey/internal/store"
	"github.com/ospreygcs/osprey/mavlink"
	"github.com/ospreygcs/osprey/sitl"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestFlightRecordedFromArmToDisarm(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	st, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	c, _ := net.ListenPacket("udp", "127.0.0.1:0")
	port := strconv.Itoa(c.LocalAddr().(*net.UDPAddr).Port)
	c.Close()
	m, err := mavlink.NewManager(mavlink.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.AddLink(mavlink.LinkConfig{URL: "udps:127.0.0.1:" + port}); err != nil {
		t.Fatal(err)
	}
	sim, err := sitl.NewVehicle(sitl.VehicleConfig{SystemID: 1, Speedup: 5, HomeLatDeg: -35.363261, HomeLonDeg: 149.165230, HomeAltMSLM: 584,
		Endpoint: gomavlib.EndpointUDPClient{Address: "127.0.0.1:" + port}})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()

	rec, err := flights.New(flights.Config{Manager: m, Store: st, Dir: dir + "/flights"})
	if err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- rec.Run(rctx) }()

	v, err := m.WaitVehicle(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.WaitState(ctx, func(s mavlink.State) bool { return s.GPSFix >= 3 && s.HasPosition }); err != nil {
		t.Fatal(err)
	}
	for _, step := range []func() error{
		func() error { return v.SetMode(ctx, "GUIDED") },
		func() error { return v.Arm(ctx) },
		func() error { return v.Takeoff(ctx, 15) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := v.WaitState(ctx, func(s mavlink.State) bool { return s.AltRelM > 14 }); err != nil {
		t.Fatal(err)
	}
	if err := v.Goto(ctx, -35.363261+0.0005, 149.165230, 15); err != nil { // about 55 m north
		t.Fatal(err)
	}
	if _, err := v.WaitState(ctx, func(s mavlink.State) bool { return s.LatDeg > -35.363261+0.00048 }); err != nil {
		t.Fatal(err)
	}
	if err := v.Land(ctx); err != nil {
		t.Fatal(err)
	}
	var list []store.Flight
	for list = nil; len(list) == 0 || list[0].EndedAt.IsZero(); time.Sleep(100 * time.Millisecond) {
		if ctx.Err() != nil {
			t.Fatalf("no ended flight: %+v", list)
		}
		if list, err = st.ListFlights(ctx, store.FlightFilter{}); err != nil {
			t.Fatal(err)
		}
	}
	f := list[0]
	if f.VehicleID != 1 || f.MaxAltRelM < 14 || f.MaxAltRelM > 17 || f.DistanceM < 40 || f.DistanceM > 120 || f.DurationS <= 0 {
		t.Fatalf("flight summary %+v", f)
	}
	track, err := st.FlightTrack(ctx, f.ID)
	if err != nil || len(track) < 3 {
		t.Fatalf("track of %d points, %v", len(track), err)
	}
	b, err := os.ReadFile(f.TlogPath)
	if err != nil {
		t.Fatal(err)
	}
	r := mavlink.NewTlogReader(bytes.NewReader(b))
	n := 0
	for {
		if _, err := r.Next(); err != nil {
			break
		}
		n++
	}
	if n < 20 {
		t.Fatalf("flight tlog has %d frames", n)
	}
	rcancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
