package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gomavlib/v3"
	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/ospreygcs/osprey/internal/httpapi"
	"github.com/ospreygcs/osprey/internal/store"
	"github.com/ospreygcs/osprey/mavlink"
	"github.com/ospreygcs/osprey/sitl"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type auditLog struct {
	mu      sync.Mutex
	entries []httpapi.AuditEntry
}

func (a *auditLog) Record(_ context.Context, e httpapi.AuditEntry) {
	a.mu.Lock()
	a.entries = append(a.entries, e)
	a.mu.Unlock()
}

func (a *auditLog) all() []httpapi.AuditEntry {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]httpapi.AuditEntry(nil), a.entries...)
}

type fixture struct {
	url   string
	m     *mavlink.Manager
	audit *auditLog
	api   *httpapi.Server
}

// newFixture runs a manager with n simulated copters on loopback UDP and the API on an httptest server.
func newFixture(t *testing.T, n int) *fixture {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(c.LocalAddr().(*net.UDPAddr).Port)
	c.Close()
	m, err := mavlink.NewManager(mavlink.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	if _, err := m.AddLink(mavlink.LinkConfig{URL: "udps:127.0.0.1:" + port}); err != nil {
		t.Fatal(err)
	}
	fleet, err := sitl.NewFleet(sitl.FleetConfig{Count: n, FirstSystemID: 1, HomeLatDeg: -35.363261, HomeLonDeg: 149.165230, HomeAltMSLM: 584,
		Speedup: 5, Endpoint: func(int) gomavlib.EndpointConf { return gomavlib.EndpointUDPClient{Address: "127.0.0.1:" + port} }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fleet.Close)
	audit := &auditLog{}
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	api, err := httpapi.New(httpapi.Config{Fleet: m, Auditor: audit, MaxBodyBytes: 4096,
		Missions: httpapi.MissionConfig{Store: st, CeilingM: 120}, Flights: st})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	t.Cleanup(api.Shutdown)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for id := 1; id <= n; id++ {
		v, err := m.WaitVehicle(ctx, byte(id))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.WaitState(ctx, func(s mavlink.State) bool { return s.GPSFix >= 3 && s.HasPosition }); err != nil {
			t.Fatal(err)
		}
	}
	return &fixture{url: srv.URL, m: m, audit: audit, api: api}
}

func (f *fixture) do(t *testing.T, method, path, contentType, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, f.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	if out == nil {
		out = map[string]any{"raw": string(b)}
	}
	return resp.StatusCode, out
}

func TestVehiclesAndCommands(t *testing.T) {
	f := newFixture(t, 2)
	resp, err := http.Get(f.url + "/api/v1/vehicles")
	if err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(list) != 2 || list[0]["ref"] != "1" || list[1]["mode"] != "STABILIZE" {
		t.Fatalf("vehicles: %v", list)
	}

	for _, step := range []string{`{"command":"mode","mode":"GUIDED"}`, `{"command":"arm"}`, `{"command":"takeoff","alt_m":10}`} {
		status, body := f.do(t, "POST", "/api/v1/vehicles/1/commands", "application/json", step)
		if status != http.StatusOK || body["ok"] != true {
			t.Fatalf("%s: %d %v", step, status, body)
		}
	}
	v, _ := f.m.Vehicle(1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := v.WaitState(ctx, func(s mavlink.State) bool { return s.AltRelM > 9 }); err != nil {
		t.Fatal(err)
	}

	// A refusal carries the vehicle's result, and the vehicle is unchanged.
	status, body := f.do(t, "POST", "/api/v1/vehicles/2/commands", "application/json", `{"command":"takeoff","alt_m":10}`)
	if status != http.StatusConflict || body["result"] != "FAILED" || body["code"] != "failed" || !strings.Contains(body["status_text"].(string), "disarmed") {
		t.Fatalf("takeoff while disarmed: %d %v", status, body)
	}

	if n := len(f.audit.all()); n != 4 {
		t.Fatalf("%d audit records for 4 commands", n)
	}
	last := f.audit.all()[3]
	if last.Method != "POST" || last.Path != "/api/v1/vehicles/2/commands" || last.Status != http.StatusConflict || last.Principal == "" {
		t.Fatalf("audit record %+v", last)
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	f := newFixture(t, 1)
	cases := []struct {
		name, method, path, ctype, body string
		status                          int
		says, code                      string
	}{
		{"malformed JSON", "POST", "/api/v1/vehicles/1/commands", "application/json", `{"command":`, 400, "malformed JSON", "bad_request"},
		{"unknown field", "POST", "/api/v1/vehicles/1/commands", "application/json", `{"command":"arm","now":true}`, 400, "unknown field", "bad_request"},
		{"unknown command", "POST", "/api/v1/vehicles/1/commands", "application/json", `{"command":"selfdestruct"}`, 400, "unknown command", "bad_request"},
		{"missing argument", "POST", "/api/v1/vehicles/1/commands", "application/json", `{"command":"takeoff"}`, 400, "alt_m", "bad_request"},
		{"bad argument", "POST", "/api/v1/vehicles/1/commands", "application/json", `{"command":"goto","lat_deg":95,"lon_deg":0,"alt_m":10}`, 400, "out of range", "bad_argument"},
		{"unknown mode", "POST", "/api/v1/vehicles/1/commands", "application/json", `{"command":"mode","mode":"WARP"}`, 400, "unknown flight mode", "unknown_mode"},
		{"unknown vehicle", "POST", "/api/v1/vehicles/42/commands", "application/json", `{"command":"arm"}`, 404, "no such vehicle", "no_vehicle"},
		{"bad vehicle id", "GET", "/api/v1/vehicles/x", "", "", 400, "system id", "bad_request"},
		{"oversized body", "POST", "/api/v1/vehicles/1/commands", "application/json", `{"command":"` + strings.Repeat("a", 10000) + `"}`, 413, "larger than", "too_large"},
		{"wrong content type", "POST", "/api/v1/vehicles/1/commands", "text/plain", `{"command":"arm"}`, 415, "application/json", "unsupported_media_type"},
		{"unknown route", "GET", "/api/v1/nothing", "", "", 404, "openapi", "not_found"},
		{"broken plan", "POST", "/api/v1/missions/validate", "", `{"fileType":"Plan", "mission": {`, 400, "broken JSON", "bad_request"},
		{"not a plan", "POST", "/api/v1/plans/x", "", "hello", 415, "unknown file format", "unsupported_media_type"},
		{"NaN coordinates", "POST", "/api/v1/plans/x", "", nanPlan, 400, "item 1", "bad_request"},
		{"unknown command number", "POST", "/api/v1/plans/x", "", unknownCommandPlan, 400, "unknown", "bad_request"},
		{"invalid plan to a vehicle", "POST", "/api/v1/vehicles/1/mission", "", tooHighPlan, 422, "nothing was sent", "invalid_plan"},
		{"plan to an unknown vehicle", "POST", "/api/v1/vehicles/42/mission", "", tooHighPlan, 404, "no such vehicle", "no_vehicle"},
		{"unknown plan", "GET", "/api/v1/plans/nope", "", "", 404, "not found", "not_found"},
		{"unknown plan to a vehicle", "POST", "/api/v1/vehicles/1/mission?plan=nope", "", "", 404, "not found", "not_found"},
		{"clear with a bad all flag", "DELETE", "/api/v1/vehicles/1/mission?all=maybe", "", "", 400, "want true or false", "bad_request"},
		{"bad plan version", "GET", "/api/v1/plans/x?version=zero", "", "", 400, "version", "bad_request"},
		{"unknown flight", "GET", "/api/v1/flights/99", "", "", 404, "not found", "not_found"},
		{"oversized plan", "POST", "/api/v1/plans/x", "", strings.Repeat("x", 10000), 413, "larger than", "too_large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := f.do(t, c.method, c.path, c.ctype, c.body)
			msg, _ := body["error"].(string)
			if status != c.status || !strings.Contains(msg, c.says) || body["code"] != c.code {
				t.Fatalf("%d %q (code %v), want %d mentioning %q, code %q", status, msg, body["code"], c.status, c.says, c.code)
			}
		})
	}
	v, _ := f.m.Vehicle(1)
	if s := v.State(); s.Armed || s.Mode != "STABILIZE" || s.Mission.Status != mavlink.MissionUnknown {
		t.Fatalf("bad requests changed the vehicle: armed %v mode %s mission %s", s.Armed, s.Mode, s.Mission.Status)
	}
	if status, body := f.do(t, "GET", "/api/v1/plans", "", ""); status != 200 || body["raw"] != "[]\n" {
		t.Fatalf("bad plans were stored: %d %v", status, body)
	}
}

const wplHead = "QGC WPL 110\n0\t1\t0\t16\t0\t0\t0\t0\t-35.363261\t149.165230\t584\t1\n"

var (
	nanPlan            = wplHead + "1\t0\t3\t16\t0\t0\t0\t0\tnan\t149.1652\t20\t1\n"
	unknownCommandPlan = wplHead + "1\t0\t3\t61234\t0\t0\t0\t0\t-35.3630\t149.1652\t20\t1\n"
	tooHighPlan        = wplHead + "1\t0\t3\t22\t0\t0\t0\t0\t-35.363261\t149.165230\t20\t1\n" +
		"2\t0\t3\t16\t0\t0\t0\t0\t-35.3625\t149.1652\t500\t1\n"
)

func TestWebSocketCoalescesAndReportsEvents(t *testing.T) {
	f := newFixture(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, strings.Replace(f.url, "http", "ws", 1)+"/api/v1/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()

	// Ask for a mode change so an event must arrive.
	go func() {
		time.Sleep(500 * time.Millisecond)
		req, _ := http.NewRequest("POST", f.url+"/api/v1/vehicles/2/commands", bytes.NewReader([]byte(`{"command":"mode","mode":"LOITER"}`)))
		req.Header.Set("Content-Type", "application/json")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	perVehicle := map[string]int{}
	start := time.Now()
	sawMode := false
	var window time.Duration
	for window = 0; window < 3*time.Second || !sawMode; window = time.Since(start) {
		_, b, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("after %v: %v", time.Since(start), err)
		}
		var msg struct {
			Type     string `json:"type"`
			Vehicles []struct {
				Ref string `json:"ref"`
			} `json:"vehicles"`
			Event *struct {
				Kind string `json:"kind"`
				Mode string `json:"mode"`
			} `json:"event"`
			Vehicle string `json:"vehicle"`
		}
		if err := json.Unmarshal(b, &msg); err != nil {
			t.Fatal(err)
		}
		switch msg.Type {
		case "states":
			for _, v := range msg.Vehicles {
				perVehicle[v.Ref]++
			}
		case "event":
			if msg.Event.Kind == "mode_changed" && msg.Vehicle == "2" && msg.Event.Mode == "LOITER" {
				sawMode = true
			}
		}
	}
	// Each simulated copter sends ~26 messages a second; the socket carries at most 10 updates a second
	// per vehicle (plus the first full picture).
	for ref, n := range perVehicle {
		rate := float64(n-1) / window.Seconds()
		if rate > 10.5 || n < 5 {
			t.Errorf("vehicle %s: %d updates in %v (%.1f/s), want between a few and 10/s", ref, n, window, rate)
		}
	}
	if len(perVehicle) != 3 {
		t.Fatalf("updates for %d vehicles, want 3", len(perVehicle))
	}
	_ = conn.Close(websocket.StatusNormalClosure, "")
}

func TestHealthMetricsOpenAPI(t *testing.T) {
	f := newFixture(t, 1)
	status, body := f.do(t, "GET", "/healthz", "", "")
	if status != 200 || body["status"] != "ok" || body["vehicles"] != float64(1) {
		t.Fatalf("healthz: %d %v", status, body)
	}
	_, _ = f.do(t, "POST", "/api/v1/vehicles/1/commands", "application/json", `{"command":"mode","mode":"LOITER"}`)
	resp, err := http.Get(f.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`osprey_vehicles{state="alive"} 1`, `osprey_commands_total{command="mode",result="accepted"} 1`, "osprey_link_frames_total", "osprey_vehicle_frames_lost_total"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	resp, err = http.Get(f.url + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	err = json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if err != nil || doc["openapi"] == nil {
		t.Fatalf("openapi.json: %v %v", err, doc["openapi"])
	}
}
