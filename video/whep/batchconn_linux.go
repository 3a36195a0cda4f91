package whep

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sysWriter sends datagrams with sendmsg, segmented by the kernel (UDP
// GSO, Linux 4.18+) when the socket supports it.
type sysWriter struct {
	raw  syscall.RawConn
	ipv6 bool // an AF_INET6 socket: IPv4 destinations are mapped
	gso  bool

	oob  map[int][]byte // UDP_SEGMENT control messages by segment size
	sa4  unix.SockaddrInet4
	sa6  unix.SockaddrInet6
	bufs [][]byte
	n    int
	err  error
	to   unix.Sockaddr
	ctl  []byte
	fn   func(fd uintptr) bool
}

func (s *sysWriter) init(conn *net.UDPConn) {
	s.oob = make(map[int][]byte)
	s.fn = s.sendmsg
	raw, err := conn.SyscallConn()
	if err != nil {
		return
	}
	s.raw = raw
	if la, ok := conn.LocalAddr().(*net.UDPAddr); ok {
		s.ipv6 = la.IP.To4() == nil
	}
	_ = raw.Control(func(fd uintptr) {
		// Reading the option succeeds exactly where setting it per send
		// is supported.
		_, err := unix.GetsockoptInt(int(fd), unix.SOL_UDP, unix.UDP_SEGMENT)
		s.gso = err == nil
	})
}

// segmentOOB returns the control message asking the kernel to cut a send
// into datagrams of size bytes.
func (s *sysWriter) segmentOOB(size int) []byte {
	if b, ok := s.oob[size]; ok {
		return b
	}
	b := make([]byte, unix.CmsgSpace(2))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level = unix.SOL_UDP
	h.Type = unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	*(*uint16)(unsafe.Pointer(&b[unix.CmsgLen(0)])) = uint16(size)
	if len(s.oob) > 64 {
		clear(s.oob)
	}
	s.oob[size] = b
	return b
}

func (s *sysWriter) sendmsg(fd uintptr) bool {
	s.n, s.err = unix.SendmsgBuffers(int(fd), s.bufs, s.ctl, s.to, 0)
	return !errors.Is(s.err, unix.EAGAIN) // false: wait until writable
}

// write sends pkts to dst in one system call: several packets only when
// segmentation is on and pkts is a valid run. It returns how many packets
// left.
func (s *sysWriter) write(dst netip.AddrPort, pkts [][]byte) (int, error) {
	if s.raw == nil {
		return 0, net.ErrClosed
	}
	a := dst.Addr()
	switch {
	case a.Is4() && !s.ipv6:
		s.sa4.Addr, s.sa4.Port = a.As4(), int(dst.Port())
		s.to = &s.sa4
	default:
		s.sa6.Addr, s.sa6.Port = a.As16(), int(dst.Port())
		s.to = &s.sa6
	}
	s.bufs, s.ctl = pkts, nil
	if len(pkts) > 1 {
		s.ctl = s.segmentOOB(len(pkts[0]))
	}
	err := s.raw.Write(s.fn)
	if err == nil {
		err = s.err
	}
	s.bufs, s.ctl = nil, nil
	if err == nil {
		return len(pkts), nil
	}
	if len(pkts) > 1 && (errors.Is(err, unix.EIO) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP)) {
		// The route cannot segment (no checksum offload, IPsec): send
		// one by one from now on.
		s.gso = false
		sent := 0
		var last error
		for i := range pkts {
			n, err := s.write(dst, pkts[i:i+1])
			sent += n
			if err != nil {
				last = err
			}
		}
		return sent, last
	}
	return 0, err
}
