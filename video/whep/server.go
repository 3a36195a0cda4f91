// Package whep serves video.Streams to WebRTC viewers over WHEP: a viewer
// POSTs an SDP offer to /api/v1/streams/{name}/whep and gets an answer and
// a session URL it DELETEs to leave. Every session shares one UDP port (and
// optionally one TCP port) through ICE multiplexing, so a firewall needs one
// rule.
package whep

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"

	"github.com/ospreygcs/osprey/video"
)

// Errors callers branch on.
var (
	// ErrClosed is returned by Server methods after Close.
	ErrClosed = errors.New("whep: server closed")
)

// Defaults.
const (
	// DefaultMaxOfferBytes bounds an SDP offer; browsers send 4-12 KB.
	DefaultMaxOfferBytes = 64 << 10
	// DefaultMaxSessions bounds concurrent sessions; beyond it POST gets
	// 503 with Retry-After.
	DefaultMaxSessions = 256
	// DefaultSetupTimeout is how long a session may take from the answer
	// to a connected peer before it is dropped.
	DefaultSetupTimeout = 20 * time.Second
	// DefaultICEDisconnectedTimeout and DefaultICEFailedTimeout: a viewer
	// that stops answering ICE consent checks is disconnected after the
	// first and reaped after both.
	DefaultICEDisconnectedTimeout = 5 * time.Second
	DefaultICEFailedTimeout       = 10 * time.Second
	// DefaultQueueUnits is each viewer's queue length in units.
	DefaultQueueUnits = 256
	// retryAfterOffline is the Retry-After for a stream whose source is
	// offline: about one reconnection attempt.
	retryAfterOffline = 3
)

// ICEServer is a STUN or TURN server handed to viewers in Link headers.
// The relay itself does not use it.
type ICEServer struct {
	// URLs such as "stun:stun.example.net:3478" or
	// "turn:turn.example.net?transport=udp".
	URLs []string
	// Username and Credential, for TURN.
	Username   string
	Credential string
}

// Config configures a Server.
type Config struct {
	// UDPAddress is where ICE listens for every session, such as ":8189"
	// or "127.0.0.1:0". An unspecified host listens on each interface
	// address. Required.
	UDPAddress string
	// TCPAddress, when set, also accepts ICE over TCP (passive
	// candidates), for viewers behind firewalls that block UDP.
	TCPAddress string
	// NAT1To1IPs are public addresses to announce instead of the host's
	// own, when the relay sits behind a 1:1 NAT (a cloud VM).
	NAT1To1IPs []string
	// ICEServers are returned to viewers as Link headers (rel="ice-server")
	// so they can reach the relay through STUN/TURN.
	ICEServers []ICEServer
	// MaxOfferBytes bounds the request body (413 beyond). Zero means
	// DefaultMaxOfferBytes.
	MaxOfferBytes int64
	// MaxSessions bounds concurrent sessions (503 beyond). Zero means
	// DefaultMaxSessions.
	MaxSessions int
	// QueueUnits is each session's queue length. Zero means
	// DefaultQueueUnits.
	QueueUnits int
	// SetupTimeout, ICEDisconnectedTimeout, ICEFailedTimeout: zero means
	// the defaults.
	SetupTimeout           time.Duration
	ICEDisconnectedTimeout time.Duration
	ICEFailedTimeout       time.Duration
	// AllowOrigin is the CORS Access-Control-Allow-Origin value. Empty
	// means "*": WHEP players are often served from elsewhere, and the
	// endpoint carries no cookies (authentication is a bearer token).
	AllowOrigin string
	// Logf, when set, receives one line per session event.
	Logf func(format string, args ...any)
}

// StreamFinder finds a stream by name; *video.Hub implements it.
type StreamFinder interface {
	Stream(name string) (*video.Stream, error)
}

// Server is the WHEP endpoint. It is an http.Handler.
type Server struct {
	cfg     Config
	streams StreamFinder
	api     *webrtc.API
	udpMux  ice.UDPMux
	udpAddr net.Addr     // nil for a multi-interface mux
	conns   []*batchConn // the UDP sockets under udpMux
	lane    *lane        // catch-up bytes of every session
	// resendBudget bounds the packets all sessions send again.
	resendBudget budget
	// streaming counts sessions past setup, sharing the live budget;
	// joining those negotiating or catching up, sharing the lane;
	// handshakes those between offer and connection, for which catch-up
	// yields (pace.go).
	streaming  atomic.Int32
	joining    atomic.Int32
	handshakes *handshakes
	tcpMux     ice.TCPMux
	tcpLn      net.Listener
	mux        *http.ServeMux

	mu       sync.Mutex
	closed   bool
	sessions map[string]*session
	wg       sync.WaitGroup
}

// New opens the ICE sockets and returns a server for the streams.
func New(cfg Config, streams StreamFinder) (*Server, error) {
	if streams == nil {
		return nil, errors.New("whep: nil stream finder")
	}
	if cfg.UDPAddress == "" {
		return nil, errors.New("whep: UDPAddress is required")
	}
	if cfg.MaxOfferBytes <= 0 {
		cfg.MaxOfferBytes = DefaultMaxOfferBytes
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	if cfg.QueueUnits <= 0 {
		cfg.QueueUnits = DefaultQueueUnits
	}
	if cfg.SetupTimeout <= 0 {
		cfg.SetupTimeout = DefaultSetupTimeout
	}
	if cfg.ICEDisconnectedTimeout <= 0 {
		cfg.ICEDisconnectedTimeout = DefaultICEDisconnectedTimeout
	}
	if cfg.ICEFailedTimeout <= 0 {
		cfg.ICEFailedTimeout = DefaultICEFailedTimeout
	}
	if cfg.AllowOrigin == "" {
		cfg.AllowOrigin = "*"
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	for _, ip := range cfg.NAT1To1IPs {
		if net.ParseIP(ip) == nil {
			return nil, fmt.Errorf("whep: NAT 1:1 address %q is not an IP address", ip)
		}
	}
	for _, is := range cfg.ICEServers {
		for _, u := range is.URLs {
			if !strings.HasPrefix(u, "stun:") && !strings.HasPrefix(u, "stuns:") &&
				!strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
				return nil, fmt.Errorf("whep: ICE server %q: want a stun:, stuns:, turn: or turns: URL", u)
			}
			if strings.ContainsAny(u, "<>\r\n\"") {
				return nil, fmt.Errorf("whep: ICE server %q: invalid characters", u)
			}
		}
		if strings.ContainsAny(is.Username+is.Credential, "\r\n\"\\") {
			return nil, errors.New("whep: ICE server credentials contain invalid characters")
		}
	}

	s := &Server{cfg: cfg, streams: streams, sessions: make(map[string]*session), lane: &lane{}, handshakes: newHandshakes(),
		resendBudget: budget{p: newPacer(resendBudgetBytesPerS, resendBudgetBurstBytes)}}
	if err := s.listen(); err != nil {
		return nil, err
	}
	api, err := s.newAPI()
	if err != nil {
		s.closeSockets()
		return nil, err
	}
	s.api = api
	s.mux = http.NewServeMux()
	// Stream names contain slashes ("sim/1"), which a {name} wildcard does
	// not match, so the tail is parsed by hand.
	s.mux.HandleFunc("POST "+PathPrefix+"{rest...}", s.handlePost)
	s.mux.HandleFunc("DELETE "+PathPrefix+"{rest...}", s.handleDelete)
	s.mux.HandleFunc("PATCH "+PathPrefix+"{rest...}", s.handlePatch)
	s.mux.HandleFunc("OPTIONS "+PathPrefix+"{rest...}", s.handleOptions)
	return s, nil
}

// PathPrefix is where the endpoints live: POST PathPrefix+NAME+"/whep",
// DELETE PathPrefix+NAME+"/whep/"+SESSION.
const PathPrefix = "/api/v1/streams/"

// ServeHTTP implements http.Handler for the paths under PathPrefix.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Register adds the WHEP routes to mux (Go 1.22 patterns, method-specific),
// for servers that mount several handlers under /api/v1/streams/.
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST "+PathPrefix+"{rest...}", s.handlePost)
	mux.HandleFunc("DELETE "+PathPrefix+"{rest...}", s.handleDelete)
	mux.HandleFunc("PATCH "+PathPrefix+"{rest...}", s.handlePatch)
	mux.HandleFunc("OPTIONS "+PathPrefix+"{rest...}", s.handleOptions)
}

// UDPAddr returns the ICE UDP address actually bound, or nil when the
// server listens on every interface.
func (s *Server) UDPAddr() net.Addr { return s.udpAddr }

// TCPAddr returns the ICE-TCP address actually bound, or nil.
func (s *Server) TCPAddr() net.Addr {
	if s.tcpLn == nil {
		return nil
	}
	return s.tcpLn.Addr()
}

// Sessions returns the number of live sessions.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Close ends every session, waits for them and closes the sockets. Safe to
// call twice.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for _, se := range s.sessions {
		se.stop()
	}
	s.mu.Unlock()
	s.wg.Wait()
	s.closeSockets()
	return nil
}

func (s *Server) listen() error {
	host, port, err := net.SplitHostPort(s.cfg.UDPAddress)
	if err != nil {
		return fmt.Errorf("whep: UDP address %q: %w", s.cfg.UDPAddress, err)
	}
	logger := quietLoggerFactory().NewLogger("ice")
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		p, err := strconv.Atoi(port)
		if err != nil || p < 0 || p > 65535 {
			return fmt.Errorf("whep: UDP address %q: bad port", s.cfg.UDPAddress)
		}
		n, err := stdnet.NewNet()
		if err != nil {
			return fmt.Errorf("whep: network interfaces: %w", err)
		}
		bn := &batchNet{Net: n}
		m, err := ice.NewMultiUDPMuxFromPort(p, ice.UDPMuxFromPortWithNetworks(ice.NetworkTypeUDP4),
			ice.UDPMuxFromPortWithLogger(logger), ice.UDPMuxFromPortWithNet(bn))
		s.conns = bn.conns
		if err != nil {
			s.closeSockets() // the sockets opened before the failure
			return fmt.Errorf("whep: listen UDP %q: %w", s.cfg.UDPAddress, err)
		}
		s.udpMux = m
	} else {
		addr, err := net.ResolveUDPAddr("udp", s.cfg.UDPAddress)
		if err != nil {
			return fmt.Errorf("whep: UDP address %q: %w", s.cfg.UDPAddress, err)
		}
		conn, err := net.ListenUDP("udp", addr)
		if err != nil {
			return fmt.Errorf("whep: listen UDP: %w", err)
		}
		bc := newBatchConn(conn)
		s.conns = []*batchConn{bc}
		s.udpAddr = conn.LocalAddr()
		s.udpMux = webrtc.NewICEUDPMux(logger, bc)
	}
	if s.cfg.TCPAddress != "" {
		ln, err := net.Listen("tcp", s.cfg.TCPAddress)
		if err != nil {
			s.closeSockets()
			return fmt.Errorf("whep: listen TCP: %w", err)
		}
		s.tcpLn = ln
		s.tcpMux = webrtc.NewICETCPMux(quietLoggerFactory().NewLogger("ice-tcp"), ln, 8)
	}
	return nil
}

func (s *Server) closeSockets() {
	if s.udpMux != nil {
		_ = s.udpMux.Close()
	}
	for _, c := range s.conns {
		_ = c.Close() // the mux closed them already, unless it failed to start
	}
	if s.tcpMux != nil {
		_ = s.tcpMux.Close()
	}
	if s.tcpLn != nil {
		_ = s.tcpLn.Close()
	}
}

// quietLoggerFactory keeps pion to errors: its warnings about every
// unanswered STUN packet would drown the relay's own log.
func quietLoggerFactory() *logging.DefaultLoggerFactory {
	f := logging.NewDefaultLoggerFactory()
	f.DefaultLogLevel = logging.LogLevelError
	return f
}

// newAPI builds the one pion API all sessions share.
func (s *Server) newAPI() (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	for _, c := range videoCodecs() {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, fmt.Errorf("whep: register codec: %w", err)
		}
	}
	for _, c := range audioCodecs() {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, fmt.Errorf("whep: register codec: %w", err)
		}
	}
	// No interceptors: each costs time (a lock, a clock read, a copy) on
	// every packet of every session. Sessions answer NACKs from their own
	// history (history.go) and send their sender reports (track.go);
	// pion's statistics and congestion-control feedback are figures
	// nobody reads. The codecs announce the nack and pli feedback.
	ir := &interceptor.Registry{}

	se := webrtc.SettingEngine{LoggerFactory: quietLoggerFactory()}
	se.SetICEUDPMux(s.udpMux)
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	if s.tcpMux != nil {
		se.SetICETCPMux(s.tcpMux)
		networks = append(networks, webrtc.NetworkTypeTCP4)
	}
	se.SetNetworkTypes(networks)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetICETimeouts(s.cfg.ICEDisconnectedTimeout, s.cfg.ICEFailedTimeout, time.Second)
	if len(s.cfg.NAT1To1IPs) > 0 {
		// A relay behind a 1:1 NAT (a cloud VM) advertises its public addresses in place of its host ones.
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{External: s.cfg.NAT1To1IPs,
			AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteReplace}); err != nil {
			return nil, fmt.Errorf("whep: NAT 1:1 addresses %v: %w", s.cfg.NAT1To1IPs, err)
		}
	}
	if isLoopback(s.udpAddr) {
		se.SetIncludeLoopbackCandidate(true)
	}
	// No STUN gathering on the relay side: it opens no outbound connection
	// except where configured, and NAT1To1IPs covers a cloud relay.
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// holdWrites and releaseWrites bracket a burst of a session's packets (see
// batchConn.hold).
func (s *Server) holdWrites() {
	for _, c := range s.conns {
		c.hold()
	}
}

func (s *Server) releaseWrites() {
	for _, c := range s.conns {
		c.release()
	}
}

// batchNet is the network pion's multi-interface mux listens through: its
// sockets are batchConns.
type batchNet struct {
	*stdnet.Net
	conns []*batchConn
}

// ListenUDP opens a socket for one interface address.
func (n *batchNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	conn, err := net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	bc := newBatchConn(conn)
	n.conns = append(n.conns, bc)
	return bc, nil
}

func isLoopback(a net.Addr) bool {
	ua, ok := a.(*net.UDPAddr)
	return ok && ua.IP.IsLoopback()
}

// newSessionID returns 128 random bits, hex-encoded: session URLs are
// capabilities (whoever knows one can end the session), so they must not be
// guessable.
func newSessionID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("whep: session id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
