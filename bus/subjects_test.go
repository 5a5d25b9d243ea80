package bus

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/event"
)

// TestToken: plain names keep the tokens weft always made (so hosts keep
// their partitions); long, non-ASCII and "~" names get a bounded hashed
// token, the same for the same name in any case.
func TestToken(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("H", 4100)
	hashed := func(readable, key string) func(string) error {
		return func(got string) error {
			if !strings.HasPrefix(got, readable+"~") || len(got) != len(readable)+1+32 {
				return fmt.Errorf("want %q~<32 hex digits>", readable)
			}
			if Token(strings.ToUpper(key)) != got && strings.ToUpper(key) != key {
				return errors.New("not the token of the same name in upper case")
			}
			return nil
		}
	}
	is := func(want string) func(string) error {
		return func(got string) error {
			if got != want {
				return fmt.Errorf("want %q", want)
			}
			return nil
		}
	}
	for _, tc := range []struct {
		name, key string
		check     func(string) error
	}{
		{"fqdn", "WKS-FIN-07.corp.example", is("wks-fin-07_corp_example")},
		{"empty", "", is("_")},
		{"nats syntax", "a*b>c d", is("a_b_c_d")},
		{"controls", "a\tb\r\nc\x00d\x7f", is("a_b__c_d_")},
		{"netbios punctuation", "DC$01#!", is("dc$01#!")},
		{"at the limit", strings.Repeat("a", MaxTokenLen), is(strings.Repeat("a", MaxTokenLen))},
		{"over the limit", strings.Repeat("a", MaxTokenLen+1), hashed(strings.Repeat("a", 32), strings.Repeat("a", MaxTokenLen+1))},
		{"4100 Hs", long, hashed(strings.Repeat("h", 32), long)},
		{"non-ASCII", "WKS-Ünïcode", hashed("wks-_n_code", "WKS-Ünïcode")},
		{"invalid UTF-8", "wks\xff\xfe", hashed("wks__", "wks\xff\xfe")},
		{"tilde", "a~b", hashed("a_b", "a~b")},
		{"dots in a long name", strings.Repeat("x.", 200), hashed(strings.Repeat("x_", 16), strings.Repeat("x.", 200))},
	} {
		got := Token(tc.key)
		if err := tc.check(got); err != nil {
			t.Errorf("%s: Token = %q: %v", tc.name, got, err)
		}
		if err := ValidSubject(Subject(SubjectRaw, tc.key)); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if Token(long) == Token(long+"H") {
		t.Error("two long names share a hashed token")
	}
}

func TestValidSubject(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		subject string
		ok      bool
	}{
		{"weft.raw.wks", true},
		{"weft.raw.a*b", true},
		{"", false},
		{"weft..raw", false},
		{"weft.raw.", false},
		{".weft", false},
		{"weft.*", false},
		{"weft.>", false},
		{"weft.raw.a b", false},
		{"weft.raw.a\nb", false},
		{"weft.raw." + strings.Repeat("h", MaxSubjectLen), false},
	} {
		if err := ValidSubject(tc.subject); (err == nil) != tc.ok {
			t.Errorf("ValidSubject(%.40q) = %v, want ok=%v", tc.subject, err, tc.ok)
		}
	}
}

// FuzzToken: whatever the key, its subject is one NATS accepts and reads
// back as three tokens, the token is bounded, and its partition is the
// FNV-1a of the token the server sees.
func FuzzToken(f *testing.F) {
	for _, s := range []string{"", "WKS-01.corp", "a*b>c d", strings.Repeat("H", 4100), "Ünï", "\xff", "~", "a.b.c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		tok := Token(key)
		if len(tok) == 0 || len(tok) > MaxTokenLen {
			t.Fatalf("Token(%q) = %q: %d bytes", key, tok, len(tok))
		}
		if strings.ContainsAny(tok, ".*> \t\r\n") {
			t.Fatalf("Token(%q) = %q holds NATS syntax", key, tok)
		}
		for i := range len(tok) {
			if c := tok[i]; c <= ' ' || c >= 0x7f {
				t.Fatalf("Token(%q) = %q holds byte %#x", key, tok, c)
			}
		}
		if Token(key) != tok {
			t.Fatal("Token is not deterministic")
		}
		subject := Subject(SubjectRaw, key)
		if subject != SubjectRaw+"."+tok {
			t.Fatalf("Subject(%q) = %q, not the prefix and Token %q", key, subject, tok)
		}
		if err := ValidSubject(subject); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(subject, "."); n != 2 {
			t.Fatalf("subject %q has %d dots", subject, n)
		}
		h := fnv.New32a()
		h.Write([]byte(tok))
		if PartitionOf(key, 7) != int(h.Sum32()%7) {
			t.Fatalf("PartitionOf(%q) is not the hash of its token", key)
		}
	})
}

// TestHostileHostKeepsTheBus: an event whose host name is 4,100
// characters long used to close the connection ("maximum control line
// exceeded") and stop every publisher and consumer. Its subject is now
// bounded: it lands in the partition PartitionOf says, and the bus goes
// on.
func TestHostileHostKeepsTheBus(t *testing.T) {
	t.Parallel()
	b := openTest(t, Config{DataDir: t.TempDir(), Partitions: 5})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := b.JetStream().Stream(ctx, StreamRaw)
	if err != nil {
		t.Fatal(err)
	}
	hosts := []string{strings.Repeat("H", 4100), "WKS-Ünïcode.corp", strings.Repeat("é", 3000), "ordinary.corp"}
	for i, host := range hosts {
		if err := b.Publish(ctx, Subject(SubjectRaw, host), []byte{0x90}, fmt.Sprint("id-", i)); err != nil {
			t.Fatalf("host %d: %v", i, err)
		}
		msg, err := s.GetMsg(ctx, uint64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("%s.%d.%s", SubjectRaw, PartitionOf(host, 5), Token(host)); msg.Subject != want {
			t.Errorf("host %d stored as %s, want %s", i, msg.Subject, want)
		}
	}
	if !b.Connected() {
		t.Fatal("the connection closed")
	}
}

// TestPublishRefusedSubject: a subject NATS would choke on is refused
// before it is sent, as a RejectedError, and the connection stays up.
func TestPublishRefusedSubject(t *testing.T) {
	t.Parallel()
	b := openTest(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, subject := range []string{SubjectRaw + "." + strings.Repeat("h", 4100), SubjectRaw + ".a b", SubjectRaw + ".*"} {
		err := b.Publish(ctx, subject, []byte{0x90}, "")
		if !IsRejected(err) {
			t.Errorf("Publish(%.30q) = %v, want a RejectedError", subject, err)
		}
		if err != nil && len(err.Error()) > 400 {
			t.Errorf("error of %d bytes", len(err.Error()))
		}
	}
	if err := b.Publish(ctx, Subject(SubjectRaw, "after"), []byte{0x90}, strings.Repeat("i", 4000)); err != nil {
		t.Fatalf("publish after refusals, with a long id: %v", err)
	}
}

// TestPublishItemsDeadLettersWhatNATSRefuses: one item too big for a
// message is dead-lettered with its source, counted and logged; the items
// before and after it in the batch are published.
func TestPublishItemsDeadLettersWhatNATSRefuses(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	logged := &syncBuffer{}
	b, err := Open(ctx, Config{}, zerolog.New(logged))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	reg := prometheus.NewRegistry()
	if _, err := NewMetrics(reg, b, nil); err != nil {
		t.Fatal(err)
	}
	huge := strings.Repeat("x", int(b.Conn().MaxPayload())+1)
	items := []string{"a", "b", "c", huge, "e", "f", "g"}
	ids := []string{"id-a", "id-b", "id-c", "id-huge", "id-e", "id-f", "id-g"}
	source := func(i int) string { return "file big.xml offset " + fmt.Sprint(i*100) }
	c := Consumer{Stream: StreamRaw, Durable: "reject-test"}
	if err := b.EnsureConsumer(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := PublishItems(ctx, b, Subject(SubjectRaw, "host"), "raw", items, ids, source); err != nil {
		t.Fatalf("PublishItems: %v", err)
	}
	s, err := b.JetStream().Stream(ctx, StreamRaw)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for seq := uint64(1); ; seq++ {
		msg, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var batch []string
		if err := Decode(msg.Data, &batch); err != nil {
			t.Fatal(err)
		}
		got = append(got, batch...)
	}
	if want := []string{"a", "b", "c", "e", "f", "g"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("published %v, want %v", got, want)
	}
	if n := b.Rejected(); n != 1 {
		t.Errorf("Rejected() = %d, want 1", n)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counted := -1.0
	for _, f := range families {
		if f.GetName() == "weft_bus_rejected_total" {
			counted = f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	if counted != 1 {
		t.Errorf("weft_bus_rejected_total = %v, want 1", counted)
	}
	rej, err := b.RejectedItems(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(rej) != 1 {
		t.Fatalf("%d rejected items, want 1", len(rej))
	}
	r := rej[0]
	if r.Source != "file big.xml offset 300" || r.Key != "id-huge" || r.Size < len(huge) || len(r.Data) > rejectedKeep ||
		r.Subject != "weft.raw.host" || !strings.Contains(r.Error, "maximum payload") {
		t.Errorf("rejected item: source %q key %q size %d kept %d subject %q error %q", r.Source, r.Key, r.Size, len(r.Data), r.Subject, r.Error)
	}
	// The sinks' letters are apart from it.
	if letters, err := b.DeadLetters(ctx, "", 0); err != nil || len(letters) != 0 {
		t.Errorf("DeadLetters = %d letters, %v; want none", len(letters), err)
	}
	if !strings.Contains(logged.String(), "big.xml offset 300") {
		t.Errorf("no log line names the source: %s", logged.String())
	}
	if !b.Connected() {
		t.Error("the connection closed")
	}
}

// syncBuffer is a log destination that tests read while the bus writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// TestBatcherRefusedRawEvent: a Batcher of raw events (the listeners')
// dead-letters an event too big for a message with its listener and
// peer, and publishes the others of its batch.
func TestBatcherRefusedRawEvent(t *testing.T) {
	t.Parallel()
	b := openTest(t, Config{DataDir: t.TempDir()})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	origin := event.Origin{Kind: "tcp", Listener: "127.0.0.1:5140", Peer: "192.0.2.7:50000"}
	out := NewBatcher[*event.Raw](b, "raw")
	for i, size := range []int{10, int(b.Conn().MaxPayload()), 10} {
		r := &event.Raw{Computer: "wks-01", Channel: "Security", RecordID: uint64(i + 1), XML: strings.Repeat("x", size), Origin: origin}
		if err := out.Add(ctx, Subject(SubjectRaw, r.Computer), r, r.Identity()); err != nil {
			t.Fatal(err)
		}
	}
	if err := out.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	s, err := b.JetStream().Stream(ctx, StreamRaw)
	if err != nil {
		t.Fatal(err)
	}
	var records []uint64
	for seq := uint64(1); ; seq++ {
		msg, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var batch []*event.Raw
		if err := Decode(msg.Data, &batch); err != nil {
			t.Fatal(err)
		}
		for _, r := range batch {
			records = append(records, r.RecordID)
		}
	}
	if fmt.Sprint(records) != "[1 3]" {
		t.Errorf("published records %v, want [1 3]", records)
	}
	items, err := b.RejectedItems(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].Source != "tcp listener 127.0.0.1:5140 peer 192.0.2.7:50000" {
		t.Errorf("rejected items %+v", items)
	}
}

// TestDeadLetterLongNames: a dead letter whose consumer and key are
// thousands of characters long is stored under bounded subject and
// headers, and listed by its consumer.
func TestDeadLetterLongNames(t *testing.T) {
	t.Parallel()
	b := openTest(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.EnsureDeadLetters(ctx); err != nil {
		t.Fatal(err)
	}
	consumer, key := strings.Repeat("sink ", 2000), strings.Repeat("k", 9000)
	for range 2 { // the second is the same letter: dropped as a duplicate
		if err := b.PutDeadLetter(ctx, DeadLetter{Consumer: consumer, Key: key, Origin: 7, Data: []byte{0x90}, Error: strings.Repeat("e\n", 5000)}); err != nil {
			t.Fatal(err)
		}
	}
	letters, err := b.DeadLetters(ctx, consumer, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(letters) != 1 {
		t.Fatalf("%d letters, want 1", len(letters))
	}
	if len(letters[0].Key) > 256 || len(letters[0].Error) > maxErrorLen || strings.Contains(letters[0].Error, "\n") {
		t.Errorf("key %d bytes, error %d bytes", len(letters[0].Key), len(letters[0].Error))
	}
	if !b.Connected() {
		t.Error("the connection closed")
	}
}

// BenchmarkSubject is the per-event cost of a raw event's subject.
func BenchmarkSubject(b *testing.B) {
	for _, bc := range []struct{ name, host string }{
		{"plain", "WKS-FIN-07.corp.example"},
		{"long", strings.Repeat("H", 4100)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = Subject(SubjectRaw, bc.host)
			}
		})
	}
}
