package bus

import (
	"context"
	"strconv"
	"strings"

	"github.com/weft-dev/weft/event"
)

// Batcher gathers items per subject and publishes each subject's items as
// one msgpack message once BatchSize of them are waiting, or on Flush. Items
// of one subject keep their order. An item NATS refuses is dead-lettered
// and the others go on (PublishItems). A Batcher belongs to one goroutine.
type Batcher[T any] struct {
	bus     *Bus
	kind    string
	size    int
	pending map[string]*batch[T]
	order   []string
	source  func(T) string
}

type batch[T any] struct {
	items []T
	ids   []string
}

// NewBatcher returns a Batcher whose message ids are derived from kind and
// the identities of the items in each message.
func NewBatcher[T any](b *Bus, kind string) *Batcher[T] {
	return &Batcher[T]{bus: b, kind: kind, size: b.BatchSize(), pending: map[string]*batch[T]{}}
}

// WithSource makes the Batcher name an item NATS refuses (PublishItems) by
// source(item), say its file and offset or its peer, rather than by its
// identity. It returns bt.
func (bt *Batcher[T]) WithSource(source func(T) string) *Batcher[T] {
	bt.source = source
	return bt
}

// Add queues item for subject; identity names it for deduplication.
func (bt *Batcher[T]) Add(ctx context.Context, subject string, item T, identity string) error {
	p := bt.pending[subject]
	if p == nil {
		p = &batch[T]{}
		bt.pending[subject] = p
		bt.order = append(bt.order, subject)
	}
	p.items = append(p.items, item)
	p.ids = append(p.ids, identity)
	if len(p.items) >= bt.size {
		return bt.publish(ctx, subject, p)
	}
	return nil
}

// Flush publishes everything queued, subjects in the order first seen.
func (bt *Batcher[T]) Flush(ctx context.Context) error {
	for _, subject := range bt.order {
		if p := bt.pending[subject]; len(p.items) > 0 {
			if err := bt.publish(ctx, subject, p); err != nil {
				return err
			}
		}
	}
	clear(bt.pending)
	bt.order = bt.order[:0]
	return nil
}

func (bt *Batcher[T]) publish(ctx context.Context, subject string, p *batch[T]) error {
	var source func(int) string
	switch {
	case bt.source != nil:
		source = func(i int) string { return bt.source(p.items[i]) }
	default:
		// Raw events say where they were read.
		if _, ok := any(p.items[0]).(*event.Raw); ok {
			source = func(i int) string { return DescribeOrigin(any(p.items[i]).(*event.Raw).Origin) }
		}
	}
	if err := PublishItems(ctx, bt.bus, subject, bt.kind, p.items, p.ids, source); err != nil {
		return err
	}
	clear(p.items)
	p.items, p.ids = p.items[:0], p.ids[:0]
	return nil
}

// DescribeOrigin names where a raw event was read, for people: the file
// and the record's offset, or the listener and the peer.
func DescribeOrigin(o event.Origin) string {
	var sb strings.Builder
	sb.WriteString(o.Kind)
	if o.Path != "" {
		sb.WriteString(" " + o.Path)
		if o.Chunk > 0 || o.Kind == event.SourceEVTX { // chunk 0 is the first
			sb.WriteString(" chunk " + strconv.Itoa(o.Chunk))
		}
		sb.WriteString(" offset " + strconv.FormatInt(o.Offset, 10))
	}
	if o.Listener != "" {
		sb.WriteString(" listener " + o.Listener)
	}
	if o.Peer != "" {
		sb.WriteString(" peer " + o.Peer)
	}
	return sb.String()
}
