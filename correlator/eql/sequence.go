package eql

import (
	"container/heap"
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
	if a == nil && b == nil {
		return 0
	}
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
	// would exceed it, the oldest is evicted and counted. It caps the
	// complete sequences that wait for the end of a trailing missing-event
	// window too.
	MaxPending int
}

// SequenceStats counts what a Sequence did.
type SequenceStats struct {
	Pending   int    // partial sequences held now
	Waiting   int    // complete sequences waiting for a trailing missing-event window to close
	Completed uint64 // sequences that matched
	Evicted   uint64 // partials (or waiting sequences) dropped to respect MaxPending
	Expired   uint64 // partials dropped because maxspan had passed
	Cancelled uint64 // partials dropped by an until event
	Discarded uint64 // complete sequences rejected because a missing event occurred
}

// Match is one completed sequence or sample.
type Match struct {
	// Events are the matched documents in stage order. A missing-event
	// stage has no document: Program.MissingStages says where they stand.
	Events   []event.Document
	JoinKeys []any   // the sequence-wide keys, then the last stage's keys
	End      Ordinal // the ordinal of the last matched event; for samples, of the latest
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
// Missing-event stages (![...]) follow Elasticsearch too: the positive
// stages match as above, and a complete sequence is then rejected when an
// event of a missing stage, with the sequence's join keys, occurs
// strictly between (by @timestamp) the positive events around it. Leading
// and trailing missing stages reject it when such an event lies within the
// maxspan window that holds the sequence: the latest one before the first
// positive event and the first one after the last, as Elasticsearch
// compares them. A sequence with trailing missing stages is reported once
// its window has closed: when a later event of its partition passes it,
// or at Flush.
//
// An event that matches several stages is applied from the last stage to the
// first, so it never advances a sequence it has just started or advanced.
// Events must be fed in Ordinal order per join key for results to equal
// Elasticsearch's; the engine's reorder buffer takes care of that.
//
// A Sequence is not safe for concurrent use.
type Sequence struct {
	spec       *sequenceSpec
	stages     []*stage // the program's distinct stages
	maxPending int
	keys       map[string]*keyState
	all        partialList             // every partial, oldest first (eviction order)
	parts      map[string]*partialList // partials per partition, oldest first (expiry order)
	leads      map[string]*leadRecord  // per key: the latest leading missing events
	leadParts  map[string]*leadList    // leading records per partition, oldest first
	waiting    map[string][]*waiter    // per key: complete sequences waiting on trailing missing stages
	waitParts  map[string]*waiterHeap  // per partition, by deadline
	nWaiting   int
	stats      SequenceStats

	// scratch, reused across Feed calls
	shared []value
	keyBuf []byte
}

type keyState struct {
	slots []*partial // slots[j]: the pending sequence whose last event matched positive stage j
}

type partial struct {
	key     string
	ks      *keyState
	slot    int // index into spec.positive of the last matched stage
	events  []event.Document
	start   time.Time
	last    Ordinal
	part    string
	lead    time.Time // the latest leading missing event before start; zero when none
	miss    time.Time // the first missing event of the gap after slot; zero when none
	discard bool      // a missing event fell between two of its events

	allPrev, allNext   *partial
	partPrev, partNext *partial
	partList           *partialList
}

// partialList is an intrusive doubly-linked list of partials, so that
// keeping a partial in two orders costs no allocation.
type partialList struct {
	head, tail *partial
	n          int
	byPart     bool
}

func (l *partialList) links(p *partial) (prev, next **partial) {
	if l.byPart {
		return &p.partPrev, &p.partNext
	}
	return &p.allPrev, &p.allNext
}

func (l *partialList) pushBack(p *partial) {
	prev, next := l.links(p)
	*prev, *next = l.tail, nil
	if l.tail != nil {
		_, tn := l.links(l.tail)
		*tn = p
	} else {
		l.head = p
	}
	l.tail = p
	l.n++
}

func (l *partialList) remove(p *partial) {
	prev, next := l.links(p)
	if *prev != nil {
		_, pn := l.links(*prev)
		*pn = *next
	} else {
		l.head = *next
	}
	if *next != nil {
		np, _ := l.links(*next)
		*np = *prev
	} else {
		l.tail = *prev
	}
	*prev, *next = nil, nil
	l.n--
}

// leadRecord holds the latest two distinct times of leading missing events
// of one key: the latest strictly before a sequence's first event is
// last, or prev when last is at that very time.
type leadRecord struct {
	key        string
	last, prev time.Time
	part       string
	elem       *leadEntry
}

type leadEntry struct {
	rec  *leadRecord
	at   time.Time
	next *leadEntry
}

type leadList struct{ head, tail *leadEntry }

type waiter struct {
	m        Match
	key      string
	end      time.Time // @timestamp of the last positive event
	deadline time.Time // a trailing missing event after end and at or before this rejects
	part     string
	done     bool
	index    int
}

type waiterHeap []*waiter

func (h waiterHeap) Len() int           { return len(h) }
func (h waiterHeap) Less(i, j int) bool { return h[i].deadline.Before(h[j].deadline) }
func (h waiterHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *waiterHeap) Push(x any) { w := x.(*waiter); w.index = len(*h); *h = append(*h, w) }
func (h *waiterHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return w
}

// NewSequence makes the streaming state machine of a sequence program.
func (p *Program) NewSequence(opts SequenceOptions) (*Sequence, error) {
	if p.seq == nil {
		return nil, errors.New("eql: not a sequence query")
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = DefaultMaxPending
	}
	s := &Sequence{
		spec:       p.seq,
		stages:     p.stages,
		maxPending: opts.MaxPending,
		keys:       map[string]*keyState{},
		all:        partialList{},
		parts:      map[string]*partialList{},
	}
	if p.seq.leading {
		s.leads = map[string]*leadRecord{}
		s.leadParts = map[string]*leadList{}
	}
	if p.seq.trailing {
		s.waiting = map[string][]*waiter{}
		s.waitParts = map[string]*waiterHeap{}
	}
	return s, nil
}

// MissingStages says, per stage of the sequence (runs expanded), whether it
// is a missing-event stage; nil when there is none or the program is not a
// sequence.
func (p *Program) MissingStages() []bool {
	if p.seq == nil || len(p.seq.positive) == len(p.seq.stages) {
		return nil
	}
	return p.seq.missing
}

// Stats returns the counters.
func (s *Sequence) Stats() SequenceStats {
	st := s.stats
	st.Pending = s.all.n
	st.Waiting = s.nWaiting
	return st
}

// Pending is the number of partial and waiting sequences held.
func (s *Sequence) Pending() int { return s.all.n + s.nWaiting }

// Feed applies one event and returns the sequences it completes. partition
// names the event's stream (its host): maxspan expiry of pending sequences
// runs on the event time of the partition that started them, so a host
// whose events run behind does not lose its partials to another host's
// clock.
func (s *Sequence) Feed(d event.Document, ord Ordinal, partition string) []Match {
	cats := documentCategories(d)
	var hits StageSet
	for _, st := range s.stages {
		if st.matches(d, cats) {
			hits |= 1 << uint(st.id)
		}
	}
	return s.FeedStages(d, hits, ord, partition)
}

// FeedStages is Feed for a document whose matching stages the caller has
// already computed with Program.Stages.
func (s *Sequence) FeedStages(d event.Document, hits StageSet, ord Ordinal, partition string) []Match {
	var out []Match
	if s.spec.maxSpan > 0 {
		out = s.Advance(partition, ord.Time, out)
	}
	if hits == 0 {
		return out
	}
	s.shared = s.shared[:0]
	sharedDone, sharedOK := false, true
	shared := func() bool {
		if !sharedDone {
			sharedOK = s.evalShared(d)
			sharedDone = true
		}
		return sharedOK
	}
	spec := s.spec
	n := len(spec.stages)
	if len(spec.positive) < n {
		for k := 0; k < n; k++ {
			st := spec.stages[k]
			if !spec.missing[k] || !hits.Has(st.id) {
				continue
			}
			if !shared() {
				return out
			}
			if s.buildKey(st, d) {
				s.missingEvent(k, ord, partition)
			}
		}
	}
	last := len(spec.positive) - 1
	for j := last; j >= 0; j-- {
		st := spec.stages[spec.positive[j]]
		if !hits.Has(st.id) {
			continue
		}
		if !shared() {
			return out
		}
		if !s.buildKey(st, d) {
			continue
		}
		if j == 0 {
			if p := s.start(d, ord, partition); p != nil && last == 0 {
				out = s.complete(p, st, d, ord, out)
			}
			continue
		}
		ks := s.keys[string(s.keyBuf)]
		if ks == nil {
			continue
		}
		p := ks.slots[j-1]
		if p == nil || p.last.Compare(ord) >= 0 {
			continue
		}
		ks.slots[j-1] = nil
		if spec.maxSpan > 0 && ord.Time.Sub(p.start) > spec.maxSpan {
			s.drop(p)
			s.stats.Expired++
			continue
		}
		if !p.miss.IsZero() && p.miss.Before(ord.Time) {
			// Elasticsearch lets the sequence go on and rejects it once
			// complete: it still takes its place in the machine.
			p.discard = true
		}
		p.miss = time.Time{}
		p.events = append(p.events, d)
		p.last = ord
		if j == last {
			s.drop(p)
			out = s.complete(p, st, d, ord, out)
			continue
		}
		old := ks.slots[j]
		ks.slots[j] = p
		p.slot = j
		if old != nil {
			s.drop(old) // overwritten: the most recent partial wins
		}
	}
	if u := spec.until; u != nil && hits.Has(u.id) && shared() && s.buildKey(u, d) {
		s.cancel(ord)
	}
	return out
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

func keyValues(shared []value, st *stage, d event.Document) []any {
	out := make([]any, 0, len(shared)+len(st.keys))
	for _, v := range shared {
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

// start begins a sequence at the first positive stage, for the key in
// s.keyBuf. It returns the new partial; when the sequence has a single
// positive stage the caller completes it at once and it is kept nowhere.
func (s *Sequence) start(d event.Document, ord Ordinal, partition string) *partial {
	key := string(s.keyBuf)
	single := len(s.spec.positive) == 1
	events := make([]event.Document, 1, len(s.spec.positive))
	events[0] = d
	p := &partial{key: key, events: events, start: ord.Time, last: ord, part: partition}
	if s.leads != nil {
		if r := s.leads[key]; r != nil {
			switch {
			case r.last.Before(ord.Time):
				p.lead = r.last
			case r.prev.Before(ord.Time):
				p.lead = r.prev
			}
		}
	}
	if single {
		return p
	}
	if ks := s.keys[key]; ks != nil && ks.slots[0] != nil {
		s.drop(ks.slots[0])
	}
	for s.all.n >= s.maxPending {
		s.drop(s.all.head)
		s.stats.Evicted++
	}
	ks := s.keys[key]
	if ks == nil {
		ks = &keyState{slots: make([]*partial, len(s.spec.positive)-1)}
		s.keys[key] = ks
	}
	p.ks = ks
	ks.slots[0] = p
	s.all.pushBack(p)
	pl := s.parts[partition]
	if pl == nil {
		pl = &partialList{byPart: true}
		s.parts[partition] = pl
	}
	pl.pushBack(p)
	p.partList = pl
	return p
}

// complete decides what becomes of a sequence whose positive stages have
// all matched: rejected by a missing event, reported, or held until its
// trailing missing-event window closes.
func (s *Sequence) complete(p *partial, st *stage, d event.Document, ord Ordinal, out []Match) []Match {
	spec := s.spec
	if p.discard {
		s.stats.Discarded++
		return out
	}
	m := Match{Events: p.events, JoinKeys: keyValues(s.shared, st, d), End: ord}
	if !spec.trailing {
		if spec.leading && !p.lead.IsZero() && ord.Time.Sub(p.lead) <= spec.maxSpan {
			s.stats.Discarded++
			return out
		}
		s.stats.Completed++
		return append(out, m)
	}
	var deadline time.Time
	switch {
	case !spec.leading:
		deadline = p.start.Add(spec.maxSpan)
	case p.lead.IsZero():
		// Nothing missing before: a window ending at the last event holds
		// the sequence and none of the trailing events.
		s.stats.Completed++
		return append(out, m)
	default:
		deadline = p.lead.Add(spec.maxSpan)
	}
	if !deadline.After(ord.Time) {
		s.stats.Completed++
		return append(out, m)
	}
	if s.nWaiting >= s.maxPending {
		s.evictWaiter()
	}
	w := &waiter{m: m, key: p.key, end: ord.Time, deadline: deadline, part: p.part}
	s.waiting[w.key] = append(s.waiting[w.key], w)
	h := s.waitParts[w.part]
	if h == nil {
		h = &waiterHeap{}
		s.waitParts[w.part] = h
	}
	heap.Push(h, w)
	s.nWaiting++
	return out
}

// evictWaiter drops the waiting sequence with the earliest deadline.
func (s *Sequence) evictWaiter() {
	var oldest *waiter
	for _, h := range s.waitParts {
		if h.Len() > 0 && (oldest == nil || (*h)[0].deadline.Before(oldest.deadline)) {
			oldest = (*h)[0]
		}
	}
	if oldest == nil {
		return
	}
	s.removeWaiter(oldest)
	s.stats.Evicted++
}

func (s *Sequence) removeWaiter(w *waiter) {
	w.done = true
	if h := s.waitParts[w.part]; h != nil && w.index < h.Len() && (*h)[w.index] == w {
		heap.Remove(h, w.index)
		if h.Len() == 0 {
			delete(s.waitParts, w.part)
		}
	}
	ws := s.waiting[w.key]
	for i, x := range ws {
		if x == w {
			ws = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(s.waiting, w.key)
	} else {
		s.waiting[w.key] = ws
	}
	s.nWaiting--
}

// missingEvent records an event of missing stage k whose key is in
// s.keyBuf.
func (s *Sequence) missingEvent(k int, ord Ordinal, partition string) {
	spec := s.spec
	gap := spec.gap[k]
	switch {
	case gap < 0:
		s.recordLead(ord.Time, partition)
	case gap == len(spec.positive)-1:
		var rejected []*waiter
		for _, w := range s.waiting[string(s.keyBuf)] {
			if ord.Time.After(w.end) && !ord.Time.After(w.deadline) {
				rejected = append(rejected, w)
			}
		}
		for _, w := range rejected {
			s.removeWaiter(w)
			s.stats.Discarded++
		}
	default:
		ks := s.keys[string(s.keyBuf)]
		if ks == nil || gap >= len(ks.slots) {
			return
		}
		if p := ks.slots[gap]; p != nil && p.miss.IsZero() && p.last.Time.Before(ord.Time) {
			p.miss = ord.Time
		}
	}
}

func (s *Sequence) recordLead(at time.Time, partition string) {
	key := string(s.keyBuf)
	r := s.leads[key]
	if r == nil {
		if len(s.leads) >= s.maxPending {
			s.evictLead(partition)
		}
		r = &leadRecord{key: key, last: at, part: partition}
		s.leads[key] = r
	} else if at.After(r.last) {
		r.prev, r.last = r.last, at
	} else {
		return
	}
	r.part = partition
	l := s.leadParts[partition]
	if l == nil {
		l = &leadList{}
		s.leadParts[partition] = l
	}
	e := &leadEntry{rec: r, at: at}
	r.elem = e
	if l.tail == nil {
		l.head = e
	} else {
		l.tail.next = e
	}
	l.tail = e
}

// Advance moves a partition's clock to now (event time): it drops the
// partials of the partition whose maxspan has passed and reports the
// waiting sequences whose trailing window closed before now. Feed calls it;
// call it directly to let a quiet partition's time pass.
func (s *Sequence) Advance(partition string, now time.Time, out []Match) []Match {
	if s.spec.maxSpan <= 0 {
		return out
	}
	s.expire(partition, now)
	if s.leadParts != nil {
		s.expireLeads(partition, now)
	}
	if h := s.waitParts[partition]; h != nil {
		for h.Len() > 0 && (*h)[0].deadline.Before(now) {
			w := (*h)[0]
			s.removeWaiter(w)
			s.stats.Completed++
			out = append(out, w.m)
		}
	}
	return out
}

// WaitingPartitions lists the partitions that have sequences waiting for a
// trailing missing-event window to close.
func (s *Sequence) WaitingPartitions() []string {
	out := make([]string, 0, len(s.waitParts))
	for p := range s.waitParts {
		out = append(out, p)
	}
	return out
}

// Flush reports every sequence still waiting on trailing missing stages:
// at the end of the input no event can reject them any more.
func (s *Sequence) Flush() []Match {
	var ws []*waiter
	for _, h := range s.waitParts {
		ws = append(ws, *h...)
	}
	sortWaiters(ws)
	var out []Match
	for _, w := range ws {
		s.removeWaiter(w)
		s.stats.Completed++
		out = append(out, w.m)
	}
	return out
}

// sortWaiters puts waiting sequences in the order Elasticsearch reports
// sequences: by their last event.
func sortWaiters(ws []*waiter) {
	for i := 1; i < len(ws); i++ {
		for j := i; j > 0 && ws[j].m.End.Compare(ws[j-1].m.End) < 0; j-- {
			ws[j], ws[j-1] = ws[j-1], ws[j]
		}
	}
}

// evictLead forgets the oldest leading missing event, of the partition at
// hand when it has one: a sequence it would have rejected may then be
// reported.
func (s *Sequence) evictLead(partition string) {
	l := s.leadParts[partition]
	if l == nil || l.head == nil {
		for p, pl := range s.leadParts {
			l, partition = pl, p
			break
		}
	}
	for l != nil && l.head != nil {
		e := l.head
		l.head = e.next
		if l.head == nil {
			l.tail = nil
			delete(s.leadParts, partition)
		}
		if e.rec.elem == e {
			delete(s.leads, e.rec.key)
			s.stats.Evicted++
			return
		}
	}
}

func (s *Sequence) expireLeads(partition string, now time.Time) {
	l := s.leadParts[partition]
	for l != nil && l.head != nil && now.Sub(l.head.at) > s.spec.maxSpan {
		e := l.head
		l.head = e.next
		if l.head == nil {
			l.tail = nil
			delete(s.leadParts, partition)
		}
		// A record also listed later (a newer event) stays until then.
		if e.rec.elem == e {
			delete(s.leads, e.rec.key)
		}
	}
}

// drop forgets a partial everywhere it is referenced.
func (s *Sequence) drop(p *partial) {
	if p.ks == nil {
		return
	}
	if p.ks.slots[p.slot] == p {
		p.ks.slots[p.slot] = nil
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
	s.all.remove(p)
	if pl := p.partList; pl != nil {
		pl.remove(p)
		if pl.n == 0 && s.parts[p.part] == pl {
			delete(s.parts, p.part)
		}
	}
	p.ks = nil
}

// expire drops the partials of a partition whose maxspan has passed by now.
// Partials are kept in start order per partition, so it stops at the first
// one still alive.
func (s *Sequence) expire(partition string, now time.Time) {
	pl := s.parts[partition]
	for pl != nil && pl.head != nil {
		p := pl.head
		if now.Sub(p.start) <= s.spec.maxSpan {
			return
		}
		s.drop(p)
		s.stats.Expired++
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
