package mission

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// wplHeader is the first line of a Mission Planner / QGroundControl
// plain-text waypoint file.
const wplHeader = "QGC WPL 110"

// wplColumns is the column count of one item line: INDEX CURRENT FRAME
// COMMAND P1 P2 P3 P4 X/LAT Y/LON Z/ALT AUTOCONTINUE.
const wplColumns = 12

// wplRow is one parsed item line.
type wplRow struct {
	line  int
	index string
	item  Item
}

// splitLines splits text into lines, accepting LF, CRLF and CR endings and
// dropping a UTF-8 byte order mark.
func splitLines(data []byte) []string {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.Split(s, "\n")
}

// skipLine reports blank lines and '#' comments (ArduPilot's large
// autotest missions annotate items that way).
func skipLine(line string) bool {
	t := strings.TrimSpace(line)
	return t == "" || strings.HasPrefix(t, "#")
}

// ParseWaypoints reads a "QGC WPL 110" file (or QGroundControl's older
// "QGC WPL 120", which has no home row). Columns may be separated by tabs
// or spaces; blank lines and '#' comments are skipped. In a 110 file a
// first row that is a NAV_WAYPOINT is the home position (Mission Planner
// and ArduPilot always write home there) and becomes PlannedHome; any
// other first row (MAVSDK writes a takeoff there) is a mission item.
// DO_JUMP targets are file rows and are shifted to Plan.Items indexes
// accordingly. Fence rows (5000-5004) go to Plan.Fence and rally
// rows (5100) to Plan.Rally, so fence and rally files written by MAVProxy
// or pymavlink load too.
func ParseWaypoints(r io.Reader) (*Plan, error) {
	data, err := readAllLimited(r)
	if err != nil {
		return nil, err
	}
	lines := splitLines(data)
	first := 0
	for first < len(lines) && strings.TrimSpace(lines[first]) == "" {
		first++
	}
	if first == len(lines) {
		return nil, invalid("waypoints: empty file")
	}
	head := strings.Fields(lines[first])
	if len(head) < 2 || head[0] != "QGC" || head[1] != "WPL" {
		return nil, invalid("waypoints: line %d: missing %q header", first+1, wplHeader)
	}
	// 110 files start with the home row; QGroundControl's old 120 files
	// have none.
	if len(head) != 3 || (head[2] != "110" && head[2] != "120") {
		return nil, invalid("waypoints: line %d: unsupported header %q (want %q)", first+1, strings.TrimSpace(lines[first]), wplHeader)
	}
	homeRow := head[2] == "110"

	var rows []wplRow
	for n := first + 1; n < len(lines); n++ {
		if skipLine(lines[n]) {
			continue
		}
		row, err := parseWPLRow(lines[n], n+1)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}

	p := &Plan{}
	var missionRows, fenceRows, rallyRows []wplRow
	for i, row := range rows {
		switch {
		case i == 0 && homeRow && row.item.Command == CmdNavWaypoint:
			home, err := homeFrom(row.item.LatDeg, row.item.LonDeg, row.item.AltM)
			if err != nil {
				return nil, invalid("waypoints: line %d (home): %v", row.line, err)
			}
			p.PlannedHome = home
		case isFenceCommand(row.item.Command):
			fenceRows = append(fenceRows, row)
		case row.item.Command == CmdNavRallyPoint:
			rallyRows = append(rallyRows, row)
		default:
			missionRows = append(missionRows, row)
		}
	}
	// DO_JUMP param1 is a seq in the file, where a home row is seq 0.
	seqOffset := 0.0
	if homeRow && len(rows) > 0 && rows[0].item.Command == CmdNavWaypoint {
		seqOffset = 1
	}
	for _, row := range missionRows {
		it := row.item
		if err := checkItem(it); err != nil {
			return nil, invalid("waypoints: line %d (item %s): %w", row.line, row.index, err)
		}
		if it.Command == CmdDoJump {
			it.Param1 -= seqOffset
		}
		p.Items = append(p.Items, it)
	}
	if len(fenceRows) > 0 {
		items := make([]Item, len(fenceRows))
		for i, row := range fenceRows {
			items[i] = row.item
		}
		f, err := fenceFromItems(items, func(i int) string {
			if i >= len(fenceRows) {
				return "waypoints: end of file"
			}
			return fmt.Sprintf("waypoints: line %d (item %s)", fenceRows[i].line, fenceRows[i].index)
		})
		if err != nil {
			return nil, invalid("%v", err)
		}
		p.Fence = f
	}
	if len(rallyRows) > 0 {
		items := make([]Item, len(rallyRows))
		for i, row := range rallyRows {
			items[i] = row.item
		}
		rally, err := rallyFromItems(items, func(i int) string {
			return fmt.Sprintf("waypoints: line %d (item %s)", rallyRows[i].line, rallyRows[i].index)
		})
		if err != nil {
			return nil, invalid("%v", err)
		}
		p.Rally = rally
	}
	return p, nil
}

// parseWPLRow parses one item line; line is its 1-based line number.
func parseWPLRow(text string, line int) (wplRow, error) {
	f := strings.Fields(text)
	if len(f) != wplColumns {
		return wplRow{}, invalid("waypoints: line %d: %d columns, want %d (INDEX CURRENT FRAME COMMAND P1-P4 LAT LON ALT AUTOCONTINUE)",
			line, len(f), wplColumns)
	}
	row := wplRow{line: line, index: f[0]}
	whole := func(col int, name string, hi float64) (float64, error) {
		v, err := strconv.ParseFloat(f[col], 64)
		if err != nil || !wholeNumber(v, 0, hi) {
			return 0, invalid("waypoints: line %d (item %s): %s %q invalid", line, f[0], name, f[col])
		}
		return v, nil
	}
	if _, err := whole(0, "index", math.MaxInt32); err != nil {
		return wplRow{}, err
	}
	if _, err := whole(1, "current flag", 1); err != nil {
		return wplRow{}, err
	}
	frame, err := whole(2, "frame", float64(frameMax))
	if err != nil {
		return wplRow{}, err
	}
	cmd, err := whole(3, "command", math.MaxUint16)
	if err != nil {
		return wplRow{}, err
	}
	auto, err := whole(11, "autocontinue flag", 1)
	if err != nil {
		return wplRow{}, err
	}
	var vals [7]float64
	for i := range vals {
		v, err := strconv.ParseFloat(f[4+i], 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return wplRow{}, invalid("waypoints: line %d (item %s): column %d %q is not a number", line, f[0], 5+i, f[4+i])
		}
		if math.IsInf(v, 0) {
			return wplRow{}, invalid("waypoints: line %d (item %s): column %d %q is infinite", line, f[0], 5+i, f[4+i])
		}
		vals[i] = v
	}
	row.item = Item{
		Command: Command(cmd), Frame: Frame(frame).NonInt(),
		Param1: vals[0], Param2: vals[1], Param3: vals[2], Param4: vals[3],
		LatDeg: vals[4], LonDeg: vals[5], AltM: vals[6],
		AutoContinue: auto == 1,
	}
	return row, nil
}

// WriteWaypoints writes the mission as "QGC WPL 110" with home at row 0
// (zeros when PlannedHome is nil, as ArduPilot does) and tab separators.
// Generated items of ComplexItems are written as plain items. Fence and
// rally points go to their own files (WriteFenceWaypoints,
// WriteRallyWaypoints), as Mission Planner and MAVProxy keep them.
func WriteWaypoints(w io.Writer, p *Plan) error {
	if p == nil {
		return errors.New("mission: WriteWaypoints: nil plan")
	}
	rows := make([]Item, 0, len(p.Items)+1)
	home := Item{Command: CmdNavWaypoint, Frame: FrameGlobal, AutoContinue: true}
	if h := p.PlannedHome; h != nil {
		home.LatDeg, home.LonDeg, home.AltM = h.LatDeg, h.LonDeg, h.AltM
	}
	rows = append(rows, home)
	for _, it := range p.Items {
		if it.Command == CmdDoJump {
			it.Param1++ // index -> seq with home at 0
		}
		rows = append(rows, it)
	}
	return writeWPL(w, rows, true)
}

// WriteFenceWaypoints writes the plan's fence as "QGC WPL 110" fence items
// (the layout pymavlink and MAVProxy use), with no home row.
func WriteFenceWaypoints(w io.Writer, p *Plan) error {
	if p == nil {
		return errors.New("mission: WriteFenceWaypoints: nil plan")
	}
	return writeWPL(w, FenceItems(p.Fence), false)
}

// WriteRallyWaypoints writes the plan's rally points as "QGC WPL 110"
// rally items, with no home row.
func WriteRallyWaypoints(w io.Writer, p *Plan) error {
	if p == nil {
		return errors.New("mission: WriteRallyWaypoints: nil plan")
	}
	return writeWPL(w, RallyItems(p.Rally), false)
}

func writeWPL(w io.Writer, rows []Item, firstIsCurrent bool) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(wplHeader + "\n")
	for i, it := range rows {
		vals := [...]float64{it.Param1, it.Param2, it.Param3, it.Param4, it.LatDeg, it.LonDeg, it.AltM}
		current, auto := 0, 0
		if i == 0 && firstIsCurrent {
			current = 1
		}
		if it.AutoContinue {
			auto = 1
		}
		fmt.Fprintf(bw, "%d\t%d\t%d\t%d", i, current, it.Frame.NonInt(), it.Command)
		for j, v := range vals {
			if math.IsInf(v, 0) {
				return fmt.Errorf("mission: write waypoints: row %d: param %d is infinite", i, j+1)
			}
			bw.WriteByte('\t')
			bw.WriteString(formatFloat(v))
		}
		fmt.Fprintf(bw, "\t%d\n", auto)
	}
	return bw.Flush()
}

// ParseMAVProxyFence reads a MAVProxy fence list: "lat lon" per line, the
// first line the return point, the rest one inclusion polygon (closed by
// repeating its first vertex, which is dropped here).
func ParseMAVProxyFence(r io.Reader) (*Plan, error) {
	data, err := readAllLimited(r)
	if err != nil {
		return nil, err
	}
	var pts []LatLon
	for n, line := range splitLines(data) {
		if skipLine(line) {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, invalid("fence list: line %d: %d columns, want 2 (lat lon)", n+1, len(f))
		}
		lat, err1 := strconv.ParseFloat(f[0], 64)
		lon, err2 := strconv.ParseFloat(f[1], 64)
		if err1 != nil || err2 != nil {
			return nil, invalid("fence list: line %d: %q is not two numbers", n+1, strings.TrimSpace(line))
		}
		if err := checkLatLon(lat, lon); err != nil {
			return nil, invalid("fence list: line %d: %v", n+1, err)
		}
		pts = append(pts, LatLon{LatDeg: lat, LonDeg: lon})
	}
	if len(pts) > 1 && pts[len(pts)-1] == pts[1] {
		pts = pts[:len(pts)-1]
	}
	if len(pts) < 4 {
		return nil, invalid("fence list: %d points, need a return point and at least 3 vertices", len(pts))
	}
	p := &Plan{}
	p.Fence.ReturnPoint = &Position{LatDeg: pts[0].LatDeg, LonDeg: pts[0].LonDeg}
	p.Fence.Polygons = []FencePolygon{{Inclusion: true, Vertices: pts[1:]}}
	return p, nil
}

// ParseMAVProxyRally reads a MAVProxy rally list: lines of
// "RALLY lat lon alt break_alt land_dir flags"; the altitude is above home
// and the ArduPilot-specific break altitude, direction and flags are not
// kept.
func ParseMAVProxyRally(r io.Reader) (*Plan, error) {
	data, err := readAllLimited(r)
	if err != nil {
		return nil, err
	}
	p := &Plan{}
	for n, line := range splitLines(data) {
		if skipLine(line) {
			continue
		}
		f := strings.Fields(line)
		if f[0] != "RALLY" {
			return nil, invalid("rally list: line %d: does not start with RALLY", n+1)
		}
		if len(f) < 4 || len(f) > 7 {
			return nil, invalid("rally list: line %d: %d columns, want RALLY lat lon alt [break_alt land_dir flags]", n+1, len(f))
		}
		var v [3]float64
		for i := range v {
			x, err := strconv.ParseFloat(f[1+i], 64)
			if err != nil || !isFinite(x) {
				return nil, invalid("rally list: line %d: column %d %q is not a number", n+1, i+2, f[1+i])
			}
			v[i] = x
		}
		if err := checkLatLon(v[0], v[1]); err != nil {
			return nil, invalid("rally list: line %d: %v", n+1, err)
		}
		p.Rally = append(p.Rally, RallyPoint{LatDeg: v[0], LonDeg: v[1], AltM: v[2]})
	}
	if len(p.Rally) == 0 {
		return nil, invalid("rally list: no RALLY lines")
	}
	return p, nil
}
