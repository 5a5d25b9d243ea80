package psl

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	list := `// header
outside.example
// ===BEGIN ICANN DOMAINS===
// a comment
com
.uk
co.uk
*.ck
!www.ck

shared.example
// ===END ICANN DOMAINS===
between.example
// ===BEGIN PRIVATE DOMAINS===
github.io
shared.example
// ===END PRIVATE DOMAINS===
`
	got, err := Parse(strings.NewReader(list))
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{"!www.ck", ICANN}, {"*.ck", ICANN}, {"co.uk", ICANN}, {"com", ICANN},
		{"github.io", Private}, {"shared.example", Private}, {"uk", ICANN},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse = %v, want %v", got, want)
	}
	if _, err := Parse(strings.NewReader("com\n")); err == nil {
		t.Error("a list without sections parsed")
	}
}

func TestSlot(t *testing.T) {
	t.Parallel()
	var table []byte
	values := []int{0, 1, 63, 64, 4095, 4096, MaxOffset}
	for _, v := range values {
		table = AppendSlot(table, v)
	}
	for i, v := range values {
		if got := Slot(string(table), uint32(i)); got != v {
			t.Errorf("slot %d = %d, want %d", i, got, v)
		}
	}
	if strings.ContainsAny(string(table), "`\n") {
		t.Errorf("table %q cannot be a raw string literal", table)
	}
	if Hash("*.", "ck") != Hash("", "*.ck") {
		t.Error("Hash of a prefix and a key is not the hash of both")
	}
}
