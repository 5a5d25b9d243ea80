package eql

import (
	"container/list"
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/weft-dev/weft/event"
)

// Ordinal places an event in a sequence's order: event time, then the
// optional tiebreaker field's value, then arrival order (Seq), as
// Elasticsearch orders by @timestamp, tiebreaker and shard doc.
type Ordinal struct {
	Time       time.Time
	Tiebreaker any // nil, a number or a string
	Seq        uint64
}

// Compare orders two ordinals: -1, 0 or +1.
func (a Ordinal) Compare(b Ordinal) int {
	if c := a.Time.Compare(b.Time); c != 0 {
		return c
	}
	if c := compareTiebreakers(a.Tiebreaker, b.Tiebreaker); c != 0 {
		return c
	}
	switch {
	case a.Seq < b.Seq:
		return -1
	case a.Seq > b.Seq:
		return 1
	}
	return 0
}

// compareTiebreakers puts a missing tiebreaker first, numbers (also numeric
// strings) in numeric order, other strings in byte order.
func compareTiebreakers(a, b any) int {
	va, vb := fromAny(a), fromAny(b)
	switch {
	case va.k == kNull && vb.k == kNull:
		return 0
	case va.k == kNull:
		return -1
	case vb.k == kNull:
		return 1
	}
	c, _ := compareValues(va, vb)
	return c
}

// DefaultMaxPending bounds the partial sequences one Sequence keeps when
// SequenceOptions.MaxPending is zero.
const DefaultMaxPending = 100_000

// SequenceOptions bound a Sequence's memory.
type SequenceOptions struct {
	// MaxPending caps the partial sequences kept at once; when a new one
	// would exceed it, the oldest is evicted and counted.
	MaxPending int
}

// SequenceStats counts what a Sequence did.
type SequenceStats struct {
	Pending   int    // partial sequences held now
	Completed uint64 // sequences that matched
	Evicted   uint64 // partials dropped to respect MaxPending
	Expired   uint64 // partials dropped because maxspan had passed
	Cancelled uint64 // partials dropped by an until event
}

// Match is one completed sequence.
type Match struct {
	Events   []event.Document // in stage order
	JoinKeys []any            // the sequence-wide keys, then the last stage's keys
}

// Sequence runs a sequence query over a stream of events, as the state
// machine Elasticsearch describes in "How sequence queries handle matches":
//
//   - each join-key value has its own machine; a null join key never joins,
//     unless the key is an optional field (?field), where null is a value;
//   - each stage holds at most one pending sequence per key: a newer one
//     overwrites the older (the most recent partial wins), so every event
//     completes at most one sequence per stage;
//   - an event advances the pending sequence of the previous stage only when
//     it comes after that sequence's last event (Ordinal order);
//   - maxspan runs from the first event's @timestamp to the last and is
//     inclusive: a gap equal to maxspan still matches;
//   - an until event drops the pending sequences of its key that it follows,
//     so no later event can complete them.
//
// An event that matches several stages is applied from the last stage to the
// first, so it never advances a sequence it has just started or advanced.
// Events must be fed in Ordinal order per join key for results to equal
// Elasticsearch's; the engine's reorder buffer takes care of that.
//
// A Sequence is not safe for concurrent use.
type Sequence struct {
	spec       *sequenceSpec
	maxPending int
	keys       map[string]*keyState
	all        *list.List            // every partial, oldest first (eviction order)
	parts      map[string]*list.List // partials per partition, oldest first (expiry order)
	stats      SequenceStats

	// scratch, reused across Feed calls
	hit    []int8 // per distinct stage: 0 unknown, 1 match, 2 no match
	shared []value
	keyBuf []byte
}

type keyState struct {
	slots []*partial // slots[k]: the pending sequence whose last event matched stage k
}

type partial struct {
	key      string
	ks       *keyState
	stage    int
	events   []event.Document
	start    time.Time
	last     Ordinal
	part     string
	allElem  *list.Element
	partElem *list.Element
}

// NewSequence makes the streaming state machine of a sequence program.
func (p *Program) NewSequence(opts SequenceOptions) (*Sequence, error) {
	if p.seq == nil {
		return nil, errors.New("eql: not a sequence query")
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = DefaultMaxPending
	}
	return &Sequence{
		spec:       p.seq,
		maxPending: opts.MaxPending,
		keys:       map[string]*keyState{},
		all:        list.New(),
		parts:      map[string]*list.List{},
		hit:        make([]int8, len(p.stages)),
	}, nil
}

// Stats returns the counters.
func (s *Sequence) Stats() SequenceStats {
	st := s.stats
	st.Pending = s.all.Len()
	return st
}

// Feed applies one event and returns the sequences it completes. partition
// names the event's stream (its host): maxspan expiry of pending sequences
// runs on the event time of the partition that started them, so a host
// whose events run behind does not lose its partials to another host's
// clock.
func (s *Sequence) Feed(d event.Document, ord Ordinal, partition string) []Match {
	if s.spec.maxSpan > 0 {
		s.expire(partition, ord.Time)
	}
	cats := documentCategories(d)
	clear(s.hit)
	s.shared = s.shared[:0]
	sharedDone, sharedOK := false, true
	var out []Match
	n := len(s.spec.stages)
	for k := n - 1; k >= 0; k-- {
		st := s.spec.stages[k]
		if !s.stageMatches(st, d, cats) {
			continue
		}
		if !sharedDone {
			sharedOK = s.evalShared(d)
			sharedDone = true
		}
		if !sharedOK {
			break
		}
		if !s.buildKey(st, d) {
			continue
		}
		if k == 0 {
			s.start(d, ord, partition)
			continue
		}
		ks := s.keys[string(s.keyBuf)]
		if ks == nil {
			continue
		}
		p := ks.slots[k-1]
		if p == nil || p.last.Compare(ord) >= 0 {
			continue
		}
		ks.slots[k-1] = nil
		if s.spec.maxSpan > 0 && ord.Time.Sub(p.start) > s.spec.maxSpan {
			s.drop(p)
			s.stats.Expired++
			continue
		}
		p.events = append(p.events, d)
		p.last = ord
		if k == n-1 {
			s.drop(p)
			s.stats.Completed++
			out = append(out, Match{Events: p.events, JoinKeys: s.keyValues(st, d)})
			continue
		}
		old := ks.slots[k]
		ks.slots[k] = p
		p.stage = k
		if old != nil {
			s.drop(old) // overwritten: the most recent partial wins
		}
	}
	if u := s.spec.until; u != nil && s.stageMatches(u, d, cats) {
		if !sharedDone {
			sharedOK = s.evalShared(d)
		}
		if sharedOK && s.buildKey(u, d) {
			s.cancel(ord)
		}
	}
	return out
}

func (s *Sequence) stageMatches(st *stage, d event.Document, cats any) bool {
	switch s.hit[st.id] {
	case 1:
		return true
	case 2:
		return false
	}
	ok := st.matches(d, cats)
	if ok {
		s.hit[st.id] = 1
	} else {
		s.hit[st.id] = 2
	}
	return ok
}

// evalShared evaluates the sequence-wide join keys; false when one is null
// and not optional.
func (s *Sequence) evalShared(d event.Document) bool {
	for _, k := range s.spec.by {
		v := k.ev.eval(d)
		if v.k == kNull && !k.optional {
			return false
		}
		s.shared = append(s.shared, v)
	}
	return true
}

// buildKey encodes the shared keys and st's keys into s.keyBuf; false when
// a stage key is null and not optional.
func (s *Sequence) buildKey(st *stage, d event.Document) bool {
	b := s.keyBuf[:0]
	for _, v := range s.shared {
		b = appendKey(b, v)
	}
	for _, k := range st.keys {
		v := k.ev.eval(d)
		if v.k == kNull && !k.optional {
			return false
		}
		b = appendKey(b, v)
	}
	s.keyBuf = b
	return true
}

func (s *Sequence) keyValues(st *stage, d event.Document) []any {
	out := make([]any, 0, len(s.shared)+len(st.keys))
	for _, v := range s.shared {
		out = append(out, toAny(v))
	}
	for _, k := range st.keys {
		out = append(out, toAny(k.ev.eval(d)))
	}
	return out
}

// appendKey encodes a join-key value so that equal values (5 and 5.0, the
// same strings) encode the same and different ones never collide.
func appendKey(b []byte, v value) []byte {
	switch v.k {
	case kNull:
		return append(b, 'n')
	case kBool:
		if v.b {
			return append(b, 'b', '1')
		}
		return append(b, 'b', '0')
	case kInt:
		b = append(b, 'i')
		b = strconv.AppendInt(b, v.i, 10)
		return append(b, ';')
	case kFloat:
		if v.f == math.Trunc(v.f) && math.Abs(v.f) < 1<<53 {
			b = append(b, 'i')
			b = strconv.AppendInt(b, int64(v.f), 10)
			return append(b, ';')
		}
		b = append(b, 'f')
		b = strconv.AppendFloat(b, v.f, 'g', -1, 64)
		return append(b, ';')
	case kString:
		b = append(b, 's')
		b = strconv.AppendInt(b, int64(len(v.s)), 10)
		b = append(b, ':')
		return append(b, v.s...)
	}
	b = append(b, 'm', '[')
	each(v, func(e value) bool {
		b = appendKey(b, e)
		return false
	})
	return append(b, ']')
}

func (s *Sequence) start(d event.Document, ord Ordinal, partition string) {
	key := string(s.keyBuf)
	if ks := s.keys[key]; ks != nil && ks.slots[0] != nil {
		s.drop(ks.slots[0])
	}
	for s.all.Len() >= s.maxPending {
		s.drop(s.all.Front().Value.(*partial))
		s.stats.Evicted++
	}
	ks := s.keys[key]
	if ks == nil {
		ks = &keyState{slots: make([]*partial, len(s.spec.stages)-1)}
		s.keys[key] = ks
	}
	events := make([]event.Document, 1, len(s.spec.stages))
	events[0] = d
	p := &partial{key: key, ks: ks, events: events, start: ord.Time, last: ord, part: partition}
	ks.slots[0] = p
	p.allElem = s.all.PushBack(p)
	pl := s.parts[partition]
	if pl == nil {
		pl = list.New()
		s.parts[partition] = pl
	}
	p.partElem = pl.PushBack(p)
}

// drop forgets a partial everywhere it is referenced.
func (s *Sequence) drop(p *partial) {
	if p.ks.slots[p.stage] == p {
		p.ks.slots[p.stage] = nil
	}
	empty := true
	for _, q := range p.ks.slots {
		if q != nil {
			empty = false
			break
		}
	}
	if empty && s.keys[p.key] == p.ks {
		delete(s.keys, p.key)
	}
	s.all.Remove(p.allElem)
	if pl := s.parts[p.part]; pl != nil {
		pl.Remove(p.partElem)
		if pl.Len() == 0 {
			delete(s.parts, p.part)
		}
	}
}

// expire drops the partials of a partition whose maxspan has passed by now.
// Partials are kept in start order per partition, so it stops at the first
// one still alive.
func (s *Sequence) expire(partition string, now time.Time) {
	pl := s.parts[partition]
	for pl != nil && pl.Len() > 0 {
		p := pl.Front().Value.(*partial)
		if now.Sub(p.start) <= s.spec.maxSpan {
			return
		}
		s.drop(p)
		s.stats.Expired++
		pl = s.parts[partition]
	}
}

// cancel drops the partials of the key in s.keyBuf that precede ord.
func (s *Sequence) cancel(ord Ordinal) {
	ks := s.keys[string(s.keyBuf)]
	if ks == nil {
		return
	}
	for _, p := range ks.slots {
		if p != nil && p.last.Compare(ord) < 0 {
			s.drop(p)
			s.stats.Cancelled++
		}
	}
}
