// Package archtest holds the import rules of DESIGN.md and the test that fails the build when a package
// breaks one. The rules are data so a reviewer can read the architecture in one place.
package archtest

import (
	"fmt"
	"sort"
	"strings"
)

// Module is the module path every rule is relative to.
const Module = "github.com/ospreygcs/osprey"

// Rule forbids packages under From from importing packages under any of Forbid (paths relative to Module).
// Allow lists exceptions inside Forbid.
type Rule struct {
	From   string
	Forbid []string
	Allow  []string
	Why    string
}

// Rules are the arrows of DESIGN.md, written as what each part must not reach.
var Rules = []Rule{
	{From: "sitl", Forbid: []string{""}, Why: "sitl stands in for a real vehicle and camera: it imports no osprey package, so a bug cannot hide by being the same on both sides"},
	{From: "mavlink", Forbid: []string{""}, Allow: []string{"mavlink", "internal/clock"}, Why: "mavlink knows only gomavlib and the clock; mission builds on it, never the reverse"},
	{From: "mission", Forbid: []string{""}, Allow: []string{"mission", "mavlink", "internal/clock"}, Why: "mission speaks MAVLink for transfers and nothing else of ours"},
	{From: "video", Forbid: []string{""}, Allow: []string{"video", "internal/clock"}, Why: "video knows nothing of MAVLink or missions; overlays join in httpapi and ui"},
	{From: "ui", Forbid: []string{""}, Allow: []string{"ui"}, Why: "the browser app knows only the HTTP API"},
	{From: "internal/config", Forbid: []string{""}, Allow: []string{"internal/config"}, Why: "configuration is plain data"},
	{From: "internal/clock", Forbid: []string{""}, Allow: []string{"internal/clock"}, Why: "the clock is a leaf"},
	{From: "internal/auth", Forbid: []string{"mavlink", "mission", "video", "ui", "sitl", "internal/app", "internal/httpapi"}, Why: "auth is a leaf below the API"},
	{From: "internal/audit", Forbid: []string{"mavlink", "mission", "video", "ui", "sitl", "internal/app", "internal/httpapi"}, Why: "audit is a leaf below the API"},
	{From: "internal/store", Forbid: []string{"internal/app", "internal/httpapi", "sitl", "cmd"}, Why: "the store is below the app"},
	{From: "internal/httpapi", Forbid: []string{"internal/app", "sitl", "cmd"}, Why: "the API is wired by the app, not the other way round"},
	{From: "internal/app", Forbid: []string{"cmd", "sitl"}, Why: "the app is wired by cmd; simulators are started by cmd or tests"},
}

// Check returns one line per broken rule, given each package's imports (full import paths). Packages and
// imports outside Module are ignored.
func Check(imports map[string][]string) []string {
	var out []string
	for pkg, deps := range imports {
		rel, ok := relative(pkg)
		if !ok {
			continue
		}
		for _, dep := range deps {
			drel, ok := relative(dep)
			if !ok || drel == rel {
				continue
			}
			for _, r := range Rules {
				if !under(rel, r.From) {
					continue
				}
				if matchesAny(drel, r.Forbid) && !matchesAny(drel, r.Allow) {
					out = append(out, fmt.Sprintf("%s imports %s: %s", rel, drel, r.Why))
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

func relative(path string) (string, bool) {
	if path == Module {
		return "", true
	}
	rel, ok := strings.CutPrefix(path, Module+"/")
	return rel, ok
}

// under reports whether rel is prefix or inside it; the empty prefix matches every package of the module.
func under(rel, prefix string) bool {
	return prefix == "" || rel == prefix || strings.HasPrefix(rel, prefix+"/")
}

func matchesAny(rel string, prefixes []string) bool {
	for _, p := range prefixes {
		if under(rel, p) {
			return true
		}
	}
	return false
}
