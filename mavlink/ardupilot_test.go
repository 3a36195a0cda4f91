package mavlink_test

import (
	"os"
	"testing"
	"time"

	"github.com/ospreygcs/osprey/mavlink"
	"github.com/ospreygcs/osprey/sitl"
)

// TestArduPilotSITLFlight flies real ArduCopter SITL through the link manager: the same sequence as
// TestGuidedFlight, against the autopilot itself. It needs OSPREY_ARDUPILOT_SITL to name the binary.
func TestArduPilotSITLFlight(t *testing.T) {
	bin := os.Getenv("OSPREY_ARDUPILOT_SITL")
	if bin == "" {
		t.Skip("set OSPREY_ARDUPILOT_SITL to an arducopter SITL binary (ardupilot/build/sitl/bin/arducopter) to fly real ArduPilot")
	}
	ctx := ctxFor(t, 5*time.Minute)
	ap, err := sitl.StartArduPilot(ctx, sitl.ArduPilotConfig{Binary: bin, Instances: 2, Speedup: 1, WorkDir: t.TempDir(),
		HomeLatDeg: homeLat, HomeLonDeg: homeLon, HomeAltMSLM: homeAlt, HeadingDeg: 0})
	if err != nil {
		t.Fatal(err)
	}
	defer ap.Close()
	m := newManager(t, mavlink.Config{})
	for _, addr := range ap.TCPAddresses() {
		addLink(t, m, mavlink.LinkConfig{URL: "tcpc:" + addr})
	}
	for id := byte(1); id <= 2; id++ {
		if _, err := m.WaitVehicle(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	v, _ := m.Vehicle(1)
	// Real SITL needs its EKF to settle and GPS to lock before it will arm in GUIDED.
	waitState(t, ctx, v, "a 3D fix and a home position", func(s mavlink.State) bool { return s.GPSFix >= 3 && s.Home != nil })
	params, err := v.DownloadParams(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(params) < 500 {
		t.Fatalf("only %d parameters from ArduCopter", len(params))
	}
	if err := v.SetMode(ctx, "GUIDED"); err != nil {
		t.Fatal(err)
	}
	var armErr error
	for range 30 { // pre-arm checks pass once the EKF is happy; ArduPilot says why until then
		if armErr = v.Arm(ctx); armErr == nil {
			break
		}
		time.Sleep(2 * time.Second)
	}
	if armErr != nil {
		t.Fatal(armErr)
	}
	if err := v.Takeoff(ctx, 20); err != nil {
		t.Fatal(err)
	}
	waitState(t, ctx, v, "20 m", func(s mavlink.State) bool { return s.AltRelM > 18 })
	targetLat, targetLon := homeLat+0.0005, homeLon
	if err := v.Goto(ctx, targetLat, targetLon, 20); err != nil {
		t.Fatal(err)
	}
	waitState(t, ctx, v, "the goto target", func(s mavlink.State) bool { return distanceM(s.LatDeg, s.LonDeg, targetLat, targetLon) < 5 })
	if err := v.RTL(ctx); err != nil {
		t.Fatal(err)
	}
	waitState(t, ctx, v, "landed and disarmed", func(s mavlink.State) bool { return !s.Armed && s.AltRelM < 1 })
}
