package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/weft-dev/weft/correlator/eql"
	"github.com/weft-dev/weft/normalizer"
)

// queryWarnings says what a query asks of weft's documents that they never
// hold, as weft rules check judges it (rulereach.go): an event category no
// channel's events get, a field no channel's documents hold (with the
// closest field weft does produce), and, when every category and field
// exists somewhere, a stage that can match on no channel. Such a query
// finds nothing in documents weft makes from EVTX or XML.
func (rc *reachChecker) queryWarnings(q *eql.Query) []string {
	var warnings []string
	all := make([]*normalizer.Channel, len(rc.channels))
	categories := map[string]bool{}
	for i := range rc.channels {
		all[i] = &rc.channels[i]
		for _, e := range rc.channels[i].Events {
			for _, c := range e.Category {
				categories[c] = true
			}
		}
	}
	stages := queryStages(q)
	seenCat := map[string]bool{}
	for _, s := range stages {
		c := s.q.Category
		if c == "" || categories[c] || seenCat[c] {
			continue
		}
		seenCat[c] = true
		msg := fmt.Sprintf("weft never produces events of category %q", c)
		if best := closest(c, sortedKeys(categories)); best != "" {
			msg += fmt.Sprintf("; did you mean %q?", best)
		} else {
			msg += "; it produces " + strings.Join(sortedKeys(categories), ", ")
		}
		warnings = append(warnings, msg)
	}
	for _, name := range q.Fields() {
		if rc.producedAnywhere(name, all) {
			continue
		}
		msg := fmt.Sprintf("weft never produces field %s", name)
		if best := closest(name, normalizer.Fields()); best != "" {
			msg += fmt.Sprintf("; did you mean %s?", best)
		}
		warnings = append(warnings, msg)
	}
	if len(warnings) > 0 {
		return warnings
	}
	for i, s := range stages {
		if s.missing {
			continue
		}
		if res := rc.stage(s.q, s.keys, all); !res.canMatch {
			where := "the query"
			if len(stages) > 1 {
				where = "stage " + strconv.Itoa(i+1)
			}
			warnings = append(warnings, where+" can never match on weft's documents: "+res.why)
		}
	}
	return warnings
}

// producedAnywhere reports whether some channel's documents can hold the
// field, as rules check decides it for one channel.
func (rc *reachChecker) producedAnywhere(name string, chans []*normalizer.Channel) bool {
	f := &eql.Field{Path: strings.Split(name, ".")}
	for _, c := range chans {
		if (&stageEval{c: c, missing: map[string]bool{}}).produced(f) {
			return true
		}
	}
	return false
}

type queryStage struct {
	q       *eql.EventQuery
	keys    []eql.Expr
	missing bool
}

// queryStages lists a query's event filters with their join keys: the
// event query, a sequence's stages and until, a sample's filters.
func queryStages(q *eql.Query) []queryStage {
	var out []queryStage
	switch {
	case q.Event != nil:
		out = append(out, queryStage{q: q.Event})
	case q.Sequence != nil:
		for _, s := range q.Sequence.Stages {
			out = append(out, queryStage{q: &s.Query, keys: append(slices.Clip(q.Sequence.By), s.By...), missing: s.Missing})
		}
		if u := q.Sequence.Until; u != nil {
			// until ends a sequence; a stage that never matches is harmless.
			out = append(out, queryStage{q: &u.Query, missing: true})
		}
	case q.Sample != nil:
		for _, s := range q.Sample.Filters {
			out = append(out, queryStage{q: &s.Query, keys: append(slices.Clip(q.Sample.By), s.By...)})
		}
	}
	return out
}

// closest returns the name nearest to s among names, or "" when none is
// near enough to be what was meant (a quarter of its length in edits, at
// least 2).
func closest(s string, names []string) string {
	best, dist := "", max(2, len(s)/4)+1
	for _, n := range names {
		if d := editDistance(s, n); d < dist {
			best, dist = n, d
		}
	}
	return best
}
