package mavlink_test

import (
	"bytes"
	"crypto/sha256"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gomavlib/v3"
	apm "github.com/bluenviron/gomavlib/v3/pkg/dialects/ardupilotmega"
	"github.com/bluenviron/gomavlib/v3/pkg/frame"

	"github.com/ospreygcs/osprey/mavlink"
)

// fakeAutopilot is a bare gomavlib node sending ArduCopter heartbeats, optionally signed.
func fakeAutopilot(t *testing.T, sys byte, addr string, key []byte) {
	t.Helper()
	n := &gomavlib.Node{
		Endpoints:              []gomavlib.EndpointConf{gomavlib.EndpointUDPClient{Address: addr}},
		Dialect:                apm.Dialect,
		OutVersion:             gomavlib.V2,
		OutSystemID:            sys,
		HeartbeatPeriod:        200 * time.Millisecond,
		HeartbeatSystemType:    2, // quadrotor
		HeartbeatAutopilotType: 3, // ArduPilot
	}
	if key != nil {
		n.OutKey = frame.NewV2Key(key)
	}
	if err := n.Initialize(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	go func() {
		for range n.Events() { // drain: the node blocks if nobody reads
		}
	}()
}

func TestSigningPolicies(t *testing.T) {
	key := bytes.Repeat([]byte{0x5a}, 32)
	wrong := bytes.Repeat([]byte{0xa5}, 32)
	for _, c := range []struct {
		policy mavlink.UnsignedPolicy
		want   map[byte]bool // system id -> should become a vehicle
	}{
		{mavlink.RejectUnsigned, map[byte]bool{1: true, 2: false, 3: false}},
		{mavlink.AcceptUnsigned, map[byte]bool{1: true, 2: true, 3: false}},
	} {
		t.Run(string(c.policy), func(t *testing.T) {
			port := freeUDPPort(t)
			m := newManager(t, mavlink.Config{StreamRates: map[uint32]float64{}})
			link := addLink(t, m, mavlink.LinkConfig{URL: "udps:127.0.0.1:" + port, SigningKey: key, Unsigned: c.policy})
			fakeAutopilot(t, 1, "127.0.0.1:"+port, key)   // signed with the right key
			fakeAutopilot(t, 2, "127.0.0.1:"+port, nil)   // unsigned
			fakeAutopilot(t, 3, "127.0.0.1:"+port, wrong) // signed with another key
			ctx := ctxFor(t, 10*time.Second)
			if _, err := m.WaitVehicle(ctx, 1); err != nil {
				t.Fatal(err)
			}
			// Give the others ten heartbeats' time to be (wrongly) accepted.
			deadline := time.Now().Add(2 * time.Second)
			for time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
			}
			for id, want := range c.want {
				_, err := m.Vehicle(id)
				if got := err == nil; got != want {
					t.Errorf("vehicle %d accepted %v, want %v", id, got, want)
				}
			}
			if link.Info().ParseErrors == 0 {
				t.Error("rejected frames were not counted")
			}
		})
	}
}

func TestLoadSigningKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := dir + "/" + name
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	hexKey := strings.Repeat("ab", 32)
	key, err := mavlink.LoadSigningKey(write("hex", hexKey+"\n"))
	if err != nil || !bytes.Equal(key, bytes.Repeat([]byte{0xab}, 32)) {
		t.Fatalf("hex key: %x, %v", key, err)
	}
	key, err = mavlink.LoadSigningKey(write("pass", "correct horse battery staple\n"))
	want := sha256.Sum256([]byte("correct horse battery staple"))
	if err != nil || !bytes.Equal(key, want[:]) {
		t.Fatalf("passphrase key: %x, %v", key, err)
	}
	if _, err := mavlink.LoadSigningKey(write("empty", " \n")); err == nil {
		t.Fatal("empty key file accepted")
	}
	_, err = mavlink.LoadSigningKey(dir + "/missing")
	if err == nil {
		t.Fatal("missing key file accepted")
	}
}

// TestGCSHeartbeatWithNobodyWatching: a link sends osprey's GCS heartbeat at 1 Hz from the moment a peer is
// connected, so an autopilot's GCS failsafe never trips while osprey runs.
func TestGCSHeartbeatWithNobodyWatching(t *testing.T) {
	port := freeTCPPort(t)
	m := newManager(t, mavlink.Config{SystemID: 250, StreamRates: map[uint32]float64{}})
	addLink(t, m, mavlink.LinkConfig{URL: "tcps:127.0.0.1:" + port})
	peer := &gomavlib.Node{
		Endpoints:        []gomavlib.EndpointConf{gomavlib.EndpointTCPClient{Address: "127.0.0.1:" + port}},
		Dialect:          apm.Dialect,
		OutVersion:       gomavlib.V2,
		OutSystemID:      1,
		HeartbeatDisable: true,
	}
	if err := peer.Initialize(); err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	var beats []time.Time
	timeout := time.After(10 * time.Second)
	for len(beats) < 4 {
		select {
		case e := <-peer.Events():
			f, ok := e.(*gomavlib.EventFrame)
			if !ok {
				continue
			}
			if hb, ok := f.Message().(*apm.MessageHeartbeat); ok {
				if f.SystemID() != 250 || hb.Type != 6 || hb.Autopilot != 8 {
					t.Fatalf("heartbeat from %d type %d autopilot %d, want 250, GCS (6), INVALID (8)", f.SystemID(), hb.Type, hb.Autopilot)
				}
				beats = append(beats, time.Now())
			}
		case <-timeout:
			t.Fatalf("%d GCS heartbeats in 10 s", len(beats))
		}
	}
	period := beats[len(beats)-1].Sub(beats[0]) / time.Duration(len(beats)-1)
	t.Logf("GCS heartbeat period %v", period.Round(time.Millisecond))
	if period < 500*time.Millisecond || period > 2*time.Second {
		t.Fatalf("GCS heartbeat every %v, want about 1 s", period)
	}
}
