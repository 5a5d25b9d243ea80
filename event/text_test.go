package event_test

import (
	"testing"

	"github.com/weft-dev/weft/event"
)

func TestText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"nil", nil, ""},
		{"string", "cmd.exe", "cmd.exe"},
		{"bool", true, "true"},
		{"int", int64(4624), "4624"},
		{"uint", uint8(3), "3"},
		{"float", 3.5, "3.5"},
		{"big float stays plain", 1e21, "1000000000000000000000"},
		{"list takes its first", []any{"a", "b"}, "a"},
		{"list of numbers", []any{int8(7)}, "7"},
		{"strings", []string{"x", "y"}, "x"},
		{"empty list", []any{}, ""},
		{"map has no line", map[string]any{"a": 1}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := event.Text(tc.in); got != tc.want {
				t.Errorf("Text(%#v) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
