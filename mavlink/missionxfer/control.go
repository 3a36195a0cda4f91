package missionxfer

import (
	"context"
	"errors"
	"fmt"

	"github.com/bluenviron/gomavlib/v3/pkg/dialects/common"
	"github.com/bluenviron/gomavlib/v3/pkg/message"

	"github.com/ospreygcs/osprey/mavlink"
)

// Clear removes the vehicle's mission, fence or rally points with
// MISSION_CLEAR_ALL. ArduPilot refuses to clear a mission it is flying in
// AUTO (ErrRejected, result ERROR); it can still be replaced by an upload.
func Clear(ctx context.Context, v *mavlink.Vehicle, t Type, o Options) error {
	release, err := v.BeginTransfer(t.String() + " clear")
	if err != nil {
		return err
	}
	defer release()
	s := newSession(ctx, v, t, o, "clear")
	defer s.close()
	err = s.clear()
	if t == Mission {
		var xe *Error
		switch {
		case err == nil:
			v.SetMissionSync(mavlink.MissionSync{Status: mavlink.MissionInSync})
		case errors.As(err, &xe) && errors.Is(xe.Err, ErrRejected):
			// Refused: the mission is as it was.
		default:
			v.SetMissionSync(mavlink.MissionSync{Status: mavlink.MissionUnknown, Note: err.Error()})
		}
	}
	return err
}

func (s *session) clear() error {
	send := func() {
		s.send(&common.MessageMissionClearAll{TargetSystem: s.sys, TargetComponent: s.comp, MissionType: s.mt()})
	}
	send()
	sent := 1
	timer := s.clk.NewTimer(s.o.AckTimeout)
	defer timer.Stop()
	for {
		select {
		case <-s.ctx.Done():
			e := s.fail(ErrCancelled, -1, -1, s.ctx.Err().Error())
			e.cause = s.ctx.Err()
			return e
		case m := <-s.l.C():
			if s.noted(m) {
				continue
			}
			a, ok := m.(*common.MessageMissionAck)
			if !ok {
				continue
			}
			if a.Type == common.MAV_MISSION_ACCEPTED {
				return nil
			}
			return s.rejected(a.Type, -1, -1)
		case <-timer.C():
			if sent > s.o.Retries {
				return s.fail(ErrTimeout, -1, -1, fmt.Sprintf("no MISSION_ACK after %d MISSION_CLEAR_ALL", sent))
			}
			sent++
			send()
			resetTimer(timer, s.o.AckTimeout)
		}
	}
}

// SetCurrent makes mission item seq the current one with
// MAV_CMD_DO_SET_MISSION_CURRENT (falling back to the legacy
// MISSION_SET_CURRENT message when the vehicle does not know the command),
// and waits for MISSION_CURRENT to confirm it. A vehicle flying AUTO goes
// there at once. seq should be a navigation command: an autopilot moves on
// from anything else to the next one.
func SetCurrent(ctx context.Context, v *mavlink.Vehicle, seq uint16) error {
	l := v.Listen(func(m message.Message) bool {
		_, ok := m.(*common.MessageMissionCurrent)
		return ok
	}, 16)
	defer l.Close()
	sys, comp := v.Target()
	err := v.Send(ctx, mavlink.Command{ID: mavlink.CmdDoSetMissionCurrent, Params: [7]float32{float32(seq)}})
	legacy := errors.Is(err, mavlink.ErrUnsupported)
	if err != nil && !legacy {
		return fmt.Errorf("set current mission item %d: %w", seq, err)
	}
	want := max(seq, 1) // ArduPilot starts at 1 when asked for home
	send := func() error {
		if !legacy {
			return nil
		}
		return v.SendMessage(&common.MessageMissionSetCurrent{TargetSystem: sys, TargetComponent: comp, Seq: seq})
	}
	if err := send(); err != nil {
		return fmt.Errorf("set current mission item %d: %w", seq, err)
	}
	// MISSION_CURRENT is sent on the change and streamed: a few of its
	// periods confirm the command; the legacy message is re-sent meanwhile.
	clk := v.Clock()
	timer := clk.NewTimer(DefaultAckTimeout)
	defer timer.Stop()
	waits, last := 1, -1
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("set current mission item %d: %w: %w", seq, ErrCancelled, ctx.Err())
		case m := <-l.C():
			mc := m.(*common.MessageMissionCurrent)
			last = int(mc.Seq)
			if mc.Seq == seq || mc.Seq == want {
				return nil
			}
		case <-timer.C():
			if waits > DefaultRetries || (!legacy && waits >= 2) {
				return fmt.Errorf("set current mission item %d: %w: MISSION_CURRENT says %d", seq, ErrTimeout, last)
			}
			waits++
			if err := send(); err != nil {
				return fmt.Errorf("set current mission item %d: %w", seq, err)
			}
			resetTimer(timer, DefaultAckTimeout)
		}
	}
}

// Start starts the mission with MAV_CMD_MISSION_START (the vehicle switches
// to AUTO). first and last select part of the mission where the autopilot
// supports it; ArduPilot takes only 0, 0 (the whole mission, resuming where
// it was interrupted).
func Start(ctx context.Context, v *mavlink.Vehicle, first, last uint16) error {
	return v.Send(ctx, mavlink.Command{ID: mavlink.CmdMissionStart, Params: [7]float32{float32(first), float32(last)}})
}
