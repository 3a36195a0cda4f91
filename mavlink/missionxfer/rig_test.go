package missionxfer_test

import (
	"context"
	"math"
	"net"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/bluenviron/gomavlib/v3"
	"github.com/bluenviron/gomavlib/v3/pkg/dialects/common"
	"go.uber.org/goleak"

	"github.com/ospreygcs/osprey/mavlink"
	"github.com/ospreygcs/osprey/mavlink/missionxfer"
	"github.com/ospreygcs/osprey/sitl"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Canberra Model Aircraft Club, ArduPilot's SITL home.
const homeLat, homeLon, homeAlt = -35.363261, 149.165230, 584.0

// rig is osprey's link manager and a simulated ArduCopter on loopback UDP.
type rig struct {
	m   *mavlink.Manager
	sim *sitl.Vehicle
	v   *mavlink.Vehicle
}

func freeUDPPort(tb testing.TB) string {
	tb.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	return strconv.Itoa(c.LocalAddr().(*net.UDPAddr).Port)
}

func newManager(tb testing.TB, conf mavlink.Config) (*mavlink.Manager, string) {
	tb.Helper()
	m, err := mavlink.NewManager(conf)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(m.Close)
	port := freeUDPPort(tb)
	if _, err := m.AddLink(mavlink.LinkConfig{URL: "udps:127.0.0.1:" + port}); err != nil {
		tb.Fatal(err)
	}
	return m, port
}

func newRig(tb testing.TB, conf sitl.VehicleConfig) *rig {
	tb.Helper()
	m, port := newManager(tb, mavlink.Config{})
	if conf.SystemID == 0 {
		conf.SystemID = 1
	}
	conf.HomeLatDeg, conf.HomeLonDeg, conf.HomeAltMSLM = homeLat, homeLon, homeAlt
	conf.Endpoint = gomavlib.EndpointUDPClient{Address: "127.0.0.1:" + port}
	sim, err := sitl.NewVehicle(conf)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(sim.Close)
	ctx := ctxFor(tb, 10*time.Second)
	v, err := m.WaitVehicle(ctx, conf.SystemID)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := v.WaitState(ctx, func(s mavlink.State) bool { return s.HasPosition && s.GPSFix >= 3 }); err != nil {
		tb.Fatalf("no position: %v", err)
	}
	return &rig{m: m, sim: sim, v: v}
}

func ctxFor(tb testing.TB, d time.Duration) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}

// roundTrip measures the command round trip over the rig's link (the
// median of a few GET_MESSAGE_INTERVAL exchanges, a command the link
// manager's own stream setup does not use), the unit a stop-and-wait
// transfer pays per item.
func (r *rig) roundTrip(tb testing.TB) time.Duration {
	tb.Helper()
	ctx := ctxFor(tb, 10*time.Second)
	var d []time.Duration
	for range 7 {
		start := time.Now()
		if err := r.v.Send(ctx, mavlink.Command{ID: 510, Params: [7]float32{33}}); err != nil {
			tb.Fatal(err)
		}
		d = append(d, time.Since(start))
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)/2]
}

const degE7PerM = 1e7 / 111319.5

// missionItems builds n items as the mission package would for ArduPilot:
// home at seq 0, then a takeoff and a pattern of waypoints, loiters and speed
// changes, all with values ArduPilot stores exactly (whole-second holds,
// centimetre altitudes). variant changes every value, so a second upload is
// told from the first.
func missionItems(n, variant int) []missionxfer.Item {
	items := make([]missionxfer.Item, n)
	hx, hy := int32(homeLat*1e7), int32(homeLon*1e7)
	items[0] = missionxfer.Item{Seq: 0, Frame: 0, Command: 16, AutoContinue: true, X: hx, Y: hy, Z: homeAlt}
	for i := 1; i < n; i++ {
		it := missionxfer.Item{Seq: uint16(i), Frame: 6, Command: 16, AutoContinue: true,
			X: hx + int32(float64((i*7+variant)%300)*degE7PerM), Y: hy + int32(float64((i*13+variant)%300)*degE7PerM),
			Z: 20 + float32((i+variant)%80)*0.25, Param1: float32((i + variant) % 3)}
		switch {
		case i == 1:
			it = missionxfer.Item{Seq: 1, Frame: 6, Command: 22, AutoContinue: true, Z: 15 + float32(variant%5)}
		case i%10 == 0:
			it = missionxfer.Item{Seq: uint16(i), Frame: 2, Command: 178, AutoContinue: true, Param1: 1,
				Param2: 3 + float32((i+variant)%9)*0.5, Param3: -1}
			it.Param3 = 0 // throttle unchanged: ArduPilot keeps it as a byte
		case i%17 == 0:
			it.Command = 19 // LOITER_TIME
			it.Param1 = float32((i + variant) % 20)
		}
		items[i] = it
	}
	return items
}

// fenceItems builds polygons of five vertices and one inclusion circle.
func fenceItems(polygons, variant int) []missionxfer.Item {
	var items []missionxfer.Item
	hx, hy := int32(homeLat*1e7), int32(homeLon*1e7)
	add := func(cmd uint16, p1 float32, x, y int32) {
		items = append(items, missionxfer.Item{Seq: uint16(len(items)), Frame: 6, Command: cmd, Param1: p1, X: x, Y: y})
	}
	add(5003, 500+float32(variant), hx, hy) // inclusion circle, 500 m
	for p := range polygons {
		cmd := uint16(5002) // exclusion polygons
		if p == 0 {
			cmd = 5001
		}
		for k := range 5 {
			a := 2 * math.Pi * float64(k) / 5
			r := 50.0 + float64(p+variant)
			add(cmd, 5, hx+int32((float64(p*30)+r*math.Cos(a))*degE7PerM), hy+int32(r*math.Sin(a)*degE7PerM))
		}
	}
	return items
}

func rallyItems(n, variant int) []missionxfer.Item {
	items := make([]missionxfer.Item, n)
	hx, hy := int32(homeLat*1e7), int32(homeLon*1e7)
	for i := range items {
		items[i] = missionxfer.Item{Seq: uint16(i), Frame: 6, Command: 5100,
			X: hx + int32(i*1000+variant), Y: hy - int32(i*700+variant), Z: float32(30 + (i+variant)%40)}
	}
	return items
}

// frameClass groups a global frame with its *_INT twin.
func frameClass(f uint8) uint8 {
	switch f {
	case 5:
		return 0
	case 6:
		return 3
	case 11:
		return 10
	}
	return f
}

// sameItems checks, field by field and independently of missionxfer's own
// comparison, that the vehicle returned what was uploaded, as ArduPilot
// stores it.
func sameItems(tb testing.TB, t missionxfer.Type, want, got []missionxfer.Item) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("%s: downloaded %d items, uploaded %d", t, len(got), len(want))
	}
	bad := 0
	for i := range want {
		w, g := want[i], got[i]
		if t == missionxfer.Mission && i == 0 {
			continue // home
		}
		ok := g.Seq == w.Seq && g.Command == w.Command && g.X == w.X && g.Y == w.Y
		switch t {
		case missionxfer.Mission:
			ok = ok && (frameClass(g.Frame) == frameClass(w.Frame) || w.Frame == 2) &&
				math.Abs(float64(g.Z-w.Z)) < 0.011 && g.Param1 == w.Param1 && g.Param2 == w.Param2 &&
				g.Param3 == w.Param3 && g.Param4 == w.Param4
		case missionxfer.Fence:
			ok = ok && g.Param1 == w.Param1
		case missionxfer.Rally:
			ok = ok && g.Z == w.Z && frameClass(g.Frame) == frameClass(w.Frame)
		}
		if !ok {
			bad++
			if bad <= 5 {
				tb.Errorf("%s item %d: got %+v, want %+v", t, i, g, w)
			}
		}
	}
	if bad > 0 {
		tb.Fatalf("%s: %d of %d items differ", t, bad, len(want))
	}
}

// lossy are options for a link that loses a large share of messages: the
// loopback's handshake timeout is shorter than a radio's, and more retries
// keep the chance that every MISSION_COUNT or its answer is lost negligible.
func lossy() missionxfer.Options {
	return missionxfer.Options{AckTimeout: 500 * time.Millisecond, Retries: 15}
}

func missionState(v *mavlink.Vehicle) mavlink.MissionSync { return v.State().Mission }

var _ = common.MAV_MISSION_TYPE_MISSION
