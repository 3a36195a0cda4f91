package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestExampleLoadsToDefaults(t *testing.T) {
	cfg, err := Load(writeFile(t, Example()), nil)
	if err != nil {
		t.Fatalf("Example() does not load: %v", err)
	}
	if !reflect.DeepEqual(cfg, Defaults()) {
		t.Fatalf("Example() loads to\n%+v\nwant Defaults()\n%+v", cfg, Defaults())
	}
}

// uncomment turns on the example's commented-out blocks: a comment whose "#" is followed directly by a
// key, or by two or more spaces, is example configuration; "# " and text is prose.
func uncomment(text string) string {
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		body := strings.TrimLeft(line, " ")
		rest, ok := strings.CutPrefix(body, "#")
		if !ok || rest == "" || (rest[0] == ' ' && !strings.HasPrefix(rest, "  ")) {
			continue
		}
		lines[i] = line[:len(line)-len(body)] + rest
	}
	return strings.Join(lines, "\n")
}

// TestExampleNamesEveryField turns on the example's commented-out blocks and checks that the result is a
// valid configuration in which every field of Config appears at its place, lists included.
func TestExampleNamesEveryField(t *testing.T) {
	full := uncomment(Example())
	cfg, err := Load(writeFile(t, full), nil)
	if err != nil {
		t.Fatalf("the example with its samples turned on does not load: %v\n%s", err, full)
	}
	if len(cfg.Links) == 0 || len(cfg.Cameras) == 0 || len(cfg.Video.WebRTC.ICEServers) == 0 || len(cfg.Video.WebRTC.NAT1To1IPs) == 0 {
		t.Fatalf("the samples did not turn on: %+v", cfg)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(full), &doc); err != nil {
		t.Fatal(err)
	}
	checkNamesFields(t, doc.Content[0], reflect.TypeFor[Config](), "")
}

// checkNamesFields reports each field of struct type typ that the mapping node does not name. A list of
// structs must name each field in at least one of its items.
func checkNamesFields(t *testing.T, node *yaml.Node, typ reflect.Type, path string) {
	t.Helper()
	for i := range typ.NumField() {
		f := typ.Field(i)
		key := yamlName(f)
		if key == "" {
			t.Errorf("%s has no yaml tag", f.Name)
			continue
		}
		at := strings.TrimPrefix(path+"."+key, ".")
		var values []*yaml.Node
		for _, m := range mappings(node) {
			for j := 0; j+1 < len(m.Content); j += 2 {
				if m.Content[j].Value == key {
					values = append(values, m.Content[j+1])
				}
			}
		}
		if len(values) == 0 {
			t.Errorf("the example does not show %s", at)
			continue
		}
		ft := f.Type
		switch {
		case ft.Kind() == reflect.Struct:
			checkNamesFields(t, values[0], ft, at)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			seq := &yaml.Node{Kind: yaml.SequenceNode}
			for _, v := range values {
				seq.Content = append(seq.Content, v.Content...)
			}
			checkNamesFields(t, seq, ft.Elem(), at+"[]")
		}
	}
}

// mappings is the node itself if it is a mapping, or the mapping items of a sequence.
func mappings(n *yaml.Node) []*yaml.Node {
	if n.Kind == yaml.MappingNode {
		return []*yaml.Node{n}
	}
	var out []*yaml.Node
	for _, c := range n.Content {
		if c.Kind == yaml.MappingNode {
			out = append(out, c)
		}
	}
	return out
}

func TestExampleDocumentsEverySetting(t *testing.T) {
	// Each active key line has a comment line above it (possibly a group comment for a section).
	lines := strings.Split(Example(), "\n")
	for i, line := range lines {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if i == 0 || !strings.HasPrefix(strings.TrimSpace(lines[i-1]), "#") {
			t.Errorf("line %d %q has no comment above it", i+1, line)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	cases := map[time.Duration]string{
		3500 * time.Millisecond:       "3.5s",
		time.Second:                   "1s",
		time.Minute:                   "1m",
		24 * time.Hour:                "24h",
		90 * time.Minute:              "1h30m",
		time.Hour + time.Second:       "1h0m1s",
		0:                             "0s",
		250 * time.Millisecond:        "250ms",
		2*time.Minute + 5*time.Second: "2m5s",
	}
	for d, want := range cases {
		got := formatDuration(d)
		if got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
		if back, err := time.ParseDuration(got); err != nil || back != d {
			t.Errorf("%q parses back to %v, %v", got, back, err)
		}
	}
}
