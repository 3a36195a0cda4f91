package sitl

import (
	"testing"
	"time"

	"github.com/bluenviron/gomavlib/v3/pkg/dialects/common"
)

func TestParamProtocol(t *testing.T) {
	t.Parallel()
	v, g := tcpVehicle(t, VehicleConfig{SystemID: 11, Speedup: 10,
		Params: map[string]float32{"RTL_ALT": 3000}})

	// The full list: count consistent, every index once, names unique.
	cursor := g.mark()
	g.send(&common.MessageParamRequestList{TargetSystem: 11, TargetComponent: 1})
	byIndex := map[uint16]*common.MessageParamValue{}
	count := -1
	deadline := time.Now().Add(5 * time.Second)
	for count < 0 || len(byIndex) < count {
		if time.Now().After(deadline) {
			t.Fatalf("param list stalled at %d of %d", len(byIndex), count)
		}
		g.waitFor(cursor, 200*time.Millisecond, isMsg[*common.MessageParamValue](11))
		frames := g.since(cursor)
		cursor += len(frames)
		for _, f := range frames {
			p, ok := f.m.(*common.MessageParamValue)
			if !ok || f.sys != 11 {
				continue
			}
			if count >= 0 && int(p.ParamCount) != count {
				t.Fatalf("param_count changed %d -> %d", count, p.ParamCount)
			}
			count = int(p.ParamCount)
			byIndex[p.ParamIndex] = p
		}
	}
	if count < 40 || count > 120 {
		t.Errorf("param_count = %d", count)
	}
	names := map[string]bool{}
	for i := range count {
		p, ok := byIndex[uint16(i)]
		if !ok {
			t.Fatalf("index %d missing", i)
		}
		if len(p.ParamId) == 0 || len(p.ParamId) > 16 || names[p.ParamId] {
			t.Errorf("bad or duplicate name %q at %d", p.ParamId, i)
		}
		names[p.ParamId] = true
	}
	for name, want := range map[string]struct {
		val float32
		typ common.MAV_PARAM_TYPE
	}{
		"SYSID_THISMAV":  {11, common.MAV_PARAM_TYPE_INT16},
		"SYSID_MYGCS":    {255, common.MAV_PARAM_TYPE_INT16},
		"WPNAV_SPEED":    {1000, common.MAV_PARAM_TYPE_REAL32},
		"RTL_ALT":        {3000, common.MAV_PARAM_TYPE_INT32},
		"FS_GCS_ENABLE":  {1, common.MAV_PARAM_TYPE_INT8},
		"FS_GCS_TIMEOUT": {5, common.MAV_PARAM_TYPE_REAL32},
		"DISARM_DELAY":   {10, common.MAV_PARAM_TYPE_INT8},
	} {
		found := false
		for _, p := range byIndex {
			if p.ParamId == name {
				found = true
				if p.ParamValue != want.val || p.ParamType != want.typ {
					t.Errorf("%s = %v (%v), want %v (%v)", name, p.ParamValue, p.ParamType, want.val, want.typ)
				}
			}
		}
		if !found {
			t.Errorf("%s not in the list", name)
		}
	}

	// Read by name and by index.
	from := g.mark()
	g.send(&common.MessageParamRequestRead{TargetSystem: 11, TargetComponent: 1, ParamId: "WPNAV_SPEED_UP", ParamIndex: -1})
	f, ok := g.waitFor(from, time.Second, isMsg[*common.MessageParamValue](11))
	if p := f.m.(*common.MessageParamValue); !ok || p.ParamId != "WPNAV_SPEED_UP" || p.ParamValue != 250 {
		t.Errorf("read by name: %+v", f.m)
	}
	from = g.mark()
	g.send(&common.MessageParamRequestRead{TargetSystem: 11, TargetComponent: 1, ParamIndex: 3})
	f, ok = g.waitFor(from, time.Second, isMsg[*common.MessageParamValue](11))
	if p := f.m.(*common.MessageParamValue); !ok || p.ParamIndex != 3 || p.ParamId != byIndex[3].ParamId {
		t.Errorf("read by index: %+v", f.m)
	}

	// Unknown names are ignored: no PARAM_VALUE at all.
	from = g.mark()
	g.send(&common.MessageParamSet{TargetSystem: 11, TargetComponent: 1, ParamId: "NOT_A_PARAM", ParamValue: 1})
	g.send(&common.MessageParamRequestRead{TargetSystem: 11, TargetComponent: 1, ParamId: "NOT_A_PARAM", ParamIndex: -1})
	if _, ok := g.waitFor(from, 400*time.Millisecond, isMsg[*common.MessageParamValue](11)); ok {
		t.Error("PARAM_VALUE for an unknown parameter")
	}

	// Integer parameters are C-cast after a 0.01 bias: 1.995 -> 2.
	from = g.mark()
	g.send(&common.MessageParamSet{TargetSystem: 11, TargetComponent: 1, ParamId: "DISARM_DELAY",
		ParamValue: 1.995, ParamType: common.MAV_PARAM_TYPE_INT8})
	f, ok = g.waitFor(from, time.Second, isMsg[*common.MessageParamValue](11))
	if p := f.m.(*common.MessageParamValue); !ok || p.ParamId != "DISARM_DELAY" || p.ParamValue != 2 ||
		p.ParamType != common.MAV_PARAM_TYPE_INT8 || int(p.ParamCount) != count {
		t.Fatalf("PARAM_SET echo: %+v", f.m)
	}
	// ... and change behaviour: armed on the ground in GUIDED, the vehicle
	// disarms after DISARM_DELAY = 2 s (simulated) without a takeoff.
	g.mustCommand(11, common.MAV_CMD_DO_SET_MODE, 1, float32(ModeGuided))
	g.mustCommand(11, common.MAV_CMD_COMPONENT_ARM_DISARM, 1)
	armedAt := v.State().SimTime
	s := waitState(t, v, 5*time.Second, "auto-disarm", func(s VehicleState) bool { return !s.Armed })
	if idle := s.SimTime - armedAt; idle < 1900*time.Millisecond || idle > 3*time.Second {
		t.Errorf("disarmed after %v of simulated time, want ~2 s", idle)
	}
}

func TestCastParam(t *testing.T) {
	cases := []struct {
		typ  common.MAV_PARAM_TYPE
		in   float32
		want float32
	}{
		{pInt8, 1.995, 2},
		{pInt8, 3.6, 3},
		{pInt8, -3.6, -3},
		{pInt8, 300, 127},
		{pInt16, -40000, -32768},
		{pInt32, 1500.2, 1500},
		{pReal, 1.2345, 1.2345},
	}
	for _, c := range cases {
		if got := castParam(c.typ, c.in); got != c.want {
			t.Errorf("castParam(%v, %v) = %v, want %v", c.typ, c.in, got, c.want)
		}
	}
	for _, d := range paramTable {
		if len(d.name) > 16 {
			t.Errorf("%s longer than 16 characters", d.name)
		}
		if castParam(d.typ, d.def) != d.def {
			t.Errorf("%s default %v does not fit its type", d.name, d.def)
		}
	}
}
