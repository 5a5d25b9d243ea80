package normalizer

import (
	"encoding/binary"
	"math/bits"
	"strings"
)

// commandLineToArgv splits a Windows command line into arguments exactly as
// the pipeline's painless script does (a port of Go's pre-1.11
// syscall.CommandLineToArgv, after CommandLineToArgvW): spaces and tabs
// separate arguments outside double quotes; 2n backslashes before a quote
// give n backslashes and the quote toggles quoting; 2n+1 backslashes give
// n backslashes and a literal quote; backslashes elsewhere are literal; and
// inside quotes a doubled quote gives a literal quote and ends the quoting
// (the "prior to 2008" rule). The script works on UTF-16 units and we on
// bytes: every byte it acts on is ASCII, so the result is the same.
//
// The arguments are appended to args.
func commandLineToArgv(args []string, cmd string) []string {
	for len(cmd) > 0 {
		if cmd[0] == ' ' || cmd[0] == '\t' {
			cmd = cmd[1:]
			continue
		}
		var arg string
		arg, cmd = readNextArg(cmd)
		args = append(args, arg)
	}
	return args
}

// readNextArg returns the next argument of cmd and the rest of the line.
func readNextArg(cmd string) (arg, rest string) {
	// Most arguments are plain text up to a space, or one quoted run of
	// text without inner quotes or a backslash before the closing quote:
	// those are slices of cmd, found without the full rules.
	if cmd[0] != '"' {
		i := indexArgEnd(cmd)
		switch {
		case i < 0:
			return cmd, ""
		case cmd[i] == '"':
			return readQuotedArg(cmd)
		}
		return cmd[:i], cmd[i+1:]
	}
	if j := strings.IndexByte(cmd[1:], '"') + 1; j > 0 && cmd[j-1] != '\\' {
		switch {
		case j+1 == len(cmd):
			return cmd[1:j], ""
		case cmd[j+1] == ' ' || cmd[j+1] == '\t':
			return cmd[1:j], cmd[j+2:]
		}
	}
	return readQuotedArg(cmd)
}

// readQuotedArg is readNextArg for an argument with quotes, by the full
// rules.
func readQuotedArg(cmd string) (arg, rest string) {
	a := argBuilder{cmd: cmd}
	inQuote := false
	nSlash := 0
	for i := 0; i < len(cmd); i++ {
		c := cmd[i]
		switch c {
		case ' ', '\t':
			if !inQuote {
				a.slashes(i, nSlash)
				return a.String(), cmd[i+1:]
			}
		case '"':
			// n backslashes before a quote give n/2 backslashes.
			a.slashes(i-nSlash+nSlash/2, nSlash/2)
			if nSlash%2 == 0 {
				if inQuote && i+1 < len(cmd) && cmd[i+1] == '"' {
					a.at(i + 1)
					i++
				}
				inQuote = !inQuote
			} else {
				a.at(i)
			}
			nSlash = 0
			continue
		case '\\':
			nSlash++
			continue
		}
		a.slashes(i, nSlash)
		nSlash = 0
		a.at(i)
	}
	a.slashes(len(cmd), nSlash)
	return a.String(), ""
}

// argBuilder collects an argument. Every byte it is given is the byte of
// cmd at some index; while those indexes follow one another the argument
// is a slice of cmd and nothing is copied.
type argBuilder struct {
	cmd        string
	start, end int
	buf        []byte
	copied     bool
}

// at adds cmd[i] to the argument.
func (a *argBuilder) at(i int) {
	if !a.copied {
		switch {
		case a.start == a.end:
			a.start, a.end = i, i+1
			return
		case a.end == i:
			a.end++
			return
		}
		a.copied = true
		a.buf = append(make([]byte, 0, len(a.cmd)), a.cmd[a.start:a.end]...)
	}
	a.buf = append(a.buf, a.cmd[i])
}

// slashes adds the n backslashes of cmd that end just before index i.
func (a *argBuilder) slashes(i, n int) {
	for k := i - n; k < i; k++ {
		a.at(k)
	}
}

func (a *argBuilder) String() string {
	if a.copied {
		return string(a.buf)
	}
	return a.cmd[a.start:a.end]
}

// indexArgEnd is the index of the first space, tab or double quote of s,
// or -1: eight bytes at a time, as command lines run long.
func indexArgEnd(s string) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	// zeroes has the high bit of the first zero byte of x set (and maybe
	// of later ones: only the first counts).
	zeroes := func(x uint64) uint64 { return (x - ones) &^ x & highs }
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := binary.LittleEndian.Uint64([]byte(s[i : i+8]))
		if m := zeroes(x^(' '*ones)) | zeroes(x^('\t'*ones)) | zeroes(x^('"'*ones)); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c == ' ' || c == '\t' || c == '"' {
			return i
		}
	}
	return -1
}
