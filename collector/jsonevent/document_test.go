package jsonevent

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/weft-dev/weft/collector"
	"github.com/weft-dev/weft/event"
)

// TestReadNDJSONDocument: a file or standard input whose first line is no
// event is skipped with one error wrapping collector.ErrNotEventLog, however
// many lines follow; one that starts with an event reports each bad line
// after it, as a stream does.
func TestReadNDJSONDocument(t *testing.T) {
	t.Parallel()
	good := `{"winlog":{"event_id":"1","record_id":1,"computer_name":"H","channel":"C"}}`
	other := `{"name":"package.json","version":"1.0.0"}`
	tests := []struct {
		name    string
		input   string
		events  int
		reports int
		err     string
	}{
		{"other JSON", other + "\n" + strings.Repeat(other+"\n", 500), 0, 0, "f.json:1: offset 0x0: not an event log: its first line is no Windows event"},
		{"not JSON after a blank line", "\n{ nope\n" + good, 0, 0, "f.json:2: offset 0x1: not an event log"},
		{"events, then other JSON", good + "\n" + other + "\n" + good + "\n", 2, 1, ""},
		{"invalid UTF-8 on the first line is kept", strings.Replace(good, `"C"`, "\"\xc3\x28\"", 1), 1, 1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var events, reports int
			_, err := ReadNDJSONDocument(context.Background(), strings.NewReader(tc.input), "f.json", collector.Options{},
				func(*event.Raw) error { events++; return nil }, func(error) { reports++ })
			if events != tc.events || reports != tc.reports {
				t.Errorf("%d events, %d reports; want %d, %d", events, reports, tc.events, tc.reports)
			}
			if (tc.err == "") != (err == nil) || (err != nil && (!errors.Is(err, collector.ErrNotEventLog) || !collector.IsInputError(err) || !strings.Contains(err.Error(), tc.err))) {
				t.Errorf("error %v, want %q", err, tc.err)
			}
			// A stream reads past a first line that is no event.
			events, reports = 0, 0
			if _, err := ReadNDJSON(context.Background(), strings.NewReader(tc.input), "peer", collector.Options{},
				func(*event.Raw) error { events++; return nil }, func(error) { reports++ }); err != nil || (tc.err != "" && reports == 0) {
				t.Errorf("stream: %v, %d reports", err, reports)
			}
		})
	}
}
