package collector

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Format is the kind of event log a file holds.
type Format int

const (
	FormatUnknown Format = iota
	FormatEVTX
	FormatXML
	// FormatNDJSON is one JSON document per line (Winlogbeat's file
	// output, OpenWEC's Json, weft normalize's ECS documents). The
	// collector reads it with Options.ReadNDJSON.
	FormatNDJSON
)

func (f Format) String() string {
	switch f {
	case FormatEVTX:
		return "evtx"
	case FormatXML:
		return "xml"
	case FormatNDJSON:
		return "ndjson"
	}
	return "unknown"
}

// Input is one file to read and the format it was found to hold.
type Input struct {
	Path   string
	Format Format
}

// DetectFormat tells a file's format by its first bytes: the EVTX magic,
// "<" after an optional byte order mark and whitespace (UTF-8 or UTF-16),
// or "{" (UTF-8) for NDJSON.
// Failing that it goes by the extension (.evtx, .xml), which lets an EVTX
// file with a damaged header still be read. Otherwise it returns an error
// wrapping ErrNotEventLog.
func DetectFormat(path string) (Format, error) {
	f, err := os.Open(path)
	if err != nil {
		return FormatUnknown, err
	}
	defer f.Close()
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return FormatUnknown, err
	}
	if format := sniffFormat(head[:n]); format != FormatUnknown {
		return format, nil
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".evtx":
		return FormatEVTX, nil
	case ".xml":
		return FormatXML, nil
	}
	return FormatUnknown, fmt.Errorf("%w: starts with neither the EVTX magic, \"<\" nor \"{\"", ErrNotEventLog)
}

// SniffFormat tells the format of a stream by its first bytes, as
// DetectFormat does for a file (without the names to fall back on): for
// standard input, given at least its first 512 bytes or all it holds.
func SniffFormat(head []byte) Format { return sniffFormat(head) }

func sniffFormat(head []byte) Format {
	if strings.HasPrefix(string(head), string(fileMagic)) {
		return FormatEVTX
	}
	enc := sniffEncoding(head)
	var r io.Reader = strings.NewReader(string(head))
	switch enc {
	case encUTF8BOM:
		r = strings.NewReader(string(head[3:]))
	case encUTF16LE, encUTF16BE:
		if len(head) >= 2 && (head[0] == 0xFF || head[0] == 0xFE) {
			head = head[2:]
		}
		r = &utf16Reader{r: strings.NewReader(string(head)), bigEndian: enc == encUTF16BE}
	}
	br := bufio.NewReader(r)
	for {
		c, _, err := br.ReadRune()
		if err != nil {
			return FormatUnknown
		}
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '<':
			return FormatXML
		case '{':
			if enc == encUTF16LE || enc == encUTF16BE {
				return FormatUnknown // JSON is UTF-8
			}
			return FormatNDJSON
		}
		return FormatUnknown
	}
}

// Expand turns command-line arguments into the files to read: a file stands
// for itself, a folder for every EVTX, XML or NDJSON file under it
// (recursively), and a pattern for what it matches (filepath.Match syntax,
// plus "**" for any number of folders). Files are told by their content
// (DetectFormat), whatever their names. Files under folders that are none
// of these are skipped quietly; a file named outright that is none is
// reported. Missing paths, unreadable folders and files, and folders that
// vanish during the walk are reported, and the rest goes on.
//
// Each argument's files come sorted by path, arguments in the order given,
// and a file reached twice is listed once. Standard input ("-") is not a
// path: callers read it with ReadXML.
func Expand(args []string, report ReportFunc) []Input {
	e := expander{rep: reporter{fn: report}, seen: map[string]bool{}}
	for _, arg := range args {
		e.arg(arg)
	}
	return e.out
}

type expander struct {
	rep  reporter
	seen map[string]bool
	out  []Input
}

func (e *expander) fail(path string, err error) {
	e.rep.report(fileError(path, err))
}

func (e *expander) arg(arg string) {
	if !hasMeta(arg) {
		info, err := os.Stat(arg)
		if err != nil {
			e.fail(arg, err)
			return
		}
		if info.IsDir() {
			if e.walk(arg, nil) == 0 {
				e.fail(arg, errors.New("folder holds no EVTX, XML or NDJSON file"))
			}
		} else {
			e.file(arg, info)
		}
		return
	}
	matches, root, match, err := glob(arg)
	if err != nil {
		e.fail(arg, err)
		return
	}
	if match != nil {
		if e.walk(root, match) == 0 {
			e.fail(arg, errors.New("pattern matches no EVTX, XML or NDJSON file"))
		}
		return
	}
	if len(matches) == 0 {
		e.fail(arg, errors.New("pattern matches no file"))
		return
	}
	for _, m := range matches {
		info, err := os.Stat(m)
		if err != nil {
			e.fail(m, err)
			continue
		}
		if info.IsDir() {
			e.walk(m, nil)
		} else {
			e.file(m, info)
		}
	}
}

// walk adds the files under root; match, when set, filters their paths.
// It returns how many it found.
func (e *expander) walk(root string, match func(string) bool) int {
	var found []Input
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			// An unreadable or vanished entry: say so, keep walking.
			e.fail(path, err)
			if d != nil && d.IsDir() && path != root {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() || (match != nil && !match(path)) {
			return nil
		}
		info, err := os.Stat(path) // follows a symbolic link to a file
		if err != nil {
			e.fail(path, err)
			return nil
		}
		if info.Mode().IsRegular() {
			if in, ok := e.detect(path, false); ok {
				found = append(found, in)
			}
		}
		return nil
	})
	if err != nil {
		e.fail(root, err)
	}
	// WalkDir goes in lexical order already; sorting again keeps the
	// promise should that change.
	slices.SortFunc(found, func(a, b Input) int { return strings.Compare(a.Path, b.Path) })
	for _, in := range found {
		e.add(in)
	}
	return len(found)
}

func (e *expander) file(path string, info fs.FileInfo) {
	if !info.Mode().IsRegular() {
		e.fail(path, fmt.Errorf("%w: not a regular file", ErrNotEventLog))
		return
	}
	if in, ok := e.detect(path, true); ok {
		e.add(in)
	}
}

func (e *expander) detect(path string, named bool) (Input, bool) {
	format, err := DetectFormat(path)
	if err != nil {
		if named || !errors.Is(err, ErrNotEventLog) {
			e.fail(path, err)
		}
		return Input{}, false
	}
	return Input{Path: path, Format: format}, true
}

func (e *expander) add(in Input) {
	if !e.seen[in.Path] {
		e.seen[in.Path] = true
		e.out = append(e.out, in)
	}
}

func hasMeta(path string) bool {
	return strings.ContainsAny(path, `*?[`)
}

// glob expands pattern. Without "**" it is filepath.Glob, sorted. With it,
// it returns the folder to walk (the part before the first wildcard) and a
// matcher for the paths under it.
func glob(pattern string) (matches []string, root string, match func(string) bool, err error) {
	if !strings.Contains(pattern, "**") {
		matches, err = filepath.Glob(pattern)
		slices.Sort(matches)
		return matches, "", nil, err
	}
	pattern = filepath.Clean(pattern)
	parts := strings.Split(pattern, string(filepath.Separator))
	fixed := 0
	for fixed < len(parts) && !hasMeta(parts[fixed]) {
		fixed++
	}
	root = strings.Join(parts[:fixed], string(filepath.Separator))
	switch {
	case root == "" && filepath.IsAbs(pattern):
		root = string(filepath.Separator)
	case root == "":
		root = "."
	}
	rest := parts[fixed:]
	for _, p := range rest {
		if _, err := filepath.Match(p, ""); err != nil {
			return nil, "", nil, err
		}
	}
	match = func(path string) bool {
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return false
		}
		return matchSegments(rest, strings.Split(rel, string(filepath.Separator)))
	}
	return nil, root, match, nil
}

// matchSegments matches path segments against pattern segments, where a
// "**" segment stands for any number of segments, none included.
func matchSegments(pattern, path []string) bool {
	if len(pattern) == 0 {
		return len(path) == 0
	}
	if pattern[0] == "**" {
		for i := 0; i <= len(path); i++ {
			if matchSegments(pattern[1:], path[i:]) {
				return true
			}
		}
		return false
	}
	if len(path) == 0 {
		return false
	}
	ok, err := filepath.Match(pattern[0], path[0])
	return err == nil && ok && matchSegments(pattern[1:], path[1:])
}

// ReadFile reads one EVTX, XML or NDJSON file, telling which by
// DetectFormat.
// A file that cannot be opened or is neither format is an error, returned;
// problems inside the file go to report.
func ReadFile(ctx context.Context, path string, opts Options, emit EmitFunc, report ReportFunc) (Stats, error) {
	format, err := DetectFormat(path)
	if err != nil {
		return Stats{}, fileError(path, err)
	}
	return ReadInput(ctx, Input{Path: path, Format: format}, opts, emit, report)
}

// ReadInput reads a file whose format Expand has found.
func ReadInput(ctx context.Context, in Input, opts Options, emit EmitFunc, report ReportFunc) (Stats, error) {
	if opts.Counters != nil {
		defer opts.Counters.Files.Add(1)
	}
	f, err := os.Open(in.Path)
	if err != nil {
		return Stats{}, fileError(in.Path, err)
	}
	defer f.Close()
	switch in.Format {
	case FormatEVTX:
		info, err := f.Stat()
		if err != nil {
			return Stats{}, fileError(in.Path, err)
		}
		return ReadEVTX(ctx, f, info.Size(), in.Path, opts, emit, report)
	case FormatXML:
		return readXMLDocument(ctx, f, in.Path, opts, emit, report)
	case FormatNDJSON:
		if opts.ReadNDJSON != nil {
			return opts.ReadNDJSON(ctx, f, in.Path, opts, emit, report)
		}
	}
	return Stats{}, &Error{Path: in.Path, Chunk: -1, Offset: -1, Err: fmt.Errorf("%w: format %s", ErrNotEventLog, in.Format)}
}
