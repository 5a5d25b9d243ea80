package winlog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/collector"
	"github.com/weft-dev/weft/event"
)

// batchSize is how many events are read from a channel at a time, stored,
// then bookmarked.
const batchSize = 256

// retryDelay is how long a channel whose subscription failed waits before
// subscribing again.
const retryDelay = 10 * time.Second

// reader is a live subscription to one channel.
type reader interface {
	// next waits until events are there or ctx ends, and returns up to n
	// of them rendered as XML, with the bookmark that stands after the
	// last one.
	next(ctx context.Context, n int) (events []rendered, bookmark string, err error)
	close() error
}

// rendered is one event's XML, or why it could not be rendered.
type rendered struct {
	xml string
	err error
}

// opener subscribes to a channel, after bookmark when there is one.
type opener func(channel, query, bookmark, startAt string) (reader, error)

// Serve subscribes to every configured channel and stores their events on
// b until ctx ends. A channel whose subscription fails is logged and
// subscribed to again; Serve returns an error only when it cannot start.
func Serve(ctx context.Context, cfg Config, b *bus.Bus, log zerolog.Logger) error {
	if err := Available(); err != nil {
		return err
	}
	return serve(ctx, cfg, b, log, subscribe, retryDelay)
}

func serve(ctx context.Context, cfg Config, b *bus.Bus, log zerolog.Logger, open opener, retry time.Duration) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	marks, err := OpenBookmarks(ctx, b)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	for _, ch := range cfg.channels() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &channel{name: ch, cfg: cfg, bus: b, marks: marks, open: open, retry: retry,
				log: log.With().Str("source", "winlog").Str("channel", ch).Logger()}
			c.run(ctx)
		}()
	}
	wg.Wait()
	return nil
}

// channel follows one channel.
type channel struct {
	name  string
	cfg   Config
	bus   *bus.Bus
	marks *Bookmarks
	open  opener
	retry time.Duration
	log   zerolog.Logger
}

func (c *channel) run(ctx context.Context) {
	for {
		err := c.follow(ctx)
		if ctx.Err() != nil {
			return
		}
		c.log.Error().Err(err).Dur("retry_in", c.retry).Msg("subscription failed")
		select {
		case <-ctx.Done():
			return
		case <-time.After(c.retry):
		}
	}
}

// follow subscribes after the saved bookmark and stores events until ctx
// ends or the subscription fails. Each batch is stored before its bookmark
// is saved: a crash between the two reads the batch again, and the bus
// drops what it already holds.
func (c *channel) follow(ctx context.Context) error {
	mark, err := c.marks.Load(ctx, c.name)
	if err != nil {
		return err
	}
	r, err := c.open(c.name, c.cfg.query(), mark, c.cfg.StartAt)
	if err != nil {
		return err
	}
	defer r.close()
	c.log.Info().Bool("resumed", mark != "").Msg("subscribed")
	out := bus.NewBatcher[*event.Raw](c.bus, "raw")
	for {
		batch, next, err := r.next(ctx, batchSize)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for _, x := range batch {
			err := x.err
			var ev *event.Raw
			if err == nil {
				ev, err = decode(x.xml, c.name)
			}
			if err != nil {
				c.log.Warn().Err(err).Msg("skipped event")
				continue
			}
			if err := out.Add(ctx, bus.Subject(bus.SubjectRaw, ev.Computer), ev, ev.Identity()); err != nil {
				return err
			}
		}
		if err := out.Flush(ctx); err != nil {
			return err
		}
		if next != "" && next != mark {
			if err := c.marks.Save(ctx, c.name, next); err != nil {
				return err
			}
			mark = next
		}
	}
}

// Listener is the Origin.Listener of events read from channel.
func Listener(channel string) string { return "winlog " + channel }

// decode reads the XML EvtRender made of one event with the collector's
// XML reader.
func decode(rendered, channel string) (*event.Raw, error) {
	var got []*event.Raw
	var problem error
	_, err := collector.ReadXML(context.Background(), strings.NewReader(rendered), Listener(channel), collector.Options{},
		func(r *event.Raw) error {
			got = append(got, r)
			return nil
		},
		func(err error) {
			if problem == nil {
				problem = err
			}
		})
	if err == nil {
		err = problem
	}
	if err != nil {
		return nil, err
	}
	if len(got) != 1 {
		return nil, fmt.Errorf("%s: rendered XML holds %d events, want one", Listener(channel), len(got))
	}
	r := got[0]
	r.Origin.Path, r.Origin.Offset = "", 0
	r.Origin.Listener = Listener(channel)
	return r, nil
}

// ErrUnsupported: live subscriptions need Windows.
var ErrUnsupported = errors.New("winlog sources read Windows event log channels and need Windows; elsewhere, forward events to a tcp, http or beats source")
