package missionxfer

import (
	"context"
	"fmt"
	"time"

	"github.com/bluenviron/gomavlib/v3/pkg/dialects/common"
	"github.com/bluenviron/gomavlib/v3/pkg/message"

	"github.com/ospreygcs/osprey/internal/clock"
	"github.com/ospreygcs/osprey/mavlink"
)

// Upload writes items (Seq 0..len-1 in order; for ArduPilot seq 0 is home)
// as the vehicle's mission, fence or rally points. It returns nil only once
// the vehicle has acknowledged every item (and, with Options.Verify, once a
// download matched them). A failure is an *Error naming the item reached.
func Upload(ctx context.Context, v *mavlink.Vehicle, t Type, items []Item, o Options) error {
	if len(items) > 0xffff {
		return fmt.Errorf("%s upload: %d items: %w", t, len(items), ErrInvalidItems)
	}
	for i := range items {
		if int(items[i].Seq) != i {
			return fmt.Errorf("%s upload: item %d has seq %d: %w", t, i, items[i].Seq, ErrInvalidItems)
		}
	}
	release, err := v.BeginTransfer(t.String() + " upload")
	if err != nil {
		return err
	}
	defer release()
	if t == Mission {
		v.SetMissionSync(mavlink.MissionSync{Status: mavlink.MissionUploading,
			Note: fmt.Sprintf("uploading %d items", len(items))})
	}
	s := newSession(ctx, v, t, o, "upload")
	defer s.close()
	err = s.upload(items)
	if err == nil && s.o.Verify {
		err = s.verify(items)
	}
	if t == Mission {
		if err != nil {
			v.SetMissionSync(mavlink.MissionSync{Status: mavlink.MissionUnknown, Note: err.Error()})
		} else {
			v.SetMissionSync(mavlink.MissionSync{Status: mavlink.MissionInSync, Items: missionCount(v, len(items))})
		}
	}
	return err
}

// uploader is the state of one upload.
type uploader struct {
	*session
	items     []Item
	n         int
	ahead     int
	base      int  // the item the vehicle wants next, from its requests
	requested bool // the vehicle has asked for an item
	next      int  // the next item to send ahead of the requests
	sentAt    []time.Time
	sends     []int
	answered  []bool // the last send of the item answered a request for it (not sent ahead)
	resent    bool   // an item went out more than once
	progress  time.Time
	wait      time.Duration // the current retry timeout, doubled while the vehicle stays quiet
	// stuck is set by a NACK while sending ahead: if the vehicle has asked
	// for nothing past stuckBase a round trip after stuckAt, it is waiting
	// for a lost item and dropping those after it.
	stuck     bool
	stuckBase int
	stuckAt   time.Time
	// heard is when the vehicle last sent a request or NACK, goneBackAt the
	// last go-back: the retry timeout doubles only while it says nothing.
	heard, goneBackAt time.Time
}

func (s *session) upload(items []Item) error {
	u := &uploader{session: s, items: items, n: len(items), sentAt: make([]time.Time, len(items)),
		sends: make([]int, len(items)), answered: make([]bool, len(items))}
	u.ahead = s.o.UploadAhead
	if u.ahead == 0 && s.isArduPilot() {
		u.ahead = s.o.Window
	}
	u.ahead = max(u.ahead, 0)
	err := u.run()
	if err == nil && u.ahead > 0 && u.resent {
		u.linger()
	}
	return err
}

// requestSeq is the seq of MISSION_REQUEST_INT or MISSION_REQUEST.
func requestSeq(m message.Message) int {
	switch m := m.(type) {
	case *common.MessageMissionRequestInt:
		return int(m.Seq)
	case *common.MessageMissionRequest:
		return int(m.Seq)
	}
	return -1
}

func (u *uploader) sendCount() {
	u.send(&common.MessageMissionCount{TargetSystem: u.sys, TargetComponent: u.comp, Count: uint16(u.n),
		MissionType: u.mt()})
}

func (u *uploader) sendItem(seq int, now time.Time, answer bool) {
	if u.sends[seq] > 0 {
		u.resent = true
	}
	u.answered[seq] = answer
	u.sentAt[seq] = now
	u.sends[seq]++
	u.send(u.toMessage(&u.items[seq]))
}

// guard is how long after a NACK the vehicle may take to ask for something
// new before it counts as stuck: a little over one round trip.
func (u *uploader) guard() time.Duration {
	if !u.rtt.ok {
		return u.o.ItemTimeout / 2
	}
	return 2*u.rtt.srtt + 4*u.rtt.rttvar
}

func (u *uploader) run() error {
	u.sendCount()
	counts, countAt := 1, u.clk.Now()
	timer := u.clk.NewTimer(u.o.AckTimeout)
	defer timer.Stop()
	for {
		select {
		case <-u.ctx.Done():
			return u.cancelled(u.base, u.n)
		case m := <-u.l.C():
			if u.noted(m) {
				continue
			}
			switch m := m.(type) {
			case *common.MessageMissionRequestInt, *common.MessageMissionRequest:
				seq := requestSeq(m)
				if !u.requested && counts == 1 && seq >= 0 && seq < u.n {
					// The first request answers the last MISSION_COUNT: the
					// transfer's first round-trip measurement.
					u.rtt.sample(u.clk.Now().Sub(countAt))
				}
				if u.onRequest(seq) {
					u.wait = u.itemTimeout()
					u.arm(timer)
				}
			case *common.MessageMissionAck:
				if done, err := u.onAck(m.Type); done {
					return err
				}
				if u.stuck {
					u.arm(timer)
				}
			}
		case <-timer.C():
			now := u.clk.Now()
			if !u.requested {
				if counts > u.o.Retries {
					return u.fail(ErrTimeout, 0, u.n, fmt.Sprintf("no request for an item after %d MISSION_COUNT (%s)",
						counts, seconds(now.Sub(u.started))))
				}
				counts++
				countAt = now
				u.sendCount()
				resetTimer(timer, u.o.AckTimeout)
				continue
			}
			if silent := now.Sub(u.progress); silent >= u.o.stallTimeout() {
				if u.sends[u.n-1] > 0 {
					return u.confirmByDownload(func() *Error {
						return u.fail(ErrTimeout, u.base, u.n, fmt.Sprintf("no MISSION_ACK for %s after the last item", seconds(silent)))
					})
				}
				return u.fail(ErrTimeout, u.base, u.n, fmt.Sprintf("no request for %s", seconds(silent)))
			}
			if !u.stuck && !u.heard.After(u.goneBackAt) {
				// Nothing at all from the vehicle since the last go-back: back off.
				u.wait = min(2*u.wait, u.o.AckTimeout)
			}
			u.goBack(now)
			u.arm(timer)
		}
	}
}

// arm sets the timer for the next go-back: when the vehicle has been quiet
// for the retry timeout, or a round trip after a NACK.
func (u *uploader) arm(timer clock.Timer) {
	d := u.wait
	if u.stuck {
		d = min(d, u.stuckAt.Add(u.guard()).Sub(u.clk.Now()))
	}
	resetTimer(timer, d)
}

// onRequest answers a request for seq. It reports whether the request was
// for the item the vehicle is waiting for (or a later one), which restarts
// the retry timer; a stale or out-of-order request is only answered.
func (u *uploader) onRequest(seq int) bool {
	if seq < 0 || seq >= u.n {
		return false // not ours: a request beyond what we announced
	}
	now := u.clk.Now()
	u.heard = now
	current := !u.requested || seq >= u.base
	if current && (!u.requested || seq > u.base) {
		if seq > 0 && u.answered[seq-1] {
			// The vehicle asks for seq when item seq-1 has arrived. Sent in
			// answer to the vehicle's request for it, the item was awaited, so
			// this is a round trip even if earlier copies went ahead (which
			// arrived while the vehicle was elsewhere and were dropped). Items
			// sent ahead are not sampled: they wait in the pipeline.
			u.rtt.sample(now.Sub(u.sentAt[seq-1]))
		}
		u.requested = true
		u.base = seq
		u.progress = now
		if u.stuck {
			// It moved on. The NACK may have been for a duplicate, or the
			// vehicle will stop again at a lost item: wait and see.
			u.stuckBase, u.stuckAt = seq, now
		}
		u.session.progress(seq, u.n)
	}
	// Sending ahead, a request for an item already sent usually crossed it on
	// the way, or the item waits behind others in the vehicle's queue:
	// answering would only earn a NACK. A lost item goes again when NACKs
	// show the vehicle stuck, or after the retry timeout.
	if u.ahead == 0 || u.mayBeLost(seq, now) {
		u.sendItem(seq, now, true)
	}
	u.pushAhead(now, false)
	return current
}

// pushAhead sends the items after the vehicle's next one, up to ahead of
// it, that may not have reached it (all of them with force).
func (u *uploader) pushAhead(now time.Time, force bool) {
	if u.ahead == 0 {
		return
	}
	u.next = max(u.next, u.base+1)
	for ; u.next < u.n && u.next <= u.base+u.ahead; u.next++ {
		if force || u.mayBeLost(u.next, now) {
			u.sendItem(u.next, now, false)
		}
	}
}

// mayBeLost reports whether an item is due: never sent, or sent a retry
// timeout ago.
func (u *uploader) mayBeLost(seq int, now time.Time) bool {
	return u.sends[seq] == 0 || now.Sub(u.sentAt[seq]) >= u.itemTimeout()
}

// goBack sends again the item the vehicle wants and, ahead of it, the
// window after it: the vehicle went quiet, or it dropped them.
func (u *uploader) goBack(now time.Time) {
	u.stuck = false
	u.goneBackAt = now
	u.sendItem(u.base, now, true)
	u.next = u.base + 1
	u.pushAhead(now, true)
}

// onAck handles MISSION_ACK: done reports whether the upload is over.
func (u *uploader) onAck(r common.MAV_MISSION_RESULT) (done bool, err error) {
	now := u.clk.Now()
	switch r {
	case common.MAV_MISSION_ACCEPTED:
		if u.n > 0 && u.sends[u.n-1] == 0 {
			return false, nil // cannot be ours: the last item never left
		}
		u.session.progress(u.n, u.n)
		return true, nil
	case common.MAV_MISSION_INVALID_SEQUENCE:
		// ArduPilot's NACK for an item it did not expect; it keeps asking.
		// Sending ahead, NACKs come for duplicates, and for every item after
		// one that was lost, which the vehicle drops while it waits for it.
		// If it asks for nothing new within a round trip, it is the latter:
		// the timer then goes back to the item it wants.
		u.heard = now
		if u.ahead > 0 && u.requested && !u.stuck {
			u.stuck, u.stuckBase, u.stuckAt = true, u.base, now
		}
		return false, nil
	case common.MAV_MISSION_ERROR:
		if u.n > 0 && u.sends[u.n-1] > 0 {
			// ArduPilot answers ERROR to an item when it is no longer
			// receiving: either it finished and its ACK was lost, or it
			// refused the upload at the end (an invalid fence) or gave up.
			return true, u.confirmByDownload(func() *Error { return u.rejected(r, u.base, u.n) })
		}
	}
	return true, u.rejected(r, u.base, u.n)
}

// confirmByDownload settles an upload whose end is uncertain by reading the
// items back: if the vehicle holds them the upload succeeded; if not, it
// fails with the error failed builds, completed by what was found.
func (u *uploader) confirmByDownload(failed func() *Error) error {
	got, err := u.downloadItems(false)
	if err != nil {
		e := failed()
		e.Reason += "; reading the items back failed: " + err.Error()
		return e
	}
	if d := compare(u.t, u.isArduPilot(), u.items, got); d != nil {
		e := failed()
		e.Reason += "; read back, " + d.Error()
		return e
	}
	u.session.progress(u.n, u.n)
	return nil
}

// linger holds the transfer briefly after an upload that sent duplicates,
// so that none still in flight reaches the vehicle during the next transfer
// (where it could be taken for that transfer's item of the same seq).
func (u *uploader) linger() {
	t := u.clk.NewTimer(min(2*u.itemTimeout(), u.o.AckTimeout))
	defer t.Stop()
	select {
	case <-t.C():
	case <-u.ctx.Done():
	}
}
