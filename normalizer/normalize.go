package normalizer

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/normalizer/communityid"
)

const (
	sysmonProvider = "Microsoft-Windows-Sysmon"
	sysmonChannel  = "Microsoft-Windows-Sysmon/Operational"
	// ecsVersion is what the pipeline's first processor sets.
	ecsVersion = "8.0.0"
	// systemECSVersion is what the System integration's system pipeline
	// sets.
	systemECSVersion = "8.11.0"
	zeroGUID         = "{00000000-0000-0000-0000-000000000000}"
	// maxHostIDs bounds the host.id cache; past it the cache starts over.
	maxHostIDs = 4096
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

// Normalizer turns raw Windows events into ECS documents as Winlogbeat and
// Elastic's windows.sysmon_operational ingest pipeline together would store
// them. It keeps its working memory from one event to the next, so it is
// not safe for concurrent use: give each goroutine its own.
type Normalizer struct {
	schema *schema
	rec    record
	ed     eventData

	r        *event.Raw
	code     string // event.code
	sysmon   bool
	kind     chanKind // the pipeline the event goes through
	problems []string

	hashes   []hashPair  // process.hash or file.hash
	related  []text      // related.hash, from parseHashes
	answers  []dnsAnswer // dns.answers
	resolved []resolvedIP
	cid      [communityid.Len]byte // network.community_id
	// source.ip and destination.ip, parsed, when set.
	srcAddr, dstAddr netip.Addr
	order            []int // event_data's live fields, ordered by name

	sddl *sddlPatterns // compiled when first needed

	hostIDs map[string]string
	tasks   map[uint32]string // Security task names, by task
	// The last provider GUID seen and its canonical form.
	providerGUID, providerCanon string

	plans [numPlans][]op

	// The writers' layouts and scratch.
	layouts map[[len(record{}.set)]uint64]*layout
	keys    []key
	counts  []uint16
	maps    []map[string]any
	arena   []byte // values to be made strings, end to end
	ends    []int  // where each ends in arena

	raw rawFields // weft.event_data and weft.system for Sigma (rawfields.go)
	// origin adds where the event was read (log.file.path,
	// log.source.address): SetOrigin.
	origin bool

	script scriptScratch // 4104's script block statistics (psscriptblock.go)
}

// New returns a Normalizer.
func New() *Normalizer {
	s := newSchema()
	n := &Normalizer{
		schema:  s,
		hostIDs: make(map[string]string),
		tasks:   make(map[uint32]string),
		layouts: make(map[[len(record{}.set)]uint64]*layout),
		counts:  make([]uint16, len(s.nodes)),
		maps:    make([]map[string]any, len(s.nodes)),
	}
	for p := range n.plans {
		n.plans[p] = newPlan(p)
	}
	return n
}

// Normalize is New().Normalize(r), for a single event; a stream of events
// goes faster through one Normalizer.
func Normalize(r *event.Raw) (event.Document, error) {
	return New().Normalize(r)
}

// Normalize turns a raw event into its ECS document. Sysmon events
// (provider Microsoft-Windows-Sysmon) go through the whole pipeline; other
// events get the fields Winlogbeat gives every event.
//
// A document is always returned. The error, when not nil, is an *Error
// describing the problems found in the event, which are also recorded on
// the document as error.message; the caller only counts or logs it.
func (n *Normalizer) Normalize(r *event.Raw) (doc event.Document, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = n.fault(p)
			doc = n.document()
		}
	}()
	err = n.mapEvent(r)
	return n.withRaw(n.document(), r), err
}

// AppendMsgpack maps a raw event like Normalize and appends its document to
// dst in msgpack, exactly as bus.Encode writes the event.Document Normalize
// returns (maps with sorted keys), without building the document.
func (n *Normalizer) AppendMsgpack(dst []byte, r *event.Raw) (out []byte, err error) {
	start := len(dst)
	defer func() {
		if p := recover(); p != nil {
			err = n.fault(p)
			out = n.appendMsgpack(dst[:start])
		}
	}()
	err = n.mapEvent(r)
	return n.appendRaw(n.appendMsgpack(dst), start, r), err
}

// fault replaces a record that could not be written with one that says
// so and still names the event, so that a fault costs one event, not the
// stage.
func (n *Normalizer) fault(p any) error {
	n.rec.reset()
	n.problems = append(n.problems[:0], fmt.Sprintf("normalizer fault: %v", p))
	n.rec.setConst(kECSVersion, ecsVersion)
	n.rec.setConst(kEventKind, "pipeline_error")
	if r := n.r; r != nil {
		n.rec.setStr(kWinlogChannel, r.Channel)
		n.rec.setStr(kWinlogComputerName, r.Computer)
		n.rec.setDecimal(kWinlogRecordID, r.RecordID)
	}
	return n.finishErrors()
}

// mapEvent fills n.rec from r.
func (n *Normalizer) mapEvent(r *event.Raw) (err error) {
	n.rec.reset()
	n.problems = n.problems[:0]
	n.r = r
	if r == nil {
		n.rec.setConst(kECSVersion, ecsVersion)
		n.problem("no event given")
		return n.finishErrors()
	}
	defer func() {
		// A fault in the mapping must cost one event, not the stage: keep
		// what was built and say what happened.
		if p := recover(); p != nil {
			n.problem(fmt.Sprintf("normalizer fault: %v", p))
			n.rec.setConst(kEventKind, "pipeline_error")
			err = n.finishErrors()
		}
	}()
	n.winlogbeat()
	switch n.kind {
	case chanSysmon:
		n.pipeline()
	case chanSecurity:
		n.security()
	case chanSystem:
		// The System integration's system data stream sets only
		// event.ingested, which is the indexing time, and ecs.version.
		n.rec.setConst(kECSVersion, systemECSVersion)
	case chanPowerShell:
		n.powershell()
	case chanPowerShellOperational:
		n.powershellOperational()
	}
	n.finishEventData()
	return n.finishErrors()
}

func (n *Normalizer) problem(msg string) { n.problems = append(n.problems, msg) }

// winlogbeat sets what Winlogbeat sends for any event: winlog.*, the
// event.* it sets, @timestamp from TimeCreated, log.level, and host.*.
func (n *Normalizer) winlogbeat() {
	r, rec := n.r, &n.rec
	// Exactly Sysmon's spelling, almost always: compared before folding case.
	n.sysmon = r.Provider == sysmonProvider || strings.EqualFold(r.Provider, sysmonProvider) || strings.EqualFold(r.Channel, sysmonChannel)

	n.kind = n.kindOf()

	rec.setConst(kECSVersion, ecsVersion)
	// channel, computer_name and record_id are always set: the document's
	// identity (event.Document.Identity) is read from them.
	rec.setStr(kWinlogChannel, r.Channel)
	rec.setStr(kWinlogComputerName, r.Computer)
	// The pipeline converts record_id to a string.
	rec.setDecimal(kWinlogRecordID, r.RecordID)
	if code, ok := eventCode(r.EventID); ok {
		// The tables' codes are constants: stored without an allocation.
		n.code = code.(string)
		rec.setConst(kWinlogEventID, code)
		rec.setConst(kEventCode, code)
	} else {
		n.code = strconv.FormatUint(uint64(r.EventID), 10)
		rec.setStr(kWinlogEventID, n.code)
		rec.setStr(kEventCode, n.code)
	}
	rec.setStr(kWinlogProviderName, r.Provider)
	if r.ProviderGUID != "" {
		// A stream has few providers: the last one's canonical form is kept.
		if r.ProviderGUID != n.providerGUID {
			n.providerGUID, n.providerCanon = r.ProviderGUID, r.ProviderGUID
			if g, ok := canonicalGUID(r.ProviderGUID); ok {
				n.providerCanon = g
			}
		}
		rec.setStr(kWinlogProviderGUID, n.providerCanon)
	}
	if r.Version != 0 {
		rec.setInt(kWinlogVersion, int64(r.Version))
	}
	if op, ok := opcodeName(r.Opcode); ok {
		rec.setConst(kWinlogOpcode, op)
	}
	if n.sysmon {
		if task, ok := sysmonTask(r.Task); ok {
			rec.setConst(kWinlogTask, task)
		}
	}
	if r.ProcessID != 0 {
		rec.setInt(kWinlogProcessPID, int64(r.ProcessID))
	}
	if r.ThreadID != 0 {
		rec.setInt(kWinlogProcessThreadID, int64(r.ThreadID))
	}
	// Correlation's GUIDs in the provider GUID's form, so that EVTX (upper
	// case), XML and Winlogbeat's JSON give one document; a value that is
	// no GUID is kept as written.
	if r.ActivityID != "" {
		rec.setStr(kWinlogActivityID, guidOrAsIs(r.ActivityID))
	}
	if r.RelatedActivityID != "" {
		rec.setStr(kWinlogRelatedActivityID, guidOrAsIs(r.RelatedActivityID))
	}
	if r.UserSID != "" {
		rec.setStr(kWinlogUserIdentifier, r.UserSID)
	}

	if !n.sysmon {
		n.keywords(r.Keywords)
	}

	rec.setConst(kEventKind, "event")
	if r.Provider != "" {
		rec.setStr(kEventProvider, r.Provider)
	}
	if r.XML != "" {
		// The event as Windows rendered it, which Winlogbeat sends as
		// event.original when it is configured to (include_xml) and the
		// pipelines keep; the collector carries it when asked (KeepXML).
		rec.setStr(kEventOriginal, r.XML)
	}
	if n.sysmon {
		// Neither is set by the pipeline itself: Winlogbeat's sysmon module
		// sets event.module, Elastic Agent sets event.dataset.
		rec.setConst(kEventModule, "sysmon")
		rec.setConst(kEventDataset, "windows.sysmon_operational")
	}
	if !r.TimeCreated.IsZero() {
		rec.setMillis(kEventCreated, r.TimeCreated)
		rec.setMillis(kTimestamp, r.TimeCreated)
	}
	if level, ok := levelName(r.Level); ok {
		rec.setConst(kLogLevel, level)
	}
	if n.origin {
		n.setOrigin(r)
	}

	rec.setConst(kHostOSType, "windows")
	if r.Computer != "" {
		rec.setStr(kHostName, r.Computer)
		rec.setStr(kHostID, n.hostID(r.Computer))
	}

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
		n.repeated(name)
	}
}

// repeated reports an EventData name that came twice. Sysmon names each
// value once, so in a Sysmon event it is a broken record; other providers'
// UserData, flattened, repeats names as a matter of course.
func (n *Normalizer) repeated(name string) {
	if n.sysmon {
		n.problem("winlog.event_data." + name + ": repeated; the first value is kept")
	}
}

// hostID is HostID, remembered per computer: a stream repeats few names.
func (n *Normalizer) hostID(computer string) string {
	if id, ok := n.hostIDs[computer]; ok {
		return id
	}
	if len(n.hostIDs) >= maxHostIDs {
		clear(n.hostIDs)
	}
	id := HostID(computer)
	n.hostIDs[computer] = id
	return id
}

// finishEventData orders the fields left in winlog.event_data by name,
// dropping (and reporting) a name that repeats, and sets the field when
// any is left.
func (n *Normalizer) finishEventData() {
	n.order = n.order[:0]
	for i := range n.ed.fields {
		if n.ed.fields[i].gone {
			continue
		}
		// Insertion sort: a few dozen fields at most, and stable, so the
		// first of a repeated name comes first.
		f := &n.ed.fields[i]
		f.sortKey = sortKey(f.name)
		j := len(n.order)
		n.order = append(n.order, i)
		for j > 0 && f.before(&n.ed.fields[n.order[j-1]]) {
			n.order[j] = n.order[j-1]
			j--
		}
		n.order[j] = i
	}
	out := n.order[:0]
	for k, i := range n.order {
		if f, prev := &n.ed.fields[i], &n.ed.fields[n.order[max(k-1, 0)]]; k > 0 && f.sortKey == prev.sortKey && f.name == prev.name {
			n.repeated(n.ed.fields[i].name)
			continue
		}
		out = append(out, i)
	}
	n.order = out
	if len(n.order) > 0 {
		k := kWinlogEventData
		if n.kind == chanSecurity && n.r.Provider == eventlogProvider {
			// The event log service's own audits (1100–1108) carry
			// UserData, which Winlogbeat keeps under winlog.user_data.
			k = kWinlogUserData
		}
		n.rec.setKind(k, vEventData)
	}
}

// finishErrors records the problems as error.message and returns them as
// an *Error.
func (n *Normalizer) finishErrors() error {
	if len(n.problems) == 0 {
		return nil
	}
	n.rec.setKind(kErrorMessage, vProblems)
	where := "nil event"
	if n.r != nil {
		where = whereOf(n.r)
	}
	return &Error{Where: where, Problems: append([]string(nil), n.problems...)}
}

// whereOf names an event for error messages: where it was read and which
// record it is.
func whereOf(r *event.Raw) string {
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

// eventCode is event.code as a constant for the event IDs of the
// categorization tables and of the PowerShell and System events the rules
// read, so that most events store it without an allocation.
func eventCode(id uint32) (any, bool) {
	if c, ok := sysmonCategorization(id); ok {
		return c.code, true
	}
	if c, ok := securityCategorization(id); ok {
		return c.code, true
	}
	switch id {
	case 400:
		return "400", true
	case 403:
		return "403", true
	case 600:
		return "600", true
	case 800:
		return "800", true
	case 4103:
		return "4103", true
	case 4104:
		return "4104", true
	case 4105:
		return "4105", true
	case 4106:
		return "4106", true
	case 7036:
		return "7036", true
	case 7040:
		return "7040", true
	case 7045:
		return "7045", true
	}
	return nil, false
}
