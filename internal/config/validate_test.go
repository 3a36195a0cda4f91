package config

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestValidateRules(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(c *Config)
		want   string // the error must contain this, which starts with the field path
	}{
		{"http address shape", func(c *Config) { c.HTTP.Address = "localhost" }, `http.address: "localhost": want HOST:PORT`},
		{"http address port", func(c *Config) { c.HTTP.Address = "127.0.0.1:99999" }, `http.address: "127.0.0.1:99999": bad port`},
		{"max body zero", func(c *Config) { c.HTTP.MaxBodyBytes = 0 }, "http.max_body_bytes: 0 is out of range"},
		{"data dir empty", func(c *Config) { c.DataDir = "" }, "data_dir: must not be empty"},
		{"system id zero", func(c *Config) { c.MAVLink.SystemID = 0 }, "mavlink.system_id: 0 is out of range [1, 255]"},
		{"system id 256", func(c *Config) { c.MAVLink.SystemID = 256 }, "mavlink.system_id: 256 is out of range"},
		{"heartbeat timeout", func(c *Config) { c.MAVLink.HeartbeatTimeout = 0 }, "mavlink.heartbeat_timeout: 0s is out of range"},
		{"command timeout", func(c *Config) { c.MAVLink.CommandTimeout = -time.Second }, "mavlink.command_timeout: -1s is out of range"},
		{"command retries", func(c *Config) { c.MAVLink.CommandRetries = -1 }, "mavlink.command_retries: -1 is out of range"},

		{"link kind", func(c *Config) { c.Links = []Link{{URL: "udps:0.0.0.0:14550"}, {URL: "udp:x"}} }, `links[1].url: bad link URL "udp:x": unknown kind "udp"`},
		{"link no address", func(c *Config) { c.Links = []Link{{URL: "tcpc"}} }, `links[0].url: bad link URL "tcpc": want KIND:ADDRESS`},
		{"link client needs host", func(c *Config) { c.Links = []Link{{URL: "udpc::14550"}} }, `links[0].url: bad link URL "udpc::14550": udpc needs a host`},
		{"link port", func(c *Config) { c.Links = []Link{{URL: "tcps:0.0.0.0:http"}} }, `links[0].url: bad link URL "tcps:0.0.0.0:http": bad port`},
		{"link no port", func(c *Config) { c.Links = []Link{{URL: "tcpc:example.org"}} }, `links[0].url: bad link URL "tcpc:example.org": want HOST:PORT`},
		{"link baud", func(c *Config) { c.Links = []Link{{URL: "serial:/dev/ttyS0:fast"}} }, `links[0].url: bad link URL "serial:/dev/ttyS0:fast": bad baud rate`},
		{"link serial device", func(c *Config) { c.Links = []Link{{URL: "serial::57600"}} }, "serial needs a device"},
		{"link name chars", func(c *Config) { c.Links = []Link{{Name: "my radio", URL: "udps::14550"}} }, `links[0].name: "my radio": character ' ' not allowed`},
		{"link duplicate name", func(c *Config) {
			c.Links = []Link{{Name: "a", URL: "udps::14550"}, {Name: "a", URL: "udps::14551"}}
		}, `links[1].name: "a" is already the name of links[0]`},
		{"link duplicate unnamed URL", func(c *Config) {
			c.Links = []Link{{URL: "udps::14550"}, {URL: "udps::14550"}}
		}, `links[1].name: "udps::14550" is already the name of links[0]`},
		{"link network chars", func(c *Config) { c.Links = []Link{{URL: "udps::14550", Network: "a/b"}} }, "links[0].network:"},
		{"link unsigned value", func(c *Config) {
			c.Links = []Link{{URL: "udps::14550", SigningKeyFile: "k", Unsigned: "allow"}}
		}, `links[0].unsigned: "allow": want reject or accept`},
		{"link unsigned without key", func(c *Config) { c.Links = []Link{{URL: "udps::14550", Unsigned: "accept"}} }, "links[0].unsigned: only applies to a signing link"},

		{"camera name empty", func(c *Config) { c.Cameras = []Camera{{URL: "rtsp://h/p"}} }, "cameras[0].name: must be 1 to 128 characters"},
		{"camera name chars", func(c *Config) { c.Cameras = []Camera{{Name: "a b", URL: "rtsp://h/p"}} }, `cameras[0].name: "a b": character ' ' not allowed`},
		{"camera name segment", func(c *Config) { c.Cameras = []Camera{{Name: "a/../b", URL: "rtsp://h/p"}} }, `cameras[0].name: "a/../b": empty, "." or ".." path segment`},
		{"camera duplicate", func(c *Config) {
			c.Cameras = []Camera{{Name: "a", URL: "rtsp://h/p"}, {Name: "a", URL: "rtsp://h/q"}}
		}, `cameras[1].name: "a" is already the name of cameras[0]`},
		{"camera scheme", func(c *Config) { c.Cameras = []Camera{{Name: "a", URL: "http://h/p"}} }, `cameras[0].url: bad camera URL "http://h/p": want an rtsp:// or rtsps:// URL`},
		{"camera host", func(c *Config) { c.Cameras = []Camera{{Name: "a", URL: "rtsp:///p"}} }, "cameras[0].url: bad camera URL \"rtsp:///p\": no host"},
		{"camera port", func(c *Config) { c.Cameras = []Camera{{Name: "a", URL: "rtsp://h:70000/p"}} }, "cameras[0].url: bad camera URL \"rtsp://h:70000/p\": bad port"},
		{"camera transport", func(c *Config) { c.Cameras = []Camera{{Name: "a", URL: "rtsp://h/p", Transport: "quic"}} }, `cameras[0].transport: "quic": want auto, udp or tcp`},
		{"camera vehicle", func(c *Config) { c.Cameras = []Camera{{Name: "a", URL: "rtsp://h/p", Vehicle: 300}} }, "cameras[0].vehicle: 300 is out of range [0, 255]"},
		{"camera network without vehicle", func(c *Config) { c.Cameras = []Camera{{Name: "a", URL: "rtsp://h/p", Network: "n"}} }, "cameras[0].network: names the vehicle's network, but vehicle is 0"},

		{"rtsp address", func(c *Config) { c.Video.RTSPAddress = "8554" }, `video.rtsp_address: "8554": want HOST:PORT`},
		{"udp port", func(c *Config) { c.Video.WebRTC.UDPPort = 70000 }, "video.webrtc.udp_port: 70000 is out of range"},
		{"tcp port", func(c *Config) { c.Video.WebRTC.TCPPort = -1 }, "video.webrtc.tcp_port: -1 is out of range"},
		{"nat ip", func(c *Config) { c.Video.WebRTC.NAT1To1IPs = []string{"192.0.2.1", "example.org"} }, `video.webrtc.nat_1to1_ips[1]: "example.org" is not an IP address`},
		{"ice no urls", func(c *Config) { c.Video.WebRTC.ICEServers = []ICEServer{{}} }, "video.webrtc.ice_servers[0].urls: must list at least one URL"},
		{"ice scheme", func(c *Config) {
			c.Video.WebRTC.ICEServers = []ICEServer{{URLs: []string{"stun:a:1", "http://a"}}}
		}, `video.webrtc.ice_servers[0].urls[1]: "http://a": want a stun:, stuns:, turn: or turns: URL`},
		{"ice turn needs credential", func(c *Config) {
			c.Video.WebRTC.ICEServers = []ICEServer{{URLs: []string{"turn:a:3478"}, Username: "u"}}
		}, "video.webrtc.ice_servers[0]: a TURN server needs username and credential"},
		{"record segment", func(c *Config) { c.Video.Record.Segment = 0 }, "video.record.segment: 0s is out of range"},
		{"record part", func(c *Config) { c.Video.Record.Part = 0 }, "video.record.part: 0s is out of range"},
		{"record part longer than segment", func(c *Config) {
			c.Video.Record.Segment = 2 * time.Second
			c.Video.Record.Part = 5 * time.Second
		}, "video.record.part: 5s is longer than video.record.segment (2s)"},
		{"record max age", func(c *Config) { c.Video.Record.MaxAge = -time.Hour }, "video.record.max_age: -1h0m0s is negative"},
		{"record max bytes", func(c *Config) { c.Video.Record.MaxBytes = -1 }, "video.record.max_bytes: -1 is negative"},

		{"ceiling", func(c *Config) { c.Missions.CeilingM = 0 }, "missions.ceiling_m: 0 is out of range"},
		{"ceiling NaN", func(c *Config) { c.Missions.CeilingM = math.NaN() }, "missions.ceiling_m: NaN is out of range"},
		{"max leg", func(c *Config) { c.Missions.MaxLegM = math.Inf(1) }, "missions.max_leg_m: +Inf is out of range"},
		{"cruise speed", func(c *Config) { c.Missions.CruiseSpeedMS = -3 }, "missions.cruise_speed_m_s: -3 is out of range"},
		{"endurance", func(c *Config) { c.Missions.EnduranceS = 0 }, "missions.endurance_s: 0 is out of range"},

		{"ws clients", func(c *Config) { c.Limits.WSClients = 0 }, "limits.ws_clients: 0 is out of range"},
		{"ws rate", func(c *Config) { c.Limits.WSUpdatesPerS = 1000 }, "limits.ws_updates_per_s: 1000 is out of range"},
		{"viewers", func(c *Config) { c.Limits.Viewers = -5 }, "limits.viewers: -5 is out of range"},

		{"demo vehicles", func(c *Config) { c.Demo.Vehicles = 251 }, "demo.vehicles: 251 is out of range [0, 250]"},
		{"demo lat", func(c *Config) { c.Demo.Home.LatDeg = 91 }, "demo.home.lat_deg: 91 is out of range [-90, 90]"},
		{"demo lon", func(c *Config) { c.Demo.Home.LonDeg = -181 }, "demo.home.lon_deg: -181 is out of range [-180, 180]"},
		{"demo alt", func(c *Config) { c.Demo.Home.AltMSLM = math.NaN() }, "demo.home.alt_msl_m: NaN is out of range"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := Defaults()
			c.mutate(cfg)
			err := cfg.Validate()
			if err == nil {
				t.Fatal("valid")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q\ndoes not contain %q", err, c.want)
			}
			// The mutation broke exactly one rule: Validate reports one line.
			if lines := strings.Count(err.Error(), "\n") + 1; lines != 1 {
				t.Fatalf("%d errors, want 1: %v", lines, err)
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	cfg := Defaults()
	cfg.HTTP.Address = ":0"
	cfg.Video.RTSPAddress = "" // off
	cfg.Links = []Link{
		{URL: "udps:0.0.0.0:14550"},
		{URL: "udps::14551"},
		{Name: "b", URL: "udpb:192.0.2.255:14550", Network: "fleet-2"},
		{Name: "t", URL: "tcps:[::1]:5760"},
		{Name: "c", URL: "tcpc:sitl.local:5760", Forward: true},
		{Name: "s", URL: "serial:/dev/ttyACM0"},
		{Name: "k", URL: "serial:COM3:115200", SigningKeyFile: "/k", Unsigned: "accept"},
		{Name: "r", URL: "udpc:[fe80::1]:14550", SigningKeyFile: "/k"},
	}
	cfg.Cameras = []Camera{
		{Name: "mast", URL: "rtsp://192.0.2.1/live"},
		{Name: "drone1/main.hd~2", URL: "rtsps://u:p@cam.example:322/x?y=z", Transport: "tcp", Vehicle: 1, Network: "fleet-2"},
	}
	cfg.Video.WebRTC.TCPPort = 8189
	cfg.Video.WebRTC.NAT1To1IPs = []string{"203.0.113.7", "2001:db8::1"}
	cfg.Video.WebRTC.ICEServers = []ICEServer{
		{URLs: []string{"stun:stun.example.org:3478"}},
		{URLs: []string{"turns:turn.example.org:5349?transport=tcp"}, Username: "u", Credential: "c"},
	}
	cfg.Video.Record.MaxAge = 0
	cfg.Video.Record.MaxBytes = 0
	cfg.Demo.Vehicles = 0
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	cfg := Defaults()
	cfg.DataDir = ""
	cfg.MAVLink.SystemID = 0
	cfg.Links = []Link{{URL: "bogus"}}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("valid")
	}
	for _, w := range []string{"data_dir:", "mavlink.system_id:", "links[0].url:"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
}

func TestValidateHidesCameraPassword(t *testing.T) {
	cfg := Defaults()
	cfg.Cameras = []Camera{{Name: "a", URL: "http://admin:hunter2@192.0.2.1/live"}}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("valid")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error leaks the password: %v", err)
	}
}
