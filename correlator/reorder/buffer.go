package reorder

import (
	"container/heap"
	"slices"
	"time"
)

// HoldAll as the lateness holds every event until Flush: batch mode, for a
// finite input such as a folder of EVTX files.
const HoldAll time.Duration = -1

// Stats counts what a Buffer did.
type Stats struct {
	Buffered   int    // events held now
	Partitions int    // partitions with held events or a watermark
	Late       uint64 // events that arrived behind their partition's watermark
	Forced     uint64 // events released early because the buffer was full
}

// Buffer reorders events of type T. It is not safe for concurrent use.
type Buffer[T any] struct {
	lateness time.Duration
	max      int
	less     func(a, b T) bool
	parts    map[string]*partition[T]
	n        int
	late     uint64
	forced   uint64
}

type entry[T any] struct {
	at time.Time
	v  T
}

type partition[T any] struct {
	h           entryHeap[T]
	maxTime     time.Time
	seen        bool
	lastArrival time.Time
}

// New makes a buffer. lateness is how far behind the latest event of its
// partition an event may arrive and still be put in order; HoldAll (or any
// negative value) holds everything until Flush. max caps the events held in
// all partitions (0: no cap); past it the oldest event is released early.
// less orders events; it must order by event time first.
func New[T any](lateness time.Duration, max int, less func(a, b T) bool) *Buffer[T] {
	return &Buffer[T]{lateness: lateness, max: max, less: less, parts: map[string]*partition[T]{}}
}

// Stats returns the counters.
func (b *Buffer[T]) Stats() Stats {
	return Stats{Buffered: b.n, Partitions: len(b.parts), Late: b.late, Forced: b.forced}
}

// Push adds an event with its event time at, received at arrival
// (processing time), and calls emit for every event it releases, in order.
// An event behind its partition's watermark can no longer be put in order:
// it is released at once and counted as late.
func (b *Buffer[T]) Push(part string, at, arrival time.Time, v T, emit func(T)) {
	p := b.parts[part]
	if p == nil {
		p = &partition[T]{h: entryHeap[T]{less: b.less}}
		b.parts[part] = p
	}
	p.lastArrival = arrival
	if b.lateness >= 0 && p.seen && at.Before(p.maxTime.Add(-b.lateness)) {
		b.late++
		emit(v)
		return
	}
	heap.Push(&p.h, entry[T]{at: at, v: v})
	b.n++
	if !p.seen || at.After(p.maxTime) {
		p.maxTime = at
		p.seen = true
	}
	if b.lateness >= 0 {
		watermark := p.maxTime.Add(-b.lateness)
		for p.h.Len() > 0 && p.h.items[0].at.Before(watermark) {
			b.pop(p, emit)
		}
	}
	for b.max > 0 && b.n > b.max {
		b.releaseOldest(emit)
	}
}

// Holds reports whether part has events waiting.
func (b *Buffer[T]) Holds(part string) bool {
	p := b.parts[part]
	return p != nil && p.h.Len() > 0
}

// Advance moves part's clock to event time at, as an event that is not
// kept (one no rule wants) would, and releases what falls behind the new
// watermark. Without it a host's held events would wait for the next kept
// event, or for the idle timeout.
func (b *Buffer[T]) Advance(part string, at, arrival time.Time, emit func(T)) {
	p := b.parts[part]
	if p == nil || b.lateness < 0 {
		return
	}
	p.lastArrival = arrival
	if at.After(p.maxTime) {
		p.maxTime = at
	}
	watermark := p.maxTime.Add(-b.lateness)
	for p.h.Len() > 0 && p.h.items[0].at.Before(watermark) {
		b.pop(p, emit)
	}
}

func (b *Buffer[T]) pop(p *partition[T], emit func(T)) {
	e := heap.Pop(&p.h).(entry[T])
	b.n--
	emit(e.v)
}

// releaseOldest releases the first event across all partitions.
func (b *Buffer[T]) releaseOldest(emit func(T)) {
	var oldest *partition[T]
	for _, p := range b.parts {
		if p.h.Len() == 0 {
			continue
		}
		if oldest == nil || b.less(p.h.items[0].v, oldest.h.items[0].v) {
			oldest = p
		}
	}
	if oldest == nil {
		return
	}
	b.forced++
	b.pop(oldest, emit)
}

// ReleaseIdle releases, in order, every event of the partitions that have
// received nothing for idle (processing time) by now: a host that went
// quiet should not keep its last events waiting for one that never comes.
// Idle partitions are then forgotten. Partitions are visited in name order.
func (b *Buffer[T]) ReleaseIdle(now time.Time, idle time.Duration, emit func(T)) {
	var names []string
	for name, p := range b.parts {
		if now.Sub(p.lastArrival) >= idle {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		p := b.parts[name]
		for p.h.Len() > 0 {
			b.pop(p, emit)
		}
		delete(b.parts, name)
	}
}

// Flush releases every held event, merged across partitions in order, and
// forgets all partitions: the end of the input.
func (b *Buffer[T]) Flush(emit func(T)) {
	all := make([]entry[T], 0, b.n)
	for _, p := range b.parts {
		all = append(all, p.h.items...)
	}
	slices.SortStableFunc(all, func(x, y entry[T]) int {
		switch {
		case b.less(x.v, y.v):
			return -1
		case b.less(y.v, x.v):
			return 1
		}
		return 0
	})
	clear(b.parts)
	b.n = 0
	for _, e := range all {
		emit(e.v)
	}
}

type entryHeap[T any] struct {
	items []entry[T]
	less  func(a, b T) bool
}

func (h *entryHeap[T]) Len() int           { return len(h.items) }
func (h *entryHeap[T]) Less(i, j int) bool { return h.less(h.items[i].v, h.items[j].v) }
func (h *entryHeap[T]) Swap(i, j int)      { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *entryHeap[T]) Push(x any)         { h.items = append(h.items, x.(entry[T])) }
func (h *entryHeap[T]) Pop() any {
	n := len(h.items) - 1
	e := h.items[n]
	var zero entry[T]
	h.items[n] = zero
	h.items = h.items[:n]
	return e
}
