package collector

import (
	"io"
	"log"
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	// golang-evtx writes a stack trace to the standard logger for every
	// damaged record it meets; the tests meet hundreds on purpose.
	log.SetOutput(io.Discard)
	os.Exit(m.Run())
}
