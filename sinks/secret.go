package sinks

import (
	"fmt"
	"os"
	"strings"
)

// ResolveSecret returns a secret configured under key in one of three
// ways: inline (value), by environment variable name (env, from key_env) or
// by file path (file, from key_file). At most one may be set; with none set
// it returns "" and no error, so the caller decides whether key is required.
// Errors name the key, variable or path but never contain the secret.
func ResolveSecret(key, value, env, file string) (string, error) {
	set := 0
	for _, s := range []string{value, env, file} {
		if s != "" {
			set++
		}
	}
	if set > 1 {
		return "", fmt.Errorf("%s: set only one of %s, %s_env, %s_file", key, key, key, key)
	}
	switch {
	case env != "":
		v, ok := os.LookupEnv(env)
		if !ok || strings.TrimSpace(v) == "" {
			return "", fmt.Errorf("%s_env: environment variable %s is not set or empty", key, env)
		}
		return strings.TrimSpace(v), nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			// The error of ReadFile names only the path, not content.
			return "", fmt.Errorf("%s_file: %w", key, err)
		}
		// Files written by editors and secret managers end in a newline that
		// is not part of the secret.
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("%s_file: %s is empty", key, file)
		}
		return v, nil
	}
	return value, nil
}
