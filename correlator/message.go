package correlator

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/weft-dev/weft/event"
)

// The alert's message is one line for people, sent to every sink: it says
// what the matched events did, chosen by the kind of event (a process
// start names parent and command line, a process access source, target and
// access mask, a logon user, logon type and source address ...), read from
// the ECS fields the normalizer sets. Event text is the attacker's to
// choose, so every value is cut (maxValue) and the line bounded
// (maxMessage), and control, C1 and bidi characters are written as
// escapes ("\n", "\x1b", "[U+202E]"), never as themselves.

const (
	// maxValue bounds one value (a command line, a path) in a message.
	maxValue = 240
	// maxMessage bounds the message, in bytes.
	maxMessage = 1024
	// ellipsis marks a value or message that was cut.
	ellipsis = "…"
)

// describe says what one document's event did: "ACTOR on HOST VERB
// OBJECT". host is left out when "" (the events of a sequence share the
// alert's host, named once).
func describe(d event.Document, host string) string {
	on := ""
	if host != "" {
		on = " on " + host
	}
	code := eventCode(d)
	switch provider := strings.ToLower(first(d, "event.provider", "winlog.provider_name")); {
	case provider == "microsoft-windows-sysmon" || d.String("event.module") == "sysmon":
		if s := describeSysmon(d, code, on); s != "" {
			return s
		}
	case provider == "microsoft-windows-security-auditing" || provider == "microsoft-windows-eventlog":
		if s := describeSecurity(d, code, on); s != "" {
			return s
		}
	case provider == "service control manager" && code == "7045":
		return serviceInstalled(d, on)
	case strings.Contains(provider, "powershell"):
		if s := describePowerShell(d, code, on); s != "" {
			return s
		}
	}
	return describeByCategory(d, on)
}

// describeByCategory covers documents of any source by their ECS
// categorization: Winlogbeat or Elastic Agent documents read as NDJSON,
// and the events of the known providers without a line of their own.
func describeByCategory(d event.Document, on string) string {
	switch {
	case hasCategory(d, "authentication"):
		return authentication(d, on)
	case hasCategory(d, "process") && hasType(d, "start") && commandOf(d) != "":
		return processStart(d, on)
	case hasCategory(d, "network") && d.String("dns.question.name") != "":
		return dnsQuery(d, on)
	case hasCategory(d, "network") && (d.String("source.ip") != "" || d.String("destination.ip") != ""):
		return connection(d, on)
	case hasCategory(d, "registry") && d.String("registry.path") != "":
		return registryChange(d, "", on)
	case hasCategory(d, "driver") && d.String("file.path") != "":
		return driverLoad(d, on)
	case hasCategory(d, "file") && filePath(d) != "":
		return fileChange(d, verbOfType(d), on)
	case hasCategory(d, "iam"):
		return iamChange(d, on)
	case hasCategory(d, "process") && hasType(d, "end") && commandOf(d) != "":
		return actorOf(d) + on + " ended"
	}
	return generic(d, on)
}

func describeSysmon(d event.Document, code, on string) string {
	actor := actorOf(d)
	switch code {
	case "1":
		return processStart(d, on)
	case "2":
		return fileChange(d, "changed the creation time of", on)
	case "3":
		return connection(d, on)
	case "5":
		return actor + on + " ended"
	case "6":
		return driverLoad(d, on)
	case "7":
		return actor + on + " loaded " + clip(filePath(d))
	case "8":
		s := actor + on + " created a thread in " + clip(base(eventData(d, "TargetImage")), "another process")
		if fn := eventData(d, "StartFunction"); fn != "" {
			s += " at " + clip(fn)
		}
		return s
	case "9":
		return actor + on + " read the raw device " + clip(first(d, "winlog.event_data.Device", "file.path"), "?")
	case "10":
		s := actor + on + " accessed " + clip(base(eventData(d, "TargetImage")), "another process")
		if mask := eventData(d, "GrantedAccess"); mask != "" {
			s += " (" + clip(mask) + ")"
		}
		return s
	case "11", "29":
		return fileChange(d, "created", on)
	case "12":
		verb := "created key"
		if strings.EqualFold(eventData(d, "EventType"), "DeleteKey") {
			verb = "deleted key"
		} else if strings.EqualFold(eventData(d, "EventType"), "DeleteValue") {
			verb = "deleted value"
		}
		return registryChange(d, verb, on)
	case "13", "14":
		return registryChange(d, "", on)
	case "15":
		return fileChange(d, "created the stream", on)
	case "17", "18":
		verb := "created pipe "
		if code == "18" {
			verb = "connected to pipe "
		}
		return actor + on + " " + verb + clip(first(d, "file.name", "winlog.event_data.PipeName"), "?")
	case "19", "20", "21":
		return wmiEvent(d, code, on)
	case "22":
		return dnsQuery(d, on)
	case "23", "26":
		return fileChange(d, "deleted", on)
	case "25":
		return actor + on + " had its image changed (" + clip(first(d, "winlog.event_data.Type", "message"), "process tampering") + ")"
	case "27":
		return fileChange(d, "was blocked from creating the executable", on)
	case "28":
		return fileChange(d, "was blocked from shredding", on)
	}
	return ""
}

func describeSecurity(d event.Document, code, on string) string {
	switch code {
	case "4624":
		return logon(d, on)
	case "4625":
		return failedLogon(d, on)
	case "4634", "4647":
		s := userOf(d) + " logged off" + strings.Replace(on, " on ", " from ", 1)
		if t := logonType(d); t != "" {
			s += " (" + t + ")"
		}
		return s
	case "4648":
		s := userOf(d) + on + " used the credentials of " + clip(eventData(d, "TargetUserName"), "another user")
		if srv := eventData(d, "TargetServerName"); srv != "" && srv != "localhost" {
			s += " for " + clip(srv)
		}
		if p := d.String("process.name"); p != "" {
			s += " (" + clip(p) + ")"
		}
		return s
	case "4672":
		s := userOf(d) + on + " was given special privileges"
		if p := eventData(d, "PrivilegeList"); p != "" {
			s += " (" + clip(strings.Join(strings.Fields(p), ", ")) + ")"
		}
		return s
	case "4688":
		return processStart(d, on)
	case "4689":
		return actorOf(d) + on + " ended"
	case "4697":
		return serviceInstalled(d, on)
	case "4698", "4699", "4700", "4701", "4702":
		return scheduledTask(d, code, on)
	case "1102":
		return userOf(d) + " cleared the Security log" + on
	case "4886", "4887", "4888", "4889":
		return certificateRequest(d, code, on)
	case "5140", "5145":
		s := userOf(d)
		if src := sourceAddress(d); src != "" {
			s += " from " + src
		}
		s += " accessed share " + clip(eventData(d, "ShareName"), "?")
		if rel := eventData(d, "RelativeTargetName"); rel != "" {
			s += `\` + clip(rel)
		}
		return s + on
	}
	return ""
}

var certVerbs = map[string]string{"4886": "requested", "4887": "was issued", "4888": "was denied", "4889": "had pending"}

// certificateRequest is a request to Certificate Services: who, which
// template, and whom the certificate would name (the subject alternative
// names an ESC1 request forges).
func certificateRequest(d event.Document, code, on string) string {
	who := clip(qualified(d.String("winlog.adcs.request.requester.domain"), d.String("winlog.adcs.request.requester.name")))
	if who == "" {
		who = clip(eventData(d, "Requester"), "someone")
	}
	s := who + on + " " + certVerbs[code] + " a certificate"
	if t := first(d, "winlog.adcs.request.attributes.certificate_template"); t != "" {
		s += " of template " + clip(t)
	}
	var san []string
	for _, f := range []string{"upn", "dns", "sid"} {
		san = append(san, stringsOf(d, "winlog.adcs.request.subject_alt_name."+f)...)
	}
	if len(san) > 0 {
		s += " for " + clip(strings.Join(san, ", "))
	}
	if id := first(d, "winlog.adcs.request.id", "winlog.event_data.RequestId"); id != "" {
		s += " (request " + clip(id) + ")"
	}
	return s
}

func describePowerShell(d event.Document, code, on string) string {
	switch code {
	case "4104":
		text := d.String("powershell.file.script_block_text")
		s := "PowerShell" + on + " ran a script block of " + plural(utf8.RuneCountInString(text), "character")
		if n, _ := event.ToFloat(numberOf(d, "powershell.total")); n > 1 {
			i, _ := event.ToFloat(numberOf(d, "powershell.sequence"))
			s += fmt.Sprintf(" (part %d of %d)", int64(i), int64(n))
		}
		if p := d.String("file.path"); p != "" {
			s += " from " + clip(p)
		}
		if line := firstLine(text); line != "" {
			s += ": " + clip(line)
		}
		return s
	case "4103":
		if c := d.String("powershell.command.name"); c != "" {
			return "PowerShell" + on + " ran " + clip(c) + hostApp(d)
		}
	case "800":
		if c := first(d, "powershell.command.value", "powershell.command.name"); c != "" {
			return "PowerShell" + on + " ran the pipeline " + clip(c) + hostApp(d)
		}
	case "400", "403":
		verb := " started"
		if code == "403" {
			verb = " stopped"
		}
		return "PowerShell engine" + on + verb + hostApp(d)
	}
	return ""
}

// hostApp names the program hosting PowerShell, " (in powershell.exe -nop
// ...)", or "".
func hostApp(d event.Document) string {
	if c := d.String("process.command_line"); c != "" {
		return " (in " + clip(c) + ")"
	}
	return ""
}

func processStart(d event.Document, on string) string {
	parent := clip(d.String("process.parent.name"), base(d.String("process.parent.executable")), "a process")
	return parent + on + " started " + clip(commandOf(d))
}

// connection names both endpoints: the remote one as remotePeer finds it,
// the local one the other.
func connection(d event.Document, on string) string {
	actor := actorOf(d)
	transport := clip(strings.ToUpper(d.String("network.transport")))
	local, remote := endpoint(d, "source"), remotePeer(d)
	if remote == local {
		local = endpoint(d, "destination")
	}
	var s string
	switch strings.ToLower(d.String("network.direction")) {
	case "ingress", "inbound", "incoming":
		s = fmt.Sprintf("%s%s accepted %s from %s on %s", actor, on, orDefault(transport, "a connection"), remote, local)
	case "egress", "outbound", "outgoing":
		s = fmt.Sprintf("%s%s connected over %s from %s to %s", actor, on, orDefault(transport, "the network"), local, remote)
	default:
		s = fmt.Sprintf("%s%s had a %sconnection between %s and %s", actor, on, orDefault(transport+" ", ""), local, remote)
	}
	if strings.EqualFold(d.String("event.outcome"), "failure") {
		s += " (blocked)"
	}
	return s
}

func dnsQuery(d event.Document, on string) string {
	s := actorOf(d) + on + " looked up " + clip(d.String("dns.question.name"))
	if ips := stringsOf(d, "dns.resolved_ip"); len(ips) > 0 {
		if len(ips) > 3 {
			ips = append(ips[:3:3], fmt.Sprintf("%d more", len(ips)-3))
		}
		s += " → " + clip(strings.Join(ips, ", "))
	} else if st := d.String("sysmon.dns.status"); st != "" && !strings.EqualFold(st, "SUCCESS") {
		s += " (" + clip(st) + ")"
	}
	return s
}

// fileChange is ACTOR on HOST VERB PATH; verb "" reads event.type.
func fileChange(d event.Document, verb, on string) string {
	if verb == "" {
		verb = "touched"
	}
	return actorOf(d) + on + " " + verb + " " + clip(filePath(d), "a file")
}

func verbOfType(d event.Document) string {
	switch {
	case hasType(d, "creation"):
		return "created"
	case hasType(d, "deletion"):
		return "deleted"
	case hasType(d, "change"):
		return "changed"
	case hasType(d, "access"):
		return "accessed"
	}
	return ""
}

func filePath(d event.Document) string {
	return first(d, "file.path", "file.target_path", "file.name", "winlog.event_data.TargetFilename", "file.directory")
}

// registryChange is ACTOR on HOST VERB KEY: Sysmon 13 sets a value (to its
// data), 14 renames a key, the others say verb.
func registryChange(d event.Document, verb, on string) string {
	path := clip(first(d, "registry.path", "winlog.event_data.TargetObject", "winlog.event_data.ObjectName"), "a registry key")
	s := actorOf(d) + on + " "
	switch {
	case verb != "":
		return s + verb + " " + path
	case eventData(d, "NewName") != "":
		return s + "renamed " + path + " to " + clip(eventData(d, "NewName"))
	}
	data := strings.Join(stringsOf(d, "registry.data.strings"), " ")
	if data == "" {
		data = first(d, "winlog.event_data.Details", "winlog.event_data.NewValue")
	}
	if data == "" {
		return s + "changed " + path
	}
	return s + "set " + path + " to " + clip(data)
}

func driverLoad(d event.Document, on string) string {
	s := "driver " + clip(d.String("file.path")) + " loaded" + on
	signer := first(d, "file.code_signature.subject_name", "winlog.event_data.Signature")
	status := first(d, "file.code_signature.status", "winlog.event_data.SignatureStatus")
	switch {
	case signer != "" && status != "":
		s += " (signed by " + clip(signer) + ", " + clip(status) + ")"
	case signer != "":
		s += " (signed by " + clip(signer) + ")"
	case strings.EqualFold(eventData(d, "Signed"), "false"):
		s += " (unsigned)"
	}
	return s
}

func wmiEvent(d event.Document, code, on string) string {
	op := strings.ToLower(clip(eventData(d, "Operation"), "changed"))
	s := userOf(d) + on + " " + op + " "
	switch code {
	case "19":
		s += "WMI filter " + clip(unquote(eventData(d, "Name")), "?")
		if q := unquote(eventData(d, "Query")); q != "" {
			s += ": " + clip(q)
		}
	case "20":
		s += "WMI consumer " + clip(unquote(eventData(d, "Name")), "?")
		if dest := unquote(first(d, "winlog.event_data.Destination", "process.executable")); dest != "" {
			s += " (" + clip(unquote(eventData(d, "Type")), "action") + ": " + clip(dest) + ")"
		}
	default:
		s += "WMI binding of " + clip(unquote(eventData(d, "Consumer")), "a consumer") + " to " + clip(unquote(eventData(d, "Filter")), "a filter")
	}
	return s
}

func logon(d event.Document, on string) string {
	s := userOf(d) + " logged on" + to(on)
	var how []string
	if t := logonType(d); t != "" {
		how = append(how, t)
	}
	if p := strings.TrimSpace(eventData(d, "AuthenticationPackageName")); p != "" && p != "-" {
		how = append(how, p)
	}
	if len(how) > 0 {
		s += " (" + clip(strings.Join(how, ", ")) + ")"
	}
	if src := sourceAddress(d); src != "" {
		s += " from " + src
	}
	return s
}

func failedLogon(d event.Document, on string) string {
	s := "logon of " + userOf(d) + to(on) + " failed"
	if t := logonType(d); t != "" {
		s += " (" + clip(t) + ")"
	}
	if src := sourceAddress(d); src != "" {
		s += " from " + src
	}
	if r := first(d, "winlog.logon.failure.reason", "winlog.logon.failure.sub_status", "winlog.event_data.SubStatus", "winlog.event_data.Status"); r != "" {
		s += ": " + clip(r)
	}
	return s
}

// authentication covers the authentication events without a line of
// their own (Kerberos, NTLM, others' documents): what, whose, how, from
// where, and the outcome.
func authentication(d event.Document, on string) string {
	s := userOf(d) + ": " + clip(first(d, "event.action"), "authentication") + on
	var how []string
	if t := logonType(d); t != "" {
		how = append(how, t)
	}
	if svc := d.String("service.name"); svc != "" {
		how = append(how, "service "+svc)
	}
	if len(how) > 0 {
		s += " (" + clip(strings.Join(how, ", ")) + ")"
	}
	if src := sourceAddress(d); src != "" {
		s += " from " + src
	}
	if o := d.String("event.outcome"); o != "" {
		s += ", " + clip(o)
	}
	return s
}

func serviceInstalled(d event.Document, on string) string {
	name := clip(first(d, "service.name", "winlog.event_data.ServiceName"), "?")
	path := first(d, "winlog.event_data.ImagePath", "winlog.event_data.ServiceFileName")
	var s string
	if u := userName(d); u != "" {
		s = u + on + " installed service " + name
	} else {
		s = "service " + name + " installed" + on
	}
	if path != "" {
		s += ": " + clip(path)
	}
	var how []string
	for _, f := range []string{"AccountName", "ServiceAccount", "StartType"} {
		if v := eventData(d, f); v != "" {
			how = append(how, v)
		}
	}
	if len(how) > 0 {
		s += " (" + clip(strings.Join(how, ", ")) + ")"
	}
	return s
}

var taskVerbs = map[string]string{"4698": "created", "4699": "deleted", "4700": "enabled", "4701": "disabled", "4702": "updated"}

func scheduledTask(d event.Document, code, on string) string {
	s := userOf(d) + on + " " + taskVerbs[code] + " scheduled task " +
		clip(first(d, "winlog.scheduled_task.name", "winlog.event_data.TaskName"), "?")
	if cmd := taskCommand(d); cmd != "" {
		s += ": " + clip(cmd)
	}
	return s
}

// taskCommand is the first Exec action of a task, command and arguments.
func taskCommand(d event.Document) string {
	v, _ := d.Get("winlog.scheduled_task.actions")
	list, _ := v.([]any)
	for _, a := range list {
		m, _ := a.(map[string]any)
		cmd, _ := m["command"].(string)
		if cmd == "" {
			continue
		}
		if args, _ := m["arguments"].(string); args != "" {
			cmd += " " + args
		}
		return cmd
	}
	return ""
}

// iamChange covers account and group management and the audit log events.
func iamChange(d event.Document, on string) string {
	s := userOf(d) + on + ": " + clip(first(d, "event.action"), "account change")
	if t := d.String("user.target.name"); t != "" {
		s += " " + clip(qualified(d.String("user.target.domain"), t))
	}
	if g := first(d, "group.name", "user.target.group.name"); g != "" {
		s += " (group " + clip(g) + ")"
	}
	return s
}

// generic is for events no line above knows: provider, event id, action
// and the first few EventData fields.
func generic(d event.Document, on string) string {
	src := clip(first(d, "event.provider", "winlog.provider_name", "winlog.channel", "event.dataset"))
	code := clip(eventCode(d))
	var s string
	switch {
	case src != "" && code != "":
		s = src + " event " + code + on
	case src != "":
		s = "an event of " + src + on
	case code != "":
		s = "event " + code + on
	default:
		s = "an event" + on
	}
	if a := d.String("event.action"); a != "" {
		s += " (" + clip(a) + ")"
	}
	v, _ := d.Get("winlog.event_data")
	data, _ := v.(map[string]any)
	names := make([]string, 0, len(data))
	for k := range data {
		if !noise[k] {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	var kv []string
	for _, k := range names {
		if len(kv) == 3 {
			break
		}
		if val := event.Text(data[k]); val != "" && val != "-" {
			kv = append(kv, clipTo(k, 40)+"="+clipTo(val, 80))
		}
	}
	if len(kv) > 0 {
		s += ": " + strings.Join(kv, ", ")
	}
	return s
}

// noise are the EventData fields a generic message leaves out: ids and
// times that say nothing to a person reading one line.
var noise = map[string]bool{
	"RuleName": true, "UtcTime": true, "ProcessGuid": true, "ProcessId": true,
	"SubjectUserSid": true, "SubjectLogonId": true, "SubjectDomainName": true, "SubjectUserName": true,
}

// actorOf names the process that acted: its name, else its executable's.
func actorOf(d event.Document) string {
	return clip(d.String("process.name"), base(first(d, "process.executable", "winlog.event_data.SourceImage", "winlog.event_data.Image")), "a process")
}

// userOf is DOMAIN\name of user.*, or "someone".
func userOf(d event.Document) string {
	if u := userName(d); u != "" {
		return u
	}
	return "someone"
}

func userName(d event.Document) string {
	name := d.String("user.name")
	if name == "" || name == "-" {
		return ""
	}
	return clip(qualified(d.String("user.domain"), name))
}

func qualified(domain, name string) string {
	if domain == "" || domain == "-" || strings.ContainsAny(name, `\@`) {
		return name
	}
	return domain + `\` + name
}

// to turns " on HOST" into " to HOST".
func to(on string) string { return strings.Replace(on, " on ", " to ", 1) }

func logonType(d event.Document) string {
	return first(d, "winlog.logon.type", "winlog.event_data.LogonType")
}

// sourceAddress is where a logon or access came from: source.ip (with
// its port when not 0), else the workstation name; "-" and loopback
// without a port name nothing.
func sourceAddress(d event.Document) string {
	ip := d.String("source.ip")
	if ip == "" || ip == "-" {
		return clip(strings.Trim(first(d, "winlog.event_data.WorkstationName", "source.domain"), "-"))
	}
	if p := first(d, "source.port"); p == "" || p == "0" {
		return clip(ip)
	}
	return clip(endpoint(d, "source"))
}

func eventCode(d event.Document) string {
	if c := d.String("event.code"); c != "" {
		return c
	}
	return event.Text(numberOf(d, "winlog.event_id"))
}

func eventData(d event.Document, name string) string {
	return event.Text(numberOf(d, "winlog.event_data."+name))
}

func numberOf(d event.Document, path string) any {
	v, _ := d.Get(path)
	return v
}

// first is the first of fields that holds a value.
func first(d event.Document, fields ...string) string {
	for _, f := range fields {
		if s := event.Text(numberOf(d, f)); s != "" {
			return s
		}
	}
	return ""
}

func stringsOf(d event.Document, path string) []string {
	v, _ := d.Get(path)
	switch x := v.(type) {
	case string:
		return []string{x}
	case []string:
		return x
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s := event.Text(e); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func hasType(d event.Document, typ string) bool {
	return slices.Contains(stringsOf(d, "event.type"), typ)
}

// base is the last element of a Windows or Unix path.
func base(p string) string {
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		return p[i+1:]
	}
	return p
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return strings.TrimSpace(s[:i]) + " " + ellipsis
	}
	return s
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// clip is the first non-empty value, made safe and cut to maxValue.
func clip(values ...string) string {
	for _, v := range values {
		if v != "" {
			return clipTo(v, maxValue)
		}
	}
	return ""
}

// clipTo escapes s and cuts it to at most n runes of its own, ending in
// an ellipsis when cut.
func clipTo(s string, n int) string {
	var b strings.Builder
	runes := 0
	for _, r := range s {
		if runes == n {
			b.WriteString(ellipsis)
			break
		}
		runes++
		writeSafe(&b, r)
	}
	return b.String()
}

// writeSafe writes r, or an escape for a character that must not reach a
// terminal or a log line as itself: C0 controls and DEL as Go escapes, C1,
// bidi and line separator characters by their code points.
func writeSafe(b *strings.Builder, r rune) {
	switch {
	case r == '\n':
		b.WriteString(`\n`)
	case r == '\r':
		b.WriteString(`\r`)
	case r == '\t':
		b.WriteString(`\t`)
	case r < 0x20 || r == 0x7f:
		fmt.Fprintf(b, `\x%02x`, r)
	case event.Invisible(r):
		fmt.Fprintf(b, "[U+%04X]", r)
	default:
		b.WriteRune(r) // an invalid byte arrives as utf8.RuneError, written as U+FFFD
	}
}

// bound cuts a message to maxMessage bytes at a rune boundary; the parts
// are escaped already.
func bound(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}
