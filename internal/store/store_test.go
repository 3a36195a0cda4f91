package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ospreygcs/osprey/internal/clock"
)

func TestMain(m *testing.M) {
	// database/sql starts a goroutine per DB; Close must end it.
	goleak.VerifyTestMain(m)
}

// testCtx bounds every test's database calls.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// openTest opens a store in dir (a fresh one when dir is empty) and closes it when the test ends.
func openTest(t *testing.T, dir string, opts ...Option) *Store {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	s, err := Open(testCtx(t), dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func TestOpenSettings(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "nested")
	s := openTest(t, dir)
	ctx := testCtx(t)
	for pragma, want := range map[string]string{"journal_mode": "wal", "foreign_keys": "1", "synchronous": "2", "busy_timeout": "10000"} {
		// Ask several times so more than one pooled connection is likely checked.
		for range 3 {
			var got string
			if err := s.db.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
			}
		}
	}
	fi, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("database mode %o, want 600", mode)
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if mode := di.Mode().Perm(); mode != 0o700 {
		t.Errorf("directory mode %o, want 700", mode)
	}
	v, err := s.SchemaVersion(ctx)
	if err != nil || v != len(migrations) {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, len(migrations))
	}
}

func TestOpenOddDirectoryName(t *testing.T) {
	// '?' and '#' would cut a DSN short if the path were not escaped.
	dir := filepath.Join(t.TempDir(), "a?b#c d%20")
	s := openTest(t, dir)
	if _, err := s.SavePlan(testCtx(t), "p", "qgc-plan", []byte("{}"), PlanMeta{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Fatalf("database not in the named directory: %v", err)
	}
}

func TestOpenRejectsNonDatabase(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(strings.Repeat("not a database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(testCtx(t), dir); err == nil {
		_ = s.Close()
		t.Fatal("opened a file that is not a database")
	}
	if _, err := Open(testCtx(t), ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Open(\"\") = %v, want ErrInvalid", err)
	}
}

func TestSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := testCtx(t)
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SavePlan(ctx, "patrol", "qgc-plan", []byte(`{"v":1}`), PlanMeta{Items: 4, Note: "first"}); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	id, err := s.StartFlight(ctx, FlightStart{VehicleID: 1, StartedAt: start, TlogPath: "tlogs/1.tlog"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AppendTrack(ctx, id, []TrackPoint{{Time: start, LatDeg: -35.36, LonDeg: 149.16, AltRelM: 0}}); err != nil {
		t.Fatal(err)
	}
	if err := s.EndFlight(ctx, id, FlightSummary{EndedAt: start.Add(time.Minute), DistanceM: 12.5, MaxAltRelM: 30, DurationS: 60}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSetting(ctx, "ui.theme", "dark"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	s = openTest(t, dir)
	pv, body, err := s.GetPlan(ctx, "patrol", 0)
	if err != nil || string(body) != `{"v":1}` || pv.Version != 1 || pv.Items != 4 || pv.Note != "first" {
		t.Fatalf("plan after restart: %+v %q %v", pv, body, err)
	}
	f, err := s.GetFlight(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := Flight{ID: id, VehicleID: 1, StartedAt: start, EndedAt: start.Add(time.Minute), TlogPath: "tlogs/1.tlog",
		DistanceM: 12.5, MaxAltRelM: 30, DurationS: 60}
	if f != want {
		t.Fatalf("flight after restart:\n got %+v\nwant %+v", f, want)
	}
	track, err := s.FlightTrack(ctx, id)
	if err != nil || len(track) != 1 || !track[0].Time.Equal(start) {
		t.Fatalf("track after restart: %+v %v", track, err)
	}
	if v, ok, err := s.GetSetting(ctx, "ui.theme"); err != nil || !ok || v != "dark" {
		t.Fatalf("setting after restart: %q %v %v", v, ok, err)
	}
}

// v2 is a later migration as a future osprey might ship it: it changes a table that holds data.
var v2 = []string{
	`ALTER TABLE plans ADD COLUMN folder TEXT NOT NULL DEFAULT 'inbox'`,
	`CREATE INDEX plans_by_folder ON plans (folder)`,
}

func TestMigratesOldDatabase(t *testing.T) {
	dir := t.TempDir()
	ctx := testCtx(t)

	// A database as the current osprey leaves it, with data in it.
	old, err := open(ctx, dir, migrations)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.SavePlan(ctx, "survey", "qgc-plan", []byte("body"), PlanMeta{Items: 2}); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	// A newer osprey opens it and migrates, keeping the data.
	newer, err := open(ctx, dir, append(append([][]string(nil), migrations...), v2))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := newer.SchemaVersion(ctx); err != nil || v != len(migrations)+1 {
		t.Fatalf("version after migration = %d, %v", v, err)
	}
	var folder string
	if err := newer.db.QueryRowContext(ctx, `SELECT folder FROM plans WHERE name = 'survey'`).Scan(&folder); err != nil || folder != "inbox" {
		t.Fatalf("migrated column: %q, %v", folder, err)
	}
	if _, body, err := newer.GetPlan(ctx, "survey", 1); err != nil || string(body) != "body" {
		t.Fatalf("data after migration: %q, %v", body, err)
	}
	var applied int
	if err := newer.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_version`).Scan(&applied); err != nil || applied != len(migrations)+1 {
		t.Fatalf("schema_version rows = %d, %v", applied, err)
	}
	if err := newer.Close(); err != nil {
		t.Fatal(err)
	}

	// This osprey refuses the newer database, and leaves it as it was.
	if s, err := Open(ctx, dir); !errors.Is(err, ErrSchemaTooNew) {
		if s != nil {
			_ = s.Close()
		}
		t.Fatalf("Open of a newer database = %v, want ErrSchemaTooNew", err)
	}
	again, err := open(ctx, dir, append(append([][]string(nil), migrations...), v2))
	if err != nil {
		t.Fatalf("the newer osprey can no longer open its database: %v", err)
	}
	if err := again.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestFailedMigrationChangesNothing(t *testing.T) {
	dir := t.TempDir()
	ctx := testCtx(t)
	s := openTest(t, dir)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	bad := append(append([][]string(nil), migrations...), []string{
		`CREATE TABLE half_done (x INTEGER)`,
		`ALTER TABLE no_such_table ADD COLUMN y INTEGER`,
	})
	if s, err := open(ctx, dir, bad); err == nil {
		_ = s.Close()
		t.Fatal("a failing migration succeeded")
	} else if !strings.Contains(err.Error(), "migration 2, statement 2") {
		t.Fatalf("error %q does not say which statement failed", err)
	}
	s = openTest(t, dir)
	if v, err := s.SchemaVersion(ctx); err != nil || v != len(migrations) {
		t.Fatalf("version after a failed migration = %d, %v", v, err)
	}
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name = 'half_done'`).Scan(&n)
	if err != nil || n != 0 {
		t.Fatalf("the failed migration left its first statement behind (%d, %v)", n, err)
	}
}

func TestForeignKeysEnforced(t *testing.T) {
	s := openTest(t, "")
	ctx := testCtx(t)
	_, err := s.db.ExecContext(ctx, `INSERT INTO track_points (flight_id, time, lat_deg, lon_deg, alt_rel_m) VALUES (999, 0, 0, 0, 0)`)
	if err == nil {
		t.Fatal("inserted a track point for a flight that does not exist")
	}
}

func TestWithClock(t *testing.T) {
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	fake := clock.NewFake(at)
	s := openTest(t, "", WithClock(fake))
	ctx := testCtx(t)
	pv, err := s.SavePlan(ctx, "a", "qgc-plan", []byte("x"), PlanMeta{})
	if err != nil || !pv.CreatedAt.Equal(at) {
		t.Fatalf("CreatedAt = %v, %v; want %v", pv.CreatedAt, err, at)
	}
	fake.Advance(time.Hour)
	if _, err := s.SavePlan(ctx, "a", "qgc-plan", []byte("y"), PlanMeta{}); err != nil {
		t.Fatal(err)
	}
	plans, err := s.ListPlans(ctx)
	if err != nil || len(plans) != 1 || !plans[0].UpdatedAt.Equal(at.Add(time.Hour)) {
		t.Fatalf("ListPlans = %+v, %v; want UpdatedAt %v", plans, err, at.Add(time.Hour))
	}
}

func TestCancelledContext(t *testing.T) {
	s := openTest(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.SavePlan(ctx, "a", "qgc-plan", []byte("x"), PlanMeta{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("SavePlan on a cancelled context = %v", err)
	}
	// A writer waiting for the slot gives up when its context ends.
	s.writeSlot <- struct{}{}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	err := s.SetSetting(ctx2, "k", "v")
	<-s.writeSlot
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("SetSetting waiting for the write slot = %v", err)
	}
	if _, ok, err := s.GetSetting(testCtx(t), "k"); ok || err != nil {
		t.Fatalf("the abandoned write happened (%v, %v)", ok, err)
	}
}

// execer is satisfied by *sql.DB and *sql.Tx; used to check raw rows in tests.
type execer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func countRows(t *testing.T, db execer, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(testCtx(t), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
