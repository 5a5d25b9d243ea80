package beats

import (
	"bufio"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	protocol "github.com/elastic/go-lumber/protocol/v2"
	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/collector"
	"github.com/weft-dev/weft/collector/jsonevent"
	"github.com/weft-dev/weft/collector/listen"
	"github.com/weft-dev/weft/event"
)

// KeepaliveInterval is how often a Beat waiting for its acknowledgement is
// told to keep waiting (an ACK of sequence 0, as Logstash sends).
const KeepaliveInterval = 3 * time.Second

// maxWindow bounds the events a Beat may announce in one window; Beats
// send a few thousand at most (bulk_max_size).
const maxWindow = 1 << 20

// frameHeader is what every frame costs against max_batch_bytes besides
// its payload, so that a window of empty frames is bounded too.
const frameHeader = 10

// ErrProtocol marks a stream that does not follow lumberjack v2; the
// connection is closed.
var ErrProtocol = errors.New("lumberjack protocol error")

// Serve takes Beats connections on l until ctx ends and stores their
// events on b. l should have been opened with kind listen.KindBeats.
func Serve(ctx context.Context, l *listen.Listener, b *bus.Bus) error {
	return serve(ctx, l, b, KeepaliveInterval)
}

func serve(ctx context.Context, l *listen.Listener, b *bus.Bus, keepalive time.Duration) error {
	return l.ServeConns(ctx, func(store context.Context, c *listen.Conn) {
		s := &session{
			l: l, c: c, in: bufio.NewReaderSize(c, 64<<10), keepalive: keepalive,
			out: bus.NewBatcher[*event.Raw](b, "raw"),
		}
		s.log = l.Log().With().Str("peer", c.Peer).Logger()
		s.serve(store)
	})
}

// session is one Beat's connection.
type session struct {
	l         *listen.Listener
	c         *listen.Conn
	out       *bus.Batcher[*event.Raw]
	in        *bufio.Reader
	log       zerolog.Logger
	keepalive time.Duration

	events, errors int // totals for the connection
	acked          int // events acknowledged so far
}

func (s *session) serve(ctx context.Context) {
	var err error
	for err == nil {
		var w window
		w, err = s.readWindow(ctx)
		if err != nil {
			break
		}
		// A Beat sends a window at once: the event timeout bounds the
		// window, from its first byte, and the idle timeout the silence
		// between windows.
		s.c.EventDone()
		if w.count == 0 {
			continue
		}
		err = s.store(ctx, w)
	}
	ev := s.log.Debug()
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, listen.ErrShutdown):
	case errors.Is(err, listen.ErrEventTimeout):
		s.l.CountError(listen.ReasonEventTimeout, 1)
		ev = s.log.Warn().Str("reason", "a window was not received within the event timeout")
	case listen.IsIdle(err):
		s.l.CountError(listen.ReasonIdle, 1)
		ev = s.log.Warn().Str("reason", "nothing received within the idle timeout")
	case errors.Is(err, errNotStored):
		s.l.CountError(listen.ReasonNotStored, 1)
		ev = s.log.Error().Err(err)
	case errors.Is(err, ErrProtocol):
		s.l.CountError(listen.ReasonProtocol, 1)
		ev = s.log.Warn().Err(err)
	default:
		s.l.CountError(listen.ReasonRead, 1)
		ev = s.log.Warn().Err(err)
	}
	ev.Int("events", s.events).Int("errors", s.errors).Msg("connection closed")
}

// window is one batch a Beat sent: how many events it announced and the
// sequence number of the last one read.
type window struct {
	count   uint32
	lastSeq uint32
	bytes   int64 // counted against max_batch_bytes
}

var errNotStored = errors.New("events not stored; the Beat will send them again")

// store makes sure the window's events are in JetStream, then acknowledges
// the window. While the bus works on it, the Beat gets keep-alives.
func (s *session) store(ctx context.Context, w window) error {
	done := make(chan error, 1)
	go func() { done <- s.out.Flush(ctx) }()
	tick := time.NewTicker(s.keepalive)
	defer tick.Stop()
	var gone error // the Beat stopped listening
	for {
		select {
		case err := <-done:
			switch {
			case err != nil:
				return fmt.Errorf("%w: %w", errNotStored, err)
			case gone != nil:
				return gone
			}
			if err := s.ack(w.lastSeq); err != nil {
				return err
			}
			s.l.CountEvents(s.events - s.acked)
			s.acked = s.events
			return nil
		case <-tick.C:
			if gone == nil {
				if err := s.ack(0); err != nil {
					gone = fmt.Errorf("keep-alive: %w", err)
				}
			}
		}
	}
}

func (s *session) ack(seq uint32) error {
	var b [6]byte
	b[0], b[1] = protocol.CodeVersion, protocol.CodeACK
	binary.BigEndian.PutUint32(b[2:], seq)
	_, err := s.c.Write(b[:])
	return err
}

// readWindow reads a window header and its events, decoding each into
// out. Events that cannot be used are reported and counted: they are
// acknowledged with the rest, since sending them again cannot help.
func (s *session) readWindow(ctx context.Context) (window, error) {
	var hdr [6]byte
	if _, err := io.ReadFull(s.in, hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("%w: connection closed inside a window header", ErrProtocol)
		}
		return window{}, err
	}
	if hdr[0] == '1' {
		return window{}, fmt.Errorf("%w: lumberjack version 1 is not supported (Beats speak version 2)", ErrProtocol)
	}
	if hdr[0] != protocol.CodeVersion || hdr[1] != protocol.CodeWindowSize {
		return window{}, fmt.Errorf("%w: got %q where a window header (2W) belongs", ErrProtocol, hdr[:2])
	}
	w := window{count: binary.BigEndian.Uint32(hdr[2:])}
	if w.count > maxWindow {
		return window{}, fmt.Errorf("%w: window of %d events, more than %d", ErrProtocol, w.count, maxWindow)
	}
	var read uint32
	for read < w.count {
		n, err := s.readFrame(ctx, s.in, &w, w.count-read, false)
		if err != nil {
			return window{}, frameErr(err)
		}
		read += n
	}
	return w, nil
}

// readFrame reads one frame from r: an event, or a compressed frame of up
// to want events. It returns how many events it read, and io.EOF when r
// ends before the frame starts.
func (s *session) readFrame(ctx context.Context, r io.Reader, w *window, want uint32, inner bool) (uint32, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if err == io.EOF {
			return 0, err
		}
		return 0, frameErr(err)
	}
	if hdr[0] != protocol.CodeVersion {
		return 0, fmt.Errorf("%w: frame of version %q", ErrProtocol, hdr[0])
	}
	switch hdr[1] {
	case protocol.CodeJSONDataFrame:
		return 1, s.readEvent(ctx, r, w)
	case protocol.CodeCompressed:
		if inner {
			return 0, fmt.Errorf("%w: compressed frame inside a compressed frame", ErrProtocol)
		}
		return s.readCompressed(ctx, r, w, want)
	}
	return 0, fmt.Errorf("%w: unknown frame type %q", ErrProtocol, hdr[1])
}

func (s *session) readEvent(ctx context.Context, r io.Reader, w *window) error {
	var hdr [8]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return frameErr(err)
	}
	seq, size := binary.BigEndian.Uint32(hdr[:4]), binary.BigEndian.Uint32(hdr[4:])
	w.lastSeq = seq
	if err := s.charge(w, int64(size)); err != nil {
		return err
	}
	if int(size) > s.l.MaxEventSize() {
		// Skipped without being held in memory.
		if _, err := io.CopyN(io.Discard, r, int64(size)); err != nil {
			return frameErr(err)
		}
		s.skip(seq, fmt.Errorf("%w: %d bytes, more than %d", collector.ErrEventTooLarge, size, s.l.MaxEventSize()))
		return nil
	}
	payload := make([]byte, size)
	if _, err := io.ReadFull(r, payload); err != nil {
		return frameErr(err)
	}
	ev, _, replaced, err := jsonevent.DecodeText(payload, collector.Options{MaxEventSize: s.l.MaxEventSize()})
	if err != nil {
		s.skip(seq, err)
		return nil
	}
	if replaced != nil {
		// Kept with U+FFFD: one hostile byte must not hide the event
		// from the rules. Counted and logged as a bad event all the same.
		s.errors++
		s.l.CountError(listen.ReasonBadEvent, 1)
		s.log.Warn().Uint32("seq", seq).Err(replaced).Msg("event kept")
	}
	s.l.Stamp(ev, s.c.Peer)
	if err := s.out.Add(ctx, bus.Subject(bus.SubjectRaw, ev.Computer), ev, ev.Identity()); err != nil {
		return fmt.Errorf("%w: %w", errNotStored, err)
	}
	s.events++
	return nil
}

// readCompressed inflates a compressed frame and reads the frames inside
// it. The events inside count against max_batch_bytes as they inflate, so
// a small frame that inflates to much is refused as soon as it does.
func (s *session) readCompressed(ctx context.Context, r io.Reader, w *window, want uint32) (uint32, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, frameErr(err)
	}
	size := int64(binary.BigEndian.Uint32(hdr[:]))
	if limit := s.l.MaxBatchBytes(); size > limit {
		return 0, fmt.Errorf("%w: compressed frame of %d bytes, more than max_batch_bytes (%d); lower the Beat's bulk_max_size", ErrProtocol, size, limit)
	}
	compressed := io.LimitReader(r, size)
	zr, err := zlib.NewReader(compressed)
	if err != nil {
		return 0, fmt.Errorf("%w: compressed frame: %w", ErrProtocol, frameErr(err))
	}
	defer zr.Close()
	var read uint32
	for read < want {
		n, err := s.readFrame(ctx, zr, w, want-read, true)
		if err == io.EOF && read > 0 {
			break // fewer events in this frame than in the window: more frames follow
		}
		if err != nil {
			return read, frameErr(err)
		}
		read += n
	}
	// What is left of the frame holds no events: skip it.
	if _, err := io.Copy(io.Discard, compressed); err != nil {
		return read, frameErr(err)
	}
	return read, nil
}

// charge counts n bytes (and a frame header) against the window's budget.
func (s *session) charge(w *window, n int64) error {
	w.bytes += n + frameHeader
	if limit := s.l.MaxBatchBytes(); w.bytes > limit {
		return fmt.Errorf("%w: window larger than max_batch_bytes (%d bytes); lower the Beat's bulk_max_size", ErrProtocol, limit)
	}
	return nil
}

func (s *session) skip(seq uint32, err error) {
	s.errors++
	s.l.CountError(listen.ReasonBadEvent, 1)
	s.log.Warn().Uint32("seq", seq).Err(err).Msg("skipped event")
}

// frameErr turns an end of input inside a frame into a protocol error.
func frameErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: stream ends inside a frame", ErrProtocol)
	}
	return err
}
