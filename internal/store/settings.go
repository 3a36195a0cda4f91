package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// maxSettingBytes bounds one setting's value.
const maxSettingBytes = 1 << 20

// GetSetting returns the value stored under key, and whether there is one.
func (s *Store) GetSetting(ctx context.Context, key string) (string, bool, error) {
	if err := checkName("setting key", key); err != nil {
		return "", false, err
	}
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: get setting %q: %w", key, err)
	}
	return v, true, nil
}

// SetSetting stores value under key, replacing any value there.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	if err := checkName("setting key", key); err != nil {
		return err
	}
	if len(value) > maxSettingBytes {
		return fmt.Errorf("%w: setting %q: value of %d bytes exceeds %d", ErrInvalid, key, len(value), maxSettingBytes)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, key, value, s.now())
		return err
	})
	if err != nil {
		return fmt.Errorf("store: set setting %q: %w", key, err)
	}
	return nil
}
