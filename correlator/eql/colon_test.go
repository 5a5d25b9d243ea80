package eql

import (
	"slices"
	"testing"

	"github.com/weft-dev/weft/event"
)

// TestColonOperands checks ":" with operands that are not string literals,
// as Elasticsearch runs them: == for numbers, booleans, functions and
// fields (strings compared case-insensitively), wildcards only in string
// literals.
func TestColonOperands(t *testing.T) {
	t.Parallel()
	doc := event.Document{
		"serial_event_id": int64(1),
		"opcode":          int32(0),
		"x":               "5",
		"n":               int64(5),
		"f":               2.5,
		"flag":            true,
		"a":               "CMD.exe",
		"b":               "cmd.EXE",
		"c":               "cmd.com",
		"star":            "cmd*",
		"multi":           []any{"one", "TWO"},
		"nums":            []any{int64(3), int64(4)},
		"nul":             nil,
	}
	tests := []struct {
		expr string
		want bool
	}{
		{`serial_event_id : 1`, true},
		{`serial_event_id : 2`, false},
		{`serial_event_id : 1.0`, true},
		{`serial_event_id : "1"`, true},
		{`opcode : 0`, true},
		{`opcode : -0`, true},
		{`opcode : 1`, false},
		{`x : number("5")`, true},
		{`x : 5`, true},
		{`n : "5"`, true},
		{`n : number("5")`, true},
		{`n : 4 + 1`, true},
		{`f : 2.5`, true},
		{`f : 2`, false},
		{`flag : true`, true},
		{`flag : false`, false},
		{`flag : "true"`, true},
		{`a : b`, true}, // fields compare case-insensitively
		{`a : c`, false},
		{`a == b`, false},
		{`a : star`, false}, // a field's value is no wildcard pattern
		{`a : "cmd*"`, true},
		{`a : concat("cmd", ".exe")`, true},
		{`a : concat("cmd", "*")`, false},
		{`a : (1, "cmd.*")`, true}, // string literals of a list stay patterns
		{`a : (1, "x*", b)`, true},
		{`a : (1, 2)`, false},
		{`serial_event_id : (0, 1)`, true},
		{`serial_event_id : ("0", 2)`, false},
		{`multi : "two"`, true},
		{`multi : a`, false},
		{`nums : 4`, true},
		{`nums : (5, 6)`, false},
		{`missing : 1`, false},
		{`missing : missing2`, false},
		{`missing : null`, true},
		{`nul : null`, true},
		{`a : null`, false},
		{`not serial_event_id : 2`, true},
		{`serial_event_id : 1 and opcode : 0`, true},
	}
	for _, tt := range tests {
		x, err := CompileExpr(tt.expr)
		if err != nil {
			t.Errorf("CompileExpr(%q): %v", tt.expr, err)
			continue
		}
		if got := x.Test(doc); got != tt.want {
			t.Errorf("%s = %v, want %v", tt.expr, got, tt.want)
		}
	}
}

// TestColonOperandsParse checks how ":" with any operand reads back, and
// that like and regex still want string patterns.
func TestColonOperandsParse(t *testing.T) {
	t.Parallel()
	tests := []struct{ src, want string }{
		{`process where serial_event_id : 1`, `process where serial_event_id : 1`},
		{`process where a : other_field`, `process where a : other_field`},
		{`process where x : number("5")`, `process where x : number("5")`},
		{`process where a : (true, "x*")`, `process where a : ("x*", true)`},
		{`process where a : "x"`, `process where a : "x"`},
	}
	for _, tt := range tests {
		q, err := Parse(tt.src)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.src, err)
			continue
		}
		if got := q.String(); got != tt.want {
			t.Errorf("Parse(%q) = %s, want %s", tt.src, got, tt.want)
		}
	}
	q, err := Parse(`process where a : (other_field, 1)`)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := q.Fields(), []string{"a", "event.category", "other_field"}; !slices.Equal(got, want) {
		t.Errorf("fields of a : (other_field, 1) = %v, want %v", got, want)
	}
}
