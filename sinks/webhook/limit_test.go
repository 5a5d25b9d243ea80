package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/sinks"
	"github.com/weft-dev/weft/sinks/internal/alerttest"
)

var cutMarked = regexp.MustCompile(`…\[cut [0-9]{1,3}(,[0-9]{3})* bytes\]$`)

// limitedReceiver answers 413 to bodies over limit bytes, as a proxy or
// an API gateway with a body limit does, and keeps the bodies it took.
type limitedReceiver struct {
	limit    int
	mu       sync.Mutex
	refused  int
	accepted [][]byte
}

func (l *limitedReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(body) > l.limit {
		l.refused++
		http.Error(w, "request entity too large", http.StatusRequestEntityTooLarge)
		return
	}
	l.accepted = append(l.accepted, body)
}

// A receiver whose body limit an alert exceeds gets it in a smaller form,
// saying what was left out and cut, rather than never.
func TestSendShrinksFor413(t *testing.T) {
	t.Parallel()
	cmd := "powershell.exe -EncodedCommand " + strings.Repeat("SQBFAFgA", 600)
	host := strings.Repeat("H", 3000)
	tests := []struct {
		name          string
		limit         int
		wantOmitted   []string
		wantTruncated []string
		wantErr       bool
	}{
		{name: "fits", limit: 1 << 20},
		{name: "without the documents", limit: 12000, wantOmitted: []string{"rule.note", "weft.events"}},
		{name: "cut", limit: 4000, wantOmitted: []string{"rule.note", "weft.events"}, wantTruncated: []string{"message", "host.name"}},
		{name: "refuses everything", limit: 100, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rcv := &limitedReceiver{limit: tt.limit}
			srv := httptest.NewServer(rcv)
			t.Cleanup(srv.Close)
			s := mustNew(t, fastConfig(Config{URL: srv.URL, Secret: "k"}))
			a := alerttest.Seed(cmd)
			a.Host.Name = host
			a.Message = "mmc.exe on " + host + " started " + cmd
			err := s.Send(context.Background(), a)
			rcv.mu.Lock()
			defer rcv.mu.Unlock()
			if tt.wantErr {
				if !sinks.IsPermanent(err) || !strings.Contains(err.Error(), "status 413") {
					t.Fatalf("err = %v, want a permanent 413", err)
				}
				// Each try at most 3/4 of the last refused size: fewer
				// tries than forms.
				forms := 0
				for range sinks.Reductions(a) {
					forms++
				}
				if rcv.refused >= forms {
					t.Errorf("%d tries for %d forms", rcv.refused, forms)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(rcv.accepted) != 1 {
				t.Fatalf("%d bodies accepted", len(rcv.accepted))
			}
			var got struct {
				event.Alert
				Weft struct {
					Events    []event.Document `json:"events"`
					Omitted   []string         `json:"omitted"`
					Truncated []string         `json:"truncated"`
				} `json:"weft"`
			}
			if err := json.Unmarshal(rcv.accepted[0], &got); err != nil {
				t.Fatal(err)
			}
			if got.Event.ID != a.Event.ID || got.Rule.ID != a.Rule.ID {
				t.Errorf("alert %q rule %q", got.Event.ID, got.Rule.ID)
			}
			if strings.Join(got.Weft.Omitted, " ") != strings.Join(tt.wantOmitted, " ") {
				t.Errorf("weft.omitted = %q, want %q", got.Weft.Omitted, tt.wantOmitted)
			}
			for _, p := range tt.wantTruncated {
				if !strings.Contains(" "+strings.Join(got.Weft.Truncated, " ")+" ", " "+p+" ") {
					t.Errorf("weft.truncated = %q, want %s in it", got.Weft.Truncated, p)
				}
			}
			if len(tt.wantTruncated) > 0 && (!cutMarked.MatchString(got.Message) || !cutMarked.MatchString(got.Host.Name)) {
				t.Errorf("message %.30q…, host.name %.30q…: want both cut and marked", got.Message, got.Host.Name)
			}
			if len(tt.wantOmitted) == 0 && len(got.Weft.Events) != 2 {
				t.Errorf("%d events in the whole alert", len(got.Weft.Events))
			}
		})
	}
}
