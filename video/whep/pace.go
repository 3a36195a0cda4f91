package whep

import (
	"sync"
	"sync/atomic"
	"time"
)

// Pacing. A picture is sent as a burst of packets, and a burst larger
// than the viewer can take in overflows its socket buffer (about 900
// packets in the 2 MB a 1 MB SO_RCVBUF gives on loopback; a router queue
// on a real path). A lost packet is NACKed only while the receiver still
// tracks it (pion: the last 512 packets; libwebrtc: 1000), so a loss deep
// in a long burst is never repaired and the viewer waits for the next
// keyframe. Two mechanisms keep bursts within what viewers can take:
//
//   - Live units go through each session's token bucket: a P picture (tens
//     of KB) leaves at once, a keyframe is spread over time. A keyframe
//     goes to every viewer at the same moment, so the rate is each
//     streaming session's share of liveBudgetBytesPerS, between
//     liveMinBytesPerS and liveMaxBytesPerS: one viewer gets its keyframe
//     in tens of milliseconds, a hundred get theirs over a few hundred
//     without the fan-out overflowing queues on the way. The values come
//     from `osprey bench video`: halving the budget and the floor (200
//     and 3 MB/s) doubled the relay-hop p99 at 50 and 100 viewers (the
//     keyframe is slower to everyone, and the pictures after it queue
//     behind), doubling them (800 and 8) tripled the loss.
//   - Cached units (the GOP a joining viewer catches up on, megabytes) go
//     through a server-wide lane. A viewer joining alone gets its catch-up
//     at laneMaxBytesPerS, its keyframe in tens of milliseconds. Viewers
//     joining together (counting those still negotiating, whose
//     handshakes load both ends) share what live traffic (measured) leaves
//     of egressBudgetBytesPerS, about a gigabit, each at no less than
//     laneMinBytesPerS: a
//     receiver busy with other joins drains its socket slowly, and a burst
//     it cannot take loses packets deep in the keyframe, where NACKs no
//     longer reach. Beyond that many at once, joiners queue first come
//     first served. Each cached picture is booked on its own, a joiner's
//     keyframe on joining, so new joiners' keyframes go ahead of earlier
//     joiners' remaining P pictures.
//   - Handshakes go first: while another viewer is negotiating (ICE and
//     DTLS), a session holds the P pictures of its catch-up back, for at
//     most catchUpYieldMax after joining; its keyframe goes at once. In a
//     herd of joiners the later handshakes otherwise compete with the
//     earlier joiners' catch-up, megabytes each: for the relay's uplink on
//     a real network, for the viewers' CPU in the bench. Measured with
//     `osprey bench video --viewers 50,100,200 --window 3s`, runs
//     alternating with and without, first frame p50: 120–140 ms against
//     229–376 (50 viewers), 157–187 against 431–882 (100) in five runs
//     at a quiet time; 113–180 against 160–453 (50), 158–357 against
//     360–682 (100) in four at a noisy one. At 200 viewers the runs
//     overlap (249–696 against 292–613), and caught up moved within the
//     noise (2.6–3.6 s against 2.5–4.2 at the quiet time). Holding 500
//     ms did no better at 100 and made caught up at 200 3.4–9.6 s: the
//     held catch-up runs once more viewers are live, and live traffic
//     leaves the lane less of its budget.
const catchUpYieldMax = 250 * time.Millisecond

// handshakes counts the sessions between offer and connection, and tells
// the sessions holding catch-up back when there are none left.
type handshakes struct {
	mu   sync.Mutex
	n    int
	none chan struct{} // closed while n is zero
}

func newHandshakes() *handshakes {
	h := &handshakes{none: make(chan struct{})}
	close(h.none)
	return h
}

func (h *handshakes) begin() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == 0 {
		h.none = make(chan struct{})
	}
	h.n++
}

func (h *handshakes) end() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n--
	if h.n == 0 {
		close(h.none)
	}
}

func (h *handshakes) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// done returns a channel closed once no session is negotiating.
func (h *handshakes) done() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.none
}

const (
	liveBudgetBytesPerS = 400 << 20
	liveMinBytesPerS    = 4 << 20
	liveMaxBytesPerS    = 400 << 20
	liveBurstBytes      = 128 << 10
	// liveBurstTime deepens the bucket of a fast session to what its rate
	// sends in that time: a viewer alone gets a whole keyframe at once,
	// as an unpaced relay would send it, instead of in dozens of timer
	// waits that add milliseconds to its relay hop.
	liveBurstTime = 4 * time.Millisecond

	egressBudgetBytesPerS = 128 << 20
	laneMinBytesPerS      = 8 << 20
	laneMaxBytesPerS      = 32 << 20
	maxLaneSlots          = egressBudgetBytesPerS / laneMinBytesPerS
	liveRateWindow        = 250 * time.Millisecond
)

// A session sends NACKed packets again at up to resendBytesPerS, in
// bursts of at most resendBurstBytes, and all sessions together at up to
// resendBudgetBytesPerS with bursts of resendBudgetBurstBytes (a lost
// keyframe repaired at once). A resend skipped is a picture lost until
// the next keyframe, so the shared budget is generous (a third of a
// gigabit): at 16 MB/s the bench skipped one NACKed packet in seven at 50
// viewers.
const (
	resendBytesPerS        = 8 << 20
	resendBurstBytes       = 64 << 10
	resendBudgetBytesPerS  = 48 << 20
	resendBudgetBurstBytes = 4 << 20
)

// batchPackets is how many packets a session writes between pacing
// decisions: one segmented send of the socket writer.
const batchPackets = 32

// pacer is a session's token bucket in bytes. Owned by the session
// goroutine.
type pacer struct {
	rate   float64 // bytes per second
	burst  float64 // bucket depth in bytes
	tokens float64
	last   time.Time
}

func newPacer(rate, burst float64) pacer { return pacer{rate: rate, burst: burst, tokens: burst} }

// liveRate is a session's live rate while sessions are streaming.
func liveRate(sessions int) float64 {
	return min(liveMaxBytesPerS, max(liveMinBytesPerS, liveBudgetBytesPerS/float64(max(sessions, 1))))
}

// liveBurst is the bucket depth of a session sending live units at rate.
func liveBurst(rate float64) float64 {
	return max(liveBurstBytes, rate*liveBurstTime.Seconds())
}

// delay takes n bytes from the bucket at now and returns how long to wait
// before sending them: zero while the bucket holds enough, otherwise the
// time to refill what is missing.
func (p *pacer) delay(now time.Time, n int) time.Duration {
	if !p.last.IsZero() {
		p.tokens = min(p.burst, p.tokens+now.Sub(p.last).Seconds()*p.rate)
	}
	p.last = now
	p.tokens -= float64(n)
	if p.tokens >= 0 {
		return 0
	}
	return time.Duration(-p.tokens / p.rate * float64(time.Second))
}

// budget is a token bucket shared by goroutines that skip rather than
// wait.
type budget struct {
	mu sync.Mutex
	p  pacer
}

// take takes n bytes if the bucket holds them at now.
func (b *budget) take(now time.Time, n int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.p.delay(now, n) > 0 {
		b.p.tokens += float64(n) // not taken
		return false
	}
	return true
}

// lane is the server-wide schedule of catch-up bytes: slots, each sending
// one booking at a time.
type lane struct {
	live atomic.Uint64 // live bytes sent by every session

	mu          sync.Mutex
	free        [maxLaneSlots]time.Time // when each slot is free
	sampled     time.Time               // when live was last read
	sampledLive uint64
	liveRate    float64 // bytes per second, measured
}

// book reserves a slot for n bytes of one of joining viewers' catch-up
// (this viewer's included) and returns when they start and the rate to
// send them at.
func (l *lane) book(now time.Time, n, joining int) (time.Time, float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.sampled) >= liveRateWindow {
		live := l.live.Load()
		if !l.sampled.IsZero() {
			l.liveRate = float64(live-l.sampledLive) / now.Sub(l.sampled).Seconds()
		}
		l.sampled, l.sampledLive = now, live
	}
	avail := max(laneMinBytesPerS, egressBudgetBytesPerS-l.liveRate)
	slots := min(maxLaneSlots, int(avail/laneMinBytesPerS))
	slot := 0
	for i := range slots {
		if l.free[i].Before(l.free[slot]) {
			slot = i
		}
	}
	start, rate := l.free[slot], float64(laneMinBytesPerS)
	if !start.After(now) {
		start = now
		rate = min(laneMaxBytesPerS, max(laneMinBytesPerS, avail/float64(max(joining, 1))))
	}
	l.free[slot] = start.Add(bytesDuration(n, rate))
	return start, rate
}

// bytesDuration is how long n bytes take at rate bytes per second.
func bytesDuration(n int, rate float64) time.Duration {
	return time.Duration(float64(n) / rate * float64(time.Second))
}
