package whep

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestNAT1To1AddressesReplaceHostCandidates: a relay behind a 1:1 NAT advertises the configured public
// address, and not the address it listens on, in its answer.
func TestNAT1To1AddressesReplaceHostCandidates(t *testing.T) {
	r := newRig(t, Config{NAT1To1IPs: []string{"203.0.113.7"}}, rigCam{name: "cam", w: 320, h: 240, fps: 10})
	pc, offer := makeOffer(t, clientAPI(t))
	defer pc.Close()
	resp := post(t, r.url("cam"), "application/sdp", []byte(offer))
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("%d %s", resp.StatusCode, answer)
	}
	var cands []string
	for _, line := range strings.Split(string(answer), "\n") {
		if strings.HasPrefix(line, "a=candidate:") {
			cands = append(cands, strings.TrimSpace(line))
		}
	}
	if len(cands) == 0 {
		t.Fatalf("no candidates in the answer:\n%s", answer)
	}
	for _, c := range cands {
		if !strings.Contains(c, "203.0.113.7") || strings.Contains(c, "127.0.0.1") {
			t.Errorf("candidate %q: want the NAT address 203.0.113.7 only", c)
		}
	}
}
