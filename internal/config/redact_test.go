package config

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestRedacted(t *testing.T) {
	cfg := Defaults()
	cfg.Links = []Link{{Name: "radio", URL: "serial:/dev/ttyUSB0", SigningKeyFile: "/etc/osprey/radio.key"}}
	cfg.Cameras = []Camera{
		{Name: "a", URL: "rtsp://viewer:hunter2@192.0.2.10:554/stream1"},
		{Name: "b", URL: "rtsp://192.0.2.11/live?user=admin&password=opensesame&channel=1"},
		{Name: "c", URL: "rtsp://onlyuser@192.0.2.12/live"},
	}
	cfg.Video.WebRTC.ICEServers = []ICEServer{
		{URLs: []string{"turn:turn.example.org:3478"}, Username: "osprey", Credential: "turnsecret"},
		{URLs: []string{"stun:stun.example.org:3478"}},
	}
	before := fmt.Sprintf("%+v", *cfg)
	red := cfg.Redacted()

	text := fmt.Sprintf("%+v", *red)
	for _, secret := range []string{"hunter2", "opensesame", "turnsecret"} {
		if strings.Contains(text, secret) {
			t.Errorf("Redacted() still shows %q: %s", secret, text)
		}
	}
	want := []string{
		"rtsp://viewer:REDACTED@192.0.2.10:554/stream1",
		"rtsp://192.0.2.11/live?channel=1&password=REDACTED&user=admin",
		"rtsp://onlyuser@192.0.2.12/live",
	}
	for i, w := range want {
		if got := red.Cameras[i].URL; got != w {
			t.Errorf("camera %d URL = %q, want %q", i, got, w)
		}
	}
	if got := red.Video.WebRTC.ICEServers[0]; got.Credential != "REDACTED" || got.Username != "osprey" {
		t.Errorf("ICE server = %+v, want the credential redacted and the user name kept", got)
	}
	if red.Video.WebRTC.ICEServers[1].Credential != "" {
		t.Error("an empty credential became REDACTED: it would suggest one is set")
	}
	if red.Links[0].SigningKeyFile != "/etc/osprey/radio.key" {
		t.Error("the signing key file path was hidden; only its contents are secret")
	}
	// The redacted copy is still a valid configuration (it can be shown as one and loaded back).
	if err := red.Validate(); err != nil {
		t.Errorf("redacted copy is invalid: %v", err)
	}

	// The original is untouched, including through shared slices.
	red.Video.WebRTC.ICEServers[1].URLs[0] = "changed"
	red.Links[0].Name = "changed"
	if after := fmt.Sprintf("%+v", *cfg); after != before {
		t.Fatalf("Redacted changed the original:\nbefore %s\nafter  %s", before, after)
	}
}

func TestRedactedUnparsableURL(t *testing.T) {
	cfg := Defaults()
	cfg.Cameras = []Camera{{Name: "a", URL: "rtsp://u:pa ss@[bad/x"}}
	if got := cfg.Redacted().Cameras[0].URL; got != "REDACTED" {
		t.Fatalf("URL = %q, want the whole unparsable URL hidden", got)
	}
}

func TestRedactedDefaultsUnchanged(t *testing.T) {
	if !reflect.DeepEqual(Defaults().Redacted(), Defaults()) {
		t.Fatal("Redacted changed a configuration with no secrets")
	}
}
