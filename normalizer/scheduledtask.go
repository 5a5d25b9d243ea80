package normalizer

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// The scheduled-task events (4698–4702) carry the task's definition, an
// XML document, in TaskContent (TaskContentNew for 4702). Elastic Agent's
// decode_xml processor (to_lower: true) parses it on the host into
// winlog._tmp.scheduled_task.task_content(_new), security_scheduled_task.yml
// normalizes that into winlog.scheduled_task.* and security_common.yml
// removes _tmp. weft does the decoding itself (decodeTaskXML) and runs the
// script (scheduledTask); _tmp is never written. This runs for five event
// IDs only, so it builds small maps rather than keeping the stage's
// allocation-free path.

// Bounds on a TaskContent document: Task Scheduler's own definitions are a
// few KiB, a dozen levels deep and some dozens of elements.
const (
	maxTaskContentBytes = 1 << 20
	maxTaskDepth        = 32
	maxTaskNodes        = 10000 // elements and attributes
)

// The Painless params of security_scheduled_task.yml, in its order
// (functions returning arrays, so there is no package-level state).
func taskActionKeys() [2]string { return [...]string{"exec", "comhandler"} }

func taskTriggerKeys() [9]string {
	return [...]string{
		"boottrigger", "wnfstatechangetrigger", "timetrigger", "calendartrigger", "logontrigger",
		"registrationtrigger", "sessionstatechangetrigger", "eventtrigger", "idletrigger",
	}
}

func taskActionDefinitionKeys() [6]string {
	return [...]string{"type", "context", "command", "arguments", "working_directory", "class_id"}
}

func taskTriggerDefinitionKeys() [5]string {
	return [...]string{"type", "enabled", "interval", "duration", "stop_at_duration_end"}
}

func taskActionType(k string) string {
	if k == "comhandler" {
		return "com_handler"
	}
	return k
}

func taskTriggerType(k string) string {
	switch k {
	case "boottrigger":
		return "boot"
	case "wnfstatechangetrigger":
		return "wnf_state_change"
	case "timetrigger":
		return "time"
	case "calendartrigger":
		return "calendar"
	case "logontrigger":
		return "logon"
	case "registrationtrigger":
		return "registration"
	case "sessionstatechangetrigger":
		return "session_state_change"
	case "eventtrigger":
		return "event"
	}
	return "idle"
}

// taskDecoder is Beats' decode_xml with to_lower: true: an element is a
// map of its child elements and attributes by lower-cased local name, a
// child name that repeats holds a list in document order and an attribute
// replaces a child of its name, the element's text (its last run of
// character data, trimmed, as Beats keeps it) is "#text" when there are
// children or attributes, and an element with neither is its text (so
// <BootTrigger/> is "").
type taskDecoder struct {
	d     *xml.Decoder
	nodes int
}

// decodeTaskXML decodes a TaskContent document into the map decode_xml
// makes of it; errors say what is wrong and where.
func decodeTaskXML(s string) (map[string]any, error) {
	if len(s) > maxTaskContentBytes {
		return nil, fmt.Errorf("%d bytes, over the limit of %d", len(s), maxTaskContentBytes)
	}
	d := xml.NewDecoder(strings.NewReader(s))
	// Windows declares encoding="UTF-16" for the text it wrote; the event
	// hands it over already decoded, so the declaration is not acted on.
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	td := taskDecoder{d: d}
	root := map[string]any{}
	if _, err := td.children(root, 0); err != nil {
		return nil, err
	}
	return root, nil
}

// children adds the elements under the current one to m until its end
// (or the document's, at depth 0) and returns its text, trimmed.
func (td *taskDecoder) children(m map[string]any, depth int) (string, error) {
	var text string
	for {
		tok, err := td.d.Token()
		if errors.Is(err, io.EOF) {
			if depth > 0 {
				return "", fmt.Errorf("line %d: document ends inside an element", lineOf(td.d))
			}
			return "", nil
		}
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth+1 > maxTaskDepth {
				return "", fmt.Errorf("line %d: elements nested deeper than %d", lineOf(td.d), maxTaskDepth)
			}
			td.nodes += 1 + len(t.Attr)
			if td.nodes > maxTaskNodes {
				return "", fmt.Errorf("line %d: more than %d elements and attributes", lineOf(td.d), maxTaskNodes)
			}
			child := make(map[string]any, len(t.Attr))
			s, err := td.children(child, depth+1)
			if err != nil {
				return "", err
			}
			for _, a := range t.Attr {
				child[strings.ToLower(a.Name.Local)] = a.Value
			}
			var v any = child
			if len(child) == 0 {
				v = s
			} else if s != "" {
				child["#text"] = s
			}
			addTaskValue(m, strings.ToLower(t.Name.Local), v)
		case xml.CharData:
			// Beats keeps the last run only: text before a child or a
			// comment is lost.
			text = string(bytes.TrimSpace(t))
		case xml.EndElement:
			return text, nil
		}
	}
}

func lineOf(d *xml.Decoder) int {
	line, _ := d.InputPos()
	return line
}

// addTaskValue adds a child element's v under k, turning a repeated name
// into a list.
func addTaskValue(m map[string]any, k string, v any) {
	old, ok := m[k]
	if !ok {
		m[k] = v
		return
	}
	if l, ok := old.([]any); ok {
		m[k] = append(l, v)
		return
	}
	m[k] = []any{old, v}
}

// scheduledTask is security_scheduled_task.yml, run where security_default.yml
// calls it: on the auditing provider's 4698–4701 with TaskContent and 4702
// with TaskContentNew. A TaskContent that does not decode is reported in
// error.message, and the rest of the document is produced.
func (n *Normalizer) scheduledTask() {
	name := "TaskContent"
	switch n.r.EventID {
	case 4698, 4699, 4700, 4701:
	case 4702:
		name = "TaskContentNew"
	default:
		return
	}
	if n.r.Provider != securityProvider {
		return
	}
	content, ok := "", false
	// decode_xml reads the value as the event carries it.
	for i := range n.r.Data {
		if n.r.Data[i].Name == name {
			content, ok = n.r.Data[i].Value, true
			break
		}
	}
	if !ok || strings.TrimSpace(content) == "" {
		return
	}
	decoded, err := decodeTaskXML(content)
	if err != nil {
		n.problem(fmt.Sprintf("winlog.event_data.%s: not a task definition: %v", name, err))
		return
	}
	n.setScheduledTask(normalizeTask(decoded))
}

// scheduledTaskFields is the script's winlog.scheduled_task, but for
// name, which security_common.yml sets.
type scheduledTaskFields struct {
	uri               string
	hasURI            bool
	principals        []any
	enabled, hidden   any // bool or nil
	triggers, actions []any
}

func (n *Normalizer) setScheduledTask(f scheduledTaskFields) {
	rec := &n.rec
	if len(f.actions) > 0 {
		rec.mark(kWinlogScheduledTaskActions).kind, rec.vals[kWinlogScheduledTaskActions].box = vTree, f.actions
	}
	if len(f.principals) > 0 {
		rec.mark(kWinlogScheduledTaskPrincipals).kind, rec.vals[kWinlogScheduledTaskPrincipals].box = vTree, f.principals
	}
	if b, ok := f.enabled.(bool); ok {
		rec.setBool(kWinlogScheduledTaskSettingsEnabled, b)
	}
	if b, ok := f.hidden.(bool); ok {
		rec.setBool(kWinlogScheduledTaskSettingsHidden, b)
	}
	if len(f.triggers) > 0 {
		rec.mark(kWinlogScheduledTaskTriggers).kind, rec.vals[kWinlogScheduledTaskTriggers].box = vTree, f.triggers
	}
	if f.hasURI {
		rec.setStr(kWinlogScheduledTaskURI, f.uri)
	}
}

// normalizeTask is the script's body after it has picked the decoded map.
func normalizeTask(decoded map[string]any) scheduledTaskFields {
	task := taskMap(decoded["task"])
	if task == nil {
		task = decoded
	}
	var f scheduledTaskFields
	if ri := taskMap(task["registrationinfo"]); ri != nil {
		f.uri, f.hasURI = taskText(ri["uri"])
	}
	f.principals = taskPrincipals(task)
	if settings := taskMap(task["settings"]); settings != nil {
		f.enabled = taskBool(settings["enabled"])
		f.hidden = taskBool(settings["hidden"])
	}
	f.triggers = taskTriggers(task)
	f.actions = taskActions(task)
	return f
}

func taskMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// taskList is the script's asList.
func taskList(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	}
	return []any{v}
}

// taskText is the script's text: a map's "#text", a value's toString,
// absent when empty.
func taskText(v any) (string, bool) {
	if m, ok := v.(map[string]any); ok {
		v = m["#text"]
	}
	if v == nil {
		return "", false
	}
	s := javaString(v)
	return s, s != ""
}

// javaString is Java's toString of a decoded value. A HashMap prints its
// entries in hash order, which weft cannot reproduce; it prints them
// sorted.
func javaString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		if x {
			return "true"
		}
		return "false"
	case []any:
		var b strings.Builder
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(javaString(e))
		}
		b.WriteByte(']')
		return b.String()
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var b strings.Builder
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k)
			b.WriteByte('=')
			b.WriteString(javaString(x[k]))
		}
		b.WriteByte('}')
		return b.String()
	}
	return "null"
}

// taskBool is the script's boolValue: true, false or nil.
func taskBool(v any) any {
	s, ok := taskText(v)
	if !ok {
		return nil
	}
	switch strings.ToLower(s) {
	case "true", "1":
		return true
	case "false", "0":
		return false
	}
	return nil
}

// putTaskText is the script's putText.
func putTaskText(target map[string]any, field string, source map[string]any, k string) {
	if source == nil {
		return
	}
	if s, ok := taskText(source[k]); ok {
		target[field] = s
	}
}

func taskPrincipals(task map[string]any) []any {
	block := taskMap(task["principals"])
	if block == nil {
		return nil
	}
	var out []any
	for _, v := range taskList(block["principal"]) {
		p := taskMap(v)
		if p == nil {
			continue
		}
		principal := map[string]any{}
		putTaskText(principal, "id", p, "id")
		if s, ok := taskText(p["userid"]); ok {
			principal["user"] = map[string]any{"identifier": s}
		}
		if s, ok := taskText(p["groupid"]); ok {
			principal["group"] = map[string]any{"identifier": s}
		}
		if s, ok := taskText(p["logontype"]); ok {
			principal["logon"] = map[string]any{"type": s}
		}
		putTaskText(principal, "run_level", p, "runlevel")
		if len(principal) > 0 {
			out = append(out, principal)
		}
	}
	return out
}

func taskTriggers(task map[string]any) []any {
	block := taskMap(task["triggers"])
	if block == nil {
		return nil
	}
	var out []any
	defKeys := taskTriggerDefinitionKeys()
	for _, k := range taskTriggerKeys() {
		typ := taskTriggerType(k)
		for _, v := range taskList(block[k]) {
			tb := taskMap(v)
			// An empty element (<BootTrigger/>) decodes as "" and still
			// defines a trigger; other text cannot.
			if _, ok := taskText(v); tb == nil && ok {
				continue
			}
			trigger := map[string]any{"type": typ}
			// putBoolDefault: Task Scheduler's default is enabled.
			if e, ok := tb["enabled"]; !ok || tb == nil {
				trigger["enabled"] = true
			} else if b := taskBool(e); b != nil {
				trigger["enabled"] = b
			}
			def := map[string]any{"type": typ, "enabled": trigger["enabled"]}
			if rb := taskMap(tb["repetition"]); rb != nil {
				rep := map[string]any{}
				putTaskText(rep, "interval", rb, "interval")
				putTaskText(rep, "duration", rb, "duration")
				if b := taskBool(rb["stopatdurationend"]); b != nil {
					rep["stop_at_duration_end"] = b
				}
				if len(rep) > 0 {
					trigger["repetition"] = rep
					for k, v := range rep {
						def[k] = v
					}
				}
			}
			trigger["definition"] = canonicalTaskDefinition(def, defKeys[:])
			out = append(out, trigger)
		}
	}
	return out
}

func taskActions(task map[string]any) []any {
	block := taskMap(task["actions"])
	if block == nil {
		return nil
	}
	context, hasContext := taskText(block["context"])
	var out []any
	defKeys := taskActionDefinitionKeys()
	for _, k := range taskActionKeys() {
		typ := taskActionType(k)
		for _, v := range taskList(block[k]) {
			ab := taskMap(v)
			if ab == nil {
				continue
			}
			action := map[string]any{"type": typ}
			if hasContext {
				action["context"] = context
			}
			if typ == "exec" {
				putTaskText(action, "command", ab, "command")
				putTaskText(action, "arguments", ab, "arguments")
				putTaskText(action, "working_directory", ab, "workingdirectory")
			} else {
				putTaskText(action, "class_id", ab, "classid")
			}
			action["definition"] = canonicalTaskDefinition(action, defKeys[:])
			out = append(out, action)
		}
	}
	return out
}

// canonicalTaskDefinition is the script's canonicalDefinition:
// "v=1|key=value…" over keys, a missing value left empty, and %, |, =,
// control characters and DEL escaped as %XX.
func canonicalTaskDefinition(values map[string]any, keys []string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.WriteString("v=1")
	for _, k := range keys {
		b.WriteByte('|')
		b.WriteString(k)
		b.WriteByte('=')
		v, ok := values[k]
		if !ok || v == nil {
			continue
		}
		// Only ASCII is escaped, so going byte by byte treats UTF-8 as
		// Java's charAt treats UTF-16.
		s := javaString(v)
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c == '%' || c == '|' || c == '=' || c < 32 || c == 127 {
				b.WriteByte('%')
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&15])
				continue
			}
			b.WriteByte(c)
		}
	}
	return b.String()
}

// appendTree writes a vTree value as msgpack, maps with sorted keys as
// bus.Encode writes them.
func appendTree(b []byte, v any) []byte {
	switch x := v.(type) {
	case []any:
		b = appendArrayLen(b, len(x))
		for _, e := range x {
			b = appendTree(b, e)
		}
		return b
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = appendMapLen(b, len(keys))
		for _, k := range keys {
			b = appendString(b, k)
			b = appendTree(b, x[k])
		}
		return b
	}
	return appendAny(b, v)
}
