package httpapi

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/ospreygcs/osprey/mavlink"
)

// TestSlowWebSocketClientIsDropped: a client whose queue overflows is closed with 1008, and publishing
// never waits for it.
func TestSlowWebSocketClientIsDropped(t *testing.T) {
	m, err := mavlink.NewManager(mavlink.Config{StreamRates: map[uint32]float64{}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s, err := New(Config{Fleet: m})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	defer s.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, strings.Replace(srv.URL, "http", "ws", 1)+"/api/v1/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	// Wait until the server has subscribed this client, then flood it while it does not read.
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.events.mu.Lock()
		n := len(s.events.subs)
		s.events.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("client never subscribed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	published := make(chan struct{})
	go func() {
		defer close(published)
		for i := range 10 * eventQueue {
			s.events.publish(apiEvent{Kind: "command_result", Vehicle: "1", Command: "arm", Done: i})
		}
	}()
	select {
	case <-published:
	case <-ctx.Done():
		t.Fatal("publishing blocked on a client that does not read")
	}
	// Now read: some events, then the close.
	for {
		_, _, err := conn.Read(ctx)
		if err == nil {
			continue
		}
		if websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
			t.Fatalf("connection ended with %v, want close 1008", err)
		}
		break
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("timed out")
	}
}
