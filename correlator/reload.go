package correlator

import (
	"context"
	"errors"
	"fmt"

	"github.com/weft-dev/weft/correlator/eql"
	"github.com/weft-dev/weft/event"
)

// ReplaceRules makes the engine run rules from now on, for a reload of the
// rule files while the stream goes on.
//
// A rule whose id and query are both unchanged keeps its state: partial
// sequences, samples, max_signals counts per host and window, and
// counters; it takes the new rule's metadata and max_signals. Other rules start afresh, and rules no
// longer given are dropped with their state.
//
// The documents held for reordering are first released to the current
// rules, since what they matched was worked out by those rules; their
// alerts are returned. A document that then arrives older than them counts
// as late, as after a buffer overflow. On error the engine is unchanged.
func (e *Engine) ReplaceRules(rules []*Rule) ([]event.Alert, error) {
	old := map[string]*ruleState{}
	for _, rs := range e.rules {
		old[rs.rule.ID] = rs
	}
	states := make([]*ruleState, 0, len(rules))
	seen := map[string]bool{}
	var errs []error
	for _, r := range rules {
		if seen[r.ID] {
			errs = append(errs, fmt.Errorf("rule %q: id %s is given twice", r.Name, r.ID))
			continue
		}
		seen[r.ID] = true
		if err := prepare(r); err != nil {
			errs = append(errs, err)
			continue
		}
		if rs, ok := old[r.ID]; ok && rs.rule.program.Query().Source == r.program.Query().Source {
			states = append(states, rs.renewed(r))
			continue
		}
		// The engine's field cache, so that every rule looks a field up
		// once per document, old and new alike.
		// A program compiled with another cache (a new load's) is
		// compiled again: the engine keeps its own.
		rs, err := newRuleState(r, nil, e.opts, e.fields)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %q: %w", r.Name, err))
			continue
		}
		states = append(states, rs)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	e.out = nil
	e.buf.Flush(e.evaluate)
	released := e.out

	e.rules = states
	e.byCategory = map[string][]int{}
	e.anyRules, e.timed, e.corrs = nil, nil, nil
	e.sigma = sigmaIndex{}
	for i, rs := range states {
		if rs.seq != nil && rs.prog.MaxSpan() > 0 {
			e.timed = append(e.timed, i)
		}
		if rs.corr != nil {
			e.corrs = append(e.corrs, i)
		}
		if e.sigma.add(rs.rule, i) {
			continue
		}
		cats, anyCat := rs.prog.Categories()
		if anyCat {
			e.anyRules = append(e.anyRules, i)
			continue
		}
		for _, c := range cats {
			e.byCategory[c] = append(e.byCategory[c], i)
		}
	}
	e.mark = make([]uint64, len(states))
	return released, nil
}

// prepare compiles a rule that ParseRule or LoadRules did not, as Compile
// does.
func prepare(r *Rule) error {
	if r.program != nil {
		return nil
	}
	if err := r.validate(); err != nil {
		return fmt.Errorf("rule %q: %w", r.Name, err)
	}
	prog, err := eql.CompileString(r.Query)
	if err == nil {
		err = streamable(prog)
	}
	if err != nil {
		return fmt.Errorf("rule %q: query: %w", r.Name, err)
	}
	r.program = prog
	return nil
}

// renewed is the state of a rule kept across a reload, with the new rule's
// metadata and limits.
func (rs *ruleState) renewed(r *Rule) *ruleState {
	limit := r.MaxSignals
	for _, p := range rs.prog.Pipes() {
		if p.Kind == eql.PipeHead {
			limit = min(limit, p.N)
		}
	}
	rs.rule, rs.meta = r, r.EventRule()
	rs.throttle.interval, rs.throttle.max = r.Interval, limit
	return rs
}

// ReplaceRules swaps the rules of the stage's engines
// (Engine.ReplaceRules) between two messages, and publishes the alerts of
// the documents they released. Partitions taken over later start with the
// new rules.
func (s *Stage) ReplaceRules(ctx context.Context, rules []*Rule) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.group != nil {
		// The template is no lane's engine and holds no documents: first
		// check the rules on it, so that a bad set changes nothing.
		if _, err := s.template.ReplaceRules(rules); err != nil {
			return err
		}
	}
	var errs []error
	for _, l := range s.lanes {
		l.mu.Lock()
		alerts, err := l.engine.ReplaceRules(rules)
		if err == nil {
			err = s.publish(ctx, alerts)
		}
		l.mu.Unlock()
		switch {
		case err != nil && l.partition == allHosts:
			errs = append(errs, err)
		case err != nil:
			errs = append(errs, fmt.Errorf("partition %d: %w", l.partition, err))
		}
	}
	return errors.Join(errs...)
}
