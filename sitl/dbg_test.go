package sitl

import (
	"testing"
	"time"

	"github.com/bluenviron/gomavlib/v3/pkg/dialects/common"
)

func TestDbgTiming(t *testing.T) {
	v, g := tcpVehicle(t, VehicleConfig{SystemID: 2, Speedup: 40})
	T0 := time.Now()
	from := g.mark()
	g.mustCommand(2, common.MAV_CMD_DO_SET_MODE, 1, float32(ModeGuided))
	g.mustCommand(2, common.MAV_CMD_COMPONENT_ARM_DISARM, 1)
	g.mustCommand(2, common.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 20)
	time.Sleep(1500 * time.Millisecond)
	for _, f := range g.since(from) {
		if p, ok := f.m.(*common.MessageGlobalPositionInt); ok {
			t.Logf("%v GPI rel %d", f.at.Sub(T0), p.RelativeAlt)
		}
		if p, ok := f.m.(*common.MessageHeartbeat); ok {
			t.Logf("%v HB %d %v", f.at.Sub(T0), p.CustomMode, p.BaseMode)
		}
	}
	t.Logf("%+v", v.State())
}
