package event

import (
	"strconv"
	"time"
)

// Raw is one Windows event as a collector saw it: the System block, the
// EventData values in document order, and where the event came from.
type Raw struct {
	Provider     string    `msgpack:"provider" json:"provider"`
	ProviderGUID string    `msgpack:"provider_guid,omitempty" json:"provider_guid,omitempty"`
	EventID      uint32    `msgpack:"event_id" json:"event_id"`
	Qualifiers   uint32    `msgpack:"qualifiers,omitempty" json:"qualifiers,omitempty"`
	Version      uint8     `msgpack:"version" json:"version"`
	Level        uint8     `msgpack:"level" json:"level"`
	Task         uint32    `msgpack:"task" json:"task"`
	Opcode       uint8     `msgpack:"opcode" json:"opcode"`
	Keywords     string    `msgpack:"keywords,omitempty" json:"keywords,omitempty"`
	TimeCreated  time.Time `msgpack:"time_created" json:"time_created"`
	RecordID     uint64    `msgpack:"record_id" json:"record_id"`
	ProcessID    uint32    `msgpack:"process_id" json:"process_id"`
	ThreadID     uint32    `msgpack:"thread_id" json:"thread_id"`
	Channel      string    `msgpack:"channel" json:"channel"`
	Computer     string    `msgpack:"computer" json:"computer"`
	UserSID      string    `msgpack:"user_sid,omitempty" json:"user_sid,omitempty"`
	// ActivityID and RelatedActivityID are the System block's Correlation
	// attributes, GUIDs as the source wrote them.
	ActivityID        string `msgpack:"activity_id,omitempty" json:"activity_id,omitempty"`
	RelatedActivityID string `msgpack:"related_activity_id,omitempty" json:"related_activity_id,omitempty"`
	// Data is EventData (or UserData flattened) as name/value strings, in
	// the order the event carries them. Unnamed values get the name "".
	Data   []Field `msgpack:"data" json:"data"`
	Origin Origin  `msgpack:"origin" json:"origin"`
	// XML is the event's original XML; it travels only when asked for.
	XML string `msgpack:"xml,omitempty" json:"xml,omitempty"`
}

// Field is one named EventData value.
type Field struct {
	Name  string `msgpack:"n" json:"name"`
	Value string `msgpack:"v" json:"value"`
}

// Get returns the first EventData value with the given name.
func (r *Raw) Get(name string) (string, bool) {
	for i := range r.Data {
		if r.Data[i].Name == name {
			return r.Data[i].Value, true
		}
	}
	return "", false
}

// Source kinds.
const (
	SourceEVTX = "evtx"
	SourceXML  = "xml"
)

// Origin says where an event was read: a file position or a network peer.
type Origin struct {
	Kind     string    `msgpack:"kind" json:"kind"`
	Path     string    `msgpack:"path,omitempty" json:"path,omitempty"`
	Chunk    int       `msgpack:"chunk,omitempty" json:"chunk,omitempty"`
	Offset   int64     `msgpack:"offset,omitempty" json:"offset,omitempty"`
	Listener string    `msgpack:"listener,omitempty" json:"listener,omitempty"`
	Peer     string    `msgpack:"peer,omitempty" json:"peer,omitempty"`
	Received time.Time `msgpack:"received" json:"received"`
}

// Identity is what makes an event unique across sources and replays:
// computer, channel and record id. The bus uses it to deduplicate. An event
// without a record id (hand-made XML) is named by where it was read instead,
// so that two such events are never taken for one.
func (r *Raw) Identity() string {
	id := identity(r.Computer, r.Channel, r.RecordID)
	if r.RecordID == 0 {
		id += "|" + r.Origin.Path + "@" + strconv.FormatInt(r.Origin.Offset, 10)
	}
	return id
}
