package mission

import (
	"fmt"
	"math"
)

// FenceItems encodes a fence as MAVLink fence mission items (mission_type
// FENCE): an optional 5000 return point, 5001/5002 polygon vertices with
// Param1 = vertex count, and 5003/5004 circles with Param1 = radius.
func FenceItems(f Fence) []Item {
	var items []Item
	if rp := f.ReturnPoint; rp != nil {
		items = append(items, Item{Command: CmdFenceReturnPoint, Frame: FrameGlobalRelativeAlt,
			LatDeg: rp.LatDeg, LonDeg: rp.LonDeg, AltM: rp.AltM})
	}
	for _, poly := range f.Polygons {
		cmd := CmdFenceVertexExclusion
		if poly.Inclusion {
			cmd = CmdFenceVertexInclusion
		}
		for _, v := range poly.Vertices {
			items = append(items, Item{Command: cmd, Frame: FrameGlobal,
				Param1: float64(len(poly.Vertices)), LatDeg: v.LatDeg, LonDeg: v.LonDeg})
		}
	}
	for _, c := range f.Circles {
		cmd := CmdFenceCircleExclusion
		if c.Inclusion {
			cmd = CmdFenceCircleInclusion
		}
		items = append(items, Item{Command: cmd, Frame: FrameGlobal,
			Param1: c.RadiusM, LatDeg: c.Center.LatDeg, LonDeg: c.Center.LonDeg})
	}
	return items
}

// FenceFromItems decodes fence mission items (as FenceItems writes them, or
// as a vehicle returns them). Errors name the item by its 0-based seq.
func FenceFromItems(items []Item) (Fence, error) {
	return fenceFromItems(items, func(i int) string { return fmt.Sprintf("fence item %d", i) })
}

// fenceFromItems does the work; where names an item for error messages.
func fenceFromItems(items []Item, where func(i int) string) (Fence, error) {
	var f Fence
	open := -1 // index in f.Polygons of the polygon still collecting vertices
	openCount := 0
	openCmd := Command(0)
	for i, it := range items {
		if !isFenceCommand(it.Command) {
			return Fence{}, fmt.Errorf("%s: %s is not a fence command", where(i), it.Command)
		}
		if it.Command != CmdFenceHomeCircleInclusion {
			if err := checkLatLon(it.LatDeg, it.LonDeg); err != nil {
				return Fence{}, fmt.Errorf("%s: %w", where(i), err)
			}
		}
		isVertex := it.Command == CmdFenceVertexInclusion || it.Command == CmdFenceVertexExclusion
		if open >= 0 && (!isVertex || it.Command != openCmd || int(it.Param1) != openCount) {
			return Fence{}, fmt.Errorf("%s: polygon ended after %d of %d vertices", where(i),
				len(f.Polygons[open].Vertices), openCount)
		}
		switch it.Command {
		case CmdFenceReturnPoint:
			if !isFinite(it.AltM) {
				return Fence{}, fmt.Errorf("%s: return point altitude %v is not a number", where(i), it.AltM)
			}
			f.ReturnPoint = &Position{LatDeg: it.LatDeg, LonDeg: it.LonDeg, AltM: it.AltM}
		case CmdFenceVertexInclusion, CmdFenceVertexExclusion:
			if open < 0 {
				n := it.Param1
				if n != math.Trunc(n) || n < 3 || n > 1e5 {
					return Fence{}, fmt.Errorf("%s: polygon vertex count %v invalid (need a whole number >= 3)", where(i), n)
				}
				f.Polygons = append(f.Polygons, FencePolygon{Inclusion: it.Command == CmdFenceVertexInclusion})
				open, openCount, openCmd = len(f.Polygons)-1, int(n), it.Command
			}
			p := &f.Polygons[open]
			p.Vertices = append(p.Vertices, LatLon{LatDeg: it.LatDeg, LonDeg: it.LonDeg})
			if len(p.Vertices) == openCount {
				open = -1
			}
		case CmdFenceCircleInclusion, CmdFenceCircleExclusion:
			if !isFinite(it.Param1) || it.Param1 <= 0 {
				return Fence{}, fmt.Errorf("%s: circle radius %v invalid", where(i), it.Param1)
			}
			f.Circles = append(f.Circles, FenceCircle{Inclusion: it.Command == CmdFenceCircleInclusion,
				Center: LatLon{LatDeg: it.LatDeg, LonDeg: it.LonDeg}, RadiusM: it.Param1})
		default:
			return Fence{}, fmt.Errorf("%s: %s is not supported", where(i), it.Command)
		}
	}
	if open >= 0 {
		return Fence{}, fmt.Errorf("%s: polygon ended after %d of %d vertices", where(len(items)),
			len(f.Polygons[open].Vertices), openCount)
	}
	return f, nil
}

// RallyItems encodes rally points as MAVLink rally mission items (5100,
// altitude relative to home).
func RallyItems(points []RallyPoint) []Item {
	items := make([]Item, 0, len(points))
	for _, r := range points {
		items = append(items, Item{Command: CmdNavRallyPoint, Frame: FrameGlobalRelativeAlt,
			LatDeg: r.LatDeg, LonDeg: r.LonDeg, AltM: r.AltM})
	}
	return items
}

// RallyFromItems decodes rally mission items. Errors name the item by its
// 0-based seq.
func RallyFromItems(items []Item) ([]RallyPoint, error) {
	return rallyFromItems(items, func(i int) string { return fmt.Sprintf("rally item %d", i) })
}

func rallyFromItems(items []Item, where func(i int) string) ([]RallyPoint, error) {
	out := make([]RallyPoint, 0, len(items))
	for i, it := range items {
		if it.Command != CmdNavRallyPoint {
			return nil, fmt.Errorf("%s: %s is not a rally command", where(i), it.Command)
		}
		if err := checkLatLon(it.LatDeg, it.LonDeg); err != nil {
			return nil, fmt.Errorf("%s: %w", where(i), err)
		}
		if !isFinite(it.AltM) {
			return nil, fmt.Errorf("%s: altitude %v is not a number", where(i), it.AltM)
		}
		out = append(out, RallyPoint{LatDeg: it.LatDeg, LonDeg: it.LonDeg, AltM: it.AltM})
	}
	return out, nil
}
