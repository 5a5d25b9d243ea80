package bus

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TestStreamPartitions: the raw and the ECS stream file a host's messages
// under the partition PartitionOf names, the same in both, and a
// partition's filter holds exactly its hosts.
func TestStreamPartitions(t *testing.T) {
	t.Parallel()
	b := openTest(t, Config{DataDir: t.TempDir(), Partitions: 5})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, tc := range []struct{ stream, prefix string }{{StreamRaw, SubjectRaw}, {StreamECS, SubjectECS}} {
		s, err := b.JetStream().Stream(ctx, tc.stream)
		if err != nil {
			t.Fatal(err)
		}
		perPartition := map[int][]string{}
		for i := range 20 {
			host := fmt.Sprintf("WKS-%02d.Corp.Example", i)
			if err := b.Publish(ctx, Subject(tc.prefix, host), []byte{0x90}, ""); err != nil {
				t.Fatal(err)
			}
			msg, err := s.GetMsg(ctx, uint64(i+1))
			if err != nil {
				t.Fatal(err)
			}
			p := PartitionOf(host, 5)
			token := strings.TrimPrefix(Subject(tc.prefix, host), tc.prefix+".")
			if want := tc.prefix + "." + strconv.Itoa(p) + "." + token; msg.Subject != want {
				t.Errorf("%s: %s stored as %s, want %s", tc.stream, host, msg.Subject, want)
			}
			perPartition[p] = append(perPartition[p], token)
		}
		if len(perPartition) < 3 {
			t.Errorf("20 hosts in %d of 5 partitions", len(perPartition))
		}
		for p, hosts := range perPartition {
			info, err := s.Info(ctx, jetstream.WithSubjectFilter(PartitionSubject(tc.prefix, p)))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for subject := range info.State.Subjects {
				got = append(got, subject[strings.LastIndexByte(subject, '.')+1:])
			}
			slices.Sort(got)
			slices.Sort(hosts)
			if !slices.Equal(got, hosts) {
				t.Errorf("%s partition %d holds %v, want %v", tc.stream, p, got, hosts)
			}
		}
	}
}

// TestResetConsumer: a consumer reset after its ack floor delivers at once,
// in order, what it had delivered and not had acknowledged, and what
// followed; nothing before the floor.
func TestResetConsumer(t *testing.T) {
	t.Parallel()
	b := openTest(t, Config{DataDir: t.TempDir()})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := Consumer{Stream: StreamAlerts, Durable: "reset", AckWait: time.Hour}
	if err := b.EnsureConsumer(ctx, c); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		if err := b.Publish(ctx, Subject(SubjectAlerts, "r"), []byte{byte(i)}, ""); err != nil {
			t.Fatal(err)
		}
	}
	// A reader that dies after acknowledging two messages and taking two
	// more: without the reset they would wait an hour (AckWait).
	cons, err := b.JetStream().Consumer(ctx, StreamAlerts, c.Durable)
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(4)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for msg := range batch.Messages() {
		if n < 2 {
			if err := msg.DoubleAck(ctx); err != nil {
				t.Fatal(err)
			}
		}
		n++
	}
	floor, err := b.AckFloorOf(ctx, c)
	if err != nil || floor.Seq != 2 {
		t.Fatalf("ack floor %+v, %v", floor, err)
	}
	reset, err := b.ResetConsumer(ctx, c, floor.Seq)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	got := make(chan byte, 10)
	go func() {
		_ = b.Consume(runCtx, reset, func(_ context.Context, data []byte, _ string) error {
			got <- data[0]
			return nil
		}, func(err error) { t.Error(err) })
	}()
	var seen []byte
	for len(seen) < 4 {
		select {
		case v := <-got:
			seen = append(seen, v)
		case <-ctx.Done():
			t.Fatalf("got %v after the reset, want [2 3 4 5]", seen)
		}
	}
	if !slices.Equal(seen, []byte{2, 3, 4, 5}) {
		t.Errorf("got %v after the reset, want [2 3 4 5]", seen)
	}
	if err := b.WaitIdle(ctx, reset); err != nil {
		t.Fatal(err)
	}
	// The floor moved on with the reset consumer: the next takeover
	// resumes after it.
	if floor, err = b.AckFloorOf(ctx, reset); err != nil || floor.Seq != 6 {
		t.Errorf("ack floor after the reset %+v, %v", floor, err)
	}
}
