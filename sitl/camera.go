package sitl

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
)

// ErrCameraNotFound is returned, wrapped, for a camera name the server does
// not serve.
var ErrCameraNotFound = errors.New("sitl: no such camera")

const (
	camDefaultWidth  = 640
	camDefaultHeight = 360
	camDefaultFPS    = 30
	camPayloadType   = 96
	camRTPClockHz    = 90000
	// A large access unit is written camBurstPackets RTP packets at a
	// time with short pauses, spread over at most half a frame interval: a
	// 1.4 MB IDR (a 720p picture of noise, all I_PCM) sent as one burst of ~1000 packets overflows a UDP
	// reader's socket buffer (typically 208 KB, and loopback charges
	// ~2.3 KB of it per 1.4 KB packet), while 32-packet bursts fit.
	camBurstPackets = 32
)

// CameraConfig describes one simulated camera.
type CameraConfig struct {
	// Name is the RTSP path, such as "sim/1"; the stream is served at
	// rtsp://host:port/<Name>. Required and unique within a server.
	Name string
	// Width and Height are the picture size in pixels, even, at least
	// 224x32 (the stamp needs the width). Zero means 640x360.
	Width, Height int
	// FPS is the frame rate. Zero means 30.
	FPS int
	// GOP is the distance between IDR pictures in frames. Zero means FPS
	// (one IDR a second, so a new viewer waits at most a second).
	GOP int
	// Label is drawn in the picture (digits, capital letters and - _ / . : #)
	// and picks the colour of the moving box. Empty means Name.
	Label string
	// Clock gives the capture time of each picture, which is burned into
	// the picture (see DecodeStamp) and drives the RTP timestamps and RTCP
	// sender reports. Nil means time.Now. Pictures are paced by the real
	// clock whatever Clock says.
	Clock func() time.Time
}

// CameraServerConfig configures a CameraServer.
type CameraServerConfig struct {
	// Address is the RTSP listen address, such as "127.0.0.1:8554";
	// "127.0.0.1:0" picks a free port (see CameraServer.Address).
	Address string
	// UDPRTPAddress, when set, enables the UDP transport: RTP is sent from
	// this address (an even port) and RTCP from the next port. Empty means
	// TCP (interleaved) only.
	UDPRTPAddress string
	// Cameras are served by name; at least one is required.
	Cameras []CameraConfig
}

// CameraServer serves simulated cameras over RTSP. Each camera renders,
// encodes and sends pictures in its own goroutine at its frame rate from
// NewCameraServer until Close, whether or not anyone is watching, as a real
// camera does. Fault hooks (Stop, Start, SetStalled, SetSendGarbage) let
// tests exercise a relay against a camera that dies, hangs or babbles.
type CameraServer struct {
	srv    *gortsplib.Server
	addr   string
	cams   map[string]*camCamera
	done   chan struct{}
	wg     sync.WaitGroup
	life   sync.Mutex // orders Start against Close
	closed bool
}

// camCamera is one camera: configuration, the goroutine-owned encoding
// state, and the fault switches shared with the API under mu.
type camCamera struct {
	cfg   CameraConfig
	srv   *gortsplib.Server
	clock func() time.Time
	sps   []byte
	pps   []byte
	enc   *H264Encoder // owned by the camera goroutine
	scene *camScene    // owned by the camera goroutine

	mu      sync.Mutex
	out     *camOutput // nil while stopped
	stalled bool
	garbage bool
	wantIDR bool
}

// camOutput is one life of a camera's stream, from Start (or the server's
// start) to Stop. A restarted camera gets a new stream, RTP sequence and
// SSRC, as a rebooted camera would.
type camOutput struct {
	stream *gortsplib.ServerStream
	media  *description.Media
	rtpEnc *rtph264.Encoder // used only by the camera goroutine
	start  time.Time        // capture-clock origin of the RTP timestamps
	tsBase uint32
}

// NewCameraServer starts the RTSP server and one goroutine per camera.
func NewCameraServer(cfg CameraServerConfig) (*CameraServer, error) {
	if len(cfg.Cameras) == 0 {
		return nil, fmt.Errorf("%w: no cameras", ErrCameraConfig)
	}
	s := &CameraServer{
		cams: make(map[string]*camCamera, len(cfg.Cameras)),
		done: make(chan struct{}),
	}
	maxIDRPackets := 0
	for _, cc := range cfg.Cameras {
		cam, err := newCamCamera(cc)
		if err != nil {
			return nil, err
		}
		if _, dup := s.cams[cam.cfg.Name]; dup {
			return nil, fmt.Errorf("%w: camera %q listed twice", ErrCameraConfig, cam.cfg.Name)
		}
		s.cams[cam.cfg.Name] = cam
		maxIDRPackets = max(maxIDRPackets, cam.idrPackets())
	}

	// The server queues packets per reader and drops them when the queue
	// is full; a whole IDR is queued at once (between bursts), so the queue
	// must hold a couple of them.
	queue := 512
	for queue < 2*maxIDRPackets {
		queue *= 2
	}
	s.srv = &gortsplib.Server{
		Handler:        &camHandler{s: s},
		RTSPAddress:    cfg.Address,
		WriteQueueSize: queue,
		Listen: func(network, address string) (net.Listener, error) {
			l, err := net.Listen(network, address)
			if err == nil {
				s.addr = l.Addr().String()
			}
			return l, err
		},
	}
	if cfg.UDPRTPAddress != "" {
		host, port, err := net.SplitHostPort(cfg.UDPRTPAddress)
		if err != nil {
			return nil, fmt.Errorf("%w: UDP address %q: %w", ErrCameraConfig, cfg.UDPRTPAddress, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil || p <= 0 || p%2 != 0 || p > 65534 {
			return nil, fmt.Errorf("%w: UDP RTP port %q must be even and non-zero", ErrCameraConfig, port)
		}
		s.srv.UDPRTPAddress = cfg.UDPRTPAddress
		s.srv.UDPRTCPAddress = net.JoinHostPort(host, strconv.Itoa(p+1))
	}
	if err := s.srv.Start(); err != nil {
		return nil, fmt.Errorf("sitl: camera server: %w", err)
	}
	for _, cam := range s.cams {
		cam.srv = s.srv
		if err := cam.start(); err != nil {
			for _, c := range s.cams {
				c.stop()
			}
			s.srv.Close()
			return nil, err
		}
	}
	for _, cam := range s.cams {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			cam.run(s.done)
		}()
	}
	return s, nil
}

func newCamCamera(cc CameraConfig) (*camCamera, error) {
	cc.Name = strings.Trim(cc.Name, "/")
	if cc.Name == "" {
		return nil, fmt.Errorf("%w: camera without a name", ErrCameraConfig)
	}
	if cc.Width == 0 && cc.Height == 0 {
		cc.Width, cc.Height = camDefaultWidth, camDefaultHeight
	}
	if cc.FPS == 0 {
		cc.FPS = camDefaultFPS
	}
	if cc.GOP == 0 {
		cc.GOP = cc.FPS
	}
	if cc.Label == "" {
		cc.Label = cc.Name
	}
	clock := cc.Clock
	if clock == nil {
		clock = time.Now
	}
	enc, err := NewH264Encoder(H264EncoderConfig{Width: cc.Width, Height: cc.Height, FPS: cc.FPS, GOP: cc.GOP})
	if err != nil {
		return nil, fmt.Errorf("camera %q: %w", cc.Name, err)
	}
	scene, err := newCamScene(cc.Width, cc.Height, cc.Label)
	if err != nil {
		return nil, fmt.Errorf("camera %q: %w", cc.Name, err)
	}
	return &camCamera{
		cfg:   cc,
		clock: clock,
		sps:   enc.SPS(),
		pps:   enc.PPS(),
		enc:   enc,
		scene: scene,
	}, nil
}

// idrPackets estimates the RTP packets of one IDR access unit.
func (c *camCamera) idrPackets() int {
	mbs := ((c.cfg.Width + 15) / 16) * ((c.cfg.Height + 15) / 16)
	return mbs*(h264MBBytes+2)/1400 + 4
}

// Address returns the address the RTSP server listens on, with the port
// actually bound.
func (s *CameraServer) Address() string { return s.addr }

// URL returns the RTSP URL of the named camera, with a loopback host when
// the server listens on every interface.
func (s *CameraServer) URL(name string) string {
	host, port, err := net.SplitHostPort(s.addr)
	if err != nil {
		return "rtsp://" + s.addr + "/" + strings.Trim(name, "/")
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "rtsp://" + net.JoinHostPort(host, port) + "/" + strings.Trim(name, "/")
}

// Close stops every camera, disconnects every reader and closes the
// listeners. It waits for the camera goroutines and is safe to call twice.
func (s *CameraServer) Close() error {
	s.life.Lock()
	defer s.life.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	close(s.done)
	s.wg.Wait()
	for _, cam := range s.cams {
		cam.stop()
	}
	s.srv.Close()
	return nil
}

// Stop simulates a dead camera: its readers are disconnected and DESCRIBE
// answers 404 until Start. Stopping a stopped camera does nothing.
func (s *CameraServer) Stop(name string) error {
	cam, err := s.camera(name)
	if err != nil {
		return err
	}
	cam.stop()
	return nil
}

// Start brings a stopped camera back, as after a reboot: a new stream whose
// first picture is an IDR. Starting a running camera does nothing.
func (s *CameraServer) Start(name string) error {
	cam, err := s.camera(name)
	if err != nil {
		return err
	}
	s.life.Lock()
	defer s.life.Unlock()
	if s.closed {
		return fmt.Errorf("sitl: camera server closed")
	}
	return cam.start()
}

// SetStalled simulates a hung camera: while on, the session stays open but
// no packets are sent. When it ends the stream carries on where it left
// off, with a gap in the RTP timestamps.
func (s *CameraServer) SetStalled(name string, on bool) error {
	cam, err := s.camera(name)
	if err != nil {
		return err
	}
	cam.mu.Lock()
	cam.stalled = on
	cam.mu.Unlock()
	return nil
}

// SetSendGarbage simulates a broken encoder: while on, each picture is
// replaced by RTP packets (correct headers, sequence numbers and
// timestamps) whose payloads are random bytes. When it ends the next
// picture is an IDR.
func (s *CameraServer) SetSendGarbage(name string, on bool) error {
	cam, err := s.camera(name)
	if err != nil {
		return err
	}
	cam.mu.Lock()
	if cam.garbage && !on {
		cam.wantIDR = true
	}
	cam.garbage = on
	cam.mu.Unlock()
	return nil
}

func (s *CameraServer) camera(name string) (*camCamera, error) {
	cam, ok := s.cams[strings.Trim(name, "/")]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrCameraNotFound, name)
	}
	return cam, nil
}

// start creates a new stream unless one is running.
func (c *camCamera) start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.out != nil {
		return nil
	}
	media := &description.Media{
		Type: description.MediaTypeVideo,
		Formats: []format.Format{&format.H264{
			PayloadTyp:        camPayloadType,
			PacketizationMode: 1,
			SPS:               c.sps, // sprop-parameter-sets in the SDP
			PPS:               c.pps,
		}},
	}
	stream := &gortsplib.ServerStream{
		Server: c.srv,
		Desc:   &description.Session{Medias: []*description.Media{media}},
	}
	if err := stream.Initialize(); err != nil {
		return fmt.Errorf("sitl: camera %q: %w", c.cfg.Name, err)
	}
	rtpEnc, err := media.Formats[0].(*format.H264).CreateEncoder()
	if err != nil {
		stream.Close()
		return fmt.Errorf("sitl: camera %q: %w", c.cfg.Name, err)
	}
	c.out = &camOutput{
		stream: stream,
		media:  media,
		rtpEnc: rtpEnc,
		start:  c.clock(),
		tsBase: rand.Uint32(),
	}
	c.wantIDR = true
	return nil
}

// stop closes the stream, which disconnects its readers.
func (c *camCamera) stop() {
	c.mu.Lock()
	out := c.out
	c.out = nil
	c.mu.Unlock()
	if out != nil {
		out.stream.Close()
	}
}

// current returns the output to write this picture to (nil to skip the
// picture), whether to send garbage, and whether to force an IDR.
func (c *camCamera) current() (out *camOutput, garbage, idr bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.out == nil || c.stalled {
		return nil, false, false
	}
	idr = c.wantIDR && !c.garbage
	if idr {
		c.wantIDR = false
	}
	return c.out, c.garbage, idr
}

// run paces, renders, encodes and sends pictures until done closes.
func (c *camCamera) run(done <-chan struct{}) {
	h := fnv.New64a()
	_, _ = h.Write([]byte(c.cfg.Name))
	rnd := rand.New(rand.NewPCG(h.Sum64(), 1))
	tick := time.NewTicker(time.Second / time.Duration(c.cfg.FPS))
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		out, garbage, idr := c.current()
		if out == nil {
			// A stopped or stalled camera encodes nothing, so the encoder's
			// reference stays what receivers last decoded.
			continue
		}
		capture := c.clock()
		ts := out.tsBase + camRTPTicks(capture.Sub(out.start))
		var au [][]byte
		if garbage {
			au = camGarbage(rnd)
		} else {
			if idr {
				c.enc.ForceIDR()
			}
			var err error
			au, _, err = c.enc.Encode(c.scene.render(capture))
			if err != nil {
				// The scene always matches the encoder; nothing to send.
				continue
			}
		}
		c.send(done, out, au, ts, capture)
	}
}

// send packetizes one access unit and writes it, in bursts.
func (c *camCamera) send(done <-chan struct{}, out *camOutput, au [][]byte, ts uint32, capture time.Time) {
	pkts, err := out.rtpEnc.Encode(au)
	if err != nil {
		return
	}
	var pause time.Duration
	if bursts := (len(pkts) - 1) / camBurstPackets; bursts > 0 {
		pause = min(time.Millisecond, time.Second/time.Duration(2*c.cfg.FPS*bursts))
	}
	var timer *time.Timer
	for i, p := range pkts {
		if i > 0 && i%camBurstPackets == 0 {
			if timer == nil {
				timer = time.NewTimer(pause)
				defer timer.Stop()
			} else {
				timer.Reset(pause)
			}
			select {
			case <-done:
				return
			case <-timer.C:
			}
		}
		p.Timestamp = ts
		if err := out.stream.WritePacketRTPWithNTP(out.media, p, capture); err != nil {
			// The stream was stopped under us; the next picture finds out.
			return
		}
	}
}

// camGarbage returns one random "NAL unit" of at most 1400 bytes: the RTP
// packetizer sends it as a single-NAL packet, so the whole RTP payload is
// random, first byte (NAL or FU-A/STAP-A header) included.
func camGarbage(rnd *rand.Rand) [][]byte {
	b := make([]byte, 1+rnd.IntN(1400))
	for j := range b {
		b[j] = byte(rnd.Uint32())
	}
	return [][]byte{b}
}

// camRTPTicks converts a duration to 90 kHz RTP clock ticks, rounded, modulo 2^32,
// without overflowing for long-running cameras.
func camRTPTicks(d time.Duration) uint32 {
	if d < 0 {
		d = 0
	}
	sec := int64(d / time.Second)
	frac := int64(d % time.Second)
	// Rounded, so 1/30 s is 3000 ticks rather than 2999.
	return uint32(sec*camRTPClockHz + (frac*camRTPClockHz+int64(time.Second)/2)/int64(time.Second))
}

// camHandler answers the RTSP requests. It is a separate type so the
// gortsplib callbacks stay out of CameraServer's exported method set.
type camHandler struct {
	s *CameraServer
}

func (h *camHandler) stream(path string) (*base.Response, *gortsplib.ServerStream, error) {
	cam, ok := h.s.cams[strings.Trim(path, "/")]
	if !ok {
		return &base.Response{StatusCode: base.StatusNotFound}, nil, fmt.Errorf("%w: %q", ErrCameraNotFound, path)
	}
	cam.mu.Lock()
	out := cam.out
	cam.mu.Unlock()
	if out == nil {
		return &base.Response{StatusCode: base.StatusNotFound}, nil, fmt.Errorf("sitl: camera %q is stopped", cam.cfg.Name)
	}
	return &base.Response{StatusCode: base.StatusOK}, out.stream, nil
}

// OnDescribe implements gortsplib.ServerHandlerOnDescribe.
func (h *camHandler) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	return h.stream(ctx.Path)
}

// OnSetup implements gortsplib.ServerHandlerOnSetup.
func (h *camHandler) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	return h.stream(ctx.Path)
}

// OnPlay implements gortsplib.ServerHandlerOnPlay.
func (h *camHandler) OnPlay(*gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// OnStreamWriteError implements gortsplib.ServerHandlerOnStreamWriteError;
// without it gortsplib logs every dropped packet of a slow reader, and a
// simulated camera has no one to tell.
func (h *camHandler) OnStreamWriteError(*gortsplib.ServerHandlerOnStreamWriteErrorCtx) {}

// OnDecodeError implements gortsplib.ServerHandlerOnDecodeError (readers'
// RTCP that does not parse), silencing gortsplib's default logging.
func (h *camHandler) OnDecodeError(*gortsplib.ServerHandlerOnDecodeErrorCtx) {}
