package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ospreygcs/osprey/mavlink"
)

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:    "bench",
		Short:  "Measure osprey's performance (make bench runs these)",
		Hidden: true,
	}
	var counts string
	var window time.Duration
	telemetry := &cobra.Command{
		Use:   "telemetry",
		Short: "Simulated fleets at ArduPilot-like rates into one link manager: messages/s, CPU, memory, loss, delay",
		Long: `Runs fleets of simulated vehicles in child processes (one per MAVLink network of up to 250 vehicles,
each on its own UDP link) into one link manager in this process, and measures over a window:
messages per second, this process's CPU (the fleets' CPU is theirs), resident memory, frames lost
(sequence gaps), and the age of each state update when a subscriber receives it (arrival to update).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var ns []int
			for _, s := range strings.Split(counts, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(s))
				if err != nil || n < 1 {
					return usageError{fmt.Errorf("--vehicles %q: want counts like 100,500,1000", counts)}
				}
				ns = append(ns, n)
			}
			// Fixed widths rather than a tabwriter: rows print as each fleet finishes, minutes apart.
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%8s %8s %12s %10s %8s %6s %7s %10s %10s %10s\n", "vehicles", "msgs/s", "manager CPU", "fleet CPU", "RSS MiB",
				"lost", "loss %", "age p50", "age p99", "age max")
			for _, n := range ns {
				r, err := benchTelemetry(cmd.Context(), n, window, cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "%8d %8.0f %11.1f%% %9.1f%% %8.1f %6d %7.3f %10v %10v %10v\n", n, r.msgsPerS, 100*r.cpuCores, 100*r.fleetCores,
					r.rssMiB, r.lost, r.lossPct, r.p50, r.p99, r.max)
			}
			fmt.Fprintln(cmd.OutOrStdout(), "CPU is a share of one core; age is from frame arrival to the state a subscriber receives.")
			return nil
		},
	}
	telemetry.Flags().StringVar(&counts, "vehicles", "100,500,1000", "fleet sizes to measure, comma-separated")
	telemetry.Flags().DurationVar(&window, "window", 10*time.Second, "how long to measure each fleet")
	cmd.AddCommand(telemetry, newBenchVideoCmd(), newBenchViewersCmd(), newBenchWSCmd(), newBenchWSClientsCmd())
	return cmd
}

type telemetryResult struct {
	msgsPerS, cpuCores, fleetCores, rssMiB, lossPct float64
	lost                                            uint64
	p50, p99, max                                   time.Duration
}

const vehiclesPerNetwork = 250

func benchTelemetry(ctx context.Context, n int, window time.Duration, log io.Writer) (telemetryResult, error) {
	self, err := os.Executable()
	if err != nil {
		return telemetryResult{}, err
	}
	m, err := mavlink.NewManager(mavlink.Config{})
	if err != nil {
		return telemetryResult{}, err
	}
	defer m.Close()
	var children []*exec.Cmd
	defer func() {
		for _, c := range children {
			_ = c.Process.Signal(os.Interrupt)
			_ = c.Wait()
		}
	}()
	for net, first := 0, 0; first < n; net, first = net+1, first+vehiclesPerNetwork {
		count := min(vehiclesPerNetwork, n-first)
		port, err := freePort()
		if err != nil {
			return telemetryResult{}, err
		}
		if _, err := m.AddLink(mavlink.LinkConfig{URL: "udps:127.0.0.1:" + port, Network: fmt.Sprintf("net%d", net)}); err != nil {
			return telemetryResult{}, err
		}
		c := exec.CommandContext(ctx, self, "sitl", "--vehicles", strconv.Itoa(count), "--link", "udpc:127.0.0.1:"+port)
		c.Stderr = log
		if err := c.Start(); err != nil {
			return telemetryResult{}, err
		}
		children = append(children, c)
	}

	fmt.Fprintf(log, "bench: %d vehicles: waiting for all to be heard...\n", n)
	deadline := time.Now().Add(60 * time.Second)
	for len(m.Vehicles()) < n {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return telemetryResult{}, fmt.Errorf("only %d of %d vehicles heard after 60 s", len(m.Vehicles()), n)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(5 * time.Second) // stream rates requested and settled

	sub := m.Subscribe()
	defer sub.Close()
	sub.Take()
	frames0, lost0 := fleetCounters(m)
	cpu0, fleet0, t0 := selfCPU(), childrenCPU(children), time.Now()
	var ages []time.Duration
	wctx, cancel := context.WithTimeout(ctx, window)
	for {
		u, err := sub.Next(wctx)
		if err != nil {
			break
		}
		now := time.Now()
		for _, s := range u.States {
			ages = append(ages, now.Sub(s.LastHeard))
		}
	}
	cancel()
	elapsed := time.Since(t0)
	cpu1, fleet1 := selfCPU(), childrenCPU(children)
	frames1, lost1 := fleetCounters(m)

	r := telemetryResult{
		msgsPerS:   float64(frames1-frames0) / elapsed.Seconds(),
		cpuCores:   (cpu1 - cpu0).Seconds() / elapsed.Seconds(),
		fleetCores: (fleet1 - fleet0).Seconds() / elapsed.Seconds(),
		rssMiB:     rssMiB(),
		lost:       lost1 - lost0,
	}
	if total := frames1 - frames0 + r.lost; total > 0 {
		r.lossPct = 100 * float64(r.lost) / float64(total)
	}
	if len(ages) > 0 {
		slices.Sort(ages)
		r.p50 = ages[len(ages)/2].Round(time.Microsecond)
		r.p99 = ages[len(ages)*99/100].Round(time.Microsecond)
		r.max = ages[len(ages)-1].Round(time.Microsecond)
	}
	runtime.GC()
	return r, nil
}

func fleetCounters(m *mavlink.Manager) (frames, lost uint64) {
	for _, l := range m.Links() {
		frames += l.FramesIn
	}
	for _, v := range m.Vehicles() {
		for _, h := range v.State().Links {
			lost += h.Lost
		}
	}
	return frames, lost
}

func freePort() (string, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer c.Close()
	return strconv.Itoa(c.LocalAddr().(*net.UDPAddr).Port), nil
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// childrenCPU reads the children's user+system time from /proc.
func childrenCPU(cs []*exec.Cmd) time.Duration {
	var total time.Duration
	for _, c := range cs {
		total += procCPU(c.Process.Pid)
	}
	return total
}

// procCPU reads a process's user+system time from /proc (clock ticks of
// 10 ms); zero when the process is gone.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name in parentheses; utime and stime are the 14th and 15th overall.
	rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// rssMiB is this process's resident memory.
func rssMiB() float64 { return procRSSMiB("self") }

// procRSSMiB reads a process's resident memory ("self" or a pid) from
// /proc.
func procRSSMiB(pid string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.Fields(rest)[0])
			return float64(kb) / 1024
		}
	}
	return 0
}
