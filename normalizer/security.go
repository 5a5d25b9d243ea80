package normalizer

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// scriptSet is a set of the Security pipeline's processors that apply to
// lists of event IDs (tables_security_gen.go names them); securityScripts
// gives the set of an event ID, so each event runs exactly the processors
// the pipeline would run for it, decided by one switch.
type scriptSet uint32

// flagName is one entry of a table of bit flags.
type flagName struct {
	flag uint64
	name string
}

const (
	securityProvider = "Microsoft-Windows-Security-Auditing"
	eventlogProvider = "Microsoft-Windows-Eventlog"
	// securityECSVersion is what the windows.forwarded security pipeline
	// (security_default.yml) and the PowerShell pipelines set.
	securityECSVersion = "8.17.0"
)

// security applies Elastic's windows.forwarded security pipeline
// (security_default.yml: security_standard.yml, then security_common.yml)
// to an event of the Security channel from the auditing or event log
// provider, processor by processor in the spec's order. Where a script
// would fail on a value (a hex number that does not parse) the pipeline
// stops with event.kind pipeline_error; weft drops that one value, goes
// on, and records the problem in error.message.
func (n *Normalizer) security() {
	d, rec := &n.ed, &n.rec
	code := n.r.EventID
	rec.setConst(kECSVersion, securityECSVersion)
	if n.r.Provider == securityProvider {
		if task, ok := n.securityTask(n.r.Task); ok {
			rec.setStr(kWinlogTask, task)
		}
	}
	d.removeEmpty()
	if adfsEvent(n.r.Provider, code) {
		// security_standard.yml runs only for the auditing and event log
		// providers: AD FS's audits get security_adfs.yml, then
		// security_common.yml.
		n.adfs()
		n.securityCommon()
		return
	}
	scripts := securityScripts(code)

	if c, ok := securityCategorization(code); ok {
		if c.category.n > 0 {
			rec.setConsts(kEventCategory, c.category.values()...)
		}
		if c.typ.n > 0 {
			rec.setConsts(kEventType, c.typ.values()...)
		}
		rec.setConst(kEventAction, c.action)
	}
	if v, ok := d.get(sLogonType); ok {
		if t, ok := logonTypeName(v); ok {
			rec.setStr(kWinlogLogonType, t)
		}
	}
	n.userAccountControl()
	n.ticketOptions()
	// These scripts put params[value]: a value the table lacks gives a
	// null, which Elasticsearch keeps.
	if t, ok := d.text(sTicketEncryptionType); ok {
		if name, ok := kerberosEncryptionName(t.String()); ok {
			d.put("TicketEncryptionTypeDescription", plain(name))
		} else {
			d.putNull("TicketEncryptionTypeDescription")
		}
	}
	if scripts&scKerberosStatus != 0 {
		if t, ok := d.text(sStatus); ok {
			if name, ok := lookupRaw(t, kerberosStatusName); ok {
				d.put("StatusDescription", plain(name))
			} else {
				d.putNull("StatusDescription")
			}
		}
	}
	if v, ok := d.get(sServiceName); ok {
		rec.setStr(kServiceName, v)
	}
	if t, ok := d.text(sServiceType); ok {
		if name, ok := lookupRaw(t, serviceTypeName); ok {
			rec.setStr(kServiceType, name)
		} else {
			// params[ServiceType] of a type the table lacks: a null.
			rec.mark(kServiceType).kind, rec.vals[kServiceType].box = vTree, nil
		}
	}
	n.auditInformation()
	n.messageTable()
	if scripts&scLogonFailureStatus != 0 {
		n.logonFailureStatus()
	}
	for _, f := range [3]struct {
		s      slot
		k      key
		lookup func(string) (string, bool)
	}{
		{sTdoType, kWinlogTrustType, trustTypeName},
		{sTdoDirection, kWinlogTrustDirection, trustDirectionName},
		{sTdoAttributes, kWinlogTrustAttribute, trustAttributeName},
	} {
		if v, ok := d.get(f.s); ok {
			if name, ok := f.lookup(v); ok {
				rec.setStr(f.k, name)
			}
		}
	}
	if scripts&scSessionEvents != 0 {
		n.sessionEvents()
	}
	if scripts&scCopyTargetUser != 0 {
		n.copyTargetUser()
	}
	if scripts&scMemberName != 0 {
		n.memberName()
	}
	if scripts&scComputerObject != 0 {
		n.copyIf(sTargetSid, kWinlogComputerObjectID)
		n.copyIf(sTargetUserName, kWinlogComputerObjectName)
		n.copyIf(sTargetDomainName, kWinlogComputerObjectDomain)
	}
	if scripts&scLogonIDFromTarget != 0 {
		// copy_from a missing field fails, and this processor does not
		// ignore failures; the event then ends as a pipeline error.
		if !n.copyIf(sTargetLogonId, kWinlogLogonID) {
			n.problem("winlog.event_data.TargetLogonId: missing from event " + n.code + "; winlog.logon.id is not set")
		}
	}
	if scripts&(scCopySubjectUser|scSubjectFromUserData) != 0 {
		// Both scripts read the same values: weft loads UserData's
		// fields as it loads EventData's, and writes them under
		// winlog.user_data for the event log service's audits.
		n.copySubjectUser()
	}
	if n.r.Provider == eventlogProvider && len(n.r.Data) > 0 && d.live("xml_name") == nil {
		// Winlogbeat names the UserData element in xml_name; Winlogbeat's
		// JSON brings it, EVTX and rendered XML flatten it away, so it is
		// put back from the service's manifest.
		if name, ok := eventlogUserDataName(n.r.EventID); ok {
			d.put("xml_name", plain(name))
		}
	}
	if scripts&scTargetUserToTarget != 0 {
		n.targetUserTo(kUserTargetID, kUserTargetName, kUserTargetDomain, sTargetSid)
	}
	if scripts&scTargetUserToEffective != 0 {
		n.targetUserTo(kUserEffectiveID, kUserEffectiveName, kUserEffectiveDomain, sTargetUserSid)
	}
	n.copyIf(sSubjectLogonId, kWinlogLogonID)
	if scripts&scCommonAuthFields != 0 {
		n.commonAuthFields()
	}
	if scripts&scConnectionEvents != 0 {
		n.connectionEvents()
	}
	if scripts&scProcessCreation != 0 {
		n.processCreation()
	}
	if scripts&scRelatedSubjectUser != 0 {
		n.relatedUserFrom(sSubjectUserName)
	}
	if scripts&scRelatedTargetUser != 0 {
		n.relatedUserFrom(sTargetUserName)
	}
	if scripts&scSplitPrivileges != 0 {
		if t, ok := d.text(sPrivilegeList); ok {
			splitWhitespace(d.putList("PrivilegeList"), t.String())
		}
	}
	if v, ok := d.get(sOldTargetUserName); ok {
		rec.setStr(kUserTargetName, v)
	}
	if v, ok := d.get(sNewTargetUserName); ok {
		rec.setStr(kUserChangesName, v)
	}
	n.relatedUserFrom(sNewTargetUserName)
	n.relatedUserFrom(sOldTargetUserName)
	if code == 5136 {
		if v, ok := d.get(sOperationType); ok {
			rec.setStr(kEventReason, v)
		}
		n.objectDN()
	}
	n.normalizeSidList()
	// "Object Policy Change and SidListDesc": its start runs for every
	// event, its SDDL part for 4670, 4817, 4907 and 4908.
	for _, f := range [2]struct {
		s    slot
		name string
	}{{sRemoteMachineID, "RemoteMachineDescription"}, {sRemoteUserID, "RemoteUserDescription"}} {
		if v, ok := d.get(f.s); ok {
			// params.AccountSIDDescription[v]: a miss is a null.
			if desc, ok := accountSIDDescription(v); ok {
				d.put(f.name, plain(desc))
			} else {
				d.putNull(f.name)
			}
		}
	}
	if scripts&scObjectPolicy != 0 {
		n.objectPolicy()
	}
	n.registryPath()
	if rec.has(kNetworkIanaNumber) && !rec.has(kNetworkTransport) {
		v, _ := rec.str(kNetworkIanaNumber)
		if t, ok := ianaTransport(v); ok {
			rec.setConst(kNetworkTransport, t)
		}
	}
	if scripts&(scShareFile|scShareDirectory|scShareTargetPath) != 0 {
		n.shareFile()
	}
	if name, ok := rec.str(kFileName); ok {
		if i := strings.LastIndexByte(name, '.'); i >= 0 {
			rec.setStr(kFileExtension, name[i+1:])
		}
	}
	n.scheduledTask()
	n.adcs()
	n.securityCommon()
	n.securityCommunityID()
}

// securityCommunityID is the pipeline's community_id processor, which
// needs source and destination addresses and a transport: the firewall
// events (5152-5158) have them.
func (n *Normalizer) securityCommunityID() {
	rec := &n.rec
	src, okS := rec.str(kSourceIP)
	dst, okD := rec.str(kDestinationIP)
	if !okS || !okD || !rec.has(kNetworkTransport) {
		return
	}
	var ok bool
	if n.srcAddr, ok = parseIP(src); !ok {
		return
	}
	if n.dstAddr, ok = parseIP(dst); !ok {
		return
	}
	n.communityID()
}

// securityCommon is security_common.yml: the scheduled task's name,
// source.ip without its IPv4-mapped prefix, and related.ip.
func (n *Normalizer) securityCommon() {
	rec := &n.rec
	switch n.r.EventID {
	case 4698, 4699, 4700, 4701, 4702:
		if n.r.Provider == securityProvider {
			n.copyIf(sTaskName, kWinlogScheduledTaskName)
		}
	}
	if ip, ok := rec.str(kSourceIP); ok {
		if u := unmapIPv4(ip); u != ip {
			rec.setStr(kSourceIP, u)
			ip = u
		}
		if ip != "-" {
			rec.appendUnique(kRelatedIP, mustache(ip))
		}
	}
}

// copyIf sets k to event_data's s when it is there, leaving s.
func (n *Normalizer) copyIf(s slot, k key) bool {
	t, ok := n.ed.text(s)
	if ok {
		n.rec.setText(k, t)
	}
	return ok
}

// lookupRaw looks a value up as the event wrote it (what Winlogbeat hands
// the pipeline), then as weft writes it.
func lookupRaw(t text, lookup func(string) (string, bool)) (string, bool) {
	if v, ok := lookup(t.s); ok {
		return v, true
	}
	if t.form != asIs {
		return lookup(t.String())
	}
	return "", false
}

// decodeLong is Java's Long.decode of a value as the event wrote it.
func decodeLong(t text) (int64, bool) {
	if v, ok := toLong(t.s); ok {
		return v, true
	}
	return toLong(t.String())
}

// userAccountControl is the "Set User Account Control" script.
func (n *Normalizer) userAccountControl() {
	d := &n.ed
	t, ok := d.text(sNewUacValue)
	if !ok {
		return
	}
	v, ok := decodeLong(t)
	if !ok {
		n.problem(fmt.Sprintf("winlog.event_data.NewUacValue: %q is not a number", t.String()))
		return
	}
	flags := uacFlags()
	if !anyFlag(uint64(v), flags[:]) {
		return
	}
	appendFlags(d.putList("NewUACList"), uint64(v), flags[:])
	uac, ok := d.get(sUserAccountControl)
	if !ok {
		return
	}
	f := d.putList("UserAccountControl")
	for len(uac) > 0 {
		line := uac
		if i := strings.IndexByte(uac, '\n'); i >= 0 {
			line, uac = uac[:i], uac[i+1:]
		} else {
			uac = ""
		}
		if strings.Contains(line, "%%") {
			line = strings.ReplaceAll(line, "%%", "")
		}
		if line = javaTrim(line); line != "" {
			f.items = append(f.items, plain(line))
		}
	}
}

// ticketOptions is the "Set Kerberos Ticket Options" script.
func (n *Normalizer) ticketOptions() {
	d := &n.ed
	t, ok := d.text(sTicketOptions)
	if !ok {
		return
	}
	v, ok := decodeLong(t)
	if !ok {
		n.problem(fmt.Sprintf("winlog.event_data.TicketOptions: %q is not a number", t.String()))
		return
	}
	flags := ticketOptionFlags()
	if anyFlag(uint64(v), flags[:]) {
		appendFlags(d.putList("TicketOptionsDescription"), uint64(v), flags[:])
	}
}

func anyFlag(v uint64, flags []flagName) bool {
	for _, f := range flags {
		if v&f.flag == f.flag {
			return true
		}
	}
	return false
}

func appendFlags(f *field, v uint64, flags []flagName) {
	for _, fl := range flags {
		if v&fl.flag == fl.flag {
			f.items = append(f.items, plain(fl.name))
		}
	}
}

// auditInformation is the "Set Audit Information" script.
func (n *Normalizer) auditInformation() {
	t, ok := n.ed.text(sSubcategoryGuid)
	if !ok {
		return
	}
	g := strings.ToUpper(strings.NewReplacer("{", "", "}", "").Replace(t.s))
	if sub, cat, ok := auditSubcategory(g); ok {
		n.ed.put("Category", plain(cat))
		n.ed.put("SubCategory", plain(sub))
	}
}

// messageTable is the "Decode message table" script: FailureReason,
// AuditPolicyChanges, AccessList, Direction, LayerName and AccessMask
// translated with the pipeline's copy of the message table.
func (n *Normalizer) messageTable() {
	d, rec := &n.ed, &n.rec
	if v, ok := d.get(sFailureReason); ok {
		c := strings.ReplaceAll(v, "%%", "")
		if desc, ok := messageDescription(c); ok {
			rec.setStr(kWinlogLogonFailureReason, desc)
		} else {
			rec.setStr(kWinlogLogonFailureReason, c)
		}
	}
	if v, ok := d.get(sAuditPolicyChanges); ok {
		f := d.putList("AuditPolicyChangesDescription")
		for _, elem := range strings.Split(v, ",") {
			c := javaTrim(strings.ReplaceAll(elem, "%%", ""))
			if desc, ok := messageDescription(c); ok {
				c = desc
			}
			f.items = append(f.items, plain(c))
		}
	}
	if v, ok := d.get(sAccessList); ok {
		var codes, descs []text
		for _, elem := range javaSplitWhitespace(v) {
			c := javaTrim(strings.ReplaceAll(elem, "%%", ""))
			if c != "" {
				codes = append(codes, plain(c))
			}
			if desc, ok := messageDescription(c); ok {
				descs = append(descs, plain(desc))
			} else {
				descs = append(descs, plain(c))
			}
		}
		if len(codes) > 0 {
			f := d.putList("AccessList")
			f.items = append(f.items, codes...)
		}
		if len(descs) > 0 {
			f := d.putList("AccessListDescription")
			f.items = append(f.items, descs...)
		}
	}
	// The pipeline's last processors rename DirectionDescription to
	// network.direction and lower-case it; nothing reads it in between.
	if v, ok := d.get(sDirection); ok {
		if desc, ok := messageDescription(javaTrim(strings.ReplaceAll(v, "%%", ""))); ok {
			rec.setText(kNetworkDirection, text{s: desc, form: lowerForm})
		}
	}
	if v, ok := d.get(sLayerName); ok {
		if desc, ok := messageDescription(javaTrim(strings.ReplaceAll(v, "%%", ""))); ok {
			d.put("LayerNameDescription", plain(desc))
		}
	}
	if v, ok := d.get(sAccessMask); ok {
		n.accessMask(v)
	}
}

// accessMask is the message table script's AccessMask part: each part of
// the value, its %% removed, becomes its message text (or stays a code),
// and the parts read as numbers — message numbers included, as the
// script's Long.decode reads them — are or-ed into a mask whose bits are
// named from AccessMaskDescriptions.
func (n *Normalizer) accessMask(v string) {
	d := &n.ed
	var list []text
	var mask int64
	for _, elem := range javaSplitWhitespace(v) {
		if elem == "" {
			continue
		}
		c := javaTrim(strings.ReplaceAll(elem, "%%", ""))
		if desc, ok := messageDescription(c); ok {
			list = append(list, plain(desc))
		} else {
			list = append(list, plain(c))
			if code, ok := reversedDescription(c); ok {
				c = code
			}
		}
		if x, ok := toLong(c); ok {
			mask |= x
		}
	}
	if len(list) > 0 {
		f := d.putList("AccessMask")
		f.items = append(f.items, list...)
	}
	var f *field
	for b := range 32 {
		flag := uint64(1) << b
		if uint64(mask)&flag == 0 {
			continue
		}
		if desc, ok := accessMaskBit(flag); ok {
			if f == nil {
				f = d.putList("AccessMaskDescription")
			}
			f.items = append(f.items, plain(desc))
		}
	}
}

// logonFailureStatus is the "4625 and 4776 Set Status and SubStatus"
// script.
func (n *Normalizer) logonFailureStatus() {
	for _, f := range [2]struct {
		s slot
		k key
	}{{sStatus, kWinlogLogonFailureStatus}, {sSubStatus, kWinlogLogonFailureSubStatus}} {
		if t, ok := n.ed.text(f.s); ok {
			if desc, ok := lookupRaw(t, logonFailureStatus); ok {
				n.rec.setStr(f.k, desc)
			}
		}
	}
}

// sessionEvents is the "Add Session Events" script (4778, 4779).
func (n *Normalizer) sessionEvents() {
	d, rec := &n.ed, &n.rec
	if v, ok := d.get(sAccountName); ok {
		rec.setStr(kUserName, v)
		rec.appendUnique(kRelatedUser, v)
	}
	n.copyIf(sAccountDomain, kUserDomain)
	if v, ok := d.get(sClientAddress); ok && v != "Unknown" {
		if v == "LOCAL" {
			v = "127.0.0.1"
			d.put("ClientAddress", plain(v))
		}
		rec.setStr(kSourceIP, v)
		rec.appendUnique(kRelatedIP, v)
	}
	n.copyIf(sClientName, kSourceDomain)
	n.copyIf(sLogonID, kWinlogLogonID)
}

// copyTargetUser is the "Copy Target User" script: the target user goes
// to user.*, or to user.target.* where user.* is already set.
func (n *Normalizer) copyTargetUser() {
	d, rec := &n.ed, &n.rec
	id, ok := d.text(sTargetUserSid)
	if !ok {
		id, ok = d.text(sTargetSid)
	}
	if ok {
		n.setFirst(kUserID, kUserTargetID, id)
	}
	if v, ok := d.get(sTargetUserName); ok {
		name, _, _ := strings.Cut(v, "@")
		n.setFirst(kUserName, kUserTargetName, plain(name))
		rec.appendUnique(kRelatedUser, name)
	}
	if t, ok := d.text(sTargetDomainName); ok {
		n.setFirst(kUserDomain, kUserTargetDomain, t)
	}
}

// setFirst sets k, or alt when k is already set.
func (n *Normalizer) setFirst(k, alt key, t text) {
	if n.rec.has(k) {
		k = alt
	}
	n.rec.setText(k, t)
}

// memberName is the "Copy MemberName to User and User to Group" script,
// with the split of MemberName before it.
func (n *Normalizer) memberName() {
	d, rec := &n.ed, &n.rec
	if v, ok := d.get(sMemberName); ok {
		parts := splitDN(v)
		name := strings.ReplaceAll(strings.ReplaceAll(parts[0], "CN=", ""), "cn=", "")
		rec.setStr(kUserTargetName, name)
		rec.appendUnique(kRelatedUser, name)
		if len(parts) >= 4 {
			rec.setStr(kUserTargetDomain, strings.ReplaceAll(strings.ReplaceAll(parts[3], "DC=", ""), "dc=", ""))
		}
	}
	n.copyIf(sTargetUserSid, kGroupID)
	n.copyIf(sTargetSid, kGroupID)
	n.copyIf(sTargetUserName, kGroupName)
	if v, ok := d.get(sTargetDomainName); ok {
		rec.setStr(kGroupDomain, strings.ReplaceAll(strings.ReplaceAll(v, "DC=", ""), "dc=", ""))
	}
	if rec.has(kUserTargetName) || rec.has(kUserTargetDomain) || rec.has(kUserTargetID) {
		for _, f := range [3]struct{ from, to key }{
			{kGroupID, kUserTargetGroupID}, {kGroupName, kUserTargetGroupName}, {kGroupDomain, kUserTargetGroupDomain},
		} {
			if rec.has(f.from) {
				rec.vals[f.to] = rec.vals[f.from]
				rec.mark(f.to)
			}
		}
	}
}

// splitDN splits a distinguished name at the commas not escaped with a
// backslash, as the split processor with separator (?<!\\), does; Java
// drops trailing empty parts.
func splitDN(v string) []string {
	var parts []string
	start := 0
	for i := 0; i < len(v); i++ {
		if v[i] == ',' && (i == 0 || v[i-1] != '\\') {
			parts = append(parts, v[start:i])
			start = i + 1
		}
	}
	parts = append(parts, v[start:])
	for len(parts) > 1 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// copySubjectUser is the "Copy Subject User from Event Data" script.
func (n *Normalizer) copySubjectUser() {
	d, rec := &n.ed, &n.rec
	n.copyIf(sSubjectUserSid, kUserID)
	if v, ok := d.get(sSubjectUserName); ok {
		rec.setStr(kUserName, v)
		rec.appendUnique(kRelatedUser, v)
	}
	n.copyIf(sSubjectDomainName, kUserDomain)
}

// targetUserTo is the "Copy Target User to Target" and "… to Effective"
// scripts: the id from idSlot, the name without its @realm, the domain.
func (n *Normalizer) targetUserTo(id, name, domain key, idSlot slot) {
	d, rec := &n.ed, &n.rec
	n.copyIf(idSlot, id)
	if v, ok := d.get(sTargetUserName); ok {
		nm, _, _ := strings.Cut(v, "@")
		rec.setStr(name, nm)
		rec.appendUnique(kRelatedUser, nm)
	}
	n.copyIf(sTargetDomainName, domain)
}

// commonAuthFields is the "Rename Common Auth Fields" script.
func (n *Normalizer) commonAuthFields() {
	d, rec := &n.ed, &n.rec
	if t, ok := d.take(sProcessId); ok {
		if pid, ok := decodeLong(t); ok {
			rec.setInt(kProcessPID, pid)
		} else {
			n.problem(fmt.Sprintf("winlog.event_data.ProcessId: %q is not a number", t.String()))
		}
	}
	if t, ok := d.take(sProcessName); ok {
		rec.setText(kProcessExecutable, t)
	}
	if t, ok := d.take(sIpAddress); ok {
		rec.setText(kSourceIP, t)
	}
	if t, ok := d.text(sIpPort); ok {
		if port, ok := decodeLong(t); ok {
			d.remove(sIpPort)
			rec.setInt(kSourcePort, port)
		} else {
			n.problem(fmt.Sprintf("winlog.event_data.IpPort: %q is not a number", t.String()))
		}
	}
	if t, ok := d.take(sWorkstationName); ok {
		rec.setText(kSourceDomain, t)
	}
	if v, ok := d.get(sClientAddress); ok && v != "Unknown" {
		if v == "LOCAL" {
			v = "127.0.0.1"
		}
		d.remove(sClientAddress)
		// The script sets related.ip to the string, not a list.
		rec.setList(kRelatedIP, append(rec.newList(kRelatedIP), v))
	}
	n.processName(kProcessExecutable, kProcessName)
}

// processName sets name to the last part of the executable path at exe,
// split on backslashes, unless name is set.
func (n *Normalizer) processName(exe, name key) {
	rec := &n.rec
	path, ok := rec.str(exe)
	if !ok || rec.has(name) {
		return
	}
	path = strings.TrimRight(path, `\`)
	if i := strings.LastIndexByte(path, '\\'); i >= 0 {
		path = path[i+1:]
	}
	rec.setStr(name, path)
}

// connectionEvents is the "Add Connection Events" script (5152-5158).
func (n *Normalizer) connectionEvents() {
	d, rec := &n.ed, &n.rec
	if t, ok := d.take(sDestAddress); ok {
		rec.setText(kDestinationIP, t)
		rec.appendUnique(kRelatedIP, t.String())
	}
	if t, ok := d.take(sSourceAddress); ok {
		rec.setText(kSourceIP, t)
		rec.appendUnique(kRelatedIP, t.String())
	}
	for _, f := range [2]struct {
		s slot
		k key
	}{{sDestPort, kDestinationPort}, {sSourcePort, kSourcePort}} {
		if t, ok := d.text(f.s); ok {
			if port, ok := decodeLong(t); ok {
				d.remove(f.s)
				rec.setInt(f.k, port)
			} else {
				n.problem(fmt.Sprintf("winlog.event_data.%s: %q is not a number", f.s.name(), t.String()))
			}
		}
	}
	n.copyIf(sProtocol, kNetworkIanaNumber)
	if t, ok := d.take(sApplication); ok {
		rec.setText(kProcessExecutable, t)
	}
	n.processName(kProcessExecutable, kProcessName)
}

// processCreation is the "Process Event 4688" script.
func (n *Normalizer) processCreation() {
	d, rec := &n.ed, &n.rec
	if t, ok := d.take(sNewProcessId); ok {
		if pid, ok := decodeLong(t); ok {
			rec.setInt(kProcessPID, pid)
		} else {
			n.problem(fmt.Sprintf("winlog.event_data.NewProcessId: %q is not a number", t.String()))
		}
	}
	if t, ok := d.take(sNewProcessName); ok {
		rec.setText(kProcessExecutable, t)
	}
	if t, ok := d.take(sParentProcessName); ok {
		rec.setText(kParentExecutable, t)
	}
	n.processName(kProcessExecutable, kProcessName)
	n.processName(kParentExecutable, kParentName)
	if t, ok := d.text(sProcessId); ok {
		if pid, ok := decodeLong(t); ok {
			rec.setInt(kParentPID, pid)
		} else {
			n.problem(fmt.Sprintf("winlog.event_data.ProcessId: %q is not a number", t.String()))
		}
	}
	if t, ok := d.text(sCommandLine); ok {
		cmd := t.String()
		args := splitCommandLine4688(rec.newList(kProcessArgs), cmd)
		rec.setList(kProcessArgs, args)
		rec.setStr(kProcessCommandLine, cmd)
		rec.setInt(kProcessArgsCount, int64(len(args)))
	}
	if v, ok := d.get(sTargetUserName); ok {
		rec.appendUnique(kRelatedUser, v)
	}
}

// splitCommandLine4688 is the 4688 script's split of CommandLine: at every
// whitespace character outside double quotes, quotes kept, so that two
// spaces leave an empty argument between them.
func splitCommandLine4688(dst []string, cmd string) []string {
	start, inQuote := 0, false
	for i := 0; i < len(cmd); {
		r, w := utf8.DecodeRuneInString(cmd[i:])
		if r == '"' {
			inQuote = !inQuote
		}
		if javaWhitespace(r) && !inQuote {
			dst = append(dst, cmd[start:i])
			start = i + w
		}
		if i+w == len(cmd) {
			dst = append(dst, cmd[start:])
		}
		i += w
	}
	return dst
}

// javaWhitespace is Java's Character.isWhitespace.
func javaWhitespace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', 0x1c, 0x1d, 0x1e, 0x1f:
		return true
	case 0xa0, 0x2007, 0x202f:
		return false
	}
	return r > 0x7f && unicode.In(r, unicode.Zs, unicode.Zl, unicode.Zp) || r == ' '
}

// javaTrim is Java's String.trim: it removes characters up to U+0020 from
// both ends.
func javaTrim(s string) string {
	for len(s) > 0 && s[0] <= ' ' {
		s = s[1:]
	}
	for len(s) > 0 && s[len(s)-1] <= ' ' {
		s = s[:len(s)-1]
	}
	return s
}

// javaSplitWhitespace is the message table script's split of a value at
// runs of whitespace: leading whitespace is skipped, and a value ending in
// whitespace ends with an empty part.
func javaSplitWhitespace(s string) []string {
	var parts []string
	last := 0
	for last < len(s) && javaWhitespace(rune(s[last])) {
		last++
	}
	for i := last; i < len(s); i++ {
		if !javaWhitespace(rune(s[i])) {
			continue
		}
		parts = append(parts, s[last:i])
		for i < len(s) && javaWhitespace(rune(s[i])) {
			i++
		}
		last = i
	}
	return append(parts, s[last:])
}

// splitWhitespace is the split processor with separator \s+ into f's
// items: Java's String.split, which keeps a leading empty part and drops
// trailing ones.
func splitWhitespace(f *field, s string) {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r' }
	start := 0
	for i := 0; i < len(s); {
		if !isSpace(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isSpace(s[j]) {
			j++
		}
		if !(i == 0 && j == len(s)) {
			f.items = append(f.items, plain(s[start:i]))
		}
		start, i = j, j
	}
	if start < len(s) {
		f.items = append(f.items, plain(s[start:]))
	}
	for len(f.items) > 1 && f.items[len(f.items)-1].s == "" {
		f.items = f.items[:len(f.items)-1]
	}
}

// relatedUserFrom is an append of event_data's s to related.user, unless
// it is "-".
func (n *Normalizer) relatedUserFrom(s slot) {
	if v, ok := n.ed.get(s); ok && v != "-" {
		n.rec.appendUnique(kRelatedUser, mustache(v))
	}
}

// registryPath is the set of registry.path from ObjectName for registry
// audit events.
func (n *Normalizer) registryPath() {
	v, ok := n.ed.get(sObjectName)
	if !ok {
		return
	}
	switch n.r.EventID {
	case 4657:
	case 4656, 4658, 4660, 4661, 4662, 4663:
		typ, _ := n.ed.get(sObjectType)
		if typ != "Key" && !(len(v) >= 10 && strings.EqualFold(v[:10], `\REGISTRY\`)) {
			return
		}
	default:
		return
	}
	n.rec.setStr(kRegistryPath, v)
}

// eventlogUserDataName is the element the event log service's manifest
// puts under UserData for each of its Security audits.
func eventlogUserDataName(id uint32) (string, bool) {
	switch id {
	case 1101:
		return "AuditEventsDropped", true
	case 1102:
		return "LogFileCleared", true
	case 1104:
		return "FileIsFull", true
	case 1105:
		return "AutoBackup", true
	case 1108:
		return "EventProcessingFailure", true
	}
	return "", false
}

// shareFile is the file.* sets of 5140 and 5145.
func (n *Normalizer) shareFile() {
	d, rec := &n.ed, &n.rec
	n.copyIf(sRelativeTargetName, kFileName)
	n.copyIf(sShareLocalPath, kFileDirectory)
	name, okName := rec.str(kFileName)
	dir, okDir := rec.str(kFileDirectory)
	// Both are set processors with templates: the values come out
	// escaped for JSON (mustache), the separator as written.
	if okName && okDir {
		rec.setStr(kFilePath, mustache(dir)+`\`+mustache(name))
	}
	if share, ok := d.get(sShareName); ok && okName {
		rec.setStr(kFileTargetPath, mustache(share)+`\`+mustache(name))
	}
}

// ianaTransport is the pipeline's network.transport by IANA protocol
// number.
func ianaTransport(v string) (any, bool) {
	switch v {
	case "1":
		return "icmp", true
	case "2":
		return "igmp", true
	case "4":
		return "ipv4", true
	case "6":
		return "tcp", true
	case "8":
		return "egp", true
	case "9":
		return "igp", true
	case "12":
		return "pup", true
	case "17":
		return "udp", true
	case "27":
		return "rdp", true
	case "28":
		return "irtp", true
	case "33":
		return "dccp", true
	case "35":
		return "idpr", true
	case "41":
		return "ipv6", true
	case "43":
		return "ipv6-route", true
	case "44":
		return "ipv6-frag", true
	case "46":
		return "rsvp", true
	case "47":
		return "gre", true
	case "50":
		return "esp", true
	case "58":
		return "ipv6-icmp", true
	case "59":
		return "ipv6-nonxt", true
	case "60":
		return "ipv6-opts", true
	}
	return nil, false
}

// objectDN is 5136's "ObjectDN and ObjectClass mappings" script: the first
// CN of ObjectDN, unescaped, is user.target.name for a user object and
// group.name for a group (both also in related.user). A computer object
// would set host.name only where it is missing, and weft always sets it.
func (n *Normalizer) objectDN() {
	rec := &n.rec
	dn, ok := n.liveValue("ObjectDN")
	if !ok {
		return
	}
	class, _ := n.liveValue("ObjectClass")
	class = strings.ToLower(class)
	start := strings.Index(strings.ToLower(dn), "cn=")
	if start < 0 {
		return
	}
	var cn strings.Builder
	for i := start + 3; i < len(dn); i++ {
		c := dn[i]
		if c == '\\' && i+1 < len(dn) {
			i++
			if d1 := javaHexDigit(dn[i]); d1 >= 0 && i+1 < len(dn) {
				if d2 := javaHexDigit(dn[i+1]); d2 >= 0 {
					cn.WriteRune(rune(d1*16 + d2))
					i++
					continue
				}
			}
			cn.WriteByte(dn[i])
			continue
		}
		if c == ',' {
			break
		}
		cn.WriteByte(c)
	}
	value := javaTrim(cn.String())
	if value == "" {
		return
	}
	switch {
	case strings.Contains(class, "user"):
		rec.setStr(kUserTargetName, value)
		rec.appendUnique(kRelatedUser, value)
	case strings.Contains(class, "group"):
		rec.setStr(kGroupName, value)
		rec.appendUnique(kRelatedUser, value)
	}
}

// liveValue is the live EventData value of a name that has no slot.
func (n *Normalizer) liveValue(name string) (string, bool) {
	if f := n.ed.live(name); f != nil && !f.isList {
		return f.value.String(), true
	}
	return "", false
}

// javaHexDigit is Character.digit(c, 16) for ASCII, or -1.
func javaHexDigit(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// securityTask is winlog.task for the auditing provider: Winlogbeat
// renders the task from the provider's message file, msobjs.dll, whose
// task names (Logon, Process Creation, User Account Management…) are the
// messages of the same numbers in the pipeline's copy of that table. The
// names are remembered per Normalizer: a stream has few tasks.
func (n *Normalizer) securityTask(task uint32) (string, bool) {
	if task == 0 {
		return "", false
	}
	if name, ok := n.tasks[task]; ok {
		return name, name != ""
	}
	name, _ := messageDescription(strconv.FormatUint(uint64(task), 10))
	if len(n.tasks) >= maxHostIDs {
		clear(n.tasks)
	}
	n.tasks[task] = name
	return name, name != ""
}
