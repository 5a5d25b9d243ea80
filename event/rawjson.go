package event

import (
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends r as encoding/json writes it with HTML escaping off
// (json.Encoder.SetEscapeHTML(false)), byte for byte, without reflection:
// weft dump writes a JSON line per event, and at EVTX decoding speed
// encoding/json would be most of its time. Like encoding/json it fails on
// a time whose year lies outside 0–9999.
func (r *Raw) AppendJSON(dst []byte) ([]byte, error) {
	for _, t := range []time.Time{r.TimeCreated, r.Origin.Received} {
		if y := t.Year(); y < 0 || y > 9999 {
			return dst, fmt.Errorf("event %d of %s: time %s: year outside of range [0,9999]", r.RecordID, r.Computer, t)
		}
	}
	dst = append(dst, `{"provider":`...)
	dst = appendJSONString(dst, r.Provider)
	if r.ProviderGUID != "" {
		dst = append(dst, `,"provider_guid":`...)
		dst = appendJSONString(dst, r.ProviderGUID)
	}
	dst = append(dst, `,"event_id":`...)
	dst = strconv.AppendUint(dst, uint64(r.EventID), 10)
	if r.Qualifiers != 0 {
		dst = append(dst, `,"qualifiers":`...)
		dst = strconv.AppendUint(dst, uint64(r.Qualifiers), 10)
	}
	dst = append(dst, `,"version":`...)
	dst = strconv.AppendUint(dst, uint64(r.Version), 10)
	dst = append(dst, `,"level":`...)
	dst = strconv.AppendUint(dst, uint64(r.Level), 10)
	dst = append(dst, `,"task":`...)
	dst = strconv.AppendUint(dst, uint64(r.Task), 10)
	dst = append(dst, `,"opcode":`...)
	dst = strconv.AppendUint(dst, uint64(r.Opcode), 10)
	if r.Keywords != "" {
		dst = append(dst, `,"keywords":`...)
		dst = appendJSONString(dst, r.Keywords)
	}
	dst = append(dst, `,"time_created":"`...)
	dst = r.TimeCreated.AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","record_id":`...)
	dst = strconv.AppendUint(dst, r.RecordID, 10)
	dst = append(dst, `,"process_id":`...)
	dst = strconv.AppendUint(dst, uint64(r.ProcessID), 10)
	dst = append(dst, `,"thread_id":`...)
	dst = strconv.AppendUint(dst, uint64(r.ThreadID), 10)
	dst = append(dst, `,"channel":`...)
	dst = appendJSONString(dst, r.Channel)
	dst = append(dst, `,"computer":`...)
	dst = appendJSONString(dst, r.Computer)
	if r.UserSID != "" {
		dst = append(dst, `,"user_sid":`...)
		dst = appendJSONString(dst, r.UserSID)
	}
	if r.ActivityID != "" {
		dst = append(dst, `,"activity_id":`...)
		dst = appendJSONString(dst, r.ActivityID)
	}
	if r.RelatedActivityID != "" {
		dst = append(dst, `,"related_activity_id":`...)
		dst = appendJSONString(dst, r.RelatedActivityID)
	}
	dst = append(dst, `,"data":`...)
	if r.Data == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i, f := range r.Data {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"name":`...)
			dst = appendJSONString(dst, f.Name)
			dst = append(dst, `,"value":`...)
			dst = appendJSONString(dst, f.Value)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"origin":`...)
	dst = r.Origin.appendJSON(dst)
	if r.XML != "" {
		dst = append(dst, `,"xml":`...)
		dst = appendJSONString(dst, r.XML)
	}
	return append(dst, '}'), nil
}

// MarshalJSON writes o as AppendJSON does: the chunk of an EVTX origin
// always, since chunk 0 is the first chunk, not a missing one (the field's
// omitempty would leave it out of every event of a file's first chunk);
// other origins have no chunk.
func (o Origin) MarshalJSON() ([]byte, error) {
	if y := o.Received.Year(); y < 0 || y > 9999 {
		return nil, fmt.Errorf("origin received %s: year outside of range [0,9999]", o.Received)
	}
	return o.appendJSON(nil), nil
}

func (o *Origin) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"kind":`...)
	dst = appendJSONString(dst, o.Kind)
	if o.Path != "" {
		dst = append(dst, `,"path":`...)
		dst = appendJSONString(dst, o.Path)
	}
	if o.Chunk != 0 || o.Kind == SourceEVTX {
		dst = append(dst, `,"chunk":`...)
		dst = strconv.AppendInt(dst, int64(o.Chunk), 10)
	}
	if o.Offset != 0 {
		dst = append(dst, `,"offset":`...)
		dst = strconv.AppendInt(dst, o.Offset, 10)
	}
	if o.Listener != "" {
		dst = append(dst, `,"listener":`...)
		dst = appendJSONString(dst, o.Listener)
	}
	if o.Peer != "" {
		dst = append(dst, `,"peer":`...)
		dst = appendJSONString(dst, o.Peer)
	}
	dst = append(dst, `,"received":"`...)
	dst = o.Received.AppendFormat(dst, time.RFC3339Nano)
	return append(dst, `"}`...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString is encoding/json's string encoding without HTML
// escaping: quotes, backslashes and control characters escaped, invalid
// UTF-8 replaced by U+FFFD, U+2028 and U+2029 escaped for JavaScript.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
