// Package confkey carries configuration problems with the key path they
// are about ("url", "tls.cert_file", "channels[2]"), so that a stage's
// Validate can report every problem at once and weft config check can put
// each on the line of weft.yaml that holds the key. It also reads sizes
// and durations in human units, the same way for files, flags and the
// environment.
package confkey

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Error is a problem with one key of a configuration section.
type Error struct {
	// Key is the key path within the section that validated it, such as
	// "url" or "tls.cert_file"; empty when the problem is the section's
	// as a whole.
	Key string
	Msg string
}

func (e *Error) Error() string {
	if e.Key == "" {
		return e.Msg
	}
	return e.Key + ": " + e.Msg
}

// Errorf returns a problem with key, its message formatted as fmt.Sprintf
// does.
func Errorf(key, format string, args ...any) error {
	return &Error{Key: key, Msg: fmt.Sprintf(format, args...)}
}

// Under puts every problem of err (joined or not) under the key prefix:
// Under("tls", "cert_file: missing") is "tls.cert_file: missing". An error
// that is not an *Error becomes a problem of prefix itself.
func Under(prefix string, err error) error {
	if err == nil {
		return nil
	}
	list := List(err)
	out := make([]error, len(list))
	for i, e := range list {
		out[i] = &Error{Key: Join(prefix, e.Key), Msg: e.Msg}
	}
	return errors.Join(out...)
}

// List flattens err, joined with errors.Join (at any depth), into its
// problems, in order. An error that is not an *Error is a problem without
// a key.
func List(err error) []*Error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*Error
		for _, e := range j.Unwrap() {
			out = append(out, List(e)...)
		}
		return out
	}
	if e, ok := err.(*Error); ok {
		return []*Error{e}
	}
	return []*Error{{Msg: err.Error()}}
}

// Join joins a key path and a key: Join("sinks[1]", "url") is
// "sinks[1].url"; an index ("[2]") is appended as it is.
func Join(path, key string) string {
	switch {
	case path == "":
		return key
	case key == "":
		return path
	case strings.HasPrefix(key, "["):
		return path + key
	}
	return path + "." + key
}

// Suggest returns the candidate nearest to word, if it is near enough to
// be a typo of it (at most two edits, and fewer than half the word), or "".
func Suggest(word string, candidates []string) string {
	best, dist := "", min(3, max(1, (len(word)+1)/2))
	for _, c := range slices.Sorted(slices.Values(candidates)) {
		if d := EditDistance(strings.ToLower(word), strings.ToLower(c)); d < dist {
			best, dist = c, d
		}
	}
	return best
}

// EditDistance is the number of edits between two words: characters
// inserted, deleted, replaced, or two neighbours swapped ("ulr" is one
// from "url"), the optimal string alignment distance.
func EditDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// sizeUnits are the units ParseSize takes, lower case: SI prefixes are
// powers of 1000, binary ones (KiB) of 1024.
var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"kb": 1000, "mb": 1000 * 1000, "gb": 1000 * 1000 * 1000, "tb": 1000 * 1000 * 1000 * 1000,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

// ParseSize reads a size in bytes: a whole number ("1048576"), or a
// number and a unit ("1MB", "1.5 MiB", "512KiB"; B, KB, MB, GB, TB are
// powers of 1000, KiB, MiB, GiB, TiB of 1024, in any case).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' && r != '-' && r != '+' && r != '_' })
	if i < 0 {
		i = len(t)
	}
	num, unit := strings.ReplaceAll(t[:i], "_", ""), strings.ToLower(strings.TrimSpace(t[i:]))
	mult, ok := sizeUnits[unit]
	if !ok || num == "" {
		return 0, fmt.Errorf("%q is not a size: want bytes (1048576) or a number and a unit (512KiB, 1MiB, 1MB)", s)
	}
	if n, err := strconv.ParseInt(num, 10, 64); err == nil {
		if n != 0 && (n > math.MaxInt64/mult || n < math.MinInt64/mult) {
			return 0, fmt.Errorf("%q is too large", s)
		}
		return n * mult, nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a size: want bytes (1048576) or a number and a unit (512KiB, 1MiB, 1MB)", s)
	}
	v := f * float64(mult)
	if v >= math.MaxInt64 || v <= math.MinInt64 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	if v != math.Trunc(v) {
		return 0, fmt.Errorf("%q is not a whole number of bytes", s)
	}
	return int64(v), nil
}

// ParseDuration reads a duration as Go writes them ("5s", "1m30s",
// "250ms", "24h"); 0 needs no unit. Its error says what a duration looks
// like rather than how Go failed.
func ParseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if t == "0" {
		return 0, nil
	}
	if _, err := strconv.ParseFloat(t, 64); err == nil {
		return 0, fmt.Errorf("%q has no unit: write it as %ss (seconds), %sms or %sm", s, t, t, t)
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration: want a number and a unit, such as 5s, 1m30s, 250ms or 24h", s)
	}
	return d, nil
}
