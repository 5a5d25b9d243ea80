package bus

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// BucketCheckpoints is the key-value bucket where collectors keep how far
// they have read each file, so that a restart resumes there.
const BucketCheckpoints = "weft_checkpoints"

// KeyValue opens a key-value bucket, creating it on first use; opening it
// again changes nothing. It is kept where the streams are: in memory for a
// hunt, on disk with a data dir or on an external server. Only the latest
// value of each key is kept.
func (b *Bus) KeyValue(ctx context.Context, bucket string, opts ...KVOption) (jetstream.KeyValue, error) {
	cfg := jetstream.KeyValueConfig{
		Bucket:   bucket,
		History:  1,
		Replicas: max(b.cfg.Replicas, 1),
		Storage:  jetstream.FileStorage,
	}
	if b.memory() {
		cfg.Storage = jetstream.MemoryStorage
	}
	for _, o := range opts {
		o(&cfg)
	}
	kv, err := b.js.CreateOrUpdateKeyValue(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("bus: key-value bucket %s: %w", bucket, err)
	}
	return kv, nil
}

// KVOption tunes the bucket KeyValue creates.
type KVOption func(*jetstream.KeyValueConfig)

// WithTTL makes each key of the bucket expire ttl after it was last
// written: a key that must stay is written again well within ttl.
func WithTTL(ttl time.Duration) KVOption {
	return func(c *jetstream.KeyValueConfig) { c.TTL = ttl }
}

// WithDescription says what the bucket is for, as NATS tools show it.
func WithDescription(d string) KVOption {
	return func(c *jetstream.KeyValueConfig) { c.Description = d }
}
