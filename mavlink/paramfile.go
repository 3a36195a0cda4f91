package mavlink

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// ErrBadParamFile is returned for a parameter file that does not parse; the message names the line.
var ErrBadParamFile = errors.New("bad parameter file")

// ParamFileFormat is a parameter file layout.
type ParamFileFormat string

// The parameter file formats.
const (
	// MissionPlannerFormat is "NAME,VALUE" per line (MAVProxy writes "NAME VALUE"; both are read).
	MissionPlannerFormat ParamFileFormat = "missionplanner"
	// QGCFormat is QGroundControl's tab-separated "SYSID COMPID NAME VALUE TYPE".
	QGCFormat ParamFileFormat = "qgc"
)

// maxParamFileLines bounds what a parameter file may hold; ArduPilot has about 1,200 parameters.
const maxParamFileLines = 100_000

// ParseParamFile reads a parameter file in either format, telling which it was. Comments start with '#'.
func ParseParamFile(r io.Reader) ([]Param, ParamFileFormat, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	var out []Param
	var format ParamFileFormat
	seen := map[string]int{}
	for lineNo := 1; sc.Scan(); lineNo++ {
		if lineNo > maxParamFileLines {
			return nil, "", fmt.Errorf("%w: more than %d lines", ErrBadParamFile, maxParamFileLines)
		}
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
		var p Param
		var lineFormat ParamFileFormat
		switch len(fields) {
		case 2:
			lineFormat = MissionPlannerFormat
			p = Param{Name: fields[0], Type: 9}
		case 5:
			lineFormat = QGCFormat
			if _, err := strconv.ParseUint(fields[0], 10, 8); err != nil {
				return nil, "", fmt.Errorf("%w: line %d: system id %q", ErrBadParamFile, lineNo, fields[0])
			}
			if _, err := strconv.ParseUint(fields[1], 10, 8); err != nil {
				return nil, "", fmt.Errorf("%w: line %d: component id %q", ErrBadParamFile, lineNo, fields[1])
			}
			typ, err := strconv.ParseUint(fields[4], 10, 8)
			if err != nil || typ < 1 || typ > 10 {
				return nil, "", fmt.Errorf("%w: line %d: parameter type %q", ErrBadParamFile, lineNo, fields[4])
			}
			p = Param{Name: fields[2], Type: uint8(typ)}
			fields = fields[2:4]
		default:
			return nil, "", fmt.Errorf("%w: line %d: want NAME,VALUE or SYSID COMPID NAME VALUE TYPE, got %d fields", ErrBadParamFile, lineNo, len(fields))
		}
		if format == "" {
			format = lineFormat
		} else if format != lineFormat {
			return nil, "", fmt.Errorf("%w: line %d: mixes %s and %s lines", ErrBadParamFile, lineNo, format, lineFormat)
		}
		if err := validParamName(p.Name); err != nil {
			return nil, "", fmt.Errorf("%w: line %d: %v", ErrBadParamFile, lineNo, err)
		}
		val, err := strconv.ParseFloat(fields[1], 64)
		if err != nil || math.IsNaN(val) || math.IsInf(val, 0) {
			return nil, "", fmt.Errorf("%w: line %d: %s: value %q is not a number", ErrBadParamFile, lineNo, p.Name, fields[1])
		}
		if math.Abs(val) > math.MaxFloat32 {
			return nil, "", fmt.Errorf("%w: line %d: %s: value %s does not fit the 32-bit float MAVLink carries", ErrBadParamFile, lineNo, p.Name, fields[1])
		}
		p.Value = val
		if prev, dup := seen[p.Name]; dup {
			return nil, "", fmt.Errorf("%w: line %d: %s already set on line %d", ErrBadParamFile, lineNo, p.Name, prev)
		}
		seen[p.Name] = lineNo
		p.Index = len(out)
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrBadParamFile, err)
	}
	if len(out) == 0 {
		return nil, "", fmt.Errorf("%w: no parameters", ErrBadParamFile)
	}
	return out, format, nil
}

func validParamName(name string) error {
	if len(name) == 0 || len(name) > 16 {
		return fmt.Errorf("name %q must be 1 to 16 characters", name)
	}
	for _, r := range name {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return fmt.Errorf("name %q has character %q", name, r)
		}
	}
	return nil
}

// ParamFileHeader is what a QGC-format file says about where the parameters came from.
type ParamFileHeader struct {
	SystemID    byte
	ComponentID byte
	Stack       string // "ArduPilot", "PX4"
	Firmware    string
}

// WriteParamFile writes parameters sorted by name in format. Values keep every digit a float32 holds.
func WriteParamFile(w io.Writer, params []Param, format ParamFileFormat, h ParamFileHeader) error {
	sorted := append([]Param(nil), params...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	bw := bufio.NewWriter(w)
	switch format {
	case MissionPlannerFormat:
		for _, p := range sorted {
			fmt.Fprintf(bw, "%s,%s\n", p.Name, formatParamValue(p))
		}
	case QGCFormat:
		fmt.Fprintf(bw, "# Onboard parameters for Vehicle %d\n#\n", h.SystemID)
		if h.Stack != "" {
			fmt.Fprintf(bw, "# Stack: %s\n", h.Stack)
		}
		if h.Firmware != "" {
			fmt.Fprintf(bw, "# Version: %s\n", h.Firmware)
		}
		fmt.Fprintf(bw, "#\n# Vehicle-Id Component-Id Name Value Type\n")
		for _, p := range sorted {
			typ := p.Type
			if typ == 0 {
				typ = 9
			}
			fmt.Fprintf(bw, "%d\t%d\t%s\t%s\t%d\n", h.SystemID, h.ComponentID, p.Name, formatParamValue(p), typ)
		}
	default:
		return fmt.Errorf("unknown parameter file format %q", format)
	}
	return bw.Flush()
}

func formatParamValue(p Param) string {
	if p.Type != 9 && p.Type != 10 && p.Type != 0 && p.Value == math.Trunc(p.Value) {
		return strconv.FormatFloat(p.Value, 'f', 0, 64)
	}
	return strconv.FormatFloat(float64(float32(p.Value)), 'g', -1, 32)
}
