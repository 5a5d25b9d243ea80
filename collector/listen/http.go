package listen

import (
	"bufio"
	"context"
	"crypto/subtle"
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

// answerTimeout bounds writing an answer.
const answerTimeout = 30 * time.Second

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
	ln := &connListener{addr: l.ln.Addr(), conns: make(chan *Conn), done: make(chan struct{})}
	srv := &http.Server{
		Handler: h,
		// A whole header within the event timeout, however it trickles.
		ReadHeaderTimeout: l.cfg.eventTimeout(),
		IdleTimeout:       l.cfg.idleTimeout(),
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          log.New(logWriter{l}, "", 0),
		// A keep-alive connection between requests gives way to a
		// newcomer when slots run out.
		ConnState: func(nc net.Conn, st http.ConnState) {
			if c, ok := nc.(*Conn); ok && (st == http.StateIdle || st == http.StateActive) {
				l.slots.setIdle(c.slot, st == http.StateIdle)
			}
		},
	}
	// Connections are accepted, their TLS handshakes done and their
	// first bytes awaited by the listener's own slots, then handed to
	// the server.
	accepted := make(chan error, 1)
	go func() {
		accepted <- l.acceptConns(ctx, true, nil, func(c *Conn) {
			select {
			case ln.conns <- c:
			case <-ln.done:
				_ = c.Close()
			}
		})
	}()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	var err error
	select {
	case err = <-done:
		err = fmt.Errorf("%s: %w", l.Name(), err)
		_ = l.ln.Close()
	case <-ctx.Done():
		// Requests in flight finish storing their events and are answered.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DrainTimeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			_ = srv.Close()
		}
		if serr := <-done; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
			err = fmt.Errorf("%s: %w", l.Name(), serr)
		}
	}
	ln.Close()
	<-accepted
	return err
}

// connListener hands the connections the listener opened to net/http.
type connListener struct {
	addr  net.Addr
	conns chan *Conn
	done  chan struct{}
	once  sync.Once
}

func (ln *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-ln.conns:
		return c, nil
	case <-ln.done:
		return nil, net.ErrClosed
	}
}

func (ln *connListener) Close() error {
	ln.once.Do(func() { close(ln.done) })
	return nil
}

func (ln *connListener) Addr() net.Addr { return ln.addr }

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
	body := http.MaxBytesReader(w, r.Body, h.l.cfg.maxBatchBytes())
	dr := &deadlineReader{r: body, rc: rc, per: h.l.cfg.eventTimeout()}
	dr.eventDone()
	br := bufio.NewReaderSize(dr, 64<<10)
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
		dr.eventDone()
		h.l.Stamp(ev, r.RemoteAddr)
		return store(func(ctx context.Context) error {
			return out.Add(ctx, bus.Subject(bus.SubjectRaw, ev.Computer), ev, ev.Identity())
		})
	}
	report := func(err error) {
		dr.eventDone()
		h.l.CountError(ReasonBadEvent, 1)
		log.Warn().Str("format", format).Err(err).Msg(problemMessage(err))
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
	case errors.Is(err, ErrEventTimeout):
		h.l.CountError(ReasonEventTimeout, 1)
		log.Warn().Dur("event_timeout", h.l.cfg.eventTimeout()).Msg("request abandoned: an event of the body was not received within the event timeout")
		resp.Error = "body not received in time: each event must arrive within the event timeout"
		answer(w, http.StatusRequestTimeout, resp)
	default:
		h.l.CountError(ReasonBadRequest, 1)
		log.Warn().Err(err).Msg("request failed")
		resp.Error = err.Error()
		answer(w, http.StatusBadRequest, resp)
	}
}

func answer(w http.ResponseWriter, code int, resp Response) {
	// A sender that does not read its answer does not hold the connection.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(answerTimeout))
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

// deadlineReader gives each event of a body the event timeout, counted
// over the time spent reading it, so that a sender who trickles a body or
// stops half-way through it does not hold the request.
type deadlineReader struct {
	r    io.Reader
	rc   *http.ResponseController
	per  time.Duration
	left time.Duration
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	if d.left <= 0 {
		return 0, ErrEventTimeout
	}
	start := time.Now()
	_ = d.rc.SetReadDeadline(start.Add(d.left))
	n, err := d.r.Read(p)
	d.left -= time.Since(start)
	if err != nil && IsIdle(err) {
		err = ErrEventTimeout
	}
	return n, err
}

// eventDone starts the next event's time.
func (d *deadlineReader) eventDone() { d.left = d.per }

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
