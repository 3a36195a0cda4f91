package mission

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/paulmach/orb"
)

// sampleCase is what each real file in the samples directory is and what
// it must load into. Counts come from SOURCES.md and from reading the
// files.
type sampleCase struct {
	file    string
	format  Format
	items   int  // mission items (home not counted)
	home    bool // has a planned home
	polys   int  // fence polygons
	circles int  // fence circles
	rally   int
	complex int
	// area is set for KML files: "polygon" or "line" with this many points.
	area       string
	areaPoints int
}

var sampleCases = []sampleCase{
	{file: "ardupilot/CMAC-copter-navtest.txt", format: FormatWaypoints, items: 20, home: true},
	{file: "ardupilot/CMAC-turns.txt", format: FormatWaypoints, items: 8, home: true},
	// MAVProxy fence list: return point + 17 lines, the last closing the polygon.
	{file: "ardupilot/Dalby-OBC2016-fence.txt", format: FormatMAVProxyFence, polys: 1},
	{file: "ardupilot/Dalby-OBC2016.txt", format: FormatWaypoints, items: 34, home: true},
	{file: "ardupilot/Kingaroy-vlarge.txt", format: FormatWaypoints, items: 528, home: true},
	{file: "ardupilot/copter_AUTO_LAND_TO_BRAKE_mission.txt", format: FormatWaypoints, items: 17, home: true},
	{file: "ardupilot/copter_loiter_to_alt.txt", format: FormatWaypoints, items: 4, home: true},
	{file: "ardupilot/copter_mission.txt", format: FormatWaypoints, items: 12, home: true},
	{file: "ardupilot/copter_spline_mission.txt", format: FormatWaypoints, items: 13, home: true},
	{file: "ardupilot/jump_tags_into_wind_landing.waypoints", format: FormatWaypoints, items: 16, home: true},
	{file: "ardupilot/plane-deepstall-mission.txt", format: FormatWaypoints, items: 4, home: true},
	{file: "ardupilot/plane_flaps.txt", format: FormatWaypoints, items: 11, home: true},
	{file: "ardupilot/rover-path-planning-fence.txt", format: FormatWaypoints, polys: 2, circles: 1},
	{file: "ardupilot/rover-sprayer-mission.txt", format: FormatWaypoints, items: 5, home: true},
	{file: "ardupilot/rover-test-rally.txt", format: FormatMAVProxyRally, rally: 2},
	{file: "ardupilot/rover1.txt", format: FormatWaypoints, items: 20, home: true},
	{file: "ardupilot/sub_mission.txt", format: FormatWaypoints, items: 5, home: true},
	{file: "ardupilot/webots_mission_pyramids.plan", format: FormatPlan, items: 10, home: true},
	{file: "other/mavproxy_cmac-foamy-rally.txt", format: FormatMAVProxyRally, rally: 1},
	// Row 0 is a takeoff, not a home row.
	{file: "other/mavsdk_mission_planner_sample.txt", format: FormatWaypoints, items: 4},
	{file: "other/mavsdk_qgroundcontrol_sample.plan", format: FormatPlan, items: 6, home: true},
	// StructureScan stores no generated items: 1 simple item + 0.
	{file: "other/mavsdk_qgroundcontrol_sample_with_structured_scan.plan", format: FormatPlan, items: 1, home: true, complex: 1},
	// Survey: 1 simple item + 12 generated items.
	{file: "other/mavsdk_qgroundcontrol_sample_with_survey.plan", format: FormatPlan, items: 13, home: true, complex: 1},
	{file: "other/px4_FW_mission_1.plan", format: FormatPlan, items: 5, home: true},
	{file: "other/px4_VTOL_mission_1.plan", format: FormatPlan, items: 3, home: true},
	{file: "other/px4_multicopter_mission_geofence_avoid.plan", format: FormatPlan, items: 5, home: true, polys: 2, circles: 1},
	{file: "other/px4_triangle_gripper_package_delivery.plan", format: FormatPlan, items: 4, home: true},
	{file: "other/pymavlink_fence-110.txt", format: FormatWaypoints, polys: 1, circles: 2},
	{file: "other/pymavlink_rally-110.txt", format: FormatWaypoints, rally: 2},
	{file: "qgc/100Waypoints.waypoints.txt", format: FormatWaypoints, items: 99, home: true},
	{file: "qgc/ArduPilotSITL-ArduCopter.plan", format: FormatPlan, items: 11, home: true},
	{file: "qgc/ArduPilotSITL-ArduPlane.plan", format: FormatPlan, items: 10, home: true},
	{file: "qgc/ArduPilotSITL-ArduRover.plan", format: FormatPlan, items: 8, home: true},
	{file: "qgc/MissionPlanner.waypoints", format: FormatWaypoints, items: 5, home: true},
	{file: "qgc/MissionPlanner.waypoints.txt", format: FormatWaypoints, items: 14, home: true},
	{file: "qgc/OldFileFormat.mission", format: FormatLegacyMission, items: 6, home: true},
	{file: "qgc/PX4SITL-PX4-MultiRotor.plan", format: FormatPlan, items: 11, home: true},
	{file: "qgc/PolygonGood.kml", format: FormatKML, area: "polygon", areaPoints: 5},
	{file: "qgc/SectionTest.plan", format: FormatPlan, items: 5, home: true},
	{file: "qgc/TerrainTest-ArduCopter.plan", format: FormatPlan, items: 11, home: true},
	{file: "qgc/ce_geofence_home_base.plan", format: FormatPlan, home: true, polys: 2},
	{file: "qgc/ce_geofence_rd_134.plan", format: FormatPlan, home: true, polys: 2},
	{file: "qgc/polyline.kml", format: FormatKML, area: "line", areaPoints: 9},
	{file: "qgc/simple_square.plan", format: FormatPlan, items: 5, home: true},
}

// TestSampleTableCoversEveryFile keeps the table honest: a sample added
// later must get a row.
func TestSampleTableCoversEveryFile(t *testing.T) {
	dir := samplesDir(t)
	var onDisk []string
	for _, sub := range []string{"qgc", "ardupilot", "other"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if !e.IsDir() {
				onDisk = append(onDisk, sub+"/"+e.Name())
			}
		}
	}
	var inTable []string
	for _, c := range sampleCases {
		inTable = append(inTable, c.file)
	}
	sort.Strings(onDisk)
	sort.Strings(inTable)
	if strings.Join(onDisk, "\n") != strings.Join(inTable, "\n") {
		t.Fatalf("sample table and directory differ:\ndisk:  %v\ntable: %v", onDisk, inTable)
	}
}

func loadSample(t *testing.T, dir string, c sampleCase) (*Plan, []byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, c.file))
	if err != nil {
		t.Fatal(err)
	}
	if got := Detect(c.file, data); got != c.format {
		t.Fatalf("Detect = %v, want %v", got, c.format)
	}
	if !c.format.IsPlan() {
		return nil, data
	}
	p, err := Load(filepath.Join(dir, c.file))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return p, data
}

func TestSamplesLoad(t *testing.T) {
	dir := samplesDir(t)
	for _, c := range sampleCases {
		t.Run(c.file, func(t *testing.T) {
			p, data := loadSample(t, dir, c)
			if p == nil {
				g, err := ParseArea(bytes.NewReader(data))
				if err != nil {
					t.Fatalf("ParseArea: %v", err)
				}
				switch g := g.(type) {
				case orb.Polygon:
					if c.area != "polygon" || len(g[0]) != c.areaPoints {
						t.Fatalf("polygon with %d points, want %s with %d", len(g[0]), c.area, c.areaPoints)
					}
				case orb.LineString:
					if c.area != "line" || len(g) != c.areaPoints {
						t.Fatalf("line with %d points, want %s with %d", len(g), c.area, c.areaPoints)
					}
				default:
					t.Fatalf("ParseArea returned %T", g)
				}
				return
			}
			if len(p.Items) != c.items || (p.PlannedHome != nil) != c.home || len(p.Fence.Polygons) != c.polys ||
				len(p.Fence.Circles) != c.circles || len(p.Rally) != c.rally || len(p.Complex) != c.complex {
				t.Fatalf("got items %d home %v polys %d circles %d rally %d complex %d; want %+v",
					len(p.Items), p.PlannedHome != nil, len(p.Fence.Polygons), len(p.Fence.Circles),
					len(p.Rally), len(p.Complex), c)
			}
			// Every loaded item is in the command table, with a sane frame.
			for i, it := range p.Items {
				if _, ok := LookupCommand(it.Command); !ok {
					t.Errorf("item %d: unknown command %d survived import", i, it.Command)
				}
				if it.Frame == FrameGlobalInt || it.Frame == FrameGlobalRelativeAltInt || it.Frame == FrameGlobalTerrainAltInt {
					t.Errorf("item %d: INT frame %d not normalised", i, it.Frame)
				}
			}
			// Validation runs on real files without crashing and reports
			// no unknown commands.
			for _, is := range Validate(p, ValidateOptions{}).Issues {
				if strings.Contains(is.Message, "unknown command") {
					t.Errorf("validate: %v", is)
				}
			}
		})
	}
}

// TestSamplesRoundTrip: import -> export (same format) -> import gives the
// same plan.
func TestSamplesRoundTrip(t *testing.T) {
	dir := samplesDir(t)
	for _, c := range sampleCases {
		if !c.format.IsPlan() {
			continue
		}
		t.Run(c.file, func(t *testing.T) {
			p, _ := loadSample(t, dir, c)
			var back *Plan
			switch c.format {
			case FormatPlan, FormatLegacyMission:
				out := writePlanBytes(t, p)
				var err error
				if back, err = ParsePlan(bytes.NewReader(out)); err != nil {
					t.Fatalf("re-parse: %v\n%s", err, out)
				}
			default:
				back = wplRoundTrip(t, p)
			}
			if d := planDiff(p, back); len(d) > 0 {
				t.Fatalf("round trip changed the plan:\n%s", strings.Join(d, "\n"))
			}
		})
	}
}

// TestSamplesConvert: .plan -> .waypoints and .waypoints -> .plan keep
// every item (count, commands, coordinates, jump targets), the home, the
// fence and the rally points.
func TestSamplesConvert(t *testing.T) {
	dir := samplesDir(t)
	for _, c := range sampleCases {
		if !c.format.IsPlan() {
			continue
		}
		t.Run(c.file, func(t *testing.T) {
			p, _ := loadSample(t, dir, c)
			var conv *Plan
			if c.format == FormatPlan || c.format == FormatLegacyMission {
				conv = wplRoundTrip(t, p)
			} else {
				var err error
				if conv, err = ParsePlan(bytes.NewReader(writePlanBytes(t, p))); err != nil {
					t.Fatal(err)
				}
			}
			if len(conv.Items) != len(p.Items) {
				t.Fatalf("%d items after conversion, want %d", len(conv.Items), len(p.Items))
			}
			for i := range p.Items {
				if d := itemDiff(p.Items[i], conv.Items[i]); d != "" {
					t.Errorf("item %d: %s", i, d)
				}
			}
			if d := posDiff("home", p.PlannedHome, conv.PlannedHome); d != "" {
				t.Error(d)
			}
			if d := fenceDiff(p.Fence, conv.Fence); len(d) > 0 {
				t.Error(d)
			}
			if len(conv.Rally) != len(p.Rally) {
				t.Errorf("%d rally points after conversion, want %d", len(conv.Rally), len(p.Rally))
			}
		})
	}
}

// TestComplexItemsWrittenBackVerbatim: the survey and structure scan JSON
// objects come back out unchanged, in their place in the item list.
func TestComplexItemsWrittenBackVerbatim(t *testing.T) {
	dir := samplesDir(t)
	for _, name := range []string{"other/mavsdk_qgroundcontrol_sample_with_survey.plan",
		"other/mavsdk_qgroundcontrol_sample_with_structured_scan.plan"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			p, err := ParsePlan(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			out := writePlanBytes(t, p)
			var in, back struct {
				Mission struct {
					Items []json.RawMessage `json:"items"`
				} `json:"mission"`
			}
			if err := json.Unmarshal(data, &in); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(out, &back); err != nil {
				t.Fatal(err)
			}
			if len(in.Mission.Items) != len(back.Mission.Items) {
				t.Fatalf("%d items written, file had %d", len(back.Mission.Items), len(in.Mission.Items))
			}
			last := len(in.Mission.Items) - 1
			if !jsonSame(in.Mission.Items[last], back.Mission.Items[last]) {
				t.Fatalf("complex item changed:\n%s\nvs\n%s", in.Mission.Items[last], back.Mission.Items[last])
			}
		})
	}
}
