// Package psl reads Mozilla's Public Suffix List the way Apache HttpClient's
// PublicSuffixListParser.parseByType does, and holds the hash and slot
// coding that the generated table (../../list_gen.go) and its lookup share.
package psl

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Kinds of rule: the section of the list it comes from.
const (
	ICANN   = 'i'
	Private = 'p'
)

// Entry is a rule of the list as HttpClient keeps it: Key is the rule's
// text without its leading dot ("*.ck" for a wildcard rule) and, for an
// exception rule, "!" followed by the name ("!www.ck"), so that rules and
// exceptions, which HttpClient keeps in two maps, never meet.
type Entry struct {
	Key  string
	Kind byte
}

// Parse reads the list: only lines inside the ICANN and PRIVATE sections
// count; lines starting with "//" are comments; a leading "." is dropped;
// a leading "!" makes an exception. Lines are taken whole, as HttpClient
// takes them. When a rule comes twice the later kind wins, as HttpClient's
// map keeps the later put. The entries come back sorted by key.
func Parse(r io.Reader) ([]Entry, error) {
	kinds := map[string]byte{}
	var kind byte
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		switch {
		case line == "":
			continue
		case strings.HasPrefix(line, "//"):
			switch {
			case kind == 0 && strings.Contains(line, "===BEGIN ICANN DOMAINS==="):
				kind = ICANN
			case kind == 0 && strings.Contains(line, "===BEGIN PRIVATE DOMAINS==="):
				kind = Private
			case kind != 0 && (strings.Contains(line, "===END ICANN DOMAINS===") || strings.Contains(line, "===END PRIVATE DOMAINS===")):
				kind = 0
			}
			continue
		case kind == 0:
			continue
		}
		line = strings.TrimPrefix(line, ".")
		if line == "" || line == "!" {
			return nil, fmt.Errorf("line %d: empty rule", n)
		}
		kinds[line] = kind
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(kinds) == 0 {
		return nil, fmt.Errorf("no rule inside an ICANN or PRIVATE section")
	}
	out := make([]Entry, 0, len(kinds))
	for k, v := range kinds {
		out = append(out, Entry{Key: k, Kind: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// TableBits is log2 of the number of slots of the table: about three
// slots a rule, so that a lookup probes one or two.
const TableBits = 15

// Hash is FNV-1a (32 bits) over prefix then key: the slot a key starts
// probing from, computed without joining the two.
func Hash(prefix, key string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(prefix); i++ {
		h = (h ^ uint32(prefix[i])) * 16777619
	}
	for i := 0; i < len(key); i++ {
		h = (h ^ uint32(key[i])) * 16777619
	}
	return h
}

// A slot holds the offset, plus one, of its entry in the entries text (0
// for an empty slot), in SlotWidth characters of six bits each, written
// as the bytes 0x20 to 0x5f so that the table is a raw string literal.
const (
	SlotWidth = 3
	MaxOffset = 1<<(6*SlotWidth) - 2
)

// AppendSlot writes a slot.
func AppendSlot(b []byte, v int) []byte {
	return append(b, byte(0x20+(v>>12)&63), byte(0x20+(v>>6)&63), byte(0x20+v&63))
}

// Slot reads slot i of a table.
func Slot(table string, i uint32) int {
	s := table[i*SlotWidth : i*SlotWidth+SlotWidth]
	return int(s[0]-0x20)<<12 | int(s[1]-0x20)<<6 | int(s[2]-0x20)
}
