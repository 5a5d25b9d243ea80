package bus

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TestKeyValue opens the checkpoint bucket twice and across a restart of
// a bus kept on disk: values survive, and opening again changes nothing.
func TestKeyValue(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	tests := []struct {
		name    string
		cfg     Config
		storage jetstream.StorageType
	}{
		{"memory", Config{}, jetstream.MemoryStorage},
		{"disk", Config{DataDir: dir}, jetstream.FileStorage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := openTest(t, tc.cfg)
			kv, err := b.KeyValue(ctx, BucketCheckpoints)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := kv.Put(ctx, "file.abc", []byte("1")); err != nil {
				t.Fatal(err)
			}
			again, err := b.KeyValue(ctx, BucketCheckpoints)
			if err != nil {
				t.Fatalf("opening again: %v", err)
			}
			if e, err := again.Get(ctx, "file.abc"); err != nil || string(e.Value()) != "1" {
				t.Fatalf("value after reopening: %v %v", e, err)
			}
			st, err := kv.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if info := st.(*jetstream.KeyValueBucketStatus).StreamInfo(); info.Config.Storage != tc.storage || info.Config.MaxMsgsPerSubject != 1 {
				t.Errorf("storage %v, history %d", info.Config.Storage, info.Config.MaxMsgsPerSubject)
			}
		})
	}
	// The disk bucket outlives its server.
	b := openTest(t, Config{DataDir: dir})
	kv, err := b.KeyValue(ctx, BucketCheckpoints)
	if err != nil {
		t.Fatal(err)
	}
	if e, err := kv.Get(ctx, "file.abc"); err != nil || string(e.Value()) != "1" {
		t.Errorf("value after a restart: %v %v", e, err)
	}
}

// TestKeyValueTTL: a bucket made with WithTTL forgets a key not written
// again within the TTL.
func TestKeyValueTTL(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := openTest(t, Config{DataDir: t.TempDir()})
	kv, err := b.KeyValue(ctx, "ttl-test", WithTTL(time.Second), WithDescription("a test"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := kv.Status(ctx)
	if err != nil || st.TTL() != time.Second {
		t.Fatalf("status %v, %v", st, err)
	}
	if _, err := kv.Put(ctx, "member", []byte("1")); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := kv.Get(ctx, "member"); errors.Is(err, jetstream.ErrKeyNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the key outlived its TTL by 9s")
		}
	}
}
