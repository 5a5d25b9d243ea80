package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/weft-dev/weft/correlator"
)

// reloadOnHangup reloads the rules, from the files the config names, on
// each hangup signal (SIGHUP) until ctx ends. A reload that fails leaves
// the running rules in place. The returned func stops it and waits.
func (a *app) reloadOnHangup(ctx context.Context, stage *correlator.Stage, rc rulesConfig) (stop func()) {
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
				a.reloadRules(ctx, stage, rc)
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

func (a *app) reloadRules(ctx context.Context, stage *correlator.Stage, rc rulesConfig) {
	rules, err := a.loadRules(ctx, rc.seed(), rc.Paths)
	if err == nil {
		err = stage.ReplaceRules(ctx, rules)
	}
	if err != nil {
		a.log.Error().Err(err).Msg("rules not reloaded; the running rules stay")
		return
	}
	a.log.Info().Int("rules", len(rules)).Msg("rules reloaded; pending sequences of unchanged rules kept")
}
