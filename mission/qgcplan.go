package mission

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// maxFileBytes bounds what the parsers read, so a hostile upload cannot
// exhaust memory. Real plans are far smaller (the largest sample is 50 KB).
const maxFileBytes = 32 << 20

// readAllLimited reads r up to maxFileBytes.
func readAllLimited(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileBytes {
		return nil, fmt.Errorf("%w: file larger than %d bytes", ErrInvalidFile, maxFileBytes)
	}
	return data, nil
}

// jsonFloat is a float64 that QGroundControl writes as null when NaN.
type jsonFloat float64

// MarshalJSON writes NaN as null and refuses infinities, which JSON cannot
// carry.
func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) {
		return []byte("null"), nil
	}
	if math.IsInf(v, 0) {
		return nil, errors.New("infinite value")
	}
	return json.Marshal(v)
}

// UnmarshalJSON reads null as NaN.
func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = jsonFloat(math.NaN())
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = jsonFloat(v)
	return nil
}

// wholeNumber checks that v is an integer in [lo, hi].
func wholeNumber(v float64, lo, hi float64) bool {
	return v == math.Trunc(v) && v >= lo && v <= hi
}

type planJSON struct {
	FileType    *string         `json:"fileType"`
	Version     *float64        `json:"version"`
	Mission     json.RawMessage `json:"mission"`
	GeoFence    json.RawMessage `json:"geoFence"`
	RallyPoints json.RawMessage `json:"rallyPoints"`
	// Items is set only in the legacy .mission layout, where the mission
	// object is the whole file.
	Items json.RawMessage `json:"items"`
}

type missionJSON struct {
	Version             *float64           `json:"version"`
	FirmwareType        *float64           `json:"firmwareType"`
	VehicleType         *float64           `json:"vehicleType"`
	CruiseSpeed         *float64           `json:"cruiseSpeed"`
	HoverSpeed          *float64           `json:"hoverSpeed"`
	PlannedHomePosition json.RawMessage    `json:"plannedHomePosition"`
	Items               *[]json.RawMessage `json:"items"`
}

type itemHeadJSON struct {
	Type            string `json:"type"`
	ComplexItemType string `json:"complexItemType"`
}

type simpleItemJSON struct {
	Command      *float64    `json:"command"`
	Frame        *float64    `json:"frame"`
	Params       []jsonFloat `json:"params"`
	Coordinate   []jsonFloat `json:"coordinate"` // plan files before params grew to 7
	AutoContinue *bool       `json:"autoContinue"`
	DoJumpID     *float64    `json:"doJumpId"`
	// QGroundControl's altitude editing state, used for mode 3.
	Altitude     *jsonFloat `json:"Altitude"`
	AltitudeMode *float64   `json:"AltitudeMode"`
}

type transectJSON struct {
	TransectStyleComplexItem *struct {
		Items []json.RawMessage `json:"Items"`
	} `json:"TransectStyleComplexItem"`
}

type fenceJSON struct {
	Version  *float64 `json:"version"`
	Polygons []struct {
		Inclusion *bool         `json:"inclusion"`
		Polygon   [][]jsonFloat `json:"polygon"`
	} `json:"polygons"`
	Circles []struct {
		Circle *struct {
			Center []jsonFloat `json:"center"`
			Radius *jsonFloat  `json:"radius"`
		} `json:"circle"`
		Inclusion *bool `json:"inclusion"`
	} `json:"circles"`
	BreachReturn []jsonFloat `json:"breachReturn"`
	// Polygon is the version 1 layout: one inclusion polygon.
	Polygon [][]jsonFloat `json:"polygon"`
}

type rallyJSON struct {
	Version *float64      `json:"version"`
	Points  [][]jsonFloat `json:"points"`
}

// invalid wraps a parse error with ErrInvalidFile.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidFile}, args...)...)
}

// ParsePlan reads a QGroundControl .plan file (or a legacy .mission file,
// whose top level is the mission object). ComplexItems are kept verbatim in
// Plan.Complex and their generated items are placed in Plan.Items.
func ParsePlan(r io.Reader) (*Plan, error) {
	data, err := readAllLimited(r)
	if err != nil {
		return nil, err
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var top planJSON
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, invalid("plan: %v", jsonErr(err))
	}
	if top.FileType == nil || *top.FileType == "Mission" {
		// Legacy .mission: the whole file is the mission object.
		if top.FileType == nil && top.Items == nil {
			return nil, invalid("plan: no fileType and no items: not a QGroundControl plan")
		}
		p := &Plan{}
		if err := parseMissionJSON(data, p, true); err != nil {
			return nil, err
		}
		return p, nil
	}
	if *top.FileType != "Plan" {
		return nil, invalid("plan: fileType is %q, want \"Plan\"", *top.FileType)
	}
	if top.Version == nil {
		return nil, invalid("plan: version missing")
	}
	if *top.Version != 1 {
		return nil, invalid("plan: unsupported version %v (want 1)", *top.Version)
	}
	if len(top.Mission) == 0 || string(top.Mission) == "null" {
		return nil, invalid("plan: mission missing")
	}
	p := &Plan{}
	if err := parseMissionJSON(top.Mission, p, false); err != nil {
		return nil, err
	}
	if err := parseFenceJSON(top.GeoFence, p); err != nil {
		return nil, err
	}
	if err := parseRallyJSON(top.RallyPoints, p); err != nil {
		return nil, err
	}
	return p, nil
}

// jsonErr makes encoding/json errors shorter and adds the offset of syntax
// errors.
func jsonErr(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("broken JSON at byte %d: %v", se.Offset, se)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "value"
		}
		return fmt.Errorf("%s: JSON %s where %s expected", field, te.Value, te.Type)
	}
	return err
}

func parseMissionJSON(raw json.RawMessage, p *Plan, legacy bool) error {
	var m missionJSON
	if err := json.Unmarshal(raw, &m); err != nil {
		return invalid("mission: %v", jsonErr(err))
	}
	switch {
	case m.Version == nil:
		return invalid("mission: version missing")
	case legacy && (*m.Version == 1 || *m.Version == 2):
	case *m.Version != 2:
		return invalid("mission: unsupported version %v (want 2)", *m.Version)
	}
	if m.Items == nil {
		return invalid("mission: items missing")
	}
	if m.FirmwareType != nil {
		if !wholeNumber(*m.FirmwareType, 0, 255) {
			return invalid("mission: firmwareType %v invalid", *m.FirmwareType)
		}
		p.Vehicle.Firmware = Firmware(*m.FirmwareType)
	}
	if m.VehicleType != nil {
		if !wholeNumber(*m.VehicleType, 0, 255) {
			return invalid("mission: vehicleType %v invalid", *m.VehicleType)
		}
		p.Vehicle.Type = VehicleType(*m.VehicleType)
	}
	for _, s := range []struct {
		name string
		in   *float64
		out  *float64
	}{{"cruiseSpeed", m.CruiseSpeed, &p.CruiseSpeedMS}, {"hoverSpeed", m.HoverSpeed, &p.HoverSpeedMS}} {
		if s.in == nil {
			continue
		}
		if *s.in < 0 {
			return invalid("mission: %s %v negative", s.name, *s.in)
		}
		*s.out = *s.in
	}
	if err := parseHomeJSON(m.PlannedHomePosition, p); err != nil {
		return err
	}

	jumpIDs := map[float64]int{}
	for i, raw := range *m.Items {
		num := i + 1
		var head itemHeadJSON
		if err := json.Unmarshal(raw, &head); err != nil {
			return invalid("mission item %d: %v", num, jsonErr(err))
		}
		switch head.Type {
		case "SimpleItem":
			it, id, err := parseSimpleJSON(raw)
			if err != nil {
				return invalid("mission item %d: %w", num, err)
			}
			if id != nil {
				if _, dup := jumpIDs[*id]; !dup {
					jumpIDs[*id] = len(p.Items)
				}
			}
			p.Items = append(p.Items, it)
		case "ComplexItem":
			if head.ComplexItemType == "" {
				return invalid("mission item %d: complexItemType missing", num)
			}
			var tr transectJSON
			if err := json.Unmarshal(raw, &tr); err != nil {
				return invalid("mission item %d (%s): %v", num, head.ComplexItemType, jsonErr(err))
			}
			ci := ComplexItem{Type: head.ComplexItemType, Index: len(p.Items), JSON: append([]byte(nil), raw...)}
			if tr.TransectStyleComplexItem != nil {
				for j, sub := range tr.TransectStyleComplexItem.Items {
					it, id, err := parseSimpleJSON(sub)
					if err != nil {
						return invalid("mission item %d (%s), generated item %d: %w", num, head.ComplexItemType, j+1, err)
					}
					if id != nil {
						if _, dup := jumpIDs[*id]; !dup {
							jumpIDs[*id] = len(p.Items)
						}
					}
					p.Items = append(p.Items, it)
				}
			}
			ci.Count = len(p.Items) - ci.Index
			p.Complex = append(p.Complex, ci)
		default:
			return invalid("mission item %d: unknown item type %q", num, head.Type)
		}
	}
	// DO_JUMP param1 names a doJumpId in the file; the model holds an index.
	// An id nobody carries is kept by the same id = index+1 rule the writer
	// uses, so it survives a round trip and Validate reports it.
	for i := range p.Items {
		it := &p.Items[i]
		if it.Command != CmdDoJump {
			continue
		}
		if idx, ok := jumpIDs[it.Param1]; ok {
			it.Param1 = float64(idx)
		} else {
			it.Param1--
		}
	}
	return nil
}

// parseSimpleJSON decodes one SimpleItem and returns its doJumpId.
func parseSimpleJSON(raw json.RawMessage) (Item, *float64, error) {
	var s simpleItemJSON
	if err := json.Unmarshal(raw, &s); err != nil {
		return Item{}, nil, jsonErr(err)
	}
	if s.Command == nil {
		return Item{}, nil, errors.New("command missing")
	}
	if !wholeNumber(*s.Command, 0, math.MaxUint16) {
		return Item{}, nil, fmt.Errorf("command %v invalid", *s.Command)
	}
	if s.Frame == nil {
		return Item{}, nil, errors.New("frame missing")
	}
	if !wholeNumber(*s.Frame, 0, float64(frameMax)) {
		return Item{}, nil, fmt.Errorf("unknown frame %v", *s.Frame)
	}
	var params [7]jsonFloat
	switch {
	case s.Coordinate != nil:
		if len(s.Coordinate) != 3 || len(s.Params) != 4 {
			return Item{}, nil, fmt.Errorf("coordinate needs 3 values and params 4, have %d and %d",
				len(s.Coordinate), len(s.Params))
		}
		copy(params[:4], s.Params)
		copy(params[4:], s.Coordinate)
	case len(s.Params) == 7:
		copy(params[:], s.Params)
	default:
		return Item{}, nil, fmt.Errorf("params has %d values, want 7", len(s.Params))
	}
	it := Item{
		Command: Command(*s.Command), Frame: Frame(*s.Frame).NonInt(),
		Param1: float64(params[0]), Param2: float64(params[1]), Param3: float64(params[2]), Param4: float64(params[3]),
		LatDeg: float64(params[4]), LonDeg: float64(params[5]), AltM: float64(params[6]),
		AutoContinue: s.AutoContinue == nil || *s.AutoContinue,
	}
	if s.AltitudeMode != nil && *s.AltitudeMode == qgcAltCalcAboveTerrain && s.Altitude != nil &&
		isFinite(float64(*s.Altitude)) && it.Frame == FrameGlobal {
		it.AltAboveTerrainM = float64(*s.Altitude)
	}
	if err := checkItem(it); err != nil {
		return Item{}, nil, err
	}
	return it, s.DoJumpID, nil
}

func parseHomeJSON(raw json.RawMessage, p *Plan) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var coord []jsonFloat
	if raw[0] == '{' {
		// The oldest files stored home as a whole mission item.
		var obj struct {
			Coordinate []jsonFloat `json:"coordinate"`
		}
		if err := json.Unmarshal(raw, &obj); err != nil {
			return invalid("plannedHomePosition: %v", jsonErr(err))
		}
		coord = obj.Coordinate
	} else if err := json.Unmarshal(raw, &coord); err != nil {
		return invalid("plannedHomePosition: %v", jsonErr(err))
	}
	if len(coord) != 3 {
		return invalid("plannedHomePosition: want [lat, lon, alt], have %d values", len(coord))
	}
	home, err := homeFrom(float64(coord[0]), float64(coord[1]), float64(coord[2]))
	if err != nil {
		return invalid("plannedHomePosition: %v", err)
	}
	p.PlannedHome = home
	return nil
}

// latLonJSON reads a [lat, lon, ...] pair.
func latLonJSON(v []jsonFloat) (LatLon, error) {
	if len(v) < 2 || len(v) > 3 {
		return LatLon{}, fmt.Errorf("want [lat, lon], have %d values", len(v))
	}
	ll := LatLon{LatDeg: float64(v[0]), LonDeg: float64(v[1])}
	return ll, checkLatLon(ll.LatDeg, ll.LonDeg)
}

func parseVerticesJSON(vs [][]jsonFloat) ([]LatLon, error) {
	if len(vs) < 3 {
		return nil, fmt.Errorf("polygon has %d vertices, need at least 3", len(vs))
	}
	out := make([]LatLon, 0, len(vs))
	for j, v := range vs {
		ll, err := latLonJSON(v)
		if err != nil {
			return nil, fmt.Errorf("vertex %d: %w", j+1, err)
		}
		out = append(out, ll)
	}
	return out, nil
}

func parseFenceJSON(raw json.RawMessage, p *Plan) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var f fenceJSON
	if err := json.Unmarshal(raw, &f); err != nil {
		return invalid("geoFence: %v", jsonErr(err))
	}
	version := 1.0
	if f.Version != nil {
		version = *f.Version
	}
	switch version {
	case 1:
		// Version 1 held a single inclusion polygon; QGroundControl now
		// ignores it, but it is the user's fence, so keep it.
		if len(f.Polygon) > 0 {
			vs, err := parseVerticesJSON(f.Polygon)
			if err != nil {
				return invalid("geoFence polygon: %v", err)
			}
			p.Fence.Polygons = append(p.Fence.Polygons, FencePolygon{Inclusion: true, Vertices: vs})
		}
		return nil
	case 2:
	default:
		return invalid("geoFence: unsupported version %v (want 2)", version)
	}
	for i, poly := range f.Polygons {
		vs, err := parseVerticesJSON(poly.Polygon)
		if err != nil {
			return invalid("geoFence polygon %d: %v", i+1, err)
		}
		p.Fence.Polygons = append(p.Fence.Polygons, FencePolygon{Inclusion: poly.Inclusion == nil || *poly.Inclusion, Vertices: vs})
	}
	for i, c := range f.Circles {
		if c.Circle == nil || c.Circle.Radius == nil {
			return invalid("geoFence circle %d: circle center/radius missing", i+1)
		}
		center, err := latLonJSON(c.Circle.Center)
		if err != nil {
			return invalid("geoFence circle %d: center: %v", i+1, err)
		}
		r := float64(*c.Circle.Radius)
		if !isFinite(r) || r <= 0 {
			return invalid("geoFence circle %d: radius %v invalid", i+1, r)
		}
		p.Fence.Circles = append(p.Fence.Circles, FenceCircle{Inclusion: c.Inclusion == nil || *c.Inclusion, Center: center, RadiusM: r})
	}
	if f.BreachReturn != nil {
		if len(f.BreachReturn) != 3 {
			return invalid("geoFence breachReturn: want [lat, lon, alt], have %d values", len(f.BreachReturn))
		}
		lat, lon, alt := float64(f.BreachReturn[0]), float64(f.BreachReturn[1]), float64(f.BreachReturn[2])
		if err := checkLatLon(lat, lon); err != nil {
			return invalid("geoFence breachReturn: %v", err)
		}
		if !isFinite(alt) {
			alt = 0
		}
		p.Fence.ReturnPoint = &Position{LatDeg: lat, LonDeg: lon, AltM: alt}
	}
	return nil
}

func parseRallyJSON(raw json.RawMessage, p *Plan) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var rj rallyJSON
	if err := json.Unmarshal(raw, &rj); err != nil {
		return invalid("rallyPoints: %v", jsonErr(err))
	}
	if rj.Version != nil && *rj.Version != 1 && *rj.Version != 2 {
		return invalid("rallyPoints: unsupported version %v (want 2)", *rj.Version)
	}
	for i, pt := range rj.Points {
		if len(pt) != 3 {
			return invalid("rally point %d: want [lat, lon, alt], have %d values", i+1, len(pt))
		}
		r := RallyPoint{LatDeg: float64(pt[0]), LonDeg: float64(pt[1]), AltM: float64(pt[2])}
		if err := checkLatLon(r.LatDeg, r.LonDeg); err != nil {
			return invalid("rally point %d: %v", i+1, err)
		}
		if !isFinite(r.AltM) {
			return invalid("rally point %d: altitude is not a number", i+1)
		}
		p.Rally = append(p.Rally, r)
	}
	return nil
}

// Output structures; fields are in QGroundControl's (alphabetical) order.

type planOut struct {
	FileType      string     `json:"fileType"`
	GeoFence      fenceOut   `json:"geoFence"`
	GroundStation string     `json:"groundStation"`
	Mission       missionOut `json:"mission"`
	RallyPoints   rallyOut   `json:"rallyPoints"`
	Version       int        `json:"version"`
}

type fenceOut struct {
	BreachReturn []jsonFloat  `json:"breachReturn,omitempty"`
	Circles      []circleOut  `json:"circles"`
	Polygons     []polygonOut `json:"polygons"`
	Version      int          `json:"version"`
}

type circleOut struct {
	Circle struct {
		Center [2]jsonFloat `json:"center"`
		Radius jsonFloat    `json:"radius"`
	} `json:"circle"`
	Inclusion bool `json:"inclusion"`
	Version   int  `json:"version"`
}

type polygonOut struct {
	Inclusion bool           `json:"inclusion"`
	Polygon   [][2]jsonFloat `json:"polygon"`
	Version   int            `json:"version"`
}

type rallyOut struct {
	Points  [][3]jsonFloat `json:"points"`
	Version int            `json:"version"`
}

type missionOut struct {
	CruiseSpeed            float64           `json:"cruiseSpeed,omitempty"`
	FirmwareType           int               `json:"firmwareType"`
	GlobalPlanAltitudeMode int               `json:"globalPlanAltitudeMode"`
	HoverSpeed             float64           `json:"hoverSpeed,omitempty"`
	Items                  []json.RawMessage `json:"items"`
	PlannedHomePosition    [3]jsonFloat      `json:"plannedHomePosition"`
	VehicleType            int               `json:"vehicleType"`
	Version                int               `json:"version"`
}

type simpleOut struct {
	AMSLAltAboveTerrain json.RawMessage `json:"AMSLAltAboveTerrain,omitempty"`
	Altitude            *jsonFloat      `json:"Altitude,omitempty"`
	AltitudeMode        *int            `json:"AltitudeMode,omitempty"`
	AutoContinue        bool            `json:"autoContinue"`
	Command             uint16          `json:"command"`
	DoJumpID            int             `json:"doJumpId"`
	Frame               uint8           `json:"frame"`
	Params              [7]jsonFloat    `json:"params"`
	Type                string          `json:"type"`
}

// QGroundControl AltitudeMode values written for positional items.
const (
	qgcAltRelative         = 1
	qgcAltAbsolute         = 2
	qgcAltCalcAboveTerrain = 3
	qgcAltTerrain          = 4
)

// WritePlan writes p as a QGroundControl .plan file (version 1, mission
// version 2, geoFence and rallyPoints version 2). ComplexItems are written
// back verbatim in place of the items they generated.
func WritePlan(w io.Writer, p *Plan) error {
	if p == nil {
		return errors.New("mission: WritePlan: nil plan")
	}
	out := planOut{FileType: "Plan", GroundStation: "osprey", Version: 1}
	out.Mission = missionOut{
		CruiseSpeed: p.CruiseSpeedMS, HoverSpeed: p.HoverSpeedMS,
		FirmwareType: int(p.Vehicle.Firmware), VehicleType: int(p.Vehicle.Type),
		GlobalPlanAltitudeMode: qgcAltRelative, Version: 2,
		Items: []json.RawMessage{},
	}
	if h := p.PlannedHome; h != nil {
		out.Mission.PlannedHomePosition = [3]jsonFloat{jsonFloat(h.LatDeg), jsonFloat(h.LonDeg), jsonFloat(h.AltM)}
	}
	items, err := planItemsJSON(p)
	if err != nil {
		return err
	}
	out.Mission.Items = items

	out.GeoFence = fenceOut{Version: 2, Circles: []circleOut{}, Polygons: []polygonOut{}}
	for _, poly := range p.Fence.Polygons {
		po := polygonOut{Inclusion: poly.Inclusion, Version: 1, Polygon: [][2]jsonFloat{}}
		for _, v := range poly.Vertices {
			po.Polygon = append(po.Polygon, [2]jsonFloat{jsonFloat(v.LatDeg), jsonFloat(v.LonDeg)})
		}
		out.GeoFence.Polygons = append(out.GeoFence.Polygons, po)
	}
	for _, c := range p.Fence.Circles {
		co := circleOut{Inclusion: c.Inclusion, Version: 1}
		co.Circle.Center = [2]jsonFloat{jsonFloat(c.Center.LatDeg), jsonFloat(c.Center.LonDeg)}
		co.Circle.Radius = jsonFloat(c.RadiusM)
		out.GeoFence.Circles = append(out.GeoFence.Circles, co)
	}
	if rp := p.Fence.ReturnPoint; rp != nil {
		out.GeoFence.BreachReturn = []jsonFloat{jsonFloat(rp.LatDeg), jsonFloat(rp.LonDeg), jsonFloat(rp.AltM)}
	}
	out.RallyPoints = rallyOut{Version: 2, Points: [][3]jsonFloat{}}
	for _, r := range p.Rally {
		out.RallyPoints.Points = append(out.RallyPoints.Points, [3]jsonFloat{jsonFloat(r.LatDeg), jsonFloat(r.LonDeg), jsonFloat(r.AltM)})
	}

	data, err := json.MarshalIndent(out, "", "    ")
	if err != nil {
		return fmt.Errorf("mission: WritePlan: %w", err)
	}
	data = append(data, '\n')
	_, err = w.Write(data)
	return err
}

// planItemsJSON encodes Items, substituting ComplexItems for their ranges.
func planItemsJSON(p *Plan) ([]json.RawMessage, error) {
	out := []json.RawMessage{}
	ci := 0
	next := 0 // first item index not yet written
	for next < len(p.Items) || ci < len(p.Complex) {
		if ci < len(p.Complex) {
			c := p.Complex[ci]
			if c.Index < next || c.Count < 0 || c.Index+c.Count > len(p.Items) {
				return nil, fmt.Errorf("mission: WritePlan: complex item %d (%s) at index %d count %d overlaps, is out of order or beyond the %d items",
					ci+1, c.Type, c.Index, c.Count, len(p.Items))
			}
			if c.Index == next {
				if !json.Valid(c.JSON) {
					return nil, fmt.Errorf("mission: WritePlan: complex item %d (%s) holds invalid JSON", ci+1, c.Type)
				}
				out = append(out, json.RawMessage(c.JSON))
				next += c.Count
				ci++
				continue
			}
		}
		raw, err := encodeSimpleItem(p.Items[next], next)
		if err != nil {
			return nil, fmt.Errorf("mission: WritePlan: item %d: %w", next+1, err)
		}
		out = append(out, raw)
		next++
	}
	return out, nil
}

func encodeSimpleItem(it Item, index int) (json.RawMessage, error) {
	s := simpleOut{
		AutoContinue: it.AutoContinue, Command: uint16(it.Command), DoJumpID: index + 1,
		Frame: uint8(it.Frame.NonInt()), Type: "SimpleItem",
		Params: [7]jsonFloat{jsonFloat(it.Param1), jsonFloat(it.Param2), jsonFloat(it.Param3), jsonFloat(it.Param4),
			jsonFloat(it.LatDeg), jsonFloat(it.LonDeg), jsonFloat(it.AltM)},
	}
	if it.Command == CmdDoJump {
		// The file references the target's doJumpId, which is index+1.
		s.Params[0] = jsonFloat(it.Param1 + 1)
	}
	if it.HasPosition() {
		mode := 0
		switch it.Frame.AltRef() {
		case AltRefHome:
			mode = qgcAltRelative
		case AltRefAMSL:
			mode = qgcAltAbsolute
		case AltRefTerrain:
			mode = qgcAltTerrain
		}
		alt := jsonFloat(it.AltM)
		s.Altitude, s.AltitudeMode, s.AMSLAltAboveTerrain = &alt, &mode, json.RawMessage("null")
		if it.AltAboveTerrainM != 0 && it.Frame.AltRef() == AltRefAMSL && isFinite(it.AltAboveTerrainM) {
			above := jsonFloat(it.AltAboveTerrainM)
			mode = qgcAltCalcAboveTerrain
			s.Altitude = &above
			if isFinite(it.AltM) {
				b, _ := json.Marshal(it.AltM)
				s.AMSLAltAboveTerrain = b
			}
		}
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// formatFloat writes the shortest text that reads back as the same float64.
func formatFloat(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}
