package collector

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weft-dev/weft/event"
)

// nonEventXML is a scheduled task's definition, as KAPE collects them by
// the dozen: XML, and no event log.
const nonEventXML = `<?xml version="1.0"?>
<!DOCTYPE Task>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo>
    <Author>Microsoft</Author>
  </RegistrationInfo>
  <Triggers><LogonTrigger><Enabled>true</Enabled></LogonTrigger></Triggers>
  <Actions Context="Author"><Exec><Command>C:\x.exe</Command></Exec></Actions>
</Task>
`

// TestDetectFormatByContent: NDJSON is told by its "{", whatever the
// name; JSON is UTF-8, so a "{" in UTF-16 is no format of weft's.
func TestDetectFormatByContent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, content string
		want                Format
	}{
		{"ndjson", "a.json", `{"winlog":{}}` + "\n", FormatNDJSON},
		{"ndjson without a json name", "events.log", "\n  {\"a\":1}", FormatNDJSON},
		{"ndjson after utf-8 bom", "a", "\xEF\xBB\xBF{}", FormatNDJSON},
		{"json in utf-16", "a.json", utf16LE("{}", true), FormatUnknown},
		{"json array", "a.json", "[{}]", FormatUnknown},
		{"xml named json", "a.json", "<Event/>", FormatXML},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := writeTree(t, map[string]string{tc.file: tc.content})
			got, err := DetectFormat(filepath.Join(root, tc.file))
			if got != tc.want || (err != nil) != (tc.want == FormatUnknown) {
				t.Errorf("format %v (error %v), want %v", got, err, tc.want)
			}
			if got := SniffFormat([]byte(tc.content)); got != tc.want && !strings.HasSuffix(tc.file, ".json") {
				t.Errorf("SniffFormat: %v, want %v", got, tc.want)
			}
		})
	}
}

// TestExpandFindsNDJSON: a folder's NDJSON files are inputs like its EVTX
// and XML files, in every command, told by content.
func TestExpandFindsNDJSON(t *testing.T) {
	t.Parallel()
	root := writeTree(t, map[string]string{
		"c/a.json":      `{"winlog":{}}`,
		"c/b.ndjson":    "\n{}",
		"c/c.xml":       "<Event/>",
		"c/d.txt":       "text",
		"c/e.json":      "[1,2]",
		"c/f-task.xml":  nonEventXML,
		"c/g-no-suffix": `{"event":{}}`,
	})
	var reports []string
	got := Expand([]string{filepath.Join(root, "c")}, func(err error) { reports = append(reports, err.Error()) })
	want := map[string]Format{"a.json": FormatNDJSON, "b.ndjson": FormatNDJSON, "c.xml": FormatXML, "f-task.xml": FormatXML, "g-no-suffix": FormatNDJSON}
	if len(got) != len(want) || len(reports) != 0 {
		t.Fatalf("inputs %v, reports %q; want %v", got, reports, want)
	}
	for _, in := range got {
		if f, ok := want[filepath.Base(in.Path)]; !ok || f != in.Format {
			t.Errorf("%s: %v, want %v", in.Path, in.Format, f)
		}
	}
}

// TestNonEventDocumentIsOneError: a file or standard input that is XML of
// another kind is skipped with one error wrapping ErrNotEventLog, however
// many lines and elements it has; a DOCTYPE before an event's root is
// still reported, and the stream reader (listeners) still reads past a
// foreign element.
func TestNonEventDocumentIsOneError(t *testing.T) {
	t.Parallel()
	good := strings.TrimSpace(readFixture(t, "mmc-positive.xml"))
	tests := []struct {
		name, content string
		events        int
		reports       []string
		err           string
	}{
		{"scheduled task", nonEventXML, 0, nil, ":3: offset 0x26: not an event log: an XML document of <Task>, not <Event> or <Events>"},
		{"html", "<html>\n<body>\n<p>a</p>\n<p>b</p>\n</body>\n</html>\n", 0, nil, "an XML document of <html>"},
		{"events with a doctype", "<!DOCTYPE Events>\n" + good, 7, []string{"DOCTYPE"}, ""},
		{"events", good, 7, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(writeTree(t, map[string]string{"f.xml": tc.content}), "f.xml")
			for _, via := range []string{"file", "stdin"} {
				emit, report, res := collect(t)
				var err error
				if via == "file" {
					_, err = ReadFile(context.Background(), path, Options{}, emit, report)
				} else {
					_, err = Read(context.Background(), Input{Path: Stdin}, strings.NewReader(tc.content), Options{}, emit, report)
				}
				if len(res.events) != tc.events || len(res.errs) != len(tc.reports) {
					t.Errorf("%s: %d events, reports %q; want %d, %q", via, len(res.events), res.errorText(), tc.events, tc.reports)
				}
				for i, r := range tc.reports {
					if i < len(res.errs) && !strings.Contains(res.errs[i].Error(), r) {
						t.Errorf("%s: report %q, want %q", via, res.errs[i], r)
					}
				}
				switch {
				case tc.err == "" && err != nil:
					t.Errorf("%s: %v", via, err)
				case tc.err != "" && (err == nil || !errors.Is(err, ErrNotEventLog) || !IsInputError(err) || !strings.Contains(err.Error(), tc.err)):
					t.Errorf("%s: error %v, want an input error wrapping ErrNotEventLog saying %q", via, err, tc.err)
				}
			}
		})
	}
	// A stream (a TCP connection) is no document: a foreign element is
	// reported once and the events after it are read.
	emit, report, res := collect(t)
	if _, err := ReadXML(context.Background(), strings.NewReader("<html>\n<p>x</p>\n</html>\n"+good), "peer", Options{}, emit, report); err != nil || len(res.events) != 7 || len(res.errs) != 1 {
		t.Errorf("stream: %v, %d events, reports %q", err, len(res.events), res.errorText())
	}
}

// TestReadStdinByContent: standard input is EVTX, XML or NDJSON by its
// first bytes, as files are; EVTX is spooled to a temporary file, which is
// gone afterwards; anything else is one error.
func TestReadStdinByContent(t *testing.T) {
	t.Parallel()
	evtx, err := os.ReadFile(filepath.Join(repoRoot(t), "testdata", "evtx", "mmc-positive.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	xml := readFixture(t, "mmc-positive.xml")
	ndjson := func(_ context.Context, r io.Reader, name string, _ Options, emit EmitFunc, _ ReportFunc) (Stats, error) {
		// A stand-in for jsonevent.ReadNDJSONDocument: an event per line.
		sc := bufio.NewScanner(r)
		var st Stats
		for sc.Scan() {
			if err := emit(&event.Raw{Computer: sc.Text(), Origin: event.Origin{Path: name}}); err != nil {
				return st, err
			}
			st.Records++
		}
		return st, sc.Err()
	}
	tests := []struct {
		name   string
		input  []byte
		opts   Options
		events int
		err    string
	}{
		{"evtx", evtx, Options{}, 92, ""},
		{"xml", []byte(xml), Options{}, 7, ""},
		{"xml in utf-16", []byte(utf16LE(xml, true)), Options{}, 7, ""},
		{"ndjson", []byte("{\"a\":1}\n{\"b\":2}\n"), Options{ReadNDJSON: ndjson}, 2, ""},
		{"ndjson without a reader", []byte("{}\n"), Options{}, 0, "-: not an event log: NDJSON is not read here"},
		{"text", []byte("hello\nworld\n"), Options{}, 0, "-: offset 0x0: not an event log: starts with neither"},
		{"empty", nil, Options{}, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			emit, report, res := collect(t)
			st, err := Read(context.Background(), Input{Path: Stdin}, bytes.NewReader(tc.input), tc.opts, emit, report)
			if len(res.events) != tc.events || st.Records != tc.events || len(res.errs) != 0 {
				t.Errorf("%d events (stats %+v), reports %q; want %d events", len(res.events), st, res.errorText(), tc.events)
			}
			if (tc.err == "") != (err == nil) || (err != nil && (!strings.Contains(err.Error(), tc.err) || !IsInputError(err))) {
				t.Errorf("error %v, want %q", err, tc.err)
			}
			for _, e := range res.events {
				if e.Origin.Path != Stdin {
					t.Fatalf("origin %+v, want the path %q", e.Origin, Stdin)
				}
			}
		})
	}
}

// TestReadEVTXStreamStops: a spool that ctx ends stops with ctx's error.
func TestReadEVTXStreamStops(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := ReadEVTXStream(ctx, strings.NewReader("ElfFile\x00"), Stdin, Options{}, func(*event.Raw) error { return nil }, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

func readFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(fixture(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
