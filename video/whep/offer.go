package whep

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/ospreygcs/osprey/video"
)

// offer is what the relay needs to know of a viewer's SDP offer before
// handing it to pion: which codecs it can receive.
type offer struct {
	video map[string]bool // upper-case codec names in video m-lines that can receive
	audio map[string]bool
}

// parseOffer checks that body is an SDP offer a WHEP viewer could send and
// lists the codecs it accepts. The error text is shown to the viewer.
func parseOffer(body []byte) (*offer, error) {
	if len(body) == 0 {
		return nil, errors.New("empty body")
	}
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(body); err != nil {
		return nil, err
	}
	if len(sd.MediaDescriptions) == 0 {
		return nil, errors.New("no media sections (m= lines)")
	}
	o := &offer{video: map[string]bool{}, audio: map[string]bool{}}
	for _, md := range sd.MediaDescriptions {
		if md == nil || md.MediaName.Port.Value == 0 {
			continue // rejected or absent section
		}
		if _, sendonly := md.Attribute("sendonly"); sendonly {
			continue // the viewer would send, not receive
		}
		if _, inactive := md.Attribute("inactive"); inactive {
			continue
		}
		var dst map[string]bool
		switch md.MediaName.Media {
		case "video":
			dst = o.video
		case "audio":
			dst = o.audio
		default:
			continue
		}
		for _, a := range md.Attributes {
			if a.Key != "rtpmap" {
				continue
			}
			// "96 H264/90000"
			_, enc, ok := strings.Cut(a.Value, " ")
			if !ok {
				return nil, fmt.Errorf("bad rtpmap %q", a.Value)
			}
			codec, _, _ := strings.Cut(enc, "/")
			dst[strings.ToUpper(codec)] = true
		}
	}
	if len(o.video) == 0 && len(o.audio) == 0 {
		return nil, errors.New("no audio or video section the viewer can receive")
	}
	return o, nil
}

// plan is what a session sends: the stream's tracks the viewer can take.
type plan struct {
	video video.Codec
	audio video.Codec
}

// plan matches the stream's media against the offer. It fails with a
// reason when the viewer can take none of the stream's tracks, or cannot
// take its video.
func (o *offer) plan(m video.Media) (plan, error) {
	var p plan
	if m.Video != video.CodecNone {
		name := m.Video.String()
		if !o.video[name] {
			if m.Video == video.CodecH265 {
				return p, errors.New("this stream is H.265 (HEVC) and the offer does not include H.265; " +
					"use a browser that decodes H.265 over WebRTC (Safari, or Chrome with hardware decoding), or watch over RTSP")
			}
			return p, fmt.Errorf("this stream is %s and the offer does not include it", name)
		}
		p.video = m.Video
	}
	// Browsers play G.711 at 8 kHz mono only; other rates stay silent
	// rather than play at the wrong speed.
	g711OK := m.AudioClockRateHz == 8000 && m.AudioChannels <= 1
	if m.Audio != video.CodecNone && o.audio[strings.ToUpper(m.Audio.String())] && (m.Audio == video.CodecOpus || g711OK) {
		p.audio = m.Audio
	}
	if p.video == video.CodecNone && p.audio == video.CodecNone {
		return p, fmt.Errorf("the offer accepts none of this stream's codecs (%v audio)", m.Audio)
	}
	return p, nil
}

// h264Fmtp is what the relay answers for H.264: packetization mode 1 with
// constrained baseline, the profile every browser offers. The relay never
// transcodes, and browsers decode higher profiles whatever was negotiated.
const h264Fmtp = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"

func videoCodecs() []webrtc.RTPCodecParameters {
	fb := []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}}
	return []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: h264Fmtp, RTCPFeedback: fb}, PayloadType: 102},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f", RTCPFeedback: fb}, PayloadType: 104},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f", RTCPFeedback: fb}, PayloadType: 106},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=64001f", RTCPFeedback: fb}, PayloadType: 108},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH265, ClockRate: 90000,
			RTCPFeedback: fb}, PayloadType: 116},
	}
}

func audioCodecs() []webrtc.RTPCodecParameters {
	return []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: 111},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, PayloadType: 0},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMA, ClockRate: 8000}, PayloadType: 8},
	}
}

// trackCapability is the capability of the track a session sends for c.
func trackCapability(c video.Codec) (webrtc.RTPCodecCapability, int) {
	switch c {
	case video.CodecH264:
		return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: h264Fmtp}, 90000
	case video.CodecH265:
		return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH265, ClockRate: 90000}, 90000
	case video.CodecOpus:
		return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, 48000
	case video.CodecPCMU:
		return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, 8000
	case video.CodecPCMA:
		return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMA, ClockRate: 8000}, 8000
	}
	return webrtc.RTPCodecCapability{}, 0
}
