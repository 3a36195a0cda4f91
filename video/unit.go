package video

import (
	"fmt"
	"sync"
	"time"
)

// Codec names the codec of a track.
type Codec uint8

// The codecs a Stream carries. Video is H.264 or H.265; audio is Opus or
// G.711 (µ-law PCMU, A-law PCMA), the audio codecs a browser plays without
// transcoding.
const (
	CodecNone Codec = iota
	CodecH264
	CodecH265
	CodecOpus
	CodecPCMU
	CodecPCMA
)

// String returns the codec's usual name ("H264", "Opus", ...).
func (c Codec) String() string {
	switch c {
	case CodecNone:
		return ""
	case CodecH264:
		return "H264"
	case CodecH265:
		return "H265"
	case CodecOpus:
		return "Opus"
	case CodecPCMU:
		return "PCMU"
	case CodecPCMA:
		return "PCMA"
	default:
		return fmt.Sprintf("Codec(%d)", uint8(c))
	}
}

// IsVideo reports whether c is a video codec.
func (c Codec) IsVideo() bool { return c == CodecH264 || c == CodecH265 }

// IsAudio reports whether c is an audio codec.
func (c Codec) IsAudio() bool { return c == CodecOpus || c == CodecPCMU || c == CodecPCMA }

// Media describes what a source publishes: at most one video and at most
// one audio track.
type Media struct {
	// Video is CodecH264, CodecH265 or CodecNone.
	Video Codec
	// VPS (H.265 only), SPS and PPS are the parameter sets the source
	// announced out of band (in its SDP), if any. In-band parameter sets
	// replace them as they arrive.
	VPS, SPS, PPS []byte
	// Audio is CodecOpus, CodecPCMU, CodecPCMA or CodecNone.
	Audio Codec
	// AudioClockRateHz is the audio sample rate (48000 for Opus, usually
	// 8000 for G.711). AudioChannels is the channel count.
	AudioClockRateHz int
	AudioChannels    int
}

// Unit is one access unit (a video picture) or one audio packet, as
// published on a Stream. Units are shared by every reader: treat a Unit and
// every byte slice in it as read-only.
type Unit struct {
	// Seq numbers the units of a Stream: it grows by one per published unit
	// (video and audio alike) and never repeats, across source sessions
	// too.
	Seq uint64
	// Epoch counts source sessions: it changes when the source reconnects,
	// and with it the parameter sets, resolution or codecs may change. A
	// recorder should start a new segment when it changes.
	Epoch int
	// Codec is the unit's codec; Codec.IsVideo tells the track.
	Codec Codec
	// PTS is the presentation time relative to the Stream's first unit.
	// It increases across source sessions (a reconnection shows as a gap
	// as long as the outage), so readers never see time go backwards
	// between epochs. Within an epoch video PTS follow the source, which
	// may reorder pictures (B-frames); decode order is Seq order.
	PTS time.Duration
	// NTP is the capture wall-clock time when the source reported one
	// (RTCP sender reports); otherwise the time the unit was received.
	NTP time.Time
	// NALUs holds a video access unit's NAL units without start codes or
	// length prefixes. An IDR unit always begins with its parameter sets
	// (SPS and PPS; VPS, SPS and PPS for H.265), inserted by the Stream
	// when the source sent them only out of band. Access unit delimiters
	// are removed. Nil for audio.
	NALUs [][]byte
	// Payload is one audio packet: an Opus packet, or G.711 samples. Nil
	// for video.
	Payload []byte
	// IDR reports a video random-access point (H.264 IDR; H.265 IDR or
	// CRA). Always false for audio.
	IDR bool

	rtpOnce     sync.Once
	rtpPayloads [][]byte
	rtpErr      error
}

// Size returns the unit's payload size in bytes.
func (u *Unit) Size() int {
	n := len(u.Payload)
	for _, nalu := range u.NALUs {
		n += len(nalu)
	}
	return n
}
