package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/weft-dev/weft/internal/confkey"
)

// configHelp is what config check and run --dry-run say about checking.
const configHelp = `The config is checked whole before anything starts, and every problem is
reported at once, each on a line of its own:

  weft.yaml:12: sinks[1].type: unknown type "slak" (did you mean "slack"?)
  weft.yaml:20: sources[0].max_event_size: "eight" is not a size: ...
  WEFT_SINKS: sinks[0].pth: unknown key (did you mean path?)
  WEFT_CORRELATOR_LATENSS: unknown setting (did you mean WEFT_CORRELATOR_LATENESS?)

That covers unknown keys, values of the wrong type, settings that do not go
together, each sink's URL and scheme (Slack takes https only), the secrets it
reads from the environment or files (url_env, secret_env, token_file, ...),
TLS certificate files, and rules.paths (each must exist and hold rule
files). An empty file is a problem ("file is empty"; write {} for all
defaults).

Sizes take bytes or units: 1048576, 512KiB, 1MiB, 1MB (KB, MB, GB are powers
of 1000; KiB, MiB, GiB of 1024). Durations take units: 500ms, 5s, 1m30s, 24h.

Every key can also be set from the environment: WEFT_ and the key path in
upper case, sections joined by "_": WEFT_BUS_URL, WEFT_CORRELATOR_LATENESS,
WEFT_RULES_PATHS='[rules/, more/]'. A value is read as YAML, so lists and
whole sections (WEFT_SINKS='[{type: jsonl}]') can be given too; it replaces
the file's value and is checked the same way. A WEFT_* variable that is
neither a key, nor a flag (WEFT_LOG_LEVEL), nor named by a *_env key of the
config is an error, with the nearest known name: a mistyped override would
otherwise be ignored without a word.`

func (a *app) configCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Work with weft.yaml",
	}
	var path string
	check := &cobra.Command{
		Use:   "check --config weft.yaml",
		Short: "Validate a config file and explain each problem with its key path and line",
		Long: `check reads a weft.yaml with the WEFT_* environment laid over it and checks it
exactly as weft run does before it starts anything (weft run --dry-run does
the same check); it starts nothing, binds no port and opens no connection.
Exit 0 when the config is valid, 1 otherwise.

` + configHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if path == "" {
				return usageError("--config is required")
			}
			_, err := a.checkedConfig(cmd, path, a.stdout)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s: ok\n", path)
			return nil
		},
	}
	check.Flags().StringVarP(&path, "config", "c", "", "the weft.yaml to check")
	cmd.AddCommand(check)
	return cmd
}

// checkedConfig is the check weft config check, weft run and weft run
// --dry-run share: it reads the config at path (readConfig), prints each
// problem to out (config check's stdout, run's stderr), and fails when
// there is one.
func (a *app) checkedConfig(cmd *cobra.Command, path string, out io.Writer) (*config, error) {
	cfg, problems, err := a.readConfig(path, flagEnvNames(cmd.Root()))
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(out, p)
		}
		return nil, fmt.Errorf("%s: %d problem(s)", path, len(problems))
	}
	return cfg, nil
}

// loadConfig is readConfig with the problems as one error, for the
// commands that only read a config (the stages, weft alerts).
func (a *app) loadConfig(path string, flagEnv []string) (*config, error) {
	cfg, problems, err := a.readConfig(path, flagEnv)
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		lines := make([]string, len(problems))
		for i, p := range problems {
			lines[i] = p.String()
		}
		return nil, fmt.Errorf("config %s:\n%s", path, strings.Join(lines, "\n"))
	}
	return cfg, nil
}

// problem is one mistake of a config: where it is and what is wrong.
type problem struct {
	file string
	line int    // 0: the file as a whole, or the environment
	env  string // the WEFT_* variable it is in, if any
	key  string // key path: sinks[1].url
	msg  string
}

func (p problem) String() string {
	var b strings.Builder
	switch {
	case p.env != "":
		b.WriteString(p.env)
	case p.line > 0:
		fmt.Fprintf(&b, "%s:%d", p.file, p.line)
	default:
		b.WriteString(p.file)
	}
	if p.key != "" {
		b.WriteString(": " + p.key)
	}
	b.WriteString(": " + p.msg)
	return b.String()
}

// readConfig is the one way weft reads weft.yaml: the file, decoded key by
// key (configDecoder), the WEFT_* environment over it (flagEnv names the
// WEFT_* variables of flags; nil skips the check for unknown names), then
// every stage's Validate and the rules paths. It returns every problem it
// finds, in the order of the file, then the environment's. The error is
// for a file that cannot be read.
func (a *app) readConfig(path string, flagEnv []string) (*config, []problem, error) {
	cfg := &config{}
	d := &configDecoder{where: map[string]origin{}}
	if path != "" {
		ps, err := d.file(cfg, path)
		if err != nil || len(ps) > 0 {
			return nil, ps, err
		}
	}
	d.overlayEnv(cfg, a.getenv)
	if flagEnv != nil {
		d.unknownEnv(cfg, a.getenv, flagEnv)
	}
	decoded := slices.Clone(d.problems)
	// A value that could not be read is left at its default; what the
	// stages would say about that default is noise.
	unread := func(key string) bool {
		for _, p := range decoded {
			if p.key != "" && (key == p.key || strings.HasPrefix(key, p.key+".") || strings.HasPrefix(key, p.key+"[")) {
				return true
			}
		}
		return false
	}
	for _, e := range confkey.List(cfg.validate()) {
		if !unread(e.Key) {
			d.at(e.Key, e.Msg)
		}
	}
	// weft run stops on a rules path that loads nothing.
	for i, p := range cfg.Rules.Paths {
		if err := checkRulePath(p); err != nil {
			d.at(fmt.Sprintf("rules.paths[%d]", i), ruleProblem(err))
		}
	}
	for i := range d.problems {
		d.problems[i].file = path
	}
	// The file's problems by line, then the environment's by name.
	slices.SortStableFunc(d.problems, func(x, y problem) int {
		if c := cmp.Compare(x.env, y.env); c != 0 {
			return c
		}
		return cmp.Compare(x.line, y.line)
	})
	return cfg, d.problems, nil
}

// file decodes the config file at path into cfg. A file that is not YAML,
// is empty or is not a mapping is one problem, returned at once: there is
// nothing further to check.
func (d *configDecoder) file(cfg *config, path string) ([]problem, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		line, msg := yamlSyntax(err)
		return []problem{{file: path, line: line, msg: msg}}, nil
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		doc = doc.Content[0]
	}
	switch {
	case doc.Kind == 0 || doc.Kind == yaml.DocumentNode || doc.Kind == yaml.ScalarNode && doc.Tag == "!!null":
		return []problem{{file: path, msg: "file is empty (write {} for a config of defaults)"}}, nil
	case doc.Kind != yaml.MappingNode:
		return []problem{{file: path, line: doc.Line, msg: fmt.Sprintf(
			"want a mapping of sections (bus, sources, rules, correlator, sinks, shutdown_timeout), got %s", kindName(doc))}}, nil
	}
	d.structure(doc, reflectValue(cfg), "", nil)
	return nil, nil
}

// editDistance is the Levenshtein distance of two words.
func editDistance(a, b string) int { return confkey.EditDistance(a, b) }

// at adds a problem of the stages' checks at the line of its key, or of
// the nearest section above it that the file or the environment set.
func (d *configDecoder) at(key, msg string) {
	p := problem{key: key, msg: msg}
	for k := key; k != ""; k = parentKey(k) {
		if o, ok := d.where[k]; ok {
			p.line, p.env = o.line, o.env
			break
		}
	}
	d.problems = append(d.problems, p)
}

// parentKey is the key path above key: sinks[1] for sinks[1].url, sinks
// for sinks[1].
func parentKey(key string) string {
	i := strings.LastIndexAny(key, ".[")
	if i < 0 {
		return ""
	}
	return key[:i]
}

// ruleProblem says what os.Stat found wrong with a rules path without Go's
// "stat" prefix.
func ruleProblem(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Sprintf("%s does not exist", pe.Path)
		}
		return fmt.Sprintf("%s: %v", pe.Path, pe.Err)
	}
	return err.Error()
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlSyntax takes the line off a YAML syntax error.
func yamlSyntax(err error) (int, string) {
	m := yamlLine.FindStringSubmatch(err.Error())
	if m == nil {
		return 0, "not YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")
	}
	n, _ := strconv.Atoi(m[1])
	return n, "not YAML: " + m[2]
}
