package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/weft-dev/weft/sinks"
	"github.com/weft-dev/weft/sinks/jsonl"
	"github.com/weft-dev/weft/sinks/slack"
	"github.com/weft-dev/weft/sinks/syslog"
	"github.com/weft-dev/weft/sinks/webhook"
)

func (a *app) configCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Work with weft.yaml",
	}
	var path string
	check := &cobra.Command{
		Use:   "check --config weft.yaml",
		Short: "Validate a config file and explain each problem with its key path and line",
		Long: `check reads a weft.yaml the way weft run does, with the WEFT_* environment
laid over it, and reports every problem it finds: unknown keys (a typo is an
error, not silently ignored), values of the wrong type, and settings that do
not go together, each with its line and key path, such as
"weft.yaml:12: sinks[1].url". It starts nothing and opens no connection; of
the files it names it checks that each rules.paths entry exists and holds rule
files, as weft run requires. Exit 0 when the file is valid, 1 otherwise.

Every key can also be set from the environment: WEFT_ and the key path in
upper case, sections joined by "_": WEFT_BUS_URL, WEFT_CORRELATOR_LATENESS,
WEFT_RULES_PATHS='[rules/, more/]'. A value is read as YAML, so lists and
whole sections (WEFT_SINKS='[{type: jsonl}]') can be given too.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if path == "" {
				return usageError("--config is required")
			}
			problems, err := a.checkConfig(path)
			if err != nil {
				return err
			}
			if len(problems) > 0 {
				for _, p := range problems {
					fmt.Fprintln(a.stdout, p)
				}
				return fmt.Errorf("%s: %d problem(s)", path, len(problems))
			}
			fmt.Fprintf(a.stdout, "%s: ok\n", path)
			return nil
		},
	}
	check.Flags().StringVarP(&path, "config", "c", "", "the weft.yaml to check")
	cmd.AddCommand(check)
	return cmd
}

// checkConfig returns each problem of the config file at path as
// "path:line: key.path: what is wrong", or an error when it cannot be read.
func (a *app) checkConfig(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return []string{fmt.Sprintf("%s: %v", path, err)}, nil
	}
	var problems []string
	add := func(line int, key, msg string) {
		switch {
		case line > 0 && key != "":
			problems = append(problems, fmt.Sprintf("%s:%d: %s: %s", path, line, key, msg))
		case line > 0:
			problems = append(problems, fmt.Sprintf("%s:%d: %s", path, line, msg))
		default:
			problems = append(problems, fmt.Sprintf("%s: %s", path, msg))
		}
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		doc = doc.Content[0]
	}
	if doc.Kind == yaml.DocumentNode {
		add(0, "", "the file is empty")
		return problems, nil
	}
	checkKeys(doc, reflect.TypeFor[config](), "", add)
	if len(problems) > 0 {
		// Type errors would repeat the unknown keys in yaml.v3's words.
		return problems, nil
	}
	lines := keyLines(doc, "")
	var cfg config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			add(0, "", err.Error())
			return problems, nil
		}
		for _, e := range te.Errors {
			line, msg := splitLine(e)
			add(line, lines[line], msg)
		}
		return problems, nil
	}
	if err := a.applyConfigEnv(&cfg); err != nil {
		add(0, "", err.Error())
	}
	// weft run stops on a rules path that loads nothing; say so here too.
	for i, p := range cfg.Rules.Paths {
		if err := checkRulePath(p); err != nil {
			key := fmt.Sprintf("rules.paths[%d]", i)
			line := 0
			for l, k := range lines {
				if k == key {
					line = l
				}
			}
			add(line, key, err.Error())
		}
	}
	for i, s := range cfg.Sinks {
		if err := checkSinkOptions(s); err != nil {
			add(0, fmt.Sprintf("sinks[%d]", i), err.Error())
		}
	}
	if err := cfg.validate(); err != nil {
		for _, e := range strings.Split(err.Error(), "\n") {
			add(0, "", e)
		}
	}
	return problems, nil
}

var lineRE = regexp.MustCompile(`^line (\d+): (.*)$`)

// splitLine takes the line number off a yaml.v3 error.
func splitLine(e string) (int, string) {
	m := lineRE.FindStringSubmatch(e)
	if m == nil {
		return 0, e
	}
	n, _ := strconv.Atoi(m[1])
	return n, m[2]
}

// keyLines maps each line of the document that holds a key or a sequence
// item to that item's key path.
func keyLines(n *yaml.Node, path string) map[int]string {
	out := map[int]string{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := joinKey(path, k.Value)
				out[k.Line] = p
				if v.Line != k.Line || v.Kind != yaml.ScalarNode {
					walk(v, p)
				}
			}
		case yaml.SequenceNode:
			for i, v := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				if _, taken := out[v.Line]; !taken || v.Kind == yaml.ScalarNode {
					out[v.Line] = p
				}
				walk(v, p)
			}
		}
	}
	walk(n, path)
	return out
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// sinkOptionsType is the type of the options of a sink type, for checking
// keys before a sink is built; it follows newSink.
func sinkOptionsType(typ string) (reflect.Type, bool) {
	switch typ {
	case "jsonl", "stdout", "file":
		return reflect.TypeFor[jsonl.Config](), true
	case "webhook":
		return reflect.TypeFor[webhook.Config](), true
	case "slack":
		return reflect.TypeFor[slack.Config](), true
	case "syslog":
		return reflect.TypeFor[syslog.Config](), true
	}
	return nil, false
}

// checkKeys reports the keys of n that type t has no field for, with their
// path and line, and the nearest known key.
func checkKeys(n *yaml.Node, t reflect.Type, path string, add func(line int, key, msg string)) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeFor[sinkConfig]():
		checkSinkKeys(n, path, add)
		return
	case reflect.PointerTo(t).Implements(reflect.TypeFor[yaml.Unmarshaler]()):
		return // it checks its own keys
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return // the decoder reports the wrong kind, with its line
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := joinKey(path, k.Value)
			ft, ok := fields[k.Value]
			if !ok {
				add(k.Line, p, unknownKey(k.Value, fields))
				continue
			}
			checkKeys(v, ft, p, add)
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, v := range n.Content {
			checkKeys(v, t.Elem(), fmt.Sprintf("%s[%d]", path, i), add)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			checkKeys(n.Content[i+1], t.Elem(), joinKey(path, n.Content[i].Value), add)
		}
	}
}

// checkSinkKeys checks a sink's keys against the options of its type.
func checkSinkKeys(n *yaml.Node, path string, add func(line int, key, msg string)) {
	if n.Kind != yaml.MappingNode {
		return
	}
	var typ string
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "type" {
			typ = n.Content[i+1].Value
		}
	}
	opts, ok := sinkOptionsType(typ)
	if !ok {
		return // validation names the unknown type
	}
	fields := yamlFields(opts)
	fields["type"], fields["name"] = reflect.TypeFor[string](), reflect.TypeFor[string]()
	fields["delivery"] = reflect.TypeFor[sinks.DeliveryOptions]()
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := joinKey(path, k.Value)
		ft, ok := fields[k.Value]
		if !ok {
			add(k.Line, p, fmt.Sprintf("%s (a %s sink)", unknownKey(k.Value, fields), typ))
			continue
		}
		checkKeys(v, ft, p, add)
	}
}

// checkSinkOptions decodes a sink's options and delivery section the way
// openSink does, without building the sink.
func checkSinkOptions(s sinkConfig) error {
	t, ok := sinkOptionsType(s.Type)
	if !ok {
		return fmt.Errorf("unknown type %q (want jsonl, webhook, slack or syslog)", s.Type)
	}
	if err := s.options.Decode(reflect.New(t).Interface()); err != nil {
		return err
	}
	var d sinks.DeliveryOptions
	if s.delivery.Kind != 0 {
		if err := s.delivery.Decode(&d); err != nil {
			return fmt.Errorf("delivery: %w", err)
		}
	}
	return d.Validate()
}

// yamlFields maps the YAML keys of a struct type, inline structs included,
// to their types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if slices.Contains(strings.Split(opts, ","), "inline") {
			for k, v := range yamlFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

// unknownKey says a key is unknown, and which known key it is nearest to.
func unknownKey(key string, known map[string]reflect.Type) string {
	names := make([]string, 0, len(known))
	for k := range known {
		names = append(names, k)
	}
	slices.Sort(names)
	best, dist := "", 3 // further than 2 edits is no longer a typo
	for _, k := range names {
		if d := editDistance(key, k); d < dist {
			best, dist = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf("unknown key %q; did you mean %q?", key, best)
	}
	return fmt.Sprintf("unknown key %q; known keys: %s", key, strings.Join(names, ", "))
}

// editDistance is the Levenshtein distance of two keys.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
