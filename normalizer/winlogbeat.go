package normalizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weft-dev/weft/event"
)

// SourceWinlogbeat is the Origin.Kind of events read from Winlogbeat JSON.
const SourceWinlogbeat = "winlogbeat"

// FromWinlogbeat turns a document Winlogbeat sent (decoded from JSON, with
// or without json.Decoder.UseNumber) back into the raw event it read, so
// that it is normalized like an event from EVTX or XML. It is Winlogbeat's
// mapping run backwards:
//
//   - winlog.event_id, record_id, computer_name, channel, provider_name,
//     provider_guid, version, process.pid, process.thread.id,
//     activity_id, related_activity_id and user.identifier give the
//     System block; winlog.time_created, else
//     @timestamp, gives TimeCreated.
//   - log.level (or winlog.level), winlog.opcode and, for Sysmon and the
//     Security auditing provider, winlog.task are rendered names; they go back to the numbers Windows
//     and Sysmon's manifest give them. A name that is not a standard one
//     leaves the number unset, so the document carries no made-up name.
//   - winlog.keywords gives the keywords winmeta.xml names ("Audit
//     Success", "Audit Failure", "Classic"), the only ones weft renders.
//   - event.original, the event's XML when Winlogbeat was asked to
//     include it, is kept as the raw event's XML (and so event.original).
//   - winlog.event_data (or winlog.user_data) gives EventData, ordered by
//     name since a JSON object keeps no order. Values that are not strings
//     are kept as their JSON text.
//
// The event's Origin is the caller's to fill in (Kind is SourceWinlogbeat).
// An error means the document is not a Windows event Winlogbeat could have
// sent: no winlog object, or no usable event_id, channel or computer_name.
func FromWinlogbeat(doc map[string]any) (*event.Raw, error) {
	winlog, ok := doc["winlog"].(map[string]any)
	if !ok {
		return nil, errors.New("winlogbeat: no winlog object")
	}
	r := &event.Raw{Origin: event.Origin{Kind: SourceWinlogbeat}}
	var errs []error
	need := func(name string) string {
		s, err := jsonString(winlog[name])
		if err != nil || s == "" {
			errs = append(errs, fmt.Errorf("winlog.%s: missing or not a string", name))
		}
		return s
	}
	r.Channel = need("channel")
	r.Computer = need("computer_name")
	id, err := jsonUint(winlog["event_id"], math.MaxUint32)
	if err != nil {
		errs = append(errs, fmt.Errorf("winlog.event_id: %w", err))
	}
	r.EventID = uint32(id)
	if len(errs) > 0 {
		return nil, fmt.Errorf("winlogbeat: %w", errors.Join(errs...))
	}

	r.Provider, _ = jsonString(winlog["provider_name"])
	r.ProviderGUID, _ = jsonString(winlog["provider_guid"])
	r.ActivityID, _ = jsonString(winlog["activity_id"])
	r.RelatedActivityID, _ = jsonString(winlog["related_activity_id"])
	if ev, ok := doc["event"].(map[string]any); ok {
		// The event's XML, which Winlogbeat sends when include_xml is on.
		r.XML, _ = ev["original"].(string)
	}
	if v, ok := winlog["record_id"]; ok {
		// Without one the normalizer reports the record id missing.
		if r.RecordID, err = jsonUint(v, math.MaxUint64); err != nil {
			return nil, fmt.Errorf("winlogbeat: winlog.record_id: %w", err)
		}
	}
	if v, ok := winlog["version"]; ok {
		version, err := jsonUint(v, math.MaxUint8)
		if err != nil {
			return nil, fmt.Errorf("winlogbeat: winlog.version: %w", err)
		}
		r.Version = uint8(version)
	}
	if p, ok := winlog["process"].(map[string]any); ok {
		pid, err := jsonUint(p["pid"], math.MaxUint32)
		if err != nil && p["pid"] != nil {
			return nil, fmt.Errorf("winlogbeat: winlog.process.pid: %w", err)
		}
		r.ProcessID = uint32(pid)
		if th, ok := p["thread"].(map[string]any); ok {
			tid, err := jsonUint(th["id"], math.MaxUint32)
			if err != nil && th["id"] != nil {
				return nil, fmt.Errorf("winlogbeat: winlog.process.thread.id: %w", err)
			}
			r.ThreadID = uint32(tid)
		}
	}
	if u, ok := winlog["user"].(map[string]any); ok {
		r.UserSID, _ = jsonString(u["identifier"])
	}

	created, _ := jsonString(winlog["time_created"])
	if created == "" {
		created, _ = jsonString(doc["@timestamp"])
	}
	if created != "" {
		t, err := time.Parse(time.RFC3339Nano, created)
		if err != nil {
			return nil, fmt.Errorf("winlogbeat: time %q: %w", created, err)
		}
		r.TimeCreated = t
	}

	level, _ := jsonString(winlog["level"])
	if logObj, ok := doc["log"].(map[string]any); ok && level == "" {
		level, _ = jsonString(logObj["level"])
	}
	r.Level = levelNumber(level)
	op, _ := jsonString(winlog["opcode"])
	r.Opcode = opcodeNumber(op)
	task, _ := jsonString(winlog["task"])
	r.Task = sysmonTaskNumber(task)
	if r.Task == 0 && task != "" && r.Provider == securityProvider {
		r.Task = securityTaskNumber(task)
	}
	if r.Task == 0 && task != "" && r.Provider == psClassicProvider {
		r.Task = psClassicTaskNumber(task)
	}
	if r.Provider == psOperationalProvider {
		for _, t := range [...]uint32{2, 102, 103, 106, 4097} {
			if v, _ := psOperationalTask(t); task != "" && v == task {
				r.Task = t
			}
		}
		for _, o := range [...]uint8{15, 20} {
			if v, _ := psOperationalOpcode(o); op != "" && v == op {
				r.Opcode = o
			}
		}
	}
	if kw, ok := winlog["keywords"].([]any); ok {
		var bits uint64
		for _, k := range kw {
			switch k {
			case "Audit Success":
				bits |= keywordAuditSuccess
			case "Audit Failure":
				bits |= keywordAuditFailure
			case "Classic":
				bits |= keywordClassic
			}
		}
		if bits != 0 {
			r.Keywords = "0x" + strconv.FormatUint(bits, 16)
		}
	}

	data, ok := winlog["event_data"].(map[string]any)
	if !ok {
		data, _ = winlog["user_data"].(map[string]any)
	}
	names := make([]string, 0, len(data))
	for name := range data {
		names = append(names, name)
	}
	slices.Sort(names)
	r.Data = make([]event.Field, 0, len(names))
	for _, name := range names {
		v, err := jsonString(data[name])
		if err != nil {
			b, _ := json.Marshal(data[name])
			v = string(b)
		}
		r.Data = append(r.Data, event.Field{Name: name, Value: v})
	}
	return r, nil
}

// jsonString reads a JSON string, or a number or boolean as its text.
func jsonString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(x), nil
	case nil:
		return "", errors.New("missing")
	}
	return "", fmt.Errorf("%T is not a string", v)
}

// jsonUint reads a non-negative integer up to limit given as a JSON number
// or a string.
func jsonUint(v any, limit uint64) (uint64, error) {
	var s string
	switch x := v.(type) {
	case nil:
		return 0, errors.New("missing")
	case float64:
		if x < 0 || x != math.Trunc(x) || x > float64(limit) {
			return 0, fmt.Errorf("%v is not an integer from 0 to %d", x, limit)
		}
		return uint64(x), nil
	case json.Number:
		s = x.String()
	case string:
		s = x
	default:
		return 0, fmt.Errorf("%T is not a number", v)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil || n > limit {
		return 0, fmt.Errorf("%q is not an integer from 0 to %d", s, limit)
	}
	return n, nil
}

// levelNumber is the inverse of levelName: Information is 4 (Windows
// renders level 0 the same way); a name it does not know gives a level
// levelName does not render.
func levelNumber(name string) uint8 {
	for level := uint8(1); level < 255; level++ {
		if n, ok := levelName(level); ok && strings.EqualFold(n.(string), name) {
			return level
		}
	}
	return 255
}

// opcodeNumber is the inverse of opcodeName; a name it does not know gives
// an opcode opcodeName does not render.
func opcodeNumber(name string) uint8 {
	for op := range uint8(255) {
		if n, ok := opcodeName(op); ok && n.(string) == name {
			return op
		}
	}
	return 255
}

// sysmonTaskNumber is the inverse of sysmonTask; 0 when unknown.
func sysmonTaskNumber(name string) uint32 {
	if name == "" {
		return 0
	}
	for task := range uint32(256) {
		if n, ok := sysmonTask(task); ok && n.(string) == name {
			return task
		}
	}
	return 0
}

// securityTaskNumber is the task number of a Security auditing task name:
// the message number of that text in msobjs.dll's table (securityTask).
func securityTaskNumber(name string) uint32 {
	code, ok := reversedDescription(name)
	if !ok {
		return 0
	}
	n, err := strconv.ParseUint(code, 10, 32)
	if err != nil {
		return 0
	}
	if back, ok := messageDescription(code); !ok || back != name {
		return 0
	}
	return uint32(n)
}
