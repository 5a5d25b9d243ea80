package correlator

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
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
	stage   *Stage
	stop    func()
	abandon func() // stop, whatever Serve returns (its bus is gone)
}

func serve(t *testing.T, b *bus.Bus, opts ...StageOption) *served {
	t.Helper()
	e, err := Compile([]*Rule{seedRule(t)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := NewStage(b, e, testLog(t), opts...)
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
	s.abandon = func() {
		cancel()
		<-done
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

// TestRestartAfterKillWithMessagesInHand is kill -9 and two restarts: a
// process dies holding a message it never acknowledged, which pins the
// consumer's ack floor; the next run handles the first event of an attack
// and stops; the run after it must still know that event when the second
// one comes, although the ack floor never passed it.
func TestRestartAfterKillWithMessagesInHand(t *testing.T) {
	t.Parallel()
	ctx := stageContext(t)
	b := openBus(t)
	opts := []StageOption{WithRebuild(2 * time.Minute), WithAlertDedup("test-alert-ids", time.Hour)}

	// The killed process: the consumer handed it a message (an event of
	// another host), and it died before acknowledging it.
	if err := b.EnsureConsumer(ctx, Consumer()); err != nil {
		t.Fatal(err)
	}
	publishDocs(t, b, sysmonProcess("WS09", t0, 901))
	dead, err := b.JetStream().Consumer(ctx, bus.StreamECS, Consumer().Durable)
	if err != nil {
		t.Fatal(err)
	}
	batch, err := dead.Fetch(1, jetstream.FetchMaxWait(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	held := 0
	for range batch.Messages() {
		held++ // and never acknowledged
	}
	if held != 1 {
		t.Fatalf("the dead process was handed %d messages, want 1", held)
	}

	second := serve(t, b, opts...)
	publishDocs(t, b, sysmonNetwork("WS01", t0.Add(time.Second), 1001))
	waitFor(t, "the first event to be pending", func() bool { return second.pending() == 1 })
	second.stop()

	third := serve(t, b, opts...)
	waitFor(t, "the replay to rebuild the partial", func() bool { return third.pending() == 1 })
	publishDocs(t, b, sysmonProcess("WS01", t0.Add(5*time.Second), 1002))
	waitFor(t, "the alert", func() bool { return storedAlerts(t, b) == 1 })
	third.stop()
	// Nothing is left for JetStream to deliver again after AckWait: the
	// dead process's message was handled by the replay.
	info, err := dead.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.NumAckPending != 0 || info.NumRedelivered != 0 {
		t.Errorf("after the restarts: %d messages pending acknowledgement, %d redelivered", info.NumAckPending, info.NumRedelivered)
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

// testLog is the stages' log: with -v, on the test's output.
func testLog(t *testing.T) zerolog.Logger {
	if !testing.Verbose() {
		return zerolog.Nop()
	}
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel).With().Timestamp().Logger()
}

// TestOversizedAlert: an alert too big for a NATS message (its two events
// hold 5 MiB each) is dead-lettered and counted, and the stage goes on to
// raise the next host's alert.
func TestOversizedAlert(t *testing.T) {
	t.Parallel()
	b := openBus(t)
	s := serve(t, b)
	defer s.stop()
	pad := strings.Repeat("x", 5<<20)
	network, process := sysmonNetwork("WS01", t0, 1001), sysmonProcess("WS01", t0.Add(5*time.Second), 1002)
	network["padding"], process["padding"] = pad, pad
	publishDocs(t, b, network, process)
	waitFor(t, "the oversized alert to be refused", func() bool { return b.Rejected() == 1 })
	publishDocs(t, b, sysmonNetwork("WS02", t0, 2001), sysmonProcess("WS02", t0.Add(5*time.Second), 2002))
	waitFor(t, "the next host's alert", func() bool { return storedAlerts(t, b) == 1 })
	items, err := b.RejectedItems(stageContext(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].Subject != bus.Subject(bus.SubjectAlerts, seedRule(t).ID) || !strings.Contains(items[0].Source, "host WS01") {
		t.Errorf("rejected items %+v", items)
	}
}
