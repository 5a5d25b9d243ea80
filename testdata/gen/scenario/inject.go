package scenario

import (
	"fmt"
	"time"

	"github.com/weft-dev/weft/testdata/gen/sysmon"
)

// Kind is what an injection is: the attack, or a near-miss that is the
// attack with one condition of the rule broken.
type Kind string

// The injections. Each near-miss breaks exactly the condition Breaks names.
const (
	Attack      Kind = "attack"
	LowPort     Kind = "low-port"
	LowPeerPort Kind = "low-peer-port"
	Loopback    Kind = "loopback"
	LoopbackV6  Kind = "loopback-v6"
	Outgoing    Kind = "outgoing"
	UDP         Kind = "udp"
	OtherMMC    Kind = "other-mmc"
	LateChild   Kind = "late-child"
	OtherHost   Kind = "other-host"
	ChildFirst  Kind = "child-first"
)

// NearMisses lists every near-miss kind.
func NearMisses() []Kind {
	return []Kind{LowPort, LowPeerPort, Loopback, LoopbackV6, Outgoing, UDP, OtherMMC, LateChild, OtherHost, ChildFirst}
}

// Breaks names the rule condition a near-miss breaks, and how.
func (k Kind) Breaks() string {
	switch k {
	case LowPort:
		return "source.port >= 49152: mmc.exe's local port is below the dynamic range"
	case LowPeerPort:
		return "destination.port >= 49152: the peer's port is below the dynamic range"
	case Loopback:
		return `source.ip != "127.0.0.1": the connection is over loopback`
	case LoopbackV6:
		return `source.ip != "::1": the connection is over IPv6 loopback (Sysmon writes 0:0:0:0:0:0:0:1)`
	case Outgoing:
		return `network.direction : ("incoming", "ingress"): mmc.exe initiated the connection`
	case UDP:
		return `network.transport == "tcp": the traffic is UDP`
	case OtherMMC:
		return "by process.entity_id / process.parent.entity_id: the child's parent is another mmc.exe"
	case LateChild:
		return "maxspan=1m: the child starts more than a minute after the connection"
	case OtherHost:
		return "sequence by host.id: the child runs on another host"
	case ChildFirst:
		return "sequence order: the child starts before the connection"
	}
	return ""
}

// ParseKind reads an injection kind.
func ParseKind(s string) (Kind, error) {
	for _, k := range append(NearMisses(), Attack) {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown injection %q (want attack or a near-miss: %v)", s, NearMisses())
}

// injectedSeq is where the GUID sequence numbers of injected processes
// start, above any background process's, so the two never collide.
const injectedSeq = 0xc000

// injection is one attack or near-miss, planned before any host is
// generated: its identities are fixed up front because a story may span
// two hosts (other-host).
type injection struct {
	kind       Kind
	host       int       // where mmc.exe runs
	other      int       // other-host: where the child runs
	at         time.Time // the incoming connection
	childAt    time.Time // the child's start: after at, or before it for child-first
	mmcAt      time.Time // DCOM starts mmc.exe
	otherAt    time.Time // other-mmc: the administrator starts another mmc.exe
	peer       peer
	cmd        int
	user       string
	logonID    uint64
	mmc, child process
	otherMMC   process
	localPort  uint16
	peerPort   uint16

	net, childEvent *sysmon.Event // set when generated
}

// attacker's logon on the host it reaches over DCOM: a network logon.
func (h *host) attackerAccount(inj *injection, t time.Time) *account {
	return &account{name: inj.user, logonID: inj.logonID, logonGUID: h.logonGUID(t, inj.logonID), integrity: "High"}
}

// inject plays the host's part of inj. The story: the peer reaches the
// RPC endpoint mapper, DCOM starts mmc.exe -Embedding, the peer's
// connection reaches mmc.exe on a dynamic port, and mmc.exe starts the
// attacker's command, which runs with a console and writes its output.
func (h *host) inject(inj *injection) {
	if inj.kind == OtherHost && h.index == inj.other {
		acct := h.attackerAccount(inj, inj.childAt.Add(-2*time.Second))
		mmc := inj.mmc
		mmc.acct = acct
		h.attackChild(inj, inj.childAt, &mmc, acct)
		return
	}
	childAt, mmcAt := inj.childAt, inj.mmcAt
	acct := h.attackerAccount(inj, mmcAt.Add(-2*time.Second))
	h.connect(mmcAt.Add(-h.r.duration(300*time.Millisecond, 2*time.Second)), h.rpcss,
		conn{proto: "tcp", initiated: false, localPort: 135, remote: inj.peer, remotePort: h.ephemeral()})

	mmc := inj.mmc
	mmc.acct, mmc.parent = acct, h.dcom
	h.created(mmcAt, &mmc)
	h.loads(mmcAt, &mmc, mmcDLLs...)

	c := conn{proto: "tcp", initiated: false, localPort: inj.localPort, remote: inj.peer, remotePort: inj.peerPort}
	switch inj.kind {
	case Loopback:
		c.localIP, c.remote = "127.0.0.1", peer{ip: "127.0.0.1", name: h.name}
	case LoopbackV6:
		c.localIP, c.remote = "0:0:0:0:0:0:0:1", peer{ip: "0:0:0:0:0:0:0:1", name: h.name}
		c.localV6, c.peerV6 = true, true
	case Outgoing:
		c.initiated = true
	case UDP:
		c.proto = "udp"
	}
	inj.net = h.connect(inj.at, &mmc, c)

	parent := &mmc
	if inj.kind == OtherMMC {
		other := inj.otherMMC
		other.acct, other.parent = h.admin, h.explorer
		h.created(inj.otherAt, &other)
		h.loads(inj.otherAt, &other, mmcDLLs...)
		parent = &other
	}
	if inj.kind != OtherHost {
		h.attackChild(inj, childAt, parent, acct)
	}
	h.exit(h.after(maxTime(childAt, inj.at), 30*time.Second, 4*time.Minute), &mmc)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// attackChild starts the attacker's command under parent.
func (h *host) attackChild(inj *injection, t time.Time, parent *process, acct *account) {
	c := attackCommands[inj.cmd]
	child := inj.child
	child.acct, child.parent = acct, parent
	var dlls []image
	if c.img == imgPowershell {
		dlls = psDLLs
	}
	inj.childEvent = h.created(t, &child)
	h.loads(t, &child, dlls...)
	con := h.spawn(h.after(t, 15*time.Millisecond, 60*time.Millisecond), &child, imgConhost, `\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1`, `C:\Windows\system32\`, acct)
	end := h.after(t, time.Second, 20*time.Second)
	if c.out != "" {
		h.file(h.after(t, 100*time.Millisecond, time.Second), &child, c.out)
	}
	h.exit(end, con)
	h.exit(end.Add(4*time.Millisecond), &child)
}

// planInjections fixes every injection's host, time and identities,
// from its own random stream so the background is the same whatever is
// injected.
func planInjections(cfg *Config, hosts []*host) ([]*injection, error) {
	r := newRNG(cfg.Seed, 0)
	var kinds []Kind
	for range cfg.Attacks {
		kinds = append(kinds, Attack)
	}
	kinds = append(kinds, cfg.NearMisses...)
	if len(kinds) == 0 {
		return nil, nil
	}
	// Room before the first for mmc.exe's start and the other-mmc's, and
	// after the last for a late child: 12 minutes before, 3 after.
	lo, hi := cfg.Start.Add(12*time.Minute), cfg.Start.Add(cfg.Span-3*time.Minute)
	if !hi.After(lo) {
		return nil, fmt.Errorf("span %v is too short to inject attacks: it needs more than 15 minutes", cfg.Span)
	}
	var out []*injection
	for i, k := range kinds {
		inj := &injection{kind: k, host: r.intn(len(hosts))}
		h := hosts[inj.host]
		if k == OtherHost {
			if len(hosts) < 2 {
				return nil, fmt.Errorf("near-miss %s needs at least 2 hosts", k)
			}
			inj.other = (inj.host + 1 + r.intn(len(hosts)-1)) % len(hosts)
		}
		inj.at = lo.Add(r.duration(0, hi.Sub(lo))).Truncate(time.Microsecond)
		switch k {
		case LateChild:
			inj.childAt = inj.at.Add(r.duration(61*time.Second, 90*time.Second))
		case ChildFirst:
			inj.childAt = inj.at.Add(-r.duration(3*time.Second, 25*time.Second))
		default:
			inj.childAt = inj.at.Add(r.duration(1500*time.Millisecond, 45*time.Second))
		}
		inj.mmcAt = inj.at.Add(-r.duration(2*time.Second, 5*time.Second))
		if inj.childAt.Before(inj.mmcAt) {
			inj.mmcAt = inj.childAt.Add(-r.duration(2*time.Second, 5*time.Second))
		}
		inj.otherAt = inj.mmcAt.Add(-r.duration(time.Minute, 10*time.Minute))
		if len(hosts) > 1 {
			p := hosts[(inj.host+1+r.intn(len(hosts)-1))%len(hosts)]
			inj.peer = peer{name: p.name, ip: p.ip}
		} else {
			inj.peer = peer{name: "WKS-IT-99." + cfg.domain(), ip: "10.20.30.15"}
		}
		inj.cmd = r.intn(len(attackCommands))
		inj.user = `CORP\adm-` + pick(r, firstNames)
		inj.logonID = uint64(r.between(0x4000000, 0x7ffffff))
		inj.localPort, inj.peerPort = uint16(r.between(49152, 65535)), uint16(r.between(49152, 65535))
		// Below the dynamic range, from the same draw, so that a low-port
		// near-miss is the attack with that one number changed.
		switch k {
		case LowPort:
			inj.localPort = 40000 + (inj.localPort-49152)%9152
		case LowPeerPort:
			inj.peerPort = 40000 + (inj.peerPort-49152)%9152
		}
		seq := uint16(injectedSeq + 4*i)
		inj.mmc = process{guid: h.processGUID(inj.mmcAt, seq), pid: uint32(r.between(300, 12000) * 4), img: imgMmc,
			cmdline: `C:\Windows\system32\mmc.exe -Embedding`, cwd: `C:\Windows\system32\`}
		inj.otherMMC = process{guid: h.processGUID(inj.otherAt, seq+1), pid: uint32(r.between(300, 12000) * 4), img: imgMmc,
			cmdline: `"C:\Windows\system32\mmc.exe" "C:\Windows\system32\compmgmt.msc" /s`, cwd: `C:\Windows\system32\`}
		childHost := h
		if k == OtherHost {
			childHost = hosts[inj.other]
		}
		c := attackCommands[inj.cmd]
		inj.child = process{guid: childHost.processGUID(inj.childAt, seq+2), pid: uint32(r.between(300, 12000) * 4), img: c.img,
			cmdline: `"` + c.img.Path + `" ` + c.args, cwd: `C:\Windows\system32\`}
		out = append(out, inj)
	}
	return out, nil
}
