package config

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// EnvPrefix starts every environment variable the configuration reads.
const EnvPrefix = "OSPREY_"

// envConfigFile is the one OSPREY_ variable that names no field: the command line may use it to find the
// configuration file, so applyEnv must not reject it.
const envConfigFile = EnvPrefix + "CONFIG"

// envField is one variable's field: the index path from Config down to it, and its YAML path for errors.
type envField struct {
	index    []int
	yamlPath string
}

// envFields maps each variable name to its field. It walks the struct so that the mapping cannot drift
// from it: OSPREY_ + the YAML path upper-cased, nesting joined with "_". Lists are leaves.
func envFields() map[string]envField {
	out := map[string]envField{}
	var walk func(t reflect.Type, index []int, names []string)
	walk = func(t reflect.Type, index []int, names []string) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := yamlName(f)
			idx := append(append([]int(nil), index...), i)
			path := append(append([]string(nil), names...), tag)
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, idx, path)
				continue
			}
			name := EnvPrefix + strings.ToUpper(strings.Join(path, "_"))
			out[name] = envField{index: idx, yamlPath: strings.Join(path, ".")}
		}
	}
	walk(reflect.TypeFor[Config](), nil, nil)
	return out
}

// yamlName is a struct field's YAML key, from its tag.
func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}

// EnvVars lists every environment variable Load reads, sorted, each with the YAML key it overrides, as
// "OSPREY_HTTP_ADDRESS (http.address)".
func EnvVars() []string {
	var out []string
	for name, f := range envFields() {
		out = append(out, name+" ("+f.yamlPath+")")
	}
	sort.Strings(out)
	return out
}

// applyEnv overlays the OSPREY_ variables of env on cfg, in the order given, so a later duplicate wins as
// it does in a process environment. Errors name the variable; a bad value is quoted only for fields that
// hold no secret (numbers, booleans, durations).
func applyEnv(cfg *Config, env []string) error {
	fields := envFields()
	root := reflect.ValueOf(cfg).Elem()
	for _, kv := range env {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) || name == envConfigFile {
			continue
		}
		f, ok := fields[name]
		if !ok {
			return fmt.Errorf("environment variable %s: no such setting (see `osprey config example`)", name)
		}
		if err := setFromString(root.FieldByIndex(f.index), value); err != nil {
			return fmt.Errorf("environment variable %s (%s): %w", name, f.yamlPath, err)
		}
	}
	return nil
}

// setFromString parses s into v by v's type.
func setFromString(v reflect.Value, s string) error {
	if v.Type() == reflect.TypeFor[time.Duration]() {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("bad duration %q: want a Go duration such as 3.5s or 1m", s)
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("bad boolean %q: want true or false", s)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("bad integer %q", s)
		}
		v.SetInt(n)
	case reflect.Float64:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("bad number %q", s)
		}
		v.SetFloat(x)
	case reflect.Slice:
		return setSlice(v, s)
	default:
		// A field kind added to Config without teaching this function; the test over EnvVars catches it.
		return fmt.Errorf("cannot be set from the environment (type %s)", v.Type())
	}
	return nil
}

// setSlice replaces a list. A list of strings may be written comma-separated; any list may be written as
// a YAML flow sequence, decoded with unknown keys rejected as in the file. An empty value empties the list.
func setSlice(v reflect.Value, s string) error {
	trimmed := strings.TrimSpace(s)
	if trimmed == "" {
		v.Set(reflect.Zero(v.Type()))
		return nil
	}
	if v.Type().Elem().Kind() == reflect.String && !strings.HasPrefix(trimmed, "[") {
		var items []string
		for item := range strings.SplitSeq(trimmed, ",") {
			if item = strings.TrimSpace(item); item != "" {
				items = append(items, item)
			}
		}
		v.Set(reflect.ValueOf(items))
		return nil
	}
	fresh := reflect.New(v.Type())
	dec := yaml.NewDecoder(strings.NewReader(s))
	dec.KnownFields(true)
	if err := dec.Decode(fresh.Interface()); err != nil {
		// yaml.v3 quotes at most the first few characters of a mismatched value, so a camera password in
		// the list does not end up in the error.
		return fmt.Errorf("bad YAML list: %w", err)
	}
	v.Set(fresh.Elem())
	return nil
}
