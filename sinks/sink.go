package sinks

import (
	"context"

	"github.com/weft-dev/weft/event"
)

// Sink delivers alerts to one destination. Implementations are safe for
// concurrent use. Send returns only when the alert is delivered or
// delivery has failed (after the sink's own bounded retries); the caller
// owns durable redelivery.
type Sink interface {
	// Name identifies the sink in logs and metrics, e.g. "slack".
	Name() string
	Send(ctx context.Context, a *event.Alert) error
	// Close releases connections and files; Send must not be called after.
	Close() error
}
