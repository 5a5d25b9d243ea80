package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/internal/datadir"
	"github.com/weft-dev/weft/sinks"
)

// dlqFlags say which bus holds the dead-letter queue and which letters to
// work on.
type dlqFlags struct {
	config, dataDir, sink string
}

func (f *dlqFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.config, "config", "c", "", "read the bus section of this weft.yaml")
	cmd.Flags().StringVar(&f.dataDir, "data-dir", "", "the embedded NATS server's data folder of a stopped weft run (overrides bus.data_dir); refused while a weft holds it, never created")
	cmd.Flags().StringVar(&f.sink, "sink", "", "only the alerts this sink (its name in weft.yaml) gave up on")
}

func (a *app) alertsCmd() *cobra.Command {
	alerts := &cobra.Command{
		Use:   "alerts",
		Short: "Alerts on the bus: the dead-letter queue of the sinks",
	}
	dlq := &cobra.Command{
		Use:   "dlq",
		Short: "Alerts a sink gave up on, with the last error; list and replay them",
		Long: `A sink gives an alert up to the dead-letter queue (the WEFT_DLQ stream,
weft.dlq.<sink>) when the receiver rejects it for good (HTTP 400, 413, 415,
422) or when the sink's delivery.max_deliveries or delivery.max_age is
reached. The letter keeps the alert, the sink, the number of deliveries and
the last error.

The queue lives on the bus of weft run. Reach it with --nats (the external
server, or the embedded one when weft run has --nats-listen), or, while weft
run is stopped, with --data-dir or --config naming its data_dir. A weft that
uses a data directory holds it (the lock file weft.lock in it, released when
that weft ends, however it ends): --data-dir on a directory a running weft
holds is refused, and so is one that does not exist; neither is changed.`,
	}
	dlq.AddCommand(a.dlqListCmd(), a.dlqReplayCmd())
	alerts.AddCommand(dlq)
	return alerts
}

func (a *app) dlqListCmd() *cobra.Command {
	var f dlqFlags
	var asJSON, rejected bool
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List dead alerts, oldest first",
		Long: `list shows the alerts the sinks gave up on, oldest first.

With --rejected it shows instead the events (and documents) the bus itself
refused: NATS takes no message over its max_payload (8 MiB on the embedded
server, 1 MiB by default on others), so an event too big for one is kept on
weft.dlq.rejected.<stream> (its first 64 KiB), with where it was read (file
and offset, or listener and peer) and the error, counted in
weft_bus_rejected_total and logged; the events around it go on.`,
		Example: `  weft alerts dlq list --nats nats://127.0.0.1:4222
  weft alerts dlq list --data-dir /var/lib/weft --sink slack --json
  weft alerts dlq list --nats nats://127.0.0.1:4222 --rejected`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 0 {
				return usageError("--limit %d: want 0 (all) or more", limit)
			}
			if rejected && f.sink != "" {
				return usageError("--rejected and --sink exclude each other: refused events belong to no sink")
			}
			b, err := a.dlqBus(cmd.Context(), f)
			if err != nil {
				return err
			}
			defer b.Close()
			if rejected {
				items, err := b.RejectedItems(cmd.Context(), limit)
				if err != nil {
					return err
				}
				if asJSON {
					return a.printRejectedJSON(items)
				}
				return a.printRejectedTable(items)
			}
			dead, err := sinks.DeadAlerts(cmd.Context(), b, f.sink, limit)
			if err != nil {
				return err
			}
			if asJSON {
				return a.printDeadJSON(dead)
			}
			return a.printDeadTable(dead)
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per line, with the whole alert")
	cmd.Flags().IntVar(&limit, "limit", 1000, "list at most this many (0: all)")
	cmd.Flags().BoolVar(&rejected, "rejected", false, "list the events the bus refused (too big for a NATS message) instead of dead alerts")
	return cmd
}

func (a *app) printRejectedTable(items []bus.RejectedItem) error {
	if len(items) == 0 {
		_, err := fmt.Fprintln(a.stdout, "no rejected events")
		return err
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tFAILED\tBY\tBYTES\tSOURCE\tEVENT\tERROR")
	for _, it := range items {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\t%s\n", it.Sequence, it.Failed.UTC().Format(time.RFC3339),
			cell(it.Consumer), it.Size, cell(clip(it.Source, 120)), cell(clip(it.Key, 80)), cell(clip(it.Error, 160)))
	}
	return tw.Flush()
}

// rejectedJSON is one line of dlq list --rejected --json. Data is the
// start of the refused message (msgpack), base64 in JSON.
type rejectedJSON struct {
	Sequence uint64    `json:"seq"`
	By       string    `json:"by"`
	Failed   time.Time `json:"failed"`
	Subject  string    `json:"subject"`
	Source   string    `json:"source"`
	Event    string    `json:"event"`
	Bytes    int       `json:"bytes"`
	Error    string    `json:"error"`
	Data     []byte    `json:"data"`
}

func (a *app) printRejectedJSON(items []bus.RejectedItem) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetEscapeHTML(false)
	for _, it := range items {
		if err := enc.Encode(rejectedJSON{it.Sequence, it.Consumer, it.Failed.UTC(), it.Subject, it.Source, it.Key, it.Size, it.Error, it.Data}); err != nil {
			return err
		}
	}
	return nil
}

func (a *app) printDeadTable(dead []sinks.DeadAlert) error {
	if len(dead) == 0 {
		_, err := fmt.Fprintln(a.stdout, "no dead alerts")
		return err
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tFAILED\tSINK\tDELIVERIES\tALERT ID\tRULE\tHOST\tLAST ERROR")
	for _, d := range dead {
		id, rule, host := "-", "-", "-"
		if d.Alert != nil {
			id, rule, host = cell(d.Alert.Event.ID), cell(d.Alert.Rule.Name), cell(d.Alert.Host.Name)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", d.Sequence, d.Failed.UTC().Format(time.RFC3339),
			cell(d.Consumer), d.Attempts, id, rule, host, cell(clip(d.Error, 160)))
	}
	return tw.Flush()
}

// deadJSON is one line of dlq list --json.
type deadJSON struct {
	Sequence   uint64       `json:"seq"`
	Sink       string       `json:"sink"`
	Failed     time.Time    `json:"failed"`
	Published  time.Time    `json:"published"`
	Deliveries int          `json:"deliveries"`
	Subject    string       `json:"subject"`
	Error      string       `json:"error"`
	Alert      *event.Alert `json:"alert"`
}

func (a *app) printDeadJSON(dead []sinks.DeadAlert) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetEscapeHTML(false)
	for _, d := range dead {
		if err := enc.Encode(deadJSON{d.Sequence, d.Consumer, d.Failed.UTC(), d.Published.UTC(), d.Attempts, d.Subject, d.Error, d.Alert}); err != nil {
			return err
		}
	}
	return nil
}

func (a *app) dlqReplayCmd() *cobra.Command {
	var f dlqFlags
	var ids []string
	var to string
	var allSinks bool
	cmd := &cobra.Command{
		Use:   "replay",
		Short: "Publish dead alerts again and remove them from the queue",
		Long: `replay publishes dead alerts on the alert stream again and removes them from
the dead-letter queue. By default each goes back to the sink that gave up on
it, alone; --to names another sink, and --all-sinks hands it to every sink
(receivers deduplicate by alert id). --sink and --id choose the letters;
without them every letter is replayed.`,
		Example: `  weft alerts dlq replay --nats nats://127.0.0.1:4222 --sink webhook
  weft alerts dlq replay --data-dir /var/lib/weft --id 3f0c… --to syslog`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if to != "" && allSinks {
				return usageError("--to and --all-sinks exclude each other")
			}
			ctx := cmd.Context()
			b, err := a.dlqBus(ctx, f)
			if err != nil {
				return err
			}
			defer b.Close()
			dead, err := sinks.DeadAlerts(ctx, b, f.sink, 0)
			if err != nil {
				return err
			}
			dead = selectIDs(dead, ids)
			var errs []error
			replayed := 0
			for _, d := range dead {
				var err error
				switch {
				case allSinks:
					err = sinks.ReplayToAll(ctx, b, d)
				case to != "":
					err = sinks.ReplayToSink(ctx, b, d, to)
				default:
					err = sinks.ReplayToSink(ctx, b, d, d.Consumer)
				}
				if err != nil {
					errs = append(errs, err)
					continue
				}
				replayed++
			}
			fmt.Fprintf(a.stderr, "weft alerts dlq replay: %s replayed, %d failed\n", plural(replayed, "alert"), len(errs))
			return errors.Join(errs...)
		},
	}
	f.register(cmd)
	cmd.Flags().StringArrayVar(&ids, "id", nil, "only the alert with this id (repeatable)")
	cmd.Flags().StringVar(&to, "to", "", "replay to this sink instead of the one that gave up")
	cmd.Flags().BoolVar(&allSinks, "all-sinks", false, "replay to every sink")
	return cmd
}

// selectIDs keeps the letters of the given alert ids, or all without ids.
func selectIDs(dead []sinks.DeadAlert, ids []string) []sinks.DeadAlert {
	if len(ids) == 0 {
		return dead
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var out []sinks.DeadAlert
	for _, d := range dead {
		if d.Alert != nil && want[d.Alert.Event.ID] {
			out = append(out, d)
		}
	}
	return out
}

// dlqBus opens the bus weft run uses. An embedded bus in memory would be a
// new, empty one, so one of --nats, --data-dir or a config naming either
// is required.
func (a *app) dlqBus(ctx context.Context, f dlqFlags) (*bus.Bus, error) {
	var base bus.Config
	if f.config != "" {
		cfg, err := loadConfig(f.config)
		if err != nil {
			return nil, err
		}
		base = cfg.Bus
	}
	if f.dataDir != "" {
		base.DataDir = f.dataDir
	}
	bc := a.busConfig(base)
	if bc.URL == "" && bc.DataDir == "" {
		return nil, usageError("the dead-letter queue lives on the bus of weft run: give --nats URL, or --data-dir (or --config with bus.data_dir) while weft run is stopped")
	}
	if bc.URL == "" {
		// Opening the embedded server on a folder that is not there
		// would make an empty one and list nothing from it.
		if info, err := os.Stat(bc.DataDir); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("data directory %s does not exist (give the data_dir of weft run; nothing was created)", bc.DataDir)
		} else if err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		} else if !info.IsDir() {
			return nil, fmt.Errorf("data directory %s is not a directory", bc.DataDir)
		}
	}
	b, err := bus.Open(ctx, bc, a.log)
	if datadir.IsHeld(err) {
		// The running weft keeps the queue in memory too: changing its
		// files under it would not be seen, and replayed letters would
		// come back.
		return nil, fmt.Errorf("%w; weft alerts dlq reaches a running weft through its bus: --nats URL (weft run with --nats-listen or an external server), or stop weft run first", err)
	}
	return b, err
}

// clip cuts s to at most n bytes at a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
