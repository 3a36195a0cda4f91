package benchviewer

import (
	"encoding/binary"
	"hash/crc32"
	"time"

	"github.com/pion/rtp"
)

// H.264 RTP payload types (RFC 6184) and NAL unit types used here.
const (
	nalSlice = 1
	nalIDR   = 5
	nalSTAPA = 24
	nalFUA   = 28
)

// castagnoli is hashed in hardware on common CPUs, which matters when a
// few hundred viewers hash every picture.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// frame is one picture as it arrived on one path.
type frame struct {
	// key identifies the picture across paths: a checksum of its first
	// slice NAL unit, which the relay forwards unchanged (it re-packetizes
	// and re-stamps, so neither packets nor timestamps match). The
	// simulated camera burns the capture time into every picture, so no
	// two pictures share a slice. 0 when the slice did not arrive whole.
	key      uint64
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

	// The first slice NAL unit of the current picture, being checksummed.
	crc      uint32
	size     uint64
	inSlice  bool // inside its fragments
	sliceOK  bool // seen whole
	sliceBad bool // a fragment went missing
}

// packet feeds one packet in arrival order. A packet older than the last
// one (a retransmission answering a NACK) does not count towards a
// picture: its picture was already reported incomplete.
func (f *frameTracker) packet(p *rtp.Packet, at time.Time) {
	gap, first := false, !f.haveSeq
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
		f.finish(at, false)
	}
	if !f.inFrame {
		f.inFrame, f.ts = true, p.Timestamp
		// Complete only if it starts right after a picture ended, or is
		// the very first packet and begins a NAL unit: a WHEP session
		// starts on a picture.
		f.cur = frame{complete: f.prevMarker && !gap || first && beginsNALU(p.Payload)}
		f.inSlice, f.sliceOK, f.sliceBad = false, false, false
	} else if gap {
		f.cur.complete = false
		if f.inSlice {
			f.sliceBad = true
		}
	}
	f.slice(p.Payload)
	f.prevMarker = p.Marker
	if p.Marker {
		f.finish(at, f.cur.complete)
	}
}

// finish reports the current picture.
func (f *frameTracker) finish(at time.Time, complete bool) {
	f.cur.at = at
	if f.sliceOK && !f.sliceBad {
		f.cur.key = f.size<<32 | uint64(f.crc)
	}
	f.cur.complete = complete && f.cur.key != 0
	f.onFrame(f.cur)
	f.inFrame = false
}

// slice checksums the picture's first slice NAL unit from a payload.
func (f *frameTracker) slice(payload []byte) {
	if f.sliceOK || len(payload) < 2 {
		return
	}
	switch typ := payload[0] & 0x1f; typ {
	case nalSlice, nalIDR:
		f.whole(payload, typ == nalIDR)
	case nalSTAPA:
		if nal, ok := stapSlice(payload); ok {
			f.whole(nal, nal[0]&0x1f == nalIDR)
		}
	case nalFUA:
		fu := payload[1]
		t := fu & 0x1f
		if t != nalSlice && t != nalIDR {
			return
		}
		if fu&0x80 != 0 { // start
			f.crc = crc32.Update(0, castagnoli, []byte{payload[0]&0xe0 | t})
			f.size = 1
			f.inSlice, f.sliceBad = true, false
			f.cur.idr = t == nalIDR
		} else if !f.inSlice {
			return // its start was lost
		}
		f.crc = crc32.Update(f.crc, castagnoli, payload[2:])
		f.size += uint64(len(payload) - 2)
		if fu&0x40 != 0 { // end
			f.inSlice, f.sliceOK = false, true
		}
	}
}

func (f *frameTracker) whole(nal []byte, idr bool) {
	f.crc = crc32.Checksum(nal, castagnoli)
	f.size = uint64(len(nal))
	f.sliceOK, f.sliceBad, f.inSlice = true, false, false
	f.cur.idr = idr
}

// stapSlice returns the first slice NAL unit in a STAP-A payload.
func stapSlice(payload []byte) ([]byte, bool) {
	b := payload[1:]
	for len(b) >= 3 {
		n := int(binary.BigEndian.Uint16(b))
		if n == 0 || 2+n > len(b) {
			return nil, false
		}
		nal := b[2 : 2+n]
		if t := nal[0] & 0x1f; t == nalSlice || t == nalIDR {
			return nal, true
		}
		b = b[2+n:]
	}
	return nil, false
}

// beginsNALU reports whether a payload starts with the start of a NAL unit
// (anything but a continuation fragment).
func beginsNALU(payload []byte) bool {
	if len(payload) < 2 {
		return false
	}
	if payload[0]&0x1f == nalFUA {
		return payload[1]&0x80 != 0
	}
	return true
}

// startsKeyframe reports whether a payload begins a keyframe's access
// unit or its first slice: a parameter set, or the start of an IDR slice.
func startsKeyframe(payload []byte) bool {
	if len(payload) < 2 {
		return false
	}
	switch typ := payload[0] & 0x1f; typ {
	case 7, 8, nalIDR:
		return true
	case nalSTAPA:
		return len(payload) >= 4 && payload[3]&0x1f == 7
	case nalFUA:
		return payload[1]&0x80 != 0 && payload[1]&0x1f == nalIDR
	}
	return false
}
