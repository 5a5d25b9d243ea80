package normalizer

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/rs/zerolog"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/event"
)

// Counters are what a normalizer stage has done; safe to read while it runs.
type Counters struct {
	Events atomic.Uint64 // documents published
	Errors atomic.Uint64 // events with problems (still published) and undecodable messages
}

// Options says how a normalizer instance reads the raw stream.
//
// Unpartitioned (Partitions 0), raw events are on weft.raw.<host> and every
// instance shares one durable consumer: instances share the work, but two
// of them may hold messages of one host at once, so that host's documents
// can come out of order. Use it for a single instance (weft hunt, weft run).
//
// Partitioned, raw events are on weft.raw.<partition>.<host> (RawSubject),
// a host always in the same partition. Each partition has its own durable
// consumer that lets one message be in flight at a time, whichever
// instance holds it, and every instance consumes every partition. So
// instances share the work partition by partition, and the messages of one
// partition — hence of one host — are normalized and published one after
// the other, in stream order, even across redeliveries: a message that
// fails is delivered again before the next one of its partition.
type Options struct {
	// Partitions is the number of host partitions of the raw stream; it
	// must be the same for publishers and every normalizer. 0 reads the
	// unpartitioned subjects.
	Partitions int
	// RawFields adds the raw event's EventData and System fields to every
	// document (weft.event_data, weft.system: rawfields.go), which Sigma
	// rules read.
	RawFields bool
	// RawFieldsOn, when set, stands for RawFields and is read again for
	// every message, so that a running normalizer starts (or stops)
	// adding the raw fields when the rules are reloaded and the first
	// Sigma rule comes (or the last goes).
	RawFieldsOn *atomic.Bool
	// Origin adds to every document where its event was read:
	// log.file.path, or log.source.address for a forwarded event
	// (Normalizer.SetOrigin), which alerts report.
	Origin bool

	// beforeMessage, when set, runs before each raw message is handled;
	// tests slow one instance down with it.
	beforeMessage func(subject string)
}

// RawSubject is the subject of a raw event of host when the raw stream is
// split into partitions (unpartitioned when partitions is 0). The partition
// is the FNV-1a hash of the subject's host token modulo partitions, which
// is what a NATS subject mapping partition(partitions, 1) computes, so a
// stream can equally partition events published on weft.raw.<host>.
func RawSubject(partitions int, host string) string {
	subject := bus.Subject(bus.SubjectRaw, host)
	if partitions <= 0 {
		return subject
	}
	token := subject[len(bus.SubjectRaw)+1:]
	return bus.SubjectRaw + "." + strconv.Itoa(partitionOf(token, partitions)) + "." + token
}

func partitionOf(token string, partitions int) int {
	h := fnv.New32a()
	h.Write([]byte(token))
	return int(h.Sum32() % uint32(partitions))
}

// Consumer is the durable consumer of the unpartitioned raw stream, which
// every unpartitioned normalizer shares.
func Consumer() bus.Consumer {
	return bus.Consumer{Stream: bus.StreamRaw, Durable: "normalizer", MaxAckPending: 64}
}

// Consumers are the durable consumers an instance with these options reads:
// Consumer(), or one per partition. Create them before publishing into a
// stream kept in memory, and wait for all of them to be idle.
func (o Options) Consumers() []bus.Consumer {
	if o.Partitions <= 0 {
		return []bus.Consumer{Consumer()}
	}
	out := make([]bus.Consumer, o.Partitions)
	for p := range out {
		out[p] = bus.Consumer{
			Stream: bus.StreamRaw,
			// The count is in the name: changing it starts new consumers
			// rather than reusing ones that filter differently.
			Durable:       fmt.Sprintf("normalizer-%d-of-%d", p, o.Partitions),
			FilterSubject: bus.SubjectRaw + "." + strconv.Itoa(p) + ".*",
			MaxAckPending: 1,
		}
	}
	return out
}

// Serve runs an unpartitioned normalizer: Options{}.Serve.
func Serve(ctx context.Context, b *bus.Bus, c *Counters, log zerolog.Logger) error {
	return Options{}.Serve(ctx, b, c, log)
}

// Serve normalizes raw event batches from the bus into ECS documents on
// weft.ecs.<host> until ctx ends. A raw message is acknowledged only after
// its documents are stored, so a crash redelivers rather than loses it.
func (o Options) Serve(ctx context.Context, b *bus.Bus, c *Counters, log zerolog.Logger) error {
	consumers := o.Consumers()
	errs := make([]error, len(consumers))
	var wg sync.WaitGroup
	for i, cons := range consumers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = o.consume(ctx, b, cons, c, log)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// consume runs one consumer with a Normalizer of its own.
func (o Options) consume(ctx context.Context, b *bus.Bus, cons bus.Consumer, c *Counters, log zerolog.Logger) error {
	n := New()
	n.SetRawFields(o.RawFields)
	n.SetOrigin(o.Origin)
	var buf []byte
	var batch []event.Raw
	return b.Consume(ctx, cons, func(ctx context.Context, data []byte, subject string) error {
		if o.beforeMessage != nil {
			o.beforeMessage(subject)
		}
		if o.RawFieldsOn != nil {
			n.SetRawFields(o.RawFieldsOn.Load())
		}
		var err error
		if batch, err = decodeRawBatch(data, batch); err != nil {
			c.Errors.Add(1)
			return bus.Permanent(fmt.Errorf("normalizer: message on %s: %w", subject, err))
		}
		// A fresh batcher per message: after a failed publish, the
		// redelivered message starts clean and its batches get the same ids.
		out := bus.NewBatcher[msgpack.RawMessage](b, "ecs")
		// Documents are written into one buffer, reused from message to
		// message: by Flush the batcher has published every slice of it.
		buf = buf[:0]
		problems := 0
		// A raw message mostly holds one host's events: one subject serves.
		var computer, ecsSubject string
		for i := range batch {
			r := &batch[i]
			if ecsSubject == "" || r.Computer != computer {
				computer, ecsSubject = r.Computer, bus.Subject(bus.SubjectECS, r.Computer)
			}
			start := len(buf)
			var err error
			if buf, err = n.AppendMsgpack(buf, r); err != nil {
				problems++
				log.Debug().Err(err).Msg("event normalized with problems")
			}
			doc := msgpack.RawMessage(buf[start:len(buf):len(buf)])
			if err := out.Add(ctx, ecsSubject, doc, r.Identity()); err != nil {
				return err
			}
		}
		if err := out.Flush(ctx); err != nil {
			return err
		}
		// Counted once stored: a redelivered message is not counted twice.
		c.Events.Add(uint64(len(batch)))
		c.Errors.Add(uint64(problems))
		return nil
	}, func(err error) {
		if !errors.Is(err, context.Canceled) {
			log.Error().Err(err).Str("consumer", cons.Durable).Msg("normalizer")
		}
	})
}
