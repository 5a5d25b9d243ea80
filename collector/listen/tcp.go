package listen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/collector"
	"github.com/weft-dev/weft/collector/jsonevent"
	"github.com/weft-dev/weft/event"
)

// ServeTCP takes streams of events on l until ctx ends: rendered event XML
// (<Event> documents back to back, on one line or many, bare or inside
// <Events>) or NDJSON in any form jsonevent knows, told apart by each
// connection's first byte.
//
// Raw TCP has no acknowledgement, so reading is the acknowledgement: before
// the connection is read any further, every event decoded so far is stored
// in JetStream. While the bus cannot keep up the connection is simply not
// read, and TCP flow control slows the sender down.
func ServeTCP(ctx context.Context, l *Listener, b *bus.Bus) error {
	return l.ServeConns(ctx, func(store context.Context, c *Conn) {
		serveStream(store, l, b, c)
	})
}

// stream formats, by first byte.
const (
	formatXML  = "xml"
	formatJSON = "ndjson"
)

func serveStream(ctx context.Context, l *Listener, b *bus.Bus, c *Conn) {
	log := l.log.With().Str("peer", c.Peer).Logger()
	out := bus.NewBatcher[*event.Raw](b, "raw")
	var busErr error // the bus failed to store events: they are lost
	unstored := 0    // events decoded since the last flush
	fr := &flushingReader{r: c, flush: func() error {
		if err := out.Flush(ctx); err != nil {
			busErr = err
			return err
		}
		l.CountEvents(unstored)
		unstored = 0
		return nil
	}}
	br := bufio.NewReaderSize(fr, 64<<10)
	format, err := sniff(br)
	if err != nil {
		switch {
		case errors.Is(err, io.EOF):
			log.Debug().Msg("connection closed before sending anything")
		case errors.Is(err, ErrShutdown):
		case errors.Is(err, ErrEventTimeout):
			l.CountError(ReasonEventTimeout, 1)
			log.Warn().Dur("event_timeout", c.eventTimeout).Msg("closing connection: an event was not received within the event timeout")
		case IsIdle(err):
			l.CountError(ReasonIdle, 1)
			log.Warn().Dur("idle_timeout", c.idle).Msg("closing connection: nothing received within the idle timeout")
		case errors.Is(err, errNotEvents):
			l.CountError(ReasonProtocol, 1)
			log.Warn().Err(err).Msg("closing connection")
		default:
			l.CountError(ReasonRead, 1)
			log.Warn().Err(err).Msg("closing connection")
		}
		return
	}
	log = log.With().Str("format", format).Logger()
	opts := collector.Options{MaxEventSize: l.cfg.maxEventSize()}
	emit := func(r *event.Raw) error {
		c.EventDone()
		l.Stamp(r, c.Peer)
		unstored++
		if err := out.Add(ctx, bus.Subject(bus.SubjectRaw, r.Computer), r, r.Identity()); err != nil {
			busErr = err
			return err
		}
		return nil
	}
	report := func(err error) {
		c.EventDone()
		l.CountError(ReasonBadEvent, 1)
		log.Warn().Err(err).Msg(problemMessage(err))
	}
	var st collector.Stats
	if format == formatXML {
		st, err = collector.ReadXML(ctx, br, c.Peer, opts, emit, report)
	} else {
		st, err = jsonevent.ReadNDJSON(ctx, br, c.Peer, opts, emit, report)
	}
	if busErr == nil {
		// However the stream ended, what was decoded is stored before
		// the connection closes.
		_ = fr.flush()
	}
	done := log.Debug()
	switch {
	case busErr != nil:
		l.CountError(ReasonNotStored, 1)
		done = log.Error().Err(busErr).Str("reason", "events read from this connection could not be stored")
	case err == nil, errors.Is(err, ErrShutdown):
	case errors.Is(err, ErrEventTimeout):
		l.CountError(ReasonEventTimeout, 1)
		done = log.Warn().Dur("event_timeout", c.eventTimeout).Str("reason", "an event was not received within the event timeout")
	case IsIdle(err):
		l.CountError(ReasonIdle, 1)
		done = log.Warn().Dur("idle_timeout", c.idle).Str("reason", "nothing received within the idle timeout")
	default:
		l.CountError(ReasonRead, 1)
		done = log.Warn().Err(err)
	}
	done.Int("events", st.Records).Int("errors", st.Errors).Int64("bytes", st.Bytes).Msg("connection closed")
}

// errNotEvents marks a stream that starts with neither event XML nor NDJSON.
var errNotEvents = errors.New("neither event XML nor NDJSON")

// sniff tells XML from NDJSON by the first byte that is not whitespace or
// a byte order mark.
func sniff(br *bufio.Reader) (string, error) {
	for i := 0; ; i++ {
		head, err := br.Peek(i + 1)
		if err != nil {
			return "", err
		}
		switch c := head[i]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			if i+1 >= br.Size() {
				return "", fmt.Errorf("%w: only whitespace in the first 64 KiB", errNotEvents)
			}
		case i == 0 && c == 0xEF:
			bom, err := br.Peek(3)
			if err != nil {
				return "", err
			}
			if string(bom) != "\xef\xbb\xbf" {
				return "", fmt.Errorf("%w: stream starts with % x", errNotEvents, bom)
			}
			i = 2
		case c == '<':
			return formatXML, nil
		case i == 0 && (c == 0xFF || c == 0xFE), c == 0:
			return formatXML, nil // UTF-16, with or without a byte order mark
		case c == '{':
			return formatJSON, nil
		default:
			return "", fmt.Errorf("%w: stream starts with %q, not < or {", errNotEvents, c)
		}
	}
}

// flushingReader stores the events decoded so far before each read from
// the connection: reading on is the sender's acknowledgement.
type flushingReader struct {
	r     io.Reader
	flush func() error
}

func (f *flushingReader) Read(p []byte) (int, error) {
	if err := f.flush(); err != nil {
		return 0, err
	}
	return f.r.Read(p)
}

// problemMessage is how a reported problem is logged: most cost their
// event, but text replaced by U+FFFD does not.
func problemMessage(err error) string {
	if errors.Is(err, collector.ErrInvalidText) || errors.Is(err, jsonevent.ErrInvalidUTF8) {
		return "event kept"
	}
	return "skipped event"
}
