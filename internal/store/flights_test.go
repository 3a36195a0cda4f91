package store

import (
	"errors"
	"math"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

func TestFlightLifecycle(t *testing.T) {
	s := openTest(t, "")
	ctx := testCtx(t)
	id, err := s.StartFlight(ctx, FlightStart{VehicleNetwork: "fleet-2", VehicleID: 3, StartedAt: t0, TlogPath: "tlogs/3.tlog"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.GetFlight(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !f.EndedAt.IsZero() || f.Interrupted || f.VehicleNetwork != "fleet-2" || f.VehicleID != 3 || !f.StartedAt.Equal(t0) {
		t.Fatalf("open flight = %+v", f)
	}

	var points []TrackPoint
	for i := range 250 {
		points = append(points, TrackPoint{Time: t0.Add(time.Duration(i) * 200 * time.Millisecond),
			LatDeg: -35.36 + float64(i)*1e-5, LonDeg: 149.16, AltRelM: float64(i) / 10})
	}
	if err := s.AppendTrack(ctx, id, points[:100]); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendTrack(ctx, id, points[100:]); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendTrack(ctx, id, nil); err != nil {
		t.Fatalf("empty batch: %v", err)
	}
	track, err := s.FlightTrack(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(track) != len(points) {
		t.Fatalf("%d track points, want %d", len(track), len(points))
	}
	for i := range track {
		if !track[i].Time.Equal(points[i].Time) || track[i].LatDeg != points[i].LatDeg || track[i].AltRelM != points[i].AltRelM {
			t.Fatalf("point %d = %+v, want %+v", i, track[i], points[i])
		}
	}

	sum := FlightSummary{EndedAt: t0.Add(50 * time.Second), DistanceM: 275.5, MaxAltRelM: 24.9, DurationS: 50}
	if err := s.EndFlight(ctx, id, sum); err != nil {
		t.Fatal(err)
	}
	f, err = s.GetFlight(ctx, id)
	if err != nil || !f.EndedAt.Equal(sum.EndedAt) || f.DistanceM != 275.5 || f.MaxAltRelM != 24.9 || f.DurationS != 50 || f.Interrupted {
		t.Fatalf("ended flight = %+v, %v", f, err)
	}
	if err := s.EndFlight(ctx, id, sum); !errors.Is(err, ErrInvalid) {
		t.Fatalf("ending twice = %v, want ErrInvalid", err)
	}
	// A late batch after the end is kept.
	if err := s.AppendTrack(ctx, id, []TrackPoint{{Time: t0.Add(time.Minute), LatDeg: 1, LonDeg: 2}}); err != nil {
		t.Fatal(err)
	}
}

func TestFlightEmptyTrack(t *testing.T) {
	s := openTest(t, "")
	ctx := testCtx(t)
	id, err := s.StartFlight(ctx, FlightStart{VehicleID: 1, StartedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	track, err := s.FlightTrack(ctx, id)
	if err != nil || len(track) != 0 {
		t.Fatalf("track of a new flight = %+v, %v", track, err)
	}
}

func TestFlightNotFound(t *testing.T) {
	s := openTest(t, "")
	ctx := testCtx(t)
	checks := map[string]error{}
	_, checks["GetFlight"] = s.GetFlight(ctx, 42)
	_, checks["FlightTrack"] = s.FlightTrack(ctx, 42)
	checks["EndFlight"] = s.EndFlight(ctx, 42, FlightSummary{EndedAt: t0})
	checks["AppendTrack"] = s.AppendTrack(ctx, 42, []TrackPoint{{Time: t0}})
	for name, err := range checks {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s = %v, want ErrNotFound", name, err)
		}
	}
	if n := countRows(t, s.db, "track_points"); n != 0 {
		t.Fatalf("%d track points written for a missing flight", n)
	}
}

func TestFlightInvalid(t *testing.T) {
	s := openTest(t, "")
	ctx := testCtx(t)
	for name, fs := range map[string]FlightStart{
		"no vehicle":     {StartedAt: t0},
		"no start":       {VehicleID: 1},
		"nul in path":    {VehicleID: 1, StartedAt: t0, TlogPath: "a\x00b"},
		"nul in network": {VehicleID: 1, StartedAt: t0, VehicleNetwork: "a\x00"},
	} {
		if _, err := s.StartFlight(ctx, fs); !errors.Is(err, ErrInvalid) {
			t.Errorf("StartFlight %s = %v, want ErrInvalid", name, err)
		}
	}
	id, err := s.StartFlight(ctx, FlightStart{VehicleID: 1, StartedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	for name, sum := range map[string]FlightSummary{
		"no end":            {},
		"before start":      {EndedAt: t0.Add(-time.Second)},
		"negative distance": {EndedAt: t0, DistanceM: -1},
		"NaN altitude":      {EndedAt: t0, MaxAltRelM: math.NaN()},
		"infinite duration": {EndedAt: t0, DurationS: math.Inf(1)},
	} {
		if err := s.EndFlight(ctx, id, sum); !errors.Is(err, ErrInvalid) {
			t.Errorf("EndFlight %s = %v, want ErrInvalid", name, err)
		}
	}
	good := TrackPoint{Time: t0, LatDeg: 10, LonDeg: 20, AltRelM: 5}
	for name, bad := range map[string]TrackPoint{
		"no time":       {LatDeg: 1},
		"latitude 91":   {Time: t0, LatDeg: 91},
		"longitude NaN": {Time: t0, LonDeg: math.NaN()},
		"altitude Inf":  {Time: t0, AltRelM: math.Inf(-1)},
	} {
		// The good point before the bad one must not be written either.
		if err := s.AppendTrack(ctx, id, []TrackPoint{good, bad}); !errors.Is(err, ErrInvalid) {
			t.Errorf("AppendTrack %s = %v, want ErrInvalid", name, err)
		}
	}
	if n := countRows(t, s.db, "track_points"); n != 0 {
		t.Fatalf("%d track points written from rejected batches", n)
	}
	f, err := s.GetFlight(ctx, id)
	if err != nil || !f.EndedAt.IsZero() {
		t.Fatalf("a rejected EndFlight changed the flight: %+v, %v", f, err)
	}
	if _, err := s.ListFlights(ctx, FlightFilter{Limit: -1}); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative limit = %v", err)
	}
}

func TestListFlights(t *testing.T) {
	s := openTest(t, "")
	ctx := testCtx(t)
	var ids []int64
	for i, vehicle := range []int{1, 2, 1, 3, 1} {
		id, err := s.StartFlight(ctx, FlightStart{VehicleID: vehicle, StartedAt: t0.Add(time.Duration(i) * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	idsOf := func(fs []Flight) []int64 {
		var out []int64
		for _, f := range fs {
			out = append(out, f.ID)
		}
		return out
	}
	cases := []struct {
		name   string
		filter FlightFilter
		want   []int64
	}{
		{"all, newest first", FlightFilter{}, []int64{ids[4], ids[3], ids[2], ids[1], ids[0]}},
		{"one vehicle", FlightFilter{VehicleID: 1}, []int64{ids[4], ids[2], ids[0]}},
		{"since", FlightFilter{Since: t0.Add(2 * time.Hour)}, []int64{ids[4], ids[3], ids[2]}},
		{"limit", FlightFilter{Limit: 2}, []int64{ids[4], ids[3]}},
		{"all three", FlightFilter{VehicleID: 1, Since: t0.Add(time.Hour), Limit: 1}, []int64{ids[4]}},
		{"none", FlightFilter{VehicleID: 9}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.ListFlights(ctx, c.filter)
			if err != nil {
				t.Fatal(err)
			}
			if g := idsOf(got); len(g) != len(c.want) || (len(g) > 0 && !equalIDs(g, c.want)) {
				t.Fatalf("ids %v, want %v", g, c.want)
			}
		})
	}
}

func equalIDs(a, b []int64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestInterruptedFlightMarkedOnOpen(t *testing.T) {
	dir := t.TempDir()
	ctx := testCtx(t)
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	ended, err := s.StartFlight(ctx, FlightStart{VehicleID: 1, StartedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EndFlight(ctx, ended, FlightSummary{EndedAt: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	unended, err := s.StartFlight(ctx, FlightStart{VehicleID: 2, StartedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AppendTrack(ctx, unended, []TrackPoint{{Time: t0, LatDeg: 1, LonDeg: 1}}); err != nil {
		t.Fatal(err)
	}
	// osprey stops without ending the flight (a crash looks the same to the next Open).
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTest(t, dir)
	flights, err := s.ListFlights(ctx, FlightFilter{})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]Flight{}
	for _, f := range flights {
		byID[f.ID] = f
	}
	if f := byID[unended]; !f.Interrupted || !f.EndedAt.IsZero() {
		t.Fatalf("unended flight after restart = %+v, want interrupted with no end", f)
	}
	if f := byID[ended]; f.Interrupted || f.EndedAt.IsZero() {
		t.Fatalf("ended flight after restart = %+v, want untouched", f)
	}
	if track, err := s.FlightTrack(ctx, unended); err != nil || len(track) != 1 {
		t.Fatalf("the interrupted flight lost its track: %+v, %v", track, err)
	}
	// A flight started now is not interrupted; the interrupted one may still be ended.
	fresh, err := s.StartFlight(ctx, FlightStart{VehicleID: 2, StartedAt: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if f, err := s.GetFlight(ctx, fresh); err != nil || f.Interrupted {
		t.Fatalf("new flight = %+v, %v", f, err)
	}
	if fresh <= unended {
		t.Fatalf("flight id %d reused or went backwards after %d", fresh, unended)
	}
	if err := s.EndFlight(ctx, unended, FlightSummary{EndedAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if f, _ := s.GetFlight(ctx, unended); !f.Interrupted || f.EndedAt.IsZero() {
		t.Fatalf("ending an interrupted flight = %+v, want ended and still marked interrupted", f)
	}
}

func TestConcurrentTrackWriters(t *testing.T) {
	s := openTest(t, "")
	ctx := testCtx(t)
	const vehicles, batches, perBatch = 4, 10, 20
	var wg sync.WaitGroup
	errs := make(chan error, vehicles*batches*3)
	ids := make([]int64, vehicles)
	for v := range vehicles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := s.StartFlight(ctx, FlightStart{VehicleID: v + 1, StartedAt: t0})
			if err != nil {
				errs <- err
				return
			}
			ids[v] = id
			for b := range batches {
				batch := make([]TrackPoint, perBatch)
				for i := range batch {
					batch[i] = TrackPoint{Time: t0.Add(time.Duration(b*perBatch+i) * time.Second), LatDeg: float64(v), LonDeg: float64(b*perBatch+i) / 1000}
				}
				if err := s.AppendTrack(ctx, id, batch); err != nil {
					errs <- err
				}
				if _, err := s.FlightTrack(ctx, id); err != nil {
					errs <- err
				}
				if err := s.SetSetting(ctx, "last", "x"); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for v, id := range ids {
		track, err := s.FlightTrack(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(track) != batches*perBatch {
			t.Fatalf("vehicle %d: %d points, want %d", v+1, len(track), batches*perBatch)
		}
		for i, p := range track {
			// Each vehicle's points come back in the order appended, none from another flight.
			if p.LatDeg != float64(v) || !p.Time.Equal(t0.Add(time.Duration(i)*time.Second)) {
				t.Fatalf("vehicle %d point %d = %+v", v+1, i, p)
			}
		}
	}
}
