package config

import (
	"net/url"
	"slices"
	"strings"
)

// redacted is the text that replaces a secret in Redacted's copy.
const redacted = "REDACTED"

// Redacted returns a deep copy of c that is safe to log, print or serve over the API: camera URL
// passwords (and URL query values that look like credentials) and ICE server credentials are replaced by
// "REDACTED". Signing key file paths are kept: the key itself is never part of the configuration. c is
// not changed.
func (c *Config) Redacted() *Config {
	out := *c
	out.Links = slices.Clone(c.Links)
	out.Cameras = slices.Clone(c.Cameras)
	for i := range out.Cameras {
		out.Cameras[i].URL = redactURL(out.Cameras[i].URL)
	}
	out.Video.WebRTC.NAT1To1IPs = slices.Clone(c.Video.WebRTC.NAT1To1IPs)
	out.Video.WebRTC.ICEServers = slices.Clone(c.Video.WebRTC.ICEServers)
	for i := range out.Video.WebRTC.ICEServers {
		s := &out.Video.WebRTC.ICEServers[i]
		s.URLs = slices.Clone(s.URLs)
		if s.Credential != "" {
			s.Credential = redacted
		}
	}
	return &out
}

// redactURL hides the password of a URL and the values of query parameters whose names suggest a
// credential (some cameras take ?user=&password=). A URL that does not parse is hidden whole: what part
// of it is secret cannot be told.
func redactURL(s string) string {
	if s == "" {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return redacted
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), redacted)
		}
	}
	if u.RawQuery != "" {
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			return redacted
		}
		changed := false
		for k := range q {
			if secretParam(k) {
				q[k] = []string{redacted}
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	return u.String()
}

// secretParam reports whether a query parameter name looks like it carries a credential.
func secretParam(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"pass", "pwd", "secret", "token", "key", "auth", "cred", "sig"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}
