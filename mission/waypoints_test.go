package mission

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// copterMissionWPL is the reference example from ArduPilot's autotest
// (PAUSE_CONTINUE/copter_mission.txt), plus a DO_JUMP row.
const copterMissionWPL = "QGC WPL 110\n" +
	"0\t0\t0\t16\t0.000000\t0.000000\t0.000000\t0.000000\t-35.363262\t149.165237\t584.090027\t1\n" +
	"1\t0\t3\t22\t0.000000\t0.000000\t0.000000\t0.000000\t-35.362881\t149.165222\t20.000000\t1\n" +
	"2\t0\t3\t16\t0.000000\t0.000000\t0.000000\t0.000000\t-35.364652\t149.163501\t0.000000\t1\n" +
	"3\t0\t3\t16\t0.000000\t0.000000\t0.000000\t0.000000\t-35.365361\t149.163501\t0.000000\t1\n" +
	"4\t0\t3\t177\t2.000000\t3.000000\t0.000000\t0.000000\t0.000000\t0.000000\t0.000000\t1\n" +
	"5\t0\t3\t16\t0.000000\t0.000000\t0.000000\t0.000000\t0.000000\t0.000000\t0.000000\t1\n" +
	"6\t0\t0\t20\t0.000000\t0.000000\t0.000000\t0.000000\t0.000000\t0.000000\t0.000000\t1\n"

func TestParseWaypointsReferenceExample(t *testing.T) {
	p, err := ParseWaypoints(strings.NewReader(copterMissionWPL))
	if err != nil {
		t.Fatal(err)
	}
	if p.PlannedHome == nil || *p.PlannedHome != (Position{LatDeg: -35.363262, LonDeg: 149.165237, AltM: 584.090027}) {
		t.Fatalf("home %+v", p.PlannedHome)
	}
	if len(p.Items) != 6 {
		t.Fatalf("%d items, want 6 (home is not an item)", len(p.Items))
	}
	if it := p.Items[0]; it.Command != CmdNavTakeoff || it.Frame != FrameGlobalRelativeAlt || it.AltM != 20 || it.LatDeg != -35.362881 {
		t.Errorf("takeoff %+v", it)
	}
	// DO_JUMP 2 names file seq 2 = the first NAV_WAYPOINT = index 1.
	if j := p.Items[3]; j.Command != CmdDoJump || j.Param1 != 1 || j.Param2 != 3 {
		t.Errorf("jump %+v", j)
	}
	if it := p.Items[5]; it.Command != CmdNavReturnToLaunch || it.Frame != FrameGlobal {
		t.Errorf("rtl %+v", it)
	}
	// Written back: same text shape, home first and current.
	var buf bytes.Buffer
	if err := WriteWaypoints(&buf, p); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	if lines[0] != "QGC WPL 110" || len(lines) != 8 {
		t.Fatalf("output:\n%s", buf.String())
	}
	for n, line := range lines[1:] {
		if f := strings.Split(line, "\t"); len(f) != 12 || f[0] != strings.TrimSpace(string(rune('0'+n))) {
			t.Fatalf("line %d: %q", n+2, line)
		}
	}
	if lines[1] != "0\t1\t0\t16\t0\t0\t0\t0\t-35.363262\t149.165237\t584.090027\t1" {
		t.Errorf("home row %q", lines[1])
	}
	if !strings.HasPrefix(lines[5], "4\t0\t3\t177\t2\t3\t") {
		t.Errorf("jump row %q", lines[5])
	}
}

func TestParseWaypointsSpacesCommentsCRLF(t *testing.T) {
	in := "QGC WPL 110\r\n# home\r\n0 1 0 16 0 0 0 0 -35.1 149.1 580 1\r\n\r\n" +
		"1  0  3  22  0 0 0 0  0 0 15  1\r\n2 0 3 16 0 0 0 NaN -35.2 149.2 30 0"
	p, err := ParseWaypoints(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != 2 || p.Items[1].AutoContinue || p.Items[1].LatDeg != -35.2 || p.PlannedHome.AltM != 580 {
		t.Fatalf("%+v", p.Items)
	}
}

func TestParseWaypointsWithoutHomeRow(t *testing.T) {
	// MAVSDK's sample starts with a takeoff (frame 5 = GLOBAL_INT) and has no
	// home row; a DO_JUMP then counts from 0.
	in := "QGC WPL 110\n" +
		"0\t1\t5\t22\t0\t0\t0\t0\t47.3978101\t8.5455380\t15\t1\n" +
		"1\t0\t5\t16\t0\t0\t0\t0\t47.3977992\t8.5454669\t15\t1\n" +
		"2\t0\t2\t177\t1\t1\t0\t0\t0\t0\t0\t1\n"
	p, err := ParseWaypoints(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if p.PlannedHome != nil || len(p.Items) != 3 || p.Items[0].Frame != FrameGlobal || p.Items[2].Param1 != 1 {
		t.Fatalf("home %+v items %+v", p.PlannedHome, p.Items)
	}
	back := wplRoundTrip(t, p)
	if d := planDiff(p, back); len(d) > 0 {
		t.Fatal(d)
	}
}

func TestParseWaypointsVersion120(t *testing.T) {
	// QGroundControl's old text format: no home row, jumps count from 0.
	in := "QGC WPL 120\n0\t0\t3\t16\t0\t0\t0\t0\t1\t1\t10\t1\n1\t0\t3\t177\t0\t2\t0\t0\t0\t0\t0\t1\n"
	p, err := ParseWaypoints(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if p.PlannedHome != nil || len(p.Items) != 2 || p.Items[1].Param1 != 0 {
		t.Fatalf("%+v", p)
	}
}

func TestParseWaypointsFenceAndRally(t *testing.T) {
	fence := "QGC WPL 110\n" +
		"0\t0\t0\t5001\t3\t0\t0\t0\t40.0710\t-105.2300\t0\t0\n" +
		"1\t0\t0\t5001\t3\t0\t0\t0\t40.0720\t-105.2300\t0\t0\n" +
		"2\t0\t0\t5001\t3\t0\t0\t0\t40.0720\t-105.2280\t0\t0\n" +
		"3\t0\t0\t5004\t20\t0\t0\t0\t40.0715\t-105.2290\t0\t0\n"
	p, err := ParseWaypoints(strings.NewReader(fence))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != 0 || p.PlannedHome != nil || len(p.Fence.Polygons) != 1 || !p.Fence.Polygons[0].Inclusion ||
		len(p.Fence.Polygons[0].Vertices) != 3 || len(p.Fence.Circles) != 1 || p.Fence.Circles[0].RadiusM != 20 {
		t.Fatalf("%+v", p)
	}
	var buf bytes.Buffer
	if err := WriteFenceWaypoints(&buf, p); err != nil {
		t.Fatal(err)
	}
	back, err := ParseWaypoints(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if d := fenceDiff(p.Fence, back.Fence); len(d) > 0 {
		t.Fatal(d)
	}

	rally := "QGC WPL 110\n0\t0\t3\t5100\t0\t0\t0\t0\t40.07\t-105.23\t45\t0\n"
	p, err = ParseWaypoints(strings.NewReader(rally))
	if err != nil || len(p.Rally) != 1 || p.Rally[0] != (RallyPoint{LatDeg: 40.07, LonDeg: -105.23, AltM: 45}) {
		t.Fatalf("%v %+v", err, p)
	}
}

func TestParseMAVProxyLists(t *testing.T) {
	fence := "-27.30\t151.33\n-27.27\t151.34\n-27.26\t151.28\n-27.27\t151.28\n-27.27\t151.34\n"
	p, err := ParseMAVProxyFence(strings.NewReader(fence))
	if err != nil {
		t.Fatal(err)
	}
	if p.Fence.ReturnPoint == nil || p.Fence.ReturnPoint.LatDeg != -27.30 || len(p.Fence.Polygons) != 1 ||
		len(p.Fence.Polygons[0].Vertices) != 3 {
		t.Fatalf("closing vertex not dropped: %+v", p.Fence)
	}
	rally := "RALLY 40.071553\t-105.229401\t10.000000\t40.000000\t0.000000\t0\n"
	p, err = ParseMAVProxyRally(strings.NewReader(rally))
	if err != nil || len(p.Rally) != 1 || p.Rally[0].AltM != 10 {
		t.Fatalf("%v %+v", err, p)
	}
	for _, bad := range []string{"1 2\n3 4\n", "1 2 3\n", "1 x\n", "95 1\n1 2\n1 3\n2 3\n"} {
		if _, err := ParseMAVProxyFence(strings.NewReader(bad)); !errors.Is(err, ErrInvalidFile) {
			t.Errorf("fence %q: %v", bad, err)
		}
	}
	for _, bad := range []string{"", "RALLY 1\n", "POINT 1 2 3\n", "RALLY 1 x 3\n", "RALLY 100 2 3\n"} {
		if _, err := ParseMAVProxyRally(strings.NewReader(bad)); !errors.Is(err, ErrInvalidFile) {
			t.Errorf("rally %q: %v", bad, err)
		}
	}
}

func TestParseWaypointsBadInput(t *testing.T) {
	const home = "0\t1\t0\t16\t0\t0\t0\t0\t-35.1\t149.1\t580\t1\n"
	cases := []struct {
		name, in, want string
		unknownCmd     bool
	}{
		{"empty", "", "empty file", false},
		{"no header", home, `line 1: missing "QGC WPL 110" header`, false},
		{"other version", "QGC WPL 130\n" + home, "unsupported header", false},
		{"truncated line", "QGC WPL 110\n" + home + "1\t0\t3\t16\t0\t0\t0\t0\t-35.2\t149.2\n", "line 3: 10 columns, want 12", false},
		{"extra column", "QGC WPL 110\n" + home + "1\t0\t3\t16\t0\t0\t0\t0\t-35.2\t149.2\t30\t1\t7\n", "line 3: 13 columns", false},
		{"not a number", "QGC WPL 110\n" + home + "1\t0\t3\t16\t0\t0\tabc\t0\t-35.2\t149.2\t30\t1\n", "line 3 (item 1): column 7 \"abc\" is not a number", false},
		{"infinite", "QGC WPL 110\n" + home + "1\t0\t3\t16\t0\t0\t0\t0\t-35.2\t149.2\tInf\t1\n", "line 3 (item 1): column 11", false},
		{"unknown command", "QGC WPL 110\n" + home + "1\t0\t3\t4242\t0\t0\t0\t0\t-35.2\t149.2\t30\t1\n", "line 3 (item 1): mission: unknown command 4242", true},
		{"latitude", "QGC WPL 110\n" + home + "1\t0\t3\t16\t0\t0\t0\t0\t-123.4\t149.2\t30\t1\n", "line 3 (item 1): latitude -123.4 out of range", false},
		{"nan latitude", "QGC WPL 110\n" + home + "1\t0\t3\t16\t0\t0\t0\t0\tNaN\t149.2\t30\t1\n", "line 3 (item 1): latitude is missing", false},
		{"bad frame", "QGC WPL 110\n" + home + "1\t0\t33\t16\t0\t0\t0\t0\t-35.2\t149.2\t30\t1\n", "line 3 (item 1): frame \"33\" invalid", false},
		{"bad current", "QGC WPL 110\n" + home + "1\t2\t3\t16\t0\t0\t0\t0\t-35.2\t149.2\t30\t1\n", "current flag \"2\" invalid", false},
		{"bad autocontinue", "QGC WPL 110\n" + home + "1\t0\t3\t16\t0\t0\t0\t0\t-35.2\t149.2\t30\tyes\n", "autocontinue flag", false},
		{"negative index", "QGC WPL 110\n" + home + "-1\t0\t3\t16\t0\t0\t0\t0\t-35.2\t149.2\t30\t1\n", "index \"-1\" invalid", false},
		{"bad home", "QGC WPL 110\n0\t1\t0\t16\t0\t0\t0\t0\t-95\t149.1\t580\t1\n", "line 2 (home): latitude -95 out of range", false},
		{"short fence polygon", "QGC WPL 110\n0\t0\t0\t5001\t4\t0\t0\t0\t40\t-105\t0\t0\n1\t0\t0\t5001\t4\t0\t0\t0\t40.1\t-105\t0\t0\n" +
			"2\t0\t0\t5004\t20\t0\t0\t0\t40\t-105\t0\t0\n", "line 4 (item 2): polygon ended after 2 of 4 vertices", false},
		{"fence count", "QGC WPL 110\n0\t0\t0\t5002\t2\t0\t0\t0\t40\t-105\t0\t0\n", "polygon vertex count 2 invalid", false},
		{"circle radius", "QGC WPL 110\n0\t0\t0\t5003\t0\t0\t0\t0\t40\t-105\t0\t0\n", "circle radius 0 invalid", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := ParseWaypoints(strings.NewReader(c.in))
			if err == nil {
				t.Fatalf("no error: %+v", p)
			}
			if !errors.Is(err, ErrInvalidFile) {
				t.Errorf("%v does not wrap ErrInvalidFile", err)
			}
			if errors.Is(err, ErrUnknownCommand) != c.unknownCmd {
				t.Errorf("errors.Is(ErrUnknownCommand) = %v", !c.unknownCmd)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
		})
	}
}

func TestDetectAndDecode(t *testing.T) {
	cases := []struct {
		name, data string
		want       Format
	}{
		{"a.plan", simpleSquarePlan, FormatPlan},
		{"a.txt", copterMissionWPL, FormatWaypoints},
		{"a.txt", "\xef\xbb\xbf" + copterMissionWPL, FormatWaypoints},
		{"fence.txt", "-27.3 151.3\n-27.2 151.3\n", FormatMAVProxyFence},
		{"rally.txt", "RALLY 1 2 3 4 0 0\n", FormatMAVProxyRally},
		{"area.json", `{"type":"Polygon","coordinates":[]}`, FormatGeoJSON},
		{"area.kml", `<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"></kml>`, FormatKML},
		{"broken.plan", `{"fileType": "Pla`, FormatPlan},
		{"broken.plan", `garbage`, FormatPlan},
		{"x.bin", "garbage", FormatUnknown},
		{"x.json", `{"hello":1}`, FormatUnknown},
	}
	for _, c := range cases {
		if got := Detect(c.name, []byte(c.data)); got != c.want {
			t.Errorf("Detect(%s, %.20q) = %v, want %v", c.name, c.data, got, c.want)
		}
	}
	if _, f, err := Decode("x.bin", []byte("garbage")); !errors.Is(err, ErrUnknownFormat) || f != FormatUnknown {
		t.Errorf("unknown: %v %v", f, err)
	}
	if _, _, err := Decode("a.kml", []byte(`<kml></kml>`)); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("area as plan: %v", err)
	}
	// A damaged .plan gets the plan parser's error, not "unknown format".
	if _, _, err := Decode("broken.plan", []byte(`{"fileType": "Pla`)); !errors.Is(err, ErrInvalidFile) ||
		!strings.Contains(err.Error(), "JSON") {
		t.Errorf("broken plan: %v", err)
	}
	if p, f, err := Decode("m.txt", []byte(copterMissionWPL)); err != nil || f != FormatWaypoints || len(p.Items) != 6 {
		t.Errorf("decode WPL: %v %v", f, err)
	}
}
