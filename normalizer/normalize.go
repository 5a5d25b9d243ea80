package normalizer

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/weft-dev/weft/event"
)

const (
	sysmonProvider = "Microsoft-Windows-Sysmon"
	sysmonChannel  = "Microsoft-Windows-Sysmon/Operational"
	// ecsVersion is what the pipeline's first processor sets.
	ecsVersion = "8.0.0"
	zeroGUID   = "{00000000-0000-0000-0000-000000000000}"
)

// Error lists what was wrong with one raw event. The document was still
// produced from whatever was valid, and carries the same problems, one per
// entry, in error.message.
type Error struct {
	// Where names the event: its origin (file, chunk and offset, or
	// listener and peer) and its computer, channel and record id.
	Where    string
	Problems []string
}

func (e *Error) Error() string {
	return "normalize " + e.Where + ": " + strings.Join(e.Problems, "; ")
}

// Normalize turns a raw Windows event into its ECS document as Winlogbeat
// and Elastic's windows.sysmon_operational ingest pipeline together would
// store it. Sysmon events (provider Microsoft-Windows-Sysmon) go through the
// whole pipeline; other events get the fields Winlogbeat gives every event.
//
// A document is always returned. The error, when not nil, is an *Error
// describing the problems found in the event, which are also recorded on
// the document as error.message; the caller only counts or logs it.
func Normalize(r *event.Raw) (doc event.Document, err error) {
	if r == nil {
		problem := "no event given"
		return event.Document{
			"ecs":   map[string]any{"version": ecsVersion},
			"error": map[string]any{"message": []any{problem}},
		}, &Error{Where: "nil event", Problems: []string{problem}}
	}
	n := run{r: r}
	defer func() {
		// A fault in the mapping must cost one event, not the stage: keep
		// what was built and say what happened.
		if p := recover(); p != nil {
			if n.doc == nil {
				n.doc = event.Document{}
			}
			n.problem(fmt.Sprintf("normalizer fault: %v", p))
			child(n.doc, "event", 4)["kind"] = "pipeline_error"
			doc, err = n.doc, n.finishErrors()
		}
	}()
	n.winlogbeat()
	if n.sysmon {
		n.pipeline()
	}
	n.finishEventData()
	return n.doc, n.finishErrors()
}

// run is the state of one Normalize call.
type run struct {
	r        *event.Raw
	doc      event.Document
	ed       eventData
	code     string // event.code
	sid      any    // the System block's user SID, boxed, or nil
	sysmon   bool
	problems []string

	// Objects of the document that most events fill, kept at hand.
	winlog, evt, process, parent map[string]any
}

func (n *run) problem(msg string) { n.problems = append(n.problems, msg) }

// winlogbeat builds what Winlogbeat sends for any event: winlog.*, the
// event.* it sets, @timestamp from TimeCreated, log.level, and host.*.
func (n *run) winlogbeat() {
	r := n.r
	n.doc = make(event.Document, 16)
	n.code = strconv.FormatUint(uint64(r.EventID), 10)
	n.sysmon = strings.EqualFold(r.Provider, sysmonProvider) || strings.EqualFold(r.Channel, sysmonChannel)

	n.doc["ecs"] = map[string]any{"version": ecsVersion}
	// Values stored twice are boxed once.
	var code, computer, provider any = n.code, r.Computer, r.Provider
	if r.UserSID != "" {
		n.sid = r.UserSID
	}

	w := make(map[string]any, 14)
	// channel, computer_name and record_id are always set: the document's
	// identity (event.Document.Identity) is read from them.
	w["channel"] = r.Channel
	w["computer_name"] = computer
	// The pipeline converts record_id to a string.
	w["record_id"] = strconv.FormatUint(r.RecordID, 10)
	w["event_id"] = code
	w["provider_name"] = provider
	if r.ProviderGUID != "" {
		guid := r.ProviderGUID
		if g, ok := canonicalGUID(guid); ok {
			guid = g
		}
		w["provider_guid"] = guid
	}
	if r.Version != 0 {
		w["version"] = int64(r.Version)
	}
	if op, ok := opcodeName(r.Opcode); ok {
		w["opcode"] = op
	}
	if n.sysmon {
		if task, ok := sysmonTask(r.Task); ok {
			w["task"] = task
		}
	}
	if r.ProcessID != 0 || r.ThreadID != 0 {
		p := make(map[string]any, 2)
		if r.ProcessID != 0 {
			p["pid"] = int64(r.ProcessID)
		}
		if r.ThreadID != 0 {
			p["thread"] = map[string]any{"id": int64(r.ThreadID)}
		}
		w["process"] = p
	}
	if r.UserSID != "" {
		w["user"] = map[string]any{"identifier": n.sid}
	}
	n.doc["winlog"] = w
	n.winlog = w

	e := make(map[string]any, 10)
	e["kind"] = "event"
	e["code"] = code
	if r.Provider != "" {
		e["provider"] = provider
	}
	if n.sysmon {
		// Neither is set by the pipeline itself: Winlogbeat's sysmon module
		// sets event.module, Elastic Agent sets event.dataset.
		e["module"] = "sysmon"
		e["dataset"] = "windows.sysmon_operational"
	}
	if !r.TimeCreated.IsZero() {
		var created any = formatMillis(r.TimeCreated)
		e["created"] = created
		n.doc["@timestamp"] = created
	}
	n.doc["event"] = e
	n.evt = e

	if level, ok := levelName(r.Level); ok {
		n.doc["log"] = map[string]any{"level": level}
	}

	host := make(map[string]any, 3)
	host["os"] = map[string]any{"type": "windows"}
	if r.Computer != "" {
		host["name"] = computer
		host["id"] = HostID(r.Computer)
	}
	n.doc["host"] = host

	if r.Provider == "" {
		n.problem("System/Provider: missing")
	}
	if r.Computer == "" {
		n.problem("System/Computer: missing")
	}
	if r.Channel == "" {
		n.problem("System/Channel: missing")
	}
	if r.RecordID == 0 {
		n.problem("System/EventRecordID: missing")
	}
	if r.TimeCreated.IsZero() {
		n.problem("System/TimeCreated: missing")
	}

	for _, name := range n.ed.load(r.Data) {
		n.problem("winlog.event_data." + name + ": repeated; the first value is kept")
	}
}

// finishEventData writes winlog.event_data from the fields still in it.
func (n *run) finishEventData() {
	live := n.ed.live()
	if live == 0 {
		return
	}
	m := make(map[string]any, live)
	for i := range n.ed.fields {
		f := &n.ed.fields[i]
		if f.gone {
			continue
		}
		if _, dup := m[f.name]; dup {
			n.problem("winlog.event_data." + f.name + ": repeated; the first value is kept")
			continue
		}
		m[f.name] = f.box()
	}
	n.winlog["event_data"] = m
}

// finishErrors records the problems on the document as error.message and
// returns them as an *Error.
func (n *run) finishErrors() error {
	if len(n.problems) == 0 {
		return nil
	}
	errObj := child(n.doc, "error", 2)
	msgs, _ := errObj["message"].([]any)
	for _, p := range n.problems {
		msgs = append(msgs, p)
	}
	errObj["message"] = msgs
	return &Error{Where: where(n.r), Problems: n.problems}
}

// where names an event for error messages: where it was read and which
// record it is.
func where(r *event.Raw) string {
	var b strings.Builder
	o := r.Origin
	switch {
	case o.Path != "":
		fmt.Fprintf(&b, "file %s chunk %d offset %d", o.Path, o.Chunk, o.Offset)
	case o.Peer != "" || o.Listener != "":
		fmt.Fprintf(&b, "peer %s on %s", o.Peer, o.Listener)
	case o.Kind != "":
		b.WriteString(o.Kind)
	default:
		b.WriteString("event")
	}
	fmt.Fprintf(&b, ": record %d of %s %s (event %d)", r.RecordID, r.Computer, r.Channel, r.EventID)
	return b.String()
}

// child returns m[key] as an object, creating it when absent.
func child(m map[string]any, key string, hint int) map[string]any {
	if c, ok := m[key].(map[string]any); ok {
		return c
	}
	c := make(map[string]any, hint)
	m[key] = c
	return c
}

// appendUnique appends v to the list at m[key] unless it is already there,
// as the append processor with allow_duplicates: false does.
func appendUnique(m map[string]any, key string, v any) {
	list, _ := m[key].([]any)
	for _, x := range list {
		if x == v {
			return
		}
	}
	if list == nil {
		list = make([]any, 0, 2)
	}
	m[key] = append(list, v)
}
