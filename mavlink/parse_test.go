package mavlink

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

var linkURLCases = []struct {
	in      string
	want    LinkURL
	wantErr string
}{
	{in: "udps:0.0.0.0:14550", want: LinkURL{Kind: UDPServer, Address: "0.0.0.0:14550"}},
	{in: "udpc:127.0.0.1:14550", want: LinkURL{Kind: UDPClient, Address: "127.0.0.1:14550"}},
	{in: "udpb:192.168.1.255:14550", want: LinkURL{Kind: UDPBroadcast, Address: "192.168.1.255:14550"}},
	{in: "tcps::5760", want: LinkURL{Kind: TCPServer, Address: ":5760"}},
	{in: "tcpc:[::1]:5760", want: LinkURL{Kind: TCPClient, Address: "[::1]:5760"}},
	{in: " tcpc:localhost:5762 ", want: LinkURL{Kind: TCPClient, Address: "localhost:5762"}},
	{in: "serial:/dev/ttyUSB0:921600", want: LinkURL{Kind: Serial, Device: "/dev/ttyUSB0", Baud: 921600}},
	{in: "serial:/dev/ttyACM0", want: LinkURL{Kind: Serial, Device: "/dev/ttyACM0", Baud: DefaultBaud}},
	{in: "udp:1.2.3.4:5", wantErr: `unknown kind "udp"`},
	{in: "tcpc:127.0.0.1", wantErr: "missing port"},
	{in: "tcpc::5760", wantErr: "needs a host"},
	{in: "udps:0.0.0.0:99999", wantErr: "bad port"},
	{in: "serial:/dev/ttyUSB0:fast", wantErr: "bad baud rate"},
	{in: "serial::57600", wantErr: "needs a device"},
	{in: "", wantErr: "want KIND:ADDRESS"},
	{in: "14550", wantErr: "want KIND:ADDRESS"},
}

func TestParseLinkURL(t *testing.T) {
	for _, c := range linkURLCases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseLinkURL(c.in)
			if c.wantErr != "" {
				if err == nil || !errors.Is(err, ErrBadLinkURL) || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want ErrBadLinkURL containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
			again, err := ParseLinkURL(got.String())
			if err != nil || again != got {
				t.Fatalf("String() %q does not parse back: %+v, %v", got.String(), again, err)
			}
		})
	}
}

func TestSerialDeviceMissingIsClearError(t *testing.T) {
	u, err := ParseLinkURL("serial:/dev/osprey-no-such-radio:57600")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.Endpoint(); err == nil || !strings.Contains(err.Error(), "/dev/osprey-no-such-radio") {
		t.Fatalf("err = %v, want one naming the device", err)
	}
}

func FuzzParseLinkURL(f *testing.F) {
	for _, c := range linkURLCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseLinkURL(s)
		if err != nil {
			if !errors.Is(err, ErrBadLinkURL) {
				t.Fatalf("error %v does not wrap ErrBadLinkURL", err)
			}
			return
		}
		again, err := ParseLinkURL(u.String())
		if err != nil || again != u {
			t.Fatalf("%q parsed to %+v, whose String %q parses to %+v, %v", s, u, u.String(), again, err)
		}
	})
}

func TestModeTables(t *testing.T) {
	const quad, plane, rover = 2, 1, 10
	cases := []struct {
		autopilot, mavType, custom uint32
		name                       string
	}{
		{AutopilotArduPilot, quad, 4, "GUIDED"},
		{AutopilotArduPilot, quad, 6, "RTL"},
		{AutopilotArduPilot, quad, 17, "BRAKE"},
		{AutopilotArduPilot, quad, 21, "SMART_RTL"},
		{AutopilotArduPilot, plane, 6, "FBWB"}, // 6 means something else on a plane
		{AutopilotArduPilot, plane, 11, "RTL"},
		{AutopilotArduPilot, rover, 6, "FOLLOW"},
		{AutopilotArduPilot, quad, 99, "99"}, // unknown numbers show as numbers
		{AutopilotPX4, quad, 67371008, "AUTO.MISSION"},
		{AutopilotPX4, quad, 84148224, "AUTO.RTL"},
		{AutopilotPX4, quad, 196608, "POSCTL"},
		{AutopilotPX4, quad, 393216, "OFFBOARD"},
		{AutopilotGeneric, quad, 4, "4"},
	}
	for _, c := range cases {
		if got := ModeName(c.autopilot, c.mavType, c.custom); got != c.name {
			t.Errorf("ModeName(%d, %d, %d) = %q, want %q", c.autopilot, c.mavType, c.custom, got, c.name)
		}
		if c.name == "99" || c.name == "4" && c.autopilot == AutopilotGeneric {
			continue
		}
		req, err := lookupMode(c.autopilot, c.mavType, strings.ToLower(c.name))
		if err != nil {
			t.Errorf("lookupMode(%q): %v", c.name, err)
			continue
		}
		if req.customMode != c.custom {
			t.Errorf("lookupMode(%q) custom mode %d, want %d", c.name, req.customMode, c.custom)
		}
	}
	if _, err := lookupMode(AutopilotArduPilot, quad, "WARP"); !errors.Is(err, ErrUnknownMode) || !strings.Contains(err.Error(), "GUIDED") {
		t.Fatalf("unknown mode error %v should list the known modes", err)
	}
	if req, _ := lookupMode(AutopilotPX4, quad, "AUTO.LOITER"); req.param2 != 4 || req.param3 != 3 {
		t.Fatalf("PX4 AUTO.LOITER sends main %v sub %v, want 4 and 3", req.param2, req.param3)
	}
}

func TestParamEncodingPerAutopilot(t *testing.T) {
	// ArduPilot casts integers to float; PX4 puts their bytes in the float.
	if got := encodeParam(1234567, 6, AutopilotArduPilot); got != 1234567 {
		t.Fatalf("ArduPilot INT32 encoded as %v", got)
	}
	enc := encodeParam(-5, 6, AutopilotPX4)
	if enc == -5 {
		t.Fatal("PX4 INT32 was cast, not byte-copied")
	}
	if dec := decodeParam(enc, 6, AutopilotPX4); dec != -5 {
		t.Fatalf("PX4 INT32 round trip gave %v", dec)
	}
	if dec := decodeParam(0.25, 9, AutopilotPX4); dec != 0.25 {
		t.Fatalf("PX4 REAL32 decoded as %v", dec)
	}
}

const mpParams = `# Mission Planner export
WPNAV_SPEED,1000
RTL_ALT,1500
BATT_LOW_VOLT,10.5
`

const qgcParams = "# Onboard parameters for Vehicle 1\n#\n# Vehicle-Id Component-Id Name Value Type\n" +
	"1\t1\tWPNAV_SPEED\t1000\t9\n1\t1\tSYSID_THISMAV\t1\t2\n1\t1\tBATT_LOW_VOLT\t10.5\t9\n"

func TestParamFilesRoundTrip(t *testing.T) {
	for _, c := range []struct {
		name   string
		in     string
		format ParamFileFormat
	}{{"missionplanner", mpParams, MissionPlannerFormat}, {"qgc", qgcParams, QGCFormat}, {"mavproxy", "RTL_ALT 1500\nWPNAV_SPEED\t1000\n", MissionPlannerFormat}} {
		t.Run(c.name, func(t *testing.T) {
			params, format, err := ParseParamFile(strings.NewReader(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if format != c.format {
				t.Fatalf("format %q, want %q", format, c.format)
			}
			var buf bytes.Buffer
			if err := WriteParamFile(&buf, params, format, ParamFileHeader{SystemID: 1, ComponentID: 1}); err != nil {
				t.Fatal(err)
			}
			again, _, err := ParseParamFile(&buf)
			if err != nil {
				t.Fatalf("written file does not parse: %v\n%s", err, buf.String())
			}
			want := map[string]float64{}
			for _, p := range params {
				want[p.Name] = p.Value
			}
			if len(again) != len(params) {
				t.Fatalf("%d params after round trip, want %d", len(again), len(params))
			}
			for _, p := range again {
				if want[p.Name] != p.Value {
					t.Errorf("%s = %v after round trip, want %v", p.Name, p.Value, want[p.Name])
				}
			}
		})
	}
}

func TestParamFileErrorsNameTheLine(t *testing.T) {
	for in, want := range map[string]string{
		"RTL_ALT,1500\nWPNAV_SPEED,fast\n":     "line 2",
		"RTL_ALT,1500\nRTL_ALT,1000\n":         "already set on line 1",
		"A,1,2\n":                              "line 1",
		"THIS_NAME_IS_TOO_LONG,1\n":            "1 to 16",
		"RTL_ALT,NaN\n":                        "not a number",
		"1\t1\tRTL_ALT\t1500\t99\n":            "parameter type",
		"RTL_ALT,1\n1\t1\tWPNAV_SPEED\t5\t9\n": "mixes",
		"# only comments\n":                    "no parameters",
	} {
		_, _, err := ParseParamFile(strings.NewReader(in))
		if !errors.Is(err, ErrBadParamFile) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want ErrBadParamFile mentioning %q", in, err, want)
		}
	}
}

func FuzzParseParamFile(f *testing.F) {
	f.Add(mpParams)
	f.Add(qgcParams)
	f.Add("RTL_ALT 1500\n")
	f.Add("1\t1\tX\t1e40\t9\n")
	f.Fuzz(func(t *testing.T, s string) {
		params, format, err := ParseParamFile(strings.NewReader(s))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := WriteParamFile(&buf, params, format, ParamFileHeader{SystemID: 1, ComponentID: 1}); err != nil {
			t.Fatal(err)
		}
		again, _, err := ParseParamFile(&buf)
		if err != nil || len(again) != len(params) {
			t.Fatalf("round trip of %q failed: %v (%d vs %d params)\n%s", s, err, len(again), len(params), buf.String())
		}
	})
}

// heartbeatV2 is a real MAVLink 2 HEARTBEAT frame (sys 1, comp 1, ArduCopter in GUIDED).
var heartbeatV2 = []byte{0xfd, 0x09, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00,
	0x04, 0x00, 0x00, 0x00, 0x02, 0x03, 0x51, 0x03, 0x03, 0x00, 0x00}

func TestTlogReader(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)
	var b []byte
	b = AppendTlogEntry(b, t0, heartbeatV2)
	b = AppendTlogEntry(b, t0.Add(time.Second), heartbeatV2)
	r := NewTlogReader(bytes.NewReader(b))
	for i := range 2 {
		e, err := r.Next()
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if want := t0.Add(time.Duration(i) * time.Second); !e.Time.Equal(want) {
			t.Fatalf("entry %d at %v, want %v", i, e.Time, want)
		}
		if !bytes.Equal(e.Frame, heartbeatV2) {
			t.Fatalf("entry %d frame %x", i, e.Frame)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after the last entry: %v, want io.EOF", err)
	}
	for name, bad := range map[string][]byte{
		"truncated frame":  b[:len(b)-3],
		"truncated header": b[:len(b)-len(heartbeatV2)-4],
		"not a frame":      append(AppendTlogEntry(nil, t0, []byte{0x55, 1, 2}), 0, 0, 0, 0),
	} {
		r := NewTlogReader(bytes.NewReader(bad))
		var err error
		for range 3 {
			if _, err = r.Next(); err != nil {
				break
			}
		}
		if !errors.Is(err, ErrBadTlog) {
			t.Errorf("%s: err = %v, want ErrBadTlog", name, err)
		}
	}
}

func FuzzTlogReader(f *testing.F) {
	f.Add(AppendTlogEntry(nil, time.Unix(1700000000, 0), heartbeatV2))
	f.Add(AppendTlogEntry(AppendTlogEntry(nil, time.Unix(1, 0), heartbeatV2), time.Unix(2, 0), heartbeatV2[:5]))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1, 0xfe, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewTlogReader(bytes.NewReader(data))
		for range len(data) + 1 {
			e, err := r.Next()
			if err != nil {
				if err != io.EOF && !errors.Is(err, ErrBadTlog) {
					t.Fatalf("unexpected error type %v", err)
				}
				return
			}
			if len(e.Frame) > maxFrameLen || len(e.Frame) < 8 {
				t.Fatalf("frame of %d bytes", len(e.Frame))
			}
		}
		t.Fatal("reader did not end")
	})
}

func TestNewCommandErrorKeepsTheSentinel(t *testing.T) {
	for result, want := range map[string]error{"FAILED": ErrFailed, "DENIED": ErrDenied, "TEMPORARILY_REJECTED": ErrDenied,
		"UNSUPPORTED": ErrUnsupported, "TIMEOUT": ErrTimeout, "BUSY": ErrBusy, "CANCELLED": ErrCancelled} {
		e := NewCommandError(1, "ARM/DISARM", result, "PreArm: Need 3D Fix")
		if !errors.Is(e, want) || !strings.Contains(e.Error(), "PreArm") {
			t.Errorf("%s: %v does not match %v", result, e, want)
		}
	}
}
