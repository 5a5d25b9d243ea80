package bus

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ensureStreams creates weft's streams or brings their configuration up to
// date; running it again changes nothing.
func (b *Bus) ensureStreams(ctx context.Context) error {
	for _, s := range []struct{ name, subject string }{
		{StreamRaw, SubjectRaw},
		{StreamECS, SubjectECS},
		{StreamAlerts, SubjectAlerts},
	} {
		if _, err := b.js.CreateOrUpdateStream(ctx, b.streamConfig(s.name, s.subject)); err != nil {
			return fmt.Errorf("bus: stream %s: %w", s.name, err)
		}
	}
	return nil
}

func (b *Bus) streamConfig(name, subject string) jetstream.StreamConfig {
	cfg := jetstream.StreamConfig{
		Name:       name,
		Subjects:   []string{subject + ".>"},
		Discard:    jetstream.DiscardNew,
		Duplicates: 2 * time.Minute,
		Replicas:   max(b.cfg.Replicas, 1),
		MaxBytes:   b.cfg.MaxBytes,
	}
	if name == StreamRaw || name == StreamECS {
		// Publishers say only the host (weft.raw.<host>, weft.ecs.<host>);
		// the server files each message under its host's partition, the
		// same for every publisher, so the partitioning cannot disagree
		// between them. Normalizers consume the raw partitions, a group of
		// correlators shares out the ECS ones (PartitionSubject).
		cfg.SubjectTransform = &jetstream.SubjectTransformConfig{
			Source:      subject + ".*",
			Destination: fmt.Sprintf("%s.{{partition(%d,1)}}.{{wildcard(1)}}", subject, b.cfg.partitions()),
		}
	}
	if b.memory() {
		// A hunt keeps only what is in flight: a message leaves the stream
		// once every consumer has acknowledged it, and a full stream makes
		// publishers wait, so memory stays bounded whatever the input size.
		cfg.Storage = jetstream.MemoryStorage
		cfg.Retention = jetstream.InterestPolicy
		if cfg.MaxBytes == 0 {
			cfg.MaxBytes = defaultMemBytes
		}
		return cfg
	}
	cfg.Storage = jetstream.FileStorage
	cfg.Retention = jetstream.LimitsPolicy
	cfg.MaxAge = b.cfg.MaxAge
	if cfg.MaxAge == 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = -1
	}
	return cfg
}

func (b *Bus) memory() bool { return b.cfg.URL == "" && b.cfg.DataDir == "" }
