package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/ospreygcs/osprey/internal/app"
	"github.com/ospreygcs/osprey/internal/config"
)

// demoServer runs osprey demo in-process on free ports and returns its base URL.
func demoServer(t *testing.T, ctx context.Context, dataDir string, fly bool, speedup float64) (string, <-chan error) {
	t.Helper()
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- runDemo(ctx, demoOptions{vehicles: 2, home: "-35.363261,149.165230,584", httpAddr: "127.0.0.1:0", dataDir: dataDir,
			rtspAddr: "127.0.0.1:0", webrtcPort: 0, fly: fly, speedup: speedup}, io.Discard, func(a *app.App) { addr <- a.Addr() })
	}()
	select {
	case a := <-addr:
		return "http://" + a, done
	case err := <-done:
		t.Fatalf("demo did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not start in 30 s")
	}
	return "", nil
}

func apiCall(t *testing.T, method, url, ctype string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func command(t *testing.T, base, vehicle, body string) {
	t.Helper()
	status, b := apiCall(t, "POST", base+"/api/v1/vehicles/"+vehicle+"/commands", "application/json", []byte(body))
	if status != http.StatusOK {
		t.Fatalf("%s: %d %s", body, status, b)
	}
}

// TestDemoEndToEnd: osprey demo in-process; through the API arm and take off vehicle 1, upload a
// mission, start it, and watch progress over the WebSocket until it lands; get a WHEP answer for its
// camera. Then a restart on the same data directory still has the plan and the flight.
func TestDemoEndToEnd(t *testing.T) {
	dataDir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	demoCtx, stopDemo := context.WithCancel(ctx)
	defer stopDemo()
	base, done := demoServer(t, demoCtx, dataDir, false, 1)

	ws, _, err := websocket.Dial(ctx, strings.Replace(base, "http", "ws", 1)+"/api/v1/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	ws.SetReadLimit(1 << 22)
	type wsMsg struct {
		Type     string `json:"type"`
		Vehicles []struct {
			Ref     string  `json:"ref"`
			Armed   bool    `json:"armed"`
			AltRelM float64 `json:"alt_rel_m"`
			GPSFix  int     `json:"gps_fix"`
		} `json:"vehicles"`
		Event *struct {
			Kind       string `json:"kind"`
			MissionSeq int    `json:"mission_seq"`
		} `json:"event"`
		API *struct {
			Kind  string `json:"kind"`
			Done  int    `json:"done"`
			Total int    `json:"total"`
		} `json:"api"`
		Vehicle string `json:"vehicle"`
	}
	msgs := make(chan wsMsg, 1024)
	go func() {
		defer close(msgs)
		for {
			_, b, err := ws.Read(ctx)
			if err != nil {
				return
			}
			var m wsMsg
			if json.Unmarshal(b, &m) == nil {
				msgs <- m
			}
		}
	}()
	// waitFor reads the socket until pred says so.
	waitFor := func(what string, pred func(wsMsg) bool) {
		t.Helper()
		for {
			select {
			case m, ok := <-msgs:
				if !ok {
					t.Fatalf("socket closed waiting for %s", what)
				}
				if pred(m) {
					return
				}
			case <-ctx.Done():
				t.Fatalf("waiting for %s: %v", what, ctx.Err())
			}
		}
	}
	vehicle1 := func(p func(alt float64, armed bool, fix int) bool) func(wsMsg) bool {
		return func(m wsMsg) bool {
			for _, v := range m.Vehicles {
				if v.Ref == "1" && p(v.AltRelM, v.Armed, v.GPSFix) {
					return true
				}
			}
			return false
		}
	}
	waitFor("vehicle 1 with a GPS fix", vehicle1(func(_ float64, _ bool, fix int) bool { return fix >= 3 }))

	command(t, base, "1", `{"command":"mode","mode":"GUIDED"}`)
	command(t, base, "1", `{"command":"arm"}`)
	command(t, base, "1", `{"command":"takeoff","alt_m":15}`)
	waitFor("vehicle 1 at 10 m", vehicle1(func(alt float64, _ bool, _ int) bool { return alt > 10 }))

	plan := "QGC WPL 110\n" +
		"0\t1\t0\t16\t0\t0\t0\t0\t-35.363261\t149.165230\t584\t1\n" +
		"1\t0\t3\t22\t0\t0\t0\t0\t-35.363261\t149.165230\t15\t1\n" +
		"2\t0\t3\t16\t0\t0\t0\t0\t-35.362800\t149.165230\t20\t1\n" +
		"3\t0\t3\t16\t0\t0\t0\t0\t-35.362800\t149.165800\t20\t1\n" +
		"4\t0\t3\t20\t0\t0\t0\t0\t0\t0\t0\t1\n"
	status, b := apiCall(t, "POST", base+"/api/v1/plans/square", "text/plain", []byte(plan))
	if status != http.StatusCreated {
		t.Fatalf("saving the plan: %d %s", status, b)
	}
	status, b = apiCall(t, "POST", base+"/api/v1/vehicles/1/mission?plan=square", "", nil)
	if status != http.StatusOK {
		t.Fatalf("uploading the mission: %d %s", status, b)
	}
	waitFor("upload progress", func(m wsMsg) bool { return m.API != nil && m.API.Kind == "mission_uploaded" })
	status, b = apiCall(t, "POST", base+"/api/v1/vehicles/1/mission/start", "", nil)
	if status != http.StatusOK {
		t.Fatalf("starting the mission: %d %s", status, b)
	}
	reached := map[int]bool{}
	waitFor("every item reached", func(m wsMsg) bool {
		if m.Event != nil && m.Event.Kind == "mission_item_reached" && m.Vehicle == "1" {
			reached[m.Event.MissionSeq] = true
		}
		return reached[1] && reached[2] && reached[3] && reached[4]
	})
	waitFor("vehicle 1 landed and disarmed", vehicle1(func(alt float64, armed bool, _ int) bool { return !armed && alt < 0.5 }))

	// The camera answers a WHEP offer.
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	status, answer := apiCall(t, "POST", base+"/api/v1/streams/sim/1/whep", "application/sdp", []byte(pc.LocalDescription().SDP))
	if status != http.StatusCreated || !strings.Contains(string(answer), "m=video") || !strings.Contains(string(answer), "H264") {
		t.Fatalf("WHEP: %d %s", status, answer)
	}

	// The metrics count the viewer and the stream's bitrate.
	status, b = apiCall(t, "GET", base+"/metrics", "", nil)
	for _, want := range []string{"osprey_webrtc_viewers 1", `osprey_stream_live{stream="sim/1"} 1`, `osprey_stream_bitrate_bps{stream="sim/1"}`,
		`osprey_vehicles{state="alive"} 2`, "osprey_commands_total", "osprey_link_frames_total"} {
		if status != 200 || !bytes.Contains(b, []byte(want)) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	stopDemo()
	if err := <-done; err != nil {
		t.Fatalf("demo stopped with %v", err)
	}

	// A restart on the same data directory keeps the plan library and the flight log.
	conf := config.Defaults()
	conf.HTTP.Address, conf.DataDir, conf.Video.RTSPAddress, conf.Video.WebRTC.UDPPort = "127.0.0.1:0", dataDir, "127.0.0.1:0", 0
	a, err := app.New(ctx, conf, nil)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stopApp := context.WithCancel(ctx)
	appDone := make(chan error, 1)
	go func() { appDone <- a.Run(runCtx) }()
	base = "http://" + a.Addr()
	status, b = apiCall(t, "GET", base+"/api/v1/plans", "", nil)
	if status != 200 || !strings.Contains(string(b), `"square"`) {
		t.Fatalf("plans after restart: %d %s", status, b)
	}
	status, b = apiCall(t, "GET", base+"/api/v1/flights", "", nil)
	var flights []struct {
		ID         int64
		VehicleID  int
		MaxAltRelM float64
		TlogPath   string
	}
	if status != 200 || json.Unmarshal(b, &flights) != nil || len(flights) == 0 || flights[0].VehicleID != 1 || flights[0].MaxAltRelM < 14 {
		t.Fatalf("flights after restart: %d %s", status, b)
	}
	status, b = apiCall(t, "GET", base+"/api/v1/flights/"+jsonInt(flights[0].ID)+"/track?format=kml", "", nil)
	if status != 200 || !bytes.Contains(b, []byte("<kml")) {
		t.Fatalf("flight track KML: %d %.200s", status, b)
	}
	stopApp()
	if err := <-appDone; err != nil {
		t.Fatal(err)
	}
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestDemoFleetFlies: the demo's background vehicles take off and patrol (vehicle 1 waits on the
// ground), as a newcomer opening the page should see.
func TestDemoFleetFlies(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	demoCtx, stopDemo := context.WithCancel(ctx)
	base, done := demoServer(t, demoCtx, t.TempDir(), true, 4)
	defer func() {
		stopDemo()
		<-done
	}()
	for {
		status, b := apiCall(t, "GET", base+"/api/v1/vehicles", "", nil)
		var vs []struct {
			Ref           string  `json:"ref"`
			Armed         bool    `json:"armed"`
			AltRelM       float64 `json:"alt_rel_m"`
			GroundSpeedMS float64 `json:"ground_speed_m_s"`
		}
		if status != 200 || json.Unmarshal(b, &vs) != nil {
			t.Fatalf("vehicles: %d %s", status, b)
		}
		patrolling := 0
		for _, v := range vs {
			if v.Ref == "1" && v.Armed {
				t.Fatal("vehicle 1 should wait on the ground")
			}
			if v.Ref == "2" && v.Armed && v.AltRelM > 15 && v.GroundSpeedMS > 2 {
				patrolling++
			}
		}
		if patrolling == 1 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("vehicle 2 never patrolled: %s", b)
		case <-time.After(500 * time.Millisecond):
		}
	}
}
