package relay

// TEMPORARY profiling harness (not to be committed): runs the relay in this
// process with the camera and the viewers from a prebuilt osprey binary.

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ospreygcs/osprey/video/whep"
)

func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestZZProfile(t *testing.T) {
	bin := os.Getenv("OSPREY_PROF_BIN")
	if bin == "" {
		t.Skip("OSPREY_PROF_BIN not set")
	}
	out := os.Getenv("OSPREY_PROF_OUT")
	counts := strings.Split(os.Getenv("OSPREY_PROF_VIEWERS"), ",")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	camAddr := l.Addr().String()
	l.Close()
	cam := exec.CommandContext(ctx, bin, "sitl", "--vehicles", "1", "--cameras", "--rtsp", camAddr,
		"--camera-size", "1280x720", "--camera-fps", "30", "--camera-gop", "150", "--link", "udpc:127.0.0.1:9")
	cam.Stderr = os.Stderr
	if err := cam.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cam.Process.Signal(os.Interrupt); _ = cam.Wait() }()
	time.Sleep(time.Second)
	camURL := "rtsp://" + camAddr + "/sim/1"
	r, err := New(Config{Cameras: []CameraConfig{{Name: "sim/1", URL: camURL, Transport: "tcp"}},
		WHEP: whep.Config{UDPAddress: "127.0.0.1:0", MaxSessions: 400}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := &http.Server{Handler: r.Handler()}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	whepURL := "http://" + ln.Addr().String() + whep.PathPrefix + "sim/1/whep"
	for i := 0; i < 300; i++ {
		if st := r.Streams(); st[0].State == "live" && st[0].FPS > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	c0, w0 := cpuNow(), time.Now()
	time.Sleep(5 * time.Second)
	base := float64(cpuNow()-c0) / float64(time.Since(w0))
	fmt.Printf("base cpu %.1f%%\n", 100*base)
	for _, cs := range counts {
		n, _ := strconv.Atoi(cs)
		c := exec.CommandContext(ctx, bin, "bench", "whep-viewers", "--url", whepURL, "--rtsp", camURL,
			"--count", cs, "--duration", "10s", "--recv-buffer", strconv.Itoa(1<<20))
		c.Stderr = os.Stderr
		so, _ := c.StdoutPipe()
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(so)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var f *os.File
		var cpu0 time.Duration
		var t0 time.Time
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "bench: window start":
				cpu0, t0 = cpuNow(), time.Now()
				if out != "" {
					f, _ = os.Create(fmt.Sprintf("%s-%d.cpu", out, n))
					_ = pprof.StartCPUProfile(f)
				}
			case line == "bench: window end":
				el := time.Since(t0)
				cpu := float64(cpuNow()-cpu0) / float64(el)
				if f != nil {
					pprof.StopCPUProfile()
					f.Close()
					h, _ := os.Create(fmt.Sprintf("%s-%d.heap", out, n))
					runtime.GC()
					_ = pprof.WriteHeapProfile(h)
					h.Close()
				}
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				rss := ""
				if b, err := os.ReadFile("/proc/self/status"); err == nil {
					for _, ln := range strings.Split(string(b), "\n") {
						if strings.HasPrefix(ln, "VmRSS") {
							rss = ln
						}
					}
				}
				fmt.Printf("%d viewers: cpu %.1f%% per viewer %.3f%%; heap inuse %d MiB; %s; goroutines %d\n", n, 100*cpu,
					100*(cpu-base)/float64(n), ms.HeapInuse>>20, rss, runtime.NumGoroutine())
			case strings.HasPrefix(line, "{"):
				fmt.Println(line)
			}
		}
		_ = c.Wait()
		for i := 0; i < 300 && r.WHEP().Sessions() > 0; i++ {
			time.Sleep(100 * time.Millisecond)
		}
		runtime.GC()
	}
}
