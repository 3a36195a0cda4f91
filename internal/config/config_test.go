package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// writeFile writes a configuration file into a fresh temporary directory and returns its path.
func writeFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "osprey.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDefaultsValid(t *testing.T) {
	if err := Defaults().Validate(); err != nil {
		t.Fatalf("Defaults() is invalid: %v", err)
	}
}

func TestLoadWithoutFileIsDefaults(t *testing.T) {
	cfg, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, Defaults()) {
		t.Fatalf("Load(\"\", nil) = %+v, want Defaults()", cfg)
	}
}

func TestLoadFileOverlaysDefaults(t *testing.T) {
	path := writeFile(t, `
http:
  address: ":9090"
mavlink:
  heartbeat_timeout: 5s
links:
  - name: radio
    url: "serial:/dev/ttyUSB0:57600"
    signing_key_file: /etc/osprey/radio.key
    unsigned: accept
cameras:
  - name: drone1/main
    url: "rtsp://viewer:secret@192.0.2.10:554/stream1"
    vehicle: 1
video:
  webrtc:
    nat_1to1_ips: ["203.0.113.7"]
  record:
    enabled: true
demo:
  home:
    lat_deg: 51.5
`)
	cfg, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	want.HTTP.Address = ":9090"
	want.MAVLink.HeartbeatTimeout = 5 * time.Second
	want.Links = []Link{{Name: "radio", URL: "serial:/dev/ttyUSB0:57600", SigningKeyFile: "/etc/osprey/radio.key", Unsigned: "accept"}}
	want.Cameras = []Camera{{Name: "drone1/main", URL: "rtsp://viewer:secret@192.0.2.10:554/stream1", Vehicle: 1}}
	want.Video.WebRTC.NAT1To1IPs = []string{"203.0.113.7"}
	want.Video.Record.Enabled = true
	want.Demo.Home.LatDeg = 51.5
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("got  %+v\nwant %+v", cfg, want)
	}
}

func TestLoadEmptyFileIsDefaults(t *testing.T) {
	for _, text := range []string{"", "# only a comment\n", "---\n"} {
		cfg, err := Load(writeFile(t, text), nil)
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if !reflect.DeepEqual(cfg, Defaults()) {
			t.Fatalf("%q: got %+v, want Defaults()", text, cfg)
		}
	}
}

func TestLoadRejectsUnknownKeys(t *testing.T) {
	cases := []struct {
		name, text string
		want       []string // each must appear in the error
	}{
		{"top level", "http:\n  address: \":80\"\nvidoe:\n  rtsp_address: \"\"\n", []string{"line 3", "vidoe"}},
		{"nested", "mavlink:\n  system_id: 200\n  heartbeat: 2s\n", []string{"line 3", "heartbeat"}},
		{"in a list item", "links:\n  - name: a\n    url: \"udps:0.0.0.0:14550\"\n    sign_key: x\n", []string{"line 4", "sign_key"}},
		{"deeply nested", "video:\n  webrtc:\n    ice_servers:\n      - urls: [\"stun:a:1\"]\n        password: x\n", []string{"line 5", "password"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, c.text)
			_, err := Load(path, nil)
			if err == nil {
				t.Fatal("loaded a file with an unknown key")
			}
			for _, w := range append(c.want, path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestLoadRejectsBadYAML(t *testing.T) {
	cases := map[string]string{
		"second document":  "http:\n  address: \":80\"\n---\nhttp:\n  address: \":81\"\n",
		"wrong type":       "mavlink:\n  system_id: many\n",
		"integer duration": "mavlink:\n  command_timeout: 3\n",
		"not a mapping":    "- a\n- b\n",
		"syntax":           "http: [\n",
	}
	for name, text := range cases {
		t.Run(name, func(t *testing.T) {
			if cfg, err := Load(writeFile(t, text), nil); err == nil {
				t.Fatalf("loaded %q as %+v", text, cfg)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.yaml")
	_, err := Load(path, nil)
	if err == nil || !strings.Contains(err.Error(), "absent.yaml") {
		t.Fatalf("err = %v, want an error naming the file", err)
	}
}

func TestValidateFileValues(t *testing.T) {
	// Validation runs on what the file produced, naming the field.
	_, err := Load(writeFile(t, "links:\n  - url: \"udps:0.0.0.0:14550\"\n  - url: \"udp:x\"\n"), nil)
	if err == nil || !strings.Contains(err.Error(), `links[1].url: bad link URL "udp:x"`) {
		t.Fatalf("err = %v", err)
	}
}
