package mavlink

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	apm "github.com/bluenviron/gomavlib/v3/pkg/dialects/ardupilotmega"
)

// forceArmMagic in param2 of COMPONENT_ARM_DISARM skips the autopilot's checks. Never the default.
const forceArmMagic = 21196

// ErrNotConfirmed is returned when a command was accepted but the vehicle's state did not follow.
var ErrNotConfirmed = errors.New("accepted, but the vehicle's state did not follow")

// ErrBadArgument is returned, before anything is sent, for an argument no vehicle could accept.
var ErrBadArgument = errors.New("bad argument")

// confirmTimeout is how long an accepted arm, disarm or mode change may take to show in HEARTBEAT (1 Hz).
const confirmTimeout = 3 * time.Second

// Arm arms the motors, with the autopilot's pre-arm checks, and waits until HEARTBEAT shows it armed.
func (v *Vehicle) Arm(ctx context.Context) error {
	if err := v.Send(ctx, Command{ID: CmdComponentArmDisarm, Params: [7]float32{1}}); err != nil {
		return err
	}
	return v.waitFor(ctx, "armed", func(s State) bool { return s.Armed })
}

// Disarm disarms. force skips the autopilot's checks (it will disarm in flight: the vehicle falls).
func (v *Vehicle) Disarm(ctx context.Context, force bool) error {
	c := Command{ID: CmdComponentArmDisarm}
	if force {
		c.Params[1] = forceArmMagic
	}
	if err := v.Send(ctx, c); err != nil {
		return err
	}
	return v.waitFor(ctx, "disarmed", func(s State) bool { return !s.Armed })
}

// SetMode switches to a flight mode by name (GUIDED, AUTO.MISSION, ...; the vehicle's own table applies)
// or number, and waits until HEARTBEAT shows it.
func (v *Vehicle) SetMode(ctx context.Context, name string) error {
	autopilot, mavType := v.identity()
	req, err := lookupMode(autopilot, mavType, name)
	if err != nil {
		return fmt.Errorf("vehicle %d: %w", v.id, err)
	}
	c := Command{ID: CmdDoSetMode, Params: [7]float32{customModeFlag, req.param2, req.param3}}
	if err := v.Send(ctx, c); err != nil {
		return err
	}
	return v.waitFor(ctx, "in mode "+name, func(s State) bool { return s.CustomMode == req.customMode })
}

// Takeoff climbs to altRelM above home. ArduCopter takes off only when armed in GUIDED.
func (v *Vehicle) Takeoff(ctx context.Context, altRelM float64) error {
	if altRelM <= 0 || math.IsNaN(altRelM) || altRelM > 10_000 {
		return fmt.Errorf("%w: takeoff altitude must be between 0 and 10000 m, got %v", ErrBadArgument, altRelM)
	}
	err := v.Send(ctx, Command{ID: CmdNavTakeoff, Params: [7]float32{6: float32(altRelM)}})
	var ce *CommandError
	if errors.As(err, &ce) && ce.Attempts > 1 && errors.Is(err, ErrFailed) {
		// ArduPilot refuses a takeoff once airborne, so when the first ACK was lost the retransmission is
		// refused by the very takeoff it repeats. The vehicle's state tells which happened.
		if _, werr := v.waitTakeoffStarted(ctx); werr == nil {
			return nil
		}
	}
	if ce != nil && ce.StatusText == "" {
		// ArduPilot refuses a takeoff without saying why; the state usually does.
		s := v.State()
		switch {
		case !s.Armed:
			ce.StatusText = "the vehicle is disarmed"
		case s.Autopilot == AutopilotArduPilot && s.Mode != "GUIDED":
			ce.StatusText = "the vehicle is in " + s.Mode + ", and ArduPilot takes off only in GUIDED"
		case s.AltRelM > 1:
			ce.StatusText = "the vehicle is already flying"
		}
	}
	return err
}

// waitTakeoffStarted waits briefly for the state of a vehicle that is armed and leaving the ground.
func (v *Vehicle) waitTakeoffStarted(ctx context.Context) (State, error) {
	ctx, cancel := context.WithTimeout(ctx, confirmTimeout)
	defer cancel()
	return v.WaitState(ctx, func(s State) bool { return s.Armed && (s.AltRelM > 0.3 || s.ClimbMS > 0.2) })
}

// Land lands where the vehicle is.
func (v *Vehicle) Land(ctx context.Context) error {
	return v.Send(ctx, Command{ID: CmdNavLand})
}

// RTL returns to launch.
func (v *Vehicle) RTL(ctx context.Context) error {
	return v.Send(ctx, Command{ID: CmdNavReturnToLaunch})
}

// Goto flies to a point at altRelM above home, switching to GUIDED if needed. It is DO_REPOSITION sent as
// COMMAND_INT, the only form ArduPilot accepts.
func (v *Vehicle) Goto(ctx context.Context, latDeg, lonDeg, altRelM float64) error {
	if latDeg < -90 || latDeg > 90 || lonDeg < -180 || lonDeg > 180 || math.IsNaN(latDeg+lonDeg+altRelM) {
		return fmt.Errorf("%w: goto %v,%v: coordinates out of range", ErrBadArgument, latDeg, lonDeg)
	}
	const changeModeFlag = 1 // MAV_DO_REPOSITION_FLAGS_CHANGE_MODE
	nan := float32(math.NaN())
	return v.Send(ctx, Command{ID: CmdDoReposition, Int: true, Frame: 6, /* MAV_FRAME_GLOBAL_RELATIVE_ALT_INT */
		Params: [7]float32{-1, changeModeFlag, 0, nan, 0, 0, float32(altRelM)},
		X:      int32(math.Round(latDeg * 1e7)), Y: int32(math.Round(lonDeg * 1e7))})
}

// ChangeSpeed sets the horizontal ground speed in m/s.
func (v *Vehicle) ChangeSpeed(ctx context.Context, speedMS float64) error {
	if speedMS <= 0 || math.IsNaN(speedMS) {
		return fmt.Errorf("%w: speed must be positive, got %v", ErrBadArgument, speedMS)
	}
	return v.Send(ctx, Command{ID: CmdDoChangeSpeed, Params: [7]float32{1, float32(speedMS), -1}})
}

// MissionStart starts the uploaded mission (ArduPilot switches to AUTO).
func (v *Vehicle) MissionStart(ctx context.Context) error {
	return v.Send(ctx, Command{ID: CmdMissionStart})
}

// Pause holds position; Resume continues.
func (v *Vehicle) Pause(ctx context.Context) error {
	return v.Send(ctx, Command{ID: CmdDoPauseContinue, Params: [7]float32{0}})
}

// Resume continues after Pause.
func (v *Vehicle) Resume(ctx context.Context) error {
	return v.Send(ctx, Command{ID: CmdDoPauseContinue, Params: [7]float32{1}})
}

// Reboot restarts the autopilot. Autopilots refuse while armed.
func (v *Vehicle) Reboot(ctx context.Context) error {
	return v.Send(ctx, Command{ID: CmdPreflightReboot, Params: [7]float32{1}})
}

// WaitState waits until pred holds for the vehicle's state, or ctx ends.
func (v *Vehicle) WaitState(ctx context.Context, pred func(State) bool) (State, error) {
	sub := v.m.Subscribe()
	defer sub.Close()
	for {
		if s := v.State(); pred(s) {
			return s, nil
		}
		select {
		case <-sub.Ready():
			sub.Take()
		case <-ctx.Done():
			return v.State(), ctx.Err()
		case <-v.m.ctx.Done():
			return v.State(), ErrClosed
		}
	}
}

func (v *Vehicle) waitFor(ctx context.Context, what string, pred func(State) bool) error {
	ctx, cancel := context.WithTimeout(ctx, confirmTimeout)
	defer cancel()
	if _, err := v.WaitState(ctx, pred); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("vehicle %d: not %s after %v: %w", v.id, what, confirmTimeout, ErrNotConfirmed)
		}
		return err
	}
	return nil
}

// DefaultStreamRates are the telemetry rates (Hz) osprey asks every vehicle for, close to what
// QGroundControl and Mission Planner request.
func DefaultStreamRates() map[uint32]float64 {
	return map[uint32]float64{
		1:   2,   // SYS_STATUS
		24:  2,   // GPS_RAW_INT
		30:  4,   // ATTITUDE
		33:  4,   // GLOBAL_POSITION_INT
		42:  1,   // MISSION_CURRENT
		74:  4,   // VFR_HUD
		147: 1,   // BATTERY_STATUS
		242: 0.2, // HOME_POSITION
	}
}

// startStreamSetup asks the vehicle for its version and telemetry rates, in the background. A later call
// (the link came back) replaces an earlier one still running.
func (v *Vehicle) startStreamSetup() {
	rates := v.m.conf.StreamRates
	if len(rates) == 0 {
		return
	}
	ctx, cancel := context.WithCancel(v.m.ctx)
	v.mu.Lock()
	if v.streamCancel != nil {
		v.streamCancel()
	}
	v.streamCancel = cancel
	v.mu.Unlock()
	v.m.wg.Add(1)
	go func() {
		defer v.m.wg.Done()
		defer cancel()
		v.setupStreams(ctx, rates)
	}()
}

func (v *Vehicle) setupStreams(ctx context.Context, rates map[uint32]float64) {
	_ = v.Send(ctx, Command{ID: CmdRequestMessage, Params: [7]float32{148}}) // AUTOPILOT_VERSION
	for id, hz := range rates {
		interval := float32(-1)
		if hz > 0 {
			interval = float32(1e6 / hz)
		}
		err := v.Send(ctx, Command{ID: CmdSetMessageInterval, Params: [7]float32{float32(id), interval}})
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, ErrUnsupported) || errors.Is(err, ErrTimeout) {
			// Older ArduPilot: ask for every stream group at the fastest rate we want.
			sys, comp := v.target()
			for range 3 {
				_ = v.send(&apm.MessageRequestDataStream{TargetSystem: sys, TargetComponent: comp,
					ReqStreamId: 0, ReqMessageRate: 4, StartStop: 1})
			}
			return
		}
	}
}
