package correlator

import (
	"container/list"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/weft-dev/weft/correlator/eql"
	"github.com/weft-dev/weft/correlator/sigma"
	"github.com/weft-dev/weft/event"
)

// Sigma correlations run on the engine as a program of their own kind,
// beside event queries, sequences and samples: the rule's filter program
// (one stage per base rule, evaluated on arrival like any rule's filters)
// says which base rules a document matched, and the correlation's state
// takes the documents in event-time order from the reorder buffer, with
// the partition's clock, as sequences do. So a correlation has the
// sequences' lateness, ordering, Tick, Flush, restart (its span counts in
// Engine.MaxSpan, hence in RebuildWindow) and handover.
//
//   - temporal_ordered runs on an EQL sequence (eql.Sequence) with one
//     stage per rule, the group-by fields as each stage's join keys and the
//     timespan as maxspan.
//   - event_count, value_count and temporal keep, per partition and group,
//     the events of a window. With a condition bounded only from below (gt,
//     gte) the window slides: the event that brings the count to the
//     condition raises the alert, with the events within the timespan
//     before it, and the group starts afresh. With a condition bounded from
//     above (lt, lte, eq, neq, or a range) the count is final only when the
//     window has closed: a window opens at a group's first event and closes
//     a timespan later, when the partition's event time passes its end (a
//     later event of the host, Tick on a quiet host, or Flush); the alert
//     then carries the window's events. A group with no event has no
//     window: a count of zero is never reported.
//   - A correlation used by another feeds its matches to it as events: the
//     match's group-by values stand for the fields it groups by, any other
//     field is the value all its events share (absent when they differ).

// maxCorrelationCount bounds a correlation's condition, since a window
// holds up to that many events per group.
const maxCorrelationCount = 10_000

// maxEvidence is how many events at least a window bounded from above
// keeps for its alert (it counts them all): the alert of "neq: 3" over a
// million events carries a hundred.
const maxEvidence = 100

// corrPlan is a compiled correlation: immutable, shared by the engines
// that run it.
type corrPlan struct {
	plan   *sigma.Plan
	inputs []corrInput
	seq    *eql.Program // temporal_ordered: one stage per input
}

type corrInput struct {
	stage int // the leaf's stage in the rule's filter program; -1 for a correlation
	sub   *corrPlan
	keys  []*eql.Expression
	names []string
	field *eql.Expression
	name  string // the rule's title or correlation's, for alert messages
}

// synthKeys is where a correlation's match, fed to a temporal_ordered
// correlation's sequence, holds the group-by values the sequence joins on.
var synthKeys = []string{"weft", "correlation", "group"}

// compileCorrelation compiles a plan and its leaves' filter program: stage
// i matches leaves[i].
func compileCorrelation(p *sigma.Plan, leaves []*sigma.Rule) (*corrPlan, error) {
	if err := checkCounts(p); err != nil {
		return nil, err
	}
	cp := &corrPlan{plan: p}
	for _, in := range p.Inputs {
		ci := corrInput{stage: -1, names: in.KeyNames}
		if in.Rule != nil {
			ci.stage = slices.Index(leaves, in.Rule)
			ci.name = in.Rule.Title
		} else {
			sub, err := compileCorrelation(in.Sub, leaves)
			if err != nil {
				return nil, err
			}
			ci.sub, ci.name = sub, in.Sub.Title
		}
		for _, k := range in.Keys {
			x, err := eql.CompileTree(k)
			if err != nil {
				return nil, err
			}
			ci.keys = append(ci.keys, x)
		}
		if in.Field != nil {
			x, err := eql.CompileTree(in.Field)
			if err != nil {
				return nil, err
			}
			ci.field = x
		}
		cp.inputs = append(cp.inputs, ci)
	}
	if p.Type == "temporal_ordered" {
		seq := &eql.SequenceQuery{MaxSpan: p.Timespan}
		for _, in := range p.Inputs {
			st := &eql.Stage{Runs: 1, By: in.Keys}
			if in.Rule != nil {
				st.Query.Where = in.Where
			} else {
				// Never evaluated: matches of a correlation are fed to
				// this stage directly, with their group under synthKeys.
				st.Query.Where = &eql.Literal{Value: false}
				st.By = nil
				for j := range in.Keys {
					st.By = append(st.By, &eql.Field{Path: append(slices.Clone(synthKeys), fmt.Sprint(j))})
				}
			}
			seq.Stages = append(seq.Stages, st)
		}
		prog, err := eql.Compile(&eql.Query{Source: p.String(), Sequence: seq})
		if err != nil {
			return nil, err
		}
		cp.seq = prog
	}
	return cp, nil
}

func checkCounts(p *sigma.Plan) error {
	for k, v := range p.Condition {
		if v > maxCorrelationCount {
			return &sigma.UnsupportedError{Kind: "correlation condition", What: fmt.Sprintf("%s %d (at most %d)", k, v, maxCorrelationCount)}
		}
		if v < 0 {
			return fmt.Errorf("correlation condition %s %d is negative", k, v)
		}
	}
	return nil
}

// corrMatch is one match of a correlation.
type corrMatch struct {
	end    eql.Ordinal
	part   string
	keys   []any // the group's values, in group-by order
	events []event.Document
	count  int64    // events, distinct values or distinct rules
	values []string // value_count: the distinct values; temporal: the rules
}

// corrItem is an event, or a match of a used correlation, in a group.
type corrItem struct {
	ord    eql.Ordinal
	input  int
	value  string
	events []event.Document
}

// corrGroup is one group's window in one partition.
type corrGroup struct {
	key    string
	part   string
	keys   []any
	start  time.Time
	items  []corrItem
	count  int64           // windowed event_count: the events so far
	seen   map[string]bool // windowed value_count and temporal: the distinct values or rules
	el     *list.Element   // in the partition's list
	allEl  *list.Element   // in the node's list, for eviction
	closed bool
}

// corrNode is a correlation's state in one engine.
type corrNode struct {
	p         *corrPlan
	subs      []*corrNode
	seq       *eql.Sequence
	groups    map[string]*corrGroup
	parts     map[string]*list.List
	all       list.List
	maxGroups int
	evidence  int // the events a window keeps for its alert
	evicted   uint64
	expired   uint64
	key       []byte
}

func newCorrNode(p *corrPlan, opts Options) (*corrNode, error) {
	n := &corrNode{p: p, groups: map[string]*corrGroup{}, parts: map[string]*list.List{}, maxGroups: opts.MaxPending}
	if n.maxGroups <= 0 {
		n.maxGroups = eql.DefaultMaxPending
	}
	// A window bounded from above counts every event but keeps only as
	// many as its condition can ask for, and at least maxEvidence.
	n.evidence = maxEvidence
	for _, v := range p.plan.Condition {
		n.evidence = max(n.evidence, int(v)+1)
	}
	for _, in := range p.inputs {
		var sub *corrNode
		if in.sub != nil {
			var err error
			if sub, err = newCorrNode(in.sub, opts); err != nil {
				return nil, err
			}
		}
		n.subs = append(n.subs, sub)
	}
	if p.seq != nil {
		var err error
		if n.seq, err = p.seq.NewSequence(eql.SequenceOptions{MaxPending: opts.MaxPending}); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// pending counts the groups and partial sequences held, through the
// correlations used too.
func (n *corrNode) pending() int {
	c := len(n.groups)
	if n.seq != nil {
		c += n.seq.Pending()
	}
	for _, s := range n.subs {
		if s != nil {
			c += s.pending()
		}
	}
	return c
}

func (n *corrNode) stats() (evicted, expired uint64) {
	evicted, expired = n.evicted, n.expired
	if n.seq != nil {
		st := n.seq.Stats()
		evicted += st.Evicted
		expired += st.Expired
	}
	for _, s := range n.subs {
		if s != nil {
			e, x := s.stats()
			evicted += e
			expired += x
		}
	}
	return evicted, expired
}

// partitions lists the partitions that hold state.
func (n *corrNode) partitions(into map[string]bool) {
	for p := range n.parts {
		into[p] = true
	}
	for _, s := range n.subs {
		if s != nil {
			s.partitions(into)
		}
	}
}

// feed takes a document of the partition, released in event-time order,
// with the filter stages it matched.
func (n *corrNode) feed(d event.Document, set eql.StageSet, ord eql.Ordinal, part string, out []corrMatch) []corrMatch {
	var seqHits eql.StageSet
	for i, in := range n.p.inputs {
		if in.sub != nil {
			for _, m := range n.subs[i].feed(d, set, ord, part, nil) {
				out = n.addMatch(i, m, out)
			}
			continue
		}
		if !set.Has(in.stage) {
			continue
		}
		if n.seq != nil {
			seqHits |= 1 << uint(i)
			continue
		}
		it := corrItem{ord: ord, input: i, events: []event.Document{d}}
		keys, ok := evalKeys(in.keys, d)
		if !ok {
			continue
		}
		if in.field != nil {
			v := in.field.Eval(d)
			if v == nil {
				continue
			}
			it.value = valueString(v)
		}
		out = n.add(part, keys, it, out)
	}
	if seqHits != 0 {
		for _, m := range n.seq.FeedStages(d, seqHits, ord, part) {
			out = append(out, n.seqMatch(m, part))
		}
	}
	return out
}

// addMatch takes a match of the correlation used as input i.
func (n *corrNode) addMatch(i int, m corrMatch, out []corrMatch) []corrMatch {
	in := n.p.inputs[i]
	sub := in.sub.plan
	keys := make([]any, len(in.keys))
	for j, name := range in.names {
		if k := slices.Index(sub.GroupBy, name); k >= 0 {
			keys[j] = m.keys[k]
		} else {
			keys[j] = common(in.keys[j], m.events)
		}
		if keys[j] == nil {
			return out
		}
	}
	if n.seq != nil {
		d := event.Document{"@timestamp": m.end.Time.Format(time.RFC3339Nano)}
		group := map[string]any{}
		for j, k := range keys {
			group[fmt.Sprint(j)] = k
		}
		d["weft"] = map[string]any{"correlation": map[string]any{"group": group}}
		d[evidenceKey] = corrEvidence(m.events)
		for _, sm := range n.seq.FeedStages(d, 1<<uint(i), m.end, m.part) {
			out = append(out, n.seqMatch(sm, m.part))
		}
		return out
	}
	it := corrItem{ord: m.end, input: i, events: m.events}
	if in.field != nil {
		var v any
		if k := slices.Index(sub.GroupBy, n.p.plan.Field); k >= 0 {
			v = m.keys[k]
		} else {
			v = common(in.field, m.events)
		}
		if v == nil {
			return out
		}
		it.value = valueString(v)
	}
	return n.add(m.part, keys, it, out)
}

// evidenceKey holds, in the document that stands for a correlation's match
// in a sequence, the match's events. Its value is a Go type no decoded
// document can hold.
const evidenceKey = "\x00weft.correlation.events"

type corrEvidence []event.Document

func (n *corrNode) seqMatch(m eql.Match, part string) corrMatch {
	cm := corrMatch{end: m.End, part: part, keys: m.JoinKeys, count: int64(len(n.p.inputs))}
	for _, d := range m.Events {
		if ev, ok := d[evidenceKey].(corrEvidence); ok {
			cm.events = append(cm.events, ev...)
			continue
		}
		cm.events = append(cm.events, d)
	}
	for _, in := range n.p.inputs {
		cm.values = append(cm.values, in.name)
	}
	return cm
}

// common is the value a field has in every event, nil when some event
// lacks it or they differ.
func common(x *eql.Expression, docs []event.Document) any {
	var v any
	var s string
	for i, d := range docs {
		w := x.Eval(d)
		if w == nil {
			return nil
		}
		ws := valueString(w)
		if i > 0 && ws != s {
			return nil
		}
		v, s = w, ws
	}
	return v
}

func evalKeys(keys []*eql.Expression, d event.Document) ([]any, bool) {
	out := make([]any, len(keys))
	for j, k := range keys {
		if out[j] = k.Eval(d); out[j] == nil {
			return nil, false
		}
	}
	return out, true
}

func valueString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

func (n *corrNode) groupKey(part string, keys []any) string {
	b := append(n.key[:0], part...)
	for _, k := range keys {
		b = append(b, 0)
		b = fmt.Appendf(b, "%T:%v", k, k)
	}
	n.key = b
	return string(b)
}

// add puts an item into its group, closing the group's window first when
// the item is past it, and reports the group's match.
func (n *corrNode) add(part string, keys []any, it corrItem, out []corrMatch) []corrMatch {
	plan := n.p.plan
	key := n.groupKey(part, keys)
	g := n.groups[key]
	if g != nil && plan.Upper && it.ord.Time.Sub(g.start) > plan.Timespan {
		out = n.close(g, out)
		g = nil
	}
	if g == nil {
		if len(n.groups) >= n.maxGroups {
			n.evicted++
			n.remove(n.all.Front().Value.(*corrGroup))
		}
		g = &corrGroup{key: key, part: part, keys: keys, start: it.ord.Time}
		n.groups[key] = g
		l := n.parts[part]
		if l == nil {
			l = list.New()
			n.parts[part] = l
		}
		g.el = l.PushBack(g)
		g.allEl = n.all.PushBack(g)
	}
	if plan.Upper {
		n.addWindowed(g, it)
		return out
	}
	// Sliding: keep what lies within the timespan before the item, one
	// item per value (value_count) or per rule (temporal).
	keep := g.items[:0]
	for _, x := range g.items {
		if it.ord.Time.Sub(x.ord.Time) > plan.Timespan {
			continue
		}
		if (plan.Type == "value_count" && x.value == it.value) || (plan.Type == "temporal" && x.input == it.input) {
			continue
		}
		keep = append(keep, x)
	}
	clear(g.items[len(keep):])
	g.items = append(keep, it)
	g.start = g.items[0].ord.Time
	if !n.satisfied(n.metric(g)) {
		return out
	}
	m := n.match(g, it.ord)
	n.remove(g)
	return append(out, m)
}

func (n *corrNode) addWindowed(g *corrGroup, it corrItem) {
	switch n.p.plan.Type {
	case "value_count", "temporal":
		id := it.value
		if n.p.plan.Type == "temporal" {
			id = fmt.Sprint(it.input)
		}
		if g.seen == nil {
			g.seen = map[string]bool{}
		}
		if g.seen[id] || len(g.seen) >= maxCorrelationCount {
			return
		}
		g.seen[id] = true
	default:
		g.count++
	}
	if len(g.items) < n.evidence {
		g.items = append(g.items, it)
	}
}

// satisfied applies the condition; a temporal correlation without one
// asks for all of its rules.
func (n *corrNode) satisfied(metric int64) bool {
	if len(n.p.plan.Condition) == 0 {
		return metric >= n.p.plan.Threshold
	}
	return n.p.plan.Matches(metric)
}

// metric is what the condition compares: events, distinct values or
// distinct rules.
func (n *corrNode) metric(g *corrGroup) int64 {
	switch n.p.plan.Type {
	case "value_count", "temporal":
		if n.p.plan.Upper {
			return int64(len(g.seen))
		}
		return int64(len(g.items)) // one item per value or rule
	}
	if n.p.plan.Upper {
		return g.count
	}
	return int64(len(g.items))
}

func (n *corrNode) match(g *corrGroup, end eql.Ordinal) corrMatch {
	m := corrMatch{end: end, part: g.part, keys: g.keys, count: n.metric(g)}
	for _, it := range g.items {
		m.events = append(m.events, it.events...)
		switch n.p.plan.Type {
		case "value_count":
			m.values = append(m.values, it.value)
		case "temporal":
			m.values = append(m.values, n.p.inputs[it.input].name)
		}
	}
	return m
}

// close ends a window: its count is final.
func (n *corrNode) close(g *corrGroup, out []corrMatch) []corrMatch {
	n.remove(g)
	if !n.satisfied(n.metric(g)) {
		return out
	}
	last := g.items[len(g.items)-1].ord
	end := eql.Ordinal{Time: g.start.Add(n.p.plan.Timespan), Seq: last.Seq}
	return append(out, n.match(g, end))
}

func (n *corrNode) remove(g *corrGroup) {
	if g.closed {
		return
	}
	g.closed = true
	delete(n.groups, g.key)
	n.all.Remove(g.allEl)
	if l := n.parts[g.part]; l != nil {
		l.Remove(g.el)
		if l.Len() == 0 {
			delete(n.parts, g.part)
		}
	}
}

// advance moves the partition's event time to now: the used correlations
// first (their matches come in as events), then this one's windows that
// ended before now close, and sliding groups with nothing left within
// the timespan are dropped.
func (n *corrNode) advance(part string, now time.Time, out []corrMatch) []corrMatch {
	for i, s := range n.subs {
		if s == nil {
			continue
		}
		for _, m := range s.advance(part, now, nil) {
			out = n.addMatch(i, m, out)
		}
	}
	if n.seq != nil {
		for _, m := range n.seq.Advance(part, now, nil) {
			out = append(out, n.seqMatch(m, part))
		}
	}
	l := n.parts[part]
	for l != nil && l.Len() > 0 {
		g := l.Front().Value.(*corrGroup)
		if !now.After(g.start.Add(n.p.plan.Timespan)) {
			break
		}
		if n.p.plan.Upper {
			out = n.close(g, out)
			l = n.parts[part]
			continue
		}
		keep := g.items[:0]
		for _, x := range g.items {
			if now.Sub(x.ord.Time) <= n.p.plan.Timespan {
				keep = append(keep, x)
			}
		}
		clear(g.items[len(keep):])
		g.items = keep
		if len(keep) == 0 {
			n.expired++
			n.remove(g)
			l = n.parts[part]
			continue
		}
		g.start = keep[0].ord.Time
		l.MoveToBack(g.el)
		if l.Front().Value.(*corrGroup) == g {
			break
		}
	}
	return out
}

// flush closes every window bounded from above at the end of the input,
// the used correlations' first.
func (n *corrNode) flush(out []corrMatch) []corrMatch {
	for i, s := range n.subs {
		if s == nil {
			continue
		}
		for _, m := range s.flush(nil) {
			out = n.addMatch(i, m, out)
		}
	}
	// Like a sequence's partials, a temporal_ordered's and sliding groups
	// stay: only a count that waits for its window's end is judged.
	if !n.p.plan.Upper {
		return out
	}
	var gs []*corrGroup
	for e := n.all.Front(); e != nil; e = e.Next() {
		gs = append(gs, e.Value.(*corrGroup))
	}
	slices.SortStableFunc(gs, func(a, b *corrGroup) int { return a.start.Compare(b.start) })
	for _, g := range gs {
		out = n.close(g, out)
	}
	return out
}

// corrReason is a correlation alert's message: what was counted, in which
// group, within what time.
func corrReason(r *Rule, p *corrPlan, m corrMatch) string {
	plan := p.plan
	var b strings.Builder
	b.WriteString(r.Name + ": ")
	switch plan.Type {
	case "event_count":
		fmt.Fprintf(&b, "%d events", m.count)
	case "value_count":
		vals := m.values
		if len(vals) > 10 {
			vals = append(slices.Clone(vals[:10]), "…")
		}
		fmt.Fprintf(&b, "%d distinct %s (%s)", m.count, plan.Field, strings.Join(vals, ", "))
	case "temporal":
		fmt.Fprintf(&b, "%s", strings.Join(m.values, ", "))
	case "temporal_ordered":
		fmt.Fprintf(&b, "%s, in this order", strings.Join(m.values, ", "))
	}
	for i, g := range plan.GroupBy {
		if i == 0 {
			b.WriteString(" with ")
		} else {
			b.WriteString(", ")
		}
		if i < len(m.keys) {
			fmt.Fprintf(&b, "%s=%v", g, m.keys[i])
		}
	}
	fmt.Fprintf(&b, " within %s on %s", spanString(plan.Timespan), hostLabel(m.events[len(m.events)-1]))
	return b.String()
}

// spanString writes a timespan as Sigma does: 90m, 1h, 2d.
func spanString(d time.Duration) string {
	for _, u := range []struct {
		d time.Duration
		s string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}} {
		if d%u.d == 0 {
			return fmt.Sprintf("%d%s", d/u.d, u.s)
		}
	}
	return fmt.Sprintf("%ds", d/time.Second)
}
