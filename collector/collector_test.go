package collector

import (
	"errors"
	"io/fs"
	"testing"
)

func TestErrorMessage(t *testing.T) {
	t.Parallel()
	cause := errors.New("bad record size 0")
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Path: "a.evtx", Chunk: 3, Record: 1234, Offset: 0x31200, Err: cause}, "a.evtx: chunk 3: record 1234: offset 0x31200: bad record size 0"},
		{&Error{Path: "a.evtx", Chunk: 0, Offset: 0x1000, Err: cause}, "a.evtx: chunk 0: offset 0x1000: bad record size 0"},
		{&Error{Path: "a.evtx", Chunk: -1, Offset: 0, Err: cause}, "a.evtx: offset 0x0: bad record size 0"},
		{&Error{Path: "-", Chunk: -1, Offset: 0x40, Line: 17, Err: cause}, "-:17: offset 0x40: bad record size 0"},
		{&Error{Path: "logs", Chunk: -1, Offset: -1, Err: fs.ErrNotExist}, "logs: file does not exist"},
		{&Error{Path: "x", Chunk: -1, Offset: -1}, "x: unknown error"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
	if !errors.Is(tests[4].err, fs.ErrNotExist) {
		t.Error("Error does not unwrap to its cause")
	}
}
