package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on what the plans library accepts.
const (
	maxNameRunes   = 100
	maxFormatBytes = 32
	maxNoteBytes   = 4096
	// maxPlanBytes bounds one plan body. The HTTP layer bounds requests far lower; this is the store's
	// own guard against a caller that does not.
	maxPlanBytes = 32 << 20
)

// PlanMeta is what the caller knows about a plan body that the store cannot work out from opaque bytes.
type PlanMeta struct {
	// Items is the number of mission items in the plan.
	Items int
	// Note is free text, such as what changed in this version.
	Note string
}

// PlanVersion describes one saved version of a plan.
type PlanVersion struct {
	Name      string
	Version   int    // 1 for the first save of a name, then 2, 3...
	Format    string // the body's format, as given to SavePlan (e.g. "qgc-plan")
	Items     int
	Note      string
	SizeBytes int
	CreatedAt time.Time
}

// PlanSummary describes a plan by its latest version.
type PlanSummary struct {
	Name          string
	LatestVersion int
	UpdatedAt     time.Time // when the latest version was saved
	Items         int       // of the latest version
	Format        string    // of the latest version
}

// SavePlan stores body as the next version of the plan called name (version 1 if the name is new) and
// returns that version. The body is stored as given; format names its file format.
func (s *Store) SavePlan(ctx context.Context, name, format string, body []byte, meta PlanMeta) (PlanVersion, error) {
	if err := checkName("plan name", name); err != nil {
		return PlanVersion{}, err
	}
	if err := checkFormat(format); err != nil {
		return PlanVersion{}, err
	}
	switch {
	case len(body) == 0:
		return PlanVersion{}, fmt.Errorf("%w: plan %q: empty body", ErrInvalid, name)
	case len(body) > maxPlanBytes:
		return PlanVersion{}, fmt.Errorf("%w: plan %q: body of %d bytes exceeds %d", ErrInvalid, name, len(body), maxPlanBytes)
	case meta.Items < 0:
		return PlanVersion{}, fmt.Errorf("%w: plan %q: negative item count %d", ErrInvalid, name, meta.Items)
	case len(meta.Note) > maxNoteBytes || !utf8.ValidString(meta.Note):
		return PlanVersion{}, fmt.Errorf("%w: plan %q: note must be UTF-8 of at most %d bytes", ErrInvalid, name, maxNoteBytes)
	}
	now := s.now()
	pv := PlanVersion{Name: name, Format: format, Items: meta.Items, Note: meta.Note, SizeBytes: len(body), CreatedAt: fromMillis(now)}
	err := s.write(ctx, func(tx *sql.Tx) error {
		var planID int64
		err := tx.QueryRowContext(ctx, `INSERT INTO plans (name, created_at, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET updated_at = excluded.updated_at
			RETURNING id`, name, now, now).Scan(&planID)
		if err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM plan_versions WHERE plan_id = ?`,
			planID).Scan(&pv.Version); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO plan_versions (plan_id, version, format, body, items, note, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, planID, pv.Version, format, body, meta.Items, meta.Note, now)
		return err
	})
	if err != nil {
		return PlanVersion{}, fmt.Errorf("store: save plan %q: %w", name, err)
	}
	return pv, nil
}

// GetPlan returns a version of a plan and its body; version 0 means the latest.
func (s *Store) GetPlan(ctx context.Context, name string, version int) (PlanVersion, []byte, error) {
	if err := checkName("plan name", name); err != nil {
		return PlanVersion{}, nil, err
	}
	if version < 0 {
		return PlanVersion{}, nil, fmt.Errorf("%w: plan %q: version %d", ErrInvalid, name, version)
	}
	const query = `SELECT v.version, v.format, v.items, v.note, v.created_at, v.body
		FROM plans p JOIN plan_versions v ON v.plan_id = p.id
		WHERE p.name = ? AND (v.version = ? OR ? = 0)
		ORDER BY v.version DESC LIMIT 1`
	pv := PlanVersion{Name: name}
	var created int64
	var body []byte
	err := s.db.QueryRowContext(ctx, query, name, version, version).
		Scan(&pv.Version, &pv.Format, &pv.Items, &pv.Note, &created, &body)
	if errors.Is(err, sql.ErrNoRows) {
		if version == 0 {
			return PlanVersion{}, nil, fmt.Errorf("%w: plan %q", ErrNotFound, name)
		}
		return PlanVersion{}, nil, fmt.Errorf("%w: plan %q version %d", ErrNotFound, name, version)
	}
	if err != nil {
		return PlanVersion{}, nil, fmt.Errorf("store: get plan %q: %w", name, err)
	}
	pv.CreatedAt = fromMillis(created)
	pv.SizeBytes = len(body)
	return pv, body, nil
}

// ListPlans returns every plan, by name, described by its latest version.
func (s *Store) ListPlans(ctx context.Context) ([]PlanSummary, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT p.name, v.version, p.updated_at, v.items, v.format
		FROM plans p JOIN plan_versions v ON v.plan_id = p.id
		WHERE v.version = (SELECT MAX(version) FROM plan_versions WHERE plan_id = p.id)
		ORDER BY p.name`)
	if err != nil {
		return nil, fmt.Errorf("store: list plans: %w", err)
	}
	defer rows.Close()
	var out []PlanSummary
	for rows.Next() {
		var ps PlanSummary
		var updated int64
		if err := rows.Scan(&ps.Name, &ps.LatestVersion, &updated, &ps.Items, &ps.Format); err != nil {
			return nil, fmt.Errorf("store: list plans: %w", err)
		}
		ps.UpdatedAt = fromMillis(updated)
		out = append(out, ps)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list plans: %w", err)
	}
	return out, nil
}

// PlanVersions returns every version of a plan, oldest first.
func (s *Store) PlanVersions(ctx context.Context, name string) ([]PlanVersion, error) {
	if err := checkName("plan name", name); err != nil {
		return nil, err
	}
	// One query, so a concurrent delete gives either all versions or none, and none means not found (a
	// plan never exists without a version).
	rows, err := s.db.QueryContext(ctx, `SELECT v.version, v.format, v.items, v.note, v.created_at, length(v.body)
		FROM plans p JOIN plan_versions v ON v.plan_id = p.id
		WHERE p.name = ? ORDER BY v.version`, name)
	if err != nil {
		return nil, fmt.Errorf("store: plan versions %q: %w", name, err)
	}
	defer rows.Close()
	var out []PlanVersion
	for rows.Next() {
		pv := PlanVersion{Name: name}
		var created int64
		if err := rows.Scan(&pv.Version, &pv.Format, &pv.Items, &pv.Note, &created, &pv.SizeBytes); err != nil {
			return nil, fmt.Errorf("store: plan versions %q: %w", name, err)
		}
		pv.CreatedAt = fromMillis(created)
		out = append(out, pv)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: plan versions %q: %w", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: plan %q", ErrNotFound, name)
	}
	return out, nil
}

// DeletePlan deletes a plan with all its versions.
func (s *Store) DeletePlan(ctx context.Context, name string) error {
	if err := checkName("plan name", name); err != nil {
		return err
	}
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM plans WHERE name = ?`, name)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete plan %q: %w", name, err)
	}
	if n == 0 {
		return fmt.Errorf("%w: plan %q", ErrNotFound, name)
	}
	return nil
}

// checkName checks a plan name or setting key: 1-100 characters of valid UTF-8, no control characters,
// no slash or backslash (names appear in URLs and become file names on export), and no leading or
// trailing space (two names that look the same must be the same).
func checkName(what, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty %s", ErrInvalid, what)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: %s %q is not valid UTF-8", ErrInvalid, what, name)
	case utf8.RuneCountInString(name) > maxNameRunes:
		return fmt.Errorf("%w: %s longer than %d characters", ErrInvalid, what, maxNameRunes)
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("%w: %s %q starts or ends with space", ErrInvalid, what, name)
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == '/' || r == '\\' || r == utf8.RuneError {
			return fmt.Errorf("%w: %s %q: character %q not allowed", ErrInvalid, what, name, r)
		}
	}
	return nil
}

// checkFormat checks a plan format name: a short token such as "qgc-plan" or "waypoints".
func checkFormat(format string) error {
	if format == "" || len(format) > maxFormatBytes {
		return fmt.Errorf("%w: plan format must be 1 to %d characters", ErrInvalid, maxFormatBytes)
	}
	for _, r := range format {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == '+') {
			return fmt.Errorf("%w: plan format %q: character %q not allowed", ErrInvalid, format, r)
		}
	}
	return nil
}
