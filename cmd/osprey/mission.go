package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/paulmach/orb"
	"github.com/spf13/cobra"

	"github.com/ospreygcs/osprey/mission"
)

func newMissionCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mission",
		Short: "Validate, convert, generate, show and transfer mission plans",
		Long: `Work with mission plans: QGroundControl .plan files, Mission Planner .waypoints (QGC WPL 110)
files, GeoJSON and KML. validate, convert, generate and show work offline; upload, download,
clear and start talk to a vehicle over a link.`,
		Example: `  osprey mission validate patrol.plan
  osprey mission convert patrol.plan patrol.waypoints
  osprey mission generate perimeter --area park.geojson --alt 40 --inset 15 --laps 3 -o park.plan
  osprey mission show patrol.plan`,
	}
	cmd.AddCommand(newMissionValidateCmd(), newMissionConvertCmd(), newMissionGenerateCmd(), newMissionShowCmd())
	cmd.AddCommand(newMissionTransferCmds()...)
	return cmd
}

// validateFlags are the limits a plan is checked against, shared by validate, upload and patrol.
type validateFlags struct {
	ceilingM  float64
	maxLegM   float64
	endurance time.Duration
	cruiseMS  float64
}

func (f *validateFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.Float64Var(&f.ceilingM, "ceiling", 120, "highest altitude allowed above home, metres")
	fl.Float64Var(&f.maxLegM, "max-leg", 5000, "longest allowed leg between waypoints, metres (negative: no limit)")
	fl.DurationVar(&f.endurance, "endurance", 20*time.Minute, "battery endurance the flight time is checked against (0: unchecked)")
	fl.Float64Var(&f.cruiseMS, "speed", 0, "cruise speed for the flight-time estimate, m/s (default: the plan's)")
}

func (f *validateFlags) options() mission.ValidateOptions {
	return mission.ValidateOptions{MaxAltAboveHomeM: f.ceilingM, MaxLegM: f.maxLegM, EnduranceS: f.endurance.Seconds(), SpeedMS: f.cruiseMS}
}

// errPlanInvalid marks a plan that failed validation.
var errPlanInvalid = errors.New("the plan is not safe to fly as it is")

func newMissionValidateCmd() *cobra.Command {
	var vf validateFlags
	var asJSON bool
	c := &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a plan before it flies: coordinates, altitudes, fence, jumps, legs, endurance",
		Long: `Check a plan the way osprey does before every upload, and list errors and warnings by item number
(item 1 is the first after home, as QGroundControl and Mission Planner count). Exits 1 when there
are errors.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := mission.Load(args[0])
			if err != nil {
				return err
			}
			rep := mission.Validate(p, vf.options())
			if asJSON {
				if err := printJSON(cmd.OutOrStdout(), rep); err != nil {
					return err
				}
			} else {
				printReport(cmd.OutOrStdout(), args[0], p, rep)
			}
			if !rep.OK() {
				return fmt.Errorf("%s: %w", args[0], errPlanInvalid)
			}
			return nil
		},
	}
	vf.register(c)
	c.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return c
}

func printReport(w io.Writer, name string, p *mission.Plan, rep mission.Report) {
	fmt.Fprintf(w, "%s: %d items, %.0f m, about %s at cruise speed\n", name, len(p.Items), rep.PathLengthM, rep.FlightTime.Round(time.Second))
	for _, is := range rep.Issues {
		fmt.Fprintf(w, "  %s\n", is)
	}
	if rep.OK() {
		fmt.Fprintln(w, "  no errors")
	}
}

func newMissionConvertCmd() *cobra.Command {
	var to string
	c := &cobra.Command{
		Use:   "convert IN OUT",
		Short: "Convert between .plan, .waypoints, GeoJSON and KML (by OUT's extension or --to)",
		Example: `  osprey mission convert survey.plan survey.waypoints
  osprey mission convert survey.waypoints survey.plan
  osprey mission convert survey.plan survey.geojson
  osprey mission convert survey.plan - --to kml > survey.kml`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := mission.Load(args[0])
			if err != nil {
				return err
			}
			format := to
			if format == "" {
				format = strings.TrimPrefix(strings.ToLower(filepath.Ext(args[1])), ".")
			}
			return writePlanFile(cmd, args[1], format, p)
		},
	}
	c.Flags().StringVar(&to, "to", "", "output format: plan, waypoints, geojson or kml (default: from OUT's extension)")
	return c
}

// writePlanFile writes p in format to path ("-" is stdout), through a temporary file so a failure never
// leaves half a plan under the real name.
func writePlanFile(cmd *cobra.Command, path, format string, p *mission.Plan) error {
	var buf bytes.Buffer
	var err error
	switch format {
	case "plan":
		err = mission.WritePlan(&buf, p)
	case "waypoints", "txt":
		err = mission.WriteWaypoints(&buf, p)
	case "geojson", "json":
		err = printJSON(&buf, mission.PlanGeoJSON(p))
	case "kml":
		err = mission.WriteKML(&buf, p)
	default:
		return usageError{fmt.Errorf("output format %q: want plan, waypoints, geojson or kml", format)}
	}
	if err != nil {
		return err
	}
	if path == "-" {
		_, err = cmd.OutOrStdout().Write(buf.Bytes())
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if format == "waypoints" && (!p.Fence.Empty() || len(p.Rally) > 0) {
		fmt.Fprintf(cmd.ErrOrStderr(), "note: .waypoints holds the mission only; the fence and rally points were not written\n")
	}
	fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d items)\n", path, len(p.Items))
	return nil
}

func newMissionShowCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "show FILE",
		Short: "List a plan's items, fence and rally points",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := mission.Load(args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), p)
			}
			printPlan(cmd.OutOrStdout(), p)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the plan as JSON")
	return c
}

func printPlan(w io.Writer, p *mission.Plan) {
	if h := p.PlannedHome; h != nil {
		fmt.Fprintf(w, "home %.7f, %.7f, %.1f m\n", h.LatDeg, h.LonDeg, h.AltM)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tCOMMAND\tLAT\tLON\tALT\tP1\tP2\tP3\tP4")
	for i, it := range p.Items {
		p1 := it.Param1
		if it.Command == mission.CmdDoJump {
			p1++ // the model counts from 0; people count items from 1, as this listing does
		}
		fmt.Fprintf(tw, "%d\t%s\t%.7f\t%.7f\t%.1f\t%g\t%g\t%g\t%g\n", i+1, it.Command, it.LatDeg, it.LonDeg, it.AltM, p1, it.Param2, it.Param3, it.Param4)
	}
	_ = tw.Flush()
	if n := len(p.Fence.Polygons) + len(p.Fence.Circles); n > 0 {
		fmt.Fprintf(w, "fence: %d polygons, %d circles\n", len(p.Fence.Polygons), len(p.Fence.Circles))
	}
	if len(p.Rally) > 0 {
		fmt.Fprintf(w, "rally points: %d\n", len(p.Rally))
	}
}

func newMissionGenerateCmd() *cobra.Command {
	var (
		area, center, home, out     string
		altM, insetM, spacingM      float64
		angleDeg, turnM, radiusM    float64
		widthM, speedMS, takeoffAlt float64
		laps, turns                 int
		clockwise, rtl              bool
	)
	c := &cobra.Command{
		Use:       "generate perimeter|survey|orbit|corridor",
		Short:     "Generate a patrol or survey route as plain mission items",
		ValidArgs: []string{"perimeter", "survey", "orbit", "corridor"},
		Long: `Generate a route from an area (GeoJSON or KML polygon), a line, or a point:
  perimeter  patrol round a polygon, inset from its edge, laps repeated with DO_JUMP
  survey     lawnmower lines across a polygon at a spacing and angle
  orbit      circles round a point
  corridor   passes along a line, covering a width
The plan starts with a takeoff and, with --rtl, ends with a return to launch.`,
		Example: `  osprey mission generate perimeter --area park.geojson --alt 40 --inset 10 --laps 3 -o park.plan
  osprey mission generate survey --area field.kml --alt 60 --spacing 30 --angle 45 -o field.plan
  osprey mission generate orbit --center -35.3632,149.1652 --radius 80 --turns 2 --alt 50 -o orbit.plan
  osprey mission generate corridor --area road.geojson --width 60 --spacing 20 --alt 45 -o road.plan`,
		Args: cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			route := mission.RouteOptions{Vehicle: mission.VehicleInfo{Firmware: mission.FirmwareArduPilot, Type: mission.VehicleQuadrotor},
				TakeoffAltM: takeoffAlt, SpeedMS: speedMS, ReturnToLaunch: rtl}
			if home != "" {
				lat, lon, alt, err := parseHome(home)
				if err != nil {
					return usageError{err}
				}
				route.Home = &mission.Position{LatDeg: lat, LonDeg: lon, AltM: alt}
			}
			var p *mission.Plan
			var err error
			switch args[0] {
			case "orbit":
				lat, lon, _, perr := parseHome(center)
				if perr != nil {
					return usageError{fmt.Errorf("--center: %w", perr)}
				}
				p, err = mission.Orbit(orb.Point{lon, lat}, mission.OrbitOptions{RouteOptions: route, AltM: altM, RadiusM: radiusM, Turns: turns, Clockwise: clockwise})
			default:
				geom, gerr := loadArea(area)
				if gerr != nil {
					return gerr
				}
				switch args[0] {
				case "perimeter", "survey":
					poly, ok := geom.(orb.Polygon)
					if !ok {
						return usageError{fmt.Errorf("%s: %s needs a polygon, the file holds a %s", area, args[0], geom.GeoJSONType())}
					}
					if args[0] == "perimeter" {
						p, err = mission.Perimeter(poly, mission.PerimeterOptions{RouteOptions: route, AltM: altM, InsetM: insetM, Clockwise: clockwise, Laps: laps})
					} else {
						p, err = mission.Survey(poly, mission.SurveyOptions{RouteOptions: route, AltM: altM, SpacingM: spacingM, AngleDeg: angleDeg, TurnaroundM: turnM})
					}
				case "corridor":
					line, ok := geom.(orb.LineString)
					if !ok {
						return usageError{fmt.Errorf("%s: corridor needs a line, the file holds a %s", area, geom.GeoJSONType())}
					}
					p, err = mission.Corridor(line, mission.CorridorOptions{RouteOptions: route, AltM: altM, WidthM: widthM, SpacingM: spacingM})
				}
			}
			if err != nil {
				return usageError{err}
			}
			if out == "" {
				return usageError{errors.New("-o FILE is required (use - for standard output)")}
			}
			format := strings.TrimPrefix(strings.ToLower(filepath.Ext(out)), ".")
			if out == "-" {
				format = "plan"
			}
			return writePlanFile(cmd, out, format, p)
		},
	}
	fl := c.Flags()
	fl.StringVar(&area, "area", "", "GeoJSON or KML file with the polygon (perimeter, survey) or line (corridor)")
	fl.StringVar(&center, "center", "", "orbit centre LAT,LON")
	fl.StringVar(&home, "home", "", "planned home LAT,LON[,ALT] (default: the takeoff is at the first waypoint)")
	fl.StringVarP(&out, "output", "o", "", "where to write the plan (.plan, .waypoints, .geojson, .kml, or -)")
	fl.Float64Var(&altM, "alt", 40, "altitude above home, metres")
	fl.Float64Var(&takeoffAlt, "takeoff-alt", 0, "takeoff altitude above home (default: --alt)")
	fl.Float64Var(&insetM, "inset", 0, "perimeter: distance inside the edge, metres")
	fl.IntVar(&laps, "laps", 1, "perimeter: laps to fly")
	fl.BoolVar(&clockwise, "clockwise", false, "perimeter, orbit: fly clockwise seen from above")
	fl.Float64Var(&spacingM, "spacing", 25, "survey, corridor: distance between lines, metres")
	fl.Float64Var(&angleDeg, "angle", 0, "survey: line direction, degrees from north")
	fl.Float64Var(&turnM, "turnaround", 0, "survey: distance flown past the edge before turning, metres")
	fl.Float64Var(&radiusM, "radius", 50, "orbit: radius, metres")
	fl.IntVar(&turns, "turns", 1, "orbit: turns")
	fl.Float64Var(&widthM, "width", 50, "corridor: width covered, metres")
	fl.Float64Var(&speedMS, "cruise", 0, "cruise speed stored in the plan, m/s")
	fl.BoolVar(&rtl, "rtl", true, "end with a return to launch")
	return c
}

func loadArea(path string) (orb.Geometry, error) {
	if path == "" {
		return nil, usageError{errors.New("--area FILE is required")}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	g, err := mission.ParseArea(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return g, nil
}
