package main

import (
	"context"
	"fmt"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/collector/beats"
	"github.com/weft-dev/weft/collector/listen"
	"github.com/weft-dev/weft/collector/winlog"
)

// Live sources take forwarded events as they come: the network listeners
// (tcp, http, beats) and the Windows subscription (winlog).
func isLive(kind string) bool {
	switch kind {
	case listen.KindTCP, listen.KindHTTP, listen.KindBeats, "winlog":
		return true
	}
	return false
}

// liveSources are the live sources of a config, bound before anything
// starts so that a port in use or a missing certificate stops weft run at
// once. They line up with the config's sources; files and watch sources
// have none.
type liveSources []*liveSource

type liveSource struct {
	kind     string
	listener *listen.Listener
	winlog   winlog.Config
}

func (a *app) openLive(sources []sourceConfig) (liveSources, error) {
	live := make(liveSources, len(sources))
	for i, s := range sources {
		switch {
		case s.Type == "winlog":
			if err := winlog.Available(); err != nil {
				live.close()
				return nil, fmt.Errorf("sources[%d]: %w", i, err)
			}
			live[i] = &liveSource{kind: s.Type, winlog: s.Winlog}
		case isLive(s.Type):
			l, err := listen.Open(s.Type, s.Listen, a.log)
			if err != nil {
				live.close()
				return nil, fmt.Errorf("sources[%d]: %w", i, err)
			}
			live[i] = &liveSource{kind: s.Type, listener: l}
		}
	}
	return live, nil
}

// serve runs a live source until ctx ends; events it has read are stored
// before it returns.
func (a *app) serveLive(ctx context.Context, src *liveSource, b *bus.Bus) {
	var err error
	switch src.kind {
	case listen.KindTCP:
		err = listen.ServeTCP(ctx, src.listener, b)
	case listen.KindHTTP:
		err = listen.ServeHTTP(ctx, src.listener, b)
	case listen.KindBeats:
		err = beats.Serve(ctx, src.listener, b)
	case "winlog":
		err = winlog.Serve(ctx, src.winlog, b, a.log)
	}
	if err != nil {
		a.log.Error().Err(err).Str("source", src.kind).Msg("source stopped")
	}
}

// close releases the listeners of sources that never served.
func (ls liveSources) close() {
	for _, s := range ls {
		if s != nil && s.listener != nil {
			_ = s.listener.Close()
		}
	}
}
