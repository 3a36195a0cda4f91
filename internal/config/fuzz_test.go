package config

import (
	"testing"
)

// FuzzLoad feeds arbitrary bytes through the file and validation layers: Load must never panic, and a
// configuration it returns must be valid, redactable, and still valid once redacted.
func FuzzLoad(f *testing.F) {
	seeds := []string{
		"",
		Example(),
		uncomment(Example()),
		"http:\n  address: \":9090\"\n",
		"links:\n  - url: \"udp:x\"\n",
		"links:\n  - name: a\n    url: \"serial:/dev/ttyUSB0:57600\"\n    signing_key_file: k\n    unsigned: accept\n",
		"cameras:\n  - name: a/b\n    url: \"rtsp://u:p@h:554/x?token=t\"\n    vehicle: 3\n",
		"video:\n  webrtc:\n    ice_servers:\n      - urls: [\"turn:h:3478\"]\n        username: u\n        credential: c\n",
		"missions:\n  ceiling_m: .nan\n",
		"mavlink:\n  heartbeat_timeout: -3s\n",
		"vidoe: {}\n",
		"a: &a [*a, *a]\n",
		"---\n---\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := load(data, nil)
		if err != nil {
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("load returned an invalid configuration: %v", err)
		}
		if err := cfg.Redacted().Validate(); err != nil {
			t.Fatalf("the redacted copy of a valid configuration is invalid: %v", err)
		}
	})
}
