// Package config is osprey's configuration: the Config struct, its defaults, and Load, which builds a
// Config in fixed layers, each a function:
//
//	Defaults() -> YAML file (unknown keys rejected) -> OSPREY_* environment variables -> Validate()
//
// A later layer overrides an earlier one field by field. Validate checks the shape and range of every
// field and names the field path in each error (for example `links[1].url: ...`); it does no I/O, so it
// never opens a signing key file or a camera. Each component still checks what only it can check (that a
// serial device exists, that a key file holds a key) when the app builds it from the Config.
//
// Environment variables: every field that is not inside a list can be set with OSPREY_ followed by its
// YAML path in upper case, dots and nesting written as underscores:
//
//	http.address                 -> OSPREY_HTTP_ADDRESS
//	data_dir                     -> OSPREY_DATA_DIR
//	mavlink.heartbeat_timeout    -> OSPREY_MAVLINK_HEARTBEAT_TIMEOUT   (a Go duration, "3.5s")
//	video.webrtc.udp_port        -> OSPREY_VIDEO_WEBRTC_UDP_PORT
//	video.webrtc.nat_1to1_ips    -> OSPREY_VIDEO_WEBRTC_NAT_1TO1_IPS   (comma-separated, or a YAML list)
//	links, cameras, video.webrtc.ice_servers
//	                             -> OSPREY_LINKS, OSPREY_CAMERAS, OSPREY_VIDEO_WEBRTC_ICE_SERVERS
//	                                (a YAML flow list replacing the file's list, e.g.
//	                                 OSPREY_LINKS='[{name: radio, url: "serial:/dev/ttyUSB0:57600"}]')
//
// EnvVars lists them all. Booleans take strconv.ParseBool forms. An OSPREY_ variable that names no field
// is an error, as an unknown YAML key is, so a typo cannot silently leave a default in place; the one
// exception is OSPREY_CONFIG, left to the command line to name the configuration file.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration of an osprey server. The YAML key of each field is in its tag.
type Config struct {
	// HTTP is the API, UI and WHEP listener.
	HTTP HTTP `yaml:"http"`
	// DataDir holds everything osprey writes: the database, telemetry logs (tlogs) and video recordings.
	DataDir string `yaml:"data_dir"`
	// MAVLink is how osprey speaks to vehicles on every link.
	MAVLink MAVLink `yaml:"mavlink"`
	// Links are the MAVLink connections to vehicles (radios, UDP from a companion computer, SITL).
	Links []Link `yaml:"links"`
	// Cameras are the RTSP sources relayed to viewers.
	Cameras []Camera `yaml:"cameras"`
	// Video is the relay's egress (WebRTC, RTSP re-publish) and recording.
	Video Video `yaml:"video"`
	// Missions are the limits mission validation holds plans to.
	Missions Missions `yaml:"missions"`
	// Limits bound the load any client can put on the server.
	Limits Limits `yaml:"limits"`
	// Demo configures `osprey demo`: simulated vehicles and cameras instead of links and cameras.
	Demo Demo `yaml:"demo"`
}

// HTTP configures the HTTP listener.
type HTTP struct {
	// Address is HOST:PORT to listen on. The default is loopback only: exposing the server is a choice.
	Address string `yaml:"address"`
	// MaxBodyBytes bounds every request body (a mission upload, a WHEP offer); larger requests get 413.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
}

// MAVLink configures the MAVLink side common to all links.
type MAVLink struct {
	// SystemID is osprey's own MAVLink system id. 255 is the ground-station convention and what
	// ArduPilot's MAV_GCS_SYSID (formerly SYSID_MYGCS) expects by default.
	SystemID int `yaml:"system_id"`
	// HeartbeatTimeout is how long a vehicle may stay silent before it is shown as lost.
	HeartbeatTimeout time.Duration `yaml:"heartbeat_timeout"`
	// CommandTimeout is how long to wait for a COMMAND_ACK before sending the command again.
	CommandTimeout time.Duration `yaml:"command_timeout"`
	// CommandRetries is how many times an unacknowledged command is sent again before it fails.
	CommandRetries int `yaml:"command_retries"`
}

// Link is one MAVLink transport.
type Link struct {
	// Name identifies the link in the UI, API and logs; empty means the URL.
	Name string `yaml:"name"`
	// URL is KIND:ADDRESS in the mavp2p convention: udps:ADDR:PORT (listen), udpc:HOST:PORT,
	// udpb:BCAST:PORT, tcps:ADDR:PORT (listen), tcpc:HOST:PORT or serial:DEVICE[:BAUD].
	URL string `yaml:"url"`
	// Network is the MAVLink network the link belongs to; system ids are unique within one network.
	// Empty is the default network.
	Network string `yaml:"network"`
	// Forward relays this link's frames to the other forwarding links and theirs to it, so another
	// ground station can ride along.
	Forward bool `yaml:"forward"`
	// SigningKeyFile is the path of a MAVLink 2 signing key (64 hex characters, or a passphrase hashed
	// as QGroundControl does). Empty turns signing off. The key itself never appears in the configuration.
	SigningKeyFile string `yaml:"signing_key_file"`
	// Unsigned says what a signing link does with unsigned frames: "reject" (the default when empty) or
	// "accept". Only meaningful with SigningKeyFile.
	Unsigned string `yaml:"unsigned"`
}

// Camera is one RTSP video source.
type Camera struct {
	// Name is the stream name viewers ask for: 1-128 characters of A-Z a-z 0-9 - _ . ~ and /, with no
	// empty, "." or ".." path segment.
	Name string `yaml:"name"`
	// URL is the rtsp:// or rtsps:// address of the camera. It may carry credentials
	// (rtsp://user:password@host/path); Redacted hides the password.
	URL string `yaml:"url"`
	// Transport is "auto" (the default when empty), "udp" or "tcp".
	Transport string `yaml:"transport"`
	// Vehicle is the MAVLink system id of the vehicle the camera rides on, 0 for a fixed camera.
	Vehicle int `yaml:"vehicle"`
	// Network is the MAVLink network of that vehicle; empty is the default network.
	Network string `yaml:"network"`
}

// Video configures the relay's egress and recording.
type Video struct {
	// RTSPAddress is HOST:PORT where every stream is re-published over RTSP; empty turns it off.
	RTSPAddress string `yaml:"rtsp_address"`
	// WebRTC is the WHEP viewers' media transport.
	WebRTC WebRTC `yaml:"webrtc"`
	// Record writes every stream to fragmented MP4 under DataDir.
	Record Record `yaml:"record"`
}

// WebRTC configures the ICE transport of WHEP viewers.
type WebRTC struct {
	// UDPPort is the one UDP port every viewer session shares (on every interface); 0 picks a free one.
	UDPPort int `yaml:"udp_port"`
	// TCPPort, when not 0, also accepts ICE over TCP for viewers whose networks block UDP.
	TCPPort int `yaml:"tcp_port"`
	// NAT1To1IPs are public addresses to announce instead of the host's own, behind a 1:1 NAT.
	NAT1To1IPs []string `yaml:"nat_1to1_ips"`
	// ICEServers are STUN/TURN servers handed to viewers. The server itself never contacts them.
	ICEServers []ICEServer `yaml:"ice_servers"`
}

// ICEServer is one STUN or TURN server.
type ICEServer struct {
	// URLs are stun:, stuns:, turn: or turns: URLs.
	URLs []string `yaml:"urls"`
	// Username is the TURN user name.
	Username string `yaml:"username"`
	// Credential is the TURN password; Redacted hides it.
	Credential string `yaml:"credential"`
}

// Record configures recording.
type Record struct {
	// Enabled records every stream.
	Enabled bool `yaml:"enabled"`
	// Segment is the length of one recording file.
	Segment time.Duration `yaml:"segment"`
	// Part is how often the file is written to disk: the most a crash can lose.
	Part time.Duration `yaml:"part"`
	// MaxAge deletes recordings older than this; 0 keeps them forever.
	MaxAge time.Duration `yaml:"max_age"`
	// MaxBytes deletes a stream's oldest recordings while they take more than this; 0 means no limit.
	MaxBytes int64 `yaml:"max_bytes"`
}

// Missions are the limits every plan is validated against before upload.
type Missions struct {
	// CeilingM is the highest altitude above home a waypoint may have, in metres.
	CeilingM float64 `yaml:"ceiling_m"`
	// MaxLegM is the longest distance between consecutive waypoints, in metres.
	MaxLegM float64 `yaml:"max_leg_m"`
	// CruiseSpeedMS is the speed used to estimate flight time where a plan sets none, in m/s.
	CruiseSpeedMS float64 `yaml:"cruise_speed_m_s"`
	// EnduranceS is the longest flight time a plan may need, in seconds.
	EnduranceS float64 `yaml:"endurance_s"`
}

// Limits bound client load.
type Limits struct {
	// WSClients is the most telemetry WebSocket clients at once.
	WSClients int `yaml:"ws_clients"`
	// WSUpdatesPerS is the most telemetry updates a WebSocket client gets per second per vehicle.
	WSUpdatesPerS int `yaml:"ws_updates_per_s"`
	// Viewers is the most WHEP video viewers at once.
	Viewers int `yaml:"viewers"`
}

// Demo configures `osprey demo`.
type Demo struct {
	// Vehicles is how many simulated vehicles to fly.
	Vehicles int `yaml:"vehicles"`
	// Home is where the simulated vehicles start.
	Home Home `yaml:"home"`
}

// Home is a position on the ground.
type Home struct {
	// LatDeg is the latitude in degrees.
	LatDeg float64 `yaml:"lat_deg"`
	// LonDeg is the longitude in degrees.
	LonDeg float64 `yaml:"lon_deg"`
	// AltMSLM is the ground altitude above mean sea level, in metres.
	AltMSLM float64 `yaml:"alt_msl_m"`
}

// Defaults returns the configuration osprey runs with when nothing is configured. It is valid.
func Defaults() *Config {
	return &Config{
		HTTP: HTTP{
			Address:      "127.0.0.1:8080",
			MaxBodyBytes: 1 << 20,
		},
		DataDir: "./osprey-data",
		MAVLink: MAVLink{
			SystemID:         255,
			HeartbeatTimeout: 3500 * time.Millisecond,
			CommandTimeout:   time.Second,
			CommandRetries:   5,
		},
		Video: Video{
			RTSPAddress: "127.0.0.1:8554",
			WebRTC:      WebRTC{UDPPort: 8189},
			Record: Record{
				Segment:  time.Minute,
				Part:     time.Second,
				MaxAge:   24 * time.Hour,
				MaxBytes: 2 << 30,
			},
		},
		Missions: Missions{
			CeilingM:      120,
			MaxLegM:       5000,
			CruiseSpeedMS: 10,
			EnduranceS:    1200,
		},
		Limits: Limits{
			WSClients:     100,
			WSUpdatesPerS: 10,
			Viewers:       200,
		},
		Demo: Demo{
			Vehicles: 3,
			// ArduPilot SITL's default home: Canberra Model Aircraft Club (CMAC).
			Home: Home{LatDeg: -35.363261, LonDeg: 149.165230, AltMSLM: 584},
		},
	}
}

// Load builds the configuration: Defaults, then the YAML file at path (skipped when path is empty), then
// the OSPREY_* variables of env (KEY=VALUE strings as os.Environ returns them), then Validate.
func Load(path string, env []string) (*Config, error) {
	var data []byte
	if path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
	}
	cfg, err := load(data, env)
	if err != nil && path != "" {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}

// load is Load on the file's bytes.
func load(data []byte, env []string) (*Config, error) {
	cfg := Defaults()
	if err := decodeYAML(cfg, data); err != nil {
		return nil, err
	}
	if err := applyEnv(cfg, env); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// decodeYAML overlays the YAML document in data on cfg. Keys the struct does not know are rejected with
// their line (yaml.v3 reports "line N: field K not found in type config.T"). An empty document changes
// nothing; a second document is an error rather than silently ignored.
func decodeYAML(cfg *Config, data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return err
		}
		return fmt.Errorf("line %d: a second YAML document; the configuration is one document", extra.Line)
	}
	return nil
}
