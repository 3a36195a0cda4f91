package store

import (
	"errors"
	"strings"
	"testing"
)

func TestSettings(t *testing.T) {
	s := openTest(t, "")
	ctx := testCtx(t)
	if v, ok, err := s.GetSetting(ctx, "map.layer"); err != nil || ok || v != "" {
		t.Fatalf("unset setting = %q, %v, %v", v, ok, err)
	}
	if err := s.SetSetting(ctx, "map.layer", "osm"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSetting(ctx, "map.layer", "satellite"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSetting(ctx, "empty", ""); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := s.GetSetting(ctx, "map.layer"); err != nil || !ok || v != "satellite" {
		t.Fatalf("setting = %q, %v, %v; want the second value", v, ok, err)
	}
	if v, ok, err := s.GetSetting(ctx, "empty"); err != nil || !ok || v != "" {
		t.Fatalf("empty setting = %q, %v, %v; want set and empty", v, ok, err)
	}
	if n := countRows(t, s.db, "settings"); n != 2 {
		t.Fatalf("%d settings rows, want 2", n)
	}

	for name, err := range map[string]error{
		"set empty key":   s.SetSetting(ctx, "", "v"),
		"set control key": s.SetSetting(ctx, "a\nb", "v"),
		"set huge value":  s.SetSetting(ctx, "big", strings.Repeat("x", maxSettingBytes+1)),
		"get slash key":   func() error { _, _, err := s.GetSetting(ctx, "a/b"); return err }(),
	} {
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s = %v, want ErrInvalid", name, err)
		}
	}
}
