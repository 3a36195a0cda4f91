package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestEnvOverrides(t *testing.T) {
	path := writeFile(t, "http:\n  address: \":9000\"\ndata_dir: /from/file\n")
	env := []string{
		"HOME=/root", // not ours: ignored
		"OSPREY_CONFIG=/somewhere/osprey.yaml",
		"OSPREY_HTTP_ADDRESS=0.0.0.0:8443",
		"OSPREY_DATA_DIR=/var/lib/osprey",
		"OSPREY_MAVLINK_HEARTBEAT_TIMEOUT=2.5s",
		"OSPREY_MAVLINK_SYSTEM_ID=250",
		"OSPREY_VIDEO_RECORD_ENABLED=true",
		"OSPREY_VIDEO_RTSP_ADDRESS=",
		"OSPREY_DEMO_HOME_LAT_DEG=48.1",
		"OSPREY_HTTP_MAX_BODY_BYTES=4096",
		"OSPREY_VIDEO_WEBRTC_NAT_1TO1_IPS=203.0.113.7, 203.0.113.8",
		`OSPREY_LINKS=[{name: radio, url: "serial:/dev/ttyUSB0:57600", forward: true}]`,
		"OSPREY_LIMITS_VIEWERS=10",
		"OSPREY_LIMITS_VIEWERS=20", // a later duplicate wins
	}
	cfg, err := Load(path, env)
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	want.HTTP.Address = "0.0.0.0:8443"
	want.HTTP.MaxBodyBytes = 4096
	want.DataDir = "/var/lib/osprey"
	want.MAVLink.HeartbeatTimeout = 2500 * time.Millisecond
	want.MAVLink.SystemID = 250
	want.Video.Record.Enabled = true
	want.Video.RTSPAddress = ""
	want.Video.WebRTC.NAT1To1IPs = []string{"203.0.113.7", "203.0.113.8"}
	want.Demo.Home.LatDeg = 48.1
	want.Links = []Link{{Name: "radio", URL: "serial:/dev/ttyUSB0:57600", Forward: true}}
	want.Limits.Viewers = 20
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("got  %+v\nwant %+v", cfg, want)
	}
}

func TestEnvListForms(t *testing.T) {
	cfg, err := Load("", []string{`OSPREY_VIDEO_WEBRTC_NAT_1TO1_IPS=["192.0.2.1"]`})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Video.WebRTC.NAT1To1IPs, []string{"192.0.2.1"}) {
		t.Fatalf("YAML list form: got %q", cfg.Video.WebRTC.NAT1To1IPs)
	}
	// An empty value empties a list the file set.
	path := writeFile(t, "links:\n  - url: \"udps:0.0.0.0:14550\"\n")
	cfg, err = Load(path, []string{"OSPREY_LINKS="})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Links) != 0 {
		t.Fatalf("OSPREY_LINKS= left %d links", len(cfg.Links))
	}
}

func TestEnvBadValues(t *testing.T) {
	cases := []struct {
		env  string
		want []string
	}{
		{"OSPREY_MAVLINK_SYSTEM_ID=two", []string{"OSPREY_MAVLINK_SYSTEM_ID", "mavlink.system_id", "bad integer"}},
		{"OSPREY_MAVLINK_COMMAND_TIMEOUT=5", []string{"OSPREY_MAVLINK_COMMAND_TIMEOUT", "bad duration"}},
		{"OSPREY_VIDEO_RECORD_ENABLED=yes", []string{"OSPREY_VIDEO_RECORD_ENABLED", "bad boolean"}},
		{"OSPREY_MISSIONS_CEILING_M=high", []string{"OSPREY_MISSIONS_CEILING_M", "bad number"}},
		{"OSPREY_HTTP_ADRESS=:80", []string{"OSPREY_HTTP_ADRESS", "no such setting"}},
		{"OSPREY_LINKS=[{name: a, uri: x}]", []string{"OSPREY_LINKS", "uri"}},
		{"OSPREY_CAMERAS=not a list", []string{"OSPREY_CAMERAS", "bad YAML list"}},
		// Parses, but Validate refuses it: the error names the field.
		{"OSPREY_MAVLINK_SYSTEM_ID=0", []string{"mavlink.system_id", "out of range"}},
	}
	for _, c := range cases {
		t.Run(c.env, func(t *testing.T) {
			_, err := Load("", []string{c.env})
			if err == nil {
				t.Fatal("loaded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// TestEnvVarsCoverEveryField checks the mapping is one variable per leaf field with no two fields folded
// onto one name, and that every variable can actually be set.
func TestEnvVarsCoverEveryField(t *testing.T) {
	leaves := 0
	var count func(reflect.Type)
	count = func(t reflect.Type) {
		for i := range t.NumField() {
			if t.Field(i).Type.Kind() == reflect.Struct {
				count(t.Field(i).Type)
			} else {
				leaves++
			}
		}
	}
	count(reflect.TypeFor[Config]())
	fields := envFields()
	if len(fields) != leaves || len(EnvVars()) != leaves {
		t.Fatalf("%d variables for %d leaf fields: two fields share a name", len(fields), leaves)
	}
	root := reflect.ValueOf(Defaults()).Elem()
	for name, f := range fields {
		v := root.FieldByIndex(f.index)
		sample := map[reflect.Kind]string{
			reflect.String: "x", reflect.Bool: "true", reflect.Int: "1", reflect.Int64: "1",
			reflect.Float64: "1.5", reflect.Slice: "[]",
		}[v.Kind()]
		if v.Type() == reflect.TypeFor[time.Duration]() {
			sample = "1s"
		}
		if err := setFromString(v, sample); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if want := EnvPrefix + strings.ToUpper(strings.ReplaceAll(f.yamlPath, ".", "_")); want != name {
			t.Errorf("%s maps to %s", name, f.yamlPath)
		}
	}
	for _, v := range []string{"OSPREY_HTTP_ADDRESS (http.address)", "OSPREY_DATA_DIR (data_dir)"} {
		found := false
		for _, got := range EnvVars() {
			found = found || got == v
		}
		if !found {
			t.Errorf("EnvVars lacks %s", v)
		}
	}
}
