package correlator

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/event"
)

// Consumer is the durable consumer of the ECS stream for correlators.
func Consumer() bus.Consumer {
	return bus.Consumer{Stream: bus.StreamECS, Durable: "correlator", MaxAckPending: 64}
}

// Stage runs an Engine on the ECS stream and publishes its alerts on
// weft.alerts.<rule id>. The engine is driven from one goroutine at a time.
type Stage struct {
	bus *bus.Bus
	log zerolog.Logger

	mu     sync.Mutex
	engine *Engine
	errors uint64
}

// NewStage wraps an engine for the bus.
func NewStage(b *bus.Bus, e *Engine, log zerolog.Logger) *Stage {
	return &Stage{bus: b, engine: e, log: log}
}

// Serve consumes ECS documents until ctx ends. Every tick it lets the
// engine release documents of hosts that went quiet, so a live stream's
// last events are not held forever.
func (s *Stage) Serve(ctx context.Context, tick time.Duration) error {
	if tick > 0 {
		go s.ticker(ctx, tick)
	}
	return s.bus.Consume(ctx, Consumer(), func(ctx context.Context, data []byte, subject string) error {
		var batch event.DocumentBatch
		if err := bus.Decode(data, &batch); err != nil {
			s.mu.Lock()
			s.errors++
			s.mu.Unlock()
			return bus.Permanent(fmt.Errorf("correlator: message on %s: %w", subject, err))
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		var alerts []event.Alert
		for _, doc := range batch {
			alerts = append(alerts, s.engine.Process(doc)...)
		}
		return s.publish(ctx, alerts)
	}, func(err error) {
		if !errors.Is(err, context.Canceled) {
			s.log.Error().Err(err).Msg("correlator")
		}
	})
}

func (s *Stage) ticker(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.mu.Lock()
			err := s.publish(ctx, s.engine.Tick())
			s.mu.Unlock()
			if err != nil && ctx.Err() == nil {
				s.log.Error().Err(err).Msg("correlator: publishing alerts")
			}
		}
	}
}

// Flush evaluates every document the engine still holds (end of input) and
// publishes the alerts.
func (s *Stage) Flush(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.publish(ctx, s.engine.Flush())
}

// Stats returns the engine's counters and the number of undecodable
// messages.
func (s *Stage) Stats() (Stats, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.engine.Stats(), s.errors
}

func (s *Stage) publish(ctx context.Context, alerts []event.Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	out := bus.NewBatcher[event.Alert](s.bus, "alert")
	for _, a := range alerts {
		if err := out.Add(ctx, bus.Subject(bus.SubjectAlerts, a.Rule.ID), a, a.Event.ID); err != nil {
			return err
		}
	}
	return out.Flush(ctx)
}
