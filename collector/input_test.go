package collector

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/weft-dev/weft/event"
)

// writeTree makes files (path → content) under a new temporary folder.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		path := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestDetectFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, content string
		want                Format
	}{
		{"evtx magic", "a.bin", "ElfFile\x00rest", FormatEVTX},
		{"evtx magic, xml name", "a.xml", "ElfFile\x00rest", FormatEVTX},
		{"xml", "a", "<Event/>", FormatXML},
		{"xml after whitespace", "a.log", " \r\n\t<Events>", FormatXML},
		{"xml after utf-8 bom", "a", "\xEF\xBB\xBF<?xml?>", FormatXML},
		{"xml in utf-16le", "a", utf16LE("\n<Event/>", true), FormatXML},
		{"xml in utf-16le without bom", "a", utf16LE("<Event/>", false), FormatXML},
		{"damaged evtx by name", "a.EVTX", "\x00\x00garbage", FormatEVTX},
		{"empty xml by name", "a.xml", "", FormatXML},
		{"text", "a.txt", "hello", FormatUnknown},
		{"empty", "a", "", FormatUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := writeTree(t, map[string]string{tc.file: tc.content})
			got, err := DetectFormat(filepath.Join(root, tc.file))
			if got != tc.want {
				t.Errorf("format %v, want %v", got, tc.want)
			}
			if (err != nil) != (tc.want == FormatUnknown) || (err != nil && !errors.Is(err, ErrNotEventLog)) {
				t.Errorf("error %v", err)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	t.Parallel()
	const evtxFile, xmlFile = "ElfFile\x00", "<Event/>"
	root := writeTree(t, map[string]string{
		"logs/b.evtx":                evtxFile,
		"logs/a.xml":                 xmlFile,
		"logs/notes.txt":             "not a log",
		"logs/forwarded":             "\n" + xmlFile,
		"logs/sub/c.evtx":            evtxFile,
		"logs/sub/deep/d.evtx":       evtxFile,
		"logs/sub/deep/damaged.evtx": "\x00\x00\x00",
		"empty/readme.md":            "nothing here",
	})
	if err := os.Symlink(filepath.Join(root, "gone.evtx"), filepath.Join(root, "logs", "sub", "dangling.evtx")); err != nil {
		t.Fatal(err)
	}
	p := func(rel string) string { return filepath.Join(root, filepath.FromSlash(rel)) }
	tests := []struct {
		name    string
		args    []string
		want    []string // relative paths
		reports []string // one substring per report
	}{
		{"folder, recursive and sorted", []string{"logs"},
			[]string{"logs/a.xml", "logs/b.evtx", "logs/forwarded", "logs/sub/c.evtx", "logs/sub/deep/d.evtx", "logs/sub/deep/damaged.evtx"},
			[]string{"dangling.evtx: no such file or directory"}},
		{"file named outright", []string{"logs/b.evtx", "logs/a.xml"}, []string{"logs/b.evtx", "logs/a.xml"}, nil},
		{"named file neither format", []string{"logs/notes.txt"}, nil, []string{"notes.txt: not an event log"}},
		{"missing path, then the rest", []string{"logs/none.evtx", "logs/b.evtx"}, []string{"logs/b.evtx"},
			[]string{"none.evtx: no such file or directory"}},
		{"glob", []string{"logs/*.evtx"}, []string{"logs/b.evtx"}, nil},
		{"glob of folders", []string{"logs/s*"}, []string{"logs/sub/c.evtx", "logs/sub/deep/d.evtx", "logs/sub/deep/damaged.evtx"},
			[]string{"dangling.evtx: no such file or directory"}},
		{"double star", []string{"logs/**/deep/*.evtx"}, []string{"logs/sub/deep/d.evtx", "logs/sub/deep/damaged.evtx"}, nil},
		{"double star matches no folder too", []string{"logs/**/b.evtx"}, []string{"logs/b.evtx"}, nil},
		{"glob matching nothing", []string{"logs/*.nothing"}, nil, []string{"pattern matches no file"}},
		{"bad pattern", []string{"logs/[.evtx"}, nil, []string{"syntax error in pattern"}},
		{"folder without logs", []string{"empty"}, nil, []string{"empty: folder holds no EVTX, XML or NDJSON file"}},
		{"each file once, first place kept", []string{"logs/sub/c.evtx", "logs/sub"},
			[]string{"logs/sub/c.evtx", "logs/sub/deep/d.evtx", "logs/sub/deep/damaged.evtx"},
			[]string{"dangling.evtx: no such file or directory"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var args []string
			for _, a := range tc.args {
				args = append(args, p(a))
			}
			var reports []string
			got := Expand(args, func(err error) { reports = append(reports, err.Error()) })
			var want []string
			for _, w := range tc.want {
				want = append(want, p(w))
			}
			var paths []string
			for _, in := range got {
				paths = append(paths, in.Path)
				wantFormat := FormatEVTX
				if strings.HasSuffix(in.Path, ".xml") || strings.HasSuffix(in.Path, "forwarded") {
					wantFormat = FormatXML
				}
				if in.Format != wantFormat {
					t.Errorf("%s: format %v, want %v", in.Path, in.Format, wantFormat)
				}
			}
			if !slices.Equal(paths, want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(paths, "\n"), strings.Join(want, "\n"))
			}
			if len(reports) != len(tc.reports) {
				t.Fatalf("reports %q, want %q", reports, tc.reports)
			}
			for i, r := range reports {
				if !strings.Contains(r, tc.reports[i]) || !strings.HasPrefix(r, root) {
					t.Errorf("report %q, want it to name the path and say %q", r, tc.reports[i])
				}
			}
		})
	}
}

func TestExpandUnreadableFolder(t *testing.T) {
	t.Parallel()
	if os.Geteuid() == 0 {
		t.Skip("permissions do not stop root")
	}
	root := writeTree(t, map[string]string{"logs/a.evtx": "ElfFile\x00", "logs/locked/b.evtx": "ElfFile\x00"})
	locked := filepath.Join(root, "logs", "locked")
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(locked, 0o755) })
	var reports []string
	got := Expand([]string{filepath.Join(root, "logs")}, func(err error) { reports = append(reports, err.Error()) })
	if len(got) != 1 || len(reports) != 1 || !strings.Contains(reports[0], "permission denied") {
		t.Errorf("got %v, reports %q", got, reports)
	}
}

func TestReadFile(t *testing.T) {
	t.Parallel()
	root := writeTree(t, map[string]string{
		"a.txt":  "hello",
		"ev.log": "\n" + ev(5, ""),
		"x.evtx": string(buildEVTX(buildChunk(testRecords(1, 2)))),
	})
	noop := func(*event.Raw) error { return nil }
	if _, err := ReadFile(context.Background(), filepath.Join(root, "a.txt"), Options{}, noop, nil); !errors.Is(err, ErrNotEventLog) {
		t.Errorf("text file: %v", err)
	}
	if _, err := ReadFile(context.Background(), filepath.Join(root, "none"), Options{}, noop, nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	for name, want := range map[string]int{"ev.log": 1, "x.evtx": 2} {
		stats, err := ReadFile(context.Background(), filepath.Join(root, name), Options{}, noop, nil)
		if err != nil || stats.Records != want || stats.Errors != 0 {
			t.Errorf("%s: %+v %v, want %d records", name, stats, err, want)
		}
	}
}
