package scenario

import (
	"fmt"
	"strings"
	"time"

	"github.com/weft-dev/weft/testdata/gen/evtxwrite"
	"github.com/weft-dev/weft/testdata/gen/sysmon"
)

// account is a logon session: who runs a process.
type account struct {
	name      string // DOMAIN\user or NT AUTHORITY\…
	logonGUID evtxwrite.GUID
	logonID   uint64
	session   uint32
	integrity string
}

// process is a running process, as Sysmon identifies it.
type process struct {
	guid    evtxwrite.GUID
	pid     uint32
	img     image
	cmdline string
	cwd     string
	acct    *account
	parent  *process
}

// host is one Windows machine: its identity, its long-running processes
// and the events generated for it so far.
type host struct {
	index   int
	name    string // FQDN, as Sysmon's Computer
	short   string
	ip      string
	server  bool
	machine uint32 // first group of every ProcessGuid and LogonGuid
	tail    byte   // last byte but one of ProcessGuids
	sysmon  uint32 // the Sysmon service's process id
	threads []uint32
	seq     uint16 // sequence of background process GUIDs
	first   uint64 // first EventRecordID of its log

	start, end time.Time
	r          *rng

	system, localSvc, netSvc *account
	user, admin              *account
	kernel, services, lsass  *process
	dcom, rpcss, schedule    *process
	dnscache, sysmain        *process
	searchIdx, explorer      *process
	browsers                 []*process
	peers, dcs, contacts     []peer // other hosts, domain controllers, both

	events  []*sysmon.Event
	count   int            // events generated, once sorted
	byID    map[uint16]int // of which, per event id
	logFile string         // the file its events went to

	win *winState // Windows' own logs, when the scenario writes them
}

// peer is a machine on the other end of a connection.
type peer struct {
	name, ip string
}

func guidOf(machine uint32, t time.Time, d4 [8]byte) evtxwrite.GUID {
	u := uint32(t.Unix())
	return evtxwrite.GUID{
		byte(machine >> 24), byte(machine >> 16), byte(machine >> 8), byte(machine),
		byte(u >> 8), byte(u), byte(u >> 24), byte(u >> 16),
		d4[0], d4[1], d4[2], d4[3], d4[4], d4[5], d4[6], d4[7],
	}
}

// processGUID is built as Sysmon builds ProcessGuids: the machine's id,
// the process start time in seconds (low half first), a sequence number,
// and a constant tail.
func (h *host) processGUID(t time.Time, seq uint16) evtxwrite.GUID {
	return guidOf(h.machine, t, [8]byte{byte(seq), byte(seq >> 8), 0, 0, 0, 0, h.tail, 0})
}

// logonGUID is the machine's id, the logon time and the logon id.
func (h *host) logonGUID(t time.Time, id uint64) evtxwrite.GUID {
	var d4 [8]byte
	for i := range d4 {
		d4[i] = byte(id >> (8 * i))
	}
	return guidOf(h.machine, t, d4)
}

func (h *host) nextSeq() uint16 {
	h.seq++
	if h.seq >= injectedSeq { // background sequence numbers stay below the injected ones
		h.seq = 0x100
	}
	return h.seq
}

func (h *host) pid() uint32 { return uint32(h.r.between(300, 12000) * 4) }

func newHost(index int, name, ip string, server bool, seed uint64, start, end time.Time) *host {
	h := &host{index: index, name: name, short: strings.SplitN(name, ".", 2)[0], ip: ip, server: server, start: start, end: end}
	h.r = newRNG(seed, uint64(index)+1)
	r := h.r
	h.machine = uint32(r.src.Uint64())
	h.tail = byte(r.between(0x10, 0x2f))
	h.sysmon = uint32(r.between(500, 1200) * 4)
	for range 4 {
		h.threads = append(h.threads, uint32(r.between(500, 2500)*4))
	}
	h.seq = uint16(r.between(0x100, 0x2000))
	h.first = uint64(r.between(1000, 900000))
	boot := start.Add(-time.Duration(r.between(3600, 30*86400)) * time.Second)
	h.system = &account{name: `NT AUTHORITY\SYSTEM`, logonID: 0x3e7, integrity: "System"}
	h.localSvc = &account{name: `NT AUTHORITY\LOCAL SERVICE`, logonID: 0x3e5, integrity: "System"}
	h.netSvc = &account{name: `NT AUTHORITY\NETWORK SERVICE`, logonID: 0x3e4, integrity: "System"}
	for _, a := range []*account{h.system, h.localSvc, h.netSvc} {
		a.logonGUID = h.logonGUID(boot, a.logonID)
	}
	user := pick(r, firstNames)
	logon := boot.Add(time.Duration(r.between(60, 3600)) * time.Second)
	if !server {
		id := uint64(r.between(0x100000, 0x3ffffff))
		h.user = &account{name: `CORP\` + user, logonID: id, logonGUID: h.logonGUID(logon, id), session: 1, integrity: "Medium"}
	}
	id := uint64(r.between(0x100000, 0x3ffffff))
	h.admin = &account{name: `CORP\adm-` + user, logonID: id, logonGUID: h.logonGUID(logon, id), session: 1, integrity: "High"}
	if server {
		h.admin.session = 2
	}

	// Processes that were running when the log begins: Sysmon logged
	// their start long ago, and they appear here as parents.
	at := func(d int) time.Time { return boot.Add(time.Duration(d) * time.Second) }
	old := func(t time.Time, img image, cmd string, acct *account, parent *process) *process {
		return &process{guid: h.processGUID(t, h.nextSeq()), pid: h.pid(), img: img, cmdline: cmd, cwd: `C:\Windows\system32\`, acct: acct, parent: parent}
	}
	h.kernel = &process{guid: h.processGUID(boot, 1), pid: 4, img: image{Path: "System"}, cmdline: "", acct: h.system}
	wininit := old(at(2), win(`C:\Windows\System32\wininit.exe`, "Windows Start-Up Application", "wininit.exe"), "wininit.exe", h.system, nil)
	h.services = old(at(3), imgServices, `C:\Windows\system32\services.exe`, h.system, wininit)
	h.lsass = old(at(3), imgLsass, `C:\Windows\system32\lsass.exe`, h.system, wininit)
	svc := func(group, s string, acct *account) *process {
		cmd := `C:\Windows\system32\svchost.exe -k ` + group + " -p"
		if s != "" {
			cmd += " -s " + s
		}
		return old(at(r.between(4, 40)), imgSvchost, cmd, acct, h.services)
	}
	h.dcom = svc("DcomLaunch", "", h.system)
	h.rpcss = svc("RPCSS", "", h.netSvc)
	h.schedule = svc("netsvcs", "Schedule", h.system)
	h.dnscache = svc("NetworkService", "Dnscache", h.netSvc)
	h.sysmain = svc("LocalSystemNetworkRestricted", "SysMain", h.system)
	h.searchIdx = old(at(r.between(30, 90)), imgSearchIdx, `C:\Windows\system32\SearchIndexer.exe /Embedding`, h.system, h.services)
	if !server {
		userinit := old(logon, win(`C:\Windows\System32\userinit.exe`, "Userinit Logon Application", "USERINIT.EXE"), `C:\Windows\system32\userinit.exe`, h.user, nil)
		h.explorer = old(logon.Add(time.Second), imgExplorer, `C:\Windows\Explorer.EXE`, h.user, userinit)
	} else {
		userinit := old(logon, win(`C:\Windows\System32\userinit.exe`, "Userinit Logon Application", "USERINIT.EXE"), `C:\Windows\system32\userinit.exe`, h.admin, nil)
		h.explorer = old(logon.Add(time.Second), imgExplorer, `C:\Windows\Explorer.EXE`, h.admin, userinit)
	}
	return h
}

// emit logs d, observed at t, after the given logging delay. Events Sysmon
// would log after the end of the span are not part of the log.
func (h *host) emit(t time.Time, delay time.Duration, d sysmon.Data) *sysmon.Event {
	logged := t.Add(delay)
	if !logged.Before(h.end) || t.Before(h.start) {
		return nil
	}
	ev := &sysmon.Event{Time: logged, Computer: h.name, ProcessID: h.sysmon, ThreadID: pick(h.r, h.threads), Data: d}
	h.events = append(h.events, ev)
	return ev
}

// quick is how late Sysmon logs most events; network events come in
// batches and lag more.
func (h *host) quick() time.Duration { return h.r.duration(300*time.Microsecond, 9*time.Millisecond) }
func (h *host) slow() time.Duration  { return h.r.duration(150*time.Millisecond, 2500*time.Millisecond) }

// spawn starts a process: event 1, and the images it loads (event 7).
func (h *host) spawn(t time.Time, parent *process, img image, cmdline, cwd string, acct *account, dlls ...image) *process {
	p := &process{guid: h.processGUID(t, h.nextSeq()), pid: h.pid(), img: img, cmdline: cmdline, cwd: cwd, acct: acct, parent: parent}
	h.created(t, p)
	h.loads(t, p, dlls...)
	return p
}

// created logs p's creation.
func (h *host) created(t time.Time, p *process) *sysmon.Event {
	par := p.parent
	if par == nil {
		par = h.kernel
	}
	parentUser := h.system.name
	if par.acct != nil {
		parentUser = par.acct.name
	}
	return h.emit(t, h.quick(), &sysmon.ProcessCreate{
		RuleName: "-", UtcTime: t, ProcessGuid: p.guid, ProcessId: p.pid, Image: p.img.Path,
		FileVersion: p.img.FileVersion, Description: p.img.Description, Product: p.img.Product,
		Company: p.img.Company, OriginalFileName: p.img.OriginalFileName, CommandLine: p.cmdline,
		CurrentDirectory: p.cwd, User: p.acct.name, LogonGuid: p.acct.logonGUID, LogonId: p.acct.logonID,
		TerminalSessionId: p.acct.session, IntegrityLevel: p.acct.integrity, Hashes: p.img.hashes(),
		ParentProcessGuid: par.guid, ParentProcessId: par.pid, ParentImage: par.img.Path,
		ParentCommandLine: par.cmdline, ParentUser: parentUser,
	})
}

func (h *host) loads(t time.Time, p *process, dlls ...image) {
	for i, d := range dlls {
		at := t.Add(time.Duration(i+1)*h.r.duration(2*time.Millisecond, 40*time.Millisecond) + time.Millisecond)
		h.emit(at, h.quick(), &sysmon.ImageLoad{
			RuleName: "-", UtcTime: at, ProcessGuid: p.guid, ProcessId: p.pid, Image: p.img.Path,
			ImageLoaded: d.Path, FileVersion: d.FileVersion, Description: d.Description, Product: d.Product,
			Company: d.Company, OriginalFileName: d.OriginalFileName, Hashes: d.hashes(), Signed: "true",
			Signature: d.Signature, SignatureStatus: "Valid", User: p.acct.name,
		})
	}
}

func (h *host) exit(t time.Time, p *process) {
	h.emit(t, h.quick(), &sysmon.ProcessTerminate{RuleName: "-", UtcTime: t, ProcessGuid: p.guid, ProcessId: p.pid, Image: p.img.Path, User: p.acct.name})
}

func (h *host) file(t time.Time, p *process, path string) *sysmon.Event {
	return h.emit(t, h.quick(), &sysmon.FileCreate{RuleName: "-", UtcTime: t, ProcessGuid: p.guid, ProcessId: p.pid, Image: p.img.Path, TargetFilename: path, CreationUtcTime: t, User: p.acct.name})
}

func (h *host) dns(t time.Time, p *process, name string, addrs []string) {
	var res strings.Builder
	if h.r.chance(0.3) {
		fmt.Fprintf(&res, "type:  5 %s.edgekey.example;", strings.SplitN(name, ".", 2)[0])
	}
	for _, a := range addrs {
		res.WriteString("::ffff:" + a + ";")
	}
	h.emit(t, h.quick(), &sysmon.DNSQuery{RuleName: "-", UtcTime: t, ProcessGuid: p.guid, ProcessId: p.pid, QueryName: name, QueryStatus: "0", QueryResults: res.String(), Image: p.img.Path, User: p.acct.name})
}

// conn is a network connection as Sysmon records it: the local end in
// Source*, whoever initiated it.
type conn struct {
	proto           string
	initiated       bool
	localIP         string
	localPort       uint16
	remote          peer
	remotePort      uint16
	localV6, peerV6 bool
	localName       string
}

func (h *host) connect(t time.Time, p *process, c conn) *sysmon.Event {
	localName := c.localName
	if localName == "" {
		localName = h.name
	}
	rName := c.remote.name
	if rName == "" {
		rName = "-"
	}
	local := c.localIP
	if local == "" {
		local = h.ip
	}
	return h.emit(t, h.slow(), &sysmon.NetworkConnect{
		RuleName: "-", UtcTime: t, ProcessGuid: p.guid, ProcessId: p.pid, Image: p.img.Path, User: p.acct.name,
		Protocol: c.proto, Initiated: c.initiated, SourceIsIpv6: c.localV6, SourceIp: local, SourceHostname: localName,
		SourcePort: c.localPort, SourcePortName: portName(c.localPort), DestinationIsIpv6: c.peerV6,
		DestinationIp: c.remote.ip, DestinationHostname: rName, DestinationPort: c.remotePort,
		DestinationPortName: portName(c.remotePort),
	})
}

// ephemeral is a port from Windows' dynamic range.
func (h *host) ephemeral() uint16 { return uint16(h.r.between(49152, 65535)) }
