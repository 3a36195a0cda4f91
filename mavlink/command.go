package mavlink

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apm "github.com/bluenviron/gomavlib/v3/pkg/dialects/ardupilotmega"
	"github.com/bluenviron/gomavlib/v3/pkg/dialects/common"
	"github.com/bluenviron/gomavlib/v3/pkg/message"
)

// Command results callers branch on with errors.Is. A *CommandError wraps one of them.
var (
	ErrDenied      = errors.New("denied")       // MAV_RESULT_DENIED or TEMPORARILY_REJECTED
	ErrUnsupported = errors.New("unsupported")  // MAV_RESULT_UNSUPPORTED (and *_ONLY, UNSUPPORTED_MAV_FRAME)
	ErrFailed      = errors.New("failed")       // MAV_RESULT_FAILED: accepted but could not be carried out
	ErrCancelled   = errors.New("cancelled")    // MAV_RESULT_CANCELLED
	ErrTimeout     = errors.New("no answer")    // no COMMAND_ACK after every retry
	ErrBusy        = errors.New("already sent") // the same command is already waiting for its ACK
)

// MAV_RESULT values.
const (
	resultAccepted     = 0
	resultTempRejected = 1
	resultDenied       = 2
	resultUnsupported  = 3
	resultFailed       = 4
	resultInProgress   = 5
	resultCancelled    = 6
)

// inProgressTimeout is how long a command that answered MAV_RESULT_IN_PROGRESS may take between updates.
const inProgressTimeout = 30 * time.Second

// CommandError is a command that did not succeed: which vehicle, which command, why, and what the vehicle
// said about it in STATUSTEXT while it was being sent (e.g. "PreArm: Need 3D Fix").
type CommandError struct {
	SystemID   byte
	Command    string
	Result     string // MAV_RESULT name, or "TIMEOUT"
	StatusText string
	// Attempts is how many times the command was sent. A refusal after more than one may answer a
	// retransmission of a command the vehicle already carried out (its first ACK lost).
	Attempts int
	err      error
}

func (e *CommandError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "vehicle %d: %s ", e.SystemID, e.Command)
	switch {
	case errors.Is(e.err, ErrTimeout):
		b.WriteString("got no answer")
	case errors.Is(e.err, ErrBusy):
		b.WriteString("is already waiting for an answer")
	default:
		fmt.Fprintf(&b, "refused: %s", strings.ToLower(e.Result))
	}
	if e.StatusText != "" {
		fmt.Fprintf(&b, " (%s)", e.StatusText)
	}
	return b.String()
}

// Unwrap gives the sentinel for errors.Is.
func (e *CommandError) Unwrap() error { return e.err }

type commandAck struct {
	result   uint8
	progress uint8
}

// Command is a MAV_CMD with its parameters. Int sends it as COMMAND_INT (positional commands, with X/Y in
// degE7 and the frame explicit); otherwise COMMAND_LONG.
type Command struct {
	ID     uint16
	Params [7]float32 // COMMAND_LONG param1..7; COMMAND_INT uses 1..4 and Z = Params[6]
	Int    bool
	Frame  uint8
	X, Y   int32
}

// Send sends a command and waits for its final COMMAND_ACK, retransmitting with confirmation incremented
// until one arrives. MAV_RESULT_IN_PROGRESS stops the retransmissions and extends the wait. It returns nil
// only for MAV_RESULT_ACCEPTED: a command counts as sent once it is acknowledged.
func (v *Vehicle) Send(ctx context.Context, c Command) error {
	acks := make(chan commandAck, 8)
	v.mu.Lock()
	if _, busy := v.pending[c.ID]; busy {
		v.mu.Unlock()
		return v.commandError(c.ID, "BUSY", ErrBusy, time.Time{})
	}
	v.pending[c.ID] = acks
	v.mu.Unlock()
	defer func() {
		v.mu.Lock()
		delete(v.pending, c.ID)
		v.mu.Unlock()
	}()

	started := v.m.clock.Now()
	timer := v.m.clock.NewTimer(v.m.conf.CommandTimeout)
	defer timer.Stop()
	attempt, inProgress := 0, false
	if err := v.sendCommandOnce(c, attempt); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("vehicle %d: %s: %w", v.id, CommandName(c.ID), ctx.Err())
		case <-v.m.ctx.Done():
			return ErrClosed
		case a := <-acks:
			switch a.result {
			case resultAccepted:
				return nil
			case resultInProgress:
				inProgress = true
				timer.Reset(inProgressTimeout)
			default:
				if err := resultErr(a.result); errors.Is(err, ErrDenied) || errors.Is(err, ErrFailed) {
					v.awaitRefusalReason(ctx, started)
				}
				e := v.commandError(c.ID, resultName(a.result), resultErr(a.result), started)
				e.Attempts = attempt + 1
				return e
			}
		case <-timer.C():
			if inProgress || attempt >= v.m.conf.CommandRetries {
				e := v.commandError(c.ID, "TIMEOUT", ErrTimeout, started)
				e.Attempts = attempt + 1
				return e
			}
			attempt++
			if err := v.sendCommandOnce(c, attempt); err != nil {
				return err
			}
			timer.Reset(v.m.conf.CommandTimeout)
		}
	}
}

// severityWarning is MAV_SEVERITY_WARNING: texts this severe or worse explain a refusal.
const severityWarning = 4

// refusalReasonWait bounds how long a refusal waits for the STATUSTEXT that explains it. ArduPilot sends
// the COMMAND_ACK at once and its queued texts ("PreArm: Need 3D Fix") a scheduler loop or more later,
// so reading the texts when the ACK arrives races them.
const refusalReasonWait = 300 * time.Millisecond

// awaitRefusalReason returns once a WARNING-or-worse STATUSTEXT newer than since has arrived, or after
// refusalReasonWait: some refusals (ArduPilot's TAKEOFF) come with no text at all.
func (v *Vehicle) awaitRefusalReason(ctx context.Context, since time.Time) {
	ctx, cancel := context.WithTimeout(ctx, refusalReasonWait)
	defer cancel()
	_, _ = v.WaitState(ctx, func(s State) bool {
		for _, st := range s.StatusTexts {
			if !st.Time.Before(since) && st.Severity <= severityWarning {
				return true
			}
		}
		return false
	})
}

func (v *Vehicle) sendCommandOnce(c Command, attempt int) error {
	sys, comp := v.target()
	var msg message.Message
	if c.Int {
		msg = &apm.MessageCommandInt{TargetSystem: sys, TargetComponent: comp, Frame: common.MAV_FRAME(c.Frame),
			Command: common.MAV_CMD(c.ID), Param1: c.Params[0], Param2: c.Params[1], Param3: c.Params[2],
			Param4: c.Params[3], X: c.X, Y: c.Y, Z: c.Params[6]}
		// COMMAND_INT has no confirmation field: a retransmission is the same message again.
	} else {
		msg = &apm.MessageCommandLong{TargetSystem: sys, TargetComponent: comp, Command: common.MAV_CMD(c.ID),
			Confirmation: uint8(min(attempt, 255)), Param1: c.Params[0], Param2: c.Params[1], Param3: c.Params[2],
			Param4: c.Params[3], Param5: c.Params[4], Param6: c.Params[5], Param7: c.Params[6]}
	}
	if err := v.send(msg); err != nil {
		return fmt.Errorf("%s: %w", CommandName(c.ID), err)
	}
	return nil
}

// deliverAck hands a COMMAND_ACK to the command waiting for it. Called with v.mu held.
func (v *Vehicle) deliverAck(m *apm.MessageCommandAck) {
	ch := v.pending[uint16(m.Command)]
	if ch == nil {
		return // late duplicate of an ACK already taken, or meant for another ground station
	}
	if m.TargetSystem != 0 && m.TargetSystem != v.m.conf.SystemID {
		return
	}
	select {
	case ch <- commandAck{result: uint8(m.Result), progress: m.Progress}:
	default: // the waiter has more than it can use
	}
}

func (v *Vehicle) commandError(id uint16, result string, sentinel error, since time.Time) *CommandError {
	e := &CommandError{SystemID: v.id, Command: CommandName(id), Result: result, err: sentinel}
	if !since.IsZero() {
		v.mu.Lock()
		var texts []string
		for _, st := range v.state.StatusTexts {
			if !st.Time.Before(since) && st.Severity <= severityWarning { // WARNING and worse explain a refusal
				texts = append(texts, st.Text)
			}
		}
		v.mu.Unlock()
		e.StatusText = strings.Join(texts, "; ")
	}
	return e
}

func resultErr(r uint8) error {
	switch r {
	case resultDenied, resultTempRejected:
		return ErrDenied
	case resultFailed:
		return ErrFailed
	case resultCancelled:
		return ErrCancelled
	default:
		return ErrUnsupported
	}
}

func resultName(r uint8) string {
	names := [...]string{"ACCEPTED", "TEMPORARILY_REJECTED", "DENIED", "UNSUPPORTED", "FAILED", "IN_PROGRESS",
		"CANCELLED", "COMMAND_LONG_ONLY", "COMMAND_INT_ONLY", "UNSUPPORTED_MAV_FRAME"}
	if int(r) < len(names) {
		return names[r]
	}
	return fmt.Sprintf("RESULT_%d", r)
}

// MAV_CMD numbers osprey sends.
const (
	CmdNavReturnToLaunch   = 20
	CmdNavLand             = 21
	CmdNavTakeoff          = 22
	CmdDoSetMode           = 176
	CmdDoChangeSpeed       = 178
	CmdDoReposition        = 192
	CmdDoPauseContinue     = 193
	CmdPreflightReboot     = 246
	CmdMissionStart        = 300
	CmdComponentArmDisarm  = 400
	CmdSetMessageInterval  = 511
	CmdRequestMessage      = 512
	CmdDoSetMissionCurrent = 224
)

// CommandName names a MAV_CMD for messages people read.
func CommandName(id uint16) string {
	switch id {
	case CmdNavReturnToLaunch:
		return "RTL"
	case CmdNavLand:
		return "LAND"
	case CmdNavTakeoff:
		return "TAKEOFF"
	case CmdDoSetMode:
		return "SET_MODE"
	case CmdDoChangeSpeed:
		return "CHANGE_SPEED"
	case CmdDoReposition:
		return "GOTO"
	case CmdDoPauseContinue:
		return "PAUSE/CONTINUE"
	case CmdPreflightReboot:
		return "REBOOT"
	case CmdMissionStart:
		return "MISSION_START"
	case CmdComponentArmDisarm:
		return "ARM/DISARM"
	case CmdSetMessageInterval:
		return "SET_MESSAGE_INTERVAL"
	case CmdRequestMessage:
		return "REQUEST_MESSAGE"
	case CmdDoSetMissionCurrent:
		return "SET_MISSION_CURRENT"
	}
	return fmt.Sprintf("MAV_CMD %d", id)
}

// NewCommandError rebuilds a command error from its parts, for clients that receive it over osprey's
// API: result is the MAV_RESULT name (or TIMEOUT), and errors.Is works as on the server.
func NewCommandError(systemID byte, command, result, statusText string) *CommandError {
	e := &CommandError{SystemID: systemID, Command: command, Result: result, StatusText: statusText, err: ErrUnsupported}
	switch result {
	case "DENIED", "TEMPORARILY_REJECTED":
		e.err = ErrDenied
	case "FAILED":
		e.err = ErrFailed
	case "CANCELLED":
		e.err = ErrCancelled
	case "TIMEOUT":
		e.err = ErrTimeout
	case "BUSY":
		e.err = ErrBusy
	}
	return e
}
