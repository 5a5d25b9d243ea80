package winlog

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/weft-dev/weft/bus"
)

// Bookmarks keeps each channel's bookmark (the XML EvtRender gives for a
// bookmark) in the collectors' checkpoint bucket (bus.BucketCheckpoints),
// under keys "winlog.<channel>" beside the files' "file.<id>".
type Bookmarks struct {
	kv jetstream.KeyValue
}

// OpenBookmarks opens the checkpoint bucket.
func OpenBookmarks(ctx context.Context, b *bus.Bus) (*Bookmarks, error) {
	kv, err := b.KeyValue(ctx, bus.BucketCheckpoints)
	if err != nil {
		return nil, fmt.Errorf("winlog: %w", err)
	}
	return &Bookmarks{kv: kv}, nil
}

// key names a channel's bookmark; channel names hold characters (spaces,
// "/") that keys may not.
func key(channel string) string {
	return "winlog." + base64.RawURLEncoding.EncodeToString([]byte(channel))
}

// Load returns a channel's bookmark, or "" when it has none.
func (b *Bookmarks) Load(ctx context.Context, channel string) (string, error) {
	e, err := b.kv.Get(ctx, key(channel))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("winlog: bookmark of %s: %w", channel, err)
	}
	return string(e.Value()), nil
}

// Save stores a channel's bookmark.
func (b *Bookmarks) Save(ctx context.Context, channel, bookmark string) error {
	if _, err := b.kv.Put(ctx, key(channel), []byte(bookmark)); err != nil {
		return fmt.Errorf("winlog: save bookmark of %s: %w", channel, err)
	}
	return nil
}
