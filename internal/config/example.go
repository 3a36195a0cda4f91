package config

import (
	_ "embed"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// exampleTemplate is the commented example configuration. Its values come from Defaults, so they cannot
// drift; tests check that it loads back to Defaults and that it names every field.
//
//go:embed example.yaml.tmpl
var exampleTemplate string

// Example returns a fully commented example configuration file. Every value in it is the default, and
// commented-out blocks show the lists (links, cameras, ICE servers) that are empty by default.
func Example() string {
	t, err := template.New("example").Funcs(template.FuncMap{
		"q":   strconv.Quote,
		"dur": formatDuration,
	}).Parse(exampleTemplate)
	if err != nil {
		// The template is compiled into the binary and parsed by every test run; this cannot happen in a
		// released build, and Example has no error to return to a caller who could act on it.
		return "# example configuration unavailable: " + err.Error() + "\n"
	}
	var b strings.Builder
	if err := t.Execute(&b, Defaults()); err != nil {
		return "# example configuration unavailable: " + err.Error() + "\n"
	}
	return b.String()
}

// formatDuration writes d as a person would: "24h" rather than time.Duration's "24h0m0s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
