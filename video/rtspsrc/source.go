// Package rtspsrc pulls a camera's RTSP stream into a video.Stream, and
// reconnects with exponential back-off and jitter when the camera goes
// away.
package rtspsrc

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph265"
	"github.com/pion/rtp"

	"github.com/ospreygcs/osprey/internal/clock"
	"github.com/ospreygcs/osprey/video"
)

// ErrNoMedia is returned (wrapped) when the camera offers no track the
// relay can carry (H.264, H.265, Opus, G.711).
var ErrNoMedia = errors.New("rtspsrc: no supported track")

// Transport selects the RTSP transport.
type Transport string

// Transports.
const (
	// TransportAuto tries UDP first and falls back to TCP.
	TransportAuto Transport = "auto"
	// TransportUDP uses UDP only.
	TransportUDP Transport = "udp"
	// TransportTCP interleaves RTP in the RTSP connection; it crosses NATs
	// and firewalls and never loses packets to small socket buffers.
	TransportTCP Transport = "tcp"
)

// Defaults.
const (
	DefaultReadTimeout = 10 * time.Second
	DefaultMinBackoff  = 500 * time.Millisecond
	DefaultMaxBackoff  = 30 * time.Second
)

// Config configures a Source.
type Config struct {
	// URL is the camera's rtsp:// or rtsps:// URL; credentials go in its
	// user information (rtsp://user:pass@host/path).
	URL string
	// Transport is auto (the default when empty), udp or tcp.
	Transport Transport
	// ReadTimeout is how long the camera may send nothing before the
	// session is dropped and reconnected. Zero means DefaultReadTimeout.
	ReadTimeout time.Duration
	// MinBackoff and MaxBackoff bound the pause between attempts: it
	// starts at MinBackoff, doubles after each failure up to MaxBackoff,
	// and goes back to MinBackoff after a session that delivered media.
	// Each pause is jittered down by up to half so cameras that failed
	// together do not retry together. Zero means the defaults.
	MinBackoff, MaxBackoff time.Duration
	// Rand returns numbers in [0, 1) for the jitter. Nil means
	// math/rand/v2.
	Rand func() float64
	// Clock times the back-off. Nil means the wall clock.
	Clock clock.Clock
	// Logf, when set, receives one line per connection event (connected,
	// failed, retrying). Decode errors are counted, not logged.
	Logf func(format string, args ...any)
}

// Source pulls one RTSP stream into a video.Stream.
type Source struct {
	cfg    Config
	url    *base.URL
	stream *video.Stream
}

// New validates cfg and returns a source writing into stream.
func New(cfg Config, stream *video.Stream) (*Source, error) {
	if stream == nil {
		return nil, errors.New("rtspsrc: nil stream")
	}
	u, err := base.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("rtspsrc: URL %q: %w", Redact(cfg.URL), err)
	}
	if u.Scheme != "rtsp" && u.Scheme != "rtsps" {
		return nil, fmt.Errorf("rtspsrc: URL %q: scheme must be rtsp or rtsps", Redact(cfg.URL))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("rtspsrc: URL %q: no host", Redact(cfg.URL))
	}
	switch cfg.Transport {
	case "":
		cfg.Transport = TransportAuto
	case TransportAuto, TransportUDP, TransportTCP:
	default:
		return nil, fmt.Errorf("rtspsrc: transport %q: want auto, udp or tcp", cfg.Transport)
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	cfg.MaxBackoff = max(cfg.MaxBackoff, cfg.MinBackoff)
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	return &Source{cfg: cfg, url: u, stream: stream}, nil
}

// Redact returns rawURL with any password replaced by "xxxxx", for logs
// and errors.
func Redact(rawURL string) string {
	u, err := base.ParseURL(rawURL)
	if err != nil || u.User == nil {
		return rawURL
	}
	if _, has := u.User.Password(); has {
		cp := *u
		cp.User = nil
		user := u.User.Username()
		s := cp.String()
		return strings.Replace(s, "://", "://"+user+":xxxxx@", 1)
	}
	return rawURL
}

// Run connects, publishes into the stream until the session fails, and
// reconnects after a back-off, until ctx ends. It returns nil when ctx
// ends; every camera failure is retried and recorded on the stream.
func (s *Source) Run(ctx context.Context) error {
	b := Backoff{Min: s.cfg.MinBackoff, Max: s.cfg.MaxBackoff, Rand: s.cfg.Rand}
	for {
		delivered, err := s.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if delivered {
			b.Reset()
		}
		if err != nil {
			s.stream.SetSourceError(err)
		}
		pause := b.Next()
		s.cfg.Logf("rtspsrc: %s: %v; retrying in %v", s.stream.Name(), err, pause.Round(time.Millisecond))
		t := s.cfg.Clock.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C():
		}
	}
}

// Backoff computes jittered exponential pauses. The zero value is not
// usable: set Min, Max and Rand.
type Backoff struct {
	Min, Max time.Duration
	// Rand returns numbers in [0, 1).
	Rand func() float64
	cur  time.Duration
}

// Next returns the next pause: the current step jittered down by up to
// half, after which the step doubles up to Max.
func (b *Backoff) Next() time.Duration {
	if b.cur < b.Min {
		b.cur = b.Min
	}
	d := b.cur - time.Duration(float64(b.cur/2)*b.Rand())
	b.cur = min(b.cur*2, b.Max)
	return d
}

// Reset starts the steps again from Min.
func (b *Backoff) Reset() { b.cur = 0 }

// session runs one RTSP session. delivered reports whether media reached
// the stream, which resets the back-off.
func (s *Source) session(ctx context.Context) (delivered bool, err error) {
	c := &gortsplib.Client{
		Scheme:      s.url.Scheme,
		Host:        s.url.Host,
		ReadTimeout: s.cfg.ReadTimeout,
		// An all-intra picture of a simulated 720p camera is ~1000
		// packets; a generous queue keeps a burst from being dropped.
		UDPReadBufferSize: 4 << 20,
	}
	switch s.cfg.Transport {
	case TransportUDP:
		t := gortsplib.TransportUDP
		c.Transport = &t
	case TransportTCP:
		t := gortsplib.TransportTCP
		c.Transport = &t
	case TransportAuto:
	}
	var (
		pub    *video.Publisher
		pubSet atomic.Pointer[video.Publisher] // pub, for the client's goroutines
	)
	c.OnDecodeError = func(err error) {
		// Called by the client's goroutines.
		if p := pubSet.Load(); p != nil {
			p.CountDecodeError(err)
		}
	}
	c.OnPacketsLost = func(uint64) {}
	// gortsplib's defaults print with the standard logger.
	c.OnTransportSwitch = func(err error) {
		s.cfg.Logf("rtspsrc: %s: %v", s.stream.Name(), err)
	}

	if err := c.Start2(); err != nil {
		return false, fmt.Errorf("rtspsrc: connect %s: %w", Redact(s.cfg.URL), err)
	}
	// Close the client when ctx ends, to unblock a request in flight.
	stop := make(chan struct{})
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		select {
		case <-ctx.Done():
			c.Close()
		case <-stop:
		}
	}()
	defer func() {
		close(stop)
		<-watchDone
		c.Close()
		if pub != nil {
			pub.Close(err)
		}
	}()

	desc, _, err := c.Describe(s.url)
	if err != nil {
		return false, fmt.Errorf("rtspsrc: describe %s: %w", Redact(s.cfg.URL), err)
	}
	tracks, media, err := pickTracks(desc)
	if err != nil {
		return false, fmt.Errorf("rtspsrc: %s: %w", Redact(s.cfg.URL), err)
	}
	for _, t := range tracks {
		if _, err := c.Setup(desc.BaseURL, t.media, 0, 0); err != nil {
			return false, fmt.Errorf("rtspsrc: setup %s: %w", Redact(s.cfg.URL), err)
		}
	}
	p, err := s.stream.Publish(media)
	if err != nil {
		return false, fmt.Errorf("rtspsrc: %s: %w", s.stream.Name(), err)
	}
	pub = p
	pubSet.Store(p)

	var got atomic.Bool
	for _, t := range tracks {
		decode, err := t.decoder()
		if err != nil {
			return false, fmt.Errorf("rtspsrc: %s: %w", Redact(s.cfg.URL), err)
		}
		clockRate := t.forma.ClockRate()
		c.OnPacketRTP(t.media, t.forma, func(pkt *rtp.Packet) {
			// Called by the client's reader goroutine of this media.
			pts, ok := c.PacketPTS2(t.media, pkt)
			if !ok {
				return
			}
			ntp, _ := c.PacketNTP(t.media, pkt)
			au, audio, err := decode(pkt)
			if err != nil {
				if !errors.Is(err, rtph264.ErrMorePacketsNeeded) && !errors.Is(err, rtph265.ErrMorePacketsNeeded) &&
					!errors.Is(err, rtph264.ErrNonStartingPacketAndNoPrevious) && !errors.Is(err, rtph265.ErrNonStartingPacketAndNoPrevious) {
					p.CountDecodeError(err)
				}
				return
			}
			d := ticksToDuration(pts, clockRate)
			var werr error
			if au != nil {
				werr = p.WriteVideo(d, ntp, au)
			} else {
				werr = p.WriteAudio(d, ntp, audio)
			}
			if werr == nil {
				got.Store(true)
			}
		})
	}
	if _, err := c.Play(nil); err != nil {
		return false, fmt.Errorf("rtspsrc: play %s: %w", Redact(s.cfg.URL), err)
	}
	s.cfg.Logf("rtspsrc: %s: playing %s", s.stream.Name(), Redact(s.cfg.URL))

	werr := c.Wait()
	delivered = got.Load()
	if ctx.Err() != nil {
		return delivered, nil
	}
	return delivered, fmt.Errorf("rtspsrc: %s: %w", Redact(s.cfg.URL), werr)
}

// ticksToDuration converts RTP clock ticks to a duration without
// overflowing for long sessions.
func ticksToDuration(ticks int64, clockRate int) time.Duration {
	if clockRate <= 0 {
		return 0
	}
	r := int64(clockRate)
	return time.Duration(ticks/r)*time.Second + time.Duration(ticks%r)*time.Second/time.Duration(r)
}

// track is one media the source reads.
type track struct {
	media *description.Media
	forma format.Format
}

// decoder returns a function turning RTP packets into either a video
// access unit or an audio payload.
func (t track) decoder() (func(*rtp.Packet) (au [][]byte, audio []byte, err error), error) {
	switch f := t.forma.(type) {
	case *format.H264:
		return videoDecoder(f.CreateDecoder())
	case *format.H265:
		return videoDecoder(f.CreateDecoder())
	case *format.Opus:
		return audioDecoder(f.CreateDecoder())
	case *format.G711:
		return audioDecoder(f.CreateDecoder())
	default:
		return nil, fmt.Errorf("unsupported format %T", f)
	}
}

// videoDecoder and audioDecoder adapt gortsplib's per-codec RTP decoders to
// decoder's one signature.
func videoDecoder[D interface {
	Decode(*rtp.Packet) ([][]byte, error)
}](d D, err error) (func(*rtp.Packet) ([][]byte, []byte, error), error) {
	if err != nil {
		return nil, err
	}
	return func(p *rtp.Packet) ([][]byte, []byte, error) {
		au, err := d.Decode(p)
		return au, nil, err
	}, nil
}

func audioDecoder[D interface {
	Decode(*rtp.Packet) ([]byte, error)
}](d D, err error) (func(*rtp.Packet) ([][]byte, []byte, error), error) {
	if err != nil {
		return nil, err
	}
	return func(p *rtp.Packet) ([][]byte, []byte, error) {
		b, err := d.Decode(p)
		return nil, b, err
	}, nil
}

// pickTracks chooses the first H.264 or H.265 track and the first Opus or
// G.711 track the camera offers.
func pickTracks(desc *description.Session) ([]track, video.Media, error) {
	var (
		tracks []track
		m      video.Media
	)
	for _, medi := range desc.Medias {
		for _, forma := range medi.Formats {
			switch f := forma.(type) {
			case *format.H264:
				if m.Video != video.CodecNone || f.PacketizationMode >= 2 {
					continue
				}
				m.Video = video.CodecH264
				m.SPS, m.PPS = f.SafeParams()
			case *format.H265:
				if m.Video != video.CodecNone {
					continue
				}
				m.Video = video.CodecH265
				m.VPS, m.SPS, m.PPS = f.SafeParams()
			case *format.Opus:
				if m.Audio != video.CodecNone {
					continue
				}
				m.Audio = video.CodecOpus
				m.AudioClockRateHz, m.AudioChannels = 48000, f.ChannelCount
			case *format.G711:
				if m.Audio != video.CodecNone {
					continue
				}
				m.Audio = video.CodecPCMA
				if f.MULaw {
					m.Audio = video.CodecPCMU
				}
				m.AudioClockRateHz, m.AudioChannels = f.SampleRate, f.ChannelCount
			default:
				continue
			}
			tracks = append(tracks, track{media: medi, forma: forma})
			break // one format per media
		}
	}
	if len(tracks) == 0 {
		return nil, video.Media{}, ErrNoMedia
	}
	return tracks, m, nil
}
