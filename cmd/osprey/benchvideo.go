package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ospreygcs/osprey/video/benchviewer"
	"github.com/ospreygcs/osprey/video/relay"
	"github.com/ospreygcs/osprey/video/whep"
)

// The lines the viewers child prints on stdout around its measurement
// window, so the relay process measures its CPU over the same interval.
const (
	benchWindowStart = "bench: window start"
	benchWindowEnd   = "bench: window end"
	benchStream      = "sim/1"
)

// newBenchVideoCmd is `osprey bench video`: the relay in this process, the
// camera and the viewers in child processes.
func newBenchVideoCmd() *cobra.Command {
	var (
		counts     string
		window     time.Duration
		size       string
		fps, gop   int
		recvBuffer int
		lossPct    float64
		join       time.Duration
		camAddr    string
		relayWHEP  string
		relayPID   int
		relayLog   string
		cpuProfile string
	)
	cmd := &cobra.Command{
		Use:   "video",
		Short: "One simulated 720p30 camera through the relay to many WHEP viewers: CPU, memory, loss, first frame, relay hop",
		Long: `Runs three processes: a simulated camera (osprey sitl --cameras), the relay (this process, the
real video/relay with its RTSP ingest and WHEP egress), and, for each viewer count, a child
(osprey bench whep-viewers) with that many pion WebRTC viewers plus one RTSP client reading the
camera directly. Over a window after every viewer has caught up with live it reports:

  relay CPU        this process's CPU (user+system, share of one core); the camera and the viewers
                   burn theirs in their own processes. "per viewer" is (CPU - CPU with 0 viewers) / N.
  RSS              this process's resident memory at the end of the window, and its growth per viewer.
  loss             RTP sequence numbers the viewers never got (after NACK retransmission), and
                   pictures a viewer never got at all (dropped by the relay for a slow viewer).
  first frame      POST of the offer to the first complete keyframe at the viewer.
  caught up        POST of the offer to the first picture less than 100 ms behind the camera's
                   direct path: a relay that starts viewers from its cached keyframe group gets
                   there once that group, and the live pictures queued behind it, are through.
  relay hop        for each picture, its arrival through the relay minus its arrival straight from
                   the camera, matched by content (the relay rewrites timestamps, not NAL units).

Caveats: all three processes share this machine's cores, so at high counts the viewers' own
decryption competes with the relay and shows up as loss and hop time; loopback has no real
network; viewers use their socket's receive buffer (--recv-buffer) as a browser would its own.

Another relay (mediamtx, say) is measured on the same harness with --relay-whep and --relay-pid:
the bench serves its camera on --camera-addr, the other relay pulls it from there, and its
process's CPU and memory are read from /proc.`,
		Example: `  # osprey's relay, viewers joining as fast as they can, then one every 100 ms
  osprey bench video --viewers 1,50,100,200
  osprey bench video --viewers 50,200 --join-interval 100ms

  # mediamtx v1.15.3 on the same harness (its path sim/1 pulls rtsp://127.0.0.1:18554/sim/1)
  mediamtx bench-mediamtx.yml &
  osprey bench video --camera-addr 127.0.0.1:18554 \
    --relay-whep http://127.0.0.1:8889/sim/1/whep --relay-pid $!`,
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var ns []int
			for _, s := range strings.Split(counts, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(s))
				if err != nil || n < 1 {
					return usageError{fmt.Errorf("--viewers %q: want counts like 1,50,100", counts)}
				}
				ns = append(ns, n)
			}
			w, h, err := parseSize(size)
			if err != nil {
				return usageError{err}
			}
			if fps < 1 || gop < 1 || window < time.Second {
				return usageError{errors.New("--fps and --gop must be positive and --window at least 1s")}
			}
			if (relayWHEP == "") != (relayPID == 0) {
				return usageError{errors.New("--relay-whep and --relay-pid go together")}
			}
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			return benchVideo(cmd.Context(), benchVideoConfig{counts: ns, window: window, width: w, height: h, fps: fps, gop: gop,
				recvBuffer: recvBuffer, lossPct: lossPct, join: join, camAddr: camAddr, relayWHEP: relayWHEP, relayPID: relayPID, relayLog: relayLog},
				cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&counts, "viewers", "1,50,100,200,300", "viewer counts to measure, comma-separated")
	f.DurationVar(&window, "window", 10*time.Second, "how long to measure each count")
	f.StringVar(&size, "size", "1280x720", "camera picture size")
	f.IntVar(&fps, "fps", 30, "camera frame rate")
	f.IntVar(&gop, "gop", 150, "camera frames between keyframes (150 at 720p30 is about 4.2 Mbit/s: a 130 KB keyframe every 5 s)")
	f.IntVar(&recvBuffer, "recv-buffer", 1<<20, "each viewer's UDP receive buffer in bytes (0: kernel default)")
	f.Float64Var(&lossPct, "loss-threshold", 0.1, "packet or picture loss, in percent, that counts as loss starting")
	f.DurationVar(&join, "join-interval", 0, "time between viewers' offers (0: as fast as 16 concurrent set-ups allow)")
	f.StringVar(&camAddr, "camera-addr", "", "TCP address the camera's RTSP server listens on (default: a free loopback port)")
	f.StringVar(&relayWHEP, "relay-whep", "", "measure another relay: its WHEP URL for the camera's stream")
	f.IntVar(&relayPID, "relay-pid", 0, "the other relay's process id, for its CPU and memory")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of this process (the relay, unless --relay-whep) to this file")
	f.StringVar(&relayLog, "relay-log", "", "write osprey's relay log (a line per session, with its NACK figures) to this file")
	return cmd
}

type benchVideoConfig struct {
	counts             []int
	window             time.Duration
	width, height, fps int
	gop, recvBuffer    int
	lossPct            float64
	join               time.Duration
	camAddr            string // empty: a free port
	relayWHEP          string // another relay under test, or empty
	relayPID           int
	relayLog           string // a file for the relay's log lines, or empty
}

// relayUnderTest is the process the bench measures.
type relayUnderTest struct {
	name     string
	whepURL  string
	cpu      func() time.Duration
	rssMiB   func() float64
	sessions func() int // WHEP sessions still open; nil when unknown
}

// benchVideoRow is one line of the table.
type benchVideoRow struct {
	viewers     int
	cpu, rssMiB float64
	viewersCPU  float64 // the viewers' process
	res         benchviewer.Result
}

func benchVideo(ctx context.Context, cfg benchVideoConfig, out, log io.Writer) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// The camera, in its own process so its encoding is not the relay's CPU.
	cam, camURL, err := startBenchCamera(ctx, self, cfg, log)
	if err != nil {
		return err
	}
	defer func() {
		_ = cam.Process.Signal(os.Interrupt)
		_ = cam.Wait()
	}()

	var rt relayUnderTest
	if cfg.relayWHEP != "" {
		rt = relayUnderTest{
			name: fmt.Sprintf("process %d", cfg.relayPID), whepURL: cfg.relayWHEP,
			cpu:    func() time.Duration { return procCPU(cfg.relayPID) },
			rssMiB: func() float64 { return procRSSMiB(strconv.Itoa(cfg.relayPID)) },
		}
		if rt.rssMiB() == 0 {
			return fmt.Errorf("bench: no process %d to measure", cfg.relayPID)
		}
		fmt.Fprintf(log, "bench: camera %s; waiting 8 s for the relay at %s to pull it\n", camURL, cfg.relayWHEP)
		if err := sleepCtx(ctx, 8*time.Second); err != nil {
			return err
		}
	} else {
		r, whepURL, stop, err := startBenchRelay(ctx, cfg, camURL)
		if err != nil {
			return err
		}
		defer stop()
		rt = relayUnderTest{name: "osprey (this process)", whepURL: whepURL, cpu: selfCPU, rssMiB: rssMiB,
			sessions: func() int { return r.WHEP().Sessions() }}
		fmt.Fprintf(log, "bench: camera %s (%dx%d@%d, GOP %d), relay WHEP %s\n", camURL, cfg.width, cfg.height, cfg.fps, cfg.gop, whepURL)
	}

	// Zero viewers: what ingest alone costs, subtracted to get the cost of
	// a viewer.
	if err := sleepCtx(ctx, 2*time.Second); err != nil {
		return err
	}
	runtime.GC()
	debug.FreeOSMemory()
	camProc := []*exec.Cmd{cam}
	cpu0, cam0, t0 := rt.cpu(), childrenCPU(camProc), time.Now()
	if err := sleepCtx(ctx, cfg.window); err != nil {
		return err
	}
	elapsed := time.Since(t0).Seconds()
	base := benchVideoRow{cpu: (rt.cpu() - cpu0).Seconds() / elapsed, rssMiB: rt.rssMiB()}
	camCPU := (childrenCPU(camProc) - cam0).Seconds() / elapsed
	joins := "as fast as they can"
	if cfg.join > 0 {
		joins = "one every " + cfg.join.String()
	}
	fmt.Fprintf(out, "relay %s; stream %s: %dx%d@%d, keyframe every %d pictures; viewers join %s\n",
		rt.name, benchStream, cfg.width, cfg.height, cfg.fps, cfg.gop, joins)
	fmt.Fprintf(out, "camera process CPU %.1f%%; relay with 0 viewers: CPU %.1f%%, RSS %.1f MiB\n", 100*camCPU, 100*base.cpu, base.rssMiB)

	var rows []benchVideoRow
	for _, n := range cfg.counts {
		row, err := benchVideoCount(ctx, self, rt, camURL, n, cfg, log)
		if err != nil {
			return err
		}
		rows = append(rows, row)
		// Let the sessions end and the heap shrink before the next count.
		for d := time.Now().Add(30 * time.Second); rt.sessions != nil && rt.sessions() > 0 && time.Now().Before(d); {
			time.Sleep(100 * time.Millisecond)
		}
		if rt.sessions == nil {
			_ = sleepCtx(ctx, 2*time.Second) // unknown: give the other relay time to end them
		}
		runtime.GC()
		debug.FreeOSMemory()
	}

	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "viewers\tok\trelay CPU\tper viewer\tRSS MiB\tper viewer\tviewers CPU\tMbit/s each\tpkt loss %\tpics missing %\tincomplete %\tfirst pkt p50\tfirst frame p50\tp99\tlate start\tcaught up p50\tp99\thop p50\thop p99\tref lag p50\t")
	lossAt := 0
	for _, row := range rows {
		res := row.res
		missing, incomplete := 0.0, 0.0
		if res.FramesExpected > 0 {
			missing = 100 * float64(res.FramesMissing) / float64(res.FramesExpected)
		}
		if res.Frames > 0 {
			incomplete = 100 * float64(res.FramesIncomplete) / float64(res.Frames)
		}
		perCPU := (row.cpu - base.cpu) / float64(row.viewers)
		perRSS := (row.rssMiB - base.rssMiB) / float64(row.viewers)
		fmt.Fprintf(tw, "%d\t%d\t%.1f%%\t%.2f%%\t%.1f\t%.2f\t%.0f%%\t%.2f\t%.3f\t%.2f\t%.2f\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t\n", row.viewers, res.Connected,
			100*row.cpu, 100*perCPU, row.rssMiB, perRSS, 100*row.viewersCPU, res.MbpsPerViewer, res.LossPct, missing, incomplete,
			msStr(res.FirstPacketMs.P50), msStr(res.TTFFMs.P50), msStr(res.TTFFMs.P99), res.LateStarts,
			caughtUpStr(res), msStr(res.CaughtUpMs.P99), msStr(res.HopMs.P50), msStr(res.HopMs.P99), msStr(res.RefLagMs.P50))
		if lossAt == 0 && (res.LossPct > cfg.lossPct || missing > cfg.lossPct || res.Failed > 0) {
			lossAt = row.viewers
		}
		for _, e := range res.Errors {
			fmt.Fprintf(log, "bench: %d viewers: %s\n", row.viewers, e)
		}
	}
	_ = tw.Flush()
	if lossAt > 0 {
		fmt.Fprintf(out, "loss starts at %d viewers (packet or picture loss over %.2f%%, or a viewer failing)\n", lossAt, cfg.lossPct)
	} else {
		fmt.Fprintf(out, "no loss over %.2f%% up to %d viewers\n", cfg.lossPct, rows[len(rows)-1].viewers)
	}
	fmt.Fprintf(out, "CPU is a share of one core of %d: relay process only; the camera and the viewers run in their own processes.\n", runtime.NumCPU())
	fmt.Fprintln(out, "first pkt is POST to the first RTP packet (ICE and DTLS done); first frame is POST to the first complete keyframe")
	fmt.Fprintln(out, "(late start: viewers that got pictures before one); caught up is POST to the first picture less than 100 ms")
	fmt.Fprintln(out, "behind the camera's direct path (the cached pictures a joining viewer gets, and what queued behind them, are through;")
	fmt.Fprintln(out, "+N: viewers that never got there); the window opens once every viewer has caught up, so hop is live viewers' hop;")
	fmt.Fprintln(out, "pics missing: pictures a viewer did not get whole (dropped by the relay or broken by a lost packet);")
	fmt.Fprintln(out, "hop is each picture's arrival via the relay minus its arrival straight from the camera, both in the viewers' process;")
	fmt.Fprintln(out, "ref lag (capture to arrival straight from the camera, from RTCP sender reports) stays small while that process keeps up.")
	return nil
}

// caughtUpStr is the caught-up p50, with the viewers that never caught up.
func caughtUpStr(res benchviewer.Result) string {
	if res.NotCaughtUp > 0 {
		return fmt.Sprintf("%s +%d", msStr(res.CaughtUpMs.P50), res.NotCaughtUp)
	}
	return msStr(res.CaughtUpMs.P50)
}

// startBenchRelay runs the relay in this process, as `osprey relay` runs
// it, and waits until the camera is live; stop ends it.
func startBenchRelay(ctx context.Context, cfg benchVideoConfig, camURL string) (*relay.Relay, string, func(), error) {
	maxN := 0
	for _, n := range cfg.counts {
		maxN = max(maxN, n)
	}
	rcfg := relay.Config{
		Cameras: []relay.CameraConfig{{Name: benchStream, URL: camURL, Transport: "tcp"}},
		WHEP:    whep.Config{UDPAddress: "127.0.0.1:0", MaxSessions: maxN + 16},
	}
	var logFile *os.File
	if cfg.relayLog != "" {
		f, err := os.Create(cfg.relayLog)
		if err != nil {
			return nil, "", nil, err
		}
		logFile = f
		var mu sync.Mutex
		rcfg.Logf = func(format string, args ...any) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(f, time.Now().Format("15:04:05.000 ")+format+"\n", args...)
		}
	}
	r, err := relay.New(rcfg)
	if err != nil {
		if logFile != nil {
			_ = logFile.Close()
		}
		return nil, "", nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	runDone := make(chan struct{})
	go func() {
		defer close(runDone)
		_ = r.Run(ctx)
	}()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		<-runDone
		r.Close()
		return nil, "", nil, err
	}
	srv := &http.Server{Handler: r.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	stop := func() {
		_ = srv.Close()
		cancel()
		<-runDone
		r.Close()
		if logFile != nil {
			_ = logFile.Close()
		}
	}
	whepURL := "http://" + ln.Addr().String() + whep.PathPrefix + benchStream + "/whep"
	deadline := time.Now().Add(30 * time.Second)
	for {
		if st := r.Streams(); len(st) == 1 && st[0].State == "live" && st[0].FPS > 0 {
			return r, whepURL, stop, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			stop()
			return nil, "", nil, fmt.Errorf("bench: the relay did not get the camera live within 30 s: %+v", r.Streams())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// benchVideoCount runs one child with n viewers and measures this
// process over the child's window.
func benchVideoCount(ctx context.Context, self string, rt relayUnderTest, camURL string, n int, cfg benchVideoConfig,
	log io.Writer,
) (benchVideoRow, error) {
	row := benchVideoRow{viewers: n}
	began := time.Now()
	fmt.Fprintf(log, "bench: %d viewers: connecting...\n", n)
	defer func() { fmt.Fprintf(log, "bench: %d viewers: done in %.0f s\n", n, time.Since(began).Seconds()) }()
	c := exec.CommandContext(ctx, self, "bench", "whep-viewers", "--url", rt.whepURL, "--rtsp", camURL,
		"--count", strconv.Itoa(n), "--duration", cfg.window.String(), "--recv-buffer", strconv.Itoa(cfg.recvBuffer),
		"--join-interval", cfg.join.String())
	c.Stderr = log
	stdout, err := c.StdoutPipe()
	if err != nil {
		return row, err
	}
	if err := c.Start(); err != nil {
		return row, err
	}
	defer func() { _ = c.Wait() }()

	var cpu0, child0 time.Duration
	var t0 time.Time
	child := []*exec.Cmd{c}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	gotResult := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == benchWindowStart:
			cpu0, child0, t0 = rt.cpu(), childrenCPU(child), time.Now()
		case line == benchWindowEnd:
			elapsed := time.Since(t0).Seconds()
			row.cpu = (rt.cpu() - cpu0).Seconds() / elapsed
			row.viewersCPU = (childrenCPU(child) - child0).Seconds() / elapsed
			row.rssMiB = rt.rssMiB()
			if rt.sessions != nil {
				fmt.Fprintf(log, "bench: %d viewers: window done, %d WHEP sessions\n", n, rt.sessions())
			}
		case strings.HasPrefix(line, "{"):
			if err := json.Unmarshal([]byte(line), &row.res); err != nil {
				return row, fmt.Errorf("bench: viewers' result: %w", err)
			}
			gotResult = true
		}
	}
	if !gotResult {
		return row, fmt.Errorf("bench: the viewers child with %d viewers gave no result", n)
	}
	return row, nil
}

// startBenchCamera runs `osprey sitl --cameras` with one camera and
// returns the process and its RTSP URL once the camera accepts
// connections.
func startBenchCamera(ctx context.Context, self string, cfg benchVideoConfig, log io.Writer) (*exec.Cmd, string, error) {
	addr := cfg.camAddr
	if addr == "" {
		a, err := freeTCPAddr()
		if err != nil {
			return nil, "", err
		}
		addr = a
	}
	// The simulated vehicle that comes with the camera talks MAVLink to a
	// port nobody listens on.
	sink, err := freePort()
	if err != nil {
		return nil, "", err
	}
	c := exec.CommandContext(ctx, self, "sitl", "--vehicles", "1", "--cameras", "--rtsp", addr,
		"--camera-size", fmt.Sprintf("%dx%d", cfg.width, cfg.height), "--camera-fps", strconv.Itoa(cfg.fps),
		"--camera-gop", strconv.Itoa(cfg.gop), "--link", "udpc:127.0.0.1:"+sink)
	c.Stdout = io.Discard
	c.Stderr = log
	if err := c.Start(); err != nil {
		return nil, "", err
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			_ = c.Process.Signal(os.Interrupt)
			_ = c.Wait()
			return nil, "", fmt.Errorf("bench: the camera process did not listen on %s: %w", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return c, "rtsp://" + addr + "/" + benchStream, nil
}

func freeTCPAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func msStr(v float64) string {
	if v == 0 {
		return "-"
	}
	if v < 10 {
		return fmt.Sprintf("%.1fms", v)
	}
	return fmt.Sprintf("%.0fms", v)
}

// newBenchViewersCmd is `osprey bench whep-viewers`, the child that
// `bench video` starts: N WHEP viewers and a reference RTSP client,
// printing the window markers and one JSON result line on stdout.
func newBenchViewersCmd() *cobra.Command {
	var cfg benchviewer.Config
	cmd := &cobra.Command{
		Use:    "whep-viewers --url WHEP_URL --rtsp CAMERA_URL --count N --duration D",
		Short:  "Run N WebRTC (WHEP) viewers of one stream and print what they measured as JSON (used by bench video)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			cfg.OnWindow = func(start bool) {
				if start {
					fmt.Fprintln(out, benchWindowStart)
				} else {
					fmt.Fprintln(out, benchWindowEnd)
				}
			}
			log := cmd.ErrOrStderr()
			cfg.Logf = func(format string, args ...any) {
				fmt.Fprintf(log, "whep-viewers: "+format+"\n", args...)
			}
			res, err := benchviewer.Run(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			b, err := json.Marshal(res)
			if err != nil {
				return err
			}
			fmt.Fprintln(out, string(b))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.WHEPURL, "url", "", "the WHEP endpoint to POST offers to")
	f.StringVar(&cfg.RTSPURL, "rtsp", "", "the camera's RTSP URL, read directly as the reference")
	f.IntVar(&cfg.Count, "count", 1, "how many viewers")
	f.DurationVar(&cfg.Duration, "duration", 10*time.Second, "the measurement window")
	f.IntVar(&cfg.SetupConcurrency, "setup-concurrency", benchviewer.DefaultSetupConcurrency, "viewers connecting at once")
	f.IntVar(&cfg.RecvBufferBytes, "recv-buffer", 0, "each viewer's UDP receive buffer in bytes (0: kernel default)")
	f.DurationVar(&cfg.JoinInterval, "join-interval", 0, "time between viewers' offers (0: as fast as --setup-concurrency allows)")
	return cmd
}
