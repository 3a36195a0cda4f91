package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// fieldError is one problem with one field, named by its YAML path.
type fieldError struct {
	path    string
	problem string
}

func (e *fieldError) Error() string { return e.path + ": " + e.problem }

// problems collects fieldErrors so Validate can report every bad field at once.
type problems []error

func (p *problems) add(path, format string, args ...any) {
	*p = append(*p, &fieldError{path: path, problem: fmt.Sprintf(format, args...)})
}

// Validate checks every field's shape and range and returns all problems at once, one per line, each
// starting with the field's YAML path (such as `links[1].url`). It does no I/O: files, devices and hosts
// named by the configuration are checked by the components that use them.
func (c *Config) Validate() error {
	var p problems
	c.validateHTTP(&p)
	if c.DataDir == "" {
		p.add("data_dir", "must not be empty")
	} else if strings.ContainsRune(c.DataDir, 0) {
		p.add("data_dir", "contains a NUL byte")
	}
	c.validateMAVLink(&p)
	c.validateLinks(&p)
	c.validateCameras(&p)
	c.validateVideo(&p)
	c.validateMissions(&p)
	c.validateLimits(&p)
	c.validateDemo(&p)
	return errors.Join(p...)
}

func (c *Config) validateHTTP(p *problems) {
	checkListenAddress(p, "http.address", c.HTTP.Address)
	intRange(p, "http.max_body_bytes", c.HTTP.MaxBodyBytes, 1, 1<<30)
}

func (c *Config) validateMAVLink(p *problems) {
	m := c.MAVLink
	intRange(p, "mavlink.system_id", int64(m.SystemID), 1, 255)
	durationRange(p, "mavlink.heartbeat_timeout", m.HeartbeatTimeout, 100*time.Millisecond, time.Minute)
	durationRange(p, "mavlink.command_timeout", m.CommandTimeout, 10*time.Millisecond, time.Minute)
	intRange(p, "mavlink.command_retries", int64(m.CommandRetries), 0, 20)
}

func (c *Config) validateLinks(p *problems) {
	seen := map[string]int{}
	for i, l := range c.Links {
		at := fmt.Sprintf("links[%d]", i)
		if l.Name != "" {
			checkLabel(p, at+".name", l.Name)
		}
		if err := checkLinkURL(l.URL); err != nil {
			p.add(at+".url", "bad link URL %q: %v", l.URL, err)
		}
		// An unnamed link is named by its URL (as the mavlink package does), so two links may not share a
		// name or, unnamed, a URL.
		name := l.Name
		if name == "" {
			name = l.URL
		}
		if j, dup := seen[name]; dup {
			p.add(at+".name", "%q is already the name of links[%d]", name, j)
		} else {
			seen[name] = i
		}
		if l.Network != "" {
			checkLabel(p, at+".network", l.Network)
		}
		if strings.ContainsRune(l.SigningKeyFile, 0) {
			p.add(at+".signing_key_file", "contains a NUL byte")
		}
		switch l.Unsigned {
		case "":
		case "reject", "accept":
			if l.SigningKeyFile == "" {
				p.add(at+".unsigned", "only applies to a signing link: set signing_key_file too")
			}
		default:
			p.add(at+".unsigned", "%q: want reject or accept", l.Unsigned)
		}
	}
}

// checkLinkURL checks a link URL's shape, KIND:ADDRESS: a known kind, and HOST:PORT with a numeric port for
// network kinds (a host is required for the client and broadcast kinds), or DEVICE[:BAUD] for serial. It
// is the same grammar mavlink.ParseLinkURL parses, restated here because configuration imports no domain
// package; mavlink re-parses the URL when the link is opened, so this only catches mistakes early and
// names the field.
func checkLinkURL(s string) error {
	kind, rest, ok := strings.Cut(s, ":")
	if !ok || rest == "" {
		return errors.New("want KIND:ADDRESS, such as udps:0.0.0.0:14550 or serial:/dev/ttyUSB0:57600")
	}
	switch kind {
	case "udps", "udpc", "udpb", "tcps", "tcpc", "serial":
	default:
		return fmt.Errorf("unknown kind %q: want udps, udpc, udpb, tcps, tcpc or serial", kind)
	}
	if kind == "serial" {
		dev := rest
		if i := strings.LastIndexByte(rest, ':'); i >= 0 {
			baud, err := strconv.Atoi(rest[i+1:])
			if err != nil || baud <= 0 || baud > 20_000_000 {
				return fmt.Errorf("bad baud rate %q", rest[i+1:])
			}
			dev = rest[:i]
		}
		if dev == "" {
			return errors.New("serial needs a device")
		}
		return nil
	}
	host, port, err := net.SplitHostPort(rest)
	if err != nil {
		return errors.New("want HOST:PORT after the kind")
	}
	if host == "" && (kind == "udpc" || kind == "tcpc" || kind == "udpb") {
		return fmt.Errorf("%s needs a host", kind)
	}
	if strings.ContainsAny(host, "/ \t") {
		return fmt.Errorf("bad host %q", host)
	}
	return checkPort(port)
}

func (c *Config) validateCameras(p *problems) {
	seen := map[string]int{}
	for i, cam := range c.Cameras {
		at := fmt.Sprintf("cameras[%d]", i)
		if err := checkStreamName(cam.Name); err != nil {
			p.add(at+".name", "%v", err)
		} else if j, dup := seen[cam.Name]; dup {
			p.add(at+".name", "%q is already the name of cameras[%d]", cam.Name, j)
		} else {
			seen[cam.Name] = i
		}
		if err := checkCameraURL(cam.URL); err != nil {
			// The URL may carry a password: quote it redacted.
			p.add(at+".url", "bad camera URL %q: %v", redactURL(cam.URL), err)
		}
		switch cam.Transport {
		case "", "auto", "udp", "tcp":
		default:
			p.add(at+".transport", "%q: want auto, udp or tcp", cam.Transport)
		}
		intRange(p, at+".vehicle", int64(cam.Vehicle), 0, 255)
		if cam.Network != "" {
			checkLabel(p, at+".network", cam.Network)
			if cam.Vehicle == 0 {
				p.add(at+".network", "names the vehicle's network, but vehicle is 0 (none)")
			}
		}
	}
}

// checkStreamName applies the video relay's stream-name rule, so a camera name that the relay would refuse
// is caught here with its field path.
func checkStreamName(name string) error {
	if name == "" || len(name) > 128 {
		return errors.New("must be 1 to 128 characters")
	}
	for _, r := range name {
		if !isLabelRune(r) && r != '~' && r != '/' {
			return fmt.Errorf("%q: character %q not allowed (A-Z a-z 0-9 - _ . ~ /)", name, r)
		}
	}
	for seg := range strings.SplitSeq(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("%q: empty, \".\" or \"..\" path segment", name)
		}
	}
	return nil
}

func checkCameraURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a URL")
	}
	if u.Scheme != "rtsp" && u.Scheme != "rtsps" {
		return errors.New("want an rtsp:// or rtsps:// URL")
	}
	if u.Hostname() == "" {
		return errors.New("no host")
	}
	if port := u.Port(); port != "" {
		return checkPort(port)
	}
	return nil
}

func (c *Config) validateVideo(p *problems) {
	v := c.Video
	if v.RTSPAddress != "" {
		checkListenAddress(p, "video.rtsp_address", v.RTSPAddress)
	}
	intRange(p, "video.webrtc.udp_port", int64(v.WebRTC.UDPPort), 0, 65535)
	intRange(p, "video.webrtc.tcp_port", int64(v.WebRTC.TCPPort), 0, 65535)
	for i, ip := range v.WebRTC.NAT1To1IPs {
		if net.ParseIP(ip) == nil {
			p.add(fmt.Sprintf("video.webrtc.nat_1to1_ips[%d]", i), "%q is not an IP address", ip)
		}
	}
	for i, s := range v.WebRTC.ICEServers {
		at := fmt.Sprintf("video.webrtc.ice_servers[%d]", i)
		if len(s.URLs) == 0 {
			p.add(at+".urls", "must list at least one URL")
		}
		turn := false
		for j, u := range s.URLs {
			scheme, rest, _ := strings.Cut(u, ":")
			switch {
			case rest == "" || strings.ContainsAny(rest, " \t"):
				p.add(fmt.Sprintf("%s.urls[%d]", at, j), "%q: want stun:, stuns:, turn: or turns: followed by HOST[:PORT]", u)
			case scheme == "stun" || scheme == "stuns":
			case scheme == "turn" || scheme == "turns":
				turn = true
			default:
				p.add(fmt.Sprintf("%s.urls[%d]", at, j), "%q: want a stun:, stuns:, turn: or turns: URL", u)
			}
		}
		if turn && (s.Username == "" || s.Credential == "") {
			p.add(at, "a TURN server needs username and credential")
		}
	}
	r := v.Record
	durationRange(p, "video.record.segment", r.Segment, time.Second, 24*time.Hour)
	durationRange(p, "video.record.part", r.Part, 100*time.Millisecond, time.Minute)
	if r.Part > 0 && r.Segment > 0 && r.Part > r.Segment {
		p.add("video.record.part", "%s is longer than video.record.segment (%s)", r.Part, r.Segment)
	}
	if r.MaxAge < 0 {
		p.add("video.record.max_age", "%s is negative (0 keeps recordings forever)", r.MaxAge)
	}
	if r.MaxBytes < 0 {
		p.add("video.record.max_bytes", "%d is negative (0 means no limit)", r.MaxBytes)
	}
}

func (c *Config) validateMissions(p *problems) {
	m := c.Missions
	floatRange(p, "missions.ceiling_m", m.CeilingM, 1, 10_000)
	floatRange(p, "missions.max_leg_m", m.MaxLegM, 1, 1_000_000)
	floatRange(p, "missions.cruise_speed_m_s", m.CruiseSpeedMS, 0.1, 100)
	floatRange(p, "missions.endurance_s", m.EnduranceS, 1, 86_400)
}

func (c *Config) validateLimits(p *problems) {
	l := c.Limits
	intRange(p, "limits.ws_clients", int64(l.WSClients), 1, 100_000)
	intRange(p, "limits.ws_updates_per_s", int64(l.WSUpdatesPerS), 1, 100)
	intRange(p, "limits.viewers", int64(l.Viewers), 1, 100_000)
}

func (c *Config) validateDemo(p *problems) {
	d := c.Demo
	// 250 ids fit one MAVLink network beside the ground station's own.
	intRange(p, "demo.vehicles", int64(d.Vehicles), 0, 250)
	floatRange(p, "demo.home.lat_deg", d.Home.LatDeg, -90, 90)
	floatRange(p, "demo.home.lon_deg", d.Home.LonDeg, -180, 180)
	floatRange(p, "demo.home.alt_msl_m", d.Home.AltMSLM, -500, 9000)
}

// checkListenAddress checks HOST:PORT with a numeric port; an empty host means every interface and port
// 0 a free port.
func checkListenAddress(p *problems, path, addr string) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		p.add(path, "%q: want HOST:PORT, such as 127.0.0.1:8080 or :8080", addr)
		return
	}
	if err := checkPort(port); err != nil {
		p.add(path, "%q: %v", addr, err)
	}
}

func checkPort(port string) error {
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("bad port %q", port)
	}
	return nil
}

// checkLabel checks a name used in logs, URLs and the UI: 1-64 characters of A-Z a-z 0-9 - _ and .
func checkLabel(p *problems, path, s string) {
	if len(s) > 64 {
		p.add(path, "longer than 64 characters")
		return
	}
	for _, r := range s {
		if !isLabelRune(r) {
			p.add(path, "%q: character %q not allowed (A-Z a-z 0-9 - _ .)", s, r)
			return
		}
	}
}

func isLabelRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
}

func intRange(p *problems, path string, v, lo, hi int64) {
	if v < lo || v > hi {
		p.add(path, "%d is out of range [%d, %d]", v, lo, hi)
	}
}

func floatRange(p *problems, path string, v, lo, hi float64) {
	// NaN fails both comparisons, so test for it (and infinities) first.
	if math.IsNaN(v) || math.IsInf(v, 0) || v < lo || v > hi {
		p.add(path, "%v is out of range [%v, %v]", v, lo, hi)
	}
}

func durationRange(p *problems, path string, v, lo, hi time.Duration) {
	if v < lo || v > hi {
		p.add(path, "%s is out of range [%s, %s]", v, lo, hi)
	}
}
