package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/paulmach/orb"
	"github.com/spf13/cobra"

	"github.com/ospreygcs/osprey/mavlink"
	"github.com/ospreygcs/osprey/mission"
)

// errLinkLost ends a patrol whose vehicle stopped answering.
var errLinkLost = errors.New("link lost")

// errLowBattery ends a patrol whose battery fell below the minimum.
var errLowBattery = errors.New("battery low")

// errInterrupted ends a patrol stopped by the operator.
var errInterrupted = errors.New("interrupted")

// patrolEvent is one line of --json output.
type patrolEvent struct {
	Time    time.Time `json:"time"`
	Vehicle byte      `json:"vehicle"`
	Event   string    `json:"event"` // validated, uploaded, armed, started, item_reached, returning, landed, failed
	Item    int       `json:"item,omitempty"`
	Total   int       `json:"total,omitempty"`
	AltRelM float64   `json:"alt_rel_m"`
	Battery int       `json:"battery_pct"`
	Mode    string    `json:"mode,omitempty"`
	Message string    `json:"message,omitempty"`
}

func newPatrolCmd() *cobra.Command {
	var (
		f          linkFlags
		vf         validateFlags
		planFile   string
		areaFile   string
		laps       int
		altM       float64
		insetM     float64
		minBattery int
		lostAfter  time.Duration
	)
	c := &cobra.Command{
		Use:   "patrol",
		Short: "Fly a patrol from start to finish: validate, upload, verify, arm, take off, fly, come home",
		Long: `Fly a whole patrol: validate the plan (or generate a perimeter patrol round an area), upload and
verify it, arm, start the mission (which takes off), report progress as each waypoint is reached,
and finish when the vehicle has landed and disarmed. Exits 0 only then.

On any failure — a refusal, the battery under --min-battery, the link silent for --lost-after —
the vehicle is sent home (RTL) and the command exits non-zero. Ctrl-C sends it home too.
With --json, progress is one JSON object per line.`,
		Example: `  osprey patrol --link tcpc:127.0.0.1:5760 --plan night-route.plan
  osprey patrol --link udps:0.0.0.0:14550 --vehicle 2 --area park.geojson --alt 40 --laps 3 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (planFile == "") == (areaFile == "") {
				return usageError{errors.New("give exactly one of --plan FILE or --area AREA.geojson")}
			}
			sess, err := f.connect(cmd.Context())
			if err != nil {
				return err
			}
			defer sess.close()
			v := sess.vehicle()
			p, err := patrolPlan(v, planFile, areaFile, altM, insetM, laps)
			if err != nil {
				return err
			}
			out := newPatrolOutput(cmd.OutOrStdout(), f.json, v)
			return runPatrol(cmd.Context(), sess, p, vf, patrolLimits{minBattery: minBattery, lostAfter: lostAfter, timeout: f.timeout}, out)
		},
	}
	f.register(c)
	vf.register(c)
	fl := c.Flags()
	fl.StringVar(&planFile, "plan", "", "plan to fly (.plan, .waypoints)")
	fl.StringVar(&areaFile, "area", "", "area to patrol (GeoJSON or KML polygon): a perimeter patrol is generated")
	fl.IntVar(&laps, "laps", 1, "with --area: laps round the perimeter")
	fl.Float64Var(&altM, "alt", 40, "with --area: altitude above home, metres")
	fl.Float64Var(&insetM, "inset", 10, "with --area: distance inside the edge, metres")
	fl.IntVar(&minBattery, "min-battery", 25, "come home when the battery falls below this percentage")
	fl.DurationVar(&lostAfter, "lost-after", 10*time.Second, "give up when the vehicle is silent this long (its own failsafe takes over)")
	_ = c.Flags().Set("timeout", "2h")
	c.Flags().Lookup("timeout").DefValue = "2h"
	return c
}

func patrolPlan(v vehicleHandle, planFile, areaFile string, altM, insetM float64, laps int) (*mission.Plan, error) {
	if planFile != "" {
		return mission.Load(planFile)
	}
	geom, err := loadArea(areaFile)
	if err != nil {
		return nil, err
	}
	poly, ok := geom.(orb.Polygon)
	if !ok {
		return nil, usageError{fmt.Errorf("%s: a patrol needs a polygon, the file holds a %s", areaFile, geom.GeoJSONType())}
	}
	s := v.State()
	route := mission.RouteOptions{Vehicle: mission.VehicleInfo{Firmware: mission.Firmware(s.Autopilot), Type: mission.VehicleType(s.MAVType)}, ReturnToLaunch: true}
	if s.Home != nil {
		route.Home = &mission.Position{LatDeg: s.Home.LatDeg, LonDeg: s.Home.LonDeg, AltM: s.Home.AltMSLM}
	}
	p, err := mission.Perimeter(poly, mission.PerimeterOptions{RouteOptions: route, AltM: altM, InsetM: insetM, Laps: laps})
	if err != nil {
		return nil, usageError{err}
	}
	return p, nil
}

type patrolLimits struct {
	minBattery int
	lostAfter  time.Duration
	timeout    time.Duration
}

type patrolOutput struct {
	w    io.Writer
	json bool
	v    vehicleHandle
}

func newPatrolOutput(w io.Writer, asJSON bool, v vehicleHandle) *patrolOutput {
	return &patrolOutput{w: w, json: asJSON, v: v}
}

func (o *patrolOutput) say(event string, item, total int, msg string) {
	s := o.v.State()
	e := patrolEvent{Time: time.Now().UTC(), Vehicle: s.SystemID, Event: event, Item: item, Total: total, AltRelM: s.AltRelM,
		Battery: s.BatteryPct, Mode: s.Mode, Message: msg}
	if o.json {
		b, _ := json.Marshal(e)
		fmt.Fprintf(o.w, "%s\n", b)
		return
	}
	line := fmt.Sprintf("%s vehicle %d: %s", e.Time.Local().Format("15:04:05"), e.Vehicle, event)
	if total > 0 {
		line += fmt.Sprintf(" %d/%d", item, total)
	}
	line += fmt.Sprintf(" (alt %.1f m, battery %d%%, %s)", e.AltRelM, e.Battery, e.Mode)
	if msg != "" {
		line += ": " + msg
	}
	fmt.Fprintln(o.w, line)
}

// runPatrol flies p and returns nil once the vehicle has landed and disarmed after flying every item.
func runPatrol(ctx context.Context, sess session, p *mission.Plan, vf validateFlags, lim patrolLimits, out *patrolOutput) (err error) {
	v := sess.vehicle()
	flightCtx, cancel := context.WithTimeout(context.Background(), lim.timeout) // not ctx: Ctrl-C must still bring it home
	defer cancel()
	airborne := false
	defer func() {
		if err == nil || !airborne {
			return
		}
		out.say("returning", 0, 0, err.Error())
		rctx, rcancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer rcancel()
		if rerr := v.RTL(rctx); rerr != nil {
			out.say("failed", 0, 0, "RTL not acknowledged: "+rerr.Error()+"; the vehicle's own failsafe applies")
		}
	}()

	uploadCtx, ucancel := context.WithTimeout(flightCtx, 2*time.Minute)
	rep, err := sess.uploadPlan(uploadCtx, p, vf, true)
	ucancel()
	if err != nil {
		return err
	}
	total := len(p.Items)
	out.say("uploaded", 0, total, fmt.Sprintf("%d items verified, %.0f m, about %s", total, rep.PathLengthM, rep.FlightTime.Round(time.Second)))
	if ctx.Err() != nil {
		return errInterrupted
	}

	// ArduCopter arms in GUIDED (or LOITER); MISSION_START then switches to AUTO and the takeoff item flies.
	if s := v.State(); s.Autopilot == mavlink.AutopilotArduPilot && s.Mode != "GUIDED" {
		if err := v.SetMode(flightCtx, "GUIDED"); err != nil {
			return err
		}
	}
	if err := v.Arm(flightCtx); err != nil {
		return err
	}
	airborne = true // from here a failure sends it home
	out.say("armed", 0, total, "")
	if err := v.MissionStart(flightCtx); err != nil {
		return err
	}
	out.say("started", 0, total, "")

	watchCtx, stopWatch := context.WithCancel(flightCtx)
	defer stopWatch()
	events, err := sess.watch(watchCtx)
	if err != nil {
		return err
	}
	off := 0
	if v.State().Autopilot == mavlink.AutopilotArduPilot {
		off = 1 // MISSION_ITEM_REACHED counts ArduPilot's home as item 0
	}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	flew := false
	for {
		select {
		case <-ctx.Done():
			return errInterrupted
		case <-flightCtx.Done():
			return fmt.Errorf("patrol took longer than %v: %w", lim.timeout, mavlink.ErrTimeout)
		case e := <-events:
			switch {
			case e.kind == mavlink.EventMissionItemReached:
				out.say("item_reached", e.seq-off+1, total, "")
			case e.kind == mavlink.EventStatusText && e.severity <= 4:
				out.say("vehicle_says", 0, 0, e.text)
			}
		case <-tick.C:
		}
		s := v.State()
		if s.AltRelM > 1 {
			flew = true
		}
		if flew && !s.Armed {
			out.say("landed", total, total, "patrol complete")
			return nil
		}
		if since := time.Since(s.LastHeartbeat); since > lim.lostAfter {
			return fmt.Errorf("vehicle %d silent for %v: %w", s.SystemID, since.Round(time.Second), errLinkLost)
		}
		if s.BatteryPct >= 0 && s.BatteryPct < lim.minBattery && s.Mode != "RTL" && s.Mode != "LAND" {
			return fmt.Errorf("vehicle %d at %d%% (minimum %d%%): %w", s.SystemID, s.BatteryPct, lim.minBattery, errLowBattery)
		}
		if !s.Armed && !flew {
			// Disarmed on the ground before ever taking off: the start did not take.
			return fmt.Errorf("vehicle %d disarmed in %s before taking off: %w", s.SystemID, s.Mode, mavlink.ErrNotConfirmed)
		}
	}
}
