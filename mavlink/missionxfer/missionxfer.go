// Package missionxfer moves mission, fence and rally items between osprey
// and a vehicle over the MAVLink mission protocol, so that a transfer either
// completes correctly or fails loudly, even on a bad radio.
//
// It works on wire-level items (Item); the mission package converts plans to
// and from them. Every transfer holds the vehicle's exclusive transfer
// session (mavlink.Vehicle.BeginTransfer) and sees the wire through one
// mavlink.Listener, so it never competes with another transfer.
//
// # Protocol
//
// Upload: MISSION_COUNT (re-sent every AckTimeout until the vehicle asks for
// an item, at most Retries times), then every MISSION_REQUEST_INT or legacy
// MISSION_REQUEST is answered with the MISSION_ITEM_INT of the seq asked for
// (repeated and out-of-order requests included; an upload never restarts
// from zero), until MISSION_ACK. When the vehicle goes quiet, the item it is
// waiting for is sent again. A MISSION_ACK other than ACCEPTED ends the
// upload with ErrRejected, except INVALID_SEQUENCE, the NACK ArduPilot sends
// for an unexpected item while it goes on requesting. An upload that sent
// items more than once holds the transfer a moment longer, so no duplicate
// still on its way can be taken for an item of the next transfer.
//
// Download: MISSION_REQUEST_LIST (re-sent like MISSION_COUNT), MISSION_COUNT,
// then MISSION_REQUEST_INT for every item with up to Window requests
// outstanding (the protocol lets the ground station ask in any order and
// ArduPilot answers each request on its own), a lost item asked for again,
// and a final MISSION_ACK ACCEPTED. Asking one item at a time is what made a
// 400-item download take 30 s in Cockpit (bluerobotics/cockpit#3025).
//
// # Timing on lossy links
//
// Item retries follow the measured round trip (twice the smoothed round
// trip plus four deviations, at least 20 ms, at most AckTimeout; ItemTimeout
// until the first measurement) and double while nothing comes back, so a
// fast link recovers a lost item in milliseconds and a slow one is not
// flooded with duplicates (PX4-Autopilot#11078). A transfer gives up when
// the vehicle has made no progress for Retries × AckTimeout (7.5 s by
// default), not after a fixed number of retries per item: at 40 % loss each
// way a request and its answer both arrive only 36 % of the time, so any
// per-item limit fails large missions on links that still carry them.
//
// # ArduPilot
//
// ArduPilot drives uploads with legacy MISSION_REQUEST, asks again only after
// a second of silence, and stores any item whose seq is the one it expects,
// asked for or not; an item it does not expect costs one INVALID_SEQUENCE
// NACK. For ArduPilot an upload therefore keeps UploadAhead items in flight
// beyond the one requested, so a clean link is not held to one item per round
// trip. When NACKs arrive and the vehicle then asks for nothing new within a
// round trip, it is waiting for a lost item and dropping those after it: the
// upload goes back to the item it last asked for and sends the window again.
// Other autopilots get the plain exchange (the item the vehicle last asked
// for is sent again when it goes quiet).
//
// When ArduPilot's final ACK is lost, its answer to a repeated last item is
// MAV_MISSION_ERROR ("not receiving"); the upload then reads the items back
// and compares them before reporting success or failure. Mission seq 0 is
// ArduPilot's home: downloads return the current home there, and Verify does
// not compare it.
//
// # Mission state
//
// For mission uploads the vehicle's mavlink.MissionSync says uploading while
// the upload runs, in sync with the item count after success, and unknown
// (with the error as the note) after any failure or cancellation:
// ArduPilot writes items as they arrive, so a failed upload leaves a mix of
// new and old items on the vehicle.
package missionxfer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/bluenviron/gomavlib/v3/pkg/dialects/common"
	"github.com/bluenviron/gomavlib/v3/pkg/message"

	"github.com/ospreygcs/osprey/internal/clock"
	"github.com/ospreygcs/osprey/mavlink"
)

// Item is one mission item as it travels in MISSION_ITEM_INT.
type Item struct {
	Seq          uint16
	Frame        uint8 // MAV_FRAME
	Command      uint16
	Current      bool
	AutoContinue bool
	Param1       float32
	Param2       float32
	Param3       float32
	Param4       float32
	// X and Y are latitude and longitude in degE7 for global frames, the raw
	// integer for the others.
	X, Y int32
	Z    float32 // altitude in metres for global frames
}

// Type is the MAV_MISSION_TYPE: what the items are.
type Type uint8

// The mission types.
const (
	Mission Type = 0
	Fence   Type = 1
	Rally   Type = 2
)

// String names the type for messages people read.
func (t Type) String() string {
	switch t {
	case Mission:
		return "mission"
	case Fence:
		return "fence"
	case Rally:
		return "rally"
	}
	return fmt.Sprintf("mission type %d", uint8(t))
}

// Defaults of Options, the mission protocol's recommended timers.
const (
	DefaultAckTimeout  = 1500 * time.Millisecond
	DefaultItemTimeout = 250 * time.Millisecond
	DefaultRetries     = 5
	DefaultWindow      = 16
)

// minItemTimeout bounds the adaptive item timeout from below: under it, a
// scheduling hiccup would be taken for a lost message.
const minItemTimeout = 20 * time.Millisecond

// Options tune a transfer. Zero values take the defaults.
type Options struct {
	// Progress, when set, is called from the transferring goroutine as items
	// are confirmed (done of total); it must return quickly.
	Progress func(done, total int)
	// AckTimeout is how long to wait for the answer to MISSION_COUNT,
	// MISSION_REQUEST_LIST or MISSION_CLEAR_ALL before sending it again, and
	// the longest an item retry waits.
	AckTimeout time.Duration
	// ItemTimeout is how long to wait for an item (or the request after one)
	// before the round trip has been measured.
	ItemTimeout time.Duration
	// Retries is how many times a handshake message is sent again; a
	// transfer also gives up after Retries × AckTimeout without progress.
	Retries int
	// Window is how many item requests a download keeps outstanding.
	Window int
	// UploadAhead is how many items an upload sends beyond the one the
	// vehicle asked for. 0 means Window for ArduPilot, which stores items it
	// did not ask for, and none for other autopilots; negative means none.
	UploadAhead int
	// Verify makes Upload download the items afterwards and compare them.
	Verify bool
}

func (o Options) withDefaults() Options {
	if o.AckTimeout <= 0 {
		o.AckTimeout = DefaultAckTimeout
	}
	if o.ItemTimeout <= 0 {
		o.ItemTimeout = DefaultItemTimeout
	}
	if o.Retries <= 0 {
		o.Retries = DefaultRetries
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	return o
}

// stallTimeout is how long a transfer may go without progress.
func (o Options) stallTimeout() time.Duration { return time.Duration(o.Retries) * o.AckTimeout }

// Errors callers branch on with errors.Is. Every transfer failure is an
// *Error wrapping one of them (or mavlink.ErrTransferBusy, returned as is).
var (
	// ErrTimeout: the vehicle stopped answering.
	ErrTimeout = errors.New("vehicle stopped answering")
	// ErrRejected: the vehicle answered with a MISSION_ACK error; Error.Result
	// names it.
	ErrRejected = errors.New("rejected by the vehicle")
	// ErrCancelled: the caller's context ended; the vehicle was told with
	// MISSION_ACK OPERATION_CANCELLED.
	ErrCancelled = errors.New("cancelled")
	// ErrMismatch: the items on the vehicle differ from those meant.
	ErrMismatch = errors.New("items on the vehicle differ")
	// ErrInvalidItems: the items given cannot be sent (seq out of order, too
	// many).
	ErrInvalidItems = errors.New("invalid items")
)

// Error is a failed transfer: what, how far it got, and why.
type Error struct {
	Op    string // "upload", "download", "clear", "verify"
	Type  Type
	Seq   int // the item reached: for an upload the first item the vehicle still wanted; -1 when none applies
	Total int // items in the transfer; -1 when the vehicle never said
	// Result is the MAV_MISSION_RESULT without its prefix ("NO_SPACE") when
	// the vehicle rejected the transfer.
	Result string
	Reason string
	// VehicleText holds the warnings the vehicle sent during the transfer
	// (e.g. "Only 724 items are supported").
	VehicleText string
	Err         error
	cause       error
}

func (e *Error) Error() string {
	var b strings.Builder
	verb := "failed"
	switch {
	case errors.Is(e.Err, ErrRejected):
		verb = "rejected"
	case errors.Is(e.Err, ErrCancelled):
		verb = "cancelled"
	}
	fmt.Fprintf(&b, "%s %s %s", e.Type, e.Op, verb)
	switch {
	case e.Seq >= 0 && e.Total >= 0:
		fmt.Fprintf(&b, " at item %d of %d", e.Seq, e.Total)
	case e.Total >= 0:
		fmt.Fprintf(&b, " (%d items)", e.Total)
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	if e.VehicleText != "" {
		fmt.Fprintf(&b, " (vehicle: %s)", e.VehicleText)
	}
	return b.String()
}

// Unwrap gives the sentinel, and the context's error for a cancellation.
func (e *Error) Unwrap() []error {
	if e.cause != nil {
		return []error{e.Err, e.cause}
	}
	return []error{e.Err}
}

// resultName is a MAV_MISSION_RESULT without its prefix.
func resultName(r common.MAV_MISSION_RESULT) string {
	return strings.TrimPrefix(r.String(), "MAV_MISSION_")
}

// session is one transfer's wiring: the vehicle, its listener and timers.
type session struct {
	ctx     context.Context
	v       *mavlink.Vehicle
	t       Type
	o       Options
	clk     clock.Clock
	l       *mavlink.Listener
	sys     uint8
	comp    uint8
	op      string
	started time.Time
	rtt     rttEstimator
	sendErr error
	texts   []string // the vehicle's warnings during the transfer
}

func newSession(ctx context.Context, v *mavlink.Vehicle, t Type, o Options, op string) *session {
	s := &session{ctx: ctx, v: v, t: t, o: o.withDefaults(), clk: v.Clock(), op: op}
	s.sys, s.comp = v.Target()
	s.started = s.clk.Now()
	s.l = v.Listen(accept(t), 64)
	return s
}

func (s *session) close() { s.l.Close() }

// accept lets through the mission messages of one mission type, and the
// vehicle's STATUSTEXT, which often explains a refusal.
func accept(t Type) func(message.Message) bool {
	mt := common.MAV_MISSION_TYPE(t)
	return func(m message.Message) bool {
		switch m := m.(type) {
		case *common.MessageStatustext:
			return m.Severity <= common.MAV_SEVERITY_WARNING
		case *common.MessageMissionRequestInt:
			return m.MissionType == mt
		case *common.MessageMissionRequest:
			return m.MissionType == mt
		case *common.MessageMissionAck:
			return m.MissionType == mt
		case *common.MessageMissionCount:
			return m.MissionType == mt
		case *common.MessageMissionItemInt:
			return m.MissionType == mt
		case *common.MessageMissionItem:
			return m.MissionType == mt
		}
		return false
	}
}

func (s *session) mt() common.MAV_MISSION_TYPE { return common.MAV_MISSION_TYPE(s.t) }

// send writes a message; a failure is remembered for the timeout's reason,
// the retries carry on.
func (s *session) send(m message.Message) {
	if err := s.v.SendMessage(m); err != nil {
		s.sendErr = err
	}
}

func (s *session) sendAck(r common.MAV_MISSION_RESULT) {
	s.send(&common.MessageMissionAck{TargetSystem: s.sys, TargetComponent: s.comp, Type: r, MissionType: s.mt()})
}

func (s *session) isArduPilot() bool {
	return s.v.State().Autopilot == mavlink.AutopilotArduPilot
}

// fail builds the transfer's error, with the vehicle's warnings since it
// started.
func (s *session) fail(sentinel error, seq, total int, reason string) *Error {
	e := &Error{Op: s.op, Type: s.t, Seq: seq, Total: total, Reason: reason, Err: sentinel}
	if errors.Is(sentinel, ErrTimeout) {
		if s.sendErr != nil {
			e.Reason += fmt.Sprintf(" (last send error: %v)", s.sendErr)
		}
		if n := s.l.Dropped(); n > 0 {
			e.Reason += fmt.Sprintf(" (%d messages from the vehicle overflowed the transfer's queue)", n)
		}
	}
	e.VehicleText = strings.Join(s.texts, "; ")
	return e
}

// noted keeps a STATUSTEXT from the listener and reports whether m was one.
func (s *session) noted(m message.Message) bool {
	st, ok := m.(*common.MessageStatustext)
	if ok && len(s.texts) < 8 {
		s.texts = append(s.texts, st.Text)
	}
	return ok
}

// rejected builds the error for a MISSION_ACK error result. ArduPilot
// explains some refusals in a STATUSTEXT sent just after the ACK, so it
// waits a moment for one.
func (s *session) rejected(r common.MAV_MISSION_RESULT, seq, total int) *Error {
	if len(s.texts) == 0 {
		t := s.clk.NewTimer(min(max(2*s.rtt.srtt, 50*time.Millisecond), s.o.ItemTimeout))
	wait:
		for {
			select {
			case m := <-s.l.C():
				if s.noted(m) {
					break wait
				}
			case <-t.C():
				break wait
			case <-s.ctx.Done():
				break wait
			}
		}
		t.Stop()
	}
	e := s.fail(ErrRejected, seq, total, "vehicle answered "+resultName(r))
	e.Result = resultName(r)
	return e
}

// cancelled tells the vehicle and builds the error.
func (s *session) cancelled(seq, total int) *Error {
	s.sendAck(common.MAV_MISSION_OPERATION_CANCELLED)
	e := s.fail(ErrCancelled, seq, total, s.ctx.Err().Error())
	e.cause = s.ctx.Err()
	return e
}

func (s *session) progress(done, total int) {
	if s.o.Progress != nil {
		s.o.Progress(done, total)
	}
}

// itemTimeout is the current retry timeout for items.
func (s *session) itemTimeout() time.Duration { return s.rtt.timeout(s.o) }

// resetTimer re-arms a timer, dropping a tick it may hold.
func resetTimer(t clock.Timer, d time.Duration) {
	t.Stop()
	select {
	case <-t.C():
	default:
	}
	t.Reset(max(d, 0))
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

// rttEstimator is RFC 6298's smoothed round trip. Its samples are chosen
// so that the answer cannot belong to an earlier copy (Karn's rule).
type rttEstimator struct {
	srtt, rttvar time.Duration
	ok           bool
}

func (r *rttEstimator) sample(d time.Duration) {
	if d < 0 {
		return
	}
	if !r.ok {
		r.srtt, r.rttvar, r.ok = d, d/2, true
		return
	}
	diff := r.srtt - d
	if diff < 0 {
		diff = -diff
	}
	r.rttvar = (3*r.rttvar + diff) / 4
	r.srtt = (7*r.srtt + d) / 8
}

func (r *rttEstimator) timeout(o Options) time.Duration {
	if !r.ok {
		return o.ItemTimeout
	}
	return min(max(2*r.srtt+4*r.rttvar, minItemTimeout), o.AckTimeout)
}

// toMessage builds the MISSION_ITEM_INT for an item.
func (s *session) toMessage(it *Item) *common.MessageMissionItemInt {
	return &common.MessageMissionItemInt{TargetSystem: s.sys, TargetComponent: s.comp, Seq: it.Seq,
		Frame: common.MAV_FRAME(it.Frame), Command: common.MAV_CMD(it.Command), Current: b2u(it.Current),
		Autocontinue: b2u(it.AutoContinue), Param1: it.Param1, Param2: it.Param2, Param3: it.Param3,
		Param4: it.Param4, X: it.X, Y: it.Y, Z: it.Z, MissionType: s.mt()}
}

func fromMessage(m *common.MessageMissionItemInt) Item {
	return Item{Seq: m.Seq, Frame: uint8(m.Frame), Command: uint16(m.Command), Current: m.Current != 0,
		AutoContinue: m.Autocontinue != 0, Param1: m.Param1, Param2: m.Param2, Param3: m.Param3, Param4: m.Param4,
		X: m.X, Y: m.Y, Z: m.Z}
}

// fromLegacy converts a MISSION_ITEM from a vehicle that does not speak the
// _INT messages: positions in global frames become degE7.
func fromLegacy(m *common.MessageMissionItem) Item {
	it := Item{Seq: m.Seq, Frame: uint8(m.Frame), Command: uint16(m.Command), Current: m.Current != 0,
		AutoContinue: m.Autocontinue != 0, Param1: m.Param1, Param2: m.Param2, Param3: m.Param3, Param4: m.Param4,
		Z: m.Z}
	if isGlobal(it.Frame) {
		it.X, it.Y = int32(math.Round(float64(m.X)*1e7)), int32(math.Round(float64(m.Y)*1e7))
	} else {
		it.X, it.Y = int32(m.X), int32(m.Y)
	}
	return it
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// missionCount is what MissionSync counts: ArduPilot's home at seq 0 is not
// a mission item.
func missionCount(v *mavlink.Vehicle, n int) int {
	if v.State().Autopilot == mavlink.AutopilotArduPilot {
		return max(n-1, 0)
	}
	return n
}
