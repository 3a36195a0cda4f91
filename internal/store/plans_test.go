package store

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestPlanVersions(t *testing.T) {
	s := openTest(t, "")
	ctx := testCtx(t)
	for i := 1; i <= 3; i++ {
		pv, err := s.SavePlan(ctx, "Harbour patrol", "qgc-plan", fmt.Appendf(nil, "body %d", i), PlanMeta{Items: i * 10, Note: fmt.Sprint("save ", i)})
		if err != nil {
			t.Fatal(err)
		}
		if pv.Version != i || pv.Name != "Harbour patrol" || pv.SizeBytes != len("body 1") || pv.Items != i*10 {
			t.Fatalf("save %d returned %+v", i, pv)
		}
	}
	if _, err := s.SavePlan(ctx, "Airfield survey", "waypoints", []byte("QGC WPL 110"), PlanMeta{Items: 7}); err != nil {
		t.Fatal(err)
	}

	pv, body, err := s.GetPlan(ctx, "Harbour patrol", 0)
	if err != nil || pv.Version != 3 || string(body) != "body 3" || pv.Note != "save 3" || pv.Format != "qgc-plan" {
		t.Fatalf("latest = %+v %q %v", pv, body, err)
	}
	pv, body, err = s.GetPlan(ctx, "Harbour patrol", 2)
	if err != nil || pv.Version != 2 || string(body) != "body 2" || pv.Items != 20 {
		t.Fatalf("version 2 = %+v %q %v", pv, body, err)
	}

	versions, err := s.PlanVersions(ctx, "Harbour patrol")
	if err != nil || len(versions) != 3 {
		t.Fatalf("PlanVersions = %+v, %v", versions, err)
	}
	for i, v := range versions {
		if v.Version != i+1 || v.Note != fmt.Sprint("save ", i+1) || v.SizeBytes != 6 {
			t.Errorf("version %d = %+v", i+1, v)
		}
	}

	plans, err := s.ListPlans(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(plans) != 2 ||
		plans[0].Name != "Airfield survey" || plans[0].LatestVersion != 1 || plans[0].Items != 7 || plans[0].Format != "waypoints" ||
		plans[1].Name != "Harbour patrol" || plans[1].LatestVersion != 3 || plans[1].Items != 30 {
		t.Fatalf("ListPlans = %+v", plans)
	}

	// Deleting removes every version, and the name starts again at 1.
	if err := s.DeletePlan(ctx, "Harbour patrol"); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, s.db, "plan_versions"); n != 1 {
		t.Fatalf("%d plan_versions rows after delete, want 1", n)
	}
	if _, _, err := s.GetPlan(ctx, "Harbour patrol", 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetPlan after delete = %v", err)
	}
	pv, err = s.SavePlan(ctx, "Harbour patrol", "qgc-plan", []byte("new"), PlanMeta{})
	if err != nil || pv.Version != 1 {
		t.Fatalf("save after delete = %+v, %v", pv, err)
	}
}

func TestPlanNotFound(t *testing.T) {
	s := openTest(t, "")
	ctx := testCtx(t)
	if _, err := s.SavePlan(ctx, "a", "qgc-plan", []byte("x"), PlanMeta{}); err != nil {
		t.Fatal(err)
	}
	checks := map[string]error{}
	_, _, checks["GetPlan missing"] = s.GetPlan(ctx, "b", 0)
	_, _, checks["GetPlan missing version"] = s.GetPlan(ctx, "a", 2)
	_, checks["PlanVersions"] = s.PlanVersions(ctx, "b")
	checks["DeletePlan"] = s.DeletePlan(ctx, "b")
	for name, err := range checks {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s = %v, want ErrNotFound", name, err)
		}
	}
	if _, _, err := s.GetPlan(ctx, "a", 2); !strings.Contains(err.Error(), `plan "a" version 2`) {
		t.Errorf("error %q does not name the plan and version", err)
	}
	plans, err := s.ListPlans(ctx)
	if err != nil || len(plans) != 1 {
		t.Fatalf("ListPlans = %+v, %v", plans, err)
	}
}

func TestPlanInvalid(t *testing.T) {
	s := openTest(t, "")
	ctx := testCtx(t)
	cases := []struct {
		name, plan, format string
		body               []byte
		meta               PlanMeta
	}{
		{"empty name", "", "qgc-plan", []byte("x"), PlanMeta{}},
		{"long name", strings.Repeat("é", 101), "qgc-plan", []byte("x"), PlanMeta{}},
		{"slash", "a/b", "qgc-plan", []byte("x"), PlanMeta{}},
		{"backslash", `a\b`, "qgc-plan", []byte("x"), PlanMeta{}},
		{"newline", "a\nb", "qgc-plan", []byte("x"), PlanMeta{}},
		{"nul", "a\x00b", "qgc-plan", []byte("x"), PlanMeta{}},
		{"delete char", "a\x7fb", "qgc-plan", []byte("x"), PlanMeta{}},
		{"bad utf-8", "a\xffb", "qgc-plan", []byte("x"), PlanMeta{}},
		{"leading space", " a", "qgc-plan", []byte("x"), PlanMeta{}},
		{"trailing space", "a ", "qgc-plan", []byte("x"), PlanMeta{}},
		{"empty format", "a", "", []byte("x"), PlanMeta{}},
		{"format with space", "a", "qgc plan", []byte("x"), PlanMeta{}},
		{"empty body", "a", "qgc-plan", nil, PlanMeta{}},
		{"negative items", "a", "qgc-plan", []byte("x"), PlanMeta{Items: -1}},
		{"long note", "a", "qgc-plan", []byte("x"), PlanMeta{Note: strings.Repeat("n", maxNoteBytes+1)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := s.SavePlan(ctx, c.plan, c.format, c.body, c.meta); !errors.Is(err, ErrInvalid) {
				t.Fatalf("SavePlan = %v, want ErrInvalid", err)
			}
		})
	}
	if n := countRows(t, s.db, "plans"); n != 0 {
		t.Fatalf("invalid saves wrote %d plans", n)
	}
	// The longest name allowed, counted in characters, not bytes.
	if _, err := s.SavePlan(ctx, strings.Repeat("é", 100), "qgc-plan", []byte("x"), PlanMeta{}); err != nil {
		t.Fatalf("100-character name: %v", err)
	}
	if _, err := s.SavePlan(ctx, "Périmètre nord (v2) — night", "qgc-plan", []byte("x"), PlanMeta{}); err != nil {
		t.Fatalf("ordinary name refused: %v", err)
	}
	if _, _, err := s.GetPlan(ctx, "a", -1); !errors.Is(err, ErrInvalid) {
		t.Fatalf("GetPlan version -1 = %v", err)
	}
	for name, err := range map[string]error{
		"GetPlan":      func() error { _, _, err := s.GetPlan(ctx, "a/b", 0); return err }(),
		"PlanVersions": func() error { _, err := s.PlanVersions(ctx, ""); return err }(),
		"DeletePlan":   s.DeletePlan(ctx, "a\tb"),
	} {
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s with a bad name = %v, want ErrInvalid", name, err)
		}
	}
}

func TestConcurrentPlanSaves(t *testing.T) {
	s := openTest(t, "")
	ctx := testCtx(t)
	const writers, saves = 6, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*saves*2)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range saves {
				// Everyone saves the same plan, and a plan of their own, and reads in between.
				if _, err := s.SavePlan(ctx, "shared", "qgc-plan", fmt.Appendf(nil, "%d/%d", w, i), PlanMeta{}); err != nil {
					errs <- err
				}
				if _, err := s.SavePlan(ctx, fmt.Sprint("own ", w), "qgc-plan", []byte("x"), PlanMeta{}); err != nil {
					errs <- err
				}
				if _, err := s.ListPlans(ctx); err != nil {
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
	versions, err := s.PlanVersions(ctx, "shared")
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) != writers*saves {
		t.Fatalf("%d versions, want %d", len(versions), writers*saves)
	}
	for i, v := range versions {
		if v.Version != i+1 {
			t.Fatalf("versions are not 1..%d without gaps: %d at %d", writers*saves, v.Version, i)
		}
	}
	bodies := map[string]bool{}
	for v := 1; v <= writers*saves; v++ {
		_, body, err := s.GetPlan(ctx, "shared", v)
		if err != nil {
			t.Fatal(err)
		}
		bodies[string(body)] = true
	}
	if len(bodies) != writers*saves {
		t.Fatalf("%d distinct bodies, want %d: a save was lost or duplicated", len(bodies), writers*saves)
	}
	plans, err := s.ListPlans(ctx)
	if err != nil || len(plans) != writers+1 {
		t.Fatalf("ListPlans = %d plans, %v", len(plans), err)
	}
}
