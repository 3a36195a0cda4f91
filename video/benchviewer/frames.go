package benchviewer

import (
	"encoding/binary"
	"hash/fnv"
	"time"

	"github.com/pion/rtp"
)

// keyBytes is how much of a picture's first slice NAL unit identifies it.
// The relay forwards NAL units unchanged but re-packetizes them, so the
// key is taken from the NAL unit, not from a packet: its header, the slice
// header (frame_num) and the first coded macroblock, which in the
// simulated camera's pictures holds the burned-in time stamp.
const keyBytes = 128

// H.264 RTP payload types (RFC 6184) and NAL unit types used here.
const (
	nalSlice = 1
	nalIDR   = 5
	nalSTAPA = 24
	nalFUA   = 28
)

// frame is one picture as it arrived on one path.
type frame struct {
	key      uint64 // identifies the picture across paths; 0 if unknown
	idr      bool
	complete bool      // every packet from its first to its marker arrived, in order
	at       time.Time // arrival of its last packet
}

// frameTracker groups an H.264 RTP stream into pictures: a picture is the
// packets sharing a timestamp, ended by the marker bit.
type frameTracker struct {
	onFrame func(frame)

	inFrame    bool
	ts         uint32
	cur        frame
	haveSeq    bool
	lastSeq    uint16
	prevMarker bool
}

// packet feeds one packet in arrival order. A packet older than the last
// one (a retransmission answering a NACK) does not count towards a
// picture: its picture was already reported incomplete.
func (f *frameTracker) packet(p *rtp.Packet, at time.Time) {
	gap := false
	if f.haveSeq {
		d := p.SequenceNumber - f.lastSeq
		if d == 0 || d > 0x8000 {
			return // duplicate or late
		}
		gap = d != 1
	}
	f.haveSeq, f.lastSeq = true, p.SequenceNumber

	if f.inFrame && p.Timestamp != f.ts {
		// The marker packet of the previous picture never came.
		f.cur.complete = false
		f.cur.at = at
		f.onFrame(f.cur)
		f.inFrame = false
	}
	if !f.inFrame {
		f.inFrame, f.ts = true, p.Timestamp
		// Complete only if it starts right after a picture ended.
		f.cur = frame{complete: f.prevMarker && !gap}
	} else if gap {
		f.cur.complete = false
	}
	if f.cur.key == 0 {
		if key, idr, ok := pictureKey(p.Payload); ok {
			f.cur.key, f.cur.idr = key, idr
		}
	}
	f.prevMarker = p.Marker
	if p.Marker {
		f.cur.at = at
		f.cur.complete = f.cur.complete && f.cur.key != 0
		f.onFrame(f.cur)
		f.inFrame = false
	}
}

// pictureKey finds the start of a slice NAL unit in an RTP payload and
// returns a hash of its first keyBytes bytes.
func pictureKey(payload []byte) (key uint64, idr, ok bool) {
	if len(payload) < 2 {
		return 0, false, false
	}
	switch typ := payload[0] & 0x1f; typ {
	case nalSlice, nalIDR:
		return hashNALU(payload[0], payload[1:]), typ == nalIDR, true
	case nalSTAPA:
		b := payload[1:]
		for len(b) >= 3 {
			n := int(binary.BigEndian.Uint16(b))
			if n == 0 || 2+n > len(b) {
				return 0, false, false
			}
			nal := b[2 : 2+n]
			if t := nal[0] & 0x1f; t == nalSlice || t == nalIDR {
				return hashNALU(nal[0], nal[1:]), t == nalIDR, true
			}
			b = b[2+n:]
		}
	case nalFUA:
		fu := payload[1]
		t := fu & 0x1f
		if fu&0x80 != 0 && (t == nalSlice || t == nalIDR) {
			return hashNALU(payload[0]&0xe0|t, payload[2:]), t == nalIDR, true
		}
	}
	return 0, false, false
}

func hashNALU(header byte, body []byte) uint64 {
	h := fnv.New64a()
	h.Write([]byte{header})
	h.Write(body[:min(len(body), keyBytes-1)])
	k := h.Sum64()
	if k == 0 {
		k = 1 // 0 means unknown
	}
	return k
}
