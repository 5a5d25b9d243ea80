package collector

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weft-dev/weft/event"
)

func discard(*event.Raw) error { return nil }

// BenchmarkReadEVTX reads a real Sysmon log of 358 records (1.1 MB).
func BenchmarkReadEVTX(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(corpusDir(b, "evtx-dirty"), "sysmon.evtx"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ReadEVTX(context.Background(), bytes.NewReader(data), int64(len(data)), "sysmon.evtx", Options{}, discard, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadXML reads the positive fixture repeated to about 1 MB.
func BenchmarkReadXML(b *testing.B) {
	one, err := os.ReadFile(fixture(b, "mmc-positive.xml"))
	if err != nil {
		b.Fatal(err)
	}
	data := strings.Repeat(string(one), (1<<20)/len(one))
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ReadXML(context.Background(), strings.NewReader(data), "bench.xml", Options{}, discard, nil); err != nil {
			b.Fatal(err)
		}
	}
}
