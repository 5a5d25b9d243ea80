package scenario

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/weft-dev/weft/testdata/gen/evtxwrite"
	"github.com/weft-dev/weft/testdata/gen/sysmon"
	"github.com/weft-dev/weft/testdata/gen/winevt"
)

// Config describes a scenario.
type Config struct {
	Seed  uint64
	Hosts int
	// Start and Span bound the logs: events are logged in [Start, Start+Span).
	Start time.Time
	Span  time.Duration
	// Rate is background events per second per host, on average.
	Rate float64
	// Attacks is how many MMC DCOM lateral movements to inject; each
	// raises one alert.
	Attacks int
	// NearMisses are injected once each, in this order; none alerts.
	NearMisses []Kind
	// Domain is the DNS domain of every host; "corp.example" when empty.
	Domain string
	// Channels are the logs to write (AllChannels); none means Sysmon
	// only. Windows' own logs add a domain controller, DC01, which writes
	// only its Security log.
	Channels []string
	// WinScenarios are the attacks and near-misses written to Windows'
	// own logs, once each, in this order; they need the security channel.
	WinScenarios []WinKind

	// Exactly one of File and Dir: File gets every host's events, as a
	// Windows Event Collector's log would (record header ids are the
	// file's, EventRecordIDs each host's own); Dir gets one file per host,
	// named after its short name.
	File string
	Dir  string

	// Observe, when set, sees every record as it is written: the file,
	// the record header id and the event. It is called from several
	// goroutines when Dir is set.
	Observe func(file string, id uint64, ev *sysmon.Event)
}

// defaultStart is when a scenario starts unless told.
func defaultStart() time.Time { return time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC) }

func (c *Config) domain() string {
	if c.Domain == "" {
		return "corp.example"
	}
	return c.Domain
}

// maxInjections keeps injected GUID sequence numbers within 16 bits.
const maxInjections = (0x10000 - injectedSeq) / 4

func (c *Config) check() error {
	switch {
	case c.Hosts < 1 || c.Hosts > 5000:
		return fmt.Errorf("hosts %d: want 1 to 5000", c.Hosts)
	case c.Span <= 0:
		return fmt.Errorf("span %v: want a positive duration", c.Span)
	case c.Rate < 0:
		return fmt.Errorf("rate %v: want events per second per host, at least 0", c.Rate)
	case c.Attacks < 0:
		return fmt.Errorf("attacks %d: want 0 or more", c.Attacks)
	case c.Attacks+len(c.NearMisses) > maxInjections:
		return fmt.Errorf("%d injections: at most %d", c.Attacks+len(c.NearMisses), maxInjections)
	case (c.File == "") == (c.Dir == ""):
		return errors.New("give exactly one of File (all hosts in one file) and Dir (a file per host)")
	}
	for _, k := range c.NearMisses {
		if k == Attack || k.Breaks() == "" {
			return fmt.Errorf("%q is not a near-miss", k)
		}
	}
	for _, ch := range c.Channels {
		if !slices.Contains(AllChannels(), ch) {
			return fmt.Errorf("channel %q: want one of %v", ch, AllChannels())
		}
	}
	if !c.sysmon() && c.Attacks+len(c.NearMisses) > 0 {
		return errors.New("the MMC DCOM attacks and near-misses are Sysmon's: add the sysmon channel")
	}
	if len(c.WinScenarios) > 0 && !slices.Contains(c.Channels, ChannelSecurity) {
		return errors.New("the Windows-log scenarios need the security channel")
	}
	if len(c.WinScenarios) > maxInjections {
		return fmt.Errorf("%d Windows-log scenarios: at most %d", len(c.WinScenarios), maxInjections)
	}
	return nil
}

// sysmon tells whether the Sysmon log is written.
func (c *Config) sysmon() bool {
	return len(c.Channels) == 0 || slices.Contains(c.Channels, ChannelSysmon)
}

// winChannels are the Config channels of Windows' own logs.
func (c *Config) winChannels() []string {
	var out []string
	for _, ch := range c.Channels {
		if ch != ChannelSysmon && !slices.Contains(out, ch) {
			out = append(out, ch)
		}
	}
	return out
}

// Generate writes the scenario's EVTX files and returns its manifest.
// Files are written whole or the error says which failed; a cancelled
// ctx stops it between records.
func Generate(ctx context.Context, cfg Config) (*Manifest, error) {
	if cfg.Start.IsZero() {
		cfg.Start = defaultStart()
	}
	cfg.Start = cfg.Start.UTC()
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	hosts, dcs := makeHosts(&cfg)
	var injections []*injection
	var err error
	if cfg.sysmon() {
		if injections, err = planInjections(&cfg, hosts); err != nil {
			return nil, fmt.Errorf("scenario: %w", err)
		}
	}
	// Windows' own logs: every host's, and a domain controller's.
	all := hosts
	var wins []*winInjection
	if win := cfg.winChannels(); len(win) > 0 {
		dc := newHost(len(hosts), dcs[0].name, dcs[0].ip, true, cfg.Seed, cfg.Start, cfg.Start.Add(cfg.Span))
		all = append(append([]*host{}, hosts...), dc)
		for _, h := range all {
			h.initWin(cfg.Seed, win, h == dc)
		}
		if wins, err = planWin(&cfg, all, dc.index); err != nil {
			return nil, fmt.Errorf("scenario: %w", err)
		}
	}
	build := func(h *host) {
		h.byID = map[uint16]int{}
		if cfg.sysmon() && !h.win.isDC() {
			h.background(cfg.Rate, peersOf(hosts, h), dcs)
			for _, inj := range injections {
				if inj.host == h.index || (inj.kind == OtherHost && inj.other == h.index) {
					h.inject(inj)
				}
			}
			// Records go in the order Sysmon logged the events.
			slices.SortStableFunc(h.events, func(a, b *sysmon.Event) int { return a.Time.Compare(b.Time) })
			for i, ev := range h.events {
				ev.RecordID = h.first + uint64(i)
				h.byID[ev.Data.EventID()]++
			}
			h.count = len(h.events)
		}
		if h.win != nil {
			h.winBackground(cfg.Rate, peersOf(hosts, h), dcs)
			for _, inj := range wins {
				if inj.host == h.index {
					h.winInject(inj)
				}
			}
			h.sortWin()
		}
	}
	m := &Manifest{Seed: cfg.Seed, Start: cfg.Start, End: cfg.Start.Add(cfg.Span), Rate: cfg.Rate, Rule: seedRule()}
	switch {
	case cfg.Dir != "":
		err = generateDir(ctx, &cfg, all, build, m)
	case len(all) > len(hosts) || !cfg.sysmon():
		err = generateMixedFile(ctx, &cfg, all, build, m)
	default:
		err = generateFile(ctx, &cfg, hosts, build, m)
	}
	if err != nil {
		return nil, err
	}
	if err := m.finish(hosts, injections); err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	if len(all) > len(hosts) {
		m.finishWin(&cfg, all, wins)
	}
	return m, nil
}

// peersOf lists the hosts h talks to: the next 32 (all of them, in a
// small domain).
func peersOf(hosts []*host, h *host) []peer {
	var out []peer
	for j := 1; j < len(hosts) && j <= 32; j++ {
		p := hosts[(h.index+j)%len(hosts)]
		out = append(out, peer{name: p.name, ip: p.ip})
	}
	return out
}

func makeHosts(cfg *Config) ([]*host, []peer) {
	dom := cfg.domain()
	dcs := []peer{{name: "DC01." + dom, ip: "10.20.0.5"}, {name: "DC02." + dom, ip: "10.20.0.6"}}
	end := cfg.Start.Add(cfg.Span)
	hosts := make([]*host, cfg.Hosts)
	ws, srv := 0, 0
	for i := range hosts {
		server := i%5 == 4
		var name, ip string
		if server {
			srv++
			role := serverRoles[(srv-1)%len(serverRoles)]
			name = fmt.Sprintf("SRV-%s-%02d.%s", role, (srv-1)/len(serverRoles)+1, dom)
			ip = fmt.Sprintf("10.20.%d.%d", 10+srv/250, 10+srv%250)
		} else {
			ws++
			dept := departments[(ws-1)%len(departments)]
			name = fmt.Sprintf("WKS-%s-%02d.%s", dept, (ws-1)/len(departments)+1, dom)
			ip = fmt.Sprintf("10.20.%d.%d", 30+ws/200, 20+ws%200)
		}
		hosts[i] = newHost(i, name, ip, server, cfg.Seed, cfg.Start, end)
	}
	return hosts, dcs
}

func generateDir(ctx context.Context, cfg *Config, hosts []*host, build func(*host), m *Manifest) error {
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return fmt.Errorf("scenario: %w", err)
	}
	perHost := make([][]FileInfo, len(hosts))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan int)
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(hosts)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			enc, err := sysmon.NewEncoder()
			wenc := winevt.NewEncoder()
			for i := range work {
				if err != nil {
					errs[i] = err
					cancel()
					continue
				}
				h := hosts[i]
				build(h)
				var files []FileInfo
				if !h.win.isDC() && cfg.sysmon() {
					path := filepath.Join(cfg.Dir, h.short+".evtx")
					fi, werr := writeFile(ctx, path, enc, cfg.Observe, [][]*sysmon.Event{h.events})
					if werr != nil {
						errs[i] = werr
						cancel()
					}
					fi.Path = filepath.Base(path)
					files = append(files, fi)
					h.logFile = fi.Path
				}
				if werr := h.writeWin(ctx, cfg.Dir, wenc, &files); werr != nil {
					errs[i] = werr
					cancel()
				}
				perHost[i] = files
				h.events = nil // the manifest needs only the injected events, which it holds
			}
		}()
	}
feed:
	for i := range hosts {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	for _, fs := range perHost {
		m.Files = append(m.Files, fs...)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return ctx.Err()
}

func generateFile(ctx context.Context, cfg *Config, hosts []*host, build func(*host), m *Manifest) error {
	var wg sync.WaitGroup
	work := make(chan *host)
	for range min(runtime.GOMAXPROCS(0), len(hosts)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for h := range work {
				build(h)
			}
		}()
	}
	for _, h := range hosts {
		work <- h
	}
	close(work)
	wg.Wait()
	enc, err := sysmon.NewEncoder()
	if err != nil {
		return err
	}
	streams := make([][]*sysmon.Event, len(hosts))
	for i, h := range hosts {
		streams[i] = h.events
	}
	fi, err := writeFile(ctx, cfg.File, enc, cfg.Observe, streams)
	if err != nil {
		return err
	}
	fi.Path = filepath.Base(cfg.File)
	m.Files = []FileInfo{fi}
	for _, h := range hosts {
		h.logFile = fi.Path
		h.events = nil
	}
	return nil
}

// writeFile writes the streams (each sorted by time) merged in time
// order, ties going to the earlier stream. Record header ids count from
// 1 when the file holds several hosts; a single host's file uses its
// EventRecordIDs, as that host's own log does.
func writeFile(ctx context.Context, path string, enc *sysmon.Encoder, observe func(string, uint64, *sysmon.Event), streams [][]*sysmon.Event) (fi FileInfo, err error) {
	f, err := os.Create(path)
	if err != nil {
		return fi, fmt.Errorf("scenario: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("scenario: %s: %w", path, cerr)
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	w, err := evtxwrite.NewWriter(f)
	if err != nil {
		return fi, fmt.Errorf("scenario: %s: %w", path, err)
	}
	next := make([]int, len(streams))
	var id uint64
	for n := 0; ; n++ {
		best := -1
		for s, evs := range streams {
			if next[s] < len(evs) && (best < 0 || evs[next[s]].Time.Before(streams[best][next[best]].Time)) {
				best = s
			}
		}
		if best < 0 {
			break
		}
		ev := streams[best][next[best]]
		next[best]++
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return fi, err
			}
		}
		if len(streams) == 1 {
			id = ev.RecordID
		} else {
			id++
		}
		in, err := enc.Instance(ev)
		if err != nil {
			return fi, fmt.Errorf("scenario: %s: %w", path, err)
		}
		if err := w.Write(evtxwrite.Record{ID: id, Written: ev.Time, Event: in}); err != nil {
			return fi, fmt.Errorf("scenario: %s: %w", path, err)
		}
		if observe != nil {
			observe(filepath.Base(path), id, ev)
		}
	}
	if err := w.Close(); err != nil {
		return fi, fmt.Errorf("scenario: %s: %w", path, err)
	}
	st := w.Stats()
	return FileInfo{Records: st.Records, Chunks: st.Chunks, Bytes: st.Bytes}, nil
}
