package whep

import (
	"sync"
	"time"

	"github.com/pion/rtcp"

	"github.com/ospreygcs/osprey/video"
)

// pion's NACK responder copies every packet a session sends into a
// per-session ring (2048 × ~1.2 KB: 2.5 MB per viewer, most of the
// relay's memory, and a copy per packet). A relayed packet's payload is
// already held, immutable, by its unit and shared by every viewer, so a
// session only has to remember which unit, which payload of it, and the
// header fields it gave the packet: 32 bytes per packet.

// A session can resend its last minHistoryPackets video packets on a
// NACK (a keyframe of ~1200 packets and a few seconds of live 720p video),
// and while it sends the cached GOP to a joining viewer the history grows
// to hold all of it plus historySlack packets (room for the NACKs to
// arrive), up to maxHistoryPackets. Sizes are powers of two, so sequence
// numbers map onto the ring across their wrap.
const (
	minHistoryPackets = 2048
	maxHistoryPackets = 32768
	historySlack      = 1024
)

// A packet is sent again at most maxResends times, and not within
// minResendGap of the last time: a receiver repeats its NACK while the
// packet is missing (pion every 100 ms), and an overloaded one repeats it
// while the resend still waits in its queue. Answering every repeat would
// add load exactly when there is too much, and a viewer repeating NACKs
// could make the relay amplify traffic without end.
const (
	maxResends   = 3
	minResendGap = 250 * time.Millisecond
)

// sentPacket is what a session needs to send a packet again.
type sentPacket struct {
	unit     *video.Unit // nil: empty slot
	ts       uint32
	index    uint32 // which of the unit's RTP payloads
	seq      uint16
	resends  uint8
	resentAt int64 // UnixNano of the last resend
}

// history remembers a track's last packets. The session goroutine
// records; the RTCP goroutine looks up.
type history struct {
	mu   sync.Mutex
	ring []sentPacket // len is a power of two
}

func newHistory() *history {
	return &history{ring: make([]sentPacket, minHistoryPackets)}
}

// hold makes room for the last n packets sent (and historySlack more),
// within maxHistoryPackets.
func (h *history) hold(n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	size := len(h.ring)
	for size < n+historySlack && size < maxHistoryPackets {
		size *= 2
	}
	if size == len(h.ring) {
		return
	}
	ring := make([]sentPacket, size)
	for _, e := range h.ring {
		if e.unit != nil {
			ring[int(e.seq)%size] = e
		}
	}
	h.ring = ring
}

// record notes n packets of u, payloads first..first+n-1, sent with
// sequence numbers seq.. and timestamp ts.
func (h *history) record(u *video.Unit, ts uint32, first int, seq uint16, n int) {
	h.mu.Lock()
	for i := range n {
		s := seq + uint16(i)
		h.ring[int(s)%len(h.ring)] = sentPacket{unit: u, ts: ts, index: uint32(first + i), seq: s}
	}
	h.mu.Unlock()
}

// lookup appends to dst the packets of the NACK to send again at now: those
// still held, sent again fewer than maxResends times and not within
// minResendGap; in the order asked.
func (h *history) lookup(dst []sentPacket, nack *rtcp.TransportLayerNack, now time.Time) []sentPacket {
	t := now.UnixNano()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, pair := range nack.Nacks {
		// The packet ID, then one bit for each of the next 16.
		for i := range 17 {
			if i > 0 && pair.LostPackets&(1<<(i-1)) == 0 {
				continue
			}
			seq := pair.PacketID + uint16(i)
			e := &h.ring[int(seq)%len(h.ring)]
			if e.unit != nil && e.seq == seq && e.resends < maxResends && (e.resends == 0 || t-e.resentAt >= int64(minResendGap)) {
				e.resends++
				e.resentAt = t
				dst = append(dst, *e)
			}
		}
	}
	return dst
}
