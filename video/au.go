package video

import (
	"bytes"
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
)

// Limits on what a publisher may write. They bound the memory one broken
// or hostile source can make the hub hold per unit.
const (
	// MaxAccessUnitBytes bounds a video access unit. An all-I_PCM 1080p
	// picture is ~3.1 MB; real encoders stay far below.
	MaxAccessUnitBytes = 8 << 20
	// MaxNALUsPerAccessUnit bounds the NAL units of one access unit
	// (slice-per-row encoders use ~50).
	MaxNALUsPerAccessUnit = 128
	// maxParamSetBytes bounds a VPS, SPS or PPS; real ones are tens of
	// bytes.
	maxParamSetBytes = 4096
	// maxAudioBytes bounds an audio packet (an Opus packet is at most
	// 1275 bytes per frame, 120 ms at most; G.711 at 48 kHz for 100 ms is
	// 4800 bytes).
	maxAudioBytes = 16384
)

// paramSets are the current parameter sets of a stream's video, with the
// picture size of the SPS.
type paramSets struct {
	vps, sps, pps []byte
	width, height int
}

// update stores nalu if it is a parameter set that parses, and reports
// whether it was one (valid or not) and whether it was valid.
func (p *paramSets) update(codec Codec, nalu []byte) (isParam, valid bool) {
	if len(nalu) == 0 {
		return false, false
	}
	switch codec {
	case CodecH264:
		switch h264.NALUType(nalu[0] & 0x1f) {
		case h264.NALUTypeSPS:
			var sps h264.SPS
			if len(nalu) > maxParamSetBytes || sps.Unmarshal(nalu) != nil {
				return true, false
			}
			return true, p.keepSPS(nalu, sps.Width(), sps.Height())
		case h264.NALUTypePPS:
			return true, keepParamSet(&p.pps, nalu, 2)
		}
	case CodecH265:
		if len(nalu) < 2 {
			return false, false
		}
		switch h265.NALUType((nalu[0] >> 1) & 0x3f) {
		case h265.NALUType_VPS_NUT:
			return true, keepParamSet(&p.vps, nalu, 3)
		case h265.NALUType_SPS_NUT:
			var sps h265.SPS
			if len(nalu) > maxParamSetBytes || sps.Unmarshal(nalu) != nil {
				return true, false
			}
			return true, p.keepSPS(nalu, sps.Width(), sps.Height())
		case h265.NALUType_PPS_NUT:
			return true, keepParamSet(&p.pps, nalu, 3)
		}
	}
	return false, false
}

// keepSPS stores a parsed SPS and its picture size, unless the size is not
// a picture's.
func (p *paramSets) keepSPS(nalu []byte, width, height int) bool {
	if width <= 0 || height <= 0 {
		return false
	}
	keepParamSet(&p.sps, nalu, 0)
	p.width, p.height = width, height
	return true
}

// keepParamSet stores a parameter set of a plausible size in *dst, copying
// it only when it changed (most arrive again before every keyframe).
func keepParamSet(dst *[]byte, nalu []byte, minBytes int) bool {
	if len(nalu) < minBytes || len(nalu) > maxParamSetBytes {
		return false
	}
	if !bytes.Equal(*dst, nalu) {
		*dst = bytes.Clone(nalu)
	}
	return true
}

// complete reports whether the parameter sets needed to decode an IDR are
// known.
func (p *paramSets) complete(codec Codec) bool {
	if codec == CodecH265 && p.vps == nil {
		return false
	}
	return p.sps != nil && p.pps != nil
}

// prefix returns the parameter sets to put before an IDR.
func (p *paramSets) prefix(codec Codec) [][]byte {
	if codec == CodecH265 {
		return [][]byte{p.vps, p.sps, p.pps}
	}
	return [][]byte{p.sps, p.pps}
}

// sanitizeAU checks one access unit and returns the NAL units to publish:
// malformed NAL units (empty, forbidden bit set, a type that must not
// appear in an access unit, a parameter set that does not parse) are
// dropped and counted in dropped; access unit delimiters are removed; an
// IDR gets the current parameter sets in front when it does not carry
// them. nalus is nil with a nil error for a unit of parameter sets only,
// which updates params and shows nothing. err wraps ErrBadUnit when the
// whole unit is unusable. sanitizeAU never modifies au's bytes.
func sanitizeAU(codec Codec, au [][]byte, params *paramSets) (nalus [][]byte, idr bool, dropped int, err error) {
	if len(au) == 0 {
		return nil, false, 0, fmt.Errorf("%w: empty access unit", ErrBadUnit)
	}
	if len(au) > MaxNALUsPerAccessUnit {
		return nil, false, len(au), fmt.Errorf("%w: %d NAL units, limit %d", ErrBadUnit, len(au), MaxNALUsPerAccessUnit)
	}
	size := 0
	for _, nalu := range au {
		size += len(nalu)
	}
	if size > MaxAccessUnitBytes {
		return nil, false, len(au), fmt.Errorf("%w: %d bytes, limit %d", ErrBadUnit, size, MaxAccessUnitBytes)
	}

	out := make([][]byte, 0, len(au)+3)
	hasParams := false // the unit carries its own SPS (and PPS)
	slices := 0
	for _, nalu := range au {
		kind, ok := classifyNALU(codec, nalu)
		if !ok {
			dropped++
			continue
		}
		switch kind {
		case naluDelimiter:
			continue
		case naluParam:
			isParam, valid := params.update(codec, nalu)
			if isParam && !valid {
				dropped++
				continue
			}
			hasParams = true
		case naluIDR:
			idr = true
			slices++
		case naluSlice:
			slices++
		}
		out = append(out, nalu)
	}
	if slices == 0 {
		if hasParams {
			return nil, false, dropped, nil
		}
		if len(out) == 0 {
			return nil, false, dropped, fmt.Errorf("%w: no valid NAL unit", ErrBadUnit)
		}
		return nil, false, dropped, fmt.Errorf("%w: no picture", ErrBadUnit)
	}
	if idr {
		if !params.complete(codec) {
			return nil, false, dropped, fmt.Errorf("%w: keyframe without parameter sets", ErrBadUnit)
		}
		if !hasParams || !startsWithParams(codec, out) {
			// Put the current parameter sets first, and drop any others
			// in the unit: they were just stored and are now current.
			rest := out[:0:0]
			for _, nalu := range out {
				if k, _ := classifyNALU(codec, nalu); k != naluParam {
					rest = append(rest, nalu)
				}
			}
			out = append(params.prefix(codec), rest...)
		}
	}
	return out, idr, dropped, nil
}

// startsWithParams reports whether nalus begins with a complete set of
// parameter sets.
func startsWithParams(codec Codec, nalus [][]byte) bool {
	need := 2
	if codec == CodecH265 {
		need = 3
	}
	if len(nalus) < need {
		return false
	}
	seen := map[byte]bool{}
	for _, nalu := range nalus[:need] {
		if k, _ := classifyNALU(codec, nalu); k != naluParam {
			return false
		}
		if codec == CodecH265 {
			seen[(nalu[0]>>1)&0x3f] = true
		} else {
			seen[nalu[0]&0x1f] = true
		}
	}
	return len(seen) == need
}

type naluKind uint8

const (
	naluOther naluKind = iota // SEI, filler, end of sequence...
	naluParam
	naluDelimiter
	naluIDR
	naluSlice
)

// classifyNALU returns what nalu is, and false when it is malformed or of
// a type that must not appear in an access unit (unspecified, reserved,
// or an RTP aggregation/fragmentation type the depacketizer should have
// removed).
func classifyNALU(codec Codec, nalu []byte) (naluKind, bool) {
	if codec == CodecH265 {
		if len(nalu) < 2 || nalu[0]&0x80 != 0 {
			return 0, false
		}
		switch typ := h265.NALUType((nalu[0] >> 1) & 0x3f); {
		case typ == h265.NALUType_VPS_NUT || typ == h265.NALUType_SPS_NUT || typ == h265.NALUType_PPS_NUT:
			return naluParam, true
		case typ == h265.NALUType_AUD_NUT:
			return naluDelimiter, true
		case typ == h265.NALUType_IDR_W_RADL || typ == h265.NALUType_IDR_N_LP || typ == h265.NALUType_CRA_NUT:
			return naluIDR, true
		case typ <= h265.NALUType_RASL_R || (typ >= h265.NALUType_BLA_W_LP && typ <= h265.NALUType_BLA_N_LP):
			return naluSlice, true
		case typ >= h265.NALUType_EOS_NUT && typ <= h265.NALUType_SUFFIX_SEI_NUT:
			return naluOther, true
		default:
			return 0, false
		}
	}
	if len(nalu) < 1 || nalu[0]&0x80 != 0 {
		return 0, false
	}
	switch typ := h264.NALUType(nalu[0] & 0x1f); typ {
	case h264.NALUTypeSPS, h264.NALUTypePPS:
		return naluParam, true
	case h264.NALUTypeAccessUnitDelimiter:
		return naluDelimiter, true
	case h264.NALUTypeIDR:
		if len(nalu) < 2 {
			return 0, false
		}
		return naluIDR, true
	case h264.NALUTypeNonIDR, h264.NALUTypeDataPartitionA, h264.NALUTypeDataPartitionB, h264.NALUTypeDataPartitionC:
		if len(nalu) < 2 {
			return 0, false
		}
		return naluSlice, true
	case h264.NALUTypeSEI, h264.NALUTypeEndOfSequence, h264.NALUTypeEndOfStream, h264.NALUTypeFillerData,
		h264.NALUTypeSPSExtension, h264.NALUTypePrefix, h264.NALUTypeSubsetSPS:
		return naluOther, true
	default:
		return 0, false
	}
}
