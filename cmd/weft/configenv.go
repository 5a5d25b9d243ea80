package main

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// applyConfigEnv lays the WEFT_* environment over a config: every key of
// weft.yaml is WEFT_ and its path in upper case, joined by "_"
// (bus.url is WEFT_BUS_URL, correlator.max_pending is
// WEFT_CORRELATOR_MAX_PENDING). A value is read as YAML into the key, so a
// duration, a list ("[a, b]") or a whole section is written as in the file.
// The names come from the yaml tags, so a new key is settable at once.
func (a *app) applyConfigEnv(cfg *config) error {
	return overlayEnv(reflect.ValueOf(cfg).Elem(), "WEFT", a.getenv)
}

func overlayEnv(v reflect.Value, prefix string, getenv func(string) string) error {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		fv := v.Field(i)
		if slices.Contains(strings.Split(opts, ","), "inline") {
			// Inline sections (the options of each source type) live in
			// sequences, which are set as a whole; only structs nest here.
			if f.Type.Kind() == reflect.Struct {
				if err := overlayEnv(fv, prefix, getenv); err != nil {
					return err
				}
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		key := prefix + "_" + strings.ToUpper(name)
		if f.Type.Kind() == reflect.Struct && !reflect.PointerTo(f.Type).Implements(reflect.TypeFor[yaml.Unmarshaler]()) {
			if err := overlayEnv(fv, key, getenv); err != nil {
				return err
			}
			continue
		}
		val := getenv(key)
		if val == "" {
			continue
		}
		// Into a fresh value: YAML merges into what is there, and a list
		// from the environment replaces the file's.
		fresh := reflect.New(f.Type)
		if err := yaml.Unmarshal([]byte(val), fresh.Interface()); err != nil {
			return fmt.Errorf("%s=%q: %w", key, val, err)
		}
		fv.Set(fresh.Elem())
	}
	return nil
}
