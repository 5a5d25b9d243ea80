package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/pflag"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/collector/listen"
	"github.com/weft-dev/weft/correlator"
	"github.com/weft-dev/weft/normalizer"
	"github.com/weft-dev/weft/sinks"
)

// Defaults of the telemetry flags.
const (
	defaultMetricsListen = "127.0.0.1:9464"
	// A consumer further behind than this many messages (batches of up to
	// bus.DefaultBatchSize events) makes the process unready.
	defaultReadyMaxPending = 10_000
	readyTimeout           = 2 * time.Second
)

// telemetryFlags adds --metrics-listen and --ready-max-pending to a
// long-running command.
func (a *app) telemetryFlags(fs *pflag.FlagSet) {
	fs.StringVar(&a.metricsListen, "metrics-listen", defaultMetricsListen,
		"serve /metrics, /healthz and /readyz on this [host:]port (loopback unless a host is given; empty: no listener)")
	fs.BoolVar(&a.metricsOptional, "metrics-optional", false,
		"run on without /metrics, /healthz and /readyz when --metrics-listen cannot be bound (default: that stops weft with exit 1)")
	fs.Uint64Var(&a.readyMaxPending, "ready-max-pending", defaultReadyMaxPending,
		"/readyz fails while a consumer has more messages than this waiting (0: no limit)")
}

// newRegistry is the process's own registry, with Go runtime and process
// figures besides weft's.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// instrument registers the metrics of every stage of the pipeline with reg
// and counts the sinks' deliveries. It runs before any stage starts, so
// that every publish and delivery is seen.
func (p *pipeline) instrument(reg prometheus.Registerer, consumers []bus.Consumer) error {
	if _, err := bus.NewMetrics(reg, p.bus, bus.Consumers(consumers...)); err != nil {
		return err
	}
	if _, err := normalizer.NewMetrics(reg, &p.norm); err != nil {
		return err
	}
	if _, err := correlator.NewMetrics(reg, p.stage); err != nil {
		return err
	}
	m, err := sinks.NewMetrics(reg)
	if err != nil {
		return err
	}
	for name, s := range p.sinks {
		p.sinks[name] = m.Instrument(name, s)
	}
	return nil
}

// telemetry is the HTTP listener of /metrics, /healthz and /readyz.
type telemetry struct {
	srv  *http.Server
	done chan struct{}
}

// serveTelemetry starts the listener on a.metricsListen (nothing when it
// is empty). An address that cannot be bound (in use, not this machine's)
// is an error, so that a service does not run on unmonitored, with its
// health checks answering nothing; --metrics-optional makes it a logged
// error instead. ready says why the process cannot do its work, or nil.
func (a *app) serveTelemetry(reg *prometheus.Registry, ready func(context.Context) error) (*telemetry, error) {
	if a.metricsListen == "" {
		return nil, nil
	}
	addr, err := loopbackAddr(a.metricsListen)
	if err != nil {
		return nil, usageError("--metrics-listen: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	switch {
	case err != nil && !a.metricsOptional:
		return nil, fmt.Errorf("--metrics-listen %s: %w (--metrics-optional runs on without /metrics, /healthz and /readyz)", a.metricsListen, err)
	case err != nil:
		// Asked for: detection goes on without its metrics, and the
		// missing listener shows on the monitoring side as a target down.
		a.log.Error().Err(err).Str("addr", a.metricsListen).Msg("no /metrics, /healthz or /readyz: the metrics listener could not start (--metrics-optional)")
		if a.metricsReady != nil {
			a.metricsReady("")
		}
		return nil, nil
	}
	shown := listen.AsConfigured(addr, ln.Addr())
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		// A scrape while the bus is away still reports everything else.
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      reg,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := ready(ctx); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	t := &telemetry{
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		done: make(chan struct{}),
	}
	go func() {
		defer close(t.done)
		if err := t.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error().Err(err).Msg("metrics listener stopped")
		}
	}()
	a.log.Info().Str("addr", shown).Msg("serving /metrics, /healthz and /readyz")
	if a.metricsReady != nil {
		a.metricsReady(shown)
	}
	return t, nil
}

// close stops the listener; a nil telemetry is fine.
func (t *telemetry) close() {
	if t == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = t.srv.Shutdown(ctx)
	<-t.done
}

// loopbackAddr turns "9464" or ":9464" into a loopback address: exposing
// the endpoints beyond this machine must be asked for with a host.
func loopbackAddr(s string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		host, port = "", s
	}
	if host == "" {
		host = "127.0.0.1"
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return "", fmt.Errorf("%q: %w", s, err)
	}
	return net.JoinHostPort(host, port), nil
}
