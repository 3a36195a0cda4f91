package archtest

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

func TestCheckFlagsBrokenArrows(t *testing.T) {
	m := func(s string) string { return Module + "/" + s }
	graph := map[string][]string{
		m("mavlink"):          {m("mission"), m("internal/clock"), "github.com/bluenviron/gomavlib/v3"},
		m("mavlink/param"):    {m("mavlink")},
		m("sitl"):             {m("internal/clock")},
		m("video/whep"):       {m("video")},
		m("mission"):          {m("mavlink")},
		m("cmd/osprey"):       {m("sitl"), m("internal/app")},
		m("internal/httpapi"): {m("internal/app")},
	}
	got := Check(graph)
	want := []string{
		"internal/httpapi imports internal/app",
		"mavlink imports mission",
		"sitl imports internal/clock",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d violations, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]+":") {
			t.Errorf("violation %d = %q, want prefix %q", i, got[i], want[i])
		}
	}
}

// TestModuleFollowsArrows reads the real import graph with go list. Tests may import sitl (that is what
// it is for), so sitl is dropped from test imports everywhere except in sitl itself.
func TestModuleFollowsArrows(t *testing.T) {
	out, err := exec.Command("go", "list", "-f",
		`{{.ImportPath}} {{join .Imports " "}} | {{join .TestImports " "}} {{join .XTestImports " "}}`,
		Module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	graph := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		pkg, deps, inTests := f[0], []string{}, false
		for _, d := range f[1:] {
			switch {
			case d == "|":
				inTests = true
			case inTests && d == Module+"/sitl" && pkg != Module+"/sitl":
			default:
				deps = append(deps, d)
			}
		}
		graph[pkg] = deps
	}
	if len(graph) < 3 {
		t.Fatalf("go list found only %d packages", len(graph))
	}
	for _, v := range Check(graph) {
		t.Error(v)
	}
}
