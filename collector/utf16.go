package collector

import (
	"io"
	"unicode/utf16"
	"unicode/utf8"
)

// utf16Reader converts a UTF-16 stream to UTF-8. Windows PowerShell's
// redirection and some export tools write event XML as UTF-16.
type utf16Reader struct {
	r         io.Reader
	bigEndian bool
	in        [2]byte
	out       []byte // converted bytes not yet returned
	high      rune   // a high surrogate waiting for its pair, or 0
}

func (u *utf16Reader) Read(p []byte) (int, error) {
	for len(u.out) == 0 {
		if _, err := io.ReadFull(u.r, u.in[:]); err != nil {
			if u.high != 0 {
				u.out = utf8.AppendRune(u.out, utf8.RuneError)
				u.high = 0
				break
			}
			if err == io.ErrUnexpectedEOF {
				// An odd trailing byte cannot be a character.
				u.out = utf8.AppendRune(u.out, utf8.RuneError)
				break
			}
			return 0, err
		}
		unit := rune(u.in[0]) | rune(u.in[1])<<8
		if u.bigEndian {
			unit = rune(u.in[1]) | rune(u.in[0])<<8
		}
		u.decode(unit)
	}
	n := copy(p, u.out)
	u.out = u.out[n:]
	return n, nil
}

func (u *utf16Reader) decode(unit rune) {
	if u.high != 0 {
		r := utf16.DecodeRune(u.high, unit)
		u.high = 0
		if r != utf8.RuneError {
			u.out = utf8.AppendRune(u.out, r)
			return
		}
		u.out = utf8.AppendRune(u.out, utf8.RuneError)
	}
	switch {
	case utf16.IsSurrogate(unit) && unit < 0xDC00:
		u.high = unit
	case utf16.IsSurrogate(unit):
		u.out = utf8.AppendRune(u.out, utf8.RuneError)
	default:
		u.out = utf8.AppendRune(u.out, unit)
	}
}
