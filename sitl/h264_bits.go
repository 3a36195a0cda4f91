package sitl

import (
	"bytes"
	"math/bits"
)

// h264BitWriter builds an H.264 RBSP (raw byte sequence payload) most
// significant bit first, as the syntax tables in ITU-T H.264 §7.3 read.
// It knows nothing of emulation prevention: h264EscapeRBSP applies that to
// the finished payload, so the two can be tested apart.
type h264BitWriter struct {
	buf   []byte
	acc   uint64 // pending bits, right-aligned
	nbits uint   // number of pending bits in acc, always < 8 between calls
}

// reset empties the writer and keeps its buffer for reuse.
func (w *h264BitWriter) reset() {
	w.buf = w.buf[:0]
	w.acc = 0
	w.nbits = 0
}

// u writes the n low bits of v (the spec's u(n)); n is at most 56.
func (w *h264BitWriter) u(n uint, v uint64) {
	if n == 0 {
		return
	}
	w.acc = w.acc<<n | (v & (1<<n - 1))
	w.nbits += n
	for w.nbits >= 8 {
		w.nbits -= 8
		w.buf = append(w.buf, byte(w.acc>>w.nbits))
	}
	w.acc &= 1<<w.nbits - 1
}

// flag writes one bit.
func (w *h264BitWriter) flag(b bool) {
	if b {
		w.u(1, 1)
	} else {
		w.u(1, 0)
	}
}

// ue writes v as an unsigned Exp-Golomb code (§9.1): the binary form of v+1
// preceded by one zero fewer than its length.
func (w *h264BitWriter) ue(v uint32) {
	x := uint64(v) + 1
	n := uint(bits.Len64(x))
	w.u(n-1, 0)
	w.u(n, x)
}

// se writes v as a signed Exp-Golomb code (§9.1.1): positive values map to
// odd code numbers, zero and negative values to even ones.
func (w *h264BitWriter) se(v int32) {
	if v > 0 {
		w.ue(uint32(2*int64(v) - 1))
	} else {
		w.ue(uint32(-2 * int64(v)))
	}
}

// aligned reports whether the next bit starts a byte.
func (w *h264BitWriter) aligned() bool {
	return w.nbits == 0
}

// alignZero writes zero bits up to the next byte boundary, as
// pcm_alignment_zero_bit does before I_PCM samples.
func (w *h264BitWriter) alignZero() {
	if w.nbits != 0 {
		w.u(8-w.nbits, 0)
	}
}

// bytes appends whole bytes; the writer must be byte aligned.
func (w *h264BitWriter) bytes(p []byte) {
	if w.nbits != 0 {
		for _, b := range p {
			w.u(8, uint64(b))
		}
		return
	}
	w.buf = append(w.buf, p...)
}

// trailing writes rbsp_trailing_bits: a one bit, then zeros to the byte boundary.
func (w *h264BitWriter) trailing() {
	w.u(1, 1)
	w.alignZero()
}

// h264EscapeRBSP appends rbsp to dst with emulation prevention (§7.4.1):
// wherever two zero bytes would be followed by a byte <= 3, an 0x03 byte is
// inserted, so no start code (00 00 01) can appear inside a NAL unit. A
// payload ending in a zero byte also gets a final 0x03. Raw I_PCM samples
// and the SPS timing fields (num_units_in_tick = 1 is 00 00 00 01) both need it.
func h264EscapeRBSP(dst, rbsp []byte) []byte {
	zeroPair := []byte{0, 0}
	i := 0
	for i < len(rbsp) {
		j := bytes.Index(rbsp[i:], zeroPair)
		if j < 0 {
			dst = append(dst, rbsp[i:]...)
			break
		}
		end := i + j + 2
		dst = append(dst, rbsp[i:end]...)
		if end < len(rbsp) && rbsp[end] <= 3 {
			dst = append(dst, 3)
		}
		// Scanning resumes at end: the two zeros are consumed, and a zero at
		// end starts a fresh count whether or not a 0x03 went in before it.
		i = end
	}
	if len(rbsp) > 0 && rbsp[len(rbsp)-1] == 0 {
		dst = append(dst, 3)
	}
	return dst
}

// h264EscapedLen returns the length h264EscapeRBSP will produce, so an
// output buffer can be allocated exactly once.
func h264EscapedLen(rbsp []byte) int {
	n := len(rbsp)
	zeroPair := []byte{0, 0}
	i := 0
	for i < len(rbsp) {
		j := bytes.Index(rbsp[i:], zeroPair)
		if j < 0 {
			break
		}
		end := i + j + 2
		if end < len(rbsp) && rbsp[end] <= 3 {
			n++
		}
		i = end
	}
	if len(rbsp) > 0 && rbsp[len(rbsp)-1] == 0 {
		n++
	}
	return n
}
