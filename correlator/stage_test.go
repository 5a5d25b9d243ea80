package correlator

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/event"
)

func openBus(t *testing.T) *bus.Bus {
	t.Helper()
	b, err := bus.Open(stageContext(t), bus.Config{DataDir: t.TempDir()}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func stageContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// publishDocs puts documents on the ECS stream as the normalizer does: on
// weft.ecs.<computer>, one message per document here.
func publishDocs(t *testing.T, b *bus.Bus, docs ...event.Document) {
	t.Helper()
	for _, d := range docs {
		data, err := bus.Encode(event.DocumentBatch{d})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Publish(stageContext(t), bus.Subject(bus.SubjectECS, d.String("winlog.computer_name")), data, d.Identity()); err != nil {
			t.Fatal(err)
		}
	}
}

func storedAlerts(t *testing.T, b *bus.Bus) uint64 {
	t.Helper()
	st, err := b.JetStream().Stream(stageContext(t), bus.StreamAlerts)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(stageContext(t))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// served is a stage running in the background, as a correlator process.
type served struct {
	stage *Stage
	stop  func()
}

func serve(t *testing.T, b *bus.Bus, opts ...StageOption) *served {
	t.Helper()
	e, err := Compile([]*Rule{seedRule(t)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := NewStage(b, e, zerolog.Nop(), opts...)
	ctx, cancel := context.WithCancel(stageContext(t))
	done := make(chan error, 1)
	go func() { done <- st.Serve(ctx, 5*time.Millisecond) }()
	s := &served{stage: st}
	s.stop = func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Serve: %v", err)
		}
	}
	t.Cleanup(func() { cancel() })
	return s
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (s *served) pending() int {
	st, _ := s.stage.Stats()
	return st.Pending
}

// TestRestartRebuildsState: a correlator that stops between the two
// events of an attack still raises the alert after its restart, and a
// later restart that replays both events does not send it again.
func TestRestartRebuildsState(t *testing.T) {
	t.Parallel()
	b := openBus(t)
	window := 2 * time.Minute
	opts := []StageOption{WithRebuild(window), WithAlertDedup("test-alert-ids", time.Hour)}

	first := serve(t, b, opts...)
	publishDocs(t, b, sysmonNetwork("WS01", t0, 1001))
	waitFor(t, "the first event to be pending", func() bool { return first.pending() == 1 })
	first.stop() // the process dies with the partial sequence in memory

	second := serve(t, b, opts...)
	waitFor(t, "the replay to rebuild the partial", func() bool { return second.pending() == 1 })
	if st := second.stage.StageStats(); st.Replayed != 1 {
		t.Errorf("replayed %d messages, want 1", st.Replayed)
	}
	publishDocs(t, b, sysmonProcess("WS01", t0.Add(5*time.Second), 1002))
	waitFor(t, "the alert", func() bool { return storedAlerts(t, b) == 1 })
	second.stop()

	third := serve(t, b, opts...)
	waitFor(t, "the replay of both events", func() bool { return third.stage.StageStats().Deduplicated == 1 })
	third.stop()
	if st := third.stage.StageStats(); st.Replayed != 2 || st.Published != 0 {
		t.Errorf("third run: %+v", st)
	}
	if n := storedAlerts(t, b); n != 1 {
		t.Errorf("%d alerts stored, want 1", n)
	}
}

// TestRestartWithoutRebuild is the control: without a rebuild the attack
// spanning the restart goes unseen.
func TestRestartWithoutRebuild(t *testing.T) {
	t.Parallel()
	b := openBus(t)
	first := serve(t, b)
	publishDocs(t, b, sysmonNetwork("WS01", t0, 1001))
	waitFor(t, "the first event to be pending", func() bool { return first.pending() == 1 })
	first.stop()
	second := serve(t, b)
	publishDocs(t, b, sysmonProcess("WS01", t0.Add(5*time.Second), 1002))
	waitFor(t, "the second event", func() bool {
		st, _ := second.stage.Stats()
		return st.Evaluated == 1
	})
	second.stop()
	if n := storedAlerts(t, b); n != 0 {
		t.Errorf("%d alerts without the first event", n)
	}
}

// TestShares: two correlators each take a share of the hosts; every attack
// is seen once, by the owner of its host.
func TestShares(t *testing.T) {
	t.Parallel()
	b := openBus(t)
	shares := []Share{{0, 2}, {1, 2}}
	var hosts []string
	owned := map[int]int{}
	for i := 0; len(hosts) < 8; i++ {
		h := fmt.Sprintf("WS%02d", i)
		for j, s := range shares {
			if s.Owns(bus.Subject(bus.SubjectECS, h+".corp.local")) {
				owned[j]++
			}
		}
		hosts = append(hosts, h)
	}
	if owned[0] == 0 || owned[1] == 0 || owned[0]+owned[1] != len(hosts) {
		t.Fatalf("hosts per share %v", owned)
	}
	var stages []*served
	for _, s := range shares {
		stages = append(stages, serve(t, b, WithShare(s)))
	}
	for i, h := range hosts {
		publishDocs(t, b, sysmonNetwork(h, t0, 10*i+1), sysmonProcess(h, t0.Add(time.Second), 10*i+2))
	}
	waitFor(t, "one alert per host", func() bool { return storedAlerts(t, b) == uint64(len(hosts)) })
	for j, s := range stages {
		s.stop()
		st, _ := s.stage.Stats()
		ss := s.stage.StageStats()
		if st.Received != uint64(2*owned[j]) || ss.Foreign != uint64(2*(len(hosts)-owned[j])) || st.Alerts != uint64(owned[j]) {
			t.Errorf("share %v: engine %+v, stage %+v", shares[j], st, ss)
		}
	}
}

func TestShareParsing(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in      string
		want    Share
		durable string
		ok      bool
	}{
		{"", Share{}, "correlator", true},
		{"0/1", Share{0, 1}, "correlator", true},
		{"2/4", Share{2, 4}, "correlator-2-of-4", true},
		{"4/4", Share{}, "", false},
		{"-1/4", Share{}, "", false},
		{"1", Share{}, "", false},
		{"a/b", Share{}, "", false},
	} {
		got, err := ParseShare(tt.in)
		if (err == nil) != tt.ok || got != tt.want || (tt.ok && got.Consumer().Durable != tt.durable) {
			t.Errorf("ParseShare(%q) = %+v, %v", tt.in, got, err)
		}
	}
	// Every host has exactly one owner, whatever the count.
	for n := 1; n <= 5; n++ {
		for i := 0; i < 50; i++ {
			subject := bus.Subject(bus.SubjectECS, fmt.Sprintf("host-%d.example", i))
			owners := 0
			for k := 0; k < n; k++ {
				if (Share{k, n}).Owns(subject) {
					owners++
				}
			}
			if owners != 1 {
				t.Fatalf("%s has %d owners of %d shares", subject, owners, n)
			}
		}
	}
}
