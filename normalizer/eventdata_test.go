package normalizer

import (
	"strings"
	"testing"
)

func TestHasNewline(t *testing.T) {
	t.Parallel()
	for n := 0; n < 80; n++ {
		for at := -1; at < n; at++ {
			b := []byte(strings.Repeat("\x0b\x09a\x8a", 20)[:n])
			if at >= 0 {
				b[at] = '\n'
			}
			if got := hasNewline(string(b)); got != (at >= 0) {
				t.Fatalf("hasNewline(%q) = %v", b, got)
			}
		}
	}
}
