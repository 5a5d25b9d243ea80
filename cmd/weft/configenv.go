package main

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/weft-dev/weft/internal/confkey"
)

// envKey is a key of weft.yaml settable from the environment.
type envKey struct {
	name  string // WEFT_CORRELATOR_LATENESS
	key   string // correlator.lateness
	index []int  // its field in config
	unit  string
}

// configEnvKeys lists the keys of weft.yaml the environment can set: every
// key is WEFT_ and its path in upper case, joined by "_" (bus.url is
// WEFT_BUS_URL, correlator.max_pending is WEFT_CORRELATOR_MAX_PENDING).
// Sections nest; lists (sources, sinks, rules.paths) are set whole. The
// names come from the yaml tags, so a new key is settable at once.
func configEnvKeys() []envKey {
	var out []envKey
	var walk func(t reflect.Type, name, key string, index []int)
	walk = func(t reflect.Type, name, key string, index []int) {
		fields := configFields(t)
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range fields {
				if !yield(k) {
					return
				}
			}
		}) {
			f := fields[k]
			ft := t.FieldByIndex(f.index).Type
			idx := append(slices.Clone(index), f.index...)
			n, p := name+"_"+strings.ToUpper(k), confkey.Join(key, k)
			if ft.Kind() == reflect.Struct && ft != durationType {
				walk(ft, n, p, idx)
				continue
			}
			out = append(out, envKey{name: n, key: p, index: idx, unit: f.unit})
		}
	}
	walk(reflect.TypeFor[config](), "WEFT", "", nil)
	return out
}

// overlayEnv lays the WEFT_* environment over cfg. A value is read as
// YAML into its key through the same decoder as the file, so a duration,
// a size, a list ("[a, b]") or a whole section is written as in the file
// and checked the same way; it replaces the file's value.
func (d *configDecoder) overlayEnv(cfg *config, getenv func(string) string) {
	v := reflectValue(cfg)
	for _, k := range configEnvKeys() {
		val := getenv(k.name)
		if strings.TrimSpace(val) == "" {
			continue
		}
		d.env = k.name
		var root yaml.Node
		if err := yaml.Unmarshal([]byte(val), &root); err != nil {
			_, msg := yamlSyntax(err)
			d.problems = append(d.problems, problem{env: k.name, msg: msg})
			continue
		}
		n := &root
		if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
			n = n.Content[0]
		}
		for key := range d.where {
			if key == k.key || strings.HasPrefix(key, k.key+".") || strings.HasPrefix(key, k.key+"[") {
				delete(d.where, key)
			}
		}
		fv := v.FieldByIndex(k.index)
		fresh := reflect.New(fv.Type()).Elem()
		d.decode(n, fresh, k.key, k.unit)
		fv.Set(fresh)
	}
	d.env = ""
}

// unknownEnv reports WEFT_* variables that set nothing: not a key of
// weft.yaml, not a flag (flagEnv), not named by a *_env key of cfg and
// not the NATS password.
func (d *configDecoder) unknownEnv(cfg *config, getenv func(string) string, flagEnv []string) {
	known := slices.Clone(flagEnv)
	for _, k := range configEnvKeys() {
		known = append(known, k.name)
	}
	known = append(known, "WEFT_NATS_PASSWORD")
	known = append(known, envReferences(reflectValue(cfg))...)
	var names []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "WEFT_") && getenv(name) != "" && !slices.Contains(known, name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range slices.Compact(names) {
		msg := "unknown setting (not a key of weft.yaml, a flag, or named by a *_env key)"
		if best := confkey.Suggest(name, known); best != "" {
			msg = fmt.Sprintf("unknown setting (did you mean %s?)", best)
		}
		d.problems = append(d.problems, problem{env: name, msg: msg})
	}
}

// envReferences collects the variable names the config reads secrets
// from: the values of *_env keys (url_env, token_env, password_env) and of
// headers_env.
func envReferences(v reflect.Value) []string {
	var out []string
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			out = append(out, envReferences(v.Elem())...)
		}
	case reflect.Slice:
		for i := range v.Len() {
			out = append(out, envReferences(v.Index(i))...)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			fv := v.Field(i)
			switch {
			case strings.HasSuffix(name, "_env") && fv.Kind() == reflect.String:
				out = append(out, fv.String())
			case strings.HasSuffix(name, "_env") && fv.Kind() == reflect.Map:
				for _, k := range fv.MapKeys() {
					out = append(out, fv.MapIndex(k).String())
				}
			case f.Name == "options" || f.IsExported():
				// sinkConfig's options are unexported but hold secrets'
				// names too.
				out = append(out, envReferences(fv)...)
			}
		}
	}
	return out
}

// flagEnvNames lists the WEFT_* names of every flag of every command:
// --log-level is WEFT_LOG_LEVEL (applyEnv).
func flagEnvNames(root *cobra.Command) []string {
	var out []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		add := func(f *pflag.Flag) {
			out = append(out, "WEFT_"+strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_")))
		}
		c.Flags().VisitAll(add)
		c.PersistentFlags().VisitAll(add)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	slices.Sort(out)
	return slices.Compact(out)
}

func reflectValue(cfg *config) reflect.Value { return reflect.ValueOf(cfg).Elem() }
