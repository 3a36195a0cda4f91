package video

import (
	"fmt"
	"strings"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
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
		enc := &rtph264.Encoder{PayloadType: 96, PacketizationMode: 1, PayloadMaxSize: MaxRTPPayloadBytes}
		if err := enc.Init(); err != nil {
			return nil, fmt.Errorf("video: H.264 packetizer: %w", err)
		}
		pkts, err := enc.Encode(u.NALUs)
		if err != nil {
			return nil, fmt.Errorf("video: H.264 packetizer: %w", err)
		}
		out := make([][]byte, len(pkts))
		for i, p := range pkts {
			out[i] = p.Payload
		}
		return out, nil
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

// ValidateName checks a stream name: an RTSP-style path such as "sim/1" or
// "drone3/front", 1 to 128 characters of letters, digits and "-_.~/", with
// no empty, "." or ".." segment. Names appear in URLs, so anything else is
// refused rather than escaped.
func ValidateName(name string) error {
	if name == "" || len(name) > 128 {
		return fmt.Errorf("video: stream name %q: must be 1 to 128 characters", name)
	}
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.ContainsRune("-_.~/", c):
		default:
			return fmt.Errorf("video: stream name %q: character %q not allowed", name, c)
		}
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("video: stream name %q: empty, \".\" or \"..\" path segment", name)
		}
	}
	return nil
}

// rateMeter measures bitrate and video frame rate over one-second windows.
type rateMeter struct {
	start   time.Time
	bytes   int64
	frames  int
	lastBPS int64
	lastFPS float64
}

func (m *rateMeter) add(now time.Time, size int, video bool) {
	m.roll(now)
	m.bytes += int64(size)
	if video {
		m.frames++
	}
}

// roll closes the window when a second has passed.
func (m *rateMeter) roll(now time.Time) {
	if m.start.IsZero() {
		m.start = now
		return
	}
	el := now.Sub(m.start)
	if el < time.Second {
		return
	}
	if el < 2*time.Second {
		m.lastBPS = int64(float64(m.bytes*8) / el.Seconds())
		m.lastFPS = float64(m.frames) / el.Seconds()
	} else {
		// Idle for a while: the old window says nothing about now.
		m.lastBPS, m.lastFPS = 0, 0
	}
	m.start, m.bytes, m.frames = now, 0, 0
}

// rates returns the last complete window's rates, or zero when nothing
// arrived for two seconds.
func (m *rateMeter) rates(now time.Time) (bps int64, fps float64) {
	if m.start.IsZero() || now.Sub(m.start) >= 2*time.Second {
		return 0, 0
	}
	return m.lastBPS, m.lastFPS
}
