package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDumpOriginWarningsAndGUIDs dumps the synthesized EVTX fixture
// (testdata/gen): the records of the first chunk say chunk 0 in their
// origin; --xml writes GUIDs as Windows does, in braces and lower case,
// with either decoder; and a chunk whose records checksum does not match
// while every record of it reads is a warning — listed, counted apart,
// no reason for --strict — whereas a record lost is an error.
func TestDumpOriginWarningsAndGUIDs(t *testing.T) {
	t.Parallel()
	intact, err := os.ReadFile("../../testdata/evtx/mmc-positive.evtx")
	if err != nil {
		t.Fatal(err)
	}
	const (
		fileHeader  = 4096
		firstRecord = fileHeader + 512 // the first record of chunk 0
	)
	size := int(binary.LittleEndian.Uint32(intact[firstRecord+4:]))
	// The size copy that ends the first record: nothing decodes it, the
	// chunk's records checksum covers it.
	copyWrong := append([]byte(nil), intact...)
	binary.LittleEndian.PutUint32(copyWrong[firstRecord+size-4:], uint32(size+8))
	// The first record's body wiped: that record is lost.
	wiped := append([]byte(nil), intact...)
	clear(wiped[firstRecord+24 : firstRecord+size-4])
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	files := map[string]string{"intact": write("intact.evtx", intact), "copy": write("copy.evtx", copyWrong), "wiped": write("wiped.evtx", wiped)}

	for _, tc := range []struct {
		name    string
		file    string
		args    []string
		code    int
		stdout  []string // each in stdout
		absent  []string // none in stdout
		summary string   // ends stderr
	}{
		{name: "chunk 0 in origin", file: "intact", code: 0,
			stdout:  []string{`"origin":{"kind":"evtx","path":"` + files["intact"] + `","chunk":0,"offset":4608,`},
			summary: "0 errors"},
		{name: "xml GUIDs, weft's decoder", file: "intact", args: []string{"--xml"}, code: 0,
			stdout: []string{`Guid=\"{5770385f-c22a-43e0-bf4c-06f5698ffbd9}\"`, `ProcessGuid\">{6329783f-fe13-6aff-1919-000000001400}<`},
			absent: []string{`Guid=\"5770385F`, `ProcessGuid\">6329783F`}},
		{name: "xml GUIDs, golang-evtx", file: "intact", args: []string{"--xml", "--decoder", "golang-evtx"}, code: 0,
			stdout: []string{`Guid=\"{5770385f-c22a-43e0-bf4c-06f5698ffbd9}\"`, `ProcessGuid\">{6329783f-fe13-6aff-1919-000000001400}<`},
			absent: []string{`Guid=\"5770385F`, `ProcessGuid\">6329783F`}},
		{name: "checksum with every record read: a warning", file: "copy", args: []string{"--strict"}, code: 0,
			stdout:  []string{`"record_id":64304,`},
			summary: "0 errors, 1 warning (damage read around, no event lost)"},
		{name: "the warning listed by --errors", file: "copy", args: []string{"--errors", "--strict"}, code: 0,
			stdout:  []string{"warning: " + files["copy"] + ": chunk 0: offset 0x1000: records checksum mismatch", "every record of the chunk was read"},
			summary: "0 errors, 1 warning"},
		{name: "a record lost: an error", file: "wiped", args: []string{"--strict"}, code: exitStrict,
			absent:  []string{`"record_id":64304,`},
			summary: "weft: --strict: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runWeft(t, testContext(t), nil, append(append([]string{"dump", "--quiet"}, tc.args...), files[tc.file])...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			for _, want := range tc.stdout {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout lacks %s:\n%.2000s", want, stdout)
				}
			}
			for _, not := range tc.absent {
				if strings.Contains(stdout, not) {
					t.Errorf("stdout has %s", not)
				}
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if last := lines[len(lines)-1]; tc.summary != "" && !strings.Contains(last, tc.summary) {
				t.Errorf("summary %q, want %q", last, tc.summary)
			}
		})
	}
}
