package listen

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weft-dev/weft/bus"
)

// waitStats waits until the listener's totals satisfy ok.
func waitStats(t *testing.T, l *Listener, ok func(Stats) bool) Stats {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := l.Stats()
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("listener totals stayed %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestListenerMetrics: each listener counts its connections, the events it
// stored and its problems by reason, and the metrics report them with the
// source and address as labels.
func TestListenerMetrics(t *testing.T) {
	t.Parallel()
	positive := string(fixture(t, "mmc-positive.xml"))
	// The first event with a byte that is not UTF-8: stored with U+FFFD in
	// its place, and counted as a bad event.
	broken := strings.Replace(positive, "taskhostw.exe</Data>", "task\xffhostw.exe</Data>", 1)
	for _, tc := range []struct {
		name   string
		kind   string
		cfg    Config
		run    func(t *testing.T, s *served)
		events int64
		errors map[string]int64
	}{
		{
			name: "tcp", kind: KindTCP,
			run: func(t *testing.T, s *served) {
				sendTCP(t, s.addr, nil, positive)
				sendTCP(t, s.addr, nil, "hello\n")
				sendTCP(t, s.addr, nil, broken)
			},
			events: 7 + 7,
			errors: map[string]int64{ReasonProtocol: 1, ReasonBadEvent: 1},
		},
		{
			name: "http", kind: KindHTTP, cfg: Config{Token: "s3cret"},
			run: func(t *testing.T, s *served) {
				url := "http://" + s.addr + EventsPath
				c := httpClient(nil)
				if r := post(t, c, url, "application/xml", "s3cret", strings.NewReader(positive)); r.code != http.StatusOK {
					t.Errorf("POST: %d %+v", r.code, r.resp)
				}
				if r := post(t, c, url, "application/xml", "wrong", strings.NewReader(positive)); r.code != http.StatusUnauthorized {
					t.Errorf("POST with a wrong token: %d", r.code)
				}
				if r := post(t, c, url, "application/xml", "s3cret", strings.NewReader("")); r.code != http.StatusBadRequest {
					t.Errorf("POST of nothing: %d", r.code)
				}
				c.CloseIdleConnections()
			},
			events: 7,
			errors: map[string]int64{ReasonUnauthorized: 1, ReasonBadRequest: 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			run := ServeTCP
			if tc.kind == KindHTTP {
				run = ServeHTTP
			}
			s := serve(t, tc.kind, tc.cfg, bus.Config{}, run)
			reg := prometheus.NewPedanticRegistry()
			m, err := NewMetrics(reg)
			if err != nil {
				t.Fatal(err)
			}
			m.Watch(s.l)
			tc.run(t, s)
			st := waitStats(t, s.l, func(st Stats) bool { return st.Events >= tc.events && st.Active == 0 })
			if st.Events != tc.events || st.Connections == 0 {
				t.Errorf("totals %+v, want %d events", st, tc.events)
			}
			for reason, n := range tc.errors {
				if st.Errors[reason] != n {
					t.Errorf("%s errors: %d, want %d (all: %v)", reason, st.Errors[reason], n, st.Errors)
				}
			}
			families, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			series := map[string]float64{}
			for _, f := range families {
				for _, m := range f.GetMetric() {
					key := f.GetName()
					for _, lp := range m.GetLabel() {
						key += " " + lp.GetName() + "=" + lp.GetValue()
					}
					series[key] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
				}
			}
			labels := " listener=" + s.addr
			if got := series["weft_listener_events_total"+labels+" source="+tc.kind]; got != float64(tc.events) {
				t.Errorf("weft_listener_events_total = %v, want %d (all: %v)", got, tc.events, series)
			}
			for reason, n := range tc.errors {
				if got := series["weft_listener_errors_total"+labels+" reason="+reason+" source="+tc.kind]; got != float64(n) {
					t.Errorf("weft_listener_errors_total{reason=%q} = %v, want %d", reason, got, n)
				}
			}
			if got := series["weft_listener_active_connections"+labels+" source="+tc.kind]; got != 0 {
				t.Errorf("weft_listener_active_connections = %v", got)
			}
		})
	}
}
