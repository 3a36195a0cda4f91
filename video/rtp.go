package video

import (
	"errors"
	"fmt"

	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph265"
)

// MaxRTPPayloadBytes is the largest RTP payload RTPPayloads produces: with
// the 12-byte RTP header (the relay adds no header extensions) and the
// 16-byte SRTP authentication tag (AES-GCM; 10 for AES-CM/HMAC-SHA1), a
// WebRTC packet stays within the 1200 bytes WebRTC implementations use,
// which cross any path with an IPv6-minimum MTU and fit any RTSP
// transport. Every packet costs the relay a system call share and an
// encryption per viewer, so packets are as full as that allows.
const MaxRTPPayloadBytes = 1172

// RTPPayloads returns the unit packetized for RTP once, whatever the number
// of readers: H.264 per RFC 6184 and H.265 per RFC 7798 (packetization mode
// 1: single NAL units, aggregation and fragmentation units), audio as one
// payload. The last payload ends the unit (it gets the marker bit). The
// payloads are shared: do not modify them.
func (u *Unit) RTPPayloads() ([][]byte, error) {
	u.rtpOnce.Do(func() {
		u.rtpPayloads, u.rtpErr = packetize(u)
	})
	return u.rtpPayloads, u.rtpErr
}

func packetize(u *Unit) ([][]byte, error) {
	switch u.Codec {
	case CodecH264:
		return packetizeH264(u.NALUs, MaxRTPPayloadBytes)
	case CodecH265:
		enc := &rtph265.Encoder{PayloadType: 96, PayloadMaxSize: MaxRTPPayloadBytes}
		if err := enc.Init(); err != nil {
			return nil, fmt.Errorf("video: H.265 packetizer: %w", err)
		}
		pkts, err := enc.Encode(u.NALUs)
		if err != nil {
			return nil, fmt.Errorf("video: H.265 packetizer: %w", err)
		}
		out := make([][]byte, len(pkts))
		for i, p := range pkts {
			out[i] = p.Payload
		}
		return out, nil
	default:
		if len(u.Payload) > MaxRTPPayloadBytes {
			return nil, fmt.Errorf("video: %v packet of %d bytes exceeds %d", u.Codec, len(u.Payload), MaxRTPPayloadBytes)
		}
		return [][]byte{u.Payload}, nil
	}
}

// H.264 RTP payload types (RFC 6184 §5.2).
const (
	h264STAPA = 24
	h264FUA   = 28
)

// errEmptyNALU is returned for an access unit holding an empty NAL unit,
// which has no header to packetize by.
var errEmptyNALU = errors.New("video: H.264 packetizer: empty NAL unit")

// packetizeH264 splits an access unit into RTP payloads of at most maxSize
// bytes per RFC 6184 packetization mode 1: runs of small NAL units (the
// parameter sets before an IDR) aggregated into STAP-A packets, other NAL
// units that fit sent as they are, larger ones fragmented into FU-A
// packets. It runs once per unit whatever the number of viewers, but once
// per picture even with one, so it makes two allocations: the payloads
// share one buffer. (gortsplib's encoder, which the relay used before,
// allocated a packet and a payload per fragment and drew a random SSRC per
// call: half of a lone viewer's cost.)
func packetizeH264(nalus [][]byte, maxSize int) ([][]byte, error) {
	count, size := 0, 0
	for i := 0; i < len(nalus); {
		n, pkts, bytes := h264NextPayloads(nalus[i:], maxSize)
		if n == 0 {
			return nil, errEmptyNALU
		}
		i += n
		count += pkts
		size += bytes
	}
	buf := make([]byte, 0, size)
	out := make([][]byte, 0, count)
	for i := 0; i < len(nalus); {
		n, _, _ := h264NextPayloads(nalus[i:], maxSize)
		switch first := nalus[i]; {
		case n > 1: // STAP-A: the highest NRI of the parts, then size-prefixed NAL units
			start := len(buf)
			nri := byte(0)
			for _, nalu := range nalus[i : i+n] {
				nri = max(nri, nalu[0]&0x60)
			}
			buf = append(buf, nri|h264STAPA)
			for _, nalu := range nalus[i : i+n] {
				buf = append(buf, byte(len(nalu)>>8), byte(len(nalu)))
				buf = append(buf, nalu...)
			}
			out = append(out, buf[start:len(buf):len(buf)])
		case len(first) <= maxSize:
			start := len(buf)
			buf = append(buf, first...)
			out = append(out, buf[start:len(buf):len(buf)])
		default: // FU-A: the indicator keeps F and NRI, the header the type and start/end bits
			indicator := first[0]&0xe0 | h264FUA
			body := first[1:]
			for off := 0; off < len(body); off += maxSize - 2 {
				end := min(off+maxSize-2, len(body))
				hdr := first[0] & 0x1f
				if off == 0 {
					hdr |= 0x80
				}
				if end == len(body) {
					hdr |= 0x40
				}
				start := len(buf)
				buf = append(buf, indicator, hdr)
				buf = append(buf, body[off:end]...)
				out = append(out, buf[start:len(buf):len(buf)])
			}
		}
		i += n
	}
	return out, nil
}

// h264NextPayloads looks at the NAL units at the head of nalus and returns
// how many the next packetization step consumes (0 for an empty NAL unit),
// and the payloads and bytes it makes.
func h264NextPayloads(nalus [][]byte, maxSize int) (n, pkts, bytes int) {
	first := nalus[0]
	switch {
	case len(first) == 0:
		return 0, 0, 0
	case len(first) > maxSize:
		frag := maxSize - 2
		body := len(first) - 1
		pkts = (body + frag - 1) / frag
		return 1, pkts, body + 2*pkts
	}
	// Aggregate while the next NAL unit fits: 1 byte of STAP-A header, 2 of
	// size per part.
	size := 1
	for _, nalu := range nalus {
		if len(nalu) == 0 || size+2+len(nalu) > maxSize {
			break
		}
		size += 2 + len(nalu)
		n++
	}
	if n >= 2 {
		return n, 1, size
	}
	return 1, 1, len(first)
}
