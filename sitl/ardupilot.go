package sitl

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ArduPilotConfig configures StartArduPilot.
type ArduPilotConfig struct {
	// Binary is the path (or PATH name) of an ArduCopter SITL build, e.g.
	// build/sitl/bin/arducopter. Required.
	Binary string
	// Instances is the number of copters, at least 1. Instance i gets
	// SYSID_THISMAV i+1 and its SERIAL0 on TCP 127.0.0.1:5760+10*i.
	Instances int
	// HomeLatDeg, HomeLonDeg, HomeAltMSLM and HeadingDeg are passed as
	// --home. All instances start at the same home, like sim_vehicle.py -I.
	HomeLatDeg, HomeLonDeg, HomeAltMSLM, HeadingDeg float64
	// Speedup is passed as --speedup; 0 means 1.
	Speedup float64
	// WorkDir is where instance directories (instance-0, ...) are created,
	// holding eeprom.bin, logs and the defaults file. Empty means a temporary
	// directory removed by Close.
	WorkDir string
	// ExtraArgs are appended to every instance's command line.
	ExtraArgs []string
}

// ArduPilot is a set of running ArduPilot SITL processes.
type ArduPilot struct {
	procs     []*apProc
	addrs     []string
	tmpDir    string
	closeOnce sync.Once
}

type apProc struct {
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
}

// arduPilotBasePort is SITL's SERIAL0 TCP port for instance 0; "-I i" adds
// 10*i to every port.
const arduPilotBasePort = 5760

// StartArduPilot starts cfg.Instances ArduCopter SITL processes, each in its
// own working directory with a defaults file that sets its SYSID_THISMAV,
// as: arducopter -I i --model quad --home lat,lon,alt,hdg --speedup X
// --defaults <file> --serial0 tcp:0 -w. It returns once every instance
// accepts TCP connections on its SERIAL0 port, or fails when ctx ends first.
func StartArduPilot(ctx context.Context, cfg ArduPilotConfig) (*ArduPilot, error) {
	if cfg.Binary == "" {
		return nil, fmt.Errorf("%w: ArduPilot Binary is required", ErrInvalidConfig)
	}
	if cfg.Instances < 1 || cfg.Instances > 250 {
		return nil, fmt.Errorf("%w: ArduPilot Instances %d outside 1..250", ErrInvalidConfig, cfg.Instances)
	}
	if cfg.Speedup == 0 {
		cfg.Speedup = 1
	}
	if cfg.Speedup < 0 {
		return nil, fmt.Errorf("%w: ArduPilot Speedup %v < 0", ErrInvalidConfig, cfg.Speedup)
	}
	bin, err := exec.LookPath(cfg.Binary)
	if err != nil {
		return nil, fmt.Errorf("sitl: ArduPilot binary: %w", err)
	}
	if bin, err = filepath.Abs(bin); err != nil {
		return nil, fmt.Errorf("sitl: ArduPilot binary: %w", err)
	}
	a := &ArduPilot{}
	base := cfg.WorkDir
	if base == "" {
		if base, err = os.MkdirTemp("", "osprey-ardupilot-"); err != nil {
			return nil, fmt.Errorf("sitl: ArduPilot work dir: %w", err)
		}
		a.tmpDir = base
	}
	for i := range cfg.Instances {
		if err := a.startInstance(bin, base, i, cfg); err != nil {
			a.Close()
			return nil, err
		}
	}
	if err := a.waitListening(ctx); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func (a *ArduPilot) startInstance(bin, base string, i int, cfg ArduPilotConfig) error {
	dir := filepath.Join(base, "instance-"+strconv.Itoa(i))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("sitl: ArduPilot instance %d: %w", i, err)
	}
	defaults := filepath.Join(dir, "osprey-copter.parm")
	if err := os.WriteFile(defaults, []byte(arduPilotDefaults(i+1)), 0o644); err != nil {
		return fmt.Errorf("sitl: ArduPilot instance %d defaults: %w", i, err)
	}
	logf, err := os.Create(filepath.Join(dir, "arducopter.log"))
	if err != nil {
		return fmt.Errorf("sitl: ArduPilot instance %d log: %w", i, err)
	}
	args := []string{
		"-I", strconv.Itoa(i),
		"--model", "quad",
		"--home", fmt.Sprintf("%.7f,%.7f,%.2f,%.1f", cfg.HomeLatDeg, cfg.HomeLonDeg, cfg.HomeAltMSLM, cfg.HeadingDeg),
		"--speedup", strconv.FormatFloat(cfg.Speedup, 'f', -1, 64),
		"--defaults", defaults,
		// SERIAL0 listens on the instance's base port without waiting for a
		// client before booting (the default is tcp:0:wait).
		"--serial0", "tcp:0",
		// Wipe the per-directory eeprom so the defaults file applies.
		"-w",
	}
	args = append(args, cfg.ExtraArgs...)
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("sitl: ArduPilot instance %d: %w", i, err)
	}
	p := &apProc{cmd: cmd, log: logf, done: make(chan struct{})}
	// The waiter owns the process handle and ends when the process exits,
	// which Close forces.
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	a.procs = append(a.procs, p)
	a.addrs = append(a.addrs, "127.0.0.1:"+strconv.Itoa(arduPilotBasePort+10*i))
	return nil
}

// waitListening polls each instance's SERIAL0 port until it accepts.
func (a *ArduPilot) waitListening(ctx context.Context) error {
	for i, addr := range a.addrs {
		for {
			select {
			case <-a.procs[i].done:
				return fmt.Errorf("sitl: ArduPilot instance %d exited during start (see its arducopter.log)", i)
			default:
			}
			d := net.Dialer{Timeout: 200 * time.Millisecond}
			conn, err := d.DialContext(ctx, "tcp4", addr)
			if err == nil {
				conn.Close()
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("sitl: ArduPilot instance %d not listening on %s: %w", i, addr, ctx.Err())
			case <-a.procs[i].done:
				return fmt.Errorf("sitl: ArduPilot instance %d exited during start (see its arducopter.log)", i)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

// TCPAddresses returns each instance's SERIAL0 address, 127.0.0.1:5760+10*i.
func (a *ArduPilot) TCPAddresses() []string {
	return append([]string(nil), a.addrs...)
}

// Close kills the processes StartArduPilot started, by their PIDs, waits for
// them to exit and removes the temporary work directory if it made one.
func (a *ArduPilot) Close() {
	a.closeOnce.Do(func() {
		for _, p := range a.procs {
			// A failed kill means the process already exited; the waiter
			// below observes that either way.
			_ = p.cmd.Process.Kill()
		}
		for _, p := range a.procs {
			<-p.done
			p.log.Close()
		}
		if a.tmpDir != "" {
			_ = os.RemoveAll(a.tmpDir)
		}
	})
}

// arduPilotDefaults is the defaults file for one instance: its system id and
// the settings ArduPilot's own copter.parm uses so SITL passes its pre-arm
// checks (calibrated RC and accelerometers, a battery monitor).
func arduPilotDefaults(sysID int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "SYSID_THISMAV %d\n", sysID)
	b.WriteString("FRAME_CLASS 1\nFRAME_TYPE 1\nBATT_MONITOR 4\nMOT_THST_HOVER 0.39\n")
	for ch := 1; ch <= 8; ch++ {
		fmt.Fprintf(&b, "RC%d_MIN 1000\nRC%d_MAX 2000\nRC%d_TRIM 1500\n", ch, ch, ch)
	}
	for _, acc := range []string{"ACC", "ACC2"} {
		for _, ax := range []string{"X", "Y", "Z"} {
			fmt.Fprintf(&b, "INS_%sOFFS_%s 0.001\nINS_%sSCAL_%s 1.001\n", acc, ax, acc, ax)
		}
	}
	return b.String()
}
