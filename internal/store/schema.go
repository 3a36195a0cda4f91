package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations is the schema's history: migrations[i] holds the statements that take the database from
// version i to version i+1. Append to it; never edit a migration that has shipped, since databases in the
// field have already applied it.
var migrations = [][]string{
	// Version 1: plans library, flight log, settings.
	{
		// One row per plan name; its content lives in plan_versions, one row per save.
		`CREATE TABLE plans (
			id         INTEGER PRIMARY KEY,
			name       TEXT    NOT NULL UNIQUE,
			created_at INTEGER NOT NULL, -- Unix ms
			updated_at INTEGER NOT NULL  -- Unix ms of the latest version
		)`,
		`CREATE TABLE plan_versions (
			plan_id    INTEGER NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
			version    INTEGER NOT NULL, -- 1, 2, 3... per plan
			format     TEXT    NOT NULL, -- the body's file format, e.g. "qgc-plan"
			body       BLOB    NOT NULL, -- opaque to the store
			items      INTEGER NOT NULL,
			note       TEXT    NOT NULL,
			created_at INTEGER NOT NULL, -- Unix ms
			PRIMARY KEY (plan_id, version)
		)`,
		// AUTOINCREMENT: a flight id is never reused, since tlogs, recordings and the audit log refer to it.
		`CREATE TABLE flights (
			id              INTEGER PRIMARY KEY AUTOINCREMENT,
			vehicle_network TEXT    NOT NULL,
			vehicle_id      INTEGER NOT NULL,
			started_at      INTEGER NOT NULL, -- Unix ms
			ended_at        INTEGER,          -- Unix ms; NULL while flying, or if osprey stopped first
			interrupted     INTEGER NOT NULL DEFAULT 0, -- 1: osprey stopped while the flight was open
			tlog_path       TEXT    NOT NULL,
			distance_m      REAL    NOT NULL DEFAULT 0,
			max_alt_rel_m   REAL    NOT NULL DEFAULT 0,
			duration_s      REAL    NOT NULL DEFAULT 0
		)`,
		`CREATE INDEX flights_by_start ON flights (started_at)`,
		`CREATE INDEX flights_by_vehicle ON flights (vehicle_id, started_at)`,
		// Track points in the order they were appended (rowid order within the flight).
		`CREATE TABLE track_points (
			flight_id INTEGER NOT NULL REFERENCES flights(id) ON DELETE CASCADE,
			time      INTEGER NOT NULL, -- Unix ms
			lat_deg   REAL    NOT NULL,
			lon_deg   REAL    NOT NULL,
			alt_rel_m REAL    NOT NULL
		)`,
		`CREATE INDEX track_points_by_flight ON track_points (flight_id)`,
		`CREATE TABLE settings (
			key        TEXT    PRIMARY KEY,
			value      TEXT    NOT NULL,
			updated_at INTEGER NOT NULL -- Unix ms
		)`,
	},
}

// migrate brings the database to len(migs), all pending migrations in one transaction: an upgrade that
// fails part-way leaves the database at its old version, unchanged. Each applied version is recorded in
// schema_version with the time it was applied.
func (s *Store) migrate(ctx context.Context, migs [][]string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
			version    INTEGER PRIMARY KEY,
			applied_at INTEGER NOT NULL -- Unix ms
		)`); err != nil {
			return fmt.Errorf("schema_version: %w", err)
		}
		var current int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&current); err != nil {
			return fmt.Errorf("schema_version: %w", err)
		}
		if current > len(migs) {
			return fmt.Errorf("%w: version %d, this osprey knows up to %d", ErrSchemaTooNew, current, len(migs))
		}
		for v := current + 1; v <= len(migs); v++ {
			for i, stmt := range migs[v-1] {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("migration %d, statement %d: %w", v, i+1, err)
				}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version, applied_at) VALUES (?, ?)`, v, s.now()); err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
		}
		return nil
	})
}

// SchemaVersion is the database's schema version: the number of migrations applied.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&v)
	return v, err
}
