package bus

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestRetryable(t *testing.T) {
	t.Parallel()
	live := context.Background()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		err  error
		want bool
	}{
		// nats.go's own 5 s on a publish without a deadline: the caller
		// still waits, so the store answering late is no reason to drop.
		{"client deadline, caller waits", live, fmt.Errorf("publish: %w", context.DeadlineExceeded), true},
		{"caller gave up", done, context.DeadlineExceeded, false},
		{"no responders", live, nats.ErrNoResponders, true},
		{"timeout", live, nats.ErrTimeout, true},
		{"stream full", live, &jetstream.APIError{ErrorCode: 10077}, true},
		{"other stream error", live, &jetstream.APIError{ErrorCode: 10060}, false},
		{"payload", live, nats.ErrMaxPayload, false},
		{"plain error", live, errors.New("boom"), false},
	} {
		if got := retryable(tc.ctx, tc.err); got != tc.want {
			t.Errorf("%s: retryable = %v, want %v", tc.name, got, tc.want)
		}
	}
}
