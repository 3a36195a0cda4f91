package main

import (
	"bytes"
	"context"
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
