package winlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/collector/listen/listentest"
	"github.com/weft-dev/weft/event"
)

// fakeChannel stands for a Windows channel: it hands out its events in
// batches, with bookmarks "pos=N", as EvtNext and EvtRender would.
type fakeChannel struct {
	mu        sync.Mutex
	events    []rendered
	opened    []string // the bookmark each subscription started after
	failOpens int      // subscriptions that fail before one succeeds
}

func (f *fakeChannel) open(channel, query, bookmark, startAt string) (reader, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failOpens > 0 {
		f.failOpens--
		return nil, errors.New("EvtSubscribe: the channel is not there")
	}
	f.opened = append(f.opened, bookmark)
	pos := 0
	if bookmark != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(bookmark, "pos="))
		if err != nil {
			return nil, fmt.Errorf("bad bookmark %q", bookmark)
		}
		pos = n
	}
	return &fakeReader{f: f, pos: pos}, nil
}

type fakeReader struct {
	f   *fakeChannel
	pos int
}

func (r *fakeReader) next(ctx context.Context, n int) ([]rendered, string, error) {
	r.f.mu.Lock()
	if r.pos < len(r.f.events) {
		end := min(r.pos+n, len(r.f.events), r.pos+3) // small batches
		batch := r.f.events[r.pos:end]
		r.pos = end
		r.f.mu.Unlock()
		return batch, "pos=" + strconv.Itoa(end), nil
	}
	r.f.mu.Unlock()
	<-ctx.Done() // nothing new: wait like a subscription does
	return nil, "", ctx.Err()
}

func (r *fakeReader) close() error { return nil }

func positiveEvents(t *testing.T) []rendered {
	t.Helper()
	data, err := os.ReadFile("../../testdata/xml/mmc-positive.xml")
	if err != nil {
		t.Fatal(err)
	}
	var out []rendered
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		out = append(out, rendered{xml: line})
	}
	return out
}

type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// run serves the fake channel until n events are stored and the bookmark
// is mark.
func run(t *testing.T, b *bus.Bus, f *fakeChannel, n int, mark string) string {
	t.Helper()
	logs := &logBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, Config{Channels: []string{"ForwardedEvents"}}, b, zerolog.New(logs), f.open, 10*time.Millisecond)
	}()
	marks, err := OpenBookmarks(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		saved, _ := marks.Load(ctx, "ForwardedEvents")
		if len(listentest.Stored(t, b)) >= n && saved == mark {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return logs.String()
}

func TestServeResumesAfterBookmark(t *testing.T) {
	t.Parallel()
	b := listentest.OpenBus(t, bus.Config{})
	events := positiveEvents(t)
	bad := []rendered{
		{xml: `<Event><System><EventID>x</EventID></System></Event>`},
		{err: errors.New("EvtRender: The data area passed to a system call is too small")},
		{xml: `<!DOCTYPE e [<!ENTITY x "y">]><Event><System/></Event>`},
	}
	f := &fakeChannel{events: append(append(append([]rendered{}, events[:4]...), bad...), events[4:]...), failOpens: 2}
	logs := run(t, b, f, 7, "pos=10")

	got := listentest.Stored(t, b)
	if ids := listentest.Records(got); len(ids) != 7 || ids[0] != 48211 || ids[6] != 48217 {
		t.Fatalf("records %v", ids)
	}
	o := got[0].Origin
	if o.Kind != event.SourceXML || o.Listener != "winlog ForwardedEvents" || o.Path != "" || o.Received.IsZero() {
		t.Errorf("origin %+v", o)
	}
	for _, want := range []string{"subscription failed", "EvtSubscribe: the channel is not there", "skipped event", "EventID", "data area passed", "DOCTYPE"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs do not say %q:\n%s", want, logs)
		}
	}
	marks, err := OpenBookmarks(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	if mark, err := marks.Load(context.Background(), "ForwardedEvents"); err != nil || mark != "pos=10" {
		t.Fatalf("bookmark %q, %v; want pos=10", mark, err)
	}

	// A restart subscribes after the bookmark: nothing is read twice, and
	// new events come through.
	f.mu.Lock()
	f.events = append(f.events, rendered{xml: strings.Replace(events[0].xml, "48211", "48218", 1)})
	f.mu.Unlock()
	run(t, b, f, 8, "pos=11")
	if len(f.opened) != 2 || f.opened[0] != "" || f.opened[1] != "pos=10" {
		t.Errorf("subscriptions started after %q", f.opened)
	}
	if ids := listentest.Records(listentest.Stored(t, b)); len(ids) != 8 || ids[7] != 48218 {
		t.Errorf("records %v", ids)
	}
}

// TestServeReplayIsDeduplicated: losing a bookmark (a crash between
// storing a batch and saving its bookmark) reads events again, and the bus
// drops them as duplicates.
func TestServeReplayIsDeduplicated(t *testing.T) {
	t.Parallel()
	b := listentest.OpenBus(t, bus.Config{})
	f := &fakeChannel{events: positiveEvents(t)}
	run(t, b, f, 7, "pos=7")
	marks, err := OpenBookmarks(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	if err := marks.Save(context.Background(), "ForwardedEvents", ""); err != nil {
		t.Fatal(err)
	}
	run(t, b, f, 7, "pos=7")
	if ids := listentest.Records(listentest.Stored(t, b)); len(ids) != 7 {
		t.Errorf("records %v after a replay, want the 7 once", ids)
	}
}

func TestBookmarks(t *testing.T) {
	t.Parallel()
	b := listentest.OpenBus(t, bus.Config{})
	ctx := context.Background()
	marks, err := OpenBookmarks(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	again, err := OpenBookmarks(ctx, b) // the bucket exists now
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range []string{"ForwardedEvents", "Microsoft-Windows-Sysmon/Operational", "Windows PowerShell"} {
		if mark, err := marks.Load(ctx, ch); err != nil || mark != "" {
			t.Errorf("%s: bookmark %q, %v before any", ch, mark, err)
		}
		xml := `<BookmarkList><Bookmark Channel="` + ch + `" RecordId="42" IsCurrent="true"/></BookmarkList>`
		if err := marks.Save(ctx, ch, xml); err != nil {
			t.Fatal(err)
		}
		if mark, err := again.Load(ctx, ch); err != nil || mark != xml {
			t.Errorf("%s: bookmark %q, %v", ch, mark, err)
		}
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cfg  Config
		says string
	}{
		{Config{}, ""},
		{Config{Channels: []string{"Security"}, Query: "*[System[EventID=4624]]", StartAt: StartNow}, ""},
		{Config{Channels: []string{"Security", "security"}}, "listed twice"},
		{Config{Channels: []string{" "}}, "empty channel name"},
		{Config{StartAt: "yesterday"}, `start_at: "yesterday": want oldest or now`},
	} {
		err := tc.cfg.Validate()
		if (tc.says == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.says)) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.says)
		}
	}
	if got := (Config{}).channels(); len(got) != 2 || got[0] != "ForwardedEvents" || got[1] != "Microsoft-Windows-Sysmon/Operational" {
		t.Errorf("default channels %v", got)
	}
	if (Config{}).query() != "*" || !(Config{}).IsZero() || (Config{Query: "*"}).IsZero() {
		t.Error("defaults")
	}
}
