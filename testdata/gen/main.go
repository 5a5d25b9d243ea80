package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/weft-dev/weft/testdata/gen/scenario"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	j, err := parse(args, stderr)
	if err != nil {
		return err
	}
	began := time.Now()
	m, err := j.generate(ctx, ".")
	if err != nil {
		return err
	}
	var bytes int64
	for _, f := range m.Files {
		bytes += f.Bytes
	}
	fmt.Fprintf(stderr, "gen: %d files, %d hosts, %d events, %.1f MiB, %d attacks, %d near-misses, %d Windows-log scenarios in %.1fs; manifest %s\n",
		len(m.Files), len(m.Hosts), m.Events, float64(bytes)/(1<<20), len(m.Alerts), len(m.NearMisses), len(m.Scenarios), time.Since(began).Seconds(), j.manifest)
	return nil
}

// job is a parsed command line.
type job struct {
	args     []string
	cfg      scenario.Config
	manifest string
}

func parse(args []string, stderr io.Writer) (*job, error) {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: go run ./testdata/gen [flags] (-out FILE.evtx | -dir DIR)

Writes a synthetic scenario: hosts with background activity, injected MMC
DCOM lateral movements in their Sysmon logs (each raises one alert of
weft's seed rule) and near-misses (each breaks one condition of the rule),
and a JSON manifest of the alerts the scenario must raise. With -channels,
the hosts' Security, System and PowerShell logs too (and a domain
controller's), with -scenarios the attacks and near-misses of Elastic's
Security-log rules, each listed in the manifest with the alerts it must
raise. The same flags always write the same bytes; see
testdata/gen/README.md.

`)
		fs.PrintDefaults()
	}
	j := &job{args: args}
	cfg := &j.cfg
	var start, nearMisses, channels, winScenarios string
	fs.Uint64Var(&cfg.Seed, "seed", 1, "random seed: everything is drawn from it")
	fs.IntVar(&cfg.Hosts, "hosts", 1, "number of hosts (every fifth is a server)")
	fs.StringVar(&start, "start", "2026-11-20T08:00:00Z", "start of the logs, RFC 3339")
	fs.DurationVar(&cfg.Span, "span", 30*time.Minute, "time the logs cover")
	fs.Float64Var(&cfg.Rate, "rate", 0.5, "background events per second per host, on average")
	fs.IntVar(&cfg.Attacks, "attacks", 1, "MMC DCOM lateral movements to inject")
	fs.StringVar(&nearMisses, "near-misses", "", `near-misses to inject, comma-separated; "all" is one of each: `+kinds())
	fs.StringVar(&cfg.Domain, "domain", "corp.example", "DNS domain of the hosts")
	fs.StringVar(&channels, "channels", "", "logs to write, comma-separated: "+strings.Join(scenario.AllChannels(), ", ")+
		"; all for every one (default sysmon). Windows' own logs go to HOST-Security.evtx, HOST-System.evtx, HOST-PowerShell.evtx and HOST-PowerShell-Operational.evtx, with a domain controller's DC01-Security.evtx")
	fs.StringVar(&winScenarios, "scenarios", "", `attacks and near-misses written to Windows' own logs, comma-separated (needs -channels security); "attacks", "near-misses" and "all" stand for each of them once: `+winKinds())
	fs.StringVar(&cfg.File, "out", "", "write every host's events to this one file")
	fs.StringVar(&cfg.Dir, "dir", "", "write one file per host into this folder")
	fs.StringVar(&j.manifest, "manifest", "", "manifest path (default: -out with .json, or DIR/manifest.json)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	t, err := time.Parse(time.RFC3339, start)
	if err != nil {
		return nil, fmt.Errorf("-start: %w", err)
	}
	cfg.Start = t
	if cfg.NearMisses, err = parseNearMisses(nearMisses); err != nil {
		return nil, err
	}
	if channels == "all" {
		cfg.Channels = scenario.AllChannels()
	} else if channels != "" {
		cfg.Channels = strings.Split(channels, ",")
	}
	if cfg.WinScenarios, err = parseWinScenarios(winScenarios); err != nil {
		return nil, err
	}
	// Without the Sysmon log there is no MMC attack to inject, unless asked.
	attacksSet := false
	fs.Visit(func(f *flag.Flag) { attacksSet = attacksSet || f.Name == "attacks" })
	if len(cfg.Channels) > 0 && !slices.Contains(cfg.Channels, scenario.ChannelSysmon) && !attacksSet {
		cfg.Attacks = 0
	}
	if j.manifest == "" {
		if cfg.File != "" {
			j.manifest = strings.TrimSuffix(cfg.File, filepath.Ext(cfg.File)) + ".json"
		} else {
			j.manifest = filepath.Join(cfg.Dir, "manifest.json")
		}
	}
	return j, nil
}

// generate writes the job's files, relative paths taken from dir, and its
// manifest, which records the command line as given.
func (j *job) generate(ctx context.Context, dir string) (*scenario.Manifest, error) {
	cfg := j.cfg
	at := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	cfg.File, cfg.Dir = at(cfg.File), at(cfg.Dir)
	if cfg.File != "" {
		if err := os.MkdirAll(filepath.Dir(cfg.File), 0o755); err != nil {
			return nil, err
		}
	}
	m, err := scenario.Generate(ctx, cfg)
	if err != nil {
		return nil, err
	}
	m.Command = "go run ./testdata/gen " + quoteArgs(j.args)
	if err := m.WriteFile(at(j.manifest)); err != nil {
		return nil, err
	}
	return m, nil
}

func kinds() string {
	var s []string
	for _, k := range scenario.NearMisses() {
		s = append(s, string(k))
	}
	return strings.Join(s, ", ")
}

// parseNearMisses reads a comma-separated list of near-misses, where
// "all" stands for one of each kind ("all,all" for two of each).
func parseNearMisses(s string) ([]scenario.Kind, error) {
	if s == "" {
		return nil, nil
	}
	var out []scenario.Kind
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "all" {
			out = append(out, scenario.NearMisses()...)
			continue
		}
		k, err := scenario.ParseKind(name)
		if err != nil || k == scenario.Attack {
			return nil, fmt.Errorf("-near-misses: %q is not a near-miss (%s, or all)", name, kinds())
		}
		out = append(out, k)
	}
	return out, nil
}

func winKinds() string {
	var s []string
	for _, k := range append(scenario.WinAttacks(), scenario.WinNearMisses()...) {
		s = append(s, string(k))
	}
	return strings.Join(s, ", ")
}

// parseWinScenarios reads a comma-separated list of Windows-log stories.
func parseWinScenarios(s string) ([]scenario.WinKind, error) {
	if s == "" {
		return nil, nil
	}
	var out []scenario.WinKind
	for _, name := range strings.Split(s, ",") {
		switch name = strings.TrimSpace(name); name {
		case "all":
			out = append(append(out, scenario.WinAttacks()...), scenario.WinNearMisses()...)
		case "attacks":
			out = append(out, scenario.WinAttacks()...)
		case "near-misses":
			out = append(out, scenario.WinNearMisses()...)
		default:
			k, err := scenario.ParseWinKind(name)
			if err != nil {
				return nil, fmt.Errorf("-scenarios: %w", err)
			}
			out = append(out, k)
		}
	}
	return out, nil
}

// quoteArgs renders args for a shell, quoting what needs it.
func quoteArgs(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'$\\*?&|;<>()") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}
