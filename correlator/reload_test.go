package correlator

import (
	"testing"
	"time"
)

// TestReplaceRulesKeepsPendingSequences starts the seed sequence, reloads,
// and completes it: a reload that keeps the rule keeps its partial
// sequence; one that changes the rule's query starts it afresh.
func TestReplaceRulesKeepsPendingSequences(t *testing.T) {
	t.Parallel()
	other := func(t *testing.T) *Rule {
		return testRule(t, "other-rule", `process where process.name == "calc.exe"`)
	}
	for _, tc := range []struct {
		name   string
		rules  func(t *testing.T) []*Rule
		alerts int
	}{
		{"same rule", func(t *testing.T) []*Rule { return []*Rule{seedRule(t)} }, 1},
		{"same rule and a new one", func(t *testing.T) []*Rule { return []*Rule{other(t), seedRule(t)} }, 1},
		{"renamed, same query", func(t *testing.T) []*Rule {
			r := seedRule(t)
			r.Name = "MMC, renamed"
			return []*Rule{r}
		}, 1},
		{"query changed", func(t *testing.T) []*Rule {
			r := seedRule(t)
			changed := testRule(t, r.ID, r.Query+"\n")
			return []*Rule{changed}
		}, 0},
		{"rule removed", func(t *testing.T) []*Rule { return []*Rule{other(t)} }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newSeedEngine(t, Options{Lateness: time.Second})
			released := e.Process(sysmonNetwork("WS01", t0, 1001))
			// The reload releases the held network event to the old rule,
			// which starts a sequence.
			more, err := e.ReplaceRules(tc.rules(t))
			if err != nil {
				t.Fatal(err)
			}
			if len(released)+len(more) != 0 {
				t.Fatalf("alerts before the sequence completed: %d", len(released)+len(more))
			}
			alerts := runAll(e, sysmonProcess("WS01", t0.Add(5*time.Second), 1002))
			if len(alerts) != tc.alerts {
				t.Fatalf("%d alerts after the reload, want %d", len(alerts), tc.alerts)
			}
			if tc.alerts == 1 && alerts[0].Rule.Name != tc.rules(t)[len(tc.rules(t))-1].Name {
				t.Errorf("alert names rule %q, want the reloaded rule's name", alerts[0].Rule.Name)
			}
			st := e.Stats()
			if len(st.Rules) != len(tc.rules(t)) {
				t.Errorf("engine runs %d rules, want %d", len(st.Rules), len(tc.rules(t)))
			}
		})
	}
}

func TestReplaceRulesErrorKeepsEngine(t *testing.T) {
	t.Parallel()
	e := newSeedEngine(t, Options{Lateness: time.Second})
	e.Process(sysmonNetwork("WS01", t0, 1001))
	bad := &Rule{ID: "bad", Name: "bad", Query: "process where", MaxSignals: 1}
	if _, err := e.ReplaceRules([]*Rule{seedRule(t), bad}); err == nil {
		t.Fatal("a rule that does not compile was accepted")
	}
	if _, err := e.ReplaceRules([]*Rule{seedRule(t), seedRule(t)}); err == nil {
		t.Fatal("a rule id given twice was accepted")
	}
	if got := len(runAll(e, sysmonProcess("WS01", t0.Add(5*time.Second), 1002))); got != 1 {
		t.Errorf("%d alerts after failed reloads, want the seed rule's 1", got)
	}
}
