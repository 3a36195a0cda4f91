// Package store is osprey's embedded database: the plans library, the flight log with its tracks, and
// settings. It is one SQLite file (FileName) in the data directory, opened with the pure-Go
// modernc.org/sqlite driver in WAL mode with foreign keys on, and brought to the current schema by
// numbered migrations when it is opened.
//
// A Store is safe for concurrent use. Reads run in parallel; writes are serialised inside the process
// (SQLite allows one writer at a time) and wait for each other in order, giving up when their context
// ends. Another process touching the same file is waited for up to busyTimeout.
//
// Times are stored as Unix milliseconds and come back in UTC, so they keep millisecond precision.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ospreygcs/osprey/internal/clock"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// FileName is the database file's name inside the data directory.
const FileName = "osprey.db"

// Errors callers branch on. They are returned wrapped, with the name or id concerned.
var (
	// ErrNotFound is returned for a plan, plan version or flight that does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrInvalid is returned for an argument the store refuses (a bad name, a negative count, a
	// position off the globe); nothing is written.
	ErrInvalid = errors.New("store: invalid argument")
	// ErrSchemaTooNew is returned by Open for a database written by a newer osprey: this one does not
	// know its schema and will not risk changing it.
	ErrSchemaTooNew = errors.New("store: database schema is newer than this osprey")
)

const (
	// busyTimeout is how long SQLite waits for a lock held by another connection (in practice, another
	// process such as the sqlite3 shell) before failing with SQLITE_BUSY.
	busyTimeout = 10 * time.Second
	// maxOpenConns bounds the pool: one writer at a time plus readers. Each connection costs a page cache.
	maxOpenConns = 4
)

// Store is an open database.
type Store struct {
	db    *sql.DB
	clock clock.Clock
	// writeSlot holds one token: a write transaction takes it first, so writers queue here, in order and
	// cancellable, rather than in SQLite's sleeping busy handler.
	writeSlot chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// Option adjusts how Open sets a Store up.
type Option func(*Store)

// WithClock makes the Store read the time (for the creation and update times it records) from c instead
// of the wall clock.
func WithClock(c clock.Clock) Option {
	return func(s *Store) { s.clock = c }
}

// Open opens the database in dir, creating dir (mode 0700) and the database (mode 0600) if needed, and
// migrates it to the current schema. Flights left open by a previous run that stopped without ending them
// are marked interrupted.
func Open(ctx context.Context, dir string, opts ...Option) (*Store, error) {
	return open(ctx, dir, migrations, opts...)
}

// open is Open with the migration list as a parameter, so tests can play an older or newer osprey.
func open(ctx context.Context, dir string, migs [][]string, opts ...Option) (*Store, error) {
	if dir == "" {
		return nil, fmt.Errorf("%w: empty data directory", ErrInvalid)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	path, err := filepath.Abs(filepath.Join(dir, FileName))
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// Create the file ourselves so it gets mode 0600 (SQLite would use 0644 less the umask); SQLite gives
	// its -wal and -shm files the database file's mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}

	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	db.SetMaxOpenConns(maxOpenConns)
	db.SetMaxIdleConns(maxOpenConns)
	s := &Store{db: db, clock: clock.Real{}, writeSlot: make(chan struct{}, 1)}
	for _, o := range opts {
		o(s)
	}
	if err := s.migrate(ctx, migs); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	if err := s.markInterrupted(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	return s, nil
}

// dsn is the driver's data source name for the database at path. Every pooled connection applies these
// settings when it opens: foreign keys are per connection in SQLite, WAL lets readers run beside the
// writer, synchronous=FULL makes a committed flight or plan survive a power cut, and _txlock=immediate
// makes a transaction take the write lock when it begins, so it cannot fail half-way when it upgrades
// from reading to writing.
func dsn(path string) string {
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(busyTimeout.Milliseconds()))
	q.Set("_foreign_keys", "1")
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_txlock", "immediate")
	// A file: URI with the path escaped, so a directory name containing '?' or '#' is not mistaken for
	// the start of the parameters.
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	return u.String()
}

// Close closes the database. Calls after the first return the first call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.db.Close() })
	return s.closeErr
}

// write runs fn in a write transaction, committing if it returns nil and rolling back otherwise. fn must
// use only tx: the pool may have no other connection to give while the transaction holds one.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	select {
	case s.writeSlot <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.writeSlot }()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// now is the current time as stored: Unix milliseconds.
func (s *Store) now() int64 { return s.clock.Now().UnixMilli() }

// fromMillis turns a stored time back into a time.Time in UTC.
func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
