package whep

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/ospreygcs/osprey/video"
)

func TestGSORun(t *testing.T) {
	sizes := func(ns ...int) [][]byte {
		var out [][]byte
		for _, n := range ns {
			out = append(out, make([]byte, n))
		}
		return out
	}
	repeat := func(size, n int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = size
		}
		return out
	}
	for _, tc := range []struct {
		name string
		pkts [][]byte
		want int
	}{
		{"one packet", sizes(1200), 1},
		{"equal sizes", sizes(1200, 1200, 1200), 3},
		{"a shorter packet ends the run", sizes(1200, 1200, 700, 1200), 3},
		{"a longer packet starts the next run", sizes(700, 1200), 1},
		{"a short first packet runs with equal ones", sizes(100, 100, 100, 50), 4},
		{"segment limit", sizes(repeat(100, maxGSOSegments+5)...), maxGSOSegments},
		{"byte limit", sizes(repeat(1200, 60)...), maxGSOBytes / 1200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := gsoRun(tc.pkts); got != tc.want {
				t.Fatalf("gsoRun = %d, want %d", got, tc.want)
			}
		})
	}
}

// listenLoopback returns a UDP socket on 127.0.0.1 with room for bursts.
func listenLoopback(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadBuffer(1 << 20)
	t.Cleanup(func() { c.Close() })
	return c
}

// waitSent waits until the writer has sent n packets.
func waitSent(t *testing.T, bc *batchConn, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for bc.stats.packets.Load() != uint64(n) {
		if time.Now().After(deadline) {
			t.Fatalf("the writer sent %d packets, want %d", bc.stats.packets.Load(), n)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// testPacket builds a datagram naming its destination and index, padded to
// size.
func testPacket(dst, i, size int) []byte {
	b := make([]byte, size)
	binary.BigEndian.PutUint16(b[0:], uint16(dst))
	binary.BigEndian.PutUint32(b[2:], uint32(i))
	for j := 6; j < size; j++ {
		b[j] = byte(i + j)
	}
	return b
}

func TestBatchConnDeliversInOrderPerDestination(t *testing.T) {
	for _, gso := range []bool{true, false} {
		t.Run(fmt.Sprintf("gso=%v", gso), func(t *testing.T) {
			rx := []*net.UDPConn{listenLoopback(t), listenLoopback(t), listenLoopback(t)}
			bc := newBatchConn(listenLoopback(t))
			defer bc.Close()
			if !gso {
				bc.w.sys.gso = false // before the first write: the writer reads it after a kick
			}
			// Bursts as sessions write them: pictures of full packets and a
			// shorter last one, across destinations, some within
			// hold/release and some not (RTCP, STUN). Each burst starts
			// once the writer sent the ones before, so the number of sends
			// is known: one per held burst, one per packet otherwise.
			type sent struct{ dst, i, size int }
			var want [3][]sent
			count, wantSends := 0, 0
			for round := range 20 {
				for d := range rx {
					waitSent(t, bc, count)
					held := (round+d)%3 != 0
					if held {
						bc.hold()
					}
					n := 1 + (round*7+d)%12
					for k := range n {
						size := 1200
						if k == n-1 {
							size = 200 + 37*round
						}
						b := testPacket(d, count, size)
						if _, err := bc.WriteToAddrPort(b, rx[d].LocalAddr().(*net.UDPAddr).AddrPort()); err != nil {
							t.Fatal(err)
						}
						want[d] = append(want[d], sent{d, count, size})
						count++
						if !held {
							waitSent(t, bc, count)
							wantSends++
						}
					}
					if held {
						bc.release()
						wantSends++
					}
				}
			}
			for d, c := range rx {
				buf := make([]byte, 2048)
				for j, w := range want[d] {
					_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
					n, err := c.Read(buf)
					if err != nil {
						t.Fatalf("destination %d: packet %d of %d: %v", d, j, len(want[d]), err)
					}
					if !bytes.Equal(buf[:n], testPacket(w.dst, w.i, w.size)) {
						t.Fatalf("destination %d: packet %d: got %d bytes (index %d), want packet %d of %d bytes", d, j, n,
							binary.BigEndian.Uint32(buf[2:]), w.i, w.size)
					}
				}
			}
			packets, sends := bc.stats.packets.Load(), bc.stats.sends.Load()
			t.Logf("%d packets in %d sends (segmentation offload %v)", packets, sends, bc.w.sys.gso)
			if packets != uint64(count) || bc.stats.dropped.Load() != 0 {
				t.Fatalf("stats: %d packets sent, %d dropped; want %d and 0", packets, bc.stats.dropped.Load(), count)
			}
			switch {
			case !bc.w.sys.gso && sends != packets:
				t.Fatalf("without segmentation: %d sends for %d packets", sends, packets)
			case bc.w.sys.gso && sends != uint64(wantSends):
				t.Fatalf("with segmentation: %d sends, want %d: one per held burst, one per packet written alone", sends, wantSends)
			}
		})
	}
}

func TestBatchConnConcurrentWritersAndClose(t *testing.T) {
	rx := listenLoopback(t)
	dst := rx.LocalAddr().(*net.UDPAddr).AddrPort()
	bc := newBatchConn(listenLoopback(t))
	// Writers enough to fill the queue many times over: they wait for
	// room, never fail, and are released by Close.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				bc.hold()
				_, err := bc.WriteToAddrPort(testPacket(w, i, 1200), dst)
				bc.release()
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	for bc.stats.packets.Load() < 5000 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := bc.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("write after Close: %v, want net.ErrClosed", err)
		}
	}
	if bc.stats.packets.Load() < 5000 {
		t.Fatalf("only %d packets sent in 5 s", bc.stats.packets.Load())
	}
	if err := bc.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := bc.WriteTo([]byte{1}, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("WriteTo after Close: %v", err)
	}
}

func TestBatchConnWriteToForms(t *testing.T) {
	rx := listenLoopback(t)
	bc := newBatchConn(listenLoopback(t))
	defer bc.Close()
	ua := rx.LocalAddr().(*net.UDPAddr)
	mapped := netip.AddrPortFrom(netip.AddrFrom16(ua.AddrPort().Addr().As16()), ua.AddrPort().Port())
	writes := []func([]byte) (int, error){
		func(b []byte) (int, error) { return bc.WriteTo(b, ua) },
		func(b []byte) (int, error) { return bc.WriteToUDP(b, ua) },
		func(b []byte) (int, error) { return bc.WriteToUDPAddrPort(b, ua.AddrPort()) },
		func(b []byte) (int, error) { return bc.WriteToAddrPort(b, mapped) }, // IPv4-mapped: unmapped for an IPv4 socket
	}
	for i, w := range writes {
		if n, err := w([]byte{byte(i)}); n != 1 || err != nil {
			t.Fatalf("write %d: %d, %v", i, n, err)
		}
	}
	if _, err := bc.WriteTo([]byte{9}, &net.IPAddr{IP: net.IPv4(127, 0, 0, 1)}); err == nil {
		t.Fatal("WriteTo a non-UDP address succeeded")
	}
	buf := make([]byte, 16)
	for i := range writes {
		_ = rx.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := rx.Read(buf)
		if err != nil || n != 1 || buf[0] != byte(i) {
			t.Fatalf("read %d: %d %v %v", i, n, buf[:n], err)
		}
	}
	// Reads go straight to the socket.
	if _, err := rx.WriteToUDP([]byte("ping"), bc.LocalAddr().(*net.UDPAddr)); err != nil {
		t.Fatal(err)
	}
	_ = bc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := bc.ReadFromAddrPort(buf)
	if err != nil || string(buf[:n]) != "ping" || from != ua.AddrPort() {
		t.Fatalf("ReadFromAddrPort = %q from %v, %v", buf[:n], from, err)
	}
}

// TestEveryInterfaceSocketIsBatched: with an unspecified address the
// relay listens on each interface address through pion's multi-socket
// mux, and each of those sockets is a batchConn that Close releases.
func TestEveryInterfaceSocketIsBatched(t *testing.T) {
	s, err := New(Config{UDPAddress: "0.0.0.0:0"}, video.NewHub(video.StreamConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	if s.UDPAddr() != nil {
		t.Fatalf("UDPAddr = %v for a multi-interface server", s.UDPAddr())
	}
	ifaceAddrs := 0
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() {
			ifaceAddrs++
		}
	}
	t.Logf("%d sockets for %d non-loopback IPv4 addresses", len(s.conns), ifaceAddrs)
	if ifaceAddrs > 0 && len(s.conns) == 0 {
		t.Fatal("no batched sockets under the multi-interface mux")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range s.conns {
		if _, err := c.WriteToAddrPort([]byte{1}, netip.MustParseAddrPort("127.0.0.1:9")); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("socket still open after Close: %v", err)
		}
	}
}
