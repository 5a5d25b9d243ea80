package eql

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/weft-dev/weft/event"
)

// SearchOptions tune a Search.
type SearchOptions struct {
	// Tiebreaker names a field that orders events with equal @timestamp
	// (Elasticsearch's tiebreaker_field), before the order they were added.
	Tiebreaker string
	// MaxPending bounds the state of a sequence or sample (0: the default).
	MaxPending int
}

// Search runs a query over a finite set of documents and returns what
// Elasticsearch's EQL search API would: the matching events, sequences or
// samples in its order, after the pipes. It holds only the documents the
// query can use.
type Search struct {
	prog       *Program
	opts       SearchOptions
	tiebreaker *Expression
	docs       []searchDoc
	seq        uint64
	invalid    int
}

type searchDoc struct {
	doc  event.Document
	ord  Ordinal
	hits StageSet
}

// NewSearch prepares a search with the program.
func (p *Program) NewSearch(opts SearchOptions) (*Search, error) {
	s := &Search{prog: p, opts: opts}
	if opts.Tiebreaker != "" {
		tb, err := CompileField(opts.Tiebreaker)
		if err != nil {
			return nil, fmt.Errorf("tiebreaker: %w", err)
		}
		s.tiebreaker = tb
	}
	return s, nil
}

// Add offers a document to the search. It returns false when the document
// matches the query but cannot be used because it has no usable
// @timestamp (sample queries need none).
func (s *Search) Add(d event.Document) bool {
	hits := s.prog.Stages(d, CategoriesOf(d))
	if hits == 0 {
		return true
	}
	ord := Ordinal{Seq: s.seq}
	s.seq++
	ts, ok := Timestamp(d)
	if !ok && s.prog.sample == nil {
		s.invalid++
		return false
	}
	ord.Time = ts
	if s.tiebreaker != nil {
		ord.Tiebreaker = s.tiebreaker.Eval(d)
	}
	s.docs = append(s.docs, searchDoc{doc: d, ord: ord, hits: hits})
	return true
}

// Invalid is the number of documents skipped for want of a @timestamp.
func (s *Search) Invalid() int { return s.invalid }

// Run evaluates the query over the documents added, in time order, and
// applies the pipes. For an event query each Match holds one event.
func (s *Search) Run() ([]Match, error) {
	slices.SortStableFunc(s.docs, func(a, b searchDoc) int { return a.ord.Compare(b.ord) })
	var out []Match
	p := s.prog
	switch {
	case p.event != nil:
		for _, d := range s.docs {
			out = append(out, Match{Events: []event.Document{d.doc}, End: d.ord})
		}
	case p.seq != nil:
		seq, err := p.NewSequence(SequenceOptions{MaxPending: s.opts.MaxPending})
		if err != nil {
			return nil, err
		}
		for _, d := range s.docs {
			out = append(out, seq.FeedStages(d.doc, d.hits, d.ord, "")...)
		}
		out = append(out, seq.Flush()...)
		// Sequences held for a trailing window come out late: put every
		// sequence in the order of its last event, as Elasticsearch does.
		slices.SortStableFunc(out, func(a, b Match) int { return a.End.Compare(b.End) })
	case p.sample != nil:
		smp, err := p.NewSample(SampleOptions{MaxKeys: s.opts.MaxPending, Batch: true})
		if err != nil {
			return nil, err
		}
		for _, d := range s.docs {
			smp.FeedStages(d.doc, d.hits, d.ord)
		}
		out = smp.Results()
	}
	s.docs = nil
	return ApplyPipes(out, p.pipes), nil
}

// ApplyPipes applies head and tail pipes, in order, to results in
// Elasticsearch's order.
func ApplyPipes(ms []Match, pipes []Pipe) []Match {
	for _, p := range pipes {
		if p.N >= len(ms) {
			continue
		}
		if p.Kind == PipeHead {
			ms = ms[:p.N]
		} else {
			ms = ms[len(ms)-p.N:]
		}
	}
	return ms
}

// Timestamp reads a document's @timestamp as Elasticsearch accepts a date:
// an RFC 3339 string, epoch milliseconds (a number or a string of digits),
// or a time.Time.
func Timestamp(d event.Document) (time.Time, bool) {
	v, ok := d["@timestamp"]
	if !ok {
		v, ok = d.Get("@timestamp")
	}
	if !ok {
		return time.Time{}, false
	}
	switch t := v.(type) {
	case time.Time:
		return t, !t.IsZero()
	case json.Number:
		if ms, err := t.Int64(); err == nil {
			return time.UnixMilli(ms).UTC(), true
		}
		return time.Time{}, false
	case string:
		if ts, err := time.Parse(time.RFC3339Nano, t); err == nil {
			return ts, true
		}
		if n, ok := asNumber(strValue(t)); ok && n.k == kInt {
			return time.UnixMilli(n.i).UTC(), true
		}
		return time.Time{}, false
	}
	if ms, ok := event.ToFloat(v); ok {
		return time.UnixMilli(int64(ms)).UTC(), true
	}
	return time.Time{}, false
}
