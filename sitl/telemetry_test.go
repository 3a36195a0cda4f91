package sitl

import (
	"errors"
	"testing"
	"time"

	"github.com/bluenviron/gomavlib/v3"
	"github.com/bluenviron/gomavlib/v3/pkg/dialects/common"
)

func TestNewVehicleValidates(t *testing.T) {
	ep := gomavlib.EndpointUDPClient{Address: "127.0.0.1:9"}
	cases := []struct {
		name string
		cfg  VehicleConfig
	}{
		{"no endpoint", VehicleConfig{SystemID: 1}},
		{"sysid 0", VehicleConfig{Endpoint: ep}},
		{"sysid 251", VehicleConfig{SystemID: 251, Endpoint: ep}},
		{"negative speedup", VehicleConfig{SystemID: 1, Endpoint: ep, Speedup: -1}},
		{"bad latitude", VehicleConfig{SystemID: 1, Endpoint: ep, HomeLatDeg: 95}},
		{"unknown param", VehicleConfig{SystemID: 1, Endpoint: ep, Params: map[string]float32{"NOPE": 1}}},
		{"sysid param mismatch", VehicleConfig{SystemID: 1, Endpoint: ep, Params: map[string]float32{"SYSID_THISMAV": 2}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := NewVehicle(c.cfg)
			if err == nil {
				v.Close()
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("error %v is not ErrInvalidConfig", err)
			}
		})
	}
}

func TestHeartbeatAndTelemetry(t *testing.T) {
	t.Parallel()
	v, g := tcpVehicle(t, VehicleConfig{SystemID: 7})
	if v.SystemID() != 7 {
		t.Fatalf("SystemID() = %d", v.SystemID())
	}
	hb := g.waitHeartbeat(7, time.Second)
	if hb.Type != common.MAV_TYPE_QUADROTOR || hb.Autopilot != common.MAV_AUTOPILOT_ARDUPILOTMEGA {
		t.Errorf("heartbeat type/autopilot = %v/%v", hb.Type, hb.Autopilot)
	}
	if hb.CustomMode != ModeStabilize || hb.BaseMode&common.MAV_MODE_FLAG_SAFETY_ARMED != 0 ||
		hb.BaseMode&common.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED == 0 {
		t.Errorf("heartbeat mode = base %v custom %d", hb.BaseMode, hb.CustomMode)
	}
	if hb.SystemStatus != common.MAV_STATE_STANDBY || hb.MavlinkVersion != 3 {
		t.Errorf("heartbeat status %v version %d", hb.SystemStatus, hb.MavlinkVersion)
	}

	// Every default stream arrives, from component 1, with sane contents.
	for _, id := range []uint32{1, 24, 42, 33, 30, 74, 147} {
		f, ok := g.waitFor(0, 3*time.Second, func(f rx) bool { return f.sys == 7 && f.m.GetID() == id })
		if !ok {
			t.Fatalf("message %d never arrived", id)
		}
		if f.comp != 1 {
			t.Errorf("message %d from component %d", id, f.comp)
		}
	}
	f, _ := g.waitFor(0, time.Second, isMsg[*common.MessageGlobalPositionInt](7))
	gpi := f.m.(*common.MessageGlobalPositionInt)
	if gpi.Lat != degE7(-35.3632621) || gpi.Lon != degE7(149.1652374) || gpi.Alt != 584000 || gpi.RelativeAlt != 0 {
		t.Errorf("GLOBAL_POSITION_INT = %+v", gpi)
	}
	f, _ = g.waitFor(0, time.Second, isMsg[*common.MessageGpsRawInt](7))
	if gps := f.m.(*common.MessageGpsRawInt); gps.FixType != common.GPS_FIX_TYPE_3D_FIX || gps.SatellitesVisible == 0 || gps.Eph != 70 {
		t.Errorf("GPS_RAW_INT = %+v", gps)
	}
	f, _ = g.waitFor(0, time.Second, isMsg[*common.MessageSysStatus](7))
	if ss := f.m.(*common.MessageSysStatus); ss.VoltageBattery < 16000 || ss.BatteryRemaining != 100 ||
		ss.OnboardControlSensorsHealth&common.MAV_SYS_STATUS_PREARM_CHECK == 0 {
		t.Errorf("SYS_STATUS = %+v", ss)
	}

	// One-shot requests.
	from := g.mark()
	if r := g.command(7, common.MAV_CMD_REQUEST_MESSAGE, 0, 148); r != common.MAV_RESULT_ACCEPTED {
		t.Fatalf("REQUEST_MESSAGE(AUTOPILOT_VERSION) = %v", r)
	}
	f, ok := g.waitFor(from, time.Second, isMsg[*common.MessageAutopilotVersion](7))
	if !ok {
		t.Fatal("no AUTOPILOT_VERSION")
	}
	av := f.m.(*common.MessageAutopilotVersion)
	want := common.MAV_PROTOCOL_CAPABILITY_MISSION_INT | common.MAV_PROTOCOL_CAPABILITY_COMMAND_INT |
		common.MAV_PROTOCOL_CAPABILITY_MAVLINK2 | common.MAV_PROTOCOL_CAPABILITY_MISSION_FENCE |
		common.MAV_PROTOCOL_CAPABILITY_MISSION_RALLY | common.MAV_PROTOCOL_CAPABILITY_PARAM_FLOAT
	if av.Capabilities&want != want || av.Capabilities&common.MAV_PROTOCOL_CAPABILITY_FTP != 0 {
		t.Errorf("capabilities = %v", av.Capabilities)
	}
	if av.FlightSwVersion>>24 != 4 || av.FlightSwVersion>>16&0xff != 5 {
		t.Errorf("flight_sw_version = %#x", av.FlightSwVersion)
	}
	from = g.mark()
	g.mustCommand(7, common.MAV_CMD_REQUEST_MESSAGE, 242)
	f, ok = g.waitFor(from, time.Second, isMsg[*common.MessageHomePosition](7))
	if !ok {
		t.Fatal("no HOME_POSITION")
	}
	if hp := f.m.(*common.MessageHomePosition); hp.Latitude != degE7(-35.3632621) || hp.Altitude != 584000 {
		t.Errorf("HOME_POSITION = %+v", hp)
	}
	from = g.mark()
	g.mustCommand(7, common.MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES, 1)
	if _, ok := g.waitFor(from, time.Second, isMsg[*common.MessageAutopilotVersion](7)); !ok {
		t.Fatal("no AUTOPILOT_VERSION after REQUEST_AUTOPILOT_CAPABILITIES")
	}
	if r := g.command(7, common.MAV_CMD_REQUEST_MESSAGE, 0, 9999); r != common.MAV_RESULT_FAILED {
		t.Errorf("REQUEST_MESSAGE(9999) = %v, want FAILED", r)
	}
}

func TestSetMessageInterval(t *testing.T) {
	t.Parallel()
	_, g := tcpVehicle(t, VehicleConfig{SystemID: 3})
	const gpiID = 33
	window := func() int {
		start := time.Now().Add(100 * time.Millisecond) // let in-flight messages drain
		from := g.mark()
		time.Sleep(600 * time.Millisecond)
		return countIn(g.since(from), 3, gpiID, start, start.Add(500*time.Millisecond))
	}

	g.mustCommand(3, common.MAV_CMD_SET_MESSAGE_INTERVAL, gpiID, 40000) // 25 Hz
	if n := window(); n < 6 || n > 18 {
		t.Errorf("at 25 Hz got %d GLOBAL_POSITION_INT in 0.5 s", n)
	}
	from := g.mark()
	g.mustCommand(3, common.MAV_CMD_GET_MESSAGE_INTERVAL, gpiID)
	f, ok := g.waitFor(from, time.Second, isMsg[*common.MessageMessageInterval](3))
	if !ok || f.m.(*common.MessageMessageInterval).IntervalUs != 40000 {
		t.Errorf("MESSAGE_INTERVAL = %+v", f.m)
	}

	g.mustCommand(3, common.MAV_CMD_SET_MESSAGE_INTERVAL, gpiID, -1)
	if n := window(); n != 0 {
		t.Errorf("disabled, got %d GLOBAL_POSITION_INT in 0.5 s", n)
	}
	g.mustCommand(3, common.MAV_CMD_SET_MESSAGE_INTERVAL, gpiID, 0) // default: SR0_POSITION 4 Hz
	if n := window(); n < 1 || n > 4 {
		t.Errorf("default rate (4 Hz), got %d GLOBAL_POSITION_INT in 0.5 s", n)
	}

	from = g.mark()
	if r := g.command(3, common.MAV_CMD_SET_MESSAGE_INTERVAL, 0, 9999, 1000); r != common.MAV_RESULT_DENIED {
		t.Errorf("unknown message id: %v, want DENIED", r)
	}
	if _, ok := g.waitText(from, 3, "No ap_message", time.Second); !ok {
		t.Error("no STATUSTEXT for unknown message id")
	}
}

func TestRequestDataStream(t *testing.T) {
	t.Parallel()
	v, g := tcpVehicle(t, VehicleConfig{SystemID: 4})
	const attID = 30
	window := func() int {
		start := time.Now().Add(150 * time.Millisecond)
		from := g.mark()
		time.Sleep(1150 * time.Millisecond)
		return countIn(g.since(from), 4, attID, start, start.Add(time.Second))
	}
	g.send(&common.MessageRequestDataStream{TargetSystem: 4, TargetComponent: 1,
		ReqStreamId: common.MAV_DATA_STREAM_EXTRA1, ReqMessageRate: 4, StartStop: 1})
	if n := window(); n < 2 || n > 7 {
		t.Errorf("EXTRA1 at 4 Hz: %d ATTITUDE in 1 s", n)
	}
	v.mu.Lock()
	sr := v.params.get("SR0_EXTRA1")
	v.mu.Unlock()
	if sr != 4 {
		t.Errorf("SR0_EXTRA1 = %v after REQUEST_DATA_STREAM", sr)
	}
	g.send(&common.MessageRequestDataStream{TargetSystem: 4, TargetComponent: 1,
		ReqStreamId: common.MAV_DATA_STREAM_ALL, ReqMessageRate: 0, StartStop: 0})
	if n := window(); n != 0 {
		t.Errorf("all streams stopped: %d ATTITUDE in 1 s", n)
	}
	// Heartbeats are not a data stream and keep coming.
	from := g.mark()
	if _, ok := g.waitFor(from, 2*time.Second, isMsg[*common.MessageHeartbeat](4)); !ok {
		t.Error("heartbeat stopped with the data streams")
	}
}

// TestRequestMessageWhileStreaming asks for a streamed message while the
// scheduler sends it at a high rate; under -race this proves the two do not
// share a message struct.
func TestRequestMessageWhileStreaming(t *testing.T) {
	t.Parallel()
	_, g := tcpVehicle(t, VehicleConfig{SystemID: 16})
	g.mustCommand(16, common.MAV_CMD_SET_MESSAGE_INTERVAL, 30, 5000)
	for range 20 {
		if r := g.command(16, common.MAV_CMD_REQUEST_MESSAGE, 0, 30); r != common.MAV_RESULT_ACCEPTED {
			t.Fatalf("REQUEST_MESSAGE(ATTITUDE) = %v", r)
		}
	}
}
