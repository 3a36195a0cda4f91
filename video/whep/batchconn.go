package whep

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
)

// Every session's packets leave through the one ICE socket, and a
// socket's writes are serialised by the kernel and by Go's descriptor
// lock: one sendto per packet (a syscall plus the whole UDP/IP path,
// 4-8 µs) capped the relay near one core. batchConn queues the packets
// pion writes and a single writer goroutine sends them grouped by viewer,
// several datagrams per system call: with UDP generic segmentation
// offload (Linux), a run of equal-sized packets to one viewer is a single
// sendmsg, segmented by the kernel (or the NIC), which costs about a
// quarter of separate sends.

// Limits of the send queue and of one segmented send.
const (
	// maxQueuedBytes bounds the bytes waiting for the writer (about 1700
	// WebRTC packets); a writer that falls this far behind makes pion's
	// writers wait.
	maxQueuedBytes = 2 << 20
	// flushBytes wakes the writer even while sessions hold it.
	flushBytes = 512 << 10
	// maxGSOSegments and maxGSOBytes bound one segmented send: the kernel
	// takes at most 64 segments (UDP_MAX_SEGMENTS on older kernels) and
	// one UDP datagram of at most 65507 bytes.
	maxGSOSegments = 64
	maxGSOBytes    = 65000
)

// queuedPacket is one datagram waiting for the writer: arena[off:end].
type queuedPacket struct {
	dst      netip.AddrPort
	off, end int
}

// batchStats counts what the writer did, for tests and benchmarks.
type batchStats struct {
	packets atomic.Uint64 // datagrams sent
	sends   atomic.Uint64 // system calls (or per-datagram writes) made
	dropped atomic.Uint64 // datagrams the kernel refused
}

// batchConn is a UDP socket for pion's ICE mux whose writes are queued
// and sent in batches by its own goroutine. Reads, addresses and options
// go straight to the socket. Writes never reorder packets to one
// destination.
type batchConn struct {
	*net.UDPConn
	stats batchStats

	mu       sync.Mutex
	queue    []queuedPacket
	arena    []byte         // the queued packets' bytes, back to back
	spareQ   []queuedPacket // the writer's previous batch, reused
	spareA   []byte
	holds    int           // sessions in the middle of a burst
	waiters  int           // writers blocked on a full queue
	space    chan struct{} // closed when the queue has room again
	closed   bool
	kick     chan struct{} // capacity 1: the writer has work
	done     chan struct{}
	finished chan struct{} // closed when the writer goroutine ended

	// Owned by the writer goroutine.
	w writerState
}

// newBatchConn takes over conn and starts its writer; Close stops it and
// closes conn.
func newBatchConn(conn *net.UDPConn) *batchConn {
	// Bursts to many viewers at once (a keyframe fanned out) need room in
	// the socket; the kernel caps these at net.core.[rw]mem_max.
	_ = conn.SetWriteBuffer(4 << 20)
	_ = conn.SetReadBuffer(4 << 20)
	c := &batchConn{
		UDPConn:  conn,
		kick:     make(chan struct{}, 1),
		done:     make(chan struct{}),
		finished: make(chan struct{}),
	}
	c.w.init(conn)
	go c.run()
	return c
}

// hold marks the start of a burst (a picture's packets): the writer waits
// for the matching release, so the burst leaves in as few sends as
// possible. Holders must release promptly and never block in between.
func (c *batchConn) hold() {
	c.mu.Lock()
	c.holds++
	c.mu.Unlock()
}

// release ends a burst started by hold.
func (c *batchConn) release() {
	c.mu.Lock()
	c.holds--
	wake := c.holds == 0 && len(c.queue) > 0
	c.mu.Unlock()
	if wake {
		c.wake()
	}
}

func (c *batchConn) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// WriteToAddrPort queues b for addr. It is pion's write path (ice's
// AddrPortReaderWriter).
func (c *batchConn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
	c.mu.Lock()
	for len(c.arena)+len(b) > maxQueuedBytes && len(c.queue) > 0 && !c.closed {
		if c.space == nil {
			c.space = make(chan struct{})
		}
		space := c.space
		c.waiters++
		c.mu.Unlock()
		select {
		case <-space:
		case <-c.done:
		}
		c.mu.Lock()
		c.waiters--
	}
	if c.closed {
		c.mu.Unlock()
		return 0, net.ErrClosed
	}
	off := len(c.arena)
	c.arena = append(c.arena, b...)
	c.queue = append(c.queue, queuedPacket{dst: addr, off: off, end: len(c.arena)})
	wake := (len(c.queue) == 1 && c.holds == 0) || off < flushBytes && len(c.arena) >= flushBytes
	c.mu.Unlock()
	if wake {
		c.wake()
	}
	return len(b), nil
}

// WriteTo queues b for addr, a *net.UDPAddr.
func (c *batchConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, &net.OpError{Op: "write", Net: "udp", Addr: addr, Err: errors.New("not a UDP address")}
	}
	return c.WriteToAddrPort(b, ua.AddrPort())
}

// WriteToUDP queues b for addr.
func (c *batchConn) WriteToUDP(b []byte, addr *net.UDPAddr) (int, error) {
	return c.WriteToAddrPort(b, addr.AddrPort())
}

// WriteToUDPAddrPort queues b for addr.
func (c *batchConn) WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	return c.WriteToAddrPort(b, addr)
}

// ReadFromAddrPort reads one datagram (ice's AddrPortReaderWriter).
func (c *batchConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	return c.ReadFromUDPAddrPort(b)
}

// Close stops the writer (queued packets are dropped) and closes the
// socket. Safe to call twice.
func (c *batchConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		<-c.finished
		return nil
	}
	c.closed = true
	close(c.done)
	c.mu.Unlock()
	<-c.finished
	return c.UDPConn.Close()
}

// run is the writer goroutine: each kick sends everything queued.
func (c *batchConn) run() {
	defer close(c.finished)
	for {
		select {
		case <-c.kick:
		case <-c.done:
			return
		}
		c.mu.Lock()
		batch, arena := c.queue, c.arena
		c.queue, c.arena = c.spareQ[:0], c.spareA[:0]
		c.spareQ, c.spareA = nil, nil
		c.mu.Unlock()
		if len(batch) > 0 {
			c.w.send(batch, arena, &c.stats)
		}
		c.mu.Lock()
		c.spareQ, c.spareA = batch[:0], arena[:0]
		if c.waiters > 0 && c.space != nil {
			close(c.space)
			c.space = nil
		}
		c.mu.Unlock()
	}
}

// writerState is the writer goroutine's scratch space, reused across
// batches.
type writerState struct {
	sys     sysWriter
	groups  map[netip.AddrPort]int // destination -> group index
	order   []netip.AddrPort       // destinations by first appearance
	counts  []int                  // packets per group, then group starts
	group   []int32                // each packet's group
	ordered [][]byte               // packets grouped by destination
}

func (w *writerState) init(conn *net.UDPConn) {
	w.groups = make(map[netip.AddrPort]int)
	w.sys.init(conn)
}

// send sends a batch: packets grouped by destination (keeping each
// destination's order), each group cut into runs of equal-sized packets
// (the last of a run may be shorter) that go out in one segmented send.
func (w *writerState) send(batch []queuedPacket, arena []byte, st *batchStats) {
	clear(w.groups)
	w.order, w.counts = w.order[:0], w.counts[:0]
	// A session writes a picture's packets back to back, so most packets
	// go where the one before went: only a change of destination costs a
	// map lookup.
	w.group = slices.Grow(w.group[:0], len(batch))[:len(batch)]
	last := -1
	for i, p := range batch {
		if last < 0 || p.dst != w.order[last] {
			g, ok := w.groups[p.dst]
			if !ok {
				g = len(w.order)
				w.groups[p.dst] = g
				w.order = append(w.order, p.dst)
				w.counts = append(w.counts, 0)
			}
			last = g
		}
		w.group[i] = int32(last)
		w.counts[last]++
	}
	// Counting sort: counts become each group's next free index.
	start := 0
	for g, n := range w.counts {
		w.counts[g] = start
		start += n
	}
	w.ordered = slices.Grow(w.ordered[:0], len(batch))[:len(batch)]
	for i, p := range batch {
		g := w.group[i]
		w.ordered[w.counts[g]] = arena[p.off:p.end]
		w.counts[g]++
	}
	lo := 0
	for g, dst := range w.order {
		hi := w.counts[g]
		w.sendGroup(dst, w.ordered[lo:hi], st)
		lo = hi
	}
	clear(w.ordered)
}

// sendGroup sends one destination's packets in segmented runs.
func (w *writerState) sendGroup(dst netip.AddrPort, pkts [][]byte, st *batchStats) {
	for len(pkts) > 0 {
		n := 1
		if w.sys.gso {
			n = gsoRun(pkts)
		}
		sent, err := w.sys.write(dst, pkts[:n])
		st.sends.Add(1)
		if err != nil {
			st.dropped.Add(uint64(n - sent))
		}
		st.packets.Add(uint64(sent))
		pkts = pkts[n:]
	}
}

// gsoRun returns how many of pkts (at least one) one segmented send can
// take: packets the size of the first, then possibly one shorter packet
// that ends the run, within maxGSOSegments and maxGSOBytes.
func gsoRun(pkts [][]byte) int {
	seg, total, n := len(pkts[0]), len(pkts[0]), 1
	for n < len(pkts) && n < maxGSOSegments && total+len(pkts[n]) <= maxGSOBytes {
		l := len(pkts[n])
		if l > seg {
			break
		}
		n++
		total += l
		if l < seg {
			break
		}
	}
	return n
}
