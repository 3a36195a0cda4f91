package sitl

import (
	"github.com/bluenviron/gomavlib/v3/pkg/frame"
	"math"
	"math/rand/v2"
	"reflect"
	"sync"
	"time"

	"github.com/bluenviron/gomavlib/v3/pkg/message"
)

// linkFaults is the vehicle's side of the radio link: injected loss, latency
// and outages, and the queue of messages waiting out their latency. Loss is
// applied per message, after decoding inbound frames and before encoding
// outbound ones, so it behaves the same on UDP and TCP.
type linkFaults struct {
	mu sync.Mutex
	// Separate generators per direction keep inbound loss reproducible no
	// matter how telemetry timing interleaves with it.
	rngIn, rngOut   *rand.Rand
	lossIn, lossOut float64
	latency         time.Duration
	outageUntil     time.Time
	queue           []delayedMsg
	lastDue         time.Time
	nextSeq         byte
}

type delayedMsg struct {
	due time.Time
	out outMsg
}

func (l *linkFaults) init(seed int64, sysID byte) {
	l.rngIn = rand.New(rand.NewPCG(uint64(seed), uint64(sysID)<<8|2))
	l.rngOut = rand.New(rand.NewPCG(uint64(seed), uint64(sysID)<<8|3))
}

// dropInbound decides whether an inbound message is lost.
func (l *linkFaults) dropInbound(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Before(l.outageUntil) {
		return true
	}
	return l.lossIn > 0 && l.rngIn.Float64() < l.lossIn
}

// SetLoss sets the probability (0..1) of dropping each incoming and each
// outgoing MAVLink message. Values are clamped to 0..1.
func (v *Vehicle) SetLoss(inbound, outbound float64) {
	l := &v.link
	l.mu.Lock()
	l.lossIn = clampUnit(inbound)
	l.lossOut = clampUnit(outbound)
	l.mu.Unlock()
}

// SetLatency adds a one-way delay to every outgoing message, keeping their
// order. Zero removes it; negative values count as zero.
func (v *Vehicle) SetLatency(d time.Duration) {
	l := &v.link
	l.mu.Lock()
	l.latency = max(d, 0)
	l.mu.Unlock()
	v.wake()
}

// Outage drops every message in both directions, heartbeats included, for d
// from now. Messages already delayed by SetLatency that fall due during the
// outage are lost too.
func (v *Vehicle) Outage(d time.Duration) {
	l := &v.link
	l.mu.Lock()
	until := time.Now().Add(d)
	if until.After(l.outageUntil) {
		l.outageUntil = until
	}
	l.mu.Unlock()
}

// SetGPS switches the simulated GPS between a healthy 3D fix and no fix
// (GPS_RAW_INT fix_type 1, 0 satellites). Without a fix, arming in a mode that
// needs a position is refused and position modes cannot be entered while armed.
func (v *Vehicle) SetGPS(fix bool) {
	v.mu.Lock()
	v.st.gpsFix = fix
	v.mu.Unlock()
}

// SetBatteryPct forces the remaining battery capacity to p percent (0..100);
// drain continues from there.
func (v *Vehicle) SetBatteryPct(p float64) {
	if math.IsNaN(p) {
		return
	}
	p = min(max(p, 0), 100)
	v.mu.Lock()
	v.st.battConsumedMAh = v.tune.battCapacityMAh * (1 - p/100)
	v.st.updateBatteryVoltage()
	v.mu.Unlock()
}

func clampUnit(p float64) float64 {
	if math.IsNaN(p) {
		return 0
	}
	return min(max(p, 0), 1)
}

// emit applies outbound faults to the messages in ob, writes the survivors to
// the node (or queues them behind the injected latency) and empties ob. It
// must be called without v.mu held.
func (v *Vehicle) emit(now time.Time, ob *outbox) {
	if len(ob.msgs) == 0 {
		return
	}
	l := &v.link
	queued := false
	n := 0
	l.mu.Lock()
	for _, o := range ob.msgs {
		// Every message takes a sequence number as it leaves the autopilot, lost or not, so a ground
		// station sees injected loss as the sequence gaps a real radio leaves.
		o.seq = l.nextSeq
		l.nextSeq++
		if now.Before(l.outageUntil) {
			continue
		}
		if l.lossOut > 0 && l.rngOut.Float64() < l.lossOut {
			continue
		}
		if l.latency > 0 || len(l.queue) > 0 {
			// Once anything is queued everything queues, so order is kept
			// even while the latency is being changed.
			due := now.Add(l.latency)
			if len(l.queue) > 0 && due.Before(l.lastDue) {
				due = l.lastDue
			}
			l.lastDue = due
			l.queue = append(l.queue, delayedMsg{due: due, out: outMsg{ch: o.ch, m: cloneMessage(o.m), seq: o.seq}})
			queued = true
			continue
		}
		ob.msgs[n] = o
		n++
	}
	l.mu.Unlock()
	for _, o := range ob.msgs[:n] {
		v.write(o)
	}
	ob.reset()
	if queued {
		v.wake()
	}
}

// flushDelayed writes queued messages that are due and returns when the next
// one falls due.
func (v *Vehicle) flushDelayed(now time.Time) (next time.Time, ok bool) {
	l := &v.link
	l.mu.Lock()
	i := 0
	for i < len(l.queue) && !l.queue[i].due.After(now) {
		i++
	}
	var due []delayedMsg
	if i > 0 {
		// Copy the due ones out so they are written without the lock.
		due = make([]delayedMsg, i)
		copy(due, l.queue[:i])
		n := copy(l.queue, l.queue[i:])
		clear(l.queue[n:])
		l.queue = l.queue[:n]
	}
	if len(l.queue) > 0 {
		next, ok = l.queue[0].due, true
	}
	outage := now.Before(l.outageUntil)
	l.mu.Unlock()
	if !outage {
		for _, d := range due {
			v.write(d.out)
		}
	}
	return next, ok
}

func (v *Vehicle) write(o outMsg) {
	// Write errors only mean the message is not in the dialect, which the
	// simulator never sends; there is nobody to report them to. The frame is
	// built here, with the sequence number emit gave it; FixFrame encodes the
	// message and fills the checksum.
	fr := &frame.V2Frame{SequenceNumber: o.seq, SystemID: v.sysID, ComponentID: autopilotCompID, Message: o.m}
	if err := v.node.FixFrame(fr); err != nil {
		return
	}
	if o.ch != nil {
		_ = v.node.WriteFrameTo(o.ch, fr)
	} else {
		_ = v.node.WriteFrameAll(fr)
	}
}

// cloneMessage copies a message struct so a reused telemetry struct can be
// queued. Strings and arrays copy by value, so a shallow copy is complete.
func cloneMessage(m message.Message) message.Message {
	rv := reflect.ValueOf(m)
	if rv.Kind() != reflect.Pointer {
		return m
	}
	c := reflect.New(rv.Elem().Type())
	c.Elem().Set(rv.Elem())
	return c.Interface().(message.Message)
}
