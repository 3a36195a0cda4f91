package whep

import (
	"crypto/rand"
	"encoding/binary"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/ospreygcs/osprey/video"
)

// srInterval is how often a session sends RTCP sender reports (players
// use them to synchronise audio with video).
const srInterval = time.Second

// outTrack is one RTP track of a session with its own numbering.
type outTrack struct {
	track     *boundTrack
	clockRate int64
	video     bool
	hist      *history // video only: what a NACK can ask again
	tsBase    uint32

	// Owned by the session goroutine.
	seq     uint16 // next sequence number
	packets uint32 // sent, for sender reports
	octets  uint32
	unitTS  uint32    // RTP timestamp of the last unit started
	unitAt  time.Time // when it started
	hdr     rtp.Header
	// catchUpPackets counts the cached packets sent since the session
	// (re)joined, for the history to hold them all.
	catchUpPackets int

	resendHdr rtp.Header // owned by the RTCP reader
}

func newOutTrack(c video.Codec, id string) (*outTrack, error) {
	capab, rate := trackCapability(c)
	tr, err := webrtc.NewTrackLocalStaticRTP(capab, id, "osprey")
	if err != nil {
		return nil, err
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	t := &outTrack{
		track:     &boundTrack{TrackLocalStaticRTP: tr},
		clockRate: int64(rate),
		video:     c.IsVideo(),
		seq:       binary.BigEndian.Uint16(b[0:2]),
		tsBase:    binary.BigEndian.Uint32(b[2:6]),
	}
	if t.video {
		t.hist = newHistory()
	}
	return t, nil
}

// senderReport describes the track at now, or returns nil before its
// first packet.
func (t *outTrack) senderReport(now time.Time) *rtcp.SenderReport {
	b := t.track.bound.Load()
	if b == nil || t.packets == 0 {
		return nil
	}
	return &rtcp.SenderReport{
		SSRC:        b.ssrc,
		NTPTime:     ntpTime(now),
		RTPTime:     t.unitTS + uint32(int64(now.Sub(t.unitAt))*t.clockRate/int64(time.Second)),
		PacketCount: t.packets,
		OctetCount:  t.octets,
	}
}

// ntpTime is t as a 64-bit NTP timestamp.
func ntpTime(t time.Time) uint64 {
	const ntpEpochOffset = 2208988800 // 1900 to 1970, in seconds
	ns := uint64(t.UnixNano())
	sec := ns/1e9 + ntpEpochOffset
	frac := (ns % 1e9) << 32 / 1e9
	return sec<<32 | frac
}

// boundTrack is a TrackLocalStaticRTP (which negotiates the codec) that
// also keeps its binding, so the session writes each packet straight to
// the SRTP stream: TrackLocalStaticRTP.WriteRTP copies every packet into a
// pooled one and loops over its bindings under a lock, for the one
// binding a session has.
type boundTrack struct {
	*webrtc.TrackLocalStaticRTP
	bound atomic.Pointer[binding]
}

type binding struct {
	id          string
	ssrc        uint32
	payloadType uint8
	w           webrtc.TrackLocalWriter
}

// Bind is called by pion when the track is negotiated.
func (t *boundTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	codec, err := t.TrackLocalStaticRTP.Bind(ctx)
	if err != nil {
		return codec, err
	}
	t.bound.Store(&binding{id: ctx.ID(), ssrc: uint32(ctx.SSRC()), payloadType: uint8(codec.PayloadType), w: ctx.WriteStream()})
	return codec, nil
}

// Unbind is called by pion when the track stops.
func (t *boundTrack) Unbind(ctx webrtc.TrackLocalContext) error {
	if b := t.bound.Load(); b != nil && b.id == ctx.ID() {
		t.bound.CompareAndSwap(b, nil)
	}
	return t.TrackLocalStaticRTP.Unbind(ctx)
}

// writeRTP sends one packet, setting its SSRC and payload type. Before
// the track is bound (or after) packets are dropped, as
// TrackLocalStaticRTP does.
func (t *boundTrack) writeRTP(h *rtp.Header, payload []byte) error {
	b := t.bound.Load()
	if b == nil {
		return nil
	}
	h.SSRC, h.PayloadType = b.ssrc, b.payloadType
	_, err := b.w.WriteRTP(h, payload)
	return err
}
