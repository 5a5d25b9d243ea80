package scenario

import (
	"fmt"
	"strings"
	"time"

	"github.com/weft-dev/weft/testdata/gen/evtxwrite"
	"github.com/weft-dev/weft/testdata/gen/winevt"
)

// The background of Windows' own logs: what a member machine and a domain
// controller log in Security, System and PowerShell on an ordinary day.
var (
	winMemberMix = []struct {
		w  float64
		fn activity
	}{
		{10, (*host).winNetworkLogon}, {4, (*host).winServiceLogon}, {12, (*host).winProcess}, {2, (*host).winSystemTask},
		{4, (*host).winServiceState}, {2, (*host).winPowerShell}, {1, (*host).winTypo}, {1, (*host).winExplicit},
		{0.5, (*host).winUnlock}, {0.2, (*host).winAuditPolicy},
	}
	winDCMix = []struct {
		w  float64
		fn activity
	}{
		{14, (*host).winKerberos}, {4, (*host).winNTLM}, {8, (*host).winNetworkLogon}, {1, (*host).winPreauthFailed},
		{4, (*host).winServiceLogon}, {4, (*host).winProcess}, {2, (*host).winServiceState}, {0.5, (*host).winAccountChurn},
	}
)

// winBackground fills the host's Windows logs at rate events per second,
// drawing only from the host's Windows stream.
func (h *host) winBackground(rate float64, peers, dcs []peer) {
	w := h.win
	w.peers, w.dcs = peers, dcs
	if rate <= 0 {
		return
	}
	mix := winMemberMix
	if w.dc {
		mix = winDCMix
	}
	var weights []float64
	var fns []activity
	for _, m := range mix {
		weights = append(weights, m.w)
		fns = append(fns, m.fn)
	}
	count := func() int {
		n := 0
		for _, lg := range w.logs {
			n += len(lg.events)
		}
		return n
	}
	t := h.start.Add(time.Duration(w.r.exp(float64(time.Second) / rate)))
	for t.Before(h.end) {
		before := count()
		fns[w.r.weighted(weights)](h, t)
		k := max(count()-before, 1)
		t = t.Add(time.Duration(w.r.exp(float64(k) * float64(time.Second) / rate)))
	}
}

func (h *host) winContacts() []peer { return append(append([]peer{}, h.win.dcs...), h.win.peers...) }

// winNetworkLogon: a machine or a user reaches this host over the network
// with Kerberos (a file share, Group Policy, RPC), and logs off.
func (h *host) winNetworkLogon(t time.Time) {
	w := h.win
	cs := h.winContacts()
	if len(cs) == 0 {
		return
	}
	from := pick(w.r, cs)
	target := &secAccount{name: h.peerName(from) + "$", domain: domainName, sid: fmt.Sprintf("%s-%d", domainSID, 3000+w.r.intn(500))}
	admin := false
	if w.r.chance(0.3) {
		target = domainAccount(pick(w.r, firstNames))
		if w.r.chance(0.3) {
			target, admin = domainAccount("adm-"+pick(w.r, firstNames)), true
		}
	}
	s := h.session(target)
	h.logon4624(t, logon{target: s, logonType: 3, process: "Kerberos", pkg: "Kerberos", workstation: "-",
		guid: h.kerberosGUID(t), kerberos: true, processName: "-", ip: from.ip, port: fmt.Sprint(w.r.between(49152, 65535))})
	if admin {
		h.special(t, s, adminPrivileges)
	}
	h.logoff(h.winAfter(t, 200*time.Millisecond, 40*time.Second), s, 3)
}

// winServiceLogon: the service control manager logs a service on as
// SYSTEM, with its special privileges.
func (h *host) winServiceLogon(t time.Time) {
	w := h.win
	s := &secAccount{name: "SYSTEM", domain: "NT AUTHORITY", sid: sidSystem, logonID: 0x3e7}
	h.logon4624(t, logon{subject: w.system, target: s, logonType: 5, process: "Advapi  ", pkg: "Negotiate", workstation: "-",
		pid: w.services, processName: `C:\Windows\System32\services.exe`, ip: "-", port: "-", elevated: true})
	h.special(t, s, systemPrivileges)
}

// Processes the background starts: parent, image, command line, and
// whether it runs as the logged-on user.
var winRoutine = []struct {
	image, cmd string
	user       bool
}{
	{`C:\Windows\System32\svchost.exe`, `C:\Windows\system32\svchost.exe -k netsvcs -p -s BITS`, false},
	{`C:\Windows\System32\svchost.exe`, `C:\Windows\System32\svchost.exe -k wsappx -p -s ClipSVC`, false},
	{`C:\Windows\System32\taskhostw.exe`, `taskhostw.exe`, false},
	{`C:\Program Files\Windows Defender\MpCmdRun.exe`, `"C:\Program Files\Windows Defender\MpCmdRun.exe" -IdleTask -TaskName WdCacheMaintenance`, false},
	{`C:\Windows\System32\CompatTelRunner.exe`, `C:\Windows\system32\compattelrunner.exe -m:appraiser.dll -f:DoScheduledTelemetryRun`, false},
	{`C:\Windows\System32\wbem\WmiPrvSE.exe`, `C:\Windows\system32\wbem\wmiprvse.exe -Embedding`, false},
	{`C:\Windows\System32\SearchProtocolHost.exe`, `"C:\Windows\system32\SearchProtocolHost.exe" Global\UsGthrFltPipeMssGthrPipe1_ Global\UsGthrCtrlFltPipeMssGthrPipe1 1 -2147483646`, false},
	{`C:\Program Files\Google\Chrome\Application\chrome.exe`, `"C:\Program Files\Google\Chrome\Application\chrome.exe"`, true},
	{`C:\Windows\System32\notepad.exe`, `"C:\Windows\system32\notepad.exe" C:\Users\Public\notes.txt`, true},
	{`C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE`, `"C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE"`, true},
	{`C:\Windows\System32\cmd.exe`, `"C:\Windows\system32\cmd.exe"`, true},
}

// winProcess: a process starts and, usually, exits; a user's shell runs a
// command or two.
func (h *host) winProcess(t time.Time) {
	w := h.win
	r := pick(w.r, winRoutine)
	parent, acct := h.wproc(h.services, w.system), w.system
	if strings.Contains(r.image, "taskhostw") || strings.Contains(r.image, "MpCmdRun") || strings.Contains(r.image, "CompatTel") {
		parent = h.wproc(h.schedule, w.system)
	}
	if strings.Contains(r.image, "WmiPrvSE") {
		parent = h.wproc(h.dcom, w.system)
	}
	if strings.Contains(r.image, "SearchProtocol") {
		parent = h.wproc(h.searchIdx, w.system)
	}
	if r.user {
		acct = w.user
		if acct == nil {
			acct = w.admin
		}
		parent = h.wproc(h.explorer, acct)
	}
	p, _ := h.newProcess(t, parent, r.image, r.cmd, acct, nil)
	at := t
	if strings.HasSuffix(r.image, `cmd.exe`) {
		con, _ := h.newProcess(h.winAfter(t, 10*time.Millisecond, 60*time.Millisecond), p, `C:\Windows\System32\conhost.exe`, `\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1`, acct, nil)
		for range w.r.between(1, 3) {
			at = h.winAfter(at, 2*time.Second, 30*time.Second)
			cmds := []struct{ img, cmd string }{
				{`C:\Windows\System32\ipconfig.exe`, `ipconfig  /all`},
				{`C:\Windows\System32\PING.EXE`, `ping  -n 4 ` + pick(w.r, w.dcs).name},
				{`C:\Windows\System32\whoami.exe`, `whoami`},
				{`C:\Windows\System32\net.exe`, `net  use`},
				{`C:\Windows\System32\gpupdate.exe`, `gpupdate  /force`},
			}
			c := pick(w.r, cmds)
			cp, _ := h.newProcess(at, p, c.img, c.cmd, acct, nil)
			h.endProcess(h.winAfter(at, 50*time.Millisecond, 15*time.Second), cp)
		}
		end := h.winAfter(at, 5*time.Second, 3*time.Minute)
		h.endProcess(end, con)
		h.endProcess(end.Add(3*time.Millisecond), p)
		return
	}
	if w.r.chance(0.8) {
		h.endProcess(h.winAfter(t, 2*time.Second, 10*time.Minute), p)
	}
}

// Tasks Windows registers and removes itself, as the computer account.
var systemTasks = []string{
	`\Microsoft\Windows\UpdateOrchestrator\Schedule Wake To Work`,
	`\Microsoft\Windows\UpdateOrchestrator\Universal Orchestrator Start`,
	`\Microsoft\Windows\WindowsUpdate\Scheduled Start`,
	`\Microsoft\Windows\Defrag\ScheduledDefrag`,
	`\Microsoft\Windows\Windows Defender\Windows Defender Cache Maintenance`,
}

// winSystemTask: Windows registers (and sometimes removes) one of its own
// tasks, as the computer account.
func (h *host) winSystemTask(t time.Time) {
	w := h.win
	name := pick(w.r, systemTasks)
	content := taskXML(`$(@%SystemRoot%\system32\usocoreworker.exe,-102)`, `%systemroot%\system32\usoclient.exe`, `StartScan`)
	h.task(4698, t, w.system, name, content, uint32(w.r.between(300, 3000)*4), 1)
	if w.r.chance(0.3) {
		h.task(4699, h.winAfter(t, time.Second, 3*time.Minute), w.system, name, content, uint32(w.r.between(300, 3000)*4), 1)
	}
}

var services = []string{"Windows Update", "Background Intelligent Transfer Service", "WinHTTP Web Proxy Auto-Discovery Service",
	"Windows Modules Installer", "Microsoft Software Shadow Copy Provider", "Volume Shadow Copy", "Device Setup Manager"}

// winServiceState: a demand-start service runs and stops.
func (h *host) winServiceState(t time.Time) {
	s := pick(h.win.r, services)
	h.serviceState(t, s, "running")
	h.serviceState(h.winAfter(t, 30*time.Second, 10*time.Minute), s, "stopped")
}

// psDetails is the text classic PowerShell events carry in their last
// value: head, then the session's description.
func psDetails(seq int, head, host, cmdline string) string {
	return head + "\r\n\r\n\tSequenceNumber=" + fmt.Sprint(seq) + "\r\n\r\n\tHostName=ConsoleHost\r\n\tHostVersion=5.1.19041.3636\r\n\tHostId=" +
		host + "\r\n\tHostApplication=" + cmdline + "\r\n\tEngineVersion=5.1.19041.3636\r\n\tRunspaceId=" + host +
		"\r\n\tPipelineId=\r\n\tCommandName=\r\n\tCommandType=\r\n\tScriptName=\r\n\tCommandPath=\r\n\tCommandLine="
}

func (h *host) psGUID() string {
	r := h.win.r
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", r.intn(1<<31), r.intn(1<<16), 0x4000|r.intn(1<<12), 0x8000|r.intn(1<<14), r.src.Uint64()&(1<<48-1))
}

// psSession is a PowerShell host's life in the PowerShell logs: its
// providers and engine start, one script block per script (a warning when
// suspicious), the commands' pipeline details, and the engine's stop.
func (h *host) psSession(t time.Time, p *winProc, cmdline string, scripts []string, suspicious bool, end time.Time) []*winevt.Event {
	w := h.win
	var out []*winevt.Event
	add := func(ev *winevt.Event) {
		if ev != nil {
			out = append(out, ev)
		}
	}
	classic := func(at time.Time, id uint16, a, b, c string) {
		ev := h.wemit(winevt.PowerShell, id, at, 0, vs(a), vs(b), vs(c))
		if ev != nil {
			ev.ThreadID = 0
		}
		add(ev)
	}
	hostID := h.psGUID()
	at := t.Add(w.r.duration(200*time.Millisecond, 600*time.Millisecond))
	seq := 1
	for _, prov := range []string{"Registry", "Alias", "Environment", "FileSystem", "Function", "Variable"} {
		classic(at, 600, prov, "Started", psDetails(seq, "\tProviderName="+prov+"\r\n\tNewProviderState=Started", hostID, cmdline))
		at, seq = at.Add(w.r.duration(100*time.Microsecond, 3*time.Millisecond)), seq+1
	}
	classic(at, 400, "Available", "None", psDetails(seq, "\tNewEngineState=Available\r\n\tPreviousEngineState=None", hostID, cmdline))
	seq++
	for _, sb := range scripts {
		at = at.Add(w.r.duration(50*time.Millisecond, 5*time.Second))
		ev := h.wemit(winevt.PowerShellOp, 4104, at, p.pid, evtxwrite.UInt32(1), evtxwrite.UInt32(1), vs(sb), vs(h.psGUID()), vs(""))
		if ev != nil {
			ev.UserSID = p.acct.sid
			if suspicious {
				warning := uint8(3)
				ev.Level = &warning
			}
		}
		add(ev)
	}
	if len(scripts) > 0 {
		cmd := strings.Fields(scripts[len(scripts)-1])[0]
		at = at.Add(w.r.duration(10*time.Millisecond, 500*time.Millisecond))
		user := p.acct.domain + `\` + p.acct.name
		ctx := "        Severity = Informational\r\n        Host Name = ConsoleHost\r\n        Host Version = 5.1.19041.3636\r\n        Host ID = " + hostID +
			"\r\n        Host Application = " + cmdline + "\r\n        Engine Version = 5.1.19041.3636\r\n        Runspace ID = " + hostID +
			"\r\n        Pipeline ID = 1\r\n        Command Name = " + cmd + "\r\n        Command Type = Cmdlet\r\n        Script Name = \r\n        Command Path = \r\n        Sequence Number = " +
			fmt.Sprint(seq) + "\r\n        User = " + user + "\r\n        Connected User = \r\n        Shell ID = Microsoft.PowerShell\r\n"
		payload := "CommandInvocation(" + cmd + "): \"" + cmd + "\"\r\n"
		if ev := h.wemit(winevt.PowerShellOp, 4103, at, p.pid, vs(ctx), vs(""), vs(payload)); ev != nil {
			ev.UserSID = p.acct.sid
			add(ev)
		}
		classic(at.Add(time.Millisecond), 800, scripts[len(scripts)-1], "\tDetailSequence=1\r\n\tDetailTotal=1\r\n\r\n\tSequenceNumber="+fmt.Sprint(seq+1)+
			"\r\n\r\n\tUserId="+user+"\r\n\tHostName=ConsoleHost\r\n\tHostVersion=5.1.19041.3636\r\n\tHostId="+hostID+"\r\n\tHostApplication="+cmdline+
			"\r\n\tEngineVersion=5.1.19041.3636\r\n\tRunspaceId="+hostID+"\r\n\tPipelineId=1\r\n\tScriptName=\r\n\tCommandLine="+scripts[len(scripts)-1], payload)
		seq += 2
	}
	classic(end, 403, "Stopped", "Available", psDetails(seq, "\tNewEngineState=Stopped\r\n\tPreviousEngineState=Available", hostID, cmdline))
	return out
}

// Script blocks of an administrator's everyday PowerShell.
var adminScripts = []string{
	"Get-Service | Where-Object { $_.Status -eq 'Stopped' }",
	"Get-ChildItem C:\\Users -Directory | Select-Object Name, LastWriteTime",
	"Get-EventLog -LogName System -Newest 20",
	"Test-NetConnection -ComputerName DC01 -Port 389",
	"Get-Process | Sort-Object CPU -Descending | Select-Object -First 10",
}

// winPowerShell: someone opens PowerShell and runs a command.
func (h *host) winPowerShell(t time.Time) {
	w := h.win
	acct := w.admin
	if w.user != nil && w.r.chance(0.5) {
		acct = w.user
	}
	cmdline := `"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"`
	p, _ := h.newProcess(t, h.wproc(h.explorer, acct), `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, cmdline, acct, nil)
	end := h.winAfter(t, 20*time.Second, 10*time.Minute)
	h.psSession(t, p, cmdline, []string{pick(w.r, adminScripts)}, false, end)
	h.endProcess(end.Add(2*time.Millisecond), p)
}

// winTypo: a user mistypes a password at the lock screen once.
func (h *host) winTypo(t time.Time) {
	w := h.win
	u := w.user
	if u == nil {
		u = w.admin
	}
	h.logon4625(t, logon{subject: w.system, target: &secAccount{name: u.name, domain: domainName, sid: sidNull}, logonType: 2,
		process: "User32 ", pkg: "Negotiate", workstation: strings.ToUpper(h.short), pid: uint32(w.r.between(300, 3000) * 4),
		processName: `C:\Windows\System32\svchost.exe`, ip: "127.0.0.1", port: "0", status: 0xc000006d, sub: 0xc000006a, failureReason: "%%2313"})
}

// winExplicit: a user's process uses explicit credentials to reach a
// server (a mapped drive with a stored credential).
func (h *host) winExplicit(t time.Time) {
	w := h.win
	u := w.user
	if u == nil {
		u = w.admin
	}
	if len(w.peers) == 0 {
		return
	}
	srv := pick(w.r, w.peers)
	h.sec(4648, t, append(subj(u), vnullGUID(), vs(u.name), vs(domainName), vnullGUID(), vs(srv.name), vs(srv.name),
		vh(4), vs(""), vs(srv.ip), vs("445"))...)
}

// winUnlock: the user unlocks the workstation, or logs off.
func (h *host) winUnlock(t time.Time) {
	w := h.win
	if w.user == nil {
		return
	}
	s := h.session(w.user)
	h.logon4624(t, logon{subject: w.system, target: s, logonType: 7, process: "User32 ", pkg: "Negotiate", workstation: strings.ToUpper(h.short),
		pid: uint32(w.r.between(300, 3000) * 4), processName: `C:\Windows\System32\svchost.exe`, ip: "127.0.0.1", port: "0"})
	if w.r.chance(0.3) {
		at := h.winAfter(t, time.Minute, 20*time.Minute)
		h.sec(4647, at, vsid(s.sid), vs(s.name), vs(s.domain), vh(s.logonID))
		h.logoff(at.Add(w.r.duration(10*time.Millisecond, 2*time.Second)), s, 7)
	}
}

// winAuditPolicy: Group Policy re-applies the audit policy.
func (h *host) winAuditPolicy(t time.Time) {
	g, _ := evtxwrite.ParseGUID("{0cce922b-69ae-11d9-bed3-505054503030}")
	h.sec(4719, t, append(subj(h.win.system), vs("%%8276"), vs("%%12544"), vguid(g), vs("%%8449"))...)
}

// winKerberos: a domain controller issues a ticket-granting ticket and
// a service ticket.
func (h *host) winKerberos(t time.Time) {
	w := h.win
	if len(w.peers) == 0 {
		return
	}
	from := pick(w.r, w.peers)
	name := h.peerName(from) + "$"
	if w.r.chance(0.5) {
		name = pick(w.r, firstNames)
	}
	a := domainAccount(name)
	ip := "::ffff:" + from.ip
	port := fmt.Sprint(w.r.between(49152, 65535))
	h.sec(4768, t, vs(a.name), vs("CORP.EXAMPLE"), vsid(a.sid), vs("krbtgt"), vsid(domainSID+"-502"), vh(0x40810010), vh(0),
		vh(0x12), vs("2"), vs(ip), vs(port), vs(""), vs(""), vs(""))
	svc := pick(w.r, w.peers)
	h.sec(4769, h.winAfter(t, 5*time.Millisecond, 2*time.Second), vs(a.name+"@CORP.EXAMPLE"), vs("CORP.EXAMPLE"),
		vs(h.peerName(svc)+"$"), vsid(fmt.Sprintf("%s-%d", domainSID, 3000+w.r.intn(500))), vh(0x40810000), vh(0x12), vs(ip), vs(port),
		vh(0), vguid(h.kerberosGUID(t)), vs("-"))
}

// winNTLM: a domain controller validates NTLM credentials.
func (h *host) winNTLM(t time.Time) {
	w := h.win
	if len(w.peers) == 0 {
		return
	}
	from := pick(w.r, w.peers)
	ev := h.sec(4776, t, vs("MICROSOFT_AUTHENTICATION_PACKAGE_V1_0"), vs(pick(w.r, firstNames)), vs(h.peerName(from)), vh(0))
	if ev != nil {
		ev.Layout = auditSuccess4776
	}
}

// 4776 is filed under audit failure by its layout (the corpus's is a
// failure); a validation that succeeds carries the success keyword.
var auditSuccess4776 = func() *winevt.Layout {
	l, _ := winevt.LayoutOf(winevt.Security, 4776)
	c := *l
	c.Keywords = winevt.AuditSuccess
	return &c
}()

// winPreauthFailed: a user's Kerberos pre-authentication fails once (a
// stale password on a phone).
func (h *host) winPreauthFailed(t time.Time) {
	w := h.win
	if len(w.peers) == 0 {
		return
	}
	from := pick(w.r, w.peers)
	a := domainAccount(pick(w.r, firstNames))
	h.sec(4771, t, vs(a.name), vsid(a.sid), vs("krbtgt/CORP.EXAMPLE"), vh(0x40810010), vh(0x18), vs("2"),
		vs("::ffff:"+from.ip), vs(fmt.Sprint(w.r.between(49152, 65535))), vs(""), vs(""), vs(""))
}

// winAccountChurn: the help desk creates a contractor's account and puts
// it in an ordinary group, or deletes one.
func (h *host) winAccountChurn(t time.Time) {
	w := h.win
	by := h.session(domainAccount("adm-" + pick(w.r, firstNames)))
	n := fmt.Sprintf("ext-%s%02d", pick(w.r, []string{"audit", "dev", "temp", "vendor"}), w.r.between(1, 99))
	a := &secAccount{name: n, domain: domainName, sid: fmt.Sprintf("%s-%d", domainSID, w.r.between(5000, 9000))}
	if w.r.chance(0.3) {
		h.sec(4726, t, append([]evtxwrite.Value{vs(a.name), vs(domainName), vsid(a.sid)}, append(subj(by), vs("-"))...)...)
		return
	}
	h.createUser(t, by, a)
	grp := pick(w.r, []struct{ name, rid string }{{"FIN-Readers", "1160"}, {"Contractors", "1171"}, {"VPN-Users", "1183"}})
	h.groupMember(4728, h.winAfter(t, 2*time.Second, 40*time.Second), by, a, grp.name, domainName, domainSID+"-"+grp.rid)
}

// createUser logs 4720.
func (h *host) createUser(t time.Time, by, a *secAccount) *winevt.Event {
	return h.sec(4720, t, append([]evtxwrite.Value{vs(a.name), vs(domainName), vsid(a.sid)}, append(subj(by), vs("-"), vs(a.name),
		vs("%%1793"), vs(a.name+"@corp.example"), vs("%%1793"), vs("%%1793"), vs("%%1793"), vs("%%1793"), vs("%%1793"), vs("%%1794"),
		vs("%%1794"), vs("513"), vs("-"), vs("0x0"), vs("0x15"), vs("\r\n\t\t%%2080\r\n\t\t%%2082\r\n\t\t%%2084"), vs("%%1793"), vs("-"),
		vs("%%1797"))...)...)
}
