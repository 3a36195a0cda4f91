package video

import (
	"fmt"
	"strings"
)

// ValidateName checks a stream name: an RTSP-style path such as "sim/1" or
// "drone3/front", 1 to 128 characters of letters, digits and "-_.~/", with
// no empty, "." or ".." segment. Names appear in URLs, so anything else is
// refused rather than escaped.
func ValidateName(name string) error {
	if name == "" || len(name) > 128 {
		return fmt.Errorf("video: stream name %q: must be 1 to 128 characters", name)
	}
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.ContainsRune("-_.~/", c):
		default:
			return fmt.Errorf("video: stream name %q: character %q not allowed", name, c)
		}
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("video: stream name %q: empty, \".\" or \"..\" path segment", name)
		}
	}
	return nil
}
