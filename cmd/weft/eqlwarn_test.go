package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestEQLWarnings checks that weft eql warns, on stderr and with exit 0,
// about fields and event categories weft never produces, names the closest
// one it does, and says nothing about queries it can answer.
func TestEQLWarnings(t *testing.T) {
	t.Parallel()
	positive := filepath.Join(fixtures, "mmc-positive.xml")
	for _, tc := range []struct {
		query   string
		results int
		want    []string // warnings, in order; none when empty
	}{
		{`process where process.nmae : "cmd.exe"`, 0,
			[]string{"weft never produces field process.nmae; did you mean process.name?"}},
		{`proces where true`, 0,
			[]string{`weft never produces events of category "proces"; did you mean "process"?`}},
		{`dns where true`, 0,
			[]string{`weft never produces events of category "dns"; it produces authentication, `}},
		{`process where process.Ext.token.integrity_level_name == "high"`, 0,
			[]string{"weft never produces field process.Ext.token.integrity_level_name"}},
		{`sequence by host.id [proces where true] [network where destination.prot == 135]`, 0,
			[]string{`category "proces"`, "field destination.prot; did you mean destination.port?"}},
		{`network where powershell.file.script_block_text : "x"`, 0,
			[]string{"the query can never match on weft's documents: Microsoft-Windows-Sysmon/Operational: powershell.file.script_block_text"}},
		{`process where process.name : "mmc.exe"`, 1, nil},
		{`any where weft.event_data.ParentImage : "*mmc.exe"`, 0, nil}, // kept only when a Sigma rule runs
		{`any where event.code : 1`, 4, nil},                           // ":" with a number, as Elasticsearch takes it
		{`any where winlog.event_id : "1"`, 4, nil},
		{`sequence by host.id with maxspan=1m [network where true] [process where true]`, 3, nil},
		{`sequence [process where true] [process where true] until [dns where true]`, 3, []string{`category "dns"`}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runWeft(t, testContext(t), nil, "eql", tc.query, positive)
			if code != exitOK {
				t.Fatalf("exit %d, want 0; stderr:\n%s", code, errOut)
			}
			if n := strings.Count(out, "\n"); n != tc.results {
				t.Errorf("%d results, want %d", n, tc.results)
			}
			var got []string
			for _, line := range strings.Split(errOut, "\n") {
				if w, ok := strings.CutPrefix(line, "weft eql: warning: "); ok {
					got = append(got, w)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("warnings %q, want %d like %q", got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("warning %d = %q, want it to say %q", i, got[i], w)
				}
			}
		})
	}
}
