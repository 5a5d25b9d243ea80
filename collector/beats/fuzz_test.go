package beats

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/collector/listen"
	"github.com/weft-dev/weft/collector/listen/listentest"
	"github.com/weft-dev/weft/event"
)

// FuzzReadWindow: whatever a peer sends, reading windows ends (every
// window consumes input or fails), never panics, and stays within the
// configured bounds.
func FuzzReadWindow(f *testing.F) {
	docs := winlogbeatDocs(f)
	doc := docs[0].(json.RawMessage)
	f.Add(append(windowFrame(1), eventFrame(1, doc)...))
	f.Add(append(windowFrame(2), compressedFrame(f, append(eventFrame(1, doc), eventFrame(2, []byte(`{"x":1}`))...))...))
	f.Add(append(windowFrame(1), []byte{'2', 'J', 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff}...))
	f.Add([]byte{'1', 'W', 0, 0, 0, 1})
	f.Add(append(windowFrame(0), windowFrame(1)...))

	const maxBatch = 1 << 16
	l, err := listen.Open(listen.KindBeats, listen.Config{Listen: "127.0.0.1:0", MaxEventSize: 4 << 10, MaxBatchBytes: maxBatch}, zerolog.Nop())
	if err != nil {
		f.Fatal(err)
	}
	defer l.Close()
	b := listentest.OpenBus(f, bus.Config{})
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &session{
			l: l, c: &listen.Conn{Peer: "fuzz"}, in: bufio.NewReader(bytes.NewReader(data)),
			out: bus.NewBatcher[*event.Raw](b, "raw"), log: zerolog.Nop(),
		}
		for range len(data) + 1 {
			w, err := s.readWindow(context.Background())
			if err != nil {
				return
			}
			if w.count > maxWindow || w.bytes > maxBatch {
				t.Fatalf("window of %d events, %d bytes accepted", w.count, w.bytes)
			}
		}
		t.Fatal("more windows than input bytes")
	})
}
