package scenario

import (
	"fmt"
	"strings"
	"time"

	"github.com/weft-dev/weft/testdata/gen/evtxwrite"
	"github.com/weft-dev/weft/testdata/gen/winevt"
)

// The logs a scenario can write. Sysmon is the default and the only one
// the seed rule reads; the others are Windows' own logs, which Elastic's
// Security-log rules read.
const (
	ChannelSysmon     = "sysmon"
	ChannelSecurity   = "security"
	ChannelSystem     = "system"
	ChannelPowerShell = "powershell" // Windows PowerShell and PowerShell/Operational
)

// AllChannels lists the channel names Config.Channels takes.
func AllChannels() []string {
	return []string{ChannelSysmon, ChannelSecurity, ChannelSystem, ChannelPowerShell}
}

// logsOf maps a Config channel name to the Windows channels it writes.
func logsOf(name string) []string {
	switch name {
	case ChannelSecurity:
		return []string{winevt.Security}
	case ChannelSystem:
		return []string{winevt.System}
	case ChannelPowerShell:
		return []string{winevt.PowerShell, winevt.PowerShellOp}
	}
	return nil
}

// fileSuffix names a host's file of a Windows channel: HOST-Security.evtx.
func fileSuffix(channel string) string {
	switch channel {
	case winevt.PowerShell:
		return "PowerShell"
	case winevt.PowerShellOp:
		return "PowerShell-Operational"
	}
	return channel
}

// The domain's SID and the well-known ones the logs name.
const (
	domainSID  = "S-1-5-21-1004336348-1177238915-682003330"
	domainName = "CORP"
	sidSystem  = "S-1-5-18"
	sidNull    = "S-1-0-0"
	nullLogon  = "{00000000-0000-0000-0000-000000000000}"
)

// secAccount is an account as the Security log names it.
type secAccount struct {
	name, domain, sid string
	logonID           uint64
	label             string // MandatoryLabel of its processes
	elevation         string // TokenElevationType of its processes
}

// winlog is one Windows log of a host: its events and where its record
// ids start.
type winlog struct {
	channel string
	events  []*winevt.Event
	first   uint64
	count   int
	file    string
}

// winState is what a host needs to write Windows' own logs: its own random
// stream (so that the Sysmon log is the same bytes whatever else is
// written), its accounts as the Security log names them, and its logs.
type winState struct {
	r        *rng
	dc       bool
	machine  string // the host's SID, for local accounts
	computer *secAccount
	system   *secAccount // SYSTEM as the subject of the host's own events: HOST$
	user     *secAccount
	admin    *secAccount
	lsass    uint32 // the process that writes the Security log
	eventlog uint32 // the Eventlog service's svchost.exe
	services uint32
	logs     map[string]*winlog
	byID     map[uint16]int // events per id, once sorted
	count    int
	threads  []uint32
	peers    []peer
	dcs      []peer
}

func userRID(name string) int {
	for i, n := range firstNames {
		if strings.TrimPrefix(name, "adm-") == n {
			if strings.HasPrefix(name, "adm-") {
				return 1300 + i
			}
			return 1200 + i
		}
	}
	return 1500
}

func domainAccount(name string) *secAccount {
	return &secAccount{name: name, domain: domainName, sid: fmt.Sprintf("%s-%d", domainSID, userRID(name))}
}

// initWin sets up the host's Windows logs for the channels given.
func (h *host) initWin(seed uint64, channels []string, dc bool) {
	r := newRNG(seed, 0x5ec0000+uint64(h.index))
	w := &winState{r: r, dc: dc, logs: map[string]*winlog{}, byID: map[uint16]int{}}
	w.machine = fmt.Sprintf("S-1-5-21-%d-%d-%d", r.between(1e9, 4e9), r.between(1e9, 4e9), r.between(1e9, 4e9))
	w.computer = &secAccount{name: strings.ToUpper(h.short) + "$", domain: domainName, sid: fmt.Sprintf("%s-%d", domainSID, 3000+h.index)}
	w.system = &secAccount{name: w.computer.name, domain: domainName, sid: sidSystem, logonID: 0x3e7, label: "S-1-16-16384", elevation: "%%1936"}
	if h.user != nil {
		w.user = domainAccount(strings.TrimPrefix(h.user.name, `CORP\`))
		w.user.logonID, w.user.label, w.user.elevation = h.user.logonID, "S-1-16-8192", "%%1938"
	}
	w.admin = domainAccount(strings.TrimPrefix(h.admin.name, `CORP\`))
	w.admin.logonID, w.admin.label, w.admin.elevation = h.admin.logonID, "S-1-16-12288", "%%1937"
	w.lsass, w.services = h.lsass.pid, h.services.pid
	w.eventlog = uint32(r.between(300, 3000) * 4)
	for range 4 {
		w.threads = append(w.threads, uint32(r.between(500, 9000)*4))
	}
	for _, name := range channels {
		for _, ch := range logsOf(name) {
			w.logs[ch] = &winlog{channel: ch, first: uint64(r.between(1000, 2000000))}
		}
	}
	h.win = w
}

// Values of event data.
func vs(s string) evtxwrite.Value { return evtxwrite.String(s) }
func vh(v uint64) evtxwrite.Value { return evtxwrite.HexInt64(v) }
func vu(v uint32) evtxwrite.Value { return evtxwrite.UInt32(v) }
func vu64(v uint64) evtxwrite.Value {
	return evtxwrite.UInt64(v)
}

func vsid(s string) evtxwrite.Value {
	sid, err := evtxwrite.ParseSID(s)
	if err != nil {
		panic(fmt.Sprintf("scenario: SID %q: %v", s, err)) // the SIDs are the package's own
	}
	return sid.Value()
}

func vguid(g evtxwrite.GUID) evtxwrite.Value { return g.Value() }

func vnullGUID() evtxwrite.Value {
	g, _ := evtxwrite.ParseGUID(nullLogon)
	return g.Value()
}

// wemit logs an event of channel at t (already the logging time). Events
// of a channel the scenario does not write, or outside the span, are not
// logged: nil.
func (h *host) wemit(channel string, id uint16, t time.Time, pid uint32, vals ...evtxwrite.Value) *winevt.Event {
	w := h.win
	lg := w.logs[channel]
	if lg == nil || !t.Before(h.end) || t.Before(h.start) {
		return nil
	}
	l, ok := winevt.LayoutOf(channel, id)
	if !ok {
		panic(fmt.Sprintf("scenario: no layout for %s event %d", channel, id)) // a bug in this package
	}
	ev := &winevt.Event{Layout: l, Time: t, Computer: h.name, ProcessID: pid, ThreadID: pick(w.r, w.threads), Values: vals}
	lg.events = append(lg.events, ev)
	return ev
}

// sec logs a Security event, written by lsass.exe.
func (h *host) sec(id uint16, t time.Time, vals ...evtxwrite.Value) *winevt.Event {
	return h.wemit(winevt.Security, id, t, h.win.lsass, vals...)
}

func subj(a *secAccount) []evtxwrite.Value {
	return []evtxwrite.Value{vsid(a.sid), vs(a.name), vs(a.domain), vh(a.logonID)}
}

// logon is the parameters of a 4624 or 4625 that vary.
type logon struct {
	subject       *secAccount // who asked: SYSTEM (HOST$) for local logons, the null SID for network ones
	target        *secAccount
	logonType     uint32
	process       string // LogonProcessName
	pkg           string // AuthenticationPackageName
	workstation   string
	guid          evtxwrite.GUID
	kerberos      bool
	pid           uint32
	processName   string
	ip, port      string
	elevated      bool
	status, sub   uint64 // 4625
	failureReason string
}

var nobody = &secAccount{name: "-", domain: "-", sid: sidNull}

func (h *host) logon4624(t time.Time, l logon) *winevt.Event {
	s := l.subject
	if s == nil {
		s = nobody
	}
	imp, elev := "%%1833", "%%1843"
	if l.elevated {
		elev = "%%1842"
	}
	lm, key := "-", uint32(0)
	if l.pkg == "NTLM" {
		lm, key = "NTLM V2", 128
	}
	g := vnullGUID()
	if l.kerberos {
		g = vguid(l.guid)
	}
	return h.sec(4624, t, append(subj(s), vsid(l.target.sid), vs(l.target.name), vs(l.target.domain), vh(l.target.logonID),
		vu(l.logonType), vs(l.process), vs(l.pkg), vs(l.workstation), g, vs("-"), vs(lm), vu(key), vh(uint64(l.pid)),
		vs(l.processName), vs(l.ip), vs(l.port), vs(imp), vs("-"), vs("-"), vs("-"), vs("%%1843"), vh(0), vs(elev))...)
}

func (h *host) logon4625(t time.Time, l logon) *winevt.Event {
	s := l.subject
	if s == nil {
		s = nobody
	}
	return h.sec(4625, t, append(subj(s), vsid(l.target.sid), vs(l.target.name), vs(l.target.domain), vh(l.status),
		vs(l.failureReason), vh(l.sub), vu(l.logonType), vs(l.process), vs(l.pkg), vs(l.workstation), vs("-"), vs("-"), vu(0),
		vh(uint64(l.pid)), vs(l.processName), vs(l.ip), vs(l.port))...)
}

func (h *host) logoff(t time.Time, a *secAccount, logonType uint32) *winevt.Event {
	return h.sec(4634, t, vsid(a.sid), vs(a.name), vs(a.domain), vh(a.logonID), vu(logonType))
}

const adminPrivileges = "SeSecurityPrivilege\r\n\t\t\tSeBackupPrivilege\r\n\t\t\tSeRestorePrivilege\r\n\t\t\tSeTakeOwnershipPrivilege\r\n\t\t\tSeDebugPrivilege\r\n\t\t\tSeSystemEnvironmentPrivilege\r\n\t\t\tSeLoadDriverPrivilege\r\n\t\t\tSeImpersonatePrivilege\r\n\t\t\tSeDelegateSessionUserImpersonatePrivilege"
const systemPrivileges = "SeAssignPrimaryTokenPrivilege\r\n\t\t\tSeTcbPrivilege\r\n\t\t\tSeSecurityPrivilege\r\n\t\t\tSeTakeOwnershipPrivilege\r\n\t\t\tSeLoadDriverPrivilege\r\n\t\t\tSeBackupPrivilege\r\n\t\t\tSeRestorePrivilege\r\n\t\t\tSeDebugPrivilege\r\n\t\t\tSeAuditPrivilege\r\n\t\t\tSeSystemEnvironmentPrivilege\r\n\t\t\tSeImpersonatePrivilege\r\n\t\t\tSeDelegateSessionUserImpersonatePrivilege"

func (h *host) special(t time.Time, a *secAccount, privileges string) *winevt.Event {
	return h.sec(4672, t, append(subj(a), vs(privileges))...)
}

// winProc is a process as the Security log knows it.
type winProc struct {
	pid  uint32
	path string
	acct *secAccount
}

// newProcess logs a 4688: parent starts path as acct. target, when set,
// is the token the process runs with when it is not its creator's (runas,
// services started for another account).
func (h *host) newProcess(t time.Time, parent *winProc, path, cmdline string, acct *secAccount, target *secAccount) (*winProc, *winevt.Event) {
	p := &winProc{pid: uint32(h.win.r.between(300, 12000) * 4), path: path, acct: acct}
	tsid, tname, tdom, tid := sidNull, "-", "-", uint64(0)
	label, elev := acct.label, acct.elevation
	if target != nil {
		tsid, tname, tdom, tid = target.sid, target.name, target.domain, target.logonID
		label, elev = target.label, target.elevation
		p.acct = target
	}
	ev := h.sec(4688, t, append(subj(acct), vh(uint64(p.pid)), vs(path), vs(elev), vh(uint64(parent.pid)), vs(cmdline),
		vsid(tsid), vs(tname), vs(tdom), vh(tid), vs(parent.path), vsid(label))...)
	return p, ev
}

func (h *host) endProcess(t time.Time, p *winProc) *winevt.Event {
	return h.sec(4689, t, append(subj(p.acct), vh(0), vh(uint64(p.pid)), vs(p.path))...)
}

// The long-running processes as the Security log names them.
func (h *host) wproc(p *process, a *secAccount) *winProc {
	path := p.img.Path
	return &winProc{pid: p.pid, path: path, acct: a}
}

func (h *host) peerName(p peer) string { return strings.ToUpper(strings.SplitN(p.name, ".", 2)[0]) }

func (h *host) winAfter(t time.Time, lo, hi time.Duration) time.Time {
	return t.Add(h.win.r.duration(lo, hi))
}

func (h *host) logonID() uint64 { return uint64(h.win.r.between(0x400000, 0x7ffffff)) }

// session is a logged-on account: a copy of a with a new logon id.
func (h *host) session(a *secAccount) *secAccount {
	s := *a
	s.logonID = h.logonID()
	return &s
}

func (h *host) kerberosGUID(t time.Time) evtxwrite.GUID {
	return h.logonGUID(t, h.logonID())
}

// taskXML is a scheduled task's definition as 4698 carries it.
func taskXML(author, command, args string) string {
	return `<?xml version="1.0" encoding="UTF-16"?>` + "\r\n" +
		`<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">` + "\r\n" +
		`  <RegistrationInfo>` + "\r\n" + `    <Author>` + author + `</Author>` + "\r\n" + `  </RegistrationInfo>` + "\r\n" +
		`  <Triggers>` + "\r\n" + `    <LogonTrigger>` + "\r\n" + `      <Enabled>true</Enabled>` + "\r\n" + `    </LogonTrigger>` + "\r\n" + `  </Triggers>` + "\r\n" +
		`  <Actions Context="Author">` + "\r\n" + `    <Exec>` + "\r\n" + `      <Command>` + command + `</Command>` + "\r\n" +
		`      <Arguments>` + args + `</Arguments>` + "\r\n" + `    </Exec>` + "\r\n" + `  </Actions>` + "\r\n" + `</Task>`
}

// task logs 4698 (created) or 4699 (deleted).
func (h *host) task(id uint16, t time.Time, by *secAccount, name, content string, clientPID uint32, locality uint32) *winevt.Event {
	key := uint64(0)
	if clientPID != 0 {
		key = uint64(h.win.r.between(1<<20, 1<<30))<<16 | uint64(h.win.r.intn(1<<16))
	}
	return h.sec(id, t, append(subj(by), vs(name), vs(content), vu64(key), vu(clientPID), vu(0), vu(locality), vs(h.name))...)
}

// service logs 4697 in Security and 7045 in System: a service installed.
func (h *host) service(t time.Time, by *secAccount, name, file string, clientPID uint32) (*winevt.Event, *winevt.Event) {
	sec := h.sec(4697, t, append(subj(by), vs(name), vs(file), vh(0x10), vu(3), vs("LocalSystem"), vu64(0), vu(clientPID), vu(0))...)
	sys := h.wemit(winevt.System, 7045, t.Add(h.win.r.duration(time.Millisecond, 40*time.Millisecond)), h.win.services,
		vs(name), vs(file), vs("user mode service"), vs("demand start"), vs("LocalSystem"))
	if sys != nil {
		sys.UserSID = by.sid
	}
	return sec, sys
}

// serviceState logs 7036: a service entered the running or stopped state.
func (h *host) serviceState(t time.Time, display, state string) *winevt.Event {
	return h.wemit(winevt.System, 7036, t, h.win.services, vs(display), vs(state))
}

// groupMember logs 4728, 4732 or 4756: member added to a group.
func (h *host) groupMember(id uint16, t time.Time, by, member *secAccount, group, groupDomain, groupSID string) *winevt.Event {
	dn := fmt.Sprintf("CN=%s,OU=Users,DC=corp,DC=example", member.name)
	return h.sec(id, t, append([]evtxwrite.Value{vs(dn), vsid(member.sid), vs(group), vs(groupDomain), vsid(groupSID)},
		append(subj(by), vs("-"))...)...)
}

// clearLog logs 1102 (Security cleared) or 104 (another log cleared).
func (h *host) clearLog(t time.Time, by *secAccount, channel string) *winevt.Event {
	if channel == winevt.Security {
		return h.wemit(winevt.Security, 1102, t, h.win.eventlog, subj(by)...)
	}
	ev := h.wemit(winevt.System, 104, t, h.win.eventlog, vs(by.name), vs(by.domain), vs(channel), vs(""))
	if ev != nil {
		ev.UserSID = by.sid
	}
	return ev
}
