package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Flight-log limits.
const (
	defaultFlightLimit = 100
	maxFlightLimit     = 1000
	maxNetworkBytes    = 100
	maxPathBytes       = 4096
)

// FlightStart is what is known when a flight begins.
type FlightStart struct {
	VehicleNetwork string // the vehicle's MAVLink network; empty for the default one
	VehicleID      int    // the vehicle's MAVLink system id
	StartedAt      time.Time
	TlogPath       string // the telemetry log being written for the flight, if any
}

// FlightSummary is what is known when a flight ends.
type FlightSummary struct {
	EndedAt    time.Time
	DistanceM  float64 // distance flown over the ground
	MaxAltRelM float64 // highest altitude above home
	DurationS  float64 // time in the air
}

// Flight is one entry of the flight log.
type Flight struct {
	ID             int64
	VehicleNetwork string
	VehicleID      int
	StartedAt      time.Time
	// EndedAt is zero while the flight is open, and stays zero for an interrupted flight.
	EndedAt time.Time
	// Interrupted is set when osprey stopped (or crashed) while the flight was open: its summary and the
	// end of its track are missing.
	Interrupted bool
	TlogPath    string
	DistanceM   float64
	MaxAltRelM  float64
	DurationS   float64
}

// FlightFilter selects flights for ListFlights. Zero fields select everything.
type FlightFilter struct {
	VehicleID int       // only this system id (on any network); 0 for all vehicles
	Since     time.Time // only flights started at or after this time
	Limit     int       // at most this many, newest first; 0 means 100, and more than 1000 is 1000
}

// TrackPoint is one position of a flight's track.
type TrackPoint struct {
	Time    time.Time
	LatDeg  float64
	LonDeg  float64
	AltRelM float64
}

// StartFlight opens a new flight and returns its id. Ids are never reused.
func (s *Store) StartFlight(ctx context.Context, f FlightStart) (int64, error) {
	switch {
	case f.VehicleID <= 0:
		return 0, fmt.Errorf("%w: flight: vehicle id %d", ErrInvalid, f.VehicleID)
	case f.StartedAt.IsZero():
		return 0, fmt.Errorf("%w: flight: no start time", ErrInvalid)
	case len(f.VehicleNetwork) > maxNetworkBytes || strings.ContainsRune(f.VehicleNetwork, 0):
		return 0, fmt.Errorf("%w: flight: bad vehicle network %q", ErrInvalid, f.VehicleNetwork)
	case len(f.TlogPath) > maxPathBytes || strings.ContainsRune(f.TlogPath, 0):
		return 0, fmt.Errorf("%w: flight: bad tlog path", ErrInvalid)
	}
	var id int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO flights (vehicle_network, vehicle_id, started_at, tlog_path)
			VALUES (?, ?, ?, ?) RETURNING id`, f.VehicleNetwork, f.VehicleID, f.StartedAt.UnixMilli(), f.TlogPath).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("store: start flight: %w", err)
	}
	return id, nil
}

// EndFlight closes flight id with its summary. A flight can be ended once; an interrupted flight can
// still be ended (it stays marked interrupted, as its record has a gap).
func (s *Store) EndFlight(ctx context.Context, id int64, sum FlightSummary) error {
	switch {
	case sum.EndedAt.IsZero():
		return fmt.Errorf("%w: flight %d: no end time", ErrInvalid, id)
	case !finiteNonNegative(sum.DistanceM), !finiteNonNegative(sum.DurationS), !finite(sum.MaxAltRelM):
		return fmt.Errorf("%w: flight %d: bad summary %+v", ErrInvalid, id, sum)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		var started int64
		var ended sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT started_at, ended_at FROM flights WHERE id = ?`, id).Scan(&started, &ended)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: flight %d", ErrNotFound, id)
		}
		if err != nil {
			return err
		}
		if ended.Valid {
			return fmt.Errorf("%w: flight %d has already ended", ErrInvalid, id)
		}
		if sum.EndedAt.UnixMilli() < started {
			return fmt.Errorf("%w: flight %d ends before it starts", ErrInvalid, id)
		}
		_, err = tx.ExecContext(ctx, `UPDATE flights SET ended_at = ?, distance_m = ?, max_alt_rel_m = ?, duration_s = ?
			WHERE id = ?`, sum.EndedAt.UnixMilli(), sum.DistanceM, sum.MaxAltRelM, sum.DurationS, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: end flight: %w", err)
	}
	return nil
}

const flightColumns = `id, vehicle_network, vehicle_id, started_at, ended_at, interrupted, tlog_path,
	distance_m, max_alt_rel_m, duration_s`

// scanFlight reads one row selected with flightColumns.
func scanFlight(row interface{ Scan(...any) error }) (Flight, error) {
	var f Flight
	var started int64
	var ended sql.NullInt64
	err := row.Scan(&f.ID, &f.VehicleNetwork, &f.VehicleID, &started, &ended, &f.Interrupted, &f.TlogPath,
		&f.DistanceM, &f.MaxAltRelM, &f.DurationS)
	if err != nil {
		return Flight{}, err
	}
	f.StartedAt = fromMillis(started)
	if ended.Valid {
		f.EndedAt = fromMillis(ended.Int64)
	}
	return f, nil
}

// GetFlight returns flight id.
func (s *Store) GetFlight(ctx context.Context, id int64) (Flight, error) {
	f, err := scanFlight(s.db.QueryRowContext(ctx, `SELECT `+flightColumns+` FROM flights WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Flight{}, fmt.Errorf("%w: flight %d", ErrNotFound, id)
	}
	if err != nil {
		return Flight{}, fmt.Errorf("store: get flight %d: %w", id, err)
	}
	return f, nil
}

// ListFlights returns the flights filter selects, newest first.
func (s *Store) ListFlights(ctx context.Context, filter FlightFilter) ([]Flight, error) {
	if filter.VehicleID < 0 || filter.Limit < 0 {
		return nil, fmt.Errorf("%w: flight filter %+v", ErrInvalid, filter)
	}
	limit := filter.Limit
	if limit == 0 {
		limit = defaultFlightLimit
	}
	limit = min(limit, maxFlightLimit)
	since := int64(math.MinInt64)
	if !filter.Since.IsZero() {
		since = filter.Since.UnixMilli()
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+flightColumns+` FROM flights
		WHERE (? = 0 OR vehicle_id = ?) AND started_at >= ?
		ORDER BY started_at DESC, id DESC LIMIT ?`, filter.VehicleID, filter.VehicleID, since, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list flights: %w", err)
	}
	defer rows.Close()
	var out []Flight
	for rows.Next() {
		f, err := scanFlight(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list flights: %w", err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list flights: %w", err)
	}
	return out, nil
}

// AppendTrack adds points to the end of flight id's track, all or none in one transaction. Points may
// still arrive after the flight has ended (a batch flushed late).
func (s *Store) AppendTrack(ctx context.Context, id int64, points []TrackPoint) error {
	for i, p := range points {
		if p.Time.IsZero() || !finite(p.LatDeg) || p.LatDeg < -90 || p.LatDeg > 90 ||
			!finite(p.LonDeg) || p.LonDeg < -180 || p.LonDeg > 180 || !finite(p.AltRelM) {
			return fmt.Errorf("%w: flight %d: track point %d %+v", ErrInvalid, id, i, p)
		}
	}
	if len(points) == 0 {
		return nil
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM flights WHERE id = ?`, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: flight %d", ErrNotFound, id)
		}
		if err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO track_points (flight_id, time, lat_deg, lon_deg, alt_rel_m)
			VALUES (?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, p := range points {
			if _, err := stmt.ExecContext(ctx, id, p.Time.UnixMilli(), p.LatDeg, p.LonDeg, p.AltRelM); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: append track: %w", err)
	}
	return nil
}

// FlightTrack returns flight id's track in the order it was appended.
func (s *Store) FlightTrack(ctx context.Context, id int64) ([]TrackPoint, error) {
	// Read the flight and its points in one statement, so a flight with no points (an empty track) can
	// be told from a flight that does not exist without a second query racing a delete.
	rows, err := s.db.QueryContext(ctx, `SELECT t.time, t.lat_deg, t.lon_deg, t.alt_rel_m
		FROM flights f LEFT JOIN track_points t ON t.flight_id = f.id
		WHERE f.id = ? ORDER BY t.rowid`, id)
	if err != nil {
		return nil, fmt.Errorf("store: flight track %d: %w", id, err)
	}
	defer rows.Close()
	found := false
	out := []TrackPoint{}
	for rows.Next() {
		found = true
		var t sql.NullInt64
		var lat, lon, alt sql.NullFloat64
		if err := rows.Scan(&t, &lat, &lon, &alt); err != nil {
			return nil, fmt.Errorf("store: flight track %d: %w", id, err)
		}
		if !t.Valid {
			continue // the LEFT JOIN's row for a flight without points
		}
		out = append(out, TrackPoint{Time: fromMillis(t.Int64), LatDeg: lat.Float64, LonDeg: lon.Float64, AltRelM: alt.Float64})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: flight track %d: %w", id, err)
	}
	if !found {
		return nil, fmt.Errorf("%w: flight %d", ErrNotFound, id)
	}
	return out, nil
}

// markInterrupted marks the flights still open when the store opens: whoever was recording them stopped
// without ending them.
func (s *Store) markInterrupted(ctx context.Context) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE flights SET interrupted = 1 WHERE ended_at IS NULL AND interrupted = 0`)
		return err
	})
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func finiteNonNegative(x float64) bool { return finite(x) && x >= 0 }
