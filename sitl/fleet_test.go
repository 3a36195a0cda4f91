package sitl

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/bluenviron/gomavlib/v3"
	"github.com/bluenviron/gomavlib/v3/pkg/dialects/common"
)

func TestFleetOnOneUDPServer(t *testing.T) {
	t.Parallel()
	addr := freeUDPAddr(t)
	g := newTestGCS(t, gomavlib.EndpointUDPServer{Address: addr})
	f, err := NewFleet(FleetConfig{
		Count:         3,
		FirstSystemID: 21,
		HomeLatDeg:    47.397742, HomeLonDeg: 8.545594, HomeAltMSLM: 488,
		Endpoint: func(int) gomavlib.EndpointConf { return gomavlib.EndpointUDPClient{Address: addr} },
		Seed:     1,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vs := f.Vehicles()
	if len(vs) != 3 {
		t.Fatalf("%d vehicles", len(vs))
	}
	for i, v := range vs {
		sys := byte(21 + i)
		if v.SystemID() != sys {
			t.Errorf("vehicle %d has system id %d", i, v.SystemID())
		}
		g.waitHeartbeat(sys, 5*time.Second)
	}
	// Vehicles stand apart, at least FleetSpacingM from each other.
	for i := range vs {
		for j := i + 1; j < len(vs); j++ {
			a, b := vs[i].State(), vs[j].State()
			n, e := offsetM(a.LatDeg, a.LonDeg, b.LatDeg, b.LonDeg)
			if d := math.Hypot(n, e); d < FleetSpacingM-0.1 {
				t.Errorf("vehicles %d and %d only %.1f m apart", i, j, d)
			}
		}
	}
	// Commands reach the right vehicle through the shared server.
	g.mustCommand(22, common.MAV_CMD_DO_SET_MODE, 1, float32(ModeGuided))
	if vs[1].State().ModeNumber != ModeGuided || vs[0].State().ModeNumber != ModeStabilize {
		t.Error("mode change reached the wrong vehicle")
	}
}

func TestFleetValidates(t *testing.T) {
	ep := func(int) gomavlib.EndpointConf { return gomavlib.EndpointUDPClient{Address: "127.0.0.1:9"} }
	for _, cfg := range []FleetConfig{
		{Count: 0, Endpoint: ep},
		{Count: 2},
		{Count: 10, FirstSystemID: 245, Endpoint: ep},
	} {
		if f, err := NewFleet(cfg); !errors.Is(err, ErrInvalidConfig) {
			if f != nil {
				f.Close()
			}
			t.Errorf("NewFleet(%+v) error %v, want ErrInvalidConfig", cfg, err)
		}
	}
}
