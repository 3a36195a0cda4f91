package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/spf13/cobra"

	"github.com/ospreygcs/osprey/internal/httpapi"
	"github.com/ospreygcs/osprey/mavlink"
)

// newBenchWSCmd is `osprey bench ws`: simulated fleets in child processes, the link manager and the
// API server in this process, and WebSocket clients in another child, so the server's CPU is its own.
func newBenchWSCmd() *cobra.Command {
	var (
		vehicles int
		counts   string
		window   time.Duration
		settle   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "ws",
		Short: "Telemetry fan-out: simulated vehicles to many WebSocket clients: CPU, memory, updates/s, age of a state on arrival",
		Long: `Runs a simulated fleet in child processes (osprey sitl, one per MAVLink network of up to 250
vehicles), the link manager and the HTTP API in this process, and, for each client count, a child
(osprey bench ws-clients) with that many clients of /api/v1/ws. Over a window it reports:

  server CPU     this process (link manager and API; user+system, share of one core); the fleet and
                 the clients burn theirs in their own processes, shown beside it.
  RSS            this process's resident memory at the end of the window.
  updates/s      vehicle states the clients received, all together and per client. The server sends
                 each client at most 10 states per vehicle per second, so the ceiling is 10 x vehicles
                 per client.
  peak/veh       the most states of one vehicle one client got stamped within one second of the
                 server's clock (the server's limit is 10).
  age            a state's arrival at the client minus last_heard, the server's arrival time of that
                 vehicle's latest frame (same machine clock): coalescing wait plus fan-out and transport.
  drops          clients whose connection the server ended during the window (1008: could not keep up).

A count of 0 measures the server with the fleet and no clients. All processes share this machine's
cores, so at high counts the clients' own JSON decoding competes with the server.`,
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ns, err := parseBenchCounts(counts)
			if err != nil {
				return usageError{fmt.Errorf("--clients %q: want counts like 1,10,50", counts)}
			}
			if vehicles < 1 || window < time.Second || settle < 0 {
				return usageError{errors.New("--vehicles must be positive, --window at least 1s and --settle not negative")}
			}
			self, err := os.Executable()
			if err != nil {
				return err
			}
			cfg := benchWSConfig{vehicles: vehicles, clients: ns, window: window, settle: settle,
				child: func(ctx context.Context, args ...string) *exec.Cmd { return exec.CommandContext(ctx, self, args...) }}
			_, err = benchWS(cmd.Context(), cfg, cmd.OutOrStdout(), cmd.ErrOrStderr())
			return err
		},
	}
	f := cmd.Flags()
	f.IntVar(&vehicles, "vehicles", 200, "how many simulated vehicles")
	f.StringVar(&counts, "clients", "50", "WebSocket client counts to measure, comma-separated (0: the server with no clients)")
	f.DurationVar(&window, "window", 10*time.Second, "how long to measure each count")
	f.DurationVar(&settle, "settle", 3*time.Second, "wait after every vehicle is heard, for stream rates to settle")
	return cmd
}

// newBenchWSClientsCmd is `osprey bench ws-clients`, the child that `bench ws` starts: N clients of the
// live WebSocket, printing the window markers and one JSON result line on stdout.
func newBenchWSClientsCmd() *cobra.Command {
	var (
		url      string
		count    int
		duration time.Duration
	)
	cmd := &cobra.Command{
		Use:    "ws-clients --url URL --count N --duration D",
		Short:  "Run N clients of the live WebSocket and print what they measured as JSON (used by bench ws)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if url == "" || count < 1 || duration <= 0 {
				return usageError{errors.New("want --url ws://HOST:PORT/api/v1/ws, --count of at least 1 and a positive --duration")}
			}
			res, err := runBenchWSClients(cmd.Context(), url, count, duration, cmd.OutOrStdout(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			b, err := json.Marshal(res)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), string(b))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&url, "url", "", "the live WebSocket, ws://HOST:PORT/api/v1/ws")
	f.IntVar(&count, "count", 1, "how many clients")
	f.DurationVar(&duration, "duration", 10*time.Second, "the measurement window")
	return cmd
}

func parseBenchCounts(s string) ([]int, error) {
	var ns []int
	for _, part := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("count %q", part)
		}
		ns = append(ns, n)
	}
	return ns, nil
}

type benchWSConfig struct {
	vehicles int
	clients  []int
	window   time.Duration
	settle   time.Duration
	// child makes the command that runs one of osprey's subcommands in a child process; tests point it
	// at the test binary.
	child func(ctx context.Context, args ...string) *exec.Cmd
}

// benchWSRow is one line of the table.
type benchWSRow struct {
	vehicles, clients        int
	cpu, fleetCPU, clientCPU float64 // shares of one core over the window
	rssMiB                   float64
	res                      benchWSResult
}

// benchWSResult is what the clients child measured, printed as one JSON line.
type benchWSResult struct {
	Clients     int     `json:"clients"`
	WindowS     float64 `json:"window_s"`
	Updates     int64   `json:"updates"` // vehicle states received in the window, all clients
	UpdatesPerS float64 `json:"updates_per_s"`
	// Ages of every state received in the window: arrival minus last_heard.
	AgeP50 time.Duration `json:"age_p50_ns"`
	AgeP99 time.Duration `json:"age_p99_ns"`
	AgeMax time.Duration `json:"age_max_ns"`
	// PeakPerVehicle is the most states of one vehicle one client got within one second of the server's
	// clock (the time of the message that carried them).
	PeakPerVehicle int                   `json:"peak_per_vehicle"`
	Drops          int                   `json:"drops"` // connections the server ended before the window closed
	PerClient      []benchWSClientResult `json:"per_client"`
}

// benchWSClientResult is one client's share of benchWSResult.
type benchWSClientResult struct {
	Updates        int64         `json:"updates"`
	UpdatesPerS    float64       `json:"updates_per_s"`
	Vehicles       int           `json:"vehicles"` // distinct vehicles with at least one state in the window
	AgeP50         time.Duration `json:"age_p50_ns"`
	AgeP99         time.Duration `json:"age_p99_ns"`
	AgeMax         time.Duration `json:"age_max_ns"`
	PeakPerVehicle int           `json:"peak_per_vehicle"`
	Dropped        bool          `json:"dropped,omitempty"`
	CloseStatus    int           `json:"close_status,omitempty"` // the close code the server sent, -1 for none
	Error          string        `json:"error,omitempty"`        // why the connection ended early
}

func benchWS(ctx context.Context, cfg benchWSConfig, out, log io.Writer) ([]benchWSRow, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m, err := mavlink.NewManager(mavlink.Config{})
	if err != nil {
		return nil, err
	}
	defer m.Close()
	fleet, err := startBenchWSFleet(ctx, cfg, m, log)
	defer func() {
		for _, c := range fleet {
			_ = c.Process.Signal(os.Interrupt)
			_ = c.Wait()
		}
	}()
	if err != nil {
		return nil, err
	}

	maxClients := slices.Max(cfg.clients)
	api, err := httpapi.New(httpapi.Config{Fleet: m, MaxWSClients: maxClients + 8,
		Logger: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return nil, err
	}
	// Count the requests in flight: a WebSocket's handler runs until its client goes, so this says when
	// one count's clients are gone from the server, and lets the end wait for every handler (hijacked
	// connections are beyond http.Server's Close).
	var inFlight atomic.Int64
	h := api.Handler()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inFlight.Add(1)
		defer inFlight.Add(-1)
		h.ServeHTTP(w, r)
	})}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln)
	}()
	defer func() {
		api.Shutdown()
		_ = srv.Close()
		<-served
		waitBenchWS(func() bool { return inFlight.Load() == 0 }, 10*time.Second)
	}()
	wsURL := "ws://" + ln.Addr().String() + "/api/v1/ws"

	fmt.Fprintf(log, "bench: %d vehicles: waiting for all to be heard...\n", cfg.vehicles)
	if !waitBenchWS(func() bool { return len(m.Vehicles()) >= cfg.vehicles || ctx.Err() != nil }, 60*time.Second) || ctx.Err() != nil {
		return nil, fmt.Errorf("bench: only %d of %d vehicles heard after 60 s", len(m.Vehicles()), cfg.vehicles)
	}
	if err := sleepCtx(ctx, cfg.settle); err != nil {
		return nil, err
	}

	// Fixed widths rather than a tabwriter: rows print as each count finishes, a window apart.
	fmt.Fprintf(out, "%8s %7s %11s %10s %12s %8s %10s %11s %9s %10s %10s %10s %6s\n", "vehicles", "clients", "server CPU", "fleet CPU",
		"clients CPU", "RSS MiB", "updates/s", "per client", "peak/veh", "age p50", "age p99", "age max", "drops")
	var rows []benchWSRow
	for _, n := range cfg.clients {
		runtime.GC()
		row, err := benchWSCount(ctx, cfg, fleet, wsURL, n, log)
		if err != nil {
			return rows, err
		}
		rows = append(rows, row)
		if n == 0 {
			fmt.Fprintf(out, "%8d %7d %10.1f%% %9.1f%% %12s %8.1f %10s %11s %9s %10s %10s %10s %6s\n", row.vehicles, 0, 100*row.cpu,
				100*row.fleetCPU, "-", row.rssMiB, "-", "-", "-", "-", "-", "-", "-")
		} else {
			r := row.res
			fmt.Fprintf(out, "%8d %7d %10.1f%% %9.1f%% %11.1f%% %8.1f %10.0f %11.0f %9d %10v %10v %10v %6d\n", row.vehicles, n, 100*row.cpu,
				100*row.fleetCPU, 100*row.clientCPU, row.rssMiB, r.UpdatesPerS, r.UpdatesPerS/float64(n), r.PeakPerVehicle,
				r.AgeP50.Round(time.Microsecond), r.AgeP99.Round(time.Microsecond), r.AgeMax.Round(time.Microsecond), r.Drops)
			for i, c := range r.PerClient {
				if c.Error != "" {
					fmt.Fprintf(log, "bench: %d clients: client %d: %s\n", n, i, c.Error)
				}
			}
		}
		// Let this count's connections leave the server before the next count.
		waitBenchWS(func() bool { return inFlight.Load() == 0 }, 10*time.Second)
	}
	fmt.Fprintf(out, "CPU is a share of one core of %d; the fleet and the clients run in their own processes. updates/s counts vehicle\n",
		runtime.NumCPU())
	fmt.Fprintf(out, "states (at most 10 per vehicle per second per client: %d per client here); peak/veh is the most states of one\n", 10*cfg.vehicles)
	fmt.Fprintln(out, "vehicle one client got within one second; age is arrival at the client minus the server's arrival of the vehicle's frame.")
	return rows, nil
}

// startBenchWSFleet runs the simulated fleet in child processes, one per MAVLink network of up to 250
// vehicles, each into its own UDP link of m.
func startBenchWSFleet(ctx context.Context, cfg benchWSConfig, m *mavlink.Manager, log io.Writer) ([]*exec.Cmd, error) {
	var fleet []*exec.Cmd
	for netIdx, first := 0, 0; first < cfg.vehicles; netIdx, first = netIdx+1, first+vehiclesPerNetwork {
		count := min(vehiclesPerNetwork, cfg.vehicles-first)
		port, err := freePort()
		if err != nil {
			return fleet, err
		}
		if _, err := m.AddLink(mavlink.LinkConfig{URL: "udps:127.0.0.1:" + port, Network: fmt.Sprintf("net%d", netIdx)}); err != nil {
			return fleet, err
		}
		c := cfg.child(ctx, "sitl", "--vehicles", strconv.Itoa(count), "--link", "udpc:127.0.0.1:"+port)
		c.Stderr = log
		if err := c.Start(); err != nil {
			return fleet, err
		}
		fleet = append(fleet, c)
	}
	return fleet, nil
}

// benchWSCount measures one client count: this process and the fleet over the clients child's window
// (or over a plain window for 0 clients).
func benchWSCount(ctx context.Context, cfg benchWSConfig, fleet []*exec.Cmd, wsURL string, n int, log io.Writer) (benchWSRow, error) {
	row := benchWSRow{vehicles: cfg.vehicles, clients: n}
	if n == 0 {
		cpu0, fleet0, t0 := selfCPU(), childrenCPU(fleet), time.Now()
		if err := sleepCtx(ctx, cfg.window); err != nil {
			return row, err
		}
		elapsed := time.Since(t0).Seconds()
		row.cpu = (selfCPU() - cpu0).Seconds() / elapsed
		row.fleetCPU = (childrenCPU(fleet) - fleet0).Seconds() / elapsed
		row.rssMiB = rssMiB()
		return row, nil
	}

	fmt.Fprintf(log, "bench: %d clients: connecting...\n", n)
	c := cfg.child(ctx, "bench", "ws-clients", "--url", wsURL, "--count", strconv.Itoa(n), "--duration", cfg.window.String())
	c.Stderr = log
	stdout, err := c.StdoutPipe()
	if err != nil {
		return row, err
	}
	if err := c.Start(); err != nil {
		return row, err
	}
	clients := []*exec.Cmd{c}
	var cpu0, fleet0, clients0 time.Duration
	var t0 time.Time
	started, ended, gotResult := false, false, false
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var parseErr error
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == benchWindowStart:
			started = true
			cpu0, fleet0, clients0, t0 = selfCPU(), childrenCPU(fleet), childrenCPU(clients), time.Now()
		case line == benchWindowEnd && started:
			ended = true
			elapsed := time.Since(t0).Seconds()
			row.cpu = (selfCPU() - cpu0).Seconds() / elapsed
			row.fleetCPU = (childrenCPU(fleet) - fleet0).Seconds() / elapsed
			row.clientCPU = (childrenCPU(clients) - clients0).Seconds() / elapsed
			row.rssMiB = rssMiB()
		case strings.HasPrefix(line, "{"):
			if err := json.Unmarshal([]byte(line), &row.res); err != nil && parseErr == nil {
				parseErr = fmt.Errorf("bench: the clients' result: %w", err)
			}
			gotResult = true
		}
	}
	_, _ = io.Copy(io.Discard, stdout) // a line too long for the scanner: drain so Wait can finish
	waitErr := c.Wait()
	switch {
	case parseErr != nil:
		return row, parseErr
	case waitErr != nil:
		return row, fmt.Errorf("bench: the clients child with %d clients: %w", n, waitErr)
	case !started || !ended || !gotResult:
		return row, fmt.Errorf("bench: the clients child with %d clients gave no full result", n)
	}
	return row, nil
}

// waitBenchWS polls cond until it holds or d passes, and says whether it held.
func waitBenchWS(cond func() bool, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// benchWSMessage is the part of a live-socket message the clients check the scanner against. The
// nested links carry a last_heard of their own; only the vehicle's own is decoded.
type benchWSMessage struct {
	Type     string    `json:"type"`
	Time     time.Time `json:"time"`
	Vehicles []struct {
		Ref       string    `json:"ref"`
		LastHeard time.Time `json:"last_heard"`
	} `json:"vehicles"`
}

// benchWSState is one vehicle's state as the scanner sees it; Ref points into the message.
type benchWSState struct {
	Ref       []byte
	LastHeard time.Time
}

// The byte patterns the scanner looks for, as encoding/json writes them (no spaces, fields in order).
const (
	benchWSTypeKey  = `{"type":"`
	benchWSStates   = `{"type":"states","time":"`
	benchWSRefKey   = `"ref":"`
	benchWSHeardKey = `"last_heard":"`
)

// benchWSScan reads a states message without decoding it: encoding/json in the clients would cost more
// CPU than the server spends encoding (about 100 MB/s of JSON at 50 clients of 200 vehicles), and on a
// shared machine that is taken from the server being measured. It appends each vehicle's ref and own
// last_heard to into: the first last_heard after a ref is the vehicle's, as mavlink.State puts
// last_heard before its links, which have their own. Inside a JSON string a quote is escaped, so the
// keys cannot match string contents. Clients check it against encoding/json now and then
// (benchWSCheck), so a change of format shows as an error rather than wrong figures.
func benchWSScan(b []byte, into []benchWSState) (msgTime time.Time, states []benchWSState, isStates bool, err error) {
	if !bytes.HasPrefix(b, []byte(benchWSStates)) {
		if bytes.HasPrefix(b, []byte(benchWSTypeKey)) {
			return time.Time{}, into, false, nil
		}
		return time.Time{}, into, false, errors.New("not a live-socket message")
	}
	rest := b[len(benchWSStates):]
	msgTime, rest, err = benchWSScanTime(rest)
	if err != nil {
		return time.Time{}, into, true, fmt.Errorf("message time: %w", err)
	}
	for {
		i := bytes.Index(rest, []byte(benchWSRefKey))
		if i < 0 {
			return msgTime, into, true, nil
		}
		rest = rest[i+len(benchWSRefKey):]
		end := bytes.IndexByte(rest, '"')
		if end < 0 {
			return msgTime, into, true, errors.New("unterminated ref")
		}
		ref := rest[:end]
		rest = rest[end:]
		j := bytes.Index(rest, []byte(benchWSHeardKey))
		if j < 0 || bytes.Contains(rest[:j], []byte(benchWSRefKey)) {
			return msgTime, into, true, fmt.Errorf("vehicle %s has no last_heard of its own", ref)
		}
		var heard time.Time
		heard, rest, err = benchWSScanTime(rest[j+len(benchWSHeardKey):])
		if err != nil {
			return msgTime, into, true, fmt.Errorf("vehicle %s: last_heard: %w", ref, err)
		}
		into = append(into, benchWSState{Ref: ref, LastHeard: heard})
	}
}

// benchWSScanTime parses the RFC 3339 time at the start of b, up to its closing quote.
func benchWSScanTime(b []byte) (time.Time, []byte, error) {
	end := bytes.IndexByte(b, '"')
	if end < 0 {
		return time.Time{}, nil, errors.New("unterminated time")
	}
	t, err := time.Parse(time.RFC3339Nano, string(b[:end]))
	return t, b[end+1:], err
}

// benchWSCheck decodes b with encoding/json and says where the scanner's reading of it differs.
func benchWSCheck(b []byte, msgTime time.Time, states []benchWSState) error {
	var msg benchWSMessage
	if err := json.Unmarshal(b, &msg); err != nil {
		return fmt.Errorf("undecodable message: %w", err)
	}
	if !msg.Time.Equal(msgTime) || len(msg.Vehicles) != len(states) {
		return fmt.Errorf("scanner read time %v and %d vehicles, encoding/json %v and %d", msgTime, len(states), msg.Time, len(msg.Vehicles))
	}
	for i, v := range msg.Vehicles {
		if v.Ref != string(states[i].Ref) || !v.LastHeard.Equal(states[i].LastHeard) {
			return fmt.Errorf("scanner read vehicle %s last heard %v, encoding/json %s %v", states[i].Ref, states[i].LastHeard, v.Ref, v.LastHeard)
		}
	}
	return nil
}

// benchWSCheckEvery is how often (in states messages) a client checks the scanner; the first is
// always checked.
const benchWSCheckEvery = 64

// benchWSWindow is the measurement window, in Unix nanoseconds (0: not yet), shared by the clients.
type benchWSWindow struct{ start, end atomic.Int64 }

// benchWSClient is one connection and what it measured; its fields are its reader goroutine's until
// done is closed.
type benchWSClient struct {
	conn  *websocket.Conn
	first chan struct{} // closed at the first states message: the server's full picture
	done  chan struct{} // closed when the reader ends

	ages        []time.Duration
	vehicles    map[string]*benchWSVehicleCount
	updates     int64
	peak        int
	err         error // what went wrong before the window closed
	dropped     bool  // the connection ended before the window closed
	closeStatus websocket.StatusCode
}

// benchWSVehicleCount counts one vehicle's states within the current second of the server's clock.
type benchWSVehicleCount struct {
	sec int64
	n   int
}

func (c *benchWSClient) read(ctx context.Context, win *benchWSWindow) {
	defer close(c.done)
	var buf bytes.Buffer // reused: a states message of 200 vehicles is some 200 KB
	var states []benchWSState
	messages := 0
	for {
		_, r, err := c.conn.Reader(ctx)
		if err == nil {
			buf.Reset()
			_, err = buf.ReadFrom(r)
		}
		if err != nil {
			// Our own cancel at the end is not a failure, nor is anything after the window.
			if ctx.Err() == nil && win.end.Load() == 0 {
				c.err, c.dropped = err, true
				c.closeStatus = websocket.CloseStatus(err)
			}
			return
		}
		arrival := time.Now()
		b := buf.Bytes()
		msgTime, scanned, isStates, err := benchWSScan(b, states[:0])
		states = scanned
		if err == nil && isStates && messages%benchWSCheckEvery == 0 {
			err = benchWSCheck(b, msgTime, states)
		}
		if err != nil {
			c.err = err
			return
		}
		if !isStates {
			continue
		}
		if messages++; messages == 1 {
			close(c.first)
		}
		at := arrival.UnixNano()
		if start, end := win.start.Load(), win.end.Load(); start == 0 || at < start || (end != 0 && at >= end) {
			continue // keep reading, so the server is never held up by this client
		}
		sec := msgTime.Unix()
		for _, v := range states {
			c.ages = append(c.ages, arrival.Sub(v.LastHeard))
			c.updates++
			vc := c.vehicles[string(v.Ref)]
			if vc == nil {
				vc = &benchWSVehicleCount{sec: sec}
				c.vehicles[string(v.Ref)] = vc
			}
			if vc.sec != sec {
				vc.sec, vc.n = sec, 0
			}
			vc.n++
			c.peak = max(c.peak, vc.n)
		}
	}
}

// runBenchWSClients connects count clients to url, waits for each to have the server's first full
// picture, then measures for d between the window markers it prints on out.
func runBenchWSClients(ctx context.Context, url string, count int, d time.Duration, out, log io.Writer) (benchWSResult, error) {
	res := benchWSResult{Clients: count}
	ctx, cancel := context.WithCancel(ctx)
	var win benchWSWindow
	var clients []*benchWSClient
	defer func() {
		cancel()
		for _, c := range clients {
			<-c.done
			_ = c.conn.CloseNow()
		}
	}()
	for i := range count {
		dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
		conn, _, err := websocket.Dial(dctx, url, nil)
		dcancel()
		if err != nil {
			return res, fmt.Errorf("ws-clients: client %d of %d: %w", i+1, count, err)
		}
		// A states message carries every vehicle that changed: far beyond the 32 KiB default.
		conn.SetReadLimit(64 << 20)
		c := &benchWSClient{conn: conn, first: make(chan struct{}), done: make(chan struct{}), vehicles: map[string]*benchWSVehicleCount{}}
		clients = append(clients, c)
		go c.read(ctx, &win)
	}
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for i, c := range clients {
		select {
		case <-c.first:
		case <-c.done:
			return res, fmt.Errorf("ws-clients: client %d ended before the server's first message: %v", i+1, c.err)
		case <-deadline.C:
			return res, fmt.Errorf("ws-clients: client %d had no message from the server within 30 s", i+1)
		case <-ctx.Done():
			return res, ctx.Err()
		}
	}
	fmt.Fprintf(log, "ws-clients: %d clients connected; measuring for %v\n", count, d)

	fmt.Fprintln(out, benchWindowStart)
	t0 := time.Now()
	win.start.Store(t0.UnixNano())
	if err := sleepCtx(ctx, d); err != nil {
		return res, err
	}
	t1 := time.Now()
	win.end.Store(t1.UnixNano())
	fmt.Fprintln(out, benchWindowEnd)
	cancel()
	for _, c := range clients {
		<-c.done
	}

	elapsed := t1.Sub(t0).Seconds()
	res.WindowS = elapsed
	var all []time.Duration
	for _, c := range clients {
		cr := benchWSClientResult{Updates: c.updates, UpdatesPerS: float64(c.updates) / elapsed, Vehicles: len(c.vehicles),
			PeakPerVehicle: c.peak}
		cr.AgeP50, cr.AgeP99, cr.AgeMax = benchWSPercentiles(c.ages)
		if c.err != nil {
			cr.Error = c.err.Error()
		}
		if c.dropped {
			cr.Dropped, cr.CloseStatus = true, int(c.closeStatus)
			res.Drops++
		}
		res.PerClient = append(res.PerClient, cr)
		res.Updates += c.updates
		res.PeakPerVehicle = max(res.PeakPerVehicle, c.peak)
		all = append(all, c.ages...)
	}
	res.UpdatesPerS = float64(res.Updates) / elapsed
	res.AgeP50, res.AgeP99, res.AgeMax = benchWSPercentiles(all)
	return res, nil
}

// benchWSPercentiles sorts ages and returns their p50, p99 and maximum (zero when there are none).
func benchWSPercentiles(ages []time.Duration) (p50, p99, maxAge time.Duration) {
	if len(ages) == 0 {
		return 0, 0, 0
	}
	slices.Sort(ages)
	return ages[len(ages)/2], ages[len(ages)*99/100], ages[len(ages)-1]
}
