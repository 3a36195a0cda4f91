package mavlink

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gomavlib/v3"
	apm "github.com/bluenviron/gomavlib/v3/pkg/dialects/ardupilotmega"
	"github.com/bluenviron/gomavlib/v3/pkg/frame"
	"github.com/bluenviron/gomavlib/v3/pkg/message"
)

// UnsignedPolicy says what a signing link does with frames that carry no signature.
type UnsignedPolicy string

// The unsigned-frame policies.
const (
	// RejectUnsigned drops every frame that is not correctly signed (and replayed frames).
	RejectUnsigned UnsignedPolicy = "reject"
	// AcceptUnsigned accepts unsigned frames, as ArduPilot does on its USB port and for a SiK radio's
	// RADIO_STATUS; a frame that does carry a signature must still carry a valid one.
	AcceptUnsigned UnsignedPolicy = "accept"
)

// LinkConfig describes a link to add.
type LinkConfig struct {
	// URL in the mavp2p convention, e.g. "udps:0.0.0.0:14550"; see ParseLinkURL.
	URL string
	// Name identifies the link; empty means the URL.
	Name string
	// Network is the MAVLink network the link belongs to. System ids are unique within a network, so the
	// same id heard on two links of one network is one vehicle (redundant radios), while separate networks
	// keep separate id spaces: a fleet of more than 250 vehicles spans several. Empty is the default network.
	Network string
	// Forward relays every frame received on this link to the other forwarding links, and theirs to it,
	// so QGroundControl or MAVProxy can ride along beside osprey.
	Forward bool
	// SigningKey, when set (32 bytes), signs every frame osprey sends with MAVLink 2 signing and checks the
	// signatures of frames received as Unsigned says.
	SigningKey []byte
	Unsigned   UnsignedPolicy

	// replay, when set, feeds the link from a recorded tlog instead of a transport.
	replay *replaySource
}

// Link is one transport with its own gomavlib node.
type Link struct {
	manager *Manager
	name    string
	network string
	url     string
	forward bool
	node    *gomavlib.Node
	signKey *frame.V2Key // set with AcceptUnsigned: signed frames are checked by osprey
	done    chan struct{}

	framesIn    atomic.Uint64
	parseErrors atomic.Uint64
	badSigned   atomic.Uint64
	lastErrMu   sync.Mutex
	lastErr     string
}

// LinkInfo is a link's name and counters.
type LinkInfo struct {
	Name        string
	URL         string
	Forward     bool
	FramesIn    uint64
	ParseErrors uint64 // garbage and frames that failed their checksum or signature
	LastError   string
}

type receivedFrame struct {
	frame   frame.Frame
	channel *gomavlib.Channel
}

// AddLink opens a link and starts reading it. The link's GCS HEARTBEAT goes out at 1 Hz from then on,
// whether or not anyone watches, so a vehicle's GCS failsafe never trips while osprey runs.
func (m *Manager) AddLink(conf LinkConfig) (*Link, error) {
	var endpoint gomavlib.EndpointConf
	name := conf.Name
	if conf.replay != nil {
		endpoint = gomavlib.EndpointCustomClient{Connect: conf.replay.connect, Label: "replay"}
	} else {
		u, err := ParseLinkURL(conf.URL)
		if err != nil {
			return nil, err
		}
		if endpoint, err = u.Endpoint(); err != nil {
			return nil, err
		}
		if name == "" {
			name = u.String()
		}
	}
	node := &gomavlib.Node{
		Endpoints:              []gomavlib.EndpointConf{endpoint},
		Dialect:                apm.Dialect,
		OutVersion:             gomavlib.V2,
		OutSystemID:            m.conf.SystemID,
		OutComponentID:         m.conf.ComponentID,
		HeartbeatPeriod:        time.Second,
		HeartbeatSystemType:    mavTypeGCS,
		HeartbeatAutopilotType: autopilotInvalid,
		// Idle TCP/UDP peers are kept: a vehicle that goes quiet is shown as lost, not forgotten.
		IdleTimeout: 24 * time.Hour,
	}
	l := &Link{manager: m, name: name, network: conf.Network, url: conf.URL, forward: conf.Forward, done: make(chan struct{})}
	if len(conf.SigningKey) > 0 {
		if len(conf.SigningKey) != 32 {
			return nil, fmt.Errorf("link %s: signing key must be 32 bytes, got %d", name, len(conf.SigningKey))
		}
		key := frame.NewV2Key(conf.SigningKey)
		node.OutKey = key
		switch conf.Unsigned {
		case RejectUnsigned, "":
			node.InKey = key
		case AcceptUnsigned:
			l.signKey = key
		default:
			return nil, fmt.Errorf("link %s: unsigned policy %q: want %q or %q", name, conf.Unsigned, RejectUnsigned, AcceptUnsigned)
		}
	}

	m.linksMu.Lock()
	defer m.linksMu.Unlock()
	if m.ctx.Err() != nil {
		return nil, ErrClosed
	}
	if name == "" {
		m.nextID++
		name = fmt.Sprintf("replay-%d", m.nextID)
		l.name = name
	}
	if _, ok := m.links[name]; ok {
		return nil, fmt.Errorf("%w: %s", ErrLinkExists, name)
	}
	if err := node.Initialize(); err != nil {
		return nil, fmt.Errorf("link %s: %w", name, err)
	}
	l.node = node
	m.links[name] = l
	m.wg.Add(1)
	go l.run()
	return l, nil
}

// RemoveLink closes a link. Vehicles heard only on it go quiet and show as lost.
func (m *Manager) RemoveLink(name string) error {
	m.linksMu.Lock()
	l := m.links[name]
	delete(m.links, name)
	m.linksMu.Unlock()
	if l == nil {
		return fmt.Errorf("%w: %s", ErrNoLink, name)
	}
	l.close()
	return nil
}

// Links lists the links with their counters.
func (m *Manager) Links() []LinkInfo {
	m.linksMu.RLock()
	defer m.linksMu.RUnlock()
	out := make([]LinkInfo, 0, len(m.links))
	for _, l := range m.links {
		out = append(out, l.Info())
	}
	return out
}

// Name is the link's name.
func (l *Link) Name() string { return l.name }

// Network is the MAVLink network the link belongs to.
func (l *Link) Network() string { return l.network }

// Info returns the link's counters.
func (l *Link) Info() LinkInfo {
	l.lastErrMu.Lock()
	defer l.lastErrMu.Unlock()
	return LinkInfo{Name: l.name, URL: l.url, Forward: l.forward, FramesIn: l.framesIn.Load(),
		ParseErrors: l.parseErrors.Load() + l.badSigned.Load(), LastError: l.lastErr}
}

// Done is closed when the link's reader has stopped: after RemoveLink, Close, or the end of a replay.
func (l *Link) Done() <-chan struct{} { return l.done }

func (l *Link) close() {
	l.node.Close()
	<-l.done
}

// run is the only reader of the node's events. It returns when the node closes its event channel.
func (l *Link) run() {
	defer l.manager.wg.Done()
	defer close(l.done)
	for e := range l.node.Events() {
		switch evt := e.(type) {
		case *gomavlib.EventFrame:
			if l.signKey != nil && !l.signatureOK(evt.Frame) {
				l.badSigned.Add(1)
				continue
			}
			l.framesIn.Add(1)
			l.manager.handleFrame(l, receivedFrame{frame: evt.Frame, channel: evt.Channel})
			if l.forward {
				l.manager.forward(l, evt.Frame)
			}
		case *gomavlib.EventParseError:
			// Garbage on the port is counted and shown, and never stops the link.
			l.parseErrors.Add(1)
			l.setLastError(evt.Error)
		case *gomavlib.EventChannelClose:
			if evt.Error != nil && !errors.Is(evt.Error, io.EOF) {
				l.setLastError(evt.Error)
			}
		}
	}
}

func (l *Link) setLastError(err error) {
	l.lastErrMu.Lock()
	l.lastErr = err.Error()
	l.lastErrMu.Unlock()
}

// signatureOK checks a signed frame against the link's key when unsigned frames are accepted.
func (l *Link) signatureOK(f frame.Frame) bool {
	v2, ok := f.(*frame.V2Frame)
	if !ok || !v2.IsSigned() {
		return true
	}
	// The signature covers the payload as it was on the wire, so the decoded message is encoded again,
	// into a copy: the original frame goes on to the state decoder.
	mp := l.manager.dialectRW.GetMessage(v2.Message.GetID())
	if mp == nil {
		return false
	}
	cp := *v2
	if _, raw := cp.Message.(*message.MessageRaw); !raw {
		cp.Message = mp.Write(cp.Message, true)
	}
	want := cp.GenerateSignature(l.signKey)
	return want != nil && v2.Signature != nil && subtle.ConstantTimeCompare(want[:], v2.Signature[:]) == 1
}

// forward relays a frame received on src to every other forwarding link, unchanged (system id, sequence
// and signature are the sender's).
func (m *Manager) forward(src *Link, f frame.Frame) {
	m.linksMu.RLock()
	defer m.linksMu.RUnlock()
	for _, l := range m.links {
		if l != src && l.forward {
			_ = l.node.WriteFrameAll(f) // best effort, as the radio itself is
		}
	}
}
