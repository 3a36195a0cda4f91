package sitl

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gomavlib/v3"
	"github.com/bluenviron/gomavlib/v3/pkg/dialects/ardupilotmega"
	"github.com/bluenviron/gomavlib/v3/pkg/dialects/common"
)

func TestStartArduPilotValidates(t *testing.T) {
	ctx := context.Background()
	if _, err := StartArduPilot(ctx, ArduPilotConfig{Instances: 1}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("no binary: %v", err)
	}
	if _, err := StartArduPilot(ctx, ArduPilotConfig{Binary: "arducopter", Instances: 0}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("no instances: %v", err)
	}
	if _, err := StartArduPilot(ctx, ArduPilotConfig{Binary: "/nonexistent/arducopter", Instances: 1}); err == nil {
		t.Error("missing binary accepted")
	}
}

// TestArduPilotSITL runs real ArduCopter SITL when OSPREY_ARDUPILOT_SITL
// names the binary (for example ardupilot/build/sitl/bin/arducopter).
func TestArduPilotSITL(t *testing.T) {
	bin := os.Getenv("OSPREY_ARDUPILOT_SITL")
	if bin == "" {
		t.Skip("set OSPREY_ARDUPILOT_SITL to an arducopter SITL binary to run this test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const n = 2
	ap, err := StartArduPilot(ctx, ArduPilotConfig{
		Binary: bin, Instances: n, Speedup: 1, WorkDir: t.TempDir(),
		HomeLatDeg: -35.3632621, HomeLonDeg: 149.1652374, HomeAltMSLM: 584, HeadingDeg: 353,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ap.Close()
	addrs := ap.TCPAddresses()
	if len(addrs) != n || addrs[1] != "127.0.0.1:5770" {
		t.Fatalf("addresses %v", addrs)
	}
	var eps []gomavlib.EndpointConf
	for _, a := range addrs {
		eps = append(eps, gomavlib.EndpointTCPClient{Address: a})
	}
	node := &gomavlib.Node{Endpoints: eps, Dialect: ardupilotmega.Dialect, OutVersion: gomavlib.V2, OutSystemID: 255}
	if err := node.Initialize(); err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	seen := map[byte]bool{}
	timeout := time.After(60 * time.Second)
	for len(seen) < n {
		select {
		case evt := <-node.Events():
			if fr, ok := evt.(*gomavlib.EventFrame); ok {
				if hb, ok := fr.Message().(*common.MessageHeartbeat); ok && hb.Autopilot == common.MAV_AUTOPILOT_ARDUPILOTMEGA {
					seen[fr.SystemID()] = true
				}
			}
		case <-timeout:
			t.Fatalf("heartbeats only from %v", seen)
		}
	}
	for i := 1; i <= n; i++ {
		if !seen[byte(i)] {
			t.Errorf("no heartbeat from system %d", i)
		}
	}
}

func TestArduPilotDefaults(t *testing.T) {
	d := arduPilotDefaults(3)
	for _, want := range []string{"SYSID_THISMAV 3\n", "FRAME_CLASS 1\n", "RC3_MIN 1000\n", "INS_ACC2SCAL_Z 1.001\n"} {
		if !strings.Contains(d, want) {
			t.Errorf("defaults lack %q", want)
		}
	}
}
