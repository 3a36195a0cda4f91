package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gomavlib/v3"

	"github.com/ospreygcs/osprey/sitl"
)

const testHomeLat, testHomeLon = -35.363261, 149.165230

// runCLI runs osprey in-process and returns what it printed and its exit code.
func runCLI(t *testing.T, ctx context.Context, args ...string) (string, int) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil {
		out.WriteString("error: " + err.Error() + "\n")
		return out.String(), exitCode(err)
	}
	return out.String(), exitOK
}

func freeUDP(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return strconv.Itoa(c.LocalAddr().(*net.UDPAddr).Port)
}

func simVehicle(t *testing.T, port string, speedup float64) *sitl.Vehicle {
	t.Helper()
	// At a speed-up, ArduCopter's 10 s auto-disarm after arming would pass before the 1 Hz heartbeat
	// shows the vehicle armed; real time is what DISARM_DELAY means.
	v, err := sitl.NewVehicle(sitl.VehicleConfig{SystemID: 1, Speedup: speedup, Params: map[string]float32{"DISARM_DELAY": float32(10 * speedup)},
		HomeLatDeg: testHomeLat, HomeLonDeg: testHomeLon, HomeAltMSLM: 584,
		Endpoint: gomavlib.EndpointUDPClient{Address: "127.0.0.1:" + port}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

// area writes a 200 m by 150 m patrol area just north-west of home.
func area(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "park.geojson")
	geo := `{"type":"Polygon","coordinates":[[[149.1640,-35.3640],[149.1662,-35.3640],[149.1662,-35.3626],[149.1640,-35.3626],[149.1640,-35.3640]]]}`
	if err := os.WriteFile(p, []byte(geo), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func patrolLines(t *testing.T, out string) []patrolEvent {
	t.Helper()
	var evs []patrolEvent
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var e patrolEvent
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		evs = append(evs, e)
	}
	return evs
}

// TestPatrolFromTheCLI flies a whole generated perimeter patrol: it takes off, reaches every waypoint,
// lands at home and exits 0, reporting progress as JSON lines.
func TestPatrolFromTheCLI(t *testing.T) {
	port := freeUDP(t)
	sim := simVehicle(t, port, 10)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, code := runCLI(t, ctx, "patrol", "--link", "udps:127.0.0.1:"+port, "--vehicle", "1", "--area", area(t), "--alt", "25", "--json")
	if code != exitOK {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	evs := patrolLines(t, out)
	reached := map[int]bool{}
	total := 0
	for _, e := range evs {
		if e.Event == "item_reached" {
			reached[e.Item] = true
			total = e.Total
		}
	}
	for i := 1; i <= total; i++ {
		if !reached[i] {
			t.Errorf("item %d of %d never reached", i, total)
		}
	}
	if total < 6 || evs[len(evs)-1].Event != "landed" {
		t.Fatalf("%d items; last event %+v", total, evs[len(evs)-1])
	}
	s := sim.State()
	if s.Armed || s.AltRelM > 0.5 {
		t.Fatalf("simulator after the patrol: armed %v alt %.1f", s.Armed, s.AltRelM)
	}
	if d := (s.LatDeg-testHomeLat)*111_000 + (s.LonDeg-testHomeLon)*91_000; d > 5 || d < -5 {
		t.Fatalf("landed %.0f m from home", d)
	}
}

// TestPatrolComesHomeOnLowBattery: a battery under the minimum ends the patrol with the vehicle sent home
// and a non-zero exit.
func TestPatrolComesHomeOnLowBattery(t *testing.T) {
	port := freeUDP(t)
	sim := simVehicle(t, port, 5)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	go func() {
		for ctx.Err() == nil && sim.State().AltRelM < 10 {
			time.Sleep(100 * time.Millisecond)
		}
		sim.SetBatteryPct(15)
	}()
	out, code := runCLI(t, ctx, "patrol", "--link", "udps:127.0.0.1:"+port, "--vehicle", "1", "--area", area(t), "--alt", "25", "--laps", "3", "--json")
	if code == exitOK || !strings.Contains(out, "battery low") {
		t.Fatalf("exit %d, want a failure naming the battery:\n%s", code, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for sim.State().ModeName != "RTL" && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if m := sim.State().ModeName; m != "RTL" {
		t.Fatalf("vehicle in %s after a low-battery abort, want RTL", m)
	}
}

// TestPatrolRefusesAnInvalidPlan: nothing is sent and the vehicle stays on the ground.
func TestPatrolRefusesAnInvalidPlan(t *testing.T) {
	port := freeUDP(t)
	sim := simVehicle(t, port, 1)
	plan := filepath.Join(t.TempDir(), "high.waypoints")
	wp := "QGC WPL 110\n0\t1\t0\t16\t0\t0\t0\t0\t-35.363261\t149.165230\t584\t1\n" +
		"1\t0\t3\t22\t0\t0\t0\t0\t-35.363261\t149.165230\t20\t1\n" +
		"2\t0\t3\t16\t0\t0\t0\t0\t-35.3625\t149.1652\t500\t1\n"
	if err := os.WriteFile(plan, []byte(wp), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, code := runCLI(t, ctx, "patrol", "--link", "udps:127.0.0.1:"+port, "--vehicle", "1", "--plan", plan)
	if code == exitOK || !strings.Contains(out, "nothing was sent") || !strings.Contains(out, "item 2") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if sim.State().Armed {
		t.Fatal("armed for an invalid plan")
	}
}
