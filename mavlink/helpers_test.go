package mavlink_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ospreygcs/osprey/mavlink"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Canberra Model Aircraft Club, ArduPilot's SITL home.
const homeLat, homeLon, homeAlt = -35.363261, 149.165230, 584.0

// freeUDPPort returns a loopback UDP port that was free a moment ago.
func freeUDPPort(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return strconv.Itoa(c.LocalAddr().(*net.UDPAddr).Port)
}

func freeTCPPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func newManager(t *testing.T, conf mavlink.Config) *mavlink.Manager {
	t.Helper()
	m, err := mavlink.NewManager(conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

func addLink(t *testing.T, m *mavlink.Manager, conf mavlink.LinkConfig) *mavlink.Link {
	t.Helper()
	l, err := m.AddLink(conf)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
