package main

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/weft-dev/weft/correlator"
	"github.com/weft-dev/weft/correlator/eql"
	"github.com/weft-dev/weft/normalizer"
)

// Whether a rule can fire on weft's documents, as weft rules check says it.
const (
	reachYes     = "yes"       // every stage can match, reading only fields weft produces
	reachPartial = "partially" // it can match, but some or-branch or exclusion reads a field weft never sets there
	reachNo      = "no"        // some stage can never match
)

// ruleReach is what weft rules check finds out about one rule.
type ruleReach struct {
	CanFire string
	// Reason says why a rule cannot fire or fires only partially.
	Reason string
	// IndexChannels are the channels whose documents the rule's index
	// patterns name ("" stands for the channels weft has no pipeline
	// for); Channels those on which some stage can match.
	IndexChannels []string
	Channels      []string
}

// reachChecker judges rules against what the normalizer produces per
// channel (normalizer.Channels).
type reachChecker struct {
	channels []normalizer.Channel
}

func newReachChecker() *reachChecker {
	return &reachChecker{channels: normalizer.Channels()}
}

func channelLabel(c *normalizer.Channel) string {
	if c.Name == "" {
		return "other channels"
	}
	return c.Name
}

// indexed returns the channels whose documents an index pattern list
// names: winlogbeat-* names all of them, logs-<dataset>* the channels
// whose documents belong to that Elastic data stream. Patterns of other
// products' data (Elastic Defend's logs-endpoint.events.*, endgame-*,
// other vendors) name none.
func (rc *reachChecker) indexed(index []string) []*normalizer.Channel {
	var out []*normalizer.Channel
	for i := range rc.channels {
		c := &rc.channels[i]
		for _, pat := range index {
			if indexMatches(pat, c.Datasets) {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

func indexMatches(pattern string, datasets []string) bool {
	if ok, _ := filepath.Match(pattern, "winlogbeat-8.17.0"); ok {
		return true
	}
	for _, d := range datasets {
		if ok, _ := filepath.Match(pattern, "logs-"+d+"-default"); ok {
			return true
		}
	}
	return false
}

// truth is what a condition can evaluate to on a channel's documents.
type truth struct{ canTrue, canFalse bool }

var (
	tAny   = truth{true, true}
	tFalse = truth{false, true}
	tTrue  = truth{true, false}
)

// stageEval judges one event filter on one channel.
type stageEval struct {
	c       *normalizer.Channel
	missing map[string]bool // unproduced fields read
}

func (s *stageEval) produced(f *eql.Field) bool {
	// weft.event_data.* and weft.system.* are the raw fields the
	// normalizer keeps for Sigma rules, on every channel.
	if s.c.Has(f.Name()) || strings.HasPrefix(f.Name(), "weft.event_data.") || strings.HasPrefix(f.Name(), "weft.system.") {
		return true
	}
	s.missing[f.Name()] = true
	return false
}

// fieldsOK reports whether every field under e is produced on the
// channel, noting those that are not.
func (s *stageEval) fieldsOK(e eql.Expr) bool {
	ok := true
	walkExpr(e, func(x eql.Expr) {
		if f, isField := x.(*eql.Field); isField && !s.produced(f) {
			ok = false
		}
	})
	return ok
}

// eval follows the engine's semantics (correlator/eql's doc): a missing
// field is null, a comparison, match or function with a null side is
// false, "== null" and "!= null" test presence, and/or/not are two-valued.
func (s *stageEval) eval(e eql.Expr) truth {
	switch x := e.(type) {
	case *eql.Literal:
		if b, ok := x.Value.(bool); ok {
			if b {
				return tTrue
			}
			return tFalse
		}
		return tAny
	case *eql.Not:
		t := s.eval(x.X)
		return truth{t.canFalse, t.canTrue}
	case *eql.Binary:
		switch x.Op {
		case eql.OpAnd:
			l, r := s.eval(x.L), s.eval(x.R)
			return truth{l.canTrue && r.canTrue, l.canFalse || r.canFalse}
		case eql.OpOr:
			l, r := s.eval(x.L), s.eval(x.R)
			return truth{l.canTrue || r.canTrue, l.canFalse && r.canFalse}
		case eql.OpEq, eql.OpNeq:
			if operand, ok := nullTest(x); ok {
				// null when it reads a field weft never sets (functions
				// and arithmetic of null are null): == null holds then.
				switch {
				case s.fieldsOK(operand):
					return tAny
				case x.Op == eql.OpEq:
					return tTrue
				default:
					return tFalse
				}
			}
		}
		if !s.fieldsOK(x) {
			return tFalse
		}
		if x.Op == eql.OpEq {
			return s.action(x.L, x.R)
		}
		return tAny
	case *eql.In:
		if !s.fieldsOK(x) {
			return tFalse
		}
		if !x.Negated {
			return s.action(x.X, x.List...)
		}
		return tAny
	case *eql.PatternMatch:
		if !s.fieldsOK(x) {
			return tFalse
		}
		if x.Kind == eql.MatchSeq && len(x.Operands) == 0 {
			var lits []eql.Expr
			for _, p := range x.Patterns {
				if strings.ContainsAny(p, "*?") {
					return tAny
				}
				lits = append(lits, &eql.Literal{Value: p})
			}
			return s.action(x.X, lits...)
		}
		return tAny
	default: // a field read as a boolean, a function call
		if !s.fieldsOK(x) {
			return tFalse
		}
		return tAny
	}
}

// action checks "event.action == value" against the actions the channel's
// mapping sets: a channel with an event table sets event.action only from
// it, so an action it never sets cannot match.
func (s *stageEval) action(x eql.Expr, values ...eql.Expr) truth {
	f, ok := x.(*eql.Field)
	if !ok || f.Name() != "event.action" || len(s.c.Events) == 0 {
		return tAny
	}
	for _, v := range values {
		lit, ok := v.(*eql.Literal)
		if !ok {
			return tAny
		}
		want, ok := lit.Value.(string)
		if !ok {
			return tAny
		}
		for _, e := range s.c.Events {
			if strings.EqualFold(e.Action, want) {
				return tAny
			}
		}
	}
	s.missing["event.action of "+quoteValues(values)] = true
	return tFalse
}

func quoteValues(vs []eql.Expr) string {
	var parts []string
	for _, v := range vs {
		parts = append(parts, v.String())
	}
	return strings.Join(parts, ", ")
}

// nullTest recognises "X == null" and "X != null" and returns X.
func nullTest(b *eql.Binary) (eql.Expr, bool) {
	for _, pair := range [][2]eql.Expr{{b.L, b.R}, {b.R, b.L}} {
		if lit, ok := pair[1].(*eql.Literal); ok && lit.Value == nil {
			return pair[0], true
		}
	}
	return nil, false
}

func walkExpr(e eql.Expr, fn func(eql.Expr)) {
	if e == nil {
		return
	}
	fn(e)
	switch x := e.(type) {
	case *eql.Binary:
		walkExpr(x.L, fn)
		walkExpr(x.R, fn)
	case *eql.Not:
		walkExpr(x.X, fn)
	case *eql.Neg:
		walkExpr(x.X, fn)
	case *eql.In:
		walkExpr(x.X, fn)
		for _, l := range x.List {
			walkExpr(l, fn)
		}
	case *eql.PatternMatch:
		walkExpr(x.X, fn)
		for _, o := range x.Operands {
			walkExpr(o, fn)
		}
	case *eql.Call:
		for _, a := range x.Args {
			walkExpr(a, fn)
		}
	}
}

// stageResult is one stage judged on its best channel.
type stageResult struct {
	canMatch bool
	missing  []string // unproduced fields it reads there
	channels []string // where it can match
	why      string   // when it cannot match anywhere
}

// stage judges an event filter with its join keys over the channels.
func (rc *reachChecker) stage(q *eql.EventQuery, keys []eql.Expr, chans []*normalizer.Channel) stageResult {
	var best stageResult
	bestMissing := -1
	var whys []string
	for _, c := range chans {
		if q.Category != "" && !c.HasCategory(q.Category) {
			whys = append(whys, channelLabel(c)+" has no "+q.Category+" events")
			continue
		}
		s := &stageEval{c: c, missing: map[string]bool{}}
		keyOK := true
		for _, k := range keys {
			if f, ok := k.(*eql.Field); ok && f.Optional {
				continue // ?field lets null join
			}
			if !s.fieldsOK(k) {
				keyOK = false
			}
		}
		t := tTrue
		if q.Where != nil {
			t = s.eval(q.Where)
		}
		missing := sortedKeys(s.missing)
		if !keyOK || !t.canTrue {
			whys = append(whys, channelLabel(c)+": "+strings.Join(missing, ", "))
			continue
		}
		best.canMatch = true
		best.channels = append(best.channels, channelLabel(c))
		if bestMissing < 0 || len(missing) < bestMissing {
			best.missing, bestMissing = missing, len(missing)
		}
	}
	if !best.canMatch {
		best.why = strings.Join(whys, "; ")
	}
	return best
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// judge says whether a loaded rule can fire on weft's documents.
func (rc *reachChecker) judge(r *correlator.Rule) ruleReach {
	var rep ruleReach
	chans := rc.indexed(r.Index)
	for _, c := range chans {
		rep.IndexChannels = append(rep.IndexChannels, c.Name)
	}
	note := ""
	if len(chans) == 0 || r.Sigma != nil {
		// weft runs every rule over every document whatever its index
		// names: judge it against all of them.
		if r.Sigma == nil && len(r.Index) > 0 {
			note = "its index (" + strings.Join(r.Index, ", ") + ") names no data weft produces; weft runs it over every document anyway. "
		}
		chans = nil
		for i := range rc.channels {
			chans = append(chans, &rc.channels[i])
		}
	}
	q := r.Program().Query()
	type st struct {
		q    *eql.EventQuery
		keys []eql.Expr
	}
	var stages []st
	switch {
	case q.Event != nil:
		stages = append(stages, st{q: q.Event})
	case q.Sequence != nil:
		for _, s := range q.Sequence.Stages {
			if !s.Missing {
				stages = append(stages, st{q: &s.Query, keys: append(slices.Clip(q.Sequence.By), s.By...)})
			}
		}
	case q.Sample != nil:
		for _, s := range q.Sample.Filters {
			stages = append(stages, st{q: &s.Query, keys: append(slices.Clip(q.Sample.By), s.By...)})
		}
	}
	rep.CanFire = reachYes
	var missing []string
	seen := map[string]bool{}
	for i, s := range stages {
		res := rc.stage(s.q, s.keys, chans)
		for _, c := range res.channels {
			if !slices.Contains(rep.Channels, c) {
				rep.Channels = append(rep.Channels, c)
			}
		}
		if !res.canMatch {
			rep.CanFire = reachNo
			where := "its query"
			if len(stages) > 1 {
				where = "stage " + strconv.Itoa(i+1)
			}
			rep.Reason = note + where + " can never match: " + res.why
			return rep
		}
		for _, m := range res.missing {
			if !seen[m] {
				seen[m] = true
				missing = append(missing, m)
			}
		}
	}
	if len(missing) > 0 {
		rep.CanFire = reachPartial
		rep.Reason = note + "some or-branches or exclusions read what weft never sets on the channels it matches: " + strings.Join(missing, ", ")
	} else if note != "" {
		rep.Reason = strings.TrimSpace(note)
	}
	return rep
}
