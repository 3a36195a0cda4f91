package mission

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Format is a file format this package reads.
type Format uint8

// Formats, as Detect reports them.
const (
	FormatUnknown       Format = iota
	FormatPlan                 // QGroundControl .plan JSON
	FormatLegacyMission        // QGroundControl .mission JSON (before .plan)
	FormatWaypoints            // "QGC WPL 110" text (mission, fence or rally items)
	FormatMAVProxyFence        // MAVProxy fence list: "lat lon" lines
	FormatMAVProxyRally        // MAVProxy rally list: "RALLY lat lon alt ..." lines
	FormatGeoJSON              // GeoJSON area or path (ParseArea)
	FormatKML                  // KML area or path (ParseArea)
)

var formatNames = [...]string{"unknown", "QGroundControl plan", "QGroundControl legacy mission",
	"QGC WPL 110 waypoints", "MAVProxy fence list", "MAVProxy rally list", "GeoJSON", "KML"}

// String names the format.
func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return fmt.Sprintf("format %d", uint8(f))
}

// IsPlan reports formats that Decode turns into a Plan (GeoJSON and KML
// hold areas: use ParseArea).
func (f Format) IsPlan() bool {
	switch f {
	case FormatPlan, FormatLegacyMission, FormatWaypoints, FormatMAVProxyFence, FormatMAVProxyRally:
		return true
	}
	return false
}

// Detect chooses a format by content; the file name only breaks ties when
// the content is too broken to tell (so a damaged .plan still gets the
// plan parser's precise error).
func Detect(filename string, data []byte) Format {
	d := bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	ext := strings.ToLower(filepath.Ext(filename))
	switch {
	case bytes.HasPrefix(d, []byte("{")):
		var probe struct {
			FileType *string         `json:"fileType"`
			Type     string          `json:"type"`
			Items    json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(d, &probe); err != nil {
			if ext == ".geojson" || ext == ".json" {
				return FormatGeoJSON
			}
			if ext == ".mission" {
				return FormatLegacyMission
			}
			return FormatPlan
		}
		switch {
		case probe.FileType != nil && *probe.FileType == "Mission":
			return FormatLegacyMission
		case probe.FileType != nil:
			return FormatPlan // ParsePlan explains a wrong fileType
		case probe.Items != nil:
			return FormatLegacyMission
		case probe.Type != "":
			return FormatGeoJSON
		}
		return FormatUnknown
	case bytes.HasPrefix(d, []byte("<")):
		head := d
		if len(head) > 4096 {
			head = head[:4096]
		}
		if bytes.Contains(bytes.ToLower(head), []byte("<kml")) || ext == ".kml" {
			return FormatKML
		}
		return FormatUnknown
	case bytes.HasPrefix(d, []byte("QGC WPL")):
		return FormatWaypoints
	}
	first := ""
	for _, line := range splitLines(d) {
		if !skipLine(line) {
			first = line
			break
		}
	}
	f := strings.Fields(first)
	switch {
	case len(f) > 0 && f[0] == "RALLY":
		return FormatMAVProxyRally
	case len(f) == 2 && isNumber(f[0]) && isNumber(f[1]):
		return FormatMAVProxyFence
	}
	switch ext {
	case ".plan":
		return FormatPlan
	case ".mission":
		return FormatLegacyMission
	case ".waypoints":
		return FormatWaypoints
	}
	return FormatUnknown
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// Decode detects the format of data and parses it into a Plan.
func Decode(filename string, data []byte) (*Plan, Format, error) {
	f := Detect(filename, data)
	var p *Plan
	var err error
	switch f {
	case FormatPlan, FormatLegacyMission:
		p, err = ParsePlan(bytes.NewReader(data))
	case FormatWaypoints:
		p, err = ParseWaypoints(bytes.NewReader(data))
	case FormatMAVProxyFence:
		p, err = ParseMAVProxyFence(bytes.NewReader(data))
	case FormatMAVProxyRally:
		p, err = ParseMAVProxyRally(bytes.NewReader(data))
	case FormatGeoJSON, FormatKML:
		return nil, f, fmt.Errorf("%w: %s holds an area, not a plan (use ParseArea)", ErrUnknownFormat, f)
	default:
		return nil, f, fmt.Errorf("%w: %s", ErrUnknownFormat, filepath.Base(filename))
	}
	if err != nil {
		return nil, f, err
	}
	return p, f, nil
}

// Load reads a plan file from disk, choosing the parser by content.
func Load(path string) (*Plan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := readAllLimited(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	p, _, err := Decode(path, data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return p, nil
}
