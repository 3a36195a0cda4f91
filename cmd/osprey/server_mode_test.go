package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ospreygcs/osprey/mission"
)

// TestCommandsThroughAServer: vehicle, mission and patrol commands work through a running server with
// --server, printing the same things and exiting with the same codes as over a link.
func TestCommandsThroughAServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	demoCtx, stopDemo := context.WithCancel(ctx)
	base, done := demoServer(t, demoCtx, t.TempDir(), false, 4)
	defer func() {
		stopDemo()
		<-done
	}()
	srv := []string{"--server", base}

	// Both vehicles listed, as JSON.
	var listed []map[string]any
	for deadline := time.Now().Add(20 * time.Second); len(listed) < 2 && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		out, code := runCLI(t, ctx, append([]string{"vehicle", "list", "--json"}, srv...)...)
		if code != exitOK {
			t.Fatalf("list: exit %d: %s", code, out)
		}
		listed = nil
		if err := json.Unmarshal([]byte(out), &listed); err != nil {
			t.Fatalf("list JSON: %v\n%s", err, out)
		}
	}
	if len(listed) != 2 {
		t.Fatalf("listed %d vehicles, want 2", len(listed))
	}

	// Same refusals, same exit codes.
	out, code := runCLI(t, ctx, append([]string{"vehicle", "takeoff", "10", "--vehicle", "2"}, srv...)...)
	if code != exitRefused || !strings.Contains(out, "TAKEOFF refused: failed (the vehicle is disarmed)") {
		t.Fatalf("takeoff while disarmed: exit %d: %s", code, out)
	}
	if out, code = runCLI(t, ctx, append([]string{"vehicle", "arm"}, srv...)...); code != exitUsage || !strings.Contains(out, "choose one with --vehicle") {
		t.Fatalf("arm without --vehicle among two: exit %d: %s", code, out)
	}
	if out, code = runCLI(t, ctx, append([]string{"vehicle", "mode", "WARP", "--vehicle", "2"}, srv...)...); code != exitUsage {
		t.Fatalf("unknown mode: exit %d: %s", code, out)
	}
	if out, code = runCLI(t, ctx, append([]string{"vehicle", "arm", "--vehicle", "9"}, srv...)...); code != exitNoReply {
		t.Fatalf("unknown vehicle: exit %d: %s", code, out)
	}

	// Parameters: set, read back, save, change, load the saved file back, list.
	if out, code = runCLI(t, ctx, append([]string{"param", "set", "RTL_ALT", "2500", "--vehicle", "2", "--json"}, srv...)...); code != exitOK ||
		!strings.Contains(out, `"value": 2500`) {
		t.Fatalf("param set: exit %d: %s", code, out)
	}
	if out, code = runCLI(t, ctx, append([]string{"param", "get", "RTL_ALT", "--vehicle", "2"}, srv...)...); code != exitOK || out != "RTL_ALT = 2500\n" {
		t.Fatalf("param get: exit %d: %q", code, out)
	}
	if out, code = runCLI(t, ctx, append([]string{"param", "get", "NO_SUCH_PARAM", "--vehicle", "2", "--timeout", "10s"}, srv...)...); code != exitNoReply ||
		!strings.Contains(out, "NO_SUCH_PARAM") {
		t.Fatalf("unknown param: exit %d: %s", code, out)
	}
	saved := filepath.Join(t.TempDir(), "v2.param")
	if out, code = runCLI(t, ctx, append([]string{"param", "save", saved, "--vehicle", "2"}, srv...)...); code != exitOK {
		t.Fatalf("param save: exit %d: %s", code, out)
	}
	if b, err := os.ReadFile(saved); err != nil || !strings.Contains(string(b), "RTL_ALT,2500\n") {
		t.Fatalf("saved file: %v\n%s", err, b)
	}
	if out, code = runCLI(t, ctx, append([]string{"param", "set", "RTL_ALT", "3000", "--vehicle", "2"}, srv...)...); code != exitOK {
		t.Fatalf("param set: exit %d: %s", code, out)
	}
	if out, code = runCLI(t, ctx, append([]string{"param", "load", saved, "--vehicle", "2", "--json"}, srv...)...); code != exitOK ||
		!strings.Contains(out, `"changed": [`+"\n"+`    "RTL_ALT"`+"\n  ]") {
		t.Fatalf("param load: exit %d: %s", code, out)
	}
	var params []map[string]any
	out, code = runCLI(t, ctx, append([]string{"param", "list", "--vehicle", "2", "--json"}, srv...)...)
	if err := json.Unmarshal([]byte(out), &params); code != exitOK || err != nil || len(params) < 50 {
		t.Fatalf("param list: exit %d, %d params, %v", code, len(params), err)
	}

	// A whole patrol through the server.
	out, code = runCLI(t, ctx, append([]string{"patrol", "--vehicle", "1", "--area", area(t), "--alt", "20", "--json"}, srv...)...)
	if code != exitOK {
		t.Fatalf("patrol through the server: exit %d:\n%s", code, out)
	}
	evs := patrolLines(t, out)
	if last := evs[len(evs)-1]; last.Event != "landed" {
		t.Fatalf("patrol ended with %+v", last)
	}
	reached := 0
	for _, e := range evs {
		if e.Event == "item_reached" {
			reached++
		}
	}
	if reached < evs[len(evs)-1].Total {
		t.Fatalf("%d item_reached events for %d items", reached, evs[len(evs)-1].Total)
	}

	// And the mission it flew can be read back.
	file := filepath.Join(t.TempDir(), "flown.waypoints")
	if out, code = runCLI(t, ctx, append([]string{"mission", "download", file, "--vehicle", "1"}, srv...)...); code != exitOK {
		t.Fatalf("download: exit %d: %s", code, out)
	}
	b, err := os.ReadFile(file)
	if err != nil || strings.Count(string(b), "\n") < 4 {
		t.Fatalf("downloaded plan: %v\n%s", err, b)
	}

	// The same mission with a geofence and a rally point goes up; mission clear --all takes all three down.
	p, err := mission.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	var at mission.LatLon // a waypoint of the patrol: the fence around it holds the whole patrol
	for _, it := range p.Items {
		if it.LatDeg != 0 {
			at = mission.LatLon{LatDeg: it.LatDeg, LonDeg: it.LonDeg}
		}
	}
	p.Fence.Circles = []mission.FenceCircle{{Inclusion: true, Center: at, RadiusM: 3000}}
	p.Rally = []mission.RallyPoint{{LatDeg: at.LatDeg + 0.001, LonDeg: at.LonDeg, AltM: 30}}
	fenced := filepath.Join(t.TempDir(), "fenced.plan")
	savePlan(t, fenced, p)
	if out, code = runCLI(t, ctx, append([]string{"mission", "upload", fenced, "--vehicle", "1"}, srv...)...); code != exitOK {
		t.Fatalf("upload with a fence: exit %d: %s", code, out)
	}
	back := downloadPlan(t, ctx, srv)
	if len(back.Items) == 0 || len(back.Fence.Circles) != 1 || len(back.Rally) != 1 {
		t.Fatalf("read back %d items, fence %+v, %d rally points", len(back.Items), back.Fence, len(back.Rally))
	}
	if out, code = runCLI(t, ctx, append([]string{"mission", "clear", "--all", "--vehicle", "1"}, srv...)...); code != exitOK {
		t.Fatalf("clear --all: exit %d: %s", code, out)
	}
	back = downloadPlan(t, ctx, srv)
	if len(back.Items) != 0 || !back.Fence.Empty() || len(back.Rally) != 0 {
		t.Fatalf("after clear --all: %d items, fence %+v, %d rally points", len(back.Items), back.Fence, len(back.Rally))
	}
}

// downloadPlan reads vehicle 1's mission, fence and rally points through the CLI.
func downloadPlan(t *testing.T, ctx context.Context, srv []string) *mission.Plan {
	t.Helper()
	file := filepath.Join(t.TempDir(), "back.plan")
	if out, code := runCLI(t, ctx, append([]string{"mission", "download", file, "--vehicle", "1"}, srv...)...); code != exitOK {
		t.Fatalf("download: exit %d: %s", code, out)
	}
	p, err := mission.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func savePlan(t *testing.T, path string, p *mission.Plan) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := mission.WritePlan(f, p); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestServerErrorCodesMapToLinkErrors: an error answer's code gives the exit code the same failure has
// over a link; a server that sends no known code is judged by its status.
func TestServerErrorCodesMapToLinkErrors(t *testing.T) {
	cases := []struct {
		status int
		body   apiErrorBody
		exit   int
	}{
		{409, apiErrorBody{Error: "vehicle 1: mission upload: busy (mission download)", Code: "transfer_busy"}, exitNoReply},
		{409, apiErrorBody{Error: "vehicle 1: mission rejected: NO_SPACE", Code: "mission_rejected"}, exitRefused},
		{409, apiErrorBody{Error: "vehicle 1: items differ", Code: "mission_mismatch"}, exitFailure},
		{409, apiErrorBody{Error: "vehicle 1: ARM already sent", Code: "command_busy", Result: "BUSY"}, exitNoReply},
		{409, apiErrorBody{Error: "vehicle 1: ARM refused", Code: "failed", Result: "FAILED"}, exitRefused},
		{404, apiErrorBody{Error: "no such vehicle 9", Code: "no_vehicle"}, exitNoReply},
		{400, apiErrorBody{Error: "takeoff needs alt_m", Code: "bad_request"}, exitUsage},
		{422, apiErrorBody{Error: "the plan has validation errors; nothing was sent", Code: "invalid_plan"}, exitFailure},
		{409, apiErrorBody{Error: "something new", Code: "from_a_newer_server"}, exitRefused},
		{504, apiErrorBody{Error: "no answer"}, exitNoReply},
	}
	for _, c := range cases {
		err := apiError(c.status, c.body, 1, "arm")
		if got := exitCode(err); got != c.exit || (c.body.Result == "" && !strings.Contains(err.Error(), c.body.Error)) {
			t.Errorf("%d %+v: exit %d (%v), want %d", c.status, c.body, got, err, c.exit)
		}
	}
	if err := apiError(422, apiErrorBody{Error: "x", Code: "invalid_plan"}, 1, ""); !errors.Is(err, errPlanInvalid) {
		t.Errorf("invalid_plan gives %v, not the CLI's own invalid-plan error", err)
	}
}
