package sitl

// Lossless Intra_16x16 coding for IDR pictures.
//
// A real camera's keyframe is a few times its P frames, not a megabyte: an
// all-I_PCM IDR (384 bytes per macroblock, 1.4 MB at 1280x720) would make
// every new viewer of a simulated camera cost what forty real ones do, and
// benchmarks of a relay's join path would measure the simulator. Most of the
// camera's picture is flat or constant along rows, which Intra_16x16
// prediction (ITU-T H.264 §8.3.3, chroma §8.3.4) reproduces exactly from the
// neighbouring macroblocks. Such a macroblock is coded as Intra_16x16 with no
// residual: mb_type, intra_chroma_pred_mode, mb_qp_delta and an empty luma
// DC block, about ten bits. Every other macroblock stays I_PCM. Because a
// macroblock is predicted only when the prediction equals the source sample
// for sample, the decoded picture is still byte-identical to the input, and
// P_Skip can keep copying the decoder's reference.

// Intra_16x16 luma prediction modes (Table 8-4) and chroma modes (Table 8-5).
const (
	h264I16Vertical   = 0
	h264I16Horizontal = 1
	h264I16DC         = 2

	h264ChromaDC         = 0
	h264ChromaHorizontal = 1
	h264ChromaVertical   = 2

	// h264PCMTotalCoeff is what an I_PCM neighbour counts as when choosing
	// a CAVLC table (§9.2.1): all 16 coefficients.
	h264PCMTotalCoeff = 16
)

// h264Neighbours holds the reconstructed samples of the macroblocks left of
// and above the one being coded, in I_PCM order, or nil where there is none.
type h264Neighbours struct {
	left, top []byte
}

// h264PredictIntra16 returns the luma and chroma prediction modes that
// reproduce mb (I_PCM order: 256 luma, 64 Cb, 64 Cr) exactly, and whether
// both exist.
func h264PredictIntra16(mb []byte, nb h264Neighbours) (luma, chroma int, ok bool) {
	luma, ok = h264LumaMode(mb[:256], nb)
	if !ok {
		return 0, 0, false
	}
	chroma, ok = h264ChromaMode(mb, nb)
	return luma, chroma, ok
}

func h264LumaMode(y []byte, nb h264Neighbours) (int, bool) {
	if nb.top != nil && h264RowsRepeat(y, nb.top[15*16:16*16], 16) {
		return h264I16Vertical, true
	}
	if nb.left != nil && h264ColumnsRepeat(y, nb.left[:256], 16) {
		return h264I16Horizontal, true
	}
	// DC (§8.3.3.3): the rounded mean of whichever edges are available.
	sum, n := 0, 0
	if nb.top != nil {
		for _, v := range nb.top[15*16 : 16*16] {
			sum += int(v)
		}
		n += 16
	}
	if nb.left != nil {
		for r := range 16 {
			sum += int(nb.left[r*16+15])
		}
		n += 16
	}
	dc := byte(128)
	if n > 0 {
		dc = byte((sum + n/2) / n)
	}
	if h264AllEqual(y, dc) {
		return h264I16DC, true
	}
	return 0, false
}

// h264ChromaMode finds one mode that reproduces both chroma blocks.
func h264ChromaMode(mb []byte, nb h264Neighbours) (int, bool) {
	cb, cr := mb[256:320], mb[320:384]
	plane := func(m []byte, off int) []byte {
		if m == nil {
			return nil
		}
		return m[off : off+64]
	}
	for _, mode := range [...]int{h264ChromaDC, h264ChromaHorizontal, h264ChromaVertical} {
		if h264ChromaPredicts(cb, plane(nb.left, 256), plane(nb.top, 256), mode) &&
			h264ChromaPredicts(cr, plane(nb.left, 320), plane(nb.top, 320), mode) {
			return mode, true
		}
	}
	return 0, false
}

// h264ChromaPredicts reports whether an 8x8 chroma block equals its
// prediction in mode from the left and top 8x8 blocks (nil: unavailable).
func h264ChromaPredicts(c, left, top []byte, mode int) bool {
	switch mode {
	case h264ChromaVertical:
		return top != nil && h264RowsRepeat(c, top[56:64], 8)
	case h264ChromaHorizontal:
		return left != nil && h264ColumnsRepeat(c, left, 8)
	}
	// DC is predicted per 4x4 block (§8.3.4.1-3), and which edge a block
	// prefers depends on where it sits: the top-right block leans on the
	// row above, the bottom-left one on the column to the left.
	for by := 0; by < 8; by += 4 {
		for bx := 0; bx < 8; bx += 4 {
			topSum, leftSum := 0, 0
			if top != nil {
				for x := bx; x < bx+4; x++ {
					topSum += int(top[56+x])
				}
			}
			if left != nil {
				for y := by; y < by+4; y++ {
					leftSum += int(left[y*8+7])
				}
			}
			useTop, useLeft := top != nil, left != nil
			switch {
			case bx > 0 && by == 0 && useTop:
				useLeft = false
			case bx == 0 && by > 0 && useLeft:
				useTop = false
			}
			dc := 128
			switch {
			case useTop && useLeft:
				dc = (topSum + leftSum + 4) >> 3
			case useTop:
				dc = (topSum + 2) >> 2
			case useLeft:
				dc = (leftSum + 2) >> 2
			}
			for y := by; y < by+4; y++ {
				for x := bx; x < bx+4; x++ {
					if int(c[y*8+x]) != dc {
						return false
					}
				}
			}
		}
	}
	return true
}

// h264RowsRepeat reports whether every row of the n-wide block b equals row.
func h264RowsRepeat(b, row []byte, n int) bool {
	for off := 0; off < len(b); off += n {
		for x := range n {
			if b[off+x] != row[x] {
				return false
			}
		}
	}
	return true
}

// h264ColumnsRepeat reports whether every row of the n-wide block b is the
// last sample of the same row of the n-wide block left.
func h264ColumnsRepeat(b, left []byte, n int) bool {
	for off := 0; off < len(b); off += n {
		v := left[off+n-1]
		for x := range n {
			if b[off+x] != v {
				return false
			}
		}
	}
	return true
}

func h264AllEqual(b []byte, v byte) bool {
	for _, s := range b {
		if s != v {
			return false
		}
	}
	return true
}

// writeIntra16 codes a macroblock as Intra_16x16 with coded_block_pattern
// 0: mb_type I_16x16_<luma>_0_0 (Table 7-11), the chroma mode, a zero
// mb_qp_delta and the luma DC block with no coefficients. nC picks the
// coeff_token table (§9.2.1), and the token for TotalCoeff 0 is the first
// row of Table 9-5.
func (w *h264BitWriter) writeIntra16(luma, chroma, nC int, mbTypeOffset uint32) {
	w.ue(mbTypeOffset + 1 + uint32(luma))
	w.ue(uint32(chroma))
	w.se(0)
	switch {
	case nC < 2:
		w.u(1, 0b1)
	case nC < 4:
		w.u(2, 0b11)
	case nC < 8:
		w.u(4, 0b1111)
	default:
		w.u(6, 0b000011)
	}
}

// h264CoeffTableIndex returns nC for a macroblock's luma DC block from the
// total coefficient counts of its left and top neighbours (-1: none).
func h264CoeffTableIndex(nA, nB int) int {
	switch {
	case nA >= 0 && nB >= 0:
		return (nA + nB + 1) >> 1
	case nA >= 0:
		return nA
	case nB >= 0:
		return nB
	}
	return 0
}
