package normalizer

import (
	"fmt"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"

	"github.com/weft-dev/weft/normalizer/communityid"
	"github.com/weft-dev/weft/normalizer/publicsuffix"
)

// categorization is one entry of the pipeline's categorization table. Its
// values are constants in interfaces, so storing them allocates nothing.
type categorization struct {
	code, action           any
	category, typ, outcome list3
}

// list3 is a list of up to three constants.
type list3 struct {
	n int
	v [3]any
}

func (l *list3) values() []any { return l.v[:l.n] }

// dnsAnswer is one entry of dns.answers; typ is null when the record type
// is not in the pipeline's table, and data is absent for a bare "type: N".
type dnsAnswer struct {
	typ, data      string
	known, hasData bool
}

// resolvedIP is one entry of dns.resolved_ip; an address the convert
// processor rejected leaves a null behind.
type resolvedIP struct {
	ip   string
	null bool
}

// pipeline applies Elastic's windows.sysmon_operational ingest pipeline to
// a Sysmon event, processor by processor, in the spec's order. Where a
// processor has ignore_failure the pipeline drops a bad value silently; we
// drop it the same way but also record the problem, so bad input is seen.
func (n *Normalizer) pipeline() {
	d, rec := &n.ed, &n.rec
	d.removeEmpty()

	if v, ok := d.get(sUtcTime); ok {
		if ms, ok := parseSysmonTime(v); ok {
			rec.setUnixMilli(kTimestamp, ms)
		} else {
			n.problem(fmt.Sprintf("winlog.event_data.UtcTime: %q is not a time of the form yyyy-MM-dd HH:mm:ss.SSS; @timestamp is TimeCreated", v))
		}
	}

	if c, ok := sysmonCategorization(n.r.EventID); ok {
		if c.category.n > 0 {
			rec.setConsts(kEventCategory, c.category.values()...)
		}
		if c.typ.n > 0 {
			rec.setConsts(kEventType, c.typ.values()...)
		}
		if c.outcome.n > 0 {
			rec.setConsts(kEventOutcome, c.outcome.values()...)
		}
		rec.setConst(kEventAction, c.action)
		n.checkRequired()
	} else {
		n.problem("event.code: " + n.code + " is not a Sysmon event ID the pipeline maps")
	}

	if n.code == "255" {
		if v, ok := d.take(sID); ok {
			rec.setText(kErrorCode, v)
		}
	}
	if v, ok := d.take(sRuleName); ok {
		rec.setText(kRuleName, v)
	}
	if n.code == "25" {
		if v, ok := d.take(sType); ok {
			rec.setText(kMessage, v)
		}
	}
	d.renameKey(sHash, sHashes)

	hashes := false
	n.hashes, n.related = n.hashes[:0], n.related[:0]
	if v, ok := d.get(sHashes); ok {
		var bad string
		n.hashes, n.related, hashes, bad, ok = parseHashes(v, n.hashes, n.related)
		if !ok {
			n.problem(fmt.Sprintf("winlog.event_data.Hashes: %q has no \"=\"; the hashes after it are lost", bad))
		}
		if len(n.related) > 0 {
			rec.setTexts(kRelatedHash, n.related)
		}
	}

	if hashes {
		n.moveHashesOf()
	}
	n.runPlan()
	n.processScripts()
	n.fileScripts()
	n.networkSets()
	if !n.dnsFields() {
		return
	}
	n.communityID()
	n.userFields()
	n.sysmonFields()
	n.relatedFields()
	if !n.registryFields() {
		return
	}
	if !n.conformity() {
		return
	}
	n.cleanup()
}

// checkRequired records the fields a Sysmon event of this ID always
// carries but this one lacks.
func (n *Normalizer) checkRequired() {
	const common = 1 << sUtcTime
	var want uint64 = common
	switch n.code {
	case "1":
		want |= 1<<sProcessGuid | 1<<sProcessId | 1<<sImage | 1<<sCommandLine |
			1<<sCurrentDirectory | 1<<sUser | 1<<sParentProcessGuid | 1<<sParentProcessId |
			1<<sParentImage | 1<<sParentCommandLine
	case "3":
		want |= 1<<sProcessGuid | 1<<sProcessId | 1<<sImage | 1<<sUser | 1<<sProtocol |
			1<<sInitiated | 1<<sSourceIsIpv6 | 1<<sSourceIp | 1<<sSourcePort |
			1<<sDestinationIsIpv6 | 1<<sDestinationIp | 1<<sDestinationPort
	}
	for missing := want &^ n.ed.present; missing != 0; missing &= missing - 1 {
		s := slot(bits.TrailingZeros64(missing))
		n.problem("winlog.event_data." + s.name() + ": missing from Sysmon event " + n.code)
	}
}

// rename moves event_data's s to k, as the rename processor does: nothing
// happens when s is absent, and when k is already set the rename fails and
// s stays in event_data.
func (n *Normalizer) rename(s slot, k key) {
	if n.rec.has(k) {
		return
	}
	if v, ok := n.ed.take(s); ok {
		n.rec.setText(k, v)
	}
}

// convertLong sets k to event_data's s as a long; s stays in event_data
// (the cleanup removes it).
func (n *Normalizer) convertLong(s slot, k key) {
	v, ok := n.ed.get(s)
	if !ok {
		return
	}
	x, ok := toLong(v)
	if !ok {
		n.problem(fmt.Sprintf("winlog.event_data.%s: %q is not a number", s.name(), v))
		return
	}
	n.rec.setInt(k, x)
}

// copyTo sets k to event_data's s, leaving s in event_data, as a set
// processor with copy_from does.
func (n *Normalizer) copyTo(s slot, k key) {
	if v, ok := n.ed.text(s); ok {
		n.rec.setText(k, v)
	}
}

// moveHashes puts the parsed Hashes at k and renames its imphash to
// imphash, as the pipeline's two renames of _temp.hashes do.
func (n *Normalizer) moveHashes(k, imphash key) {
	n.rec.setKind(k, vHashes)
	for i, p := range n.hashes {
		if p.key == "imphash" {
			n.hashes = append(n.hashes[:i], n.hashes[i+1:]...)
			n.rec.setText(imphash, p.value)
			return
		}
	}
}

// op is one rename, copy or conversion of an EventData field into the
// document.
type op struct {
	kind opKind
	s    slot
	k    key
}

type opKind uint8

const (
	opRename opKind = iota
	opCopy
	opLong
	opPort
	opSourceIP
	opDestinationIP
)

// Plans: the ops for event 7, for event 22, and for every other event.
const (
	planOther = iota
	planImageLoad
	planDNS
	numPlans
)

func planOf(code string) int {
	switch code {
	case "7":
		return planImageLoad
	case "22":
		return planDNS
	}
	return planOther
}

// newPlan lists, in the pipeline's order, its renames, copies and
// conversions of EventData into process.*, file.*, network.*, source.*,
// destination.* and dns.question.name for one plan. The three groups touch
// different fields and keys, so running them one after the other, and the
// scripts that read their results afterwards, is what the pipeline does;
// what differs between events (event 7's PE fields go to file.pe, event
// 22's port names are not renamed) is decided once here, and running a
// plan skips the fields an event does not carry with one bit test.
func newPlan(plan int) []op {
	var p []op
	add := func(kind opKind, s slot, k key) { p = append(p, op{kind: kind, s: s, k: k}) }
	pe := func(k [5]key) {
		add(opRename, sOriginalFileName, k[0])
		add(opCopy, sCompany, k[1])
		add(opCopy, sDescription, k[2])
		add(opCopy, sFileVersion, k[3])
		add(opCopy, sProduct, k[4])
	}

	add(opRename, sProcessGuid, kProcessEntityID)
	add(opLong, sProcessId, kProcessPID)
	add(opRename, sImage, kProcessExecutable)
	add(opRename, sSourceProcessGuid, kProcessEntityID)
	add(opRename, sSourceProcessGUID, kProcessEntityID)
	add(opLong, sSourceProcessId, kProcessPID)
	add(opLong, sSourceThreadId, kProcessThreadID)
	add(opRename, sSourceImage, kProcessExecutable)
	add(opRename, sDestination, kProcessExecutable)
	add(opRename, sCommandLine, kProcessCommandLine)
	add(opRename, sCurrentDirectory, kProcessWorkingDirectory)
	add(opRename, sParentProcessGuid, kParentEntityID)
	add(opLong, sParentProcessId, kParentPID)
	add(opRename, sParentImage, kParentExecutable)
	add(opRename, sParentCommandLine, kParentCommandLine)
	if plan != planImageLoad {
		pe([5]key{kProcessPEOriginalFileName, kProcessPECompany, kProcessPEDescription, kProcessPEFileVersion, kProcessPEProduct})
	}

	add(opRename, sTargetFilename, kFilePath)
	add(opRename, sDevice, kFilePath)
	add(opRename, sPipeName, kFileName)
	add(opRename, sImageLoaded, kFilePath)
	add(opCopy, sSignature, kFileSignatureSubject)
	add(opCopy, sSignatureStatus, kFileSignatureStatus)
	if plan == planImageLoad {
		pe([5]key{kFilePEOriginalFileName, kFilePECompany, kFilePEDescription, kFilePEFileVersion, kFilePEProduct})
	}

	add(opRename, sProtocol, kNetworkTransport)
	if plan != planDNS {
		add(opRename, sDestinationPortName, kNetworkProtocol)
		add(opRename, sSourcePortName, kNetworkProtocol)
	}
	add(opSourceIP, sSourceIp, kSourceIP)
	add(opRename, sSourceHostname, kSourceDomain)
	add(opPort, sSourcePort, kSourcePort)
	add(opDestinationIP, sDestinationIp, kDestinationIP)
	add(opRename, sDestinationHostname, kDestinationDomain)
	add(opPort, sDestinationPort, kDestinationPort)
	add(opRename, sQueryName, kDNSQuestionName)
	return p
}

// runPlan runs the event's plan.
func (n *Normalizer) runPlan() {
	present := n.ed.present
	for _, o := range n.plans[planOf(n.code)] {
		if present&(1<<o.s) == 0 {
			continue
		}
		switch o.kind {
		case opRename:
			n.rename(o.s, o.k)
		case opCopy:
			n.copyTo(o.s, o.k)
		case opLong:
			n.convertLong(o.s, o.k)
		case opPort:
			n.convertPort(o.s, o.k)
		case opSourceIP:
			n.convertIP(o.s, o.k, &n.srcAddr)
		case opDestinationIP:
			n.convertIP(o.s, o.k, &n.dstAddr)
		}
	}
}

// moveHashesOf moves the parsed Hashes to process.hash or file.hash, by
// event ID, as the pipeline's two renames of _temp.hashes do.
func (n *Normalizer) moveHashesOf() {
	switch n.code {
	case "1", "23", "24", "25":
		n.moveHashes(kProcessHash, kProcessPEImphash)
	case "6", "7", "15", "26", "29":
		n.moveHashes(kFileHash, kFilePEImphash)
	}
}

// processScripts are the pipeline's scripts that split command lines
// into args and take process names from executables.
func (n *Normalizer) processScripts() {
	rec := &n.rec
	for _, p := range [2]struct{ cmd, args, count key }{
		{kProcessCommandLine, kProcessArgs, kProcessArgsCount},
		{kParentCommandLine, kParentArgs, kParentArgsCount},
	} {
		if cmd, _ := rec.str(p.cmd); cmd != "" {
			args := commandLineToArgv(rec.newList(p.args), cmd)
			rec.setList(p.args, args)
			rec.setInt(p.count, int64(len(args)))
		}
	}
	for _, p := range [2]struct{ exe, name key }{
		{kProcessExecutable, kProcessName},
		{kParentExecutable, kParentName},
	} {
		exe, _ := rec.str(p.exe)
		if exe == "" || rec.has(p.name) {
			continue
		}
		if i := strings.LastIndexByte(exe, '\\'); i >= 0 && i+1 < len(exe) {
			rec.setStr(p.name, exe[i+1:])
		}
	}
}

// fileScripts sets file.code_signature.valid and the file script's name,
// directory and extension.
func (n *Normalizer) fileScripts() {
	rec := &n.rec
	// The pipeline sets file.code_signature.signed only when Signed == true,
	// a boolean; event_data holds the string "true", so it never does.
	if v, ok := n.ed.get(sSignatureStatus); ok && v == "Valid" {
		rec.setBool(kFileSignatureValid, true)
	}

	path, _ := rec.str(kFilePath)
	if len(path) <= 1 {
		return
	}
	if i := strings.LastIndexByte(path, '\\'); i >= 0 {
		rec.setStr(kFileName, path[i+1:])
		rec.setStr(kFileDirectory, path[:i])
		// The script looks for the extension in the whole path, not the name.
		if j := strings.LastIndexByte(path, '.'); j >= 0 {
			rec.setStr(kFileExtension, path[j+1:])
		}
	}
}

// networkSets are the pipeline's set processors of network.protocol (event
// 22), network.direction and network.type.
func (n *Normalizer) networkSets() {
	d, rec := &n.ed, &n.rec
	if n.code == "22" {
		rec.setConst(kNetworkProtocol, "dns")
	}
	if v, ok := d.get(sInitiated); ok {
		switch v {
		case "true":
			rec.setConst(kNetworkDirection, "egress")
		case "false":
			rec.setConst(kNetworkDirection, "ingress")
		}
	}
	if v, ok := d.get(sSourceIsIpv6); ok {
		switch v {
		case "false":
			rec.setConst(kNetworkType, "ipv4")
		case "true":
			rec.setConst(kNetworkType, "ipv6")
		}
	}
}

// convertPort is convertLong for a port. The pipeline keeps a number out
// of the port range; so do we, but we also report it.
func (n *Normalizer) convertPort(s slot, k key) {
	n.convertLong(s, k)
	if p, ok := n.rec.int(k); ok && (p < 0 || p > 65535) {
		n.problem(fmt.Sprintf("winlog.event_data.%s: %d is not a port number", s.name(), p))
	}
}

// convertIP sets k to event_data's s when it is an IP address; type ip
// checks the value and keeps its text. The address is kept in addr for
// the community id.
func (n *Normalizer) convertIP(s slot, k key, addr *netip.Addr) {
	v, ok := n.ed.get(s)
	if !ok {
		return
	}
	a, ok := parseIP(v)
	if !ok {
		n.problem(fmt.Sprintf("winlog.event_data.%s: %q is not an IP address", s.name(), v))
		return
	}
	n.rec.setStr(k, v)
	*addr = a
}

// dnsFields splits QueryResults into dns.answers, dns.resolved_ip and
// related.hosts, and splits dns.question.name with the public suffix list.
// It returns false when the pipeline fails on the event.
func (n *Normalizer) dnsFields() bool {
	rec := &n.rec
	n.answers, n.resolved = n.answers[:0], n.resolved[:0]
	if v, ok := n.ed.get(sQueryResults); ok {
		hosts := 0
		for _, answer := range javaSplit(v, ';') {
			if answer == "" {
				continue
			}
			if !strings.HasPrefix(answer, "type:") {
				n.resolved = append(n.resolved, resolvedIP{ip: answer})
				continue
			}
			parts := javaSplitSpace(answer)
			if len(parts) < 2 {
				return n.fail("unexpected QueryResult format")
			}
			a := dnsAnswer{}
			a.typ, a.known = dnsRecordType(parts[1])
			if len(parts) == 3 {
				a.data, a.hasData = parts[2], true
				hosts++
			}
			n.answers = append(n.answers, a)
		}
		if (len(n.answers) > 0 || len(n.resolved) > 0) && !rec.has(kDNSQuestionName) {
			// The script writes into ctx.dns, which only QueryName creates.
			return n.fail("cannot write dns.answers: the event has no QueryName")
		}
		if len(n.answers) > 0 {
			rec.setKind(kDNSAnswers, vAnswers)
		}
		if len(n.resolved) > 0 {
			rec.setKind(kDNSResolvedIP, vResolvedIP)
		}
		if hosts > 0 {
			// The script replaces related.hosts with its own list.
			list := rec.newList(kRelatedHosts)
			for _, a := range n.answers {
				if a.hasData {
					list = append(list, a.data)
				}
			}
			rec.setList(kRelatedHosts, list)
		}
	}

	if rec.has(kDNSResolvedIP) {
		for i := range n.resolved {
			s := unmapIPv4(n.resolved[i].ip)
			if _, ok := parseIP(s); !ok {
				// The foreach's on_failure removes the value, leaving a hole.
				n.problem(fmt.Sprintf("winlog.event_data.QueryResults: %q is not an IP address", s))
				n.resolved[i] = resolvedIP{null: true}
				continue
			}
			n.resolved[i].ip = s
		}
		// The script deletes a hole and moves on, so it never looks at the
		// value that slid into the hole's place; we keep that quirk.
		ips := n.resolved
		for i := 0; i < len(ips); i++ {
			if ips[i].null {
				ips = append(ips[:i], ips[i+1:]...)
				continue
			}
			typ := "A"
			if strings.IndexByte(ips[i].ip, ':') >= 0 {
				typ = "AAAA"
			}
			n.answers = append(n.answers, dnsAnswer{typ: typ, known: true, data: ips[i].ip, hasData: true})
		}
		n.resolved = ips
		rec.setKind(kDNSAnswers, vAnswers)
	}
	if q, ok := rec.str(kDNSQuestionName); ok {
		// The registered_domain processor; the dns.question.domain it
		// writes is removed again by the pipeline.
		if p, ok := publicsuffix.Split(q); ok {
			for _, f := range [3]struct {
				k key
				v string
			}{
				{kDNSQuestionRegisteredDomain, p.RegisteredDomain},
				{kDNSQuestionTopLevelDomain, p.TopLevelDomain},
				{kDNSQuestionSubdomain, p.Subdomain},
			} {
				if f.v != "" {
					rec.setStr(f.k, f.v)
				}
			}
		}
		if q != "" {
			rec.appendUnique(kRelatedHosts, mustache(q))
		}
	}
	if rec.has(kDNSResolvedIP) {
		for _, ip := range n.resolved {
			// A hole renders as the empty string.
			rec.appendUnique(kRelatedIP, mustache(ip.ip))
		}
	}
	return true
}

// communityID is the community_id processor with its defaults (seed 0).
func (n *Normalizer) communityID() {
	rec := &n.rec
	transport, _ := rec.str(kNetworkTransport)
	if !rec.has(kSourceIP) || !rec.has(kDestinationIP) || transport == "" {
		return // the processor fails on a missing field; ignore_failure
	}
	proto, ok := communityid.ProtocolNumber(transport)
	if !ok {
		n.problem(fmt.Sprintf("network.community_id: could not convert string [%s] to transport protocol", transport))
		return
	}
	// convertIP set both addresses with the fields.
	flow := communityid.Flow{Protocol: proto, Source: n.srcAddr, Destination: n.dstAddr}
	switch proto {
	case communityid.TCP, communityid.UDP, communityid.SCTP:
		sp, okS := rec.int(kSourcePort)
		dp, okD := rec.int(kDestinationPort)
		if !okS || !okD {
			return
		}
		// Elasticsearch reads the ports as Java ints before checking them;
		// a port out of range was reported when it was converted.
		sp, dp = int64(int32(sp)), int64(int32(dp))
		if sp < 0 || sp > 65535 || dp < 0 || dp > 65535 {
			return
		}
		flow.SourcePort, flow.DestinationPort = uint16(sp), uint16(dp)
	}
	// For ICMP the processor reads icmp.type and icmp.code, which this
	// pipeline never sets: both count as 0.
	communityid.AppendID(n.cid[:0], flow, 0)
	rec.setKind(kNetworkCommunityID, vCommunityID)
}

func (n *Normalizer) userFields() {
	rec := &n.rec
	if sid, ok := rec.str(kWinlogUserIdentifier); ok && sid != "" {
		rec.setStr(kUserID, sid)
	}
	if v, ok := n.ed.get(sUser); ok {
		if domain, name, ok := splitUser(v); ok {
			if domain != "" {
				rec.setStr(kUserDomain, mustache(domain))
			}
			if name != "" {
				rec.setStr(kUserName, mustache(name))
			}
		}
	}
	// Fields that Winlogbeat's translate_sid processor adds.
	n.rename(sMemberUserName, kUserName)
	n.rename(sMemberDomain, kUserDomain)
	if v, ok := n.ed.take(sMemberAccountType); ok {
		rec.appendUnique(kUserRoles, v.String())
	}
}

func (n *Normalizer) sysmonFields() {
	rec := &n.rec
	if t, ok := n.ed.take(sQueryStatus); ok {
		v := t.String()
		if name, ok := dnsStatusName(v); ok {
			v = name
		}
		rec.setStr(kSysmonDNSStatus, v)
	}
	for _, f := range [2]struct {
		s slot
		k key
	}{{sArchived, kSysmonFileArchived}, {sIsExecutable, kSysmonFileIsExecutable}} {
		v, ok := n.ed.get(f.s)
		if !ok {
			continue
		}
		b, ok := toBool(v)
		if !ok {
			n.problem(fmt.Sprintf("winlog.event_data.%s: %q is not a boolean", f.s.name(), v))
			continue
		}
		rec.setBool(f.k, b)
	}
}

// relatedFields appends "{{field}}" to related.* for the fields the
// pipeline's templates render; the templates escape the values for JSON.
func (n *Normalizer) relatedFields() {
	rec := &n.rec
	for _, f := range [3]struct{ from, to key }{
		{kUserName, kRelatedUser}, {kSourceIP, kRelatedIP}, {kDestinationIP, kRelatedIP},
	} {
		if s, _ := rec.str(f.from); s != "" {
			rec.appendUnique(f.to, mustache(s))
		}
	}
}

// registryFields is the pipeline's "Set registry fields." script. It
// returns false when the pipeline fails on the event.
func (n *Normalizer) registryFields() bool {
	switch n.code {
	case "12", "13", "14":
	default:
		return true
	}
	rec := &n.rec
	path, ok := n.ed.get(sTargetObject)
	if !ok {
		return true
	}
	rec.setStr(kRegistryPath, path)
	tokens := javaSplit(path, '\\')
	if len(tokens) == 0 {
		// Java's split of a path made only of backslashes leaves no token,
		// and the script fails indexing it; ignore_failure does not apply.
		return n.fail("registry: TargetObject " + strconv.Quote(path) + " has no key")
	}
	if hive, ok := registryHive(tokens[0]); ok {
		rec.setStr(kRegistryHive, hive)
		if len(tokens) > 1 {
			rec.setStr(kRegistryKey, strings.Join(tokens[1:], `\`))
		}
	}
	rec.setStr(kRegistryValue, tokens[len(tokens)-1])

	data, ok := n.ed.get(sDetails)
	if !ok {
		return true
	}
	var value string
	if hi, lo, ok := parseQword(data); ok {
		// The script shifts the high word by 8 bits, not 32; so does this.
		value = strconv.FormatInt(hi<<8+lo, 10)
		rec.setConst(kRegistryDataType, "SZ_QWORD")
	} else if _, ok := parseDword(data); ok {
		// Elastic's documents hold the DWORD as Sysmon wrote it
		// ("0x00000004"), not the decimal the stored script's
		// Long.toString would give (issue 15).
		value = data[len("DWORD (") : len(data)-1]
		rec.setConst(kRegistryDataType, "SZ_DWORD")
	} else {
		value = data
		if data == "Binary Data" {
			rec.setConst(kRegistryDataType, "REG_BINARY")
		} else {
			rec.setConst(kRegistryDataType, "REG_SZ")
		}
	}
	rec.setList(kRegistryDataStrings, append(rec.newList(kRegistryDataStrings), value))
	return true
}

// parseQword matches (?i)QWORD \(((0x[0-9A-F]{8})-(0x[0-9A-F]{8}))\).
func parseQword(s string) (hi, lo int64, ok bool) {
	if len(s) != len("QWORD (0x00000000-0x00000000)") || !strings.EqualFold(s[:7], "QWORD (") || s[len(s)-1] != ')' || s[17] != '-' {
		return 0, 0, false
	}
	hi, okHi := hex8(s[7:17])
	lo, okLo := hex8(s[18:28])
	return hi, lo, okHi && okLo
}

// parseDword matches (?i)DWORD \((0x[0-9A-F]{8})\).
func parseDword(s string) (int64, bool) {
	if len(s) != len("DWORD (0x00000000)") || !strings.EqualFold(s[:7], "DWORD (") || s[len(s)-1] != ')' {
		return 0, false
	}
	return hex8(s[7:17])
}

// hex8 reads 0x followed by exactly eight hex digits, case-insensitively.
func hex8(s string) (int64, bool) {
	if len(s) != 10 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') {
		return 0, false
	}
	v, err := strconv.ParseInt(s[2:], 16, 64)
	return v, err == nil
}

// conformity renames TargetProcessGuid to TargetProcessGUID. The processor
// has no ignore_failure: when both exist the whole pipeline fails.
func (n *Normalizer) conformity() bool {
	if _, ok := n.ed.get(sTargetProcessGuid); !ok {
		return true
	}
	if !n.ed.renameKey(sTargetProcessGuid, sTargetProcessGUID) {
		return n.fail("field [winlog.event_data.TargetProcessGUID] already exists")
	}
	return true
}

// fail is the pipeline's on_failure: the processors after the failing one
// do not run, event.kind becomes pipeline_error and the failure is noted.
func (n *Normalizer) fail(msg string) bool {
	n.rec.setConst(kEventKind, "pipeline_error")
	n.problem(msg)
	return false
}

// cleanup removes what the pipeline consumed from event_data; empty values
// were never kept, so only the listed fields go.
func (n *Normalizer) cleanup() {
	for _, s := range [...]slot{
		sProcessId, sParentProcessId, sSourceProcessId, sSourceThreadId,
		sSourceIp, sSourcePort, sSourcePortName, sDestinationIp, sDestinationPort,
		sDestinationPortName, sRuleName, sUser, sInitiated, sSourceIsIpv6,
		sDestinationIsIpv6, sQueryStatus, sArchived, sIsExecutable, sQueryResults,
		sUtcTime, sHash, sHashes, sTargetObject,
	} {
		n.ed.remove(s)
	}
}

// unmapIPv4 is the pipeline's gsub that turns "::ffff:1.2.3.4" (optionally
// bracketed, with a port) into "1.2.3.4".
func unmapIPv4(s string) string {
	rest := strings.TrimPrefix(s, "[")
	if !strings.HasPrefix(rest, "::ffff:") {
		return s
	}
	rest = rest[len("::ffff:"):]
	end := 0
	for dots := 0; ; dots++ {
		start := end
		for end < len(rest) && isDigit(rest[end]) {
			end++
		}
		if end == start {
			return s
		}
		if dots == 3 {
			break
		}
		if end == len(rest) || rest[end] != '.' {
			return s
		}
		end++
	}
	ip, tail := rest[:end], rest[end:]
	if tail == "" {
		return ip
	}
	if tail[0] != ']' {
		return s
	}
	tail = tail[1:]
	if tail == "" {
		return ip
	}
	if tail[0] != ':' || len(tail) == 1 || strings.TrimLeft(tail[1:], "0123456789") != "" {
		return s
	}
	return ip
}

// splitUser is the split processor on User (separator a backslash) when it
// yields exactly two parts. Java's split drops trailing empty parts, so
// `DOMAIN\user\` has two parts and `DOMAIN\` one.
func splitUser(v string) (domain, name string, ok bool) {
	v = strings.TrimRight(v, `\`)
	i := strings.IndexByte(v, '\\')
	if i < 0 || strings.IndexByte(v[i+1:], '\\') >= 0 {
		return "", "", false
	}
	return v[:i], v[i+1:], true
}
