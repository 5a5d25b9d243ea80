package scenario

import (
	"fmt"
	"strings"
	"time"
)

// activity is one piece of background work on a host, starting at t.
type activity func(h *host, t time.Time)

// The background mix: what a workstation and a server do, and how often
// relative to each other.
var (
	workstationMix = []struct {
		w  float64
		fn activity
	}{
		{8, (*host).scheduledTask}, {8, (*host).dcomHost}, {2, (*host).serviceStart}, {4, (*host).search},
		{16, (*host).browse}, {5, (*host).office}, {3, (*host).shell}, {10, (*host).dnsClient},
		{4, (*host).inboundSMB}, {3, (*host).inboundRPC}, {5, (*host).domainTraffic}, {1, (*host).adminMMC},
		{4, (*host).prefetch}, {3, (*host).lateLoad},
	}
	serverMix = []struct {
		w  float64
		fn activity
	}{
		{8, (*host).scheduledTask}, {6, (*host).dcomHost}, {3, (*host).serviceStart}, {2, (*host).search},
		{2, (*host).shell}, {10, (*host).dnsClient}, {14, (*host).inboundSMB}, {8, (*host).inboundRPC},
		{8, (*host).domainTraffic}, {2, (*host).adminMMC}, {4, (*host).prefetch}, {3, (*host).lateLoad},
		{4, (*host).windowsUpdate},
	}
)

// background fills the host's span with activities, rate events per
// second on average: after an activity that logged k events the next one
// starts an exponential time with mean k/rate later.
func (h *host) background(rate float64, peers []peer, dcs []peer) {
	if rate <= 0 {
		return
	}
	weights, fns := []float64{}, []activity{}
	mix := workstationMix
	if h.server {
		mix = serverMix
	}
	for _, m := range mix {
		weights = append(weights, m.w)
		fns = append(fns, m.fn)
	}
	h.peers, h.dcs = peers, dcs
	h.contacts = append(append([]peer{}, dcs...), peers...)
	t := h.start.Add(time.Duration(h.r.exp(float64(time.Second) / rate)))
	for t.Before(h.end) {
		before := len(h.events)
		fns[h.r.weighted(weights)](h, t)
		k := max(len(h.events)-before, 1)
		t = t.Add(time.Duration(h.r.exp(float64(k) * float64(time.Second) / rate)))
	}
}

func (h *host) after(t time.Time, lo, hi time.Duration) time.Time { return t.Add(h.r.duration(lo, hi)) }

func (h *host) someDLLs(sets ...[]image) []image {
	var out []image
	for _, s := range sets {
		n := h.r.between(1, min(3, len(s)))
		start := h.r.intn(len(s))
		for i := range n {
			out = append(out, s[(start+i)%len(s)])
		}
	}
	return out
}

// scheduledTask: the Schedule service runs a task host.
func (h *host) scheduledTask(t time.Time) {
	var p *process
	switch h.r.intn(4) {
	case 0:
		p = h.spawn(t, h.schedule, imgTaskhostw, "taskhostw.exe", `C:\Windows\system32\`, h.system, h.someDLLs(commonDLLs)...)
	case 1:
		task := pick(h.r, []string{"WdCacheMaintenance", "WdCleanup", "WdVerification", "WdScheduledScan"})
		p = h.spawn(t, h.schedule, imgMpCmdRun, `"C:\Program Files\Windows Defender\MpCmdRun.exe" -IdleTask -TaskName `+task, `C:\Windows\system32\`, h.system, h.someDLLs(commonDLLs)...)
		h.file(h.after(t, 200*time.Millisecond, 3*time.Second), p, fmt.Sprintf(`C:\ProgramData\Microsoft\Windows Defender\Support\MPLog-%s.log`, t.Format("20060102-150405")))
	case 2:
		p = h.spawn(t, h.schedule, imgCompatTel, `C:\Windows\system32\compattelrunner.exe -m:appraiser.dll -f:DoScheduledTelemetryRun`, `C:\Windows\system32\`, h.system, h.someDLLs(commonDLLs, netDLLs)...)
	default:
		p = h.spawn(t, h.schedule, imgSppsvc, `C:\Windows\system32\sppsvc.exe`, `C:\Windows\system32\`, h.netSvc, h.someDLLs(commonDLLs)...)
	}
	h.exit(h.after(t, 2*time.Second, 3*time.Minute), p)
}

// dcomHost: DCOM activation starts a COM server.
func (h *host) dcomHost(t time.Time) {
	var p *process
	switch h.r.intn(4) {
	case 0:
		p = h.spawn(t, h.dcom, imgWmiPrvSE, `C:\Windows\system32\wbem\wmiprvse.exe -Embedding`, `C:\Windows\system32\`, h.netSvc, h.someDLLs(commonDLLs)...)
	case 1:
		acct := h.user
		if acct == nil {
			acct = h.admin
		}
		p = h.spawn(t, h.dcom, imgRuntimeBkr, `C:\Windows\System32\RuntimeBroker.exe -Embedding`, `C:\Windows\system32\`, acct, h.someDLLs(commonDLLs)...)
	case 2:
		p = h.spawn(t, h.dcom, imgDllhost, `C:\Windows\system32\DllHost.exe /Processid:{AB8902B4-09CA-4BB6-B78D-A8F59079A8D5}`, `C:\Windows\system32\`, h.system, h.someDLLs(commonDLLs)...)
	default:
		p = h.spawn(t, h.dcom, imgBgTaskHost, `"C:\Windows\system32\backgroundTaskHost.exe" -ServerName:BackgroundTaskHost.WebAccountProvider`, `C:\Windows\system32\`, h.system, h.someDLLs(commonDLLs, netDLLs)...)
	}
	h.exit(h.after(t, 3*time.Second, 5*time.Minute), p)
}

// serviceStart: the service control manager starts a service host.
func (h *host) serviceStart(t time.Time) {
	s := pick(h.r, []struct{ group, name string }{
		{"netsvcs", "BITS"}, {"netsvcs", "wuauserv"}, {"LocalServiceNetworkRestricted", "lmhosts"},
		{"LocalService", "W32Time"}, {"netsvcs", "gpsvc"}, {"UnistackSvcGroup", "CDPUserSvc"},
	})
	acct := h.system
	if strings.HasPrefix(s.group, "Local") {
		acct = h.localSvc
	}
	p := h.spawn(t, h.services, imgSvchost, `C:\Windows\system32\svchost.exe -k `+s.group+` -p -s `+s.name, `C:\Windows\system32\`, acct, h.someDLLs(commonDLLs, netDLLs)...)
	if h.r.chance(0.5) {
		h.exit(h.after(t, time.Minute, 20*time.Minute), p)
	}
}

// search: the indexer starts a protocol host.
func (h *host) search(t time.Time) {
	p := h.spawn(t, h.searchIdx, imgSearchProto, `"C:\Windows\system32\SearchProtocolHost.exe" Global\UsGthrFltPipeMssGthrPipe1_ Global\UsGthrCtrlFltPipeMssGthrPipe1 1 -2147483646 "Software\Microsoft\Windows Search" "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT; MS Search 4.0 Robot)" "C:\ProgramData\Microsoft\Search\Data\Temp\usgthrsvc" "DownLevelDaemon"`, `C:\Windows\system32\`, h.system, h.someDLLs(commonDLLs)...)
	h.exit(h.after(t, 20*time.Second, 3*time.Minute), p)
}

// browse: a user browses the web, starting the browser if need be.
func (h *host) browse(t time.Time) {
	if h.user == nil {
		return
	}
	var b *process
	if len(h.browsers) > 0 && h.r.chance(0.7) {
		b = pick(h.r, h.browsers)
	} else {
		img, cmd := imgChrome, `"C:\Program Files\Google\Chrome\Application\chrome.exe"`
		if h.r.chance(0.4) {
			img, cmd = imgEdge, `"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe" --single-argument https://intranet.corp.example/`
		}
		b = h.spawn(t, h.explorer, img, cmd, strings.TrimSuffix(img.Path, img.name()), h.user, h.someDLLs(commonDLLs, netDLLs)...)
		h.browsers = append(h.browsers, b)
		if h.r.chance(0.6) {
			rt := h.after(t, 100*time.Millisecond, 900*time.Millisecond)
			r := h.spawn(rt, b, b.img, b.img.Path+` --type=renderer --lang=en-US --renderer-client-id=`+fmt.Sprint(h.r.between(5, 40)), b.cwd, h.user)
			h.exit(h.after(rt, 30*time.Second, 20*time.Minute), r)
		}
	}
	for range h.r.between(1, 4) {
		t = h.after(t, 50*time.Millisecond, 8*time.Second)
		s := pick(h.r, sites)
		h.dns(t, b, s.name, s.addrs)
		h.connect(h.after(t, 5*time.Millisecond, 80*time.Millisecond), b, conn{proto: "tcp", initiated: true, localPort: h.ephemeral(), remote: peer{ip: pick(h.r, s.addrs)}, remotePort: 443})
	}
	if h.r.chance(0.5) {
		dir := `C:\Users\` + strings.TrimPrefix(h.user.name, `CORP\`) + `\AppData\Local\Google\Chrome\User Data\Default\Cache\Cache_Data\`
		h.file(h.after(t, 10*time.Millisecond, 2*time.Second), b, fmt.Sprintf("%sf_%06x", dir, h.r.intn(1<<20)))
	}
	if h.r.chance(0.05) && len(h.browsers) > 0 {
		i := h.r.intn(len(h.browsers))
		h.exit(h.after(t, time.Second, time.Minute), h.browsers[i])
		h.browsers = append(h.browsers[:i], h.browsers[i+1:]...)
	}
}

// office: a user opens a document or mail.
func (h *host) office(t time.Time) {
	if h.user == nil {
		return
	}
	u := strings.TrimPrefix(h.user.name, `CORP\`)
	img := pick(h.r, []image{imgWord, imgExcel, imgOutlook})
	cmd := `"` + img.Path + `"`
	var doc string
	switch img {
	case imgWord:
		doc = fmt.Sprintf(`C:\Users\%s\Documents\Report-%s-%d.docx`, u, t.Format("2006-01"), h.r.between(1, 30))
		cmd += ` /n "` + doc + `"`
	case imgExcel:
		doc = fmt.Sprintf(`C:\Users\%s\Documents\Budget-Q%d.xlsx`, u, h.r.between(1, 4))
		cmd += ` "` + doc + `"`
	}
	p := h.spawn(t, h.explorer, img, cmd, `C:\Users\`+u+`\Documents\`, h.user, h.someDLLs(commonDLLs, netDLLs)...)
	h.file(h.after(t, 500*time.Millisecond, 5*time.Second), p, fmt.Sprintf(`C:\Users\%s\AppData\Local\Temp\~WRS{%08X-%04X-%04X-%04X-%012X}.tmp`, u, h.r.intn(1<<31), h.r.intn(1<<16), h.r.intn(1<<16), h.r.intn(1<<16), h.r.intn(1<<40)))
	s := sites[2]
	dt := h.after(t, time.Second, 6*time.Second)
	h.dns(dt, p, s.name, s.addrs)
	h.connect(h.after(dt, 5*time.Millisecond, 60*time.Millisecond), p, conn{proto: "tcp", initiated: true, localPort: h.ephemeral(), remote: peer{ip: pick(h.r, s.addrs)}, remotePort: 443})
	end := h.after(t, time.Minute, 40*time.Minute)
	if doc != "" && h.r.chance(0.4) {
		h.file(h.after(t, 30*time.Second, end.Sub(t)-time.Second), p, doc)
	}
	h.exit(end, p)
}

// shell: someone runs a few commands.
func (h *host) shell(t time.Time) {
	acct := h.admin
	if h.user != nil && h.r.chance(0.6) {
		acct = h.user
	}
	if h.r.chance(0.3) {
		p := h.spawn(t, h.explorer, imgPowershell, `"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"`, `C:\Users\`+strings.TrimPrefix(acct.name, `CORP\`)+`\`, acct, append(h.someDLLs(commonDLLs), psDLLs...)...)
		c := h.spawn(h.after(t, 20*time.Millisecond, 60*time.Millisecond), p, imgConhost, `\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1`, `C:\Windows\system32\`, acct)
		end := h.after(t, 30*time.Second, 15*time.Minute)
		h.exit(end, c)
		h.exit(end.Add(5*time.Millisecond), p)
		return
	}
	cmd := h.spawn(t, h.explorer, imgCmd, `"C:\Windows\system32\cmd.exe"`, `C:\Users\`+strings.TrimPrefix(acct.name, `CORP\`)+`\`, acct, h.someDLLs(commonDLLs)...)
	con := h.spawn(h.after(t, 20*time.Millisecond, 60*time.Millisecond), cmd, imgConhost, `\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1`, `C:\Windows\system32\`, acct)
	at := t
	for range h.r.between(1, 3) {
		at = h.after(at, 2*time.Second, 40*time.Second)
		var p *process
		switch h.r.intn(6) {
		case 5:
			p = h.spawn(at, cmd, imgNet, `net  use`, cmd.cwd, acct, h.someDLLs(netDLLs)...)
		case 0:
			p = h.spawn(at, cmd, imgIpconfig, "ipconfig  /all", cmd.cwd, acct)
		case 1:
			p = h.spawn(at, cmd, imgPing, "ping  -n 4 "+pick(h.r, h.dcs).name, cmd.cwd, acct)
		case 2:
			p = h.spawn(at, cmd, imgWhoami, "whoami", cmd.cwd, acct)
		case 3:
			p = h.spawn(at, cmd, imgGpupdate, "gpupdate  /force", cmd.cwd, acct, h.someDLLs(netDLLs)...)
		default:
			p = h.spawn(at, cmd, imgNotepad, `notepad  C:\Users\Public\notes.txt`, cmd.cwd, acct)
		}
		h.exit(h.after(at, 50*time.Millisecond, 20*time.Second), p)
	}
	end := h.after(at, 5*time.Second, 5*time.Minute)
	h.exit(end, con)
	h.exit(end.Add(3*time.Millisecond), cmd)
}

// dnsClient: the DNS client service resolves a name over UDP.
func (h *host) dnsClient(t time.Time) {
	s := pick(h.r, sites)
	h.dns(t, h.dnscache, s.name, s.addrs)
	h.connect(h.after(t, time.Millisecond, 10*time.Millisecond), h.dnscache, conn{proto: "udp", initiated: true, localPort: h.ephemeral(), remote: pick(h.r, h.dcs), remotePort: 53})
}

// inboundSMB: another machine opens a file share (the kernel's SMB server).
func (h *host) inboundSMB(t time.Time) {
	from := pick(h.r, h.contacts)
	h.connect(t, h.kernel, conn{proto: "tcp", initiated: false, localPort: 445, remote: from, remotePort: h.ephemeral()})
}

// inboundRPC: a domain controller or peer calls RPC on this host: the
// endpoint mapper, then lsass.exe or a service on a dynamic port. These
// are incoming dynamic-port TCP connections the rule must not confuse
// with MMC's.
func (h *host) inboundRPC(t time.Time) {
	from := pick(h.r, h.contacts)
	h.connect(t, h.rpcss, conn{proto: "tcp", initiated: false, localPort: 135, remote: from, remotePort: h.ephemeral()})
	target := h.lsass
	if h.r.chance(0.5) {
		target = h.schedule
	}
	h.connect(h.after(t, 20*time.Millisecond, 400*time.Millisecond), target, conn{proto: "tcp", initiated: false, localPort: h.ephemeral(), remote: from, remotePort: h.ephemeral()})
}

// domainTraffic: lsass.exe talks to a domain controller (Kerberos, LDAP).
func (h *host) domainTraffic(t time.Time) {
	dc := pick(h.r, h.dcs)
	port := pick(h.r, []uint16{88, 389, 389, 445})
	p := h.lsass
	if port == 445 {
		p = h.kernel
	}
	h.connect(t, p, conn{proto: "tcp", initiated: true, localPort: h.ephemeral(), remote: dc, remotePort: port})
}

// adminMMC: an administrator opens Computer Management against a
// server: mmc.exe with outgoing RPC, which the rule must not take for
// lateral movement.
func (h *host) adminMMC(t time.Time) {
	snap := pick(h.r, []string{"compmgmt.msc", "services.msc", "eventvwr.msc", "dsa.msc", "gpmc.msc"})
	m := h.spawn(t, h.explorer, imgMmc, `"C:\Windows\system32\mmc.exe" "C:\Windows\system32\`+snap+`" /s`, `C:\Windows\system32\`, h.admin, append(h.someDLLs(commonDLLs), mmcDLLs...)...)
	target := pick(h.r, h.contacts)
	ct := h.after(t, 2*time.Second, 30*time.Second)
	h.connect(ct, m, conn{proto: "tcp", initiated: true, localPort: h.ephemeral(), remote: target, remotePort: 135})
	h.connect(h.after(ct, 20*time.Millisecond, 300*time.Millisecond), m, conn{proto: "tcp", initiated: true, localPort: h.ephemeral(), remote: target, remotePort: h.ephemeral()})
	h.exit(h.after(t, time.Minute, 30*time.Minute), m)
}

// prefetch: SysMain writes a prefetch file.
func (h *host) prefetch(t time.Time) {
	exe := pick(h.r, []string{"CMD.EXE", "SVCHOST.EXE", "TASKHOSTW.EXE", "CHROME.EXE", "WMIPRVSE.EXE", "MPCMDRUN.EXE", "RUNTIMEBROKER.EXE"})
	h.file(t, h.sysmain, fmt.Sprintf(`C:\Windows\Prefetch\%s-%08X.pf`, exe, h.r.intn(1<<31)))
}

// lateLoad: a long-running service loads a library.
func (h *host) lateLoad(t time.Time) {
	p := pick(h.r, []*process{h.schedule, h.dcom, h.dnscache, h.lsass, h.explorer})
	h.loads(t, p, pick(h.r, append(append([]image{}, commonDLLs...), netDLLs...)))
}

// windowsUpdate: a server checks for updates.
func (h *host) windowsUpdate(t time.Time) {
	s := sites[9]
	h.dns(t, h.schedule, s.name, s.addrs)
	h.connect(h.after(t, 5*time.Millisecond, 50*time.Millisecond), h.schedule, conn{proto: "tcp", initiated: true, localPort: h.ephemeral(), remote: peer{ip: s.addrs[0]}, remotePort: 80})
}
