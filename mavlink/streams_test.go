package mavlink_test

import (
	"testing"
	"time"

	"github.com/bluenviron/gomavlib/v3"
	apm "github.com/bluenviron/gomavlib/v3/pkg/dialects/ardupilotmega"

	"github.com/ospreygcs/osprey/mavlink"
)

// TestStreamRatesFallBackToRequestDataStream: an autopilot that does not know SET_MESSAGE_INTERVAL (old
// ArduPilot) is asked with REQUEST_DATA_STREAM instead; one that knows it gets an interval per message.
func TestStreamRatesFallBackToRequestDataStream(t *testing.T) {
	for _, c := range []struct {
		name      string
		supported bool
	}{{"old autopilot", false}, {"current autopilot", true}} {
		t.Run(c.name, func(t *testing.T) {
			port := freeUDPPort(t)
			m := newManager(t, mavlink.Config{CommandTimeout: 200 * time.Millisecond, CommandRetries: 1,
				StreamRates: map[uint32]float64{33: 4, 30: 10}})
			addLink(t, m, mavlink.LinkConfig{URL: "udps:127.0.0.1:" + port})
			ap := &gomavlib.Node{
				Endpoints:              []gomavlib.EndpointConf{gomavlib.EndpointUDPClient{Address: "127.0.0.1:" + port}},
				Dialect:                apm.Dialect,
				OutVersion:             gomavlib.V2,
				OutSystemID:            1,
				HeartbeatPeriod:        200 * time.Millisecond,
				HeartbeatSystemType:    2,
				HeartbeatAutopilotType: 3,
			}
			if err := ap.Initialize(); err != nil {
				t.Fatal(err)
			}
			defer ap.Close()
			intervals := map[float32]float32{}
			dataStreams := 0
			deadline := time.After(10 * time.Second)
			for done := false; !done; {
				select {
				case e := <-ap.Events():
					f, ok := e.(*gomavlib.EventFrame)
					if !ok {
						continue
					}
					switch msg := f.Message().(type) {
					case *apm.MessageCommandLong:
						result := apm.MAV_RESULT_ACCEPTED
						if msg.Command == 511 {
							if c.supported {
								intervals[msg.Param1] = msg.Param2
							} else {
								result = apm.MAV_RESULT_UNSUPPORTED
							}
						}
						_ = ap.WriteMessageTo(f.Channel, &apm.MessageCommandAck{Command: msg.Command, Result: result, TargetSystem: f.SystemID(), TargetComponent: f.ComponentID()})
					case *apm.MessageRequestDataStream:
						if msg.StartStop == 1 && msg.ReqMessageRate > 0 {
							dataStreams++
						}
					}
					done = (c.supported && len(intervals) == 2) || (!c.supported && dataStreams > 0)
				case <-deadline:
					t.Fatalf("intervals %v, REQUEST_DATA_STREAM %d", intervals, dataStreams)
				}
			}
			if c.supported && (intervals[33] != 250_000 || intervals[30] != 100_000) {
				t.Fatalf("intervals %v µs, want GLOBAL_POSITION_INT 250000 and ATTITUDE 100000", intervals)
			}
		})
	}
}
