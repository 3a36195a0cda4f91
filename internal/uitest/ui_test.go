// Package uitest drives the real browser app against a real server: three simulated copters on a
// loopback MAVLink link, the simulated cameras behind the video relay, the API and the embedded UI on one
// HTTP server, and headless Chromium (through playwright-core) clicking through e2e/ui.test.mjs.
//
// It skips when /usr/bin/chromium or e2e/node_modules/playwright-core is missing; `make test` installs
// both first.
package uitest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gomavlib/v3"
	"go.uber.org/goleak"

	"github.com/ospreygcs/osprey/internal/httpapi"
	"github.com/ospreygcs/osprey/mavlink"
	"github.com/ospreygcs/osprey/sitl"
	"github.com/ospreygcs/osprey/ui"
	"github.com/ospreygcs/osprey/video/relay"
	"github.com/ospreygcs/osprey/video/rtspsrc"
	"github.com/ospreygcs/osprey/video/whep"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	chromiumPath = "/usr/bin/chromium"
	// browserTimeout bounds the whole browser run; the script bounds each of its steps far tighter.
	browserTimeout = 150 * time.Second
)

// e2eDir is the e2e folder at the module root, from this package's directory.
func e2eDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "e2e"))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func skipWithoutBrowser(t *testing.T) (node, script string) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("browser test skipped: %s not found (apt-get install chromium; `make test` does it)", chromiumPath)
	}
	dir := e2eDir(t)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		t.Skipf("browser test skipped: %s/node_modules/playwright-core not installed (npm ci in e2e; `make test` does it)", dir)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("browser test skipped: node not found")
	}
	return node, filepath.Join(dir, "ui.test.mjs")
}

// server is osprey as the browser sees it: fleet, video relay, API and UI on one loopback address.
type server struct {
	url   string
	fleet *sitl.Fleet
	relay *relay.Relay
	audit *auditLog
}

// auditLog keeps the API's audit records, so the test can see what the browser asked of the server.
type auditLog struct {
	mu      sync.Mutex
	entries []httpapi.AuditEntry
}

func (a *auditLog) Record(_ context.Context, e httpapi.AuditEntry) {
	a.mu.Lock()
	a.entries = append(a.entries, e)
	a.mu.Unlock()
}

// whepDeletes counts the DELETEs of WHEP sessions the browser sent. A 404 counts too: the browser also
// closes its peer connection, and the relay may notice that and end the session before the DELETE lands.
func (a *auditLog) whepDeletes() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, e := range a.entries {
		if e.Method == http.MethodDelete && whepSessionPath.MatchString(e.Path) &&
			(e.Status == http.StatusNoContent || e.Status == http.StatusNotFound) {
			n++
		}
	}
	return n
}

var whepSessionPath = regexp.MustCompile(`^/api/v1/streams/.+/whep/[^/]+$`)

func freeUDPPort(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return strconv.Itoa(c.LocalAddr().(*net.UDPAddr).Port)
}

// closedTCPPort is a loopback port nothing listens on: a camera there is offline for good.
func closedTCPPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func newServer(t *testing.T) *server {
	t.Helper()
	port := freeUDPPort(t)
	m, err := mavlink.NewManager(mavlink.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	if _, err := m.AddLink(mavlink.LinkConfig{URL: "udps:127.0.0.1:" + port}); err != nil {
		t.Fatal(err)
	}
	fleet, err := sitl.NewFleet(sitl.FleetConfig{Count: 3, FirstSystemID: 1, HomeLatDeg: -35.363261, HomeLonDeg: 149.165230,
		HomeAltMSLM: 584, Speedup: 5,
		Endpoint: func(int) gomavlib.EndpointConf { return gomavlib.EndpointUDPClient{Address: "127.0.0.1:" + port} }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fleet.Close)
	// Vehicle 3 runs low, so the fleet list shows its battery warning.
	fleet.Vehicles()[2].SetBatteryPct(22)

	cams, err := sitl.NewCameraServer(sitl.CameraServerConfig{Address: "127.0.0.1:0", Cameras: []sitl.CameraConfig{
		{Name: "sim/1", Width: 320, Height: 180, FPS: 15, Label: "V1-FRONT"},
		{Name: "sim/2", Width: 320, Height: 180, FPS: 15, Label: "V2-FRONT"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cams.Close() })
	rel, err := relay.New(relay.Config{
		Cameras: []relay.CameraConfig{
			{Name: "sim/1", URL: cams.URL("sim/1"), Transport: "tcp", VehicleSystemID: 1},
			{Name: "sim/2", URL: cams.URL("sim/2"), Transport: "tcp", VehicleSystemID: 2},
			{Name: "sim/dead", URL: "rtsp://127.0.0.1:" + closedTCPPort(t) + "/none", Transport: "tcp", VehicleSystemID: 3},
		},
		WHEP:   whep.Config{UDPAddress: "127.0.0.1:0"},
		Source: rtspsrc.Config{MinBackoff: 200 * time.Millisecond, MaxBackoff: 2 * time.Second, ReadTimeout: 3 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = rel.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		rel.Close()
	})

	audit := &auditLog{}
	api, err := httpapi.New(httpapi.Config{Fleet: m, Auditor: audit, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Mounts: map[string]http.Handler{
		"/":                ui.Handler(),
		"/api/v1/streams":  rel.Handler(),
		"/api/v1/streams/": rel.Handler(),
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	t.Cleanup(api.Shutdown)

	wctx, wcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer wcancel()
	for id := 1; id <= 3; id++ {
		v, err := m.WaitVehicle(wctx, byte(id))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.WaitState(wctx, func(s mavlink.State) bool { return s.GPSFix >= 3 && s.HasPosition }); err != nil {
			t.Fatal(err)
		}
	}
	return &server{url: srv.URL, fleet: fleet, relay: rel, audit: audit}
}

// expect tells the script which streams to find, so it can fail when one is missing.
type expect struct {
	Live       []string `json:"live"`
	Offline    []string `json:"offline"`
	Screenshot string   `json:"screenshot"`
}

func TestBrowserFliesTheFleet(t *testing.T) {
	node, script := skipWithoutBrowser(t)
	s := newServer(t)
	exp, _ := json.Marshal(expect{Live: []string{"sim/1", "sim/2"}, Offline: []string{"sim/dead"}, Screenshot: "/tmp/osprey-ui.png"})

	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, s.url, string(exp))
	cmd.Dir = e2eDir(t)
	cmd.WaitDelay = 5 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	final := s.serveScript(t, stdout, stdin)
	err = cmd.Wait()
	if stderr.Len() > 0 {
		t.Logf("script stderr:\n%s", stderr.String())
	}
	if err != nil || !strings.Contains(final, `"ok":true`) {
		t.Fatalf("browser test failed (%v); last line: %s", err, final)
	}
}

// serveScript logs the script's output and answers its requests, each with "ok", "ok VALUE" or an
// error line:
//
//	@@outage 3 6000   silence vehicle 3 for 6 s, both directions
//	@@whep-deletes    how many WHEP sessions the browser ended with DELETE
//	@@whep-sessions   how many WHEP sessions the relay has open
//
// It returns the script's last line, its verdict.
func (s *server) serveScript(t *testing.T, stdout io.Reader, stdin io.WriteCloser) string {
	t.Helper()
	defer stdin.Close()
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	last := ""
	for sc.Scan() {
		line := sc.Text()
		last = line
		req, ok := strings.CutPrefix(line, "@@")
		if !ok {
			t.Log(line)
			continue
		}
		answer := s.handle(req)
		t.Logf("request %q: %s", req, answer)
		if _, err := fmt.Fprintln(stdin, answer); err != nil {
			t.Logf("answering the script: %v", err)
		}
	}
	return last
}

func (s *server) handle(req string) string {
	f := strings.Fields(req)
	switch {
	case len(f) == 3 && f[0] == "outage":
		id, err1 := strconv.Atoi(f[1])
		ms, err2 := strconv.Atoi(f[2])
		vs := s.fleet.Vehicles()
		if err1 != nil || err2 != nil || id < 1 || id > len(vs) || ms <= 0 || ms > 30000 {
			return "error: want outage ID MS"
		}
		vs[id-1].Outage(time.Duration(ms) * time.Millisecond)
		return "ok"
	case len(f) == 1 && f[0] == "whep-deletes":
		return "ok " + strconv.Itoa(s.audit.whepDeletes())
	case len(f) == 1 && f[0] == "whep-sessions":
		return "ok " + strconv.Itoa(s.relay.WHEP().Sessions())
	}
	return "error: unknown request"
}
