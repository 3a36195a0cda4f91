// Package rtspserve re-publishes every video.Stream over RTSP at
// rtsp://HOST:PORT/NAME, for VLC, ffmpeg and video management systems. It
// relays the hub's access units without transcoding.
package rtspserve

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"

	"github.com/ospreygcs/osprey/video"
)

// writeQueuePackets is gortsplib's per-reader packet queue: an all-intra
// 720p picture is ~1300 packets written at once, and a smaller queue would
// drop part of every keyframe for every RTSP reader.
const writeQueuePackets = 8192

// Config configures a Server.
type Config struct {
	// Address is the RTSP (TCP) listen address, such as ":8554" or
	// "127.0.0.1:0". Readers use the TCP transport (interleaved).
	Address string
	// Logf, when set, receives one line per stream event.
	Logf func(format string, args ...any)
}

// Server serves streams over RTSP. Create it with New, run it with Run.
type Server struct {
	cfg     Config
	streams []*video.Stream
	srv     *gortsplib.Server
	addr    string
	paths   map[string]*path // fixed at New
}

// New listens on cfg.Address and serves the given streams by name. Run
// feeds them.
func New(cfg Config, streams []*video.Stream) (*Server, error) {
	if cfg.Address == "" {
		return nil, errors.New("rtspserve: Address is required")
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	s := &Server{cfg: cfg, streams: streams, paths: make(map[string]*path)}
	for _, st := range streams {
		s.paths[st.Name()] = &path{s: s, stream: st}
	}
	s.srv = &gortsplib.Server{
		Handler:        &handler{s: s},
		RTSPAddress:    cfg.Address,
		WriteQueueSize: writeQueuePackets,
		Listen: func(network, address string) (net.Listener, error) {
			l, err := net.Listen(network, address)
			if err == nil {
				s.addr = l.Addr().String()
			}
			return l, err
		},
	}
	if err := s.srv.Start(); err != nil {
		return nil, fmt.Errorf("rtspserve: %w", err)
	}
	return s, nil
}

// Address returns the address actually bound.
func (s *Server) Address() string { return s.addr }

// Run feeds every stream to its RTSP readers until ctx ends, then closes
// the server. It returns nil on cancellation.
func (s *Server) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, p := range s.paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.run(ctx)
		}()
	}
	<-ctx.Done()
	wg.Wait()
	for _, p := range s.paths {
		p.mu.Lock()
		p.closeStream()
		p.mu.Unlock()
	}
	s.srv.Close()
	return nil
}

// Close stops the listener for a server that was never Run.
func (s *Server) Close() { s.srv.Close() }

// path is one stream served over RTSP. Its ServerStream lives as long as
// the media stays the same: across a camera reconnection with the same
// codecs RTSP readers stay connected and just see a gap.
type path struct {
	s      *Server
	stream *video.Stream

	mu      sync.Mutex // guards the rest; taken by run and by RTSP requests
	ss      *gortsplib.ServerStream
	media   video.Media
	vMedia  *description.Media
	aMedia  *description.Media
	vClock  int64
	aClock  int64
	vSeq    uint16
	aSeq    uint16
	ssEpoch int
}

// run reads the stream and writes it to the ServerStream.
func (p *path) run(ctx context.Context) {
	r, err := p.stream.AddReader("rtsp", 1024)
	if err != nil {
		return
	}
	defer r.Close()
	for {
		u, err := r.ReadUnit(ctx)
		if err != nil {
			return
		}
		if u.Seq < r.FirstLiveSeq() {
			continue // no RTSP reader can be waiting for the past
		}
		p.write(u)
	}
}

func (p *path) write(u *video.Unit) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.ensureLocked() {
		return
	}
	var (
		medi  *description.Media
		seq   *uint16
		clock int64
	)
	switch {
	case u.Codec == p.media.Video && p.vMedia != nil:
		medi, seq, clock = p.vMedia, &p.vSeq, p.vClock
	case u.Codec == p.media.Audio && p.aMedia != nil:
		medi, seq, clock = p.aMedia, &p.aSeq, p.aClock
	default:
		return
	}
	payloads, err := u.RTPPayloads()
	if err != nil {
		return
	}
	ts := uint32(int64(u.PTS) * clock / int64(time.Second))
	for i, pl := range payloads {
		pkt := &rtp.Packet{
			Header: rtp.Header{
				Version:        2,
				PayloadType:    medi.Formats[0].PayloadType(),
				Marker:         u.Codec.IsVideo() && i == len(payloads)-1,
				SequenceNumber: *seq,
				Timestamp:      ts,
			},
			Payload: pl,
		}
		*seq++
		// gortsplib sets the SSRC; a full reader queue drops packets
		// for that reader only.
		_ = p.ss.WritePacketRTPWithNTP(medi, pkt, u.NTP)
	}
}

// ensureLocked makes sure a ServerStream matching the stream's current
// media exists; false when the stream is not live. Called with p.mu held.
func (p *path) ensureLocked() bool {
	m, epoch, ok := p.stream.Media()
	if !ok {
		return p.ss != nil // keep serving the last media through an outage
	}
	if p.ss != nil && epoch == p.ssEpoch {
		return true
	}
	if p.ss != nil && sameCodecs(p.media, m) {
		p.ssEpoch = epoch
		return true
	}
	p.closeStream()
	desc := &description.Session{}
	var vm, am *description.Media
	switch m.Video {
	case video.CodecH264:
		vm = &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{
			&format.H264{PayloadTyp: 96, PacketizationMode: 1, SPS: m.SPS, PPS: m.PPS}}}
	case video.CodecH265:
		vm = &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{
			&format.H265{PayloadTyp: 96, VPS: m.VPS, SPS: m.SPS, PPS: m.PPS}}}
	}
	switch m.Audio {
	case video.CodecOpus:
		am = &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{
			&format.Opus{PayloadTyp: 111, ChannelCount: max(m.AudioChannels, 1)}}}
	case video.CodecPCMU, video.CodecPCMA:
		pt := uint8(0)
		if m.Audio == video.CodecPCMA {
			pt = 8
		}
		if m.AudioClockRateHz != 8000 || m.AudioChannels > 1 {
			pt = 97 // dynamic for non-default rates
		}
		am = &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{
			&format.G711{PayloadTyp: pt, MULaw: m.Audio == video.CodecPCMU,
				SampleRate: m.AudioClockRateHz, ChannelCount: max(m.AudioChannels, 1)}}}
	}
	for _, md := range []*description.Media{vm, am} {
		if md != nil {
			desc.Medias = append(desc.Medias, md)
		}
	}
	if len(desc.Medias) == 0 {
		return false
	}
	ss := &gortsplib.ServerStream{Server: p.s.srv, Desc: desc}
	if err := ss.Initialize(); err != nil {
		p.s.cfg.Logf("rtspserve: %s: %v", p.stream.Name(), err)
		return false
	}
	p.ss, p.media, p.ssEpoch = ss, m, epoch
	p.vMedia, p.aMedia = vm, am
	if vm != nil {
		p.vClock = int64(vm.Formats[0].ClockRate())
	}
	if am != nil {
		p.aClock = int64(am.Formats[0].ClockRate())
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	p.vSeq, p.aSeq = binary.BigEndian.Uint16(b[0:]), binary.BigEndian.Uint16(b[2:])
	return true
}

func sameCodecs(a, b video.Media) bool {
	return a.Video == b.Video && a.Audio == b.Audio &&
		a.AudioClockRateHz == b.AudioClockRateHz && a.AudioChannels == b.AudioChannels
}

// closeStream disconnects the path's readers. Called with p.mu held.
func (p *path) closeStream() {
	if p.ss != nil {
		p.ss.Close()
		p.ss = nil
	}
}

// lookup returns the ServerStream for an RTSP path, creating it when the
// stream is live but has sent nothing yet.
func (s *Server) lookup(rtspPath string) (*gortsplib.ServerStream, error) {
	name := strings.Trim(rtspPath, "/")
	p, ok := s.paths[name]
	if !ok {
		return nil, fmt.Errorf("rtspserve: no stream %q", name)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if state, _ := p.stream.State(); state != video.StateLive || !p.ensureLocked() {
		return nil, fmt.Errorf("rtspserve: stream %q is %s", name, state)
	}
	return p.ss, nil
}

// handler answers RTSP requests; a separate type keeps gortsplib's
// callbacks out of Server's method set.
type handler struct{ s *Server }

// OnDescribe implements gortsplib.ServerHandlerOnDescribe.
func (h *handler) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	ss, err := h.s.lookup(ctx.Path)
	if err != nil {
		return &base.Response{StatusCode: base.StatusNotFound}, nil, err
	}
	return &base.Response{StatusCode: base.StatusOK}, ss, nil
}

// OnSetup implements gortsplib.ServerHandlerOnSetup.
func (h *handler) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	ss, err := h.s.lookup(ctx.Path)
	if err != nil {
		return &base.Response{StatusCode: base.StatusNotFound}, nil, err
	}
	return &base.Response{StatusCode: base.StatusOK}, ss, nil
}

// OnPlay implements gortsplib.ServerHandlerOnPlay.
func (h *handler) OnPlay(*gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// OnStreamWriteError implements gortsplib.ServerHandlerOnStreamWriteError:
// a slow RTSP reader loses packets; that is its own affair, not a log line
// per packet.
func (h *handler) OnStreamWriteError(*gortsplib.ServerHandlerOnStreamWriteErrorCtx) {}

// OnDecodeError implements gortsplib.ServerHandlerOnDecodeError.
func (h *handler) OnDecodeError(*gortsplib.ServerHandlerOnDecodeErrorCtx) {}
