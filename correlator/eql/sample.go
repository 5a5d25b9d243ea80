package eql

import (
	"errors"
	"slices"

	"github.com/weft-dev/weft/event"
)

// SampleOptions tune a Sample.
type SampleOptions struct {
	// MaxKeys caps the join-key values whose candidate events are held at
	// once (0: DefaultMaxPending); past it the oldest is evicted and
	// counted. It caps the remembered keys that already gave their sample
	// too.
	MaxKeys int
	// Batch holds every key's candidates until Results, which then picks
	// the events exactly as Elasticsearch does over a whole data set.
	// Without it, Feed reports a key's sample as soon as it has one.
	Batch bool
}

// SampleStats counts what a Sample did.
type SampleStats struct {
	Keys      int    // join-key values with candidates held now
	Completed uint64 // samples found
	Evicted   uint64 // keys forgotten to respect MaxKeys
}

// Sample runs a sample query: for each value of the join keys, one event
// per filter, all different, in any order of time. As in Elasticsearch,
// each filter considers the first N events that match it with those keys
// (N being the number of filters, in the order the events were fed), and
// the events are chosen by backtracking over those lists, the first
// filter's candidates first; each key gives one sample.
//
// Streaming (without SampleOptions.Batch), a key's sample is reported as
// soon as one exists. The keys that give a sample are the same as in
// batch; the events chosen can differ when an event matches several
// filters and a later event would have allowed an earlier choice.
//
// A Sample is not safe for concurrent use.
type Sample struct {
	spec     *sampleSpec
	stages   []*stage
	opts     SampleOptions
	keys     map[string]*sampleKey
	order    []*sampleKey // keys in first-seen order, for eviction; may hold stale entries
	done     map[string]struct{}
	doneFIFO []string
	stats    SampleStats

	shared []value
	keyBuf []byte
}

type sampleKey struct {
	key      string
	joinKeys []any
	cands    [][]sampleCand
	gone     bool
}

type sampleCand struct {
	doc event.Document
	ord Ordinal
}

// NewSample makes the state of a sample program.
func (p *Program) NewSample(opts SampleOptions) (*Sample, error) {
	if p.sample == nil {
		return nil, errors.New("eql: not a sample query")
	}
	if opts.MaxKeys <= 0 {
		opts.MaxKeys = DefaultMaxPending
	}
	return &Sample{spec: p.sample, stages: p.stages, opts: opts, keys: map[string]*sampleKey{}, done: map[string]struct{}{}}, nil
}

// Stats returns the counters.
func (s *Sample) Stats() SampleStats {
	st := s.stats
	st.Keys = len(s.keys)
	return st
}

// Pending is the number of keys with candidates held.
func (s *Sample) Pending() int { return len(s.keys) }

// Feed applies one event; streaming, it returns the sample it completes.
func (s *Sample) Feed(d event.Document, ord Ordinal) []Match {
	cats := documentCategories(d)
	var hits StageSet
	for _, st := range s.stages {
		if st.matches(d, cats) {
			hits |= 1 << uint(st.id)
		}
	}
	return s.FeedStages(d, hits, ord)
}

// FeedStages is Feed for a document whose matching filters the caller has
// already computed with Program.Stages.
func (s *Sample) FeedStages(d event.Document, hits StageSet, ord Ordinal) []Match {
	if hits == 0 {
		return nil
	}
	s.shared = s.shared[:0]
	for _, k := range s.spec.by {
		v := k.ev.eval(d)
		if v.k == kNull && !k.optional {
			return nil
		}
		s.shared = append(s.shared, v)
	}
	var touched *sampleKey
	for i, f := range s.spec.filters {
		if !hits.Has(f.id) || !s.buildKey(f, d) {
			continue
		}
		if _, done := s.done[string(s.keyBuf)]; done {
			continue
		}
		sk := s.keys[string(s.keyBuf)]
		if sk == nil {
			sk = s.newKey(f, d)
		}
		if len(sk.cands[i]) < len(s.spec.filters) {
			sk.cands[i] = append(sk.cands[i], sampleCand{doc: d, ord: ord})
			touched = sk
		}
	}
	if touched == nil || s.opts.Batch {
		return nil
	}
	// An event's filters share the sample-wide keys but not always their
	// own: every key it touched may now be complete.
	var out []Match
	for _, f := range s.spec.filters {
		if !hits.Has(f.id) || !s.buildKey(f, d) {
			continue
		}
		sk := s.keys[string(s.keyBuf)]
		if sk == nil {
			continue
		}
		if m, ok := s.match(sk); ok {
			out = append(out, m)
			s.finish(sk)
		}
	}
	return out
}

func (s *Sample) newKey(f *stage, d event.Document) *sampleKey {
	for len(s.keys) >= s.opts.MaxKeys {
		s.evict()
	}
	sk := &sampleKey{key: string(s.keyBuf), joinKeys: keyValues(s.shared, f, d), cands: make([][]sampleCand, len(s.spec.filters))}
	s.keys[sk.key] = sk
	s.order = append(s.order, sk)
	return sk
}

func (s *Sample) evict() {
	for len(s.order) > 0 {
		sk := s.order[0]
		s.order[0] = nil
		s.order = s.order[1:]
		if !sk.gone {
			delete(s.keys, sk.key)
			sk.gone = true
			s.stats.Evicted++
			return
		}
	}
}

// finish forgets a key's candidates and remembers that it gave its sample.
func (s *Sample) finish(sk *sampleKey) {
	delete(s.keys, sk.key)
	sk.gone = true
	s.stats.Completed++
	if len(s.doneFIFO) >= s.opts.MaxKeys {
		delete(s.done, s.doneFIFO[0])
		s.doneFIFO = s.doneFIFO[1:]
		s.stats.Evicted++
	}
	s.done[sk.key] = struct{}{}
	s.doneFIFO = append(s.doneFIFO, sk.key)
	if len(s.order) > 2*len(s.keys)+64 {
		s.order = slices.DeleteFunc(s.order, func(k *sampleKey) bool { return k.gone })
	}
}

func (s *Sample) buildKey(f *stage, d event.Document) bool {
	b := s.keyBuf[:0]
	for _, v := range s.shared {
		b = appendKey(b, v)
	}
	for _, k := range f.keys {
		v := k.ev.eval(d)
		if v.k == kNull && !k.optional {
			return false
		}
		b = appendKey(b, v)
	}
	s.keyBuf = b
	return true
}

// match picks one distinct event per filter by backtracking, as
// Elasticsearch's SampleIterator does.
func (s *Sample) match(sk *sampleKey) (Match, bool) {
	for _, c := range sk.cands {
		if len(c) == 0 {
			return Match{}, false
		}
	}
	chosen := make([]sampleCand, 0, len(sk.cands))
	var try func(i int) bool
	try = func(i int) bool {
		if i == len(sk.cands) {
			return true
		}
		for _, c := range sk.cands[i] {
			if slices.ContainsFunc(chosen, func(x sampleCand) bool { return x.ord.Seq == c.ord.Seq }) {
				continue
			}
			chosen = append(chosen, c)
			if try(i + 1) {
				return true
			}
			chosen = chosen[:len(chosen)-1]
		}
		return false
	}
	if !try(0) {
		return Match{}, false
	}
	m := Match{Events: make([]event.Document, len(chosen)), JoinKeys: sk.joinKeys}
	for i, c := range chosen {
		m.Events[i] = c.doc
		if i == 0 || c.ord.Compare(m.End) > 0 {
			m.End = c.ord
		}
	}
	return m, true
}

// Results picks the samples of every key still held and returns them in
// Elasticsearch's order: by join-key values, null first. Call it at the end
// of a batch.
func (s *Sample) Results() []Match {
	var out []Match
	for _, sk := range s.order {
		if sk.gone {
			continue
		}
		if m, ok := s.match(sk); ok {
			out = append(out, m)
			s.finish(sk)
		}
	}
	slices.SortStableFunc(out, func(a, b Match) int { return compareKeyLists(a.JoinKeys, b.JoinKeys) })
	return out
}

// compareKeyLists orders join-key lists value by value, null first, as a
// composite aggregation orders its buckets.
func compareKeyLists(a, b []any) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		va, vb := fromAny(a[i]), fromAny(b[i])
		switch {
		case va.k == kNull && vb.k == kNull:
			continue
		case va.k == kNull:
			return -1
		case vb.k == kNull:
			return 1
		}
		if c, ok := compareValues(va, vb); ok && c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}
