package correlator

import (
	"container/list"
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/correlator/eql"
	"github.com/weft-dev/weft/correlator/reorder"
	"github.com/weft-dev/weft/event"
)

// Batch as Options.Lateness holds every document until Flush and then
// evaluates them in time order: the mode for a finite input such as a folder
// of EVTX backups.
const Batch = reorder.HoldAll

// Defaults for zero Options fields.
const (
	DefaultMaxBuffered    = 1_000_000
	DefaultPartitionField = "host.id"
)

// Options tune an Engine.
type Options struct {
	// Lateness is how late (in event time, behind the latest event of the
	// same host) a document may arrive and still be evaluated in order.
	// Documents are held that long; Batch holds them until Flush. Even with
	// zero, the newest documents of a host wait for a later one (or Tick, or
	// Flush), since another with the same @timestamp may still arrive.
	Lateness time.Duration
	// IdleTimeout: Tick releases the held documents of a host that has sent
	// nothing for this long (processing time). Zero means Lateness.
	IdleTimeout time.Duration
	// MaxPending caps the partial sequences per rule (0: eql.DefaultMaxPending).
	MaxPending int
	// MaxBuffered caps the documents held for reordering (0: DefaultMaxBuffered).
	MaxBuffered int
	// Now is the clock for event.created and idle detection (nil: time.Now).
	Now func() time.Time
	// Tiebreaker names a field that orders documents with equal @timestamp,
	// before arrival order (for example winlog.record_id).
	Tiebreaker string
	// PartitionField names the field that says which stream (host) a
	// document belongs to; documents without it use host.name. Empty means
	// DefaultPartitionField.
	PartitionField string
	// Log gets the alerts max_signals suppressed, per rule and host, a few
	// lines per interval however many (the zero Logger: not logged).
	Log zerolog.Logger
}

// Stats counts what an Engine did. Counters only grow; Buffered, Pending
// and Waiting are current levels.
type Stats struct {
	Received   uint64 // documents given to Process
	Unmatched  uint64 // documents no rule had a use for, dropped at once
	Invalid    uint64 // documents a rule would use but without a usable @timestamp, skipped
	Evaluated  uint64 // documents fed to the rules in event-time order
	Late       uint64 // documents that arrived later than Lateness allows
	Forced     uint64 // documents released early because the buffer was full
	Buffered   int    // documents held for reordering now
	Pending    int    // partial sequences (and sample keys) held now, all rules
	Waiting    int    // complete sequences waiting for a trailing missing-event window
	Evicted    uint64 // partial sequences dropped to respect MaxPending
	Expired    uint64 // partial sequences dropped after maxspan
	Cancelled  uint64 // partial sequences ended by an until event
	Discarded  uint64 // complete sequences rejected because a missing event occurred
	Alerts     uint64 // alerts raised
	Suppressed uint64 // alerts over a rule's max_signals (or head) per host and interval, dropped
	Forgotten  uint64 // hosts whose max_signals counts were forgotten to bound memory
	Rules      []RuleStats
}

// RuleStats are one rule's counters.
type RuleStats struct {
	ID, Name   string
	Alerts     uint64
	Suppressed uint64
	Forgotten  uint64
	Pending    int
	Waiting    int
	Evicted    uint64
	Expired    uint64
	Cancelled  uint64
	Discarded  uint64
}

// Engine runs rules over a stream of ECS documents: it puts each host's
// documents back into event-time order (within Options.Lateness), runs event
// queries, sequence and sample state machines, and builds alerts.
//
// Every rule's filters are evaluated when a document arrives, before any
// buffering: the document is dropped at once, without an allocation, when
// no rule can use it, and otherwise carries which filters it matched, so no
// filter is evaluated twice. Only the documents some rule uses are held
// for reordering.
//
// An Engine is not safe for concurrent use: call it from one goroutine.
type Engine struct {
	opts       Options
	rules      []*ruleState
	byCategory map[string][]int
	anyRules   []int
	// sigma indexes Sigma rules by channel and event ID (sigmarules.go).
	sigma      sigmaIndex
	timed      []int // sequence rules with a maxspan, whose state expires with time
	corrs      []int // Sigma correlations, whose windows close with time
	buf        *reorder.Buffer[*pending]
	partition  *eql.Expression
	fallback   *eql.Expression
	tiebreaker *eql.Expression
	seq        uint64
	stats      Stats
	out        []event.Alert
	candidates []int
	hits       []ruleHit
	mark       []uint64 // per rule: the round that last selected it
	round      uint64
	clocks     map[string]partClock // per partition: the latest event evaluated
	fields     *eql.FieldCache      // field lookups shared by the rules' conditions
	suppressed suppressionLog
}

type ruleState struct {
	rule     *Rule
	meta     event.Rule
	prog     *eql.Program
	seq      *eql.Sequence
	sample   *eql.Sample
	corr     *corrNode // a Sigma correlation's state (sigmacorr.go)
	throttle throttle
	alerts   uint64
}

// ruleHit is a rule and the filters of its query a document matched.
type ruleHit struct {
	rule   int
	stages eql.StageSet
}

// partClock is where a partition's event time stood at a processing time.
type partClock struct {
	event, arrival time.Time
}

// pending is a document waiting in the reorder buffer.
type pending struct {
	doc  event.Document
	ord  eql.Ordinal
	part string
	hits []ruleHit
}

func lessPending(a, b *pending) bool { return a.ord.Compare(b.ord) < 0 }

// Compile builds an engine for the rules. Rules made by ParseRule or
// LoadRules are already compiled; others are compiled here.
func Compile(rules []*Rule, opts Options) (*Engine, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxBuffered <= 0 {
		opts.MaxBuffered = DefaultMaxBuffered
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = max(opts.Lateness, 0)
	}
	if opts.PartitionField == "" {
		opts.PartitionField = DefaultPartitionField
	}
	e := &Engine{opts: opts, byCategory: map[string][]int{}, clocks: map[string]partClock{}, fields: takeCache(rules)}
	var err error
	if e.partition, err = eql.CompileField(opts.PartitionField); err != nil {
		return nil, fmt.Errorf("partition field: %w", err)
	}
	if e.fallback, err = eql.CompileField("host.name"); err != nil {
		return nil, err
	}
	if opts.Tiebreaker != "" {
		if e.tiebreaker, err = eql.CompileField(opts.Tiebreaker); err != nil {
			return nil, fmt.Errorf("tiebreaker field: %w", err)
		}
	}
	var errs []error
	taken := map[*eql.Program]bool{}
	for _, r := range rules {
		if r.program == nil {
			if err := r.validate(); err != nil {
				errs = append(errs, fmt.Errorf("rule %q: %w", r.Name, err))
				continue
			}
			prog, err := eql.CompileString(r.Query)
			if err == nil {
				err = streamable(prog)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("rule %q: query: %w", r.Name, err))
				continue
			}
			r.program = prog
		}
		prog := r.program
		if prog.Cache() != e.fields || taken[prog] {
			prog = nil
		}
		taken[r.program] = true
		rs, err := newRuleState(r, prog, opts, e.fields)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %q: %w", r.Name, err))
			continue
		}
		idx := len(e.rules)
		e.rules = append(e.rules, rs)
		if rs.seq != nil && r.program.MaxSpan() > 0 {
			e.timed = append(e.timed, idx)
		}
		if rs.corr != nil {
			e.corrs = append(e.corrs, idx)
		}
		if e.sigma.add(r, idx) {
			continue
		}
		cats, anyCat := r.program.Categories()
		if anyCat {
			e.anyRules = append(e.anyRules, idx)
			continue
		}
		for _, c := range cats {
			e.byCategory[c] = append(e.byCategory[c], idx)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	e.mark = make([]uint64, len(e.rules))
	e.buf = reorder.New(opts.Lateness, opts.MaxBuffered, lessPending)
	return e, nil
}

// takeCache returns the field cache the rules' programs were compiled
// with (LoadRulesWith) when they are all the programs compiled with it and
// no engine has it yet, so that the engine runs them as they are; else a
// new cache.
func takeCache(rules []*Rule) *eql.FieldCache {
	var cache *eql.FieldCache
	progs := map[*eql.Program]bool{}
	for _, r := range rules {
		if r.program == nil || r.program.Cache() == nil {
			continue
		}
		switch c := r.program.Cache(); {
		case cache == nil:
			cache = c
		case c != cache:
			return eql.NewFieldCache()
		}
		progs[r.program] = true
	}
	// Every program compiled with the cache registered its patterns with
	// its shared search: a cache with programs not given would search
	// for theirs on every document.
	if cache != nil && len(progs) == cache.Programs() && cache.Claim() {
		return cache
	}
	return eql.NewFieldCache()
}

// newRuleState makes the state of a rule running prog, compiled with the
// engine's field cache so that rules testing the same fields of a
// document look them up once. A nil prog compiles the rule's query with
// fields.
func newRuleState(r *Rule, prog *eql.Program, opts Options, fields *eql.FieldCache) (*ruleState, error) {
	var err error
	if prog == nil {
		if prog, err = eql.CompileCached(r.program.Query(), fields); err != nil {
			return nil, err
		}
	}
	limit := r.MaxSignals
	for _, p := range prog.Pipes() {
		if p.Kind == eql.PipeHead {
			limit = min(limit, p.N)
		}
	}
	rs := &ruleState{rule: r, meta: r.EventRule(), prog: prog, throttle: throttle{interval: r.Interval, max: limit}}
	switch {
	case r.corr != nil:
		// The program only says which base rules a document matched.
		rs.corr, err = newCorrNode(r.corr, opts)
	case prog.IsSequence():
		rs.seq, err = prog.NewSequence(eql.SequenceOptions{MaxPending: opts.MaxPending})
	case prog.IsSample():
		rs.sample, err = prog.NewSample(eql.SampleOptions{MaxKeys: opts.MaxPending, Batch: opts.Lateness < 0})
	}
	return rs, err
}

// streamable rejects what a rule cannot do on a stream: "tail" needs the
// end of the input. head N limits a rule's alerts per interval, as a
// scheduled Kibana rule returns at most N results per run.
func streamable(p *eql.Program) error {
	for _, pipe := range p.Pipes() {
		if pipe.Kind == eql.PipeTail {
			line, col := eql.Position(p.Query().Source, pipe.Pos)
			return &eql.SyntaxError{Line: line, Column: col, Offset: pipe.Pos,
				Msg: "tail needs the end of the input and cannot run on a stream; use head, or run the query with weft eql"}
		}
	}
	return nil
}

// Process takes one document. It may hold it for reordering; it returns the
// alerts of the documents released by this call.
func (e *Engine) Process(doc event.Document) []event.Alert {
	e.stats.Received++
	e.fields.Next()
	cats := eql.CategoriesOf(doc)
	e.round++
	e.candidates = e.candidates[:0]
	e.addCandidates(e.anyRules)
	cats.Each(func(c string) { e.addCandidates(e.byCategory[c]) })
	e.sigma.candidates(doc, e.addCandidates)
	if len(e.candidates) > 1 {
		slices.Sort(e.candidates)
	}
	e.hits = e.hits[:0]
	for _, i := range e.candidates {
		if set := e.rules[i].prog.Stages(doc, cats); set != 0 {
			e.hits = append(e.hits, ruleHit{rule: i, stages: set})
		}
	}
	if len(e.hits) == 0 {
		e.stats.Unmatched++
		return e.advance(doc)
	}
	ts, ok := eql.Timestamp(doc)
	if !ok {
		e.stats.Invalid++
		return nil
	}
	p := &pending{doc: doc, part: e.partitionOf(doc), ord: eql.Ordinal{Time: ts, Seq: e.seq}, hits: slices.Clone(e.hits)}
	e.seq++
	if e.tiebreaker != nil {
		p.ord.Tiebreaker = e.tiebreaker.Eval(doc)
	}
	e.out = nil
	e.buf.Push(p.part, ts, e.opts.Now(), p, e.evaluate)
	return e.out
}

// advance lets a document no rule wants still move its host's event-time
// clock, so the host's held documents are evaluated as soon as the
// lateness has passed in event time. It costs a partition lookup only while
// documents are held, and a timestamp parse only when that host holds some.
func (e *Engine) advance(doc event.Document) []event.Alert {
	if e.opts.Lateness < 0 || e.buf.Stats().Buffered == 0 {
		return nil
	}
	part := e.partitionOf(doc)
	if !e.buf.Holds(part) {
		return nil
	}
	ts, ok := eql.Timestamp(doc)
	if !ok {
		return nil
	}
	e.out = nil
	e.buf.Advance(part, ts, e.opts.Now(), e.evaluate)
	return e.out
}

func (e *Engine) addCandidates(idx []int) {
	for _, i := range idx {
		if e.mark[i] != e.round {
			e.mark[i] = e.round
			e.candidates = append(e.candidates, i)
		}
	}
}

// Tick releases the held documents of hosts that have been quiet for
// Options.IdleTimeout and returns their alerts. It also closes the
// trailing missing-event windows of quiet hosts: a host's event time is
// taken to have moved on as much as the clock has since its last event,
// less the lateness. Call it periodically on a live stream; it does nothing
// in Batch mode.
func (e *Engine) Tick() []event.Alert {
	if e.opts.Lateness < 0 {
		return nil
	}
	e.out = nil
	now := e.opts.Now()
	e.buf.ReleaseIdle(now, e.opts.IdleTimeout, e.evaluate)
	for _, i := range e.timed {
		rs := e.rules[i]
		for _, part := range rs.seq.WaitingPartitions() {
			c, ok := e.clocks[part]
			if !ok {
				continue
			}
			elapsed := now.Sub(c.arrival) - e.opts.Lateness
			if elapsed <= 0 {
				continue
			}
			for _, m := range rs.seq.Advance(part, c.event.Add(elapsed), nil) {
				e.raise(rs, m.Events, m.JoinKeys, m.End.Time)
			}
		}
	}
	for _, i := range e.corrs {
		rs := e.rules[i]
		parts := map[string]bool{}
		rs.corr.partitions(parts)
		for _, part := range slices.Sorted(maps.Keys(parts)) {
			c, ok := e.clocks[part]
			if !ok {
				continue
			}
			elapsed := now.Sub(c.arrival) - e.opts.Lateness
			if elapsed <= 0 {
				continue
			}
			for _, m := range rs.corr.advance(part, c.event.Add(elapsed), nil) {
				e.raiseCorr(rs, m)
			}
		}
	}
	if !e.suppressed.last.IsZero() && now.Sub(e.suppressed.last) >= suppressionLogInterval {
		e.suppressed.flush(now, e.opts.Log)
	}
	return e.out
}

// Flush releases every held document in time order, closes every pending
// missing-event window and batch sample, and returns the alerts: call it
// at the end of the input.
func (e *Engine) Flush() []event.Alert {
	e.out = nil
	e.buf.Flush(e.evaluate)
	for _, rs := range e.rules {
		var ms []eql.Match
		switch {
		case rs.seq != nil:
			ms = rs.seq.Flush()
		case rs.sample != nil && e.opts.Lateness < 0:
			ms = rs.sample.Results()
		case rs.corr != nil:
			for _, m := range rs.corr.flush(nil) {
				e.raiseCorr(rs, m)
			}
		}
		for _, m := range ms {
			e.raise(rs, m.Events, m.JoinKeys, m.End.Time)
		}
	}
	e.suppressed.flush(e.opts.Now(), e.opts.Log)
	return e.out
}

// Stats returns the counters.
func (e *Engine) Stats() Stats {
	s := e.stats
	bs := e.buf.Stats()
	s.Buffered, s.Late, s.Forced = bs.Buffered, bs.Late, bs.Forced
	s.Rules = make([]RuleStats, len(e.rules))
	for i, rs := range e.rules {
		st := RuleStats{ID: rs.rule.ID, Name: rs.rule.Name, Alerts: rs.alerts, Suppressed: rs.throttle.suppressed, Forgotten: rs.throttle.forgotten}
		switch {
		case rs.seq != nil:
			q := rs.seq.Stats()
			st.Pending, st.Waiting, st.Evicted, st.Expired, st.Cancelled, st.Discarded = q.Pending, q.Waiting, q.Evicted, q.Expired, q.Cancelled, q.Discarded
		case rs.sample != nil:
			q := rs.sample.Stats()
			st.Pending, st.Evicted = q.Keys, q.Evicted
		case rs.corr != nil:
			st.Pending = rs.corr.pending()
			st.Evicted, st.Expired = rs.corr.stats()
		}
		s.Rules[i] = st
		s.Pending += st.Pending
		s.Waiting += st.Waiting
		s.Evicted += st.Evicted
		s.Expired += st.Expired
		s.Cancelled += st.Cancelled
		s.Discarded += st.Discarded
		s.Suppressed += st.Suppressed
		s.Forgotten += st.Forgotten
	}
	return s
}

// Rules returns the rules the engine runs.
func (e *Engine) Rules() []*Rule {
	out := make([]*Rule, len(e.rules))
	for i, rs := range e.rules {
		out[i] = rs.rule
	}
	return out
}

// MaxSpan is the longest maxspan of the engine's sequence rules, and the
// longest span of its Sigma correlations (their timespans, chained ones
// added up): how far back in a partition's events pending state can reach.
func (e *Engine) MaxSpan() time.Duration {
	var m time.Duration
	for _, rs := range e.rules {
		m = max(m, rs.prog.MaxSpan())
		if rs.corr != nil {
			m = max(m, rs.corr.p.plan.Span())
		}
	}
	return m
}

func (e *Engine) partitionOf(doc event.Document) string {
	if s, ok := e.partition.EvalString(doc); ok && s != "" {
		return s
	}
	s, _ := e.fallback.EvalString(doc)
	return s
}

// evaluate feeds a released document to the rules it matched, in rule
// order, after letting time pass for the partition's timed sequences.
func (e *Engine) evaluate(p *pending) {
	e.stats.Evaluated++
	if e.opts.Lateness >= 0 {
		e.clocks[p.part] = partClock{event: p.ord.Time, arrival: e.opts.Now()}
	}
	for _, i := range e.timed {
		rs := e.rules[i]
		if rs.seq.Pending() == 0 {
			continue
		}
		for _, m := range rs.seq.Advance(p.part, p.ord.Time, nil) {
			e.raise(rs, m.Events, m.JoinKeys, m.End.Time)
		}
	}
	for _, i := range e.corrs {
		rs := e.rules[i]
		if rs.corr.pending() == 0 {
			continue
		}
		for _, m := range rs.corr.advance(p.part, p.ord.Time, nil) {
			e.raiseCorr(rs, m)
		}
	}
	for _, h := range p.hits {
		rs := e.rules[h.rule]
		switch {
		case rs.corr != nil:
			for _, m := range rs.corr.feed(p.doc, h.stages, p.ord, p.part, nil) {
				e.raiseCorr(rs, m)
			}
		case rs.seq != nil:
			for _, m := range rs.seq.FeedStages(p.doc, h.stages, p.ord, p.part) {
				e.raise(rs, m.Events, m.JoinKeys, p.ord.Time)
			}
		case rs.sample != nil:
			for _, m := range rs.sample.FeedStages(p.doc, h.stages, p.ord) {
				e.raise(rs, m.Events, m.JoinKeys, p.ord.Time)
			}
		default:
			e.raise(rs, []event.Document{p.doc}, nil, p.ord.Time)
		}
	}
}

// raiseCorr raises a Sigma correlation's alert, its message saying what
// was counted in which group.
func (e *Engine) raiseCorr(rs *ruleState, m corrMatch) {
	n := len(e.out)
	e.raise(rs, m.events, m.keys, m.end.Time)
	if len(e.out) > n {
		e.out[n].Message = corrReason(rs.rule, rs.corr.p, m)
	}
}

func (e *Engine) raise(rs *ruleState, docs []event.Document, keys []any, at time.Time) {
	last := docs[len(docs)-1]
	host := e.partitionOf(last)
	if !rs.throttle.allow(host, at) {
		// Logged by name, which people read, rather than by host.id.
		if name, ok := e.fallback.EvalString(last); ok && name != "" {
			host = name
		}
		e.suppressed.add(rs, host, e.opts.Now(), e.opts.Log)
		return
	}
	rs.alerts++
	e.stats.Alerts++
	e.out = append(e.out, buildAlert(rs, docs, keys, at, e.opts.Now()))
}

// throttle applies a rule's max_signals per host (the document's
// partition, as for ordering) per interval, so that a flood of alerts
// from hosts an attacker invents cannot use up the limit of the host under
// attack. Windows are aligned intervals of event time (the alert's
// @timestamp), not of wall-clock time, so a replay of old logs is limited
// the same way a live run was.
//
// The hosts are bounded: beyond maxThrottleHosts, the host that alerted
// least recently is forgotten (counted), which can only let that host
// alert again within its window, never suppress another's alert.
type throttle struct {
	interval   time.Duration
	max        int
	seed       maphash.Seed
	hosts      map[uint64]*list.Element // of *hostWindows, least recent first
	lru        list.List
	suppressed uint64
	forgotten  uint64
}

// hostWindows counts one host's alerts in its latest windows. Hosts are
// known by a hash of their name: an event chooses the name, and its
// length must not decide the throttle's memory.
type hostWindows struct {
	key    uint64
	window [throttleWindows]int64
	count  [throttleWindows]int
}

const (
	// maxThrottleHosts bounds the hosts remembered per rule.
	maxThrottleHosts = 4096
	// throttleWindows is how many windows are remembered per host; an
	// alert older than all of them (a host far out of order) is let
	// through.
	throttleWindows = 4
)

func (t *throttle) allow(host string, at time.Time) bool {
	if t.interval <= 0 || t.max <= 0 {
		return true
	}
	if t.hosts == nil {
		t.seed = maphash.MakeSeed()
		t.hosts = map[uint64]*list.Element{}
	}
	w := at.UnixNano() / int64(t.interval)
	if at.UnixNano() < 0 && at.UnixNano()%int64(t.interval) != 0 {
		w--
	}
	key := maphash.String(t.seed, host)
	el, ok := t.hosts[key]
	if ok {
		t.lru.MoveToBack(el)
	} else {
		if len(t.hosts) >= maxThrottleHosts {
			oldest := t.lru.Front()
			delete(t.hosts, oldest.Value.(*hostWindows).key)
			t.lru.Remove(oldest)
			t.forgotten++
		}
		el = t.lru.PushBack(&hostWindows{key: key})
		t.hosts[key] = el
	}
	h := el.Value.(*hostWindows)
	for i := range throttleWindows {
		if h.count[i] > 0 && h.window[i] == w {
			if h.count[i] >= t.max {
				t.suppressed++
				return false
			}
			h.count[i]++
			return true
		}
	}
	// A new window takes a free slot, else the oldest window's.
	slot := 0
	for i := range throttleWindows {
		if h.count[i] == 0 {
			slot = i
			break
		}
		if h.window[i] < h.window[slot] {
			slot = i
		}
	}
	if h.count[slot] > 0 && h.window[slot] > w {
		return true // older than every window remembered
	}
	h.window[slot], h.count[slot] = w, 1
	return true
}

// suppressionLog gathers the alerts max_signals suppressed and logs them
// per rule, with the hosts they came from: at once the first time, then at
// most once per suppressionLogInterval of processing time (on a later
// suppression, Tick or Flush), so a flood makes a few lines, not one per
// alert.
type suppressionLog struct {
	last  time.Time
	rules []*suppressedRule // in the order they were first suppressed
}

type suppressedRule struct {
	rs    *ruleState
	total uint64
	hosts []suppressedHost
	other uint64 // alerts of hosts beyond maxLoggedHosts
}

type suppressedHost struct {
	name string
	n    uint64
}

const (
	suppressionLogInterval = 10 * time.Second
	// maxLoggedHosts bounds the hosts named per rule and log line.
	maxLoggedHosts = 10
	// maxLoggedHostLen shortens host names in the log, which events choose.
	maxLoggedHostLen = 256
)

func (s *suppressionLog) add(rs *ruleState, host string, now time.Time, log zerolog.Logger) {
	i := slices.IndexFunc(s.rules, func(r *suppressedRule) bool { return r.rs == rs })
	if i < 0 {
		s.rules = append(s.rules, &suppressedRule{rs: rs})
		i = len(s.rules) - 1
	}
	r := s.rules[i]
	r.total++
	switch j := slices.IndexFunc(r.hosts, func(h suppressedHost) bool { return h.name == host }); {
	case j >= 0:
		r.hosts[j].n++
	case len(r.hosts) < maxLoggedHosts:
		r.hosts = append(r.hosts, suppressedHost{name: host, n: 1})
	default:
		r.other++
	}
	if s.last.IsZero() || now.Sub(s.last) >= suppressionLogInterval {
		s.flush(now, log)
	}
}

// flush logs what was suppressed since the last flush.
func (s *suppressionLog) flush(now time.Time, log zerolog.Logger) {
	if len(s.rules) == 0 {
		return
	}
	for _, r := range s.rules {
		hosts := zerolog.Dict()
		for _, h := range r.hosts {
			name := h.name
			if len(name) > maxLoggedHostLen {
				name = strings.ToValidUTF8(name[:maxLoggedHostLen], "") + "…"
			}
			hosts.Uint64(name, h.n)
		}
		ev := log.Warn().Str("rule", r.rs.rule.ID).Str("rule_name", r.rs.rule.Name).
			Int("max_signals", r.rs.throttle.max).Str("interval", r.rs.throttle.interval.String()).
			Uint64("suppressed", r.total).Dict("hosts", hosts)
		if r.other > 0 {
			ev = ev.Uint64("other_hosts_suppressed", r.other)
		}
		ev.Msg("alerts suppressed by max_signals (per rule and host)")
	}
	s.rules = s.rules[:0]
	s.last = now
}
