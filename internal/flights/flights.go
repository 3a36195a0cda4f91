// Package flights records each flight (arm to disarm) of every vehicle: the vehicle's own tlog, a track
// sampled once a second, and a summary (times, distance, highest altitude) in the store.
package flights

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/ospreygcs/osprey/internal/store"
	"github.com/ospreygcs/osprey/mavlink"
)

// Store is what the recorder needs of the database.
type Store interface {
	StartFlight(ctx context.Context, f store.FlightStart) (int64, error)
	EndFlight(ctx context.Context, id int64, sum store.FlightSummary) error
	AppendTrack(ctx context.Context, id int64, points []store.TrackPoint) error
}

// Config configures a Recorder.
type Config struct {
	Manager *mavlink.Manager
	Store   Store
	// Dir is where flight tlogs are written, one per flight.
	Dir string
	// TrackInterval is the spacing of track points (default 1 s).
	TrackInterval time.Duration
	Logger        *slog.Logger
}

// Recorder watches the fleet and records flights. Run it; it ends with its context.
type Recorder struct {
	conf   Config
	active map[*mavlink.Vehicle]*flight // only touched by Run's goroutine
}

type flight struct {
	id       int64
	started  time.Time
	tlog     *os.File
	rec      *mavlink.Recorder
	pending  []store.TrackPoint
	last     *store.TrackPoint
	distance float64
	maxAlt   float64
}

// trackBatch is how many track points are written to the store at once.
const trackBatch = 10

// New validates conf.
func New(conf Config) (*Recorder, error) {
	if conf.Manager == nil || conf.Store == nil || conf.Dir == "" {
		return nil, errors.New("flights: Manager, Store and Dir are required")
	}
	if conf.TrackInterval <= 0 {
		conf.TrackInterval = time.Second
	}
	if conf.Logger == nil {
		conf.Logger = slog.Default()
	}
	if err := os.MkdirAll(conf.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("flights: %w", err)
	}
	return &Recorder{conf: conf, active: map[*mavlink.Vehicle]*flight{}}, nil
}

// Run records until ctx ends; flights still open then are ended at that moment, their logs closed.
func (r *Recorder) Run(ctx context.Context) error {
	sub := r.conf.Manager.Subscribe()
	defer sub.Close()
	defer r.endAll()
	for {
		u, err := sub.Next(ctx)
		if err != nil {
			return nil
		}
		for _, e := range u.Events {
			if e.Kind != mavlink.EventArmed {
				continue
			}
			v, err := r.conf.Manager.VehicleOn(e.Network, e.SystemID)
			if err != nil {
				continue
			}
			if e.Armed {
				r.start(v, e.Time)
			} else {
				r.end(v, e.Time)
			}
		}
		for _, s := range u.States {
			v, err := r.conf.Manager.VehicleOn(s.Network, s.SystemID)
			if err != nil {
				continue
			}
			if f := r.active[v]; f != nil {
				r.track(f, s)
			}
		}
	}
}

func (r *Recorder) start(v *mavlink.Vehicle, at time.Time) {
	if r.active[v] != nil {
		return
	}
	ctx := context.Background() // a flight's records are written even as the server stops
	name := fmt.Sprintf("%s-vehicle%d.tlog", at.UTC().Format("2006-01-02T15-04-05.000Z"), v.SystemID())
	if v.Network() != "" {
		name = v.Network() + "-" + name
	}
	path := filepath.Join(r.conf.Dir, name)
	f := &flight{started: at}
	tlog, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		r.conf.Logger.Error("flight log not written", "vehicle", v.SystemID(), "err", err)
		path = ""
	} else if f.rec, err = r.conf.Manager.RecordVehicle(tlog, v.Network(), v.SystemID()); err != nil {
		_ = tlog.Close()
		path = ""
	} else {
		f.tlog = tlog
	}
	id, err := r.conf.Store.StartFlight(ctx, store.FlightStart{VehicleNetwork: v.Network(), VehicleID: int(v.SystemID()), StartedAt: at, TlogPath: path})
	if err != nil {
		r.conf.Logger.Error("flight not recorded", "vehicle", v.SystemID(), "err", err)
		r.closeLog(f)
		return
	}
	f.id = id
	r.active[v] = f
	r.track(f, v.State())
}

func (r *Recorder) track(f *flight, s mavlink.State) {
	if !s.HasPosition || s.LinkLost {
		return
	}
	if f.last != nil && s.LastHeard.Sub(f.last.Time) < r.conf.TrackInterval {
		return
	}
	p := store.TrackPoint{Time: s.LastHeard, LatDeg: s.LatDeg, LonDeg: s.LonDeg, AltRelM: s.AltRelM}
	if f.last != nil {
		f.distance += groundDistanceM(f.last.LatDeg, f.last.LonDeg, p.LatDeg, p.LonDeg)
	}
	f.maxAlt = math.Max(f.maxAlt, p.AltRelM)
	f.last = &p
	f.pending = append(f.pending, p)
	if len(f.pending) >= trackBatch {
		r.flush(f)
	}
}

func (r *Recorder) flush(f *flight) {
	if len(f.pending) == 0 {
		return
	}
	if err := r.conf.Store.AppendTrack(context.Background(), f.id, f.pending); err != nil {
		r.conf.Logger.Error("flight track not written", "flight", f.id, "err", err)
	}
	f.pending = f.pending[:0]
}

func (r *Recorder) end(v *mavlink.Vehicle, at time.Time) {
	f := r.active[v]
	if f == nil {
		return
	}
	delete(r.active, v)
	r.track(f, v.State())
	r.flush(f)
	r.closeLog(f)
	sum := store.FlightSummary{EndedAt: at, DistanceM: f.distance, MaxAltRelM: f.maxAlt, DurationS: at.Sub(f.started).Seconds()}
	if err := r.conf.Store.EndFlight(context.Background(), f.id, sum); err != nil {
		r.conf.Logger.Error("flight summary not written", "flight", f.id, "err", err)
	}
}

func (r *Recorder) endAll() {
	now := time.Now()
	for v := range r.active {
		r.end(v, now)
	}
}

func (r *Recorder) closeLog(f *flight) {
	if f.rec != nil {
		if err := f.rec.Close(); err != nil {
			r.conf.Logger.Error("flight log", "err", err)
		}
	}
	if f.tlog != nil {
		_ = f.tlog.Close()
	}
}

// groundDistanceM is the haversine distance between two points.
func groundDistanceM(lat1, lon1, lat2, lon2 float64) float64 {
	const earthRadiusM = 6_371_008.8
	rad := math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusM * math.Asin(math.Min(1, math.Sqrt(a)))
}
