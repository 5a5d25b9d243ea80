package correlator

import (
	"errors"
	"fmt"
	"slices"
	"time"

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
}

// Stats counts what an Engine did. Counters only grow; Buffered and Pending
// are current levels.
type Stats struct {
	Received   uint64 // documents given to Process
	Invalid    uint64 // documents without a usable @timestamp, skipped
	Evaluated  uint64 // documents run against the rules
	Late       uint64 // documents that arrived later than Lateness allows
	Forced     uint64 // documents released early because the buffer was full
	Buffered   int    // documents held for reordering now
	Pending    int    // partial sequences held now, all rules
	Evicted    uint64 // partial sequences dropped to respect MaxPending
	Expired    uint64 // partial sequences dropped after maxspan
	Cancelled  uint64 // partial sequences ended by an until event
	Alerts     uint64 // alerts raised
	Suppressed uint64 // alerts over a rule's max_signals per interval, dropped
	Rules      []RuleStats
}

// RuleStats are one rule's counters.
type RuleStats struct {
	ID, Name   string
	Alerts     uint64
	Suppressed uint64
	Pending    int
	Evicted    uint64
	Expired    uint64
	Cancelled  uint64
}

// Engine runs rules over a stream of ECS documents: it puts each host's
// documents back into event-time order (within Options.Lateness), runs event
// queries and sequence state machines, and builds alerts.
//
// An Engine is not safe for concurrent use: call it from one goroutine.
type Engine struct {
	opts       Options
	rules      []*ruleState
	byCategory map[string][]int
	anyRules   []int
	buf        *reorder.Buffer[*pending]
	partition  *eql.Expression
	fallback   *eql.Expression
	tiebreaker *eql.Expression
	seq        uint64
	stats      Stats
	out        []event.Alert
	candidates []int
	seen       []uint64 // per rule: the evaluation that last selected it
}

type ruleState struct {
	rule     *Rule
	meta     event.Rule
	seq      *eql.Sequence
	throttle throttle
	alerts   uint64
}

// pending is a document waiting in the reorder buffer.
type pending struct {
	doc  event.Document
	ord  eql.Ordinal
	part string
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
	e := &Engine{opts: opts, byCategory: map[string][]int{}}
	var err error
	if e.partition, err = fieldExpr(opts.PartitionField); err != nil {
		return nil, fmt.Errorf("partition field: %w", err)
	}
	if e.fallback, err = fieldExpr("host.name"); err != nil {
		return nil, err
	}
	if opts.Tiebreaker != "" {
		if e.tiebreaker, err = fieldExpr(opts.Tiebreaker); err != nil {
			return nil, fmt.Errorf("tiebreaker field: %w", err)
		}
	}
	var errs []error
	for _, r := range rules {
		if r.program == nil {
			if err := r.validate(); err != nil {
				errs = append(errs, fmt.Errorf("rule %q: %w", r.Name, err))
				continue
			}
			prog, err := eql.CompileString(r.Query)
			if err != nil {
				errs = append(errs, fmt.Errorf("rule %q: query: %w", r.Name, err))
				continue
			}
			r.program = prog
		}
		rs := &ruleState{rule: r, meta: r.EventRule(), throttle: throttle{interval: r.Interval, max: r.MaxSignals}}
		if r.program.IsSequence() {
			s, err := r.program.NewSequence(eql.SequenceOptions{MaxPending: opts.MaxPending})
			if err != nil {
				errs = append(errs, fmt.Errorf("rule %q: %w", r.Name, err))
				continue
			}
			rs.seq = s
		}
		idx := len(e.rules)
		e.rules = append(e.rules, rs)
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
	e.seen = make([]uint64, len(e.rules))
	e.buf = reorder.New(opts.Lateness, opts.MaxBuffered, lessPending)
	return e, nil
}

// fieldExpr compiles a field name (dots separate parts) as an expression.
func fieldExpr(name string) (*eql.Expression, error) {
	x, err := eql.CompileExpr(name)
	if err != nil {
		return nil, fmt.Errorf("%q is not a field name: %w", name, err)
	}
	return x, nil
}

// Process takes one document. It may hold it for reordering; it returns the
// alerts of the documents released by this call.
func (e *Engine) Process(doc event.Document) []event.Alert {
	e.stats.Received++
	ts, ok := documentTime(doc)
	if !ok {
		e.stats.Invalid++
		return nil
	}
	p := &pending{doc: doc, part: e.partitionOf(doc), ord: eql.Ordinal{Time: ts, Seq: e.seq}}
	e.seq++
	if e.tiebreaker != nil {
		p.ord.Tiebreaker = e.tiebreaker.Eval(doc)
	}
	e.out = nil
	e.buf.Push(p.part, ts, e.opts.Now(), p, e.evaluate)
	return e.out
}

// Tick releases the held documents of hosts that have been quiet for
// Options.IdleTimeout and returns their alerts. Call it periodically on a
// live stream; it does nothing in Batch mode.
func (e *Engine) Tick() []event.Alert {
	if e.opts.Lateness < 0 {
		return nil
	}
	e.out = nil
	e.buf.ReleaseIdle(e.opts.Now(), e.opts.IdleTimeout, e.evaluate)
	return e.out
}

// Flush releases every held document in time order and returns the alerts:
// call it at the end of the input.
func (e *Engine) Flush() []event.Alert {
	e.out = nil
	e.buf.Flush(e.evaluate)
	return e.out
}

// Stats returns the counters.
func (e *Engine) Stats() Stats {
	s := e.stats
	bs := e.buf.Stats()
	s.Buffered, s.Late, s.Forced = bs.Buffered, bs.Late, bs.Forced
	s.Rules = make([]RuleStats, len(e.rules))
	for i, rs := range e.rules {
		st := RuleStats{ID: rs.rule.ID, Name: rs.rule.Name, Alerts: rs.alerts, Suppressed: rs.throttle.suppressed}
		if rs.seq != nil {
			q := rs.seq.Stats()
			st.Pending, st.Evicted, st.Expired, st.Cancelled = q.Pending, q.Evicted, q.Expired, q.Cancelled
		}
		s.Rules[i] = st
		s.Pending += st.Pending
		s.Evicted += st.Evicted
		s.Expired += st.Expired
		s.Cancelled += st.Cancelled
		s.Suppressed += st.Suppressed
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

func (e *Engine) partitionOf(doc event.Document) string {
	if s, ok := e.partition.Eval(doc).(string); ok && s != "" {
		return s
	}
	if s, ok := e.fallback.Eval(doc).(string); ok {
		return s
	}
	return ""
}

// evaluate runs a released document against the rules that can match its
// event.category, in rule order.
func (e *Engine) evaluate(p *pending) {
	e.stats.Evaluated++
	e.candidates = e.candidates[:0]
	add := func(idx []int) {
		for _, i := range idx {
			if e.seen[i] != e.stats.Evaluated {
				e.seen[i] = e.stats.Evaluated
				e.candidates = append(e.candidates, i)
			}
		}
	}
	add(e.anyRules)
	c, _ := p.doc.Get("event.category")
	switch v := c.(type) {
	case string:
		add(e.byCategory[v])
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				add(e.byCategory[s])
			}
		}
	case []string:
		for _, s := range v {
			add(e.byCategory[s])
		}
	}
	if len(e.candidates) > 1 {
		slices.Sort(e.candidates)
	}
	for _, i := range e.candidates {
		rs := e.rules[i]
		if rs.seq == nil {
			if rs.rule.program.Match(p.doc) {
				e.raise(rs, []event.Document{p.doc}, nil, p.ord.Time)
			}
			continue
		}
		for _, m := range rs.seq.Feed(p.doc, p.ord, p.part) {
			e.raise(rs, m.Events, m.JoinKeys, p.ord.Time)
		}
	}
}

func (e *Engine) raise(rs *ruleState, docs []event.Document, keys []any, at time.Time) {
	if !rs.throttle.allow(at) {
		return
	}
	rs.alerts++
	e.stats.Alerts++
	e.out = append(e.out, buildAlert(rs, docs, keys, at, e.opts.Now()))
}

// documentTime reads @timestamp: an RFC 3339 string, a time.Time, or epoch
// milliseconds as Elasticsearch accepts for date fields.
func documentTime(doc event.Document) (time.Time, bool) {
	v, ok := doc["@timestamp"]
	if !ok {
		v, ok = doc.Get("@timestamp")
	}
	if !ok {
		return time.Time{}, false
	}
	switch t := v.(type) {
	case time.Time:
		return t, !t.IsZero()
	case string:
		ts, err := time.Parse(time.RFC3339Nano, t)
		return ts, err == nil
	}
	if ms, ok := event.ToFloat(v); ok {
		return time.UnixMilli(int64(ms)).UTC(), true
	}
	return time.Time{}, false
}

// throttle applies a rule's max_signals per interval. Windows are aligned
// intervals of event time (the alert's @timestamp), not of wall-clock time,
// so a replay of old logs is limited the same way a live run was.
type throttle struct {
	interval   time.Duration
	max        int
	counts     map[int64]int
	suppressed uint64
}

// maxThrottleWindows bounds the windows remembered per rule; the oldest are
// forgotten first (out-of-order hosts rarely reach back that far).
const maxThrottleWindows = 64

func (t *throttle) allow(at time.Time) bool {
	if t.interval <= 0 || t.max <= 0 {
		return true
	}
	if t.counts == nil {
		t.counts = map[int64]int{}
	}
	w := at.UnixNano() / int64(t.interval)
	if at.UnixNano() < 0 && at.UnixNano()%int64(t.interval) != 0 {
		w--
	}
	if t.counts[w] >= t.max {
		t.suppressed++
		return false
	}
	t.counts[w]++
	if len(t.counts) > maxThrottleWindows {
		oldest := w
		for k := range t.counts {
			oldest = min(oldest, k)
		}
		delete(t.counts, oldest)
	}
	return true
}
