package mavlink

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/bluenviron/gomavlib/v3"
	"github.com/pion/transport/v2/udp"
)

// ErrBadLinkURL is returned for a link URL that cannot be parsed.
var ErrBadLinkURL = errors.New("bad link URL")

// LinkKind is the transport and role of a link.
type LinkKind string

// The link kinds, named as mavp2p names them.
const (
	UDPServer    LinkKind = "udps" // listen for UDP datagrams on ADDR:PORT
	UDPClient    LinkKind = "udpc" // send to and receive from HOST:PORT
	UDPBroadcast LinkKind = "udpb" // broadcast to BCAST:PORT
	TCPServer    LinkKind = "tcps" // accept TCP connections on ADDR:PORT
	TCPClient    LinkKind = "tcpc" // connect to HOST:PORT, reconnecting when it drops
	Serial       LinkKind = "serial"
)

// udpSocketBuffer is the kernel buffer asked for on UDP links (the kernel caps it at net.core.rmem_max).
// Telemetry from a fleet arrives in bursts; when the reader is briefly descheduled the default ~200 KiB
// overflows and frames are lost before osprey ever sees them.
const udpSocketBuffer = 4 << 20

// DefaultBaud is the baud rate of a serial link whose URL names none (SiK radios' default).
const DefaultBaud = 57600

// LinkURL is a parsed link URL such as "udps:0.0.0.0:14550" or "serial:/dev/ttyUSB0:57600".
type LinkURL struct {
	Kind    LinkKind
	Address string // HOST:PORT for network links
	Device  string // serial device path
	Baud    int    // serial baud rate
}

// ParseLinkURL parses the mavp2p link URL convention:
//
//	udps:ADDR:PORT  udpc:HOST:PORT  udpb:BCAST:PORT  tcps:ADDR:PORT  tcpc:HOST:PORT  serial:DEVICE[:BAUD]
//
// IPv6 hosts are written in brackets, as in udpc:[::1]:14550.
func ParseLinkURL(s string) (LinkURL, error) {
	kind, rest, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || rest == "" {
		return LinkURL{}, fmt.Errorf("%w %q: want KIND:ADDRESS, e.g. udps:0.0.0.0:14550", ErrBadLinkURL, s)
	}
	switch k := LinkKind(kind); k {
	case UDPServer, UDPClient, UDPBroadcast, TCPServer, TCPClient:
		host, port, err := net.SplitHostPort(rest)
		if err != nil {
			return LinkURL{}, fmt.Errorf("%w %q: %v", ErrBadLinkURL, s, err)
		}
		if (k == UDPClient || k == TCPClient || k == UDPBroadcast) && host == "" {
			return LinkURL{}, fmt.Errorf("%w %q: %s needs a host", ErrBadLinkURL, s, k)
		}
		if strings.ContainsAny(host, "/ \t") {
			return LinkURL{}, fmt.Errorf("%w %q: bad host %q", ErrBadLinkURL, s, host)
		}
		if err := checkPort(port); err != nil {
			return LinkURL{}, fmt.Errorf("%w %q: %v", ErrBadLinkURL, s, err)
		}
		return LinkURL{Kind: k, Address: net.JoinHostPort(host, port)}, nil
	case Serial:
		dev, baud := rest, DefaultBaud
		if i := strings.LastIndexByte(rest, ':'); i >= 0 {
			b, err := strconv.Atoi(rest[i+1:])
			if err != nil || b <= 0 || b > 20_000_000 {
				return LinkURL{}, fmt.Errorf("%w %q: bad baud rate %q", ErrBadLinkURL, s, rest[i+1:])
			}
			dev, baud = rest[:i], b
		}
		if dev == "" {
			return LinkURL{}, fmt.Errorf("%w %q: serial needs a device", ErrBadLinkURL, s)
		}
		return LinkURL{Kind: Serial, Device: dev, Baud: baud}, nil
	default:
		return LinkURL{}, fmt.Errorf("%w %q: unknown kind %q (want udps, udpc, udpb, tcps, tcpc or serial)", ErrBadLinkURL, s, kind)
	}
}

func checkPort(p string) error {
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("bad port %q", p)
	}
	return nil
}

// String gives the URL back in its canonical form.
func (u LinkURL) String() string {
	if u.Kind == Serial {
		return fmt.Sprintf("serial:%s:%d", u.Device, u.Baud)
	}
	return string(u.Kind) + ":" + u.Address
}

// Endpoint returns the gomavlib endpoint for the URL. A serial device that does not exist is an error
// here, at once, rather than a link that retries forever in the background.
func (u LinkURL) Endpoint() (gomavlib.EndpointConf, error) {
	switch u.Kind {
	case UDPServer:
		addr := u.Address
		return gomavlib.EndpointCustomServer{Label: "udp", Listen: func() (net.Listener, error) {
			a, err := net.ResolveUDPAddr("udp", addr)
			if err != nil {
				return nil, err
			}
			lc := udp.ListenConfig{ReadBufferSize: udpSocketBuffer, WriteBufferSize: udpSocketBuffer}
			return lc.Listen("udp", a)
		}}, nil
	case UDPClient:
		addr := u.Address
		return gomavlib.EndpointCustomClient{Label: "udp", Connect: func(ctx context.Context) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, "udp", addr)
			if err != nil {
				return nil, err
			}
			uc := c.(*net.UDPConn)
			_ = uc.SetReadBuffer(udpSocketBuffer)
			_ = uc.SetWriteBuffer(udpSocketBuffer)
			return uc, nil
		}}, nil
	case UDPBroadcast:
		return gomavlib.EndpointUDPBroadcast{BroadcastAddress: u.Address}, nil
	case TCPServer:
		return gomavlib.EndpointTCPServer{Address: u.Address}, nil
	case TCPClient:
		return gomavlib.EndpointTCPClient{Address: u.Address}, nil
	case Serial:
		if _, err := os.Stat(u.Device); err != nil {
			return nil, fmt.Errorf("serial device %s: %w", u.Device, err)
		}
		return gomavlib.EndpointSerial{Device: u.Device, Baud: u.Baud}, nil
	}
	return nil, fmt.Errorf("%w: unknown kind %q", ErrBadLinkURL, u.Kind)
}
