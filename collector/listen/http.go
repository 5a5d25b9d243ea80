package listen

import (
	"bufio"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/collector"
	"github.com/weft-dev/weft/collector/jsonevent"
	"github.com/weft-dev/weft/event"
)

// EventsPath is the path events are posted to.
const EventsPath = "/v1/events"

// maxProblems bounds the per-event errors listed in a response.
const maxProblems = 20

// Response is the JSON body of every answer to POST /v1/events.
type Response struct {
	// Events is how many events are stored.
	Events int `json:"events"`
	// Errors is how many were skipped, and Problems says why (the first
	// few, each with its line in the body).
	Errors   int      `json:"errors"`
	Problems []string `json:"problems,omitempty"`
	// Error says why the request as a whole was not taken.
	Error string `json:"error,omitempty"`
}

// ServeHTTP takes POST /v1/events on l until ctx ends. The body is
// rendered event XML (an <Events> document or <Event>s back to back) or
// NDJSON, by Content-Type (application/xml, text/xml; application/x-ndjson,
// application/json) or else by its first byte.
//
// The answer is 200 once every event of the body is stored in JetStream,
// with a Response saying how many were stored and which were skipped; 400
// when the body held no usable event; 401 for a missing or wrong bearer
// token; 413 for a body over max_batch_bytes; and 503 with Retry-After
// when the bus did not store the events within publish_timeout, after
// which the sender sends the body again (events already stored are
// recognised as duplicates).
func ServeHTTP(ctx context.Context, l *Listener, b *bus.Bus) error {
	h := &eventsHandler{l: l, bus: b}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.cfg.idleTimeout(),
		IdleTimeout:       l.cfg.idleTimeout(),
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          log.New(logWriter{l}, "", 0),
	}
	ln := &limitListener{Listener: l.ln, l: l}
	var serving net.Listener = ln
	if l.tls != nil {
		serving = tls.NewListener(ln, l.tls)
	}
	l.log.Info().Msg("listening")
	done := make(chan error, 1)
	go func() { done <- srv.Serve(serving) }()
	select {
	case err := <-done:
		return fmt.Errorf("%s: %w", l.Name(), err)
	case <-ctx.Done():
	}
	// Requests in flight finish storing their events and are answered.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DrainTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("%s: %w", l.Name(), err)
	}
	return nil
}

type eventsHandler struct {
	l   *Listener
	bus *bus.Bus
}

func (h *eventsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := h.l.log.With().Str("peer", r.RemoteAddr).Logger()
	if r.URL.Path != EventsPath {
		h.l.CountError(ReasonBadRequest, 1)
		answer(w, http.StatusNotFound, Response{Error: "not found: events are posted to " + EventsPath})
		return
	}
	if r.Method != http.MethodPost {
		h.l.CountError(ReasonBadRequest, 1)
		w.Header().Set("Allow", http.MethodPost)
		answer(w, http.StatusMethodNotAllowed, Response{Error: "use POST"})
		return
	}
	if h.l.token != "" && !h.authorized(r) {
		h.l.CountError(ReasonUnauthorized, 1)
		log.Warn().Msg("refused request: missing or wrong bearer token")
		w.Header().Set("WWW-Authenticate", `Bearer realm="weft"`)
		answer(w, http.StatusUnauthorized, Response{Error: "missing or wrong bearer token"})
		return
	}
	if enc := r.Header.Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, "identity") {
		h.l.CountError(ReasonBadRequest, 1)
		answer(w, http.StatusUnsupportedMediaType, Response{Error: "Content-Encoding " + enc + " is not supported"})
		return
	}
	if !h.bus.Connected() {
		log.Warn().Msg("refused request: the bus is unavailable")
		h.busy(w, errors.New("the bus is unavailable"))
		return
	}

	if limit := h.l.cfg.maxBatchBytes(); r.ContentLength > limit {
		h.l.CountError(ReasonTooLarge, 1)
		log.Warn().Int64("max_batch_bytes", limit).Int64("content_length", r.ContentLength).Msg("refused request: body too large")
		answer(w, http.StatusRequestEntityTooLarge, Response{Error: fmt.Sprintf("body larger than %d bytes: send fewer events per request", limit)})
		return
	}
	rc := http.NewResponseController(w)
	idle := h.l.cfg.idleTimeout()
	body := http.MaxBytesReader(w, r.Body, h.l.cfg.maxBatchBytes())
	br := bufio.NewReaderSize(&deadlineReader{r: body, rc: rc, idle: idle}, 64<<10)
	format := formatOf(r.Header.Get("Content-Type"))
	if format == "" {
		var err error
		format, err = sniff(br)
		if err != nil && !errors.Is(err, io.EOF) {
			h.readFailed(w, log, err, Response{})
			return
		}
	}

	out := bus.NewBatcher[*event.Raw](h.bus, "raw")
	var busErr error
	store := func(op func(context.Context) error) error {
		ctx, cancel := context.WithTimeout(r.Context(), h.l.cfg.publishTimeout())
		defer cancel()
		if err := op(ctx); err != nil {
			busErr = err
			return err
		}
		return nil
	}
	var resp Response
	opts := collector.Options{MaxEventSize: h.l.cfg.maxEventSize()}
	emit := func(ev *event.Raw) error {
		h.l.Stamp(ev, r.RemoteAddr)
		return store(func(ctx context.Context) error {
			return out.Add(ctx, bus.Subject(bus.SubjectRaw, ev.Computer), ev, ev.Identity())
		})
	}
	report := func(err error) {
		h.l.CountError(ReasonBadEvent, 1)
		log.Warn().Str("format", format).Err(err).Msg("skipped event")
		if len(resp.Problems) < maxProblems {
			resp.Problems = append(resp.Problems, err.Error())
		}
	}
	name := "body from " + r.RemoteAddr
	var st collector.Stats
	var err error
	if format == formatXML {
		st, err = collector.ReadXML(r.Context(), br, name, opts, emit, report)
	} else {
		st, err = jsonevent.ReadNDJSON(r.Context(), br, name, opts, emit, report)
	}
	resp.Events, resp.Errors = st.Records, st.Errors
	if err == nil && busErr == nil {
		err = store(out.Flush)
	}
	switch {
	case busErr != nil:
		log.Warn().Err(busErr).Msg("answered 503: the bus did not store the events in time")
		h.busy(w, busErr)
	case err != nil:
		h.readFailed(w, log, err, resp)
	case resp.Events == 0 && resp.Errors == 0:
		h.l.CountError(ReasonBadRequest, 1)
		answer(w, http.StatusBadRequest, Response{Error: "the body holds no event"})
	case resp.Events == 0:
		h.l.CountError(ReasonBadRequest, 1)
		resp.Error = "no event in the body could be used"
		answer(w, http.StatusBadRequest, resp)
	default:
		h.l.CountEvents(resp.Events)
		log.Debug().Str("format", format).Int("events", resp.Events).Int("errors", resp.Errors).Msg("stored")
		answer(w, http.StatusOK, resp)
	}
}

func (h *eventsHandler) authorized(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(h.l.token)) == 1
}

// busy answers 503: the sender keeps the events and sends them again.
func (h *eventsHandler) busy(w http.ResponseWriter, err error) {
	h.l.CountError(ReasonNotStored, 1)
	secs := int(math.Ceil(h.l.cfg.publishTimeout().Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	answer(w, http.StatusServiceUnavailable, Response{Error: "events not stored, send them again later: " + err.Error()})
}

// readFailed answers a body that could not be read to its end.
func (h *eventsHandler) readFailed(w http.ResponseWriter, log zerolog.Logger, err error, resp Response) {
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		h.l.CountError(ReasonTooLarge, 1)
		log.Warn().Int64("max_batch_bytes", tooLarge.Limit).Msg("refused request: body too large")
		resp.Error = fmt.Sprintf("body larger than %d bytes: send fewer events per request", tooLarge.Limit)
		answer(w, http.StatusRequestEntityTooLarge, resp)
	case IsIdle(err):
		h.l.CountError(ReasonIdle, 1)
		log.Warn().Msg("request abandoned: nothing received within the idle timeout")
		resp.Error = "body not received within the idle timeout"
		answer(w, http.StatusRequestTimeout, resp)
	default:
		h.l.CountError(ReasonBadRequest, 1)
		log.Warn().Err(err).Msg("request failed")
		resp.Error = err.Error()
		answer(w, http.StatusBadRequest, resp)
	}
}

func answer(w http.ResponseWriter, code int, resp Response) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(resp)
}

// formatOf maps a Content-Type to a body format; "" leaves it to sniffing.
func formatOf(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	switch {
	case mt == "application/xml" || mt == "text/xml" || strings.HasSuffix(mt, "+xml"):
		return formatXML
	case mt == "application/json" || mt == "application/x-ndjson" || mt == "application/ndjson" ||
		mt == "application/jsonlines" || mt == "application/x-jsonlines":
		return formatJSON
	}
	return ""
}

// deadlineReader gives every read of the body the idle timeout, so that a
// sender who stops half-way through a body does not hold the request.
type deadlineReader struct {
	r    io.Reader
	rc   *http.ResponseController
	idle time.Duration
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	_ = d.rc.SetReadDeadline(time.Now().Add(d.idle))
	return d.r.Read(p)
}

// limitListener refuses connections beyond max_connections, naming the
// peer, and frees a slot when a connection closes.
type limitListener struct {
	net.Listener
	l *Listener
}

func (ll *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := ll.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if ll.l.acquire(c) {
			closed := ll.l.opened()
			return &releaseConn{Conn: c, release: func() {
				closed()
				<-ll.l.sem
			}}, nil
		}
	}
}

type releaseConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *releaseConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// logWriter sends net/http's own messages (TLS handshake failures, which
// name the peer) to the listener's log.
type logWriter struct{ l *Listener }

func (w logWriter) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	if strings.Contains(msg, "TLS handshake error") {
		w.l.CountError(ReasonTLS, 1)
	}
	w.l.log.Warn().Msg(msg)
	return len(p), nil
}
