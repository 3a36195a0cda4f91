package whep

import (
	"testing"
	"time"
)

func TestPacerDelay(t *testing.T) {
	t0 := time.Unix(1000, 0)
	p := newPacer(1000, 500) // 1000 bytes/s, bursts of 500
	steps := []struct {
		at   time.Duration
		n    int
		want time.Duration
	}{
		{0, 300, 0},                      // within the burst
		{0, 200, 0},                      // the bucket is empty now
		{0, 100, 100 * time.Millisecond}, // 100 bytes short
		{100 * time.Millisecond, 0, 0},   // refilled what was owed
		{1 * time.Second, 500, 0},        // refilled to the depth, not beyond
		{1 * time.Second, 250, 250 * time.Millisecond},
		{5 * time.Second, 1500, time.Second}, // one big write: waits for what the bucket lacks
	}
	for i, s := range steps {
		if got := p.delay(t0.Add(s.at), s.n); got != s.want {
			t.Fatalf("step %d: delay(%v, %d) = %v, want %v", i, s.at, s.n, got, s.want)
		}
	}
}

func TestLiveRateSharesTheBudget(t *testing.T) {
	if got := liveRate(0); got != liveMaxBytesPerS {
		t.Fatalf("liveRate(0) = %v", got)
	}
	if got := liveRate(1); got != liveMaxBytesPerS {
		t.Fatalf("one session gets %v, want the cap %v", got, liveMaxBytesPerS)
	}
	const n = 40
	if want := float64(liveBudgetBytesPerS) / n; want <= liveMinBytesPerS || want >= liveMaxBytesPerS {
		t.Fatalf("test assumes %d sessions share the budget within the bounds", n)
	}
	if got, want := liveRate(n), float64(liveBudgetBytesPerS)/n; got != want {
		t.Fatalf("%d sessions get %v each, want a share of the budget %v", n, got, want)
	}
	if got := liveRate(100000); got != liveMinBytesPerS {
		t.Fatalf("many sessions get %v, want the floor %v", got, liveMinBytesPerS)
	}
}

func TestLaneGivesALoneJoinerFullSpeed(t *testing.T) {
	t0 := time.Unix(1000, 0)
	l := &lane{}
	start, rate := l.book(t0, 1<<20, 1)
	if start != t0 || rate != laneMaxBytesPerS {
		t.Fatalf("a lone joiner starts at %v at %v B/s, want at once at %v", start.Sub(t0), rate, laneMaxBytesPerS)
	}
	// Its next picture, booked as it finished the first.
	start, rate = l.book(t0.Add(bytesDuration(1<<20, rate)), 1000, 1)
	if rate != laneMaxBytesPerS || start != t0.Add(bytesDuration(1<<20, laneMaxBytesPerS)) {
		t.Fatalf("next picture at %v at %v B/s", start.Sub(t0), rate)
	}
}

func TestLaneSharesTheBudgetAmongJoiners(t *testing.T) {
	t0 := time.Unix(1000, 0)
	for _, tc := range []struct {
		joining int
		want    float64
	}{
		{2, laneMaxBytesPerS},
		{egressBudgetBytesPerS / (laneMaxBytesPerS / 2), laneMaxBytesPerS / 2},
		{1000, laneMinBytesPerS},
	} {
		if _, rate := (&lane{}).book(t0, 1000, tc.joining); rate != tc.want {
			t.Errorf("%d joining: %v B/s each, want %v", tc.joining, rate, tc.want)
		}
	}
}

func TestLaneQueuesJoinersBeyondItsSlots(t *testing.T) {
	t0 := time.Unix(1000, 0)
	l := &lane{}
	second := int(laneMinBytesPerS) // a second at the floor rate
	for i := range maxLaneSlots {
		start, rate := l.book(t0.Add(time.Duration(i)*time.Millisecond), second, 1000)
		if start != t0.Add(time.Duration(i)*time.Millisecond) || rate != laneMinBytesPerS {
			t.Fatalf("booking %d: starts after %v at %v B/s, want at once at the floor", i, start.Sub(t0), rate)
		}
	}
	// Every slot is busy: the next joiner waits for the first to free up.
	start, rate := l.book(t0.Add(100*time.Millisecond), 1000, 1000)
	if start != t0.Add(time.Second) || rate != laneMinBytesPerS {
		t.Fatalf("booking beyond the slots starts after %v at %v B/s, want after 1s", start.Sub(t0), rate)
	}
}

func TestLaneLeavesRoomForLiveTraffic(t *testing.T) {
	t0 := time.Unix(1000, 0)
	l := &lane{}
	l.book(t0, 1, 1) // starts the live rate measurement
	// Live traffic takes all but one slot's worth of the egress budget.
	l.live.Add(uint64((egressBudgetBytesPerS - laneMinBytesPerS) / 4))
	at := t0.Add(liveRateWindow)
	start, rate := l.book(at, int(laneMinBytesPerS), 5)
	if start != at || rate != laneMinBytesPerS {
		t.Fatalf("first joiner beside heavy live traffic: after %v at %v B/s", start.Sub(at), rate)
	}
	start, _ = l.book(at, 1000, 5)
	if start != at.Add(time.Second) {
		t.Fatalf("second joiner starts after %v, want after the first (1 s): one slot left", start.Sub(at))
	}
}

func TestBytesDuration(t *testing.T) {
	if d := bytesDuration(2500, 1000); d != 2500*time.Millisecond {
		t.Fatalf("bytesDuration(2500, 1000) = %v", d)
	}
}

func TestBudgetSkipsRatherThanWaits(t *testing.T) {
	t0 := time.Unix(1000, 0)
	b := budget{p: newPacer(1000, 500)}
	steps := []struct {
		at   time.Duration
		n    int
		want bool
	}{
		{0, 400, true},
		{0, 200, false}, // only 100 left, and a refusal takes nothing
		{0, 100, true},
		{100 * time.Millisecond, 100, true},
		{100 * time.Millisecond, 1, false},
		{time.Hour, 500, true}, // refilled to the depth
		{time.Hour, 1, false},
	}
	for i, s := range steps {
		if got := b.take(t0.Add(s.at), s.n); got != s.want {
			t.Fatalf("step %d: take(%v, %d) = %v, want %v", i, s.at, s.n, got, s.want)
		}
	}
}

func TestHandshakesSignalNoneLeft(t *testing.T) {
	h := newHandshakes()
	isDone := func() bool {
		select {
		case <-h.done():
			return true
		default:
			return false
		}
	}
	if !isDone() {
		t.Fatal("not done with no handshake begun")
	}
	h.begin()
	h.begin()
	waiting := h.done()
	h.end()
	if isDone() || h.count() != 1 {
		t.Fatalf("done with one handshake left (count %d)", h.count())
	}
	h.end()
	select {
	case <-waiting:
	default:
		t.Fatal("a waiter from before was not told that none is left")
	}
	h.begin()
	if isDone() {
		t.Fatal("done again while a new handshake runs")
	}
}
