package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ospreygcs/osprey/mavlink"
)

// benchWSHelperEnv makes the test binary act as the osprey binary for bench ws's children.
const benchWSHelperEnv = "OSPREY_BENCHWS_HELPER"

// TestBenchWSHelperProcess is not a test: run by TestBenchWS as a child with the environment variable
// set, it runs the osprey command line given after "--" (sitl, bench ws-clients) and exits.
func TestBenchWSHelperProcess(t *testing.T) {
	if os.Getenv(benchWSHelperEnv) != "1" {
		t.Skip("the child process of TestBenchWS")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	bench, _, err := root.Find([]string{"bench"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(exitFailure)
	}
	// Until the lead registers the command, the helper does.
	registered := false
	for _, c := range bench.Commands() {
		registered = registered || c.Name() == "ws-clients"
	}
	if !registered {
		bench.AddCommand(newBenchWSClientsCmd())
	}
	root.SetArgs(flag.Args())
	code := exitOK
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "osprey:", err)
		code = exitCode(err)
	}
	stop()
	os.Exit(code)
}

// lockedBuffer collects the children's stderr, which exec copies from several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestBenchWS runs the bench with a tiny fleet and two clients over a real fleet child, the real API
// server and a real clients child, and checks what the clients measured is plausible: every client got
// every vehicle, ages are positive and shorter than the window, and no vehicle exceeded the server's
// 10 states a second to one client.
func TestBenchWS(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const vehicles, clients, window = 3, 2, 2 * time.Second
	cfg := benchWSConfig{vehicles: vehicles, clients: []int{clients}, window: window,
		child: func(ctx context.Context, args ...string) *exec.Cmd {
			c := exec.CommandContext(ctx, os.Args[0], append([]string{"-test.run=^TestBenchWSHelperProcess$", "--"}, args...)...)
			c.Env = append(os.Environ(), benchWSHelperEnv+"=1")
			return c
		}}
	var out bytes.Buffer
	var log lockedBuffer
	rows, err := benchWS(ctx, cfg, &out, &log)
	t.Logf("table:\n%s", out.String())
	if err != nil {
		t.Fatalf("bench: %v\nlog:\n%s", err, log.String())
	}
	if len(rows) != 1 {
		t.Fatalf("got %d rows, want 1", len(rows))
	}
	res := rows[0].res
	if res.Clients != clients || len(res.PerClient) != clients {
		t.Fatalf("result for %d clients with %d per-client entries, want %d", res.Clients, len(res.PerClient), clients)
	}
	if res.Drops != 0 {
		t.Errorf("%d clients dropped: %+v", res.Drops, res.PerClient)
	}
	if res.AgeP50 <= 0 || res.AgeP99 < res.AgeP50 || res.AgeMax < res.AgeP99 || res.AgeMax >= window {
		t.Errorf("ages p50 %v p99 %v max %v: want 0 < p50 <= p99 <= max < %v", res.AgeP50, res.AgeP99, res.AgeMax, window)
	}
	if res.PeakPerVehicle < 1 || res.PeakPerVehicle > 10 {
		t.Errorf("peak states of one vehicle within a second %d, want 1..10", res.PeakPerVehicle)
	}
	var sum int64
	for i, c := range res.PerClient {
		sum += c.Updates
		if c.Vehicles != vehicles {
			t.Errorf("client %d got states of %d vehicles, want %d", i, c.Vehicles, vehicles)
		}
		if c.Error != "" {
			t.Errorf("client %d: %s", i, c.Error)
		}
		if c.AgeP50 <= 0 || c.AgeMax >= window {
			t.Errorf("client %d: ages p50 %v max %v: want positive and below %v", i, c.AgeP50, c.AgeMax, window)
		}
		// The mean rate over the window cannot exceed the limit either (one extra for the window's edges).
		if limit := int64(10*window.Seconds()+1) * vehicles; c.Updates < vehicles || c.Updates > limit {
			t.Errorf("client %d: %d states in %v, want %d..%d", i, c.Updates, window, vehicles, limit)
		}
	}
	if sum != res.Updates {
		t.Errorf("per-client states add up to %d, the total says %d", sum, res.Updates)
	}
	if !strings.Contains(out.String(), "age p99") || !strings.Contains(out.String(), fmt.Sprintf("%8d %7d ", vehicles, clients)) {
		t.Errorf("table lacks its header or the row for %d vehicles and %d clients:\n%s", vehicles, clients, out.String())
	}
}

// benchWSTestMessage is a states message as the server writes it (httpapi's vehicle view embeds
// mavlink.State after its ref), with text the scanner must not be fooled by.
func benchWSTestMessage(t testing.TB, refs []string, text, link string) []byte {
	t.Helper()
	type vehicle struct {
		Ref string `json:"ref"`
		mavlink.State
		Stale bool `json:"stale"`
	}
	heard := time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)
	msg := struct {
		Type     string    `json:"type"`
		Time     time.Time `json:"time"`
		Vehicles []vehicle `json:"vehicles"`
	}{Type: "states", Time: heard.Add(time.Second)}
	for i, ref := range refs {
		h := heard.Add(time.Duration(i) * time.Millisecond)
		msg.Vehicles = append(msg.Vehicles, vehicle{Ref: ref, State: mavlink.State{Network: "net0", SystemID: byte(i + 1), Mode: text,
			StatusTexts: []mavlink.StatusText{{Time: h.Add(-time.Hour), Text: text}},
			LastHeard:   h, LastHeartbeat: h.Add(-time.Minute),
			Links: []mavlink.LinkHealth{{Link: link, LastHeard: h.Add(-2 * time.Hour)}}}})
	}
	b, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var benchWSScanCases = []struct {
	name       string
	refs       []string
	text, link string
}{
	{"one", []string{"1"}, "EKF3 IMU0 is using GPS", "udps:127.0.0.1:14550"},
	{"networks", []string{"net0:1", "net0:2", "net1:250"}, "", ""},
	{"none", nil, "", ""},
	{"keys in text", []string{"7", "8"}, `"ref":"9","last_heard":"2020-01-01T00:00:00Z"`, `{"ref":"x"}`},
	{"escapes", []string{"3"}, "quote \" backslash \\ newline \n <tag> é", "\"last_heard\":\""},
}

// TestBenchWSScan: the clients' scanner reads what encoding/json reads, and nothing from inside strings.
func TestBenchWSScan(t *testing.T) {
	for _, tc := range benchWSScanCases {
		t.Run(tc.name, func(t *testing.T) {
			b := benchWSTestMessage(t, tc.refs, tc.text, tc.link)
			msgTime, states, isStates, err := benchWSScan(b, nil)
			if err != nil || !isStates {
				t.Fatalf("scan: states %v, %v", isStates, err)
			}
			if len(states) != len(tc.refs) {
				t.Fatalf("scanned %d vehicles, want %d", len(states), len(tc.refs))
			}
			if err := benchWSCheck(b, msgTime, states); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, other := range []string{`{"type":"event","time":"2025-03-01T12:00:00Z","event":{}}`, `{"type":"api","time":"2025-03-01T12:00:00Z"}`} {
		if _, _, isStates, err := benchWSScan([]byte(other), nil); isStates || err != nil {
			t.Errorf("%s: states %v, %v; want skipped", other, isStates, err)
		}
	}
	for _, bad := range []string{``, `[]`, `{"type":"states","time":"yesterday"}`, `{"type":"states","time":"2025-03-01T12:00:00Z","vehicles":[{"ref":"1"}]}`,
		`{"type":"states","time":"2025-03-01T12:00:00Z","vehicles":[{"ref":"1"},{"ref":"2","last_heard":"2025-03-01T12:00:00Z"}]}`,
		`{"type":"states","time":"2025-03-01T12:00:00Z","vehicles":[{"ref":"1`} {
		if _, _, _, err := benchWSScan([]byte(bad), nil); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	// A change the scanner cannot follow shows as a disagreement, not as wrong figures.
	b := benchWSTestMessage(t, []string{"1"}, "", "")
	msgTime, states, _, err := benchWSScan(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	states[0].LastHeard = states[0].LastHeard.Add(time.Millisecond)
	if err := benchWSCheck(b, msgTime, states); err == nil {
		t.Error("check agreed with a wrong last_heard")
	}
}

// FuzzBenchWSScan: whatever a status text or link name holds, the scanner agrees with encoding/json,
// and no input makes it panic.
func FuzzBenchWSScan(f *testing.F) {
	for _, tc := range benchWSScanCases {
		f.Add(tc.text, tc.link, uint8(len(tc.refs)))
	}
	f.Fuzz(func(t *testing.T, text, link string, n uint8) {
		var refs []string
		for i := range int(n % 8) {
			refs = append(refs, fmt.Sprintf("net%d:%d", i%2, i+1))
		}
		b := benchWSTestMessage(t, refs, text, link)
		msgTime, states, isStates, err := benchWSScan(b, nil)
		if err != nil || !isStates {
			t.Fatalf("scan: states %v, %v", isStates, err)
		}
		if err := benchWSCheck(b, msgTime, states); err != nil {
			t.Fatal(err)
		}
		_, _, _, _ = benchWSScan([]byte(text), nil)
	})
}
