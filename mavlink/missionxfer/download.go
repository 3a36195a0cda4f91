package missionxfer

import (
	"context"
	"fmt"
	"time"

	"github.com/bluenviron/gomavlib/v3/pkg/dialects/common"

	"github.com/ospreygcs/osprey/mavlink"
)

// Download reads the vehicle's mission, fence or rally points. For an
// ArduPilot mission, item 0 is the vehicle's current home.
func Download(ctx context.Context, v *mavlink.Vehicle, t Type, o Options) ([]Item, error) {
	release, err := v.BeginTransfer(t.String() + " download")
	if err != nil {
		return nil, err
	}
	defer release()
	s := newSession(ctx, v, t, o, "download")
	defer s.close()
	items, err := s.downloadItems(true)
	if err != nil {
		return nil, err
	}
	if t == Mission {
		v.SetMissionSync(mavlink.MissionSync{Status: mavlink.MissionInSync, Items: missionCount(v, len(items))})
	}
	return items, nil
}

// downloader is the state of one download.
type downloader struct {
	*session
	report   bool // call Options.Progress
	n        int
	items    []Item
	have     []bool
	got      int
	sentAt   []time.Time
	sends    []int
	next     int // the next item never asked for
	low      int // every item before it has been received
	inflight int // asked for and not received
	progress time.Time
	wait     time.Duration
	retryAt  time.Time // the last retry round: the timeout doubles when no item came since
}

// downloadItems runs the download protocol on the session's listener.
func (s *session) downloadItems(report bool) ([]Item, error) {
	d := &downloader{session: s, report: report, n: -1}
	return d.run()
}

func (d *downloader) sendRequestList() {
	d.send(&common.MessageMissionRequestList{TargetSystem: d.sys, TargetComponent: d.comp, MissionType: d.mt()})
}

func (d *downloader) request(seq int, now time.Time) {
	d.sentAt[seq] = now
	d.sends[seq]++
	d.send(&common.MessageMissionRequestInt{TargetSystem: d.sys, TargetComponent: d.comp, Seq: uint16(seq),
		MissionType: d.mt()})
}

// reached is the first item not yet received, for error messages.
func (d *downloader) reached() int { return d.low }

func (d *downloader) run() ([]Item, error) {
	d.sendRequestList()
	lists := 1
	timer := d.clk.NewTimer(d.o.AckTimeout)
	defer timer.Stop()
	for {
		select {
		case <-d.ctx.Done():
			if d.n < 0 {
				return nil, d.cancelled(-1, -1)
			}
			return nil, d.cancelled(d.reached(), d.n)
		case m := <-d.l.C():
			if d.noted(m) {
				continue
			}
			switch m := m.(type) {
			case *common.MessageMissionCount:
				if d.n >= 0 {
					continue // an answer to a repeated MISSION_REQUEST_LIST
				}
				if done := d.onCount(int(m.Count)); done {
					return d.items, nil
				}
				resetTimer(timer, d.wait)
			case *common.MessageMissionItemInt:
				if d.onItem(fromMessage(m)) {
					d.sendAck(common.MAV_MISSION_ACCEPTED)
					return d.items, nil
				}
				resetTimer(timer, d.nextDeadline())
			case *common.MessageMissionItem:
				if d.onItem(fromLegacy(m)) {
					d.sendAck(common.MAV_MISSION_ACCEPTED)
					return d.items, nil
				}
				resetTimer(timer, d.nextDeadline())
			case *common.MessageMissionAck:
				switch m.Type {
				case common.MAV_MISSION_ACCEPTED, common.MAV_MISSION_ERROR, common.MAV_MISSION_INVALID_SEQUENCE:
					// Not an answer to a download: a late ACK of an earlier upload,
					// or a request the vehicle could not serve, which is asked again.
					continue
				}
				if d.n < 0 {
					return nil, d.rejected(m.Type, -1, -1)
				}
				return nil, d.rejected(m.Type, d.reached(), d.n)
			}
		case <-timer.C():
			now := d.clk.Now()
			if d.n < 0 {
				if lists > d.o.Retries {
					return nil, d.fail(ErrTimeout, -1, -1, fmt.Sprintf("no MISSION_COUNT after %d MISSION_REQUEST_LIST (%s)",
						lists, seconds(now.Sub(d.started))))
				}
				lists++
				d.sendRequestList()
				resetTimer(timer, d.o.AckTimeout)
				continue
			}
			if silent := now.Sub(d.progress); silent >= d.o.stallTimeout() {
				return nil, d.fail(ErrTimeout, d.reached(), d.n, fmt.Sprintf("no item for %s", seconds(silent)))
			}
			d.retry(now)
			resetTimer(timer, d.nextDeadline())
		}
	}
}

// onCount starts requesting items; done reports an empty list.
func (d *downloader) onCount(n int) (done bool) {
	now := d.clk.Now()
	d.n = n
	d.items = make([]Item, n)
	d.have = make([]bool, n)
	d.sentAt = make([]time.Time, n)
	d.sends = make([]int, n)
	d.progress = now
	d.wait = d.itemTimeout()
	if n == 0 {
		d.sendAck(common.MAV_MISSION_ACCEPTED)
		return true
	}
	d.fill(now)
	return false
}

// fill keeps Window requests outstanding.
func (d *downloader) fill(now time.Time) {
	for d.inflight < d.o.Window && d.next < d.n {
		if !d.have[d.next] {
			d.request(d.next, now)
			d.inflight++
		}
		d.next++
	}
}

// onItem stores an item and reports whether the download is complete.
func (d *downloader) onItem(it Item) bool {
	seq := int(it.Seq)
	if d.n < 0 || seq >= d.n || d.have[seq] {
		return false
	}
	now := d.clk.Now()
	if d.sends[seq] == 1 {
		d.rtt.sample(now.Sub(d.sentAt[seq]))
	}
	d.items[seq] = it
	d.have[seq] = true
	d.got++
	for d.low < d.n && d.have[d.low] {
		d.low++
	}
	if d.sends[seq] > 0 {
		d.inflight--
	}
	d.progress = now
	d.wait = d.itemTimeout()
	if d.report {
		d.session.progress(d.got, d.n)
	}
	if d.got == d.n {
		return true
	}
	d.fill(now)
	return false
}

// retry asks again for every outstanding item whose request has waited
// out the timeout, and backs the timeout off if nothing came since the last
// time.
func (d *downloader) retry(now time.Time) {
	for seq := d.low; seq < d.next; seq++ {
		if !d.have[seq] && d.sends[seq] > 0 && now.Sub(d.sentAt[seq]) >= d.wait {
			d.request(seq, now)
		}
	}
	if !d.progress.After(d.retryAt) {
		d.wait = min(2*d.wait, d.o.AckTimeout)
	}
	d.retryAt = now
}

// nextDeadline is how long until the oldest outstanding request times out.
func (d *downloader) nextDeadline() time.Duration {
	now := d.clk.Now()
	next := d.wait
	for seq := d.low; seq < d.next; seq++ {
		if !d.have[seq] && d.sends[seq] > 0 {
			next = min(next, d.sentAt[seq].Add(d.wait).Sub(now))
		}
	}
	return max(next, time.Millisecond)
}
