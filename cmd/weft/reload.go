package main

import (
	"context"
	"os"
	"os/signal"
	"sync/atomic"

	"github.com/weft-dev/weft/correlator"
)

// reloadOnHangup reloads the rules, from the files the config names, on
// each hangup signal (SIGHUP) until ctx ends. A reload that fails leaves
// the running rules in place. rawFields, when the normalizer runs in this
// process, is its switch of the raw fields Sigma rules read: on as soon as
// the reloaded rules hold a Sigma rule, off once they hold none. The
// returned func stops it and waits.
func (a *app) reloadOnHangup(ctx context.Context, stage *correlator.Stage, rc rulesConfig, rawFields *atomic.Bool) (stop func()) {
	hup := a.hangup
	if hup == nil {
		hup = make(chan os.Signal, 1)
		notifyHangup(hup)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				a.reloadRules(ctx, stage, rc, rawFields)
			}
		}
	}()
	return func() {
		if a.hangup == nil {
			signal.Stop(hup)
		}
		cancel()
		<-done
	}
}

func (a *app) reloadRules(ctx context.Context, stage *correlator.Stage, rc rulesConfig, rawFields *atomic.Bool) {
	rules, err := a.loadRules(ctx, rc.seed(), rc.Paths)
	if err != nil {
		a.log.Error().Err(err).Msg("rules not reloaded; the running rules stay")
		return
	}
	sigma := correlator.HasSigma(rules)
	var was bool
	if rawFields != nil && sigma {
		// Before the rules change, so that the events the new Sigma
		// rules are the first to see carry the fields they read.
		was = rawFields.Swap(true)
	}
	if err := stage.ReplaceRules(ctx, rules); err != nil {
		if rawFields != nil && sigma {
			rawFields.Store(was)
		}
		a.log.Error().Err(err).Msg("rules not reloaded; the running rules stay")
		return
	}
	if rawFields != nil && !sigma {
		rawFields.Store(false)
	}
	ev := a.log.Info().Int("rules", len(rules))
	if rawFields != nil {
		ev = ev.Bool("sigma_raw_fields", sigma)
	}
	ev.Msg("rules reloaded; pending sequences of unchanged rules kept")
}
