package mission

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

// simpleSquarePlan is the reference example from QGroundControl's test
// resources (simple_square.plan), compacted.
const simpleSquarePlan = `{"fileType":"Plan","geoFence":{"circles":[],"polygons":[],"version":2},
"groundStation":"QGroundControl","mission":{"cruiseSpeed":15,"firmwareType":12,"globalPlanAltitudeMode":1,
"hoverSpeed":5,"items":[
{"AMSLAltAboveTerrain":null,"Altitude":20,"AltitudeMode":1,"autoContinue":true,"command":22,"doJumpId":1,"frame":3,"params":[0,0,0,null,47.397742,8.545594,20],"type":"SimpleItem"},
{"AMSLAltAboveTerrain":null,"Altitude":20,"AltitudeMode":1,"autoContinue":true,"command":16,"doJumpId":2,"frame":3,"params":[0,0,0,null,47.398742,8.546594,20],"type":"SimpleItem"},
{"AMSLAltAboveTerrain":null,"Altitude":20,"AltitudeMode":1,"autoContinue":true,"command":16,"doJumpId":3,"frame":3,"params":[0,0,0,null,47.398742,8.544594,20],"type":"SimpleItem"},
{"AMSLAltAboveTerrain":null,"Altitude":20,"AltitudeMode":1,"autoContinue":true,"command":16,"doJumpId":4,"frame":3,"params":[0,0,0,null,47.396742,8.544594,20],"type":"SimpleItem"},
{"AMSLAltAboveTerrain":null,"Altitude":20,"AltitudeMode":1,"autoContinue":true,"command":16,"doJumpId":5,"frame":3,"params":[0,0,0,null,47.396742,8.546594,20],"type":"SimpleItem"}],
"plannedHomePosition":[47.397742,8.545594,488],"vehicleType":2,"version":2},
"rallyPoints":{"points":[],"version":2},"version":1}`

func TestParsePlanReferenceExample(t *testing.T) {
	p, err := ParsePlan(strings.NewReader(simpleSquarePlan))
	if err != nil {
		t.Fatal(err)
	}
	if p.Vehicle != (VehicleInfo{Firmware: FirmwarePX4, Type: VehicleQuadrotor}) || p.Vehicle.Class() != ClassCopter {
		t.Errorf("vehicle %+v", p.Vehicle)
	}
	if p.CruiseSpeedMS != 15 || p.HoverSpeedMS != 5 {
		t.Errorf("speeds %v %v", p.CruiseSpeedMS, p.HoverSpeedMS)
	}
	if p.PlannedHome == nil || *p.PlannedHome != (Position{LatDeg: 47.397742, LonDeg: 8.545594, AltM: 488}) {
		t.Errorf("home %+v", p.PlannedHome)
	}
	if len(p.Items) != 5 {
		t.Fatalf("%d items", len(p.Items))
	}
	first := p.Items[0]
	if first.Command != CmdNavTakeoff || first.Frame != FrameGlobalRelativeAlt || !first.AutoContinue ||
		first.LatDeg != 47.397742 || first.LonDeg != 8.545594 || first.AltM != 20 || !math.IsNaN(first.Param4) {
		t.Errorf("first item %+v", first)
	}
	if !p.Items[0].HasPosition() || p.Items[4].LatDeg != 47.396742 {
		t.Errorf("items %+v", p.Items)
	}
	// null comes back out as null, not NaN or 0.
	out := writePlanBytes(t, p)
	if !bytes.Contains(out, []byte("null")) || bytes.Contains(out, []byte("NaN")) {
		t.Errorf("NaN not written as null:\n%s", out)
	}
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["fileType"] != "Plan" || doc["version"] != 1.0 {
		t.Errorf("header %v %v", doc["fileType"], doc["version"])
	}
	m := doc["mission"].(map[string]any)
	if m["version"] != 2.0 || m["firmwareType"] != 12.0 || m["vehicleType"] != 2.0 {
		t.Errorf("mission header %v", m)
	}
}

func TestPlanDoJumpUsesDoJumpID(t *testing.T) {
	// doJumpIds deliberately not equal to position+1: the jump names id 7,
	// which is the second item.
	const plan = `{"fileType":"Plan","version":1,"mission":{"version":2,"items":[
	{"type":"SimpleItem","command":22,"frame":3,"doJumpId":3,"params":[0,0,0,0,1,1,10]},
	{"type":"SimpleItem","command":16,"frame":3,"doJumpId":7,"params":[0,0,0,0,1.001,1,10]},
	{"type":"SimpleItem","command":16,"frame":3,"doJumpId":9,"params":[0,0,0,0,1.002,1,10]},
	{"type":"SimpleItem","command":177,"frame":2,"doJumpId":11,"params":[7,3,0,0,0,0,0]}]}}`
	p, err := ParsePlan(strings.NewReader(plan))
	if err != nil {
		t.Fatal(err)
	}
	jump := p.Items[3]
	if jump.Command != CmdDoJump || jump.Param1 != 1 || jump.Param2 != 3 {
		t.Fatalf("DO_JUMP %+v, want target index 1 repeat 3", jump)
	}
	// Written back with sequential doJumpIds: target id 2.
	out := writePlanBytes(t, p)
	var doc struct {
		Mission struct {
			Items []struct {
				DoJumpID int       `json:"doJumpId"`
				Params   []float64 `json:"params"`
			} `json:"items"`
		} `json:"mission"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Mission.Items[1].DoJumpID != 2 || doc.Mission.Items[3].Params[0] != 2 {
		t.Fatalf("written ids %+v", doc.Mission.Items)
	}
	// In WPL the target is a seq with home at 0: item index 1 -> seq 2.
	var buf bytes.Buffer
	if err := WriteWaypoints(&buf, p); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if f := strings.Split(lines[5], "\t"); f[3] != "177" || f[4] != "2" {
		t.Fatalf("WPL jump row %q", lines[5])
	}
}

func TestPlanCalcAboveTerrainRoundTrip(t *testing.T) {
	const plan = `{"fileType":"Plan","version":1,"mission":{"version":2,"firmwareType":3,"vehicleType":2,"items":[
	{"type":"SimpleItem","command":16,"frame":0,"doJumpId":1,"Altitude":80,"AltitudeMode":3,"AMSLAltAboveTerrain":null,
	 "params":[0,0,0,null,-35.39,149.19,null]}],"plannedHomePosition":[-35.36,149.16,584]}}`
	p, err := ParsePlan(strings.NewReader(plan))
	if err != nil {
		t.Fatal(err)
	}
	it := p.Items[0]
	if !math.IsNaN(it.AltM) || it.AltAboveTerrainM != 80 {
		t.Fatalf("item %+v", it)
	}
	rep := Validate(p, ValidateOptions{})
	if rep.OK() || !strings.Contains(rep.Err().Error(), "80 m above terrain") {
		t.Fatalf("validation should stop the unresolved altitude: %v", rep.Issues)
	}
	out := writePlanBytes(t, p)
	if !bytes.Contains(out, []byte(`"AltitudeMode": 3`)) || !bytes.Contains(out, []byte(`"Altitude": 80`)) {
		t.Fatalf("mode 3 not written back:\n%s", out)
	}
}

func TestParseLegacyMission(t *testing.T) {
	const mission = `{"firmwareType":3,"groundStation":"QGroundControl","version":2,
	"plannedHomePosition":[47.66,-122.29,0],"items":[
	{"autoContinue":true,"command":22,"coordinate":[47.66,-122.29,50],"doJumpId":1,"frame":2,"params":[0,0,0,0],"type":"SimpleItem"},
	{"autoContinue":false,"command":18,"coordinate":[47.6603,-122.2942,10],"doJumpId":2,"frame":3,"params":[1,0,0,0],"type":"SimpleItem"}]}`
	p, err := ParsePlan(strings.NewReader(mission))
	if err != nil {
		t.Fatal(err)
	}
	if p.Vehicle.Firmware != FirmwareArduPilot || len(p.Items) != 2 || p.Items[1].Command != CmdNavLoiterTurns ||
		p.Items[1].Param1 != 1 || p.Items[1].AltM != 10 || p.Items[1].AutoContinue {
		t.Fatalf("plan %+v", p)
	}
	if Detect("x.mission", []byte(mission)) != FormatLegacyMission {
		t.Fatal("not detected as legacy mission")
	}
}

func TestParsePlanFenceRally(t *testing.T) {
	const plan = `{"fileType":"Plan","version":1,"mission":{"version":2,"items":[]},
	"geoFence":{"version":2,"breachReturn":[1.5,2.5,30],
	  "polygons":[{"inclusion":true,"version":1,"polygon":[[1,2],[1,3],[2,3]]},{"inclusion":false,"version":1,"polygon":[[1.1,2.1],[1.1,2.2],[1.2,2.2],[1.2,2.1]]}],
	  "circles":[{"version":1,"inclusion":false,"circle":{"center":[1.5,2.5],"radius":25}}]},
	"rallyPoints":{"version":2,"points":[[1.4,2.4,40],[1.6,2.6,50]]}}`
	p, err := ParsePlan(strings.NewReader(plan))
	if err != nil {
		t.Fatal(err)
	}
	f := p.Fence
	if len(f.Polygons) != 2 || !f.Polygons[0].Inclusion || f.Polygons[1].Inclusion || len(f.Polygons[1].Vertices) != 4 ||
		len(f.Circles) != 1 || f.Circles[0].Inclusion || f.Circles[0].RadiusM != 25 ||
		f.ReturnPoint == nil || f.ReturnPoint.AltM != 30 || len(p.Rally) != 2 || p.Rally[1].AltM != 50 {
		t.Fatalf("fence %+v rally %+v", f, p.Rally)
	}
	back, err := ParsePlan(bytes.NewReader(writePlanBytes(t, p)))
	if err != nil {
		t.Fatal(err)
	}
	if d := planDiff(p, back); len(d) > 0 {
		t.Fatal(d)
	}
	// The fence in MAVLink form: 3+4 vertices with counts, a circle, a return point.
	items := FenceItems(p.Fence)
	if len(items) != 1+3+4+1 || items[0].Command != CmdFenceReturnPoint || items[1].Param1 != 3 ||
		items[4].Command != CmdFenceVertexExclusion || items[4].Param1 != 4 || items[8].Param1 != 25 {
		t.Fatalf("fence items %+v", items)
	}
	f2, err := FenceFromItems(items)
	if err != nil {
		t.Fatal(err)
	}
	if d := fenceDiff(p.Fence, f2); len(d) > 0 {
		t.Fatal(d)
	}
	r2, err := RallyFromItems(RallyItems(p.Rally))
	if err != nil || len(r2) != 2 || r2[0] != p.Rally[0] {
		t.Fatalf("rally via items: %v %+v", err, r2)
	}
}

func TestParsePlanBadInput(t *testing.T) {
	item := func(body string) string {
		return `{"fileType":"Plan","version":1,"mission":{"version":2,"items":[
		{"type":"SimpleItem","command":22,"frame":3,"params":[0,0,0,0,1,1,10]},` + body + `]}}`
	}
	cases := []struct {
		name, in, want string
		unknownCmd     bool
	}{
		{"broken JSON", `{"fileType":"Plan",`, "broken JSON", false},
		{"not an object", `[1,2]`, "plan:", false},
		{"wrong fileType", `{"fileType":"GeoFence","version":1,"mission":{}}`, `fileType is "GeoFence"`, false},
		{"fileType not string", `{"fileType":1}`, "fileType", false},
		{"no fileType no items", `{"version":1}`, "not a QGroundControl plan", false},
		{"plan version", `{"fileType":"Plan","version":2,"mission":{"version":2,"items":[]}}`, "unsupported version 2", false},
		{"no version", `{"fileType":"Plan","mission":{"version":2,"items":[]}}`, "version missing", false},
		{"missing mission", `{"fileType":"Plan","version":1}`, "mission missing", false},
		{"mission version", `{"fileType":"Plan","version":1,"mission":{"version":1,"items":[]}}`, "mission: unsupported version 1", false},
		{"missing items", `{"fileType":"Plan","version":1,"mission":{"version":2}}`, "items missing", false},
		{"unknown command", item(`{"type":"SimpleItem","command":9999,"frame":3,"params":[0,0,0,0,0,0,0]}`), "mission item 2: mission: unknown command 9999", true},
		{"latitude out of range", item(`{"type":"SimpleItem","command":16,"frame":3,"params":[0,0,0,0,123.4,1,10]}`), "mission item 2: latitude 123.4 out of range", false},
		{"null latitude", item(`{"type":"SimpleItem","command":16,"frame":3,"params":[0,0,0,0,null,1,10]}`), "mission item 2: latitude is missing", false},
		{"longitude out of range", item(`{"type":"SimpleItem","command":21,"frame":3,"params":[0,0,0,0,1,-190,10]}`), "mission item 2: longitude -190 out of range", false},
		{"six params", item(`{"type":"SimpleItem","command":16,"frame":3,"params":[0,0,0,0,1,1]}`), "mission item 2: params has 6 values", false},
		{"no command", item(`{"type":"SimpleItem","frame":3,"params":[0,0,0,0,1,1,1]}`), "mission item 2: command missing", false},
		{"fractional command", item(`{"type":"SimpleItem","command":16.5,"frame":3,"params":[0,0,0,0,1,1,1]}`), "command 16.5 invalid", false},
		{"bad frame", item(`{"type":"SimpleItem","command":16,"frame":99,"params":[0,0,0,0,1,1,1]}`), "mission item 2: unknown frame 99", false},
		{"item type", item(`{"type":"FancyItem"}`), `mission item 2: unknown item type "FancyItem"`, false},
		{"complex no type", item(`{"type":"ComplexItem"}`), "mission item 2: complexItemType missing", false},
		{"complex bad generated item", item(`{"type":"ComplexItem","complexItemType":"survey","TransectStyleComplexItem":{"Items":[{"type":"SimpleItem","command":16,"frame":3,"params":[0,0,0,0,91,0,0]}]}}`),
			"mission item 2 (survey), generated item 1: latitude 91 out of range", false},
		{"string param", item(`{"type":"SimpleItem","command":16,"frame":3,"params":[0,0,0,0,"x",1,1]}`), "mission item 2:", false},
		{"home", `{"fileType":"Plan","version":1,"mission":{"version":2,"items":[],"plannedHomePosition":[95,0,0]}}`, "plannedHomePosition: latitude 95 out of range", false},
		{"home short", `{"fileType":"Plan","version":1,"mission":{"version":2,"items":[],"plannedHomePosition":[1,2]}}`, "plannedHomePosition: want [lat, lon, alt]", false},
		{"fence version", `{"fileType":"Plan","version":1,"mission":{"version":2,"items":[]},"geoFence":{"version":3}}`, "geoFence: unsupported version 3", false},
		{"fence polygon", `{"fileType":"Plan","version":1,"mission":{"version":2,"items":[]},"geoFence":{"version":2,"polygons":[{"inclusion":true,"polygon":[[1,2],[1,3]]}]}}`,
			"geoFence polygon 1: polygon has 2 vertices", false},
		{"fence circle", `{"fileType":"Plan","version":1,"mission":{"version":2,"items":[]},"geoFence":{"version":2,"circles":[{"inclusion":true,"circle":{"center":[1,2],"radius":-5}}]}}`,
			"geoFence circle 1: radius -5 invalid", false},
		{"rally point", `{"fileType":"Plan","version":1,"mission":{"version":2,"items":[]},"rallyPoints":{"version":2,"points":[[1,2]]}}`,
			"rally point 1: want [lat, lon, alt]", false},
		{"negative speed", `{"fileType":"Plan","version":1,"mission":{"version":2,"items":[],"hoverSpeed":-1}}`, "hoverSpeed -1 negative", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := ParsePlan(strings.NewReader(c.in))
			if err == nil {
				t.Fatalf("no error, plan %+v", p)
			}
			if !errors.Is(err, ErrInvalidFile) {
				t.Errorf("error %v does not wrap ErrInvalidFile", err)
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

func TestWritePlanRejects(t *testing.T) {
	p := &Plan{Items: []Item{{Command: CmdNavWaypoint, Frame: FrameGlobalRelativeAlt, LatDeg: 1, LonDeg: 1, Param1: math.Inf(1)}}}
	if err := WritePlan(&bytes.Buffer{}, p); err == nil || !strings.Contains(err.Error(), "infinite") {
		t.Errorf("infinite param: %v", err)
	}
	p = &Plan{Items: []Item{{Command: CmdNavWaypoint}}, Complex: []ComplexItem{{Type: "survey", Index: 1, Count: 2, JSON: []byte(`{}`)}}}
	if err := WritePlan(&bytes.Buffer{}, p); err == nil || !strings.Contains(err.Error(), "complex item 1") {
		t.Errorf("complex out of range: %v", err)
	}
	p = &Plan{Complex: []ComplexItem{{Type: "survey", JSON: []byte(`{`)}}}
	if err := WritePlan(&bytes.Buffer{}, p); err == nil {
		t.Error("invalid complex JSON written")
	}
	if err := WritePlan(&bytes.Buffer{}, nil); err == nil {
		t.Error("nil plan written")
	}
}

// TestWritePlanComplexInPlace: a complex item replaces exactly its range.
func TestWritePlanComplexInPlace(t *testing.T) {
	raw := []byte(`{"type":"ComplexItem","complexItemType":"survey","TransectStyleComplexItem":{"Items":[` +
		`{"type":"SimpleItem","command":16,"frame":3,"doJumpId":2,"params":[0,0,0,0,1.001,1,30]},` +
		`{"type":"SimpleItem","command":16,"frame":3,"doJumpId":3,"params":[0,0,0,0,1.002,1,30]}]}}`)
	p := &Plan{
		Items: []Item{
			{Command: CmdNavTakeoff, Frame: FrameGlobalRelativeAlt, LatDeg: 1, LonDeg: 1, AltM: 30, AutoContinue: true},
			{Command: CmdNavWaypoint, Frame: FrameGlobalRelativeAlt, LatDeg: 1.001, LonDeg: 1, AltM: 30, AutoContinue: true},
			{Command: CmdNavWaypoint, Frame: FrameGlobalRelativeAlt, LatDeg: 1.002, LonDeg: 1, AltM: 30, AutoContinue: true},
			{Command: CmdNavReturnToLaunch, Frame: FrameMission, AutoContinue: true},
		},
		Complex: []ComplexItem{{Type: "survey", Index: 1, Count: 2, JSON: raw}},
	}
	out := writePlanBytes(t, p)
	back, err := ParsePlan(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if d := planDiff(p, back); len(d) > 0 {
		t.Fatalf("%v\n%s", d, out)
	}
	if strings.Count(string(out), `"complexItemType"`) != 1 || strings.Count(string(out), `"command": 16`) != 2 {
		t.Fatalf("generated items written twice:\n%s", out)
	}
}
