//go:build !linux

package whep

import (
	"net"
	"net/netip"
)

// sysWriter sends one datagram per write where segmentation offload is
// not available.
type sysWriter struct {
	conn *net.UDPConn
	gso  bool // always false
}

func (s *sysWriter) init(conn *net.UDPConn) { s.conn = conn }

// write sends pkts (one packet: gso is off) to dst.
func (s *sysWriter) write(dst netip.AddrPort, pkts [][]byte) (int, error) {
	sent := 0
	var last error
	for _, p := range pkts {
		if _, err := s.conn.WriteToUDPAddrPort(p, dst); err != nil {
			last = err
			continue
		}
		sent++
	}
	return sent, last
}
