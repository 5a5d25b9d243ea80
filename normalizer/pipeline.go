package normalizer

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"

	"github.com/weft-dev/weft/normalizer/communityid"
)

// categorization is one entry of the pipeline's categorization table.
type categorization struct {
	action                 any // a constant string: storing it allocates nothing
	category, typ, outcome []any
}

// pipeline applies Elastic's windows.sysmon_operational ingest pipeline to
// a Sysmon event, processor by processor, in the spec's order. Where a
// processor has ignore_failure the pipeline drops a bad value silently; we
// drop it the same way but also record the problem, so bad input is seen.
func (n *run) pipeline() {
	d := &n.ed
	d.removeIf(func(v string) bool { return v == "-" || v == zeroGUID })

	if v, ok := d.get(sUtcTime); ok {
		if t, ok := parseSysmonTime(v); ok {
			n.doc["@timestamp"] = formatMillis(t)
		} else {
			n.problem(fmt.Sprintf("winlog.event_data.UtcTime: %q is not a time of the form yyyy-MM-dd HH:mm:ss.SSS; @timestamp is TimeCreated", v))
		}
	}

	if c, ok := sysmonCategorization(n.code); ok {
		if c.category != nil {
			n.evt["category"] = c.category
		}
		if c.typ != nil {
			n.evt["type"] = c.typ
		}
		if c.outcome != nil {
			n.evt["outcome"] = c.outcome
		}
		n.evt["action"] = c.action
		n.checkRequired()
	} else {
		n.problem("event.code: " + n.code + " is not a Sysmon event ID the pipeline maps")
	}

	if v, ok := d.get(sID); ok && n.code == "255" {
		d.take(sID)
		child(n.doc, "error", 2)["code"] = v
	}
	if v, ok := d.get(sRuleName); ok {
		d.take(sRuleName)
		n.doc["rule"] = map[string]any{"name": v}
	}
	if v, ok := d.get(sType); ok && n.code == "25" {
		d.take(sType)
		n.doc["message"] = v
	}
	d.renameKey(sHash, sHashes)

	var hashes map[string]any
	if v, ok := d.get(sHashes); ok {
		var related []any
		var bad string
		hashes, related, bad, ok = parseHashes(v)
		if !ok {
			n.problem(fmt.Sprintf("winlog.event_data.Hashes: %q has no \"=\"; the hashes after it are lost", bad))
		}
		if len(related) > 0 {
			n.doc["related"] = map[string]any{"hash": related}
		}
	}

	n.processFields(hashes)
	n.fileFields(hashes)
	n.networkFields()
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
func (n *run) checkRequired() {
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

func (n *run) proc() map[string]any {
	if n.process == nil {
		// A map of up to 8 entries is one allocation; only process
		// creation fills more.
		hint := 8
		if n.code == "1" {
			hint = 12
		}
		n.process = child(n.doc, "process", hint)
	}
	return n.process
}

func (n *run) parentProc() map[string]any {
	if n.parent == nil {
		n.parent = child(n.proc(), "parent", 8)
	}
	return n.parent
}

// rename moves event_data's s to m[key], as the rename processor does:
// nothing happens when s is absent, and when key is already set the rename
// fails and s stays in event_data.
func (n *run) rename(s slot, m func() map[string]any, key string) {
	v, ok := n.ed.get(s)
	if !ok {
		return
	}
	target := m()
	if _, exists := target[key]; exists {
		return
	}
	n.ed.take(s)
	target[key] = v
}

// convertLong sets m[key] to event_data's s as a long; s stays in
// event_data (the cleanup removes it).
func (n *run) convertLong(s slot, m func() map[string]any, key string) {
	v, ok := n.ed.get(s)
	if !ok {
		return
	}
	x, ok := toLong(v)
	if !ok {
		n.problem(fmt.Sprintf("winlog.event_data.%s: %q is not a number", s.name(), v))
		return
	}
	m()[key] = x
}

// copyTo sets m[key] to event_data's s, leaving s in event_data, as a set
// processor with copy_from does.
func (n *run) copyTo(s slot, m func() map[string]any, key string) {
	if v, ok := n.ed.getBoxed(s); ok {
		m()[key] = v
	}
}

func (n *run) processFields(hashes map[string]any) {
	switch n.code {
	case "1", "23", "24", "25":
		if hashes != nil {
			n.proc()["hash"] = hashes
			if v, ok := hashes["imphash"]; ok {
				delete(hashes, "imphash")
				child(n.proc(), "pe", 6)["imphash"] = v
			}
		}
	}
	proc, parent := n.proc, n.parentProc
	n.rename(sProcessGuid, proc, "entity_id")
	n.convertLong(sProcessId, proc, "pid")
	n.rename(sImage, proc, "executable")
	n.rename(sSourceProcessGuid, proc, "entity_id")
	n.rename(sSourceProcessGUID, proc, "entity_id")
	n.convertLong(sSourceProcessId, proc, "pid")
	n.convertLong(sSourceThreadId, func() map[string]any { return child(n.proc(), "thread", 1) }, "id")
	n.rename(sSourceImage, proc, "executable")
	n.rename(sDestination, proc, "executable")
	n.rename(sCommandLine, proc, "command_line")
	n.rename(sCurrentDirectory, proc, "working_directory")
	n.rename(sParentProcessGuid, parent, "entity_id")
	n.convertLong(sParentProcessId, parent, "pid")
	n.rename(sParentImage, parent, "executable")
	n.rename(sParentCommandLine, parent, "command_line")
	if n.code != "7" {
		pe := func() map[string]any { return child(n.proc(), "pe", 6) }
		n.rename(sOriginalFileName, pe, "original_file_name")
		n.copyTo(sCompany, pe, "company")
		n.copyTo(sDescription, pe, "description")
		n.copyTo(sFileVersion, pe, "file_version")
		n.copyTo(sProduct, pe, "product")
	}

	if n.process == nil {
		return
	}
	for _, p := range [2]map[string]any{n.process, n.parent} {
		if p == nil {
			continue
		}
		if cmd, _ := p["command_line"].(string); cmd != "" {
			args := commandLineToArgv(cmd)
			p["args"] = args
			p["args_count"] = int64(len(args))
		}
	}
	for _, p := range [2]map[string]any{n.process, n.parent} {
		if p == nil {
			continue
		}
		exe, _ := p["executable"].(string)
		if _, named := p["name"]; exe == "" || named {
			continue
		}
		if i := strings.LastIndexByte(exe, '\\'); i >= 0 && i+1 < len(exe) {
			p["name"] = exe[i+1:]
		}
	}
}

func (n *run) fileFields(hashes map[string]any) {
	var fileM map[string]any
	file := func() map[string]any {
		if fileM == nil {
			fileM = child(n.doc, "file", 8)
		}
		return fileM
	}
	switch n.code {
	case "6", "7", "15", "26", "29":
		if hashes != nil {
			file()["hash"] = hashes
			if v, ok := hashes["imphash"]; ok {
				delete(hashes, "imphash")
				child(file(), "pe", 6)["imphash"] = v
			}
		}
	}
	n.rename(sTargetFilename, file, "path")
	n.rename(sDevice, file, "path")
	n.rename(sPipeName, file, "name")
	n.rename(sImageLoaded, file, "path")
	sig := func() map[string]any { return child(file(), "code_signature", 4) }
	n.copyTo(sSignature, sig, "subject_name")
	n.copyTo(sSignatureStatus, sig, "status")
	if n.code == "7" {
		pe := func() map[string]any { return child(file(), "pe", 6) }
		n.rename(sOriginalFileName, pe, "original_file_name")
		n.copyTo(sCompany, pe, "company")
		n.copyTo(sDescription, pe, "description")
		n.copyTo(sFileVersion, pe, "file_version")
		n.copyTo(sProduct, pe, "product")
	}
	// The pipeline sets file.code_signature.signed only when Signed == true,
	// a boolean; event_data holds the string "true", so it never does.
	if v, ok := n.ed.get(sSignatureStatus); ok && v == "Valid" {
		sig()["valid"] = true
	}

	if fileM == nil {
		return
	}
	path, _ := fileM["path"].(string)
	if len(path) <= 1 {
		return
	}
	if i := strings.LastIndexByte(path, '\\'); i >= 0 {
		fileM["name"] = path[i+1:]
		fileM["directory"] = path[:i]
		// The script looks for the extension in the whole path, not the name.
		if j := strings.LastIndexByte(path, '.'); j >= 0 {
			fileM["extension"] = path[j+1:]
		}
	}
}

func (n *run) networkFields() {
	var netM, srcM, dstM map[string]any
	network := func() map[string]any {
		if netM == nil {
			netM = child(n.doc, "network", 6)
		}
		return netM
	}
	source := func() map[string]any {
		if srcM == nil {
			srcM = child(n.doc, "source", 3)
		}
		return srcM
	}
	destination := func() map[string]any {
		if dstM == nil {
			dstM = child(n.doc, "destination", 3)
		}
		return dstM
	}
	d := &n.ed
	n.rename(sProtocol, network, "transport")
	if n.code != "22" {
		n.rename(sDestinationPortName, network, "protocol")
		n.rename(sSourcePortName, network, "protocol")
	} else {
		network()["protocol"] = "dns"
	}
	n.convertIP(sSourceIp, source)
	n.rename(sSourceHostname, source, "domain")
	n.convertPort(sSourcePort, source)
	n.convertIP(sDestinationIp, destination)
	n.rename(sDestinationHostname, destination, "domain")
	n.convertPort(sDestinationPort, destination)
	n.rename(sQueryName, func() map[string]any { return child(child(n.doc, "dns", 4), "question", 2) }, "name")
	if v, ok := d.get(sInitiated); ok {
		switch v {
		case "true":
			network()["direction"] = "egress"
		case "false":
			network()["direction"] = "ingress"
		}
	}
	if v, ok := d.get(sSourceIsIpv6); ok {
		switch v {
		case "false":
			network()["type"] = "ipv4"
		case "true":
			network()["type"] = "ipv6"
		}
	}
}

// convertPort is convertLong for a port. The pipeline keeps a number out
// of the port range; so do we, but we also report it.
func (n *run) convertPort(s slot, m func() map[string]any) {
	n.convertLong(s, m, "port")
	v, ok := n.ed.get(s)
	if !ok {
		return
	}
	if p, ok := toLong(v); ok && (p < 0 || p > 65535) {
		n.problem(fmt.Sprintf("winlog.event_data.%s: %d is not a port number", s.name(), p))
	}
}

// convertIP sets m.ip to event_data's s when it is an IP address; type ip
// checks the value and keeps its text.
func (n *run) convertIP(s slot, m func() map[string]any) {
	v, ok := n.ed.get(s)
	if !ok {
		return
	}
	if _, ok := parseIP(v); !ok {
		n.problem(fmt.Sprintf("winlog.event_data.%s: %q is not an IP address", s.name(), v))
		return
	}
	m()["ip"] = v
}

// dnsFields splits QueryResults into dns.answers, dns.resolved_ip and
// related.hosts. It returns false when the pipeline fails on the event.
//
// Not reproduced: the registered_domain processor (dns.question.
// registered_domain, subdomain, top_level_domain), which needs the public
// suffix list.
func (n *run) dnsFields() bool {
	d := &n.ed
	var dns map[string]any
	if m, ok := n.doc["dns"].(map[string]any); ok {
		dns = m
	}
	if v, ok := d.get(sQueryResults); ok {
		var answers, ips, hosts []any
		for _, answer := range javaSplit(v, ';') {
			if answer == "" {
				continue
			}
			if !strings.HasPrefix(answer, "type:") {
				ips = append(ips, answer)
				continue
			}
			parts := javaSplitSpace(answer)
			if len(parts) < 2 {
				return n.fail("unexpected QueryResult format")
			}
			var typ any
			if name, ok := dnsRecordType(parts[1]); ok {
				typ = name
			}
			if len(parts) == 3 {
				answers = append(answers, map[string]any{"type": typ, "data": parts[2]})
				hosts = append(hosts, parts[2])
			} else {
				answers = append(answers, map[string]any{"type": typ})
			}
		}
		if len(answers) > 0 || len(ips) > 0 {
			if dns == nil {
				// The script writes into ctx.dns, which only QueryName creates.
				return n.fail("cannot write dns.answers: the event has no QueryName")
			}
		}
		if len(answers) > 0 {
			dns["answers"] = answers
		}
		if len(ips) > 0 {
			dns["resolved_ip"] = ips
		}
		if len(hosts) > 0 {
			child(n.doc, "related", 4)["hosts"] = hosts
		}
	}

	if ips, ok := dns["resolved_ip"].([]any); ok {
		for i, ip := range ips {
			s := unmapIPv4(ip.(string))
			if _, ok := parseIP(s); !ok {
				// The foreach's on_failure removes the value, leaving a hole.
				n.problem(fmt.Sprintf("winlog.event_data.QueryResults: %q is not an IP address", s))
				ips[i] = nil
				continue
			}
			ips[i] = s
		}
		answers, _ := dns["answers"].([]any)
		// The script deletes a hole and moves on, so it never looks at the
		// value that slid into the hole's place; we keep that quirk.
		for i := 0; i < len(ips); i++ {
			if ips[i] == nil {
				ips = append(ips[:i], ips[i+1:]...)
				continue
			}
			typ := "A"
			if strings.IndexByte(ips[i].(string), ':') >= 0 {
				typ = "AAAA"
			}
			answers = append(answers, map[string]any{"type": typ, "data": ips[i]})
		}
		dns["resolved_ip"] = ips
		dns["answers"] = answers
	}
	if q, ok := dns["question"].(map[string]any); ok {
		if name, _ := q["name"].(string); name != "" {
			appendUnique(child(n.doc, "related", 4), "hosts", mustache(name))
		}
	}
	if ips, ok := dns["resolved_ip"].([]any); ok {
		related := child(n.doc, "related", 4)
		for _, ip := range ips {
			s, _ := ip.(string)
			appendUnique(related, "ip", mustache(s))
		}
	}
	return true
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

// communityID is the community_id processor with its defaults (seed 0).
func (n *run) communityID() {
	src, _ := n.doc["source"].(map[string]any)
	dst, _ := n.doc["destination"].(map[string]any)
	netM, _ := n.doc["network"].(map[string]any)
	srcIP, _ := src["ip"].(string)
	dstIP, _ := dst["ip"].(string)
	transport, _ := netM["transport"].(string)
	if srcIP == "" || dstIP == "" || transport == "" {
		return // the processor fails on a missing field; ignore_failure
	}
	proto, ok := communityid.ProtocolNumber(transport)
	if !ok {
		n.problem(fmt.Sprintf("network.community_id: could not convert string [%s] to transport protocol", transport))
		return
	}
	flow := communityid.Flow{Protocol: proto}
	flow.Source, _ = parseIP(srcIP)
	flow.Destination, _ = parseIP(dstIP)
	switch proto {
	case communityid.TCP, communityid.UDP, communityid.SCTP:
		sp, okS := src["port"].(int64)
		dp, okD := dst["port"].(int64)
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
	netM["community_id"] = communityid.ID(flow, 0)
}

func (n *run) userFields() {
	var userM map[string]any
	user := func() map[string]any {
		if userM == nil {
			userM = child(n.doc, "user", 4)
		}
		return userM
	}
	if n.sid != nil {
		user()["id"] = n.sid
	}
	if v, ok := n.ed.get(sUser); ok {
		if domain, name, ok := splitUser(v); ok {
			if domain != "" {
				user()["domain"] = mustache(domain)
			}
			if name != "" {
				user()["name"] = mustache(name)
			}
		}
	}
	// Fields that Winlogbeat's translate_sid processor adds.
	n.rename(sMemberUserName, user, "name")
	n.rename(sMemberDomain, user, "domain")
	if v, ok := n.ed.get(sMemberAccountType); ok {
		appendUnique(user(), "roles", v)
		n.ed.take(sMemberAccountType)
	}
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

func (n *run) sysmonFields() {
	var sysmonM map[string]any
	sysmon := func() map[string]any {
		if sysmonM == nil {
			sysmonM = child(n.doc, "sysmon", 2)
		}
		return sysmonM
	}
	if v, ok := n.ed.take(sQueryStatus); ok {
		if name, ok := dnsStatusName(v); ok {
			v = name
		}
		child(sysmon(), "dns", 1)["status"] = v
	}
	for _, f := range [2]struct {
		s   slot
		key string
	}{{sArchived, "archived"}, {sIsExecutable, "is_executable"}} {
		v, ok := n.ed.get(f.s)
		if !ok {
			continue
		}
		b, ok := toBool(v)
		if !ok {
			n.problem(fmt.Sprintf("winlog.event_data.%s: %q is not a boolean", f.s.name(), v))
			continue
		}
		child(sysmon(), "file", 2)[f.key] = b
	}
}

func (n *run) relatedFields() {
	if user, ok := n.doc["user"].(map[string]any); ok {
		appendTemplate(n.doc, "user", user["name"])
	}
	for _, side := range [2]string{"source", "destination"} {
		if m, ok := n.doc[side].(map[string]any); ok {
			appendTemplate(n.doc, "ip", m["ip"])
		}
	}
}

// appendTemplate appends "{{field}}" to related.<key> for a non-empty
// string field, reusing the field's boxed value when escaping leaves it
// unchanged.
func appendTemplate(doc map[string]any, key string, v any) {
	s, _ := v.(string)
	if s == "" {
		return
	}
	if e := mustache(s); e != s {
		v = e
	}
	appendUnique(child(doc, "related", 4), key, v)
}

// registryFields is the pipeline's "Set registry fields." script. It
// returns false when the pipeline fails on the event.
func (n *run) registryFields() bool {
	switch n.code {
	case "12", "13", "14":
	default:
		return true
	}
	path, ok := n.ed.get(sTargetObject)
	if !ok {
		return true
	}
	reg := make(map[string]any, 5)
	n.doc["registry"] = reg
	reg["path"] = path
	tokens := javaSplit(path, '\\')
	if len(tokens) == 0 {
		// Java's split of a path made only of backslashes leaves no token,
		// and the script fails indexing it; ignore_failure does not apply.
		return n.fail("registry: TargetObject " + strconv.Quote(path) + " has no key")
	}
	if hive, ok := registryHive(tokens[0]); ok {
		reg["hive"] = hive
		if len(tokens) > 1 {
			reg["key"] = strings.Join(tokens[1:], `\`)
		}
	}
	reg["value"] = tokens[len(tokens)-1]

	data, ok := n.ed.get(sDetails)
	if !ok {
		return true
	}
	if hi, lo, ok := parseQword(data); ok {
		// The script shifts the high word by 8 bits, not 32; so does this.
		reg["data"] = map[string]any{"strings": []any{strconv.FormatInt(hi<<8+lo, 10)}, "type": "SZ_QWORD"}
		return true
	}
	if v, ok := parseDword(data); ok {
		reg["data"] = map[string]any{"strings": []any{strconv.FormatInt(v, 10)}, "type": "SZ_DWORD"}
		return true
	}
	typ := "REG_SZ"
	if data == "Binary Data" {
		typ = "REG_BINARY"
	}
	reg["data"] = map[string]any{"strings": []any{data}, "type": typ}
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
func (n *run) conformity() bool {
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
func (n *run) fail(msg string) bool {
	n.evt["kind"] = "pipeline_error"
	n.problem(msg)
	return false
}

// cleanup removes what the pipeline consumed from event_data; empty values
// were never kept, so only the listed fields go.
func (n *run) cleanup() {
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
