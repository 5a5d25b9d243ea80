package scenario

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/weft-dev/weft/testdata/gen/evtxwrite"
	"github.com/weft-dev/weft/testdata/gen/sysmon"
	"github.com/weft-dev/weft/testdata/gen/winevt"
)

func (w *winState) isDC() bool { return w != nil && w.dc }

// sortedLogs are the host's Windows logs in winevt.Channels order.
func (w *winState) sortedLogs() []*winlog {
	var out []*winlog
	for _, ch := range winevt.Channels() {
		if lg := w.logs[ch]; lg != nil {
			out = append(out, lg)
		}
	}
	return out
}

// sortWin puts each Windows log in the order its events were logged and
// numbers them.
func (h *host) sortWin() {
	for _, lg := range h.win.sortedLogs() {
		slices.SortStableFunc(lg.events, func(a, b *winevt.Event) int { return a.Time.Compare(b.Time) })
		for i, ev := range lg.events {
			ev.RecordID = lg.first + uint64(i)
			h.win.byID[ev.Layout.ID]++
		}
		lg.count = len(lg.events)
		h.win.count += lg.count
	}
}

// logRec is a record of either kind, for the writers that mix them.
type logRec struct {
	sys *sysmon.Event
	win *winevt.Event
}

func (r logRec) when() (t int64) {
	if r.sys != nil {
		return r.sys.Time.UnixNano()
	}
	return r.win.Time.UnixNano()
}

func (r logRec) recordID() uint64 {
	if r.sys != nil {
		return r.sys.RecordID
	}
	return r.win.RecordID
}

// writeWin writes each of the host's Windows logs to its own file in dir,
// HOST-Security.evtx and so on, as the host's own logs are kept.
func (h *host) writeWin(ctx context.Context, dir string, enc *winevt.Encoder, files *[]FileInfo) error {
	if h.win == nil {
		return nil
	}
	for _, lg := range h.win.sortedLogs() {
		path := filepath.Join(dir, h.short+"-"+fileSuffix(lg.channel)+".evtx")
		recs := make([]logRec, len(lg.events))
		for i, ev := range lg.events {
			recs[i] = logRec{win: ev}
		}
		fi, err := writeMixed(ctx, path, nil, enc, [][]logRec{recs})
		if err != nil {
			return err
		}
		fi.Path = filepath.Base(path)
		lg.file = fi.Path
		*files = append(*files, fi)
		lg.events = nil // the manifest needs only the injected events, which it holds
	}
	return nil
}

// generateMixedFile writes every host's logs, of every channel, to one
// file, as a Windows Event Collector's ForwardedEvents log holds them.
func generateMixedFile(ctx context.Context, cfg *Config, hosts []*host, build func(*host), m *Manifest) error {
	for _, h := range hosts {
		if err := ctx.Err(); err != nil {
			return err
		}
		build(h)
	}
	senc, err := sysmon.NewEncoder()
	if err != nil {
		return err
	}
	var streams [][]logRec
	for _, h := range hosts {
		if len(h.events) > 0 {
			recs := make([]logRec, len(h.events))
			for i, ev := range h.events {
				recs[i] = logRec{sys: ev}
			}
			streams = append(streams, recs)
		}
		if h.win == nil {
			continue
		}
		for _, lg := range h.win.sortedLogs() {
			recs := make([]logRec, len(lg.events))
			for i, ev := range lg.events {
				recs[i] = logRec{win: ev}
			}
			streams = append(streams, recs)
		}
	}
	fi, err := writeMixed(ctx, cfg.File, senc, winevt.NewEncoder(), streams)
	if err != nil {
		return err
	}
	fi.Path = filepath.Base(cfg.File)
	m.Files = []FileInfo{fi}
	for _, h := range hosts {
		h.logFile, h.events = fi.Path, nil
		if h.win != nil {
			for _, lg := range h.win.logs {
				lg.file, lg.events = fi.Path, nil
			}
		}
	}
	return nil
}

// writeMixed is writeFile for streams of either kind: merged in time
// order, ties to the earlier stream; one stream keeps its EventRecordIDs
// as header ids, several count from 1.
func writeMixed(ctx context.Context, path string, senc *sysmon.Encoder, wenc *winevt.Encoder, streams [][]logRec) (fi FileInfo, err error) {
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
		for s, recs := range streams {
			if next[s] < len(recs) && (best < 0 || recs[next[s]].when() < streams[best][next[best]].when()) {
				best = s
			}
		}
		if best < 0 {
			break
		}
		rec := streams[best][next[best]]
		next[best]++
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return fi, err
			}
		}
		if len(streams) == 1 {
			id = rec.recordID()
		} else {
			id++
		}
		var in *evtxwrite.Instance
		when := rec.when()
		if rec.sys != nil {
			in, err = senc.Instance(rec.sys)
		} else {
			in, err = wenc.Instance(rec.win)
		}
		if err != nil {
			return fi, fmt.Errorf("scenario: %s: %w", path, err)
		}
		if err := w.Write(evtxwrite.Record{ID: id, Written: time.Unix(0, when).UTC(), Event: in}); err != nil {
			return fi, fmt.Errorf("scenario: %s: %w", path, err)
		}
	}
	if err := w.Close(); err != nil {
		return fi, fmt.Errorf("scenario: %s: %w", path, err)
	}
	st := w.Stats()
	return FileInfo{Records: st.Records, Chunks: st.Chunks, Bytes: st.Bytes}, nil
}

// finishWin adds Windows' own logs and stories to the manifest.
func (m *Manifest) finishWin(cfg *Config, hosts []*host, wins []*winInjection) {
	m.Channels = cfg.Channels
	if m.EventsByID == nil {
		m.EventsByID = map[string]int{}
	}
	for _, h := range hosts {
		if h.win == nil {
			continue
		}
		for _, lg := range h.win.sortedLogs() {
			li := LogInfo{Host: h.name, Channel: lg.channel, File: lg.file, Events: lg.count}
			if lg.count > 0 {
				li.FirstRecordID, li.LastRecordID = lg.first, lg.first+uint64(lg.count)-1
			}
			m.Logs = append(m.Logs, li)
		}
		for id, n := range h.win.byID {
			m.EventsByID[strconv.Itoa(int(id))] += n
		}
		m.Events += h.win.count
	}
	written := map[string]bool{}
	for _, name := range cfg.Channels {
		for _, ch := range logsOf(name) {
			written[ch] = true
		}
	}
	m.Scenarios = []Scenario{}
	for _, inj := range wins {
		sc := Scenario{Kind: inj.kind, Breaks: inj.kind.Breaks(), Host: hosts[inj.host].name, Time: inj.at, Alerts: []Rule{}}
		for _, e := range inj.expect {
			if written[e.channel] {
				sc.Alerts = append(sc.Alerts, e.rule)
			}
		}
		for _, ev := range inj.events {
			sc.Events = append(sc.Events, EventRef{Channel: ev.Layout.Channel, EventID: ev.Layout.ID, RecordID: ev.RecordID})
		}
		m.Scenarios = append(m.Scenarios, sc)
	}
	slices.SortStableFunc(m.Scenarios, func(a, b Scenario) int { return a.Time.Compare(b.Time) })
}
