package whep

import (
	"testing"
	"time"

	"github.com/pion/rtcp"

	"github.com/ospreygcs/osprey/video"
)

// t0 is the clock of the history tests.
var t0 = time.Unix(1000, 0)

func nackFor(seqs ...uint16) *rtcp.TransportLayerNack {
	return &rtcp.TransportLayerNack{Nacks: rtcp.NackPairsFromSequenceNumbers(seqs)}
}

func TestHistoryLookup(t *testing.T) {
	h := newHistory()
	u1, u2 := &video.Unit{Seq: 1}, &video.Unit{Seq: 2}
	// Two units across the sequence number wrap: u1 payloads 0-9 as
	// 65530-65535 and 0-3, u2 payloads 5-7 as 4-6.
	h.record(u1, 1000, 0, 65530, 10)
	h.record(u2, 2000, 5, 4, 3)

	got := h.lookup(nil, nackFor(65531, 0, 3, 5, 7, 9), t0)
	at := t0.UnixNano()
	want := []sentPacket{
		{unit: u1, ts: 1000, index: 1, seq: 65531, resends: 1, resentAt: at},
		{unit: u1, ts: 1000, index: 6, seq: 0, resends: 1, resentAt: at},
		{unit: u1, ts: 1000, index: 9, seq: 3, resends: 1, resentAt: at},
		{unit: u2, ts: 2000, index: 6, seq: 5, resends: 1, resentAt: at},
	}
	if len(got) != len(want) {
		t.Fatalf("lookup = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("packet %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestHistoryBoundsResends(t *testing.T) {
	h := newHistory()
	h.record(&video.Unit{}, 0, 0, 100, 1)
	at := t0
	for i := range maxResends + 3 {
		got := len(h.lookup(nil, nackFor(100), at))
		if want := min(1, max(0, maxResends-i)); got != want {
			t.Fatalf("NACK %d: %d packets to resend, want %d", i+1, got, want)
		}
		// The same NACK again at once is a repeat, not a new loss.
		if got := len(h.lookup(nil, nackFor(100), at.Add(minResendGap/2))); got != 0 {
			t.Fatalf("NACK %d repeated within %v: %d packets to resend", i+1, minResendGap, got)
		}
		at = at.Add(minResendGap)
	}
}

func TestHistoryForgetsOverwrittenPackets(t *testing.T) {
	h := newHistory()
	u := &video.Unit{}
	h.record(u, 0, 0, 0, minHistoryPackets+10)
	if got := h.lookup(nil, nackFor(5), t0); len(got) != 0 {
		t.Fatalf("packet 5 was overwritten by %d, yet lookup returned %+v", minHistoryPackets+5, got)
	}
	if got := h.lookup(nil, nackFor(minHistoryPackets+5), t0); len(got) != 1 || got[0].index != minHistoryPackets+5 {
		t.Fatalf("lookup of a recent packet = %+v", got)
	}
}

func TestHistoryHoldGrowsAndKeepsPackets(t *testing.T) {
	h := newHistory()
	u := &video.Unit{}
	h.record(u, 7, 0, 65000, 1000) // wraps past 65535
	h.hold(5000)
	if n := len(h.ring); n != 8192 {
		t.Fatalf("ring of %d after hold(5000), want 8192", n)
	}
	for _, seq := range []uint16{65000, 65535, 0, 463} {
		got := h.lookup(nil, nackFor(seq), t0)
		if len(got) != 1 || got[0].seq != seq || got[0].index != uint32(uint16(seq-65000)) {
			t.Fatalf("seq %d after growing: %+v", seq, got)
		}
	}
	// A catch-up of thousands of packets stays whole.
	h.record(u, 8, 0, 1000, 5000)
	if got := h.lookup(nil, nackFor(1000, 5999), t0); len(got) != 2 {
		t.Fatalf("catch-up packets lost: %+v", got)
	}
	h.hold(1 << 20)
	if n := len(h.ring); n != maxHistoryPackets {
		t.Fatalf("ring of %d, want the cap %d", n, maxHistoryPackets)
	}
	h.hold(10)
	if n := len(h.ring); n != maxHistoryPackets {
		t.Fatalf("ring shrank to %d", n)
	}
}
