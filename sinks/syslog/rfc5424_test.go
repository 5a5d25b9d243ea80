package syslog

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// parsed is an RFC 5424 message split into its fields by a parser written
// from the RFC's ABNF, independent of the formatter.
type parsed struct {
	pri                                     int
	version                                 int
	timestamp, hostname, app, procID, msgID string
	sd                                      []sdElement
	msg                                     []byte
}

type sdElement struct {
	id     string
	params [][2]string
}

func (p parsed) param(name string) (string, bool) {
	for _, e := range p.sd {
		for _, kv := range e.params {
			if kv[0] == name {
				return kv[1], true
			}
		}
	}
	return "", false
}

func parse5424(b []byte) (parsed, error) {
	var p parsed
	if len(b) == 0 || b[0] != '<' {
		return p, fmt.Errorf("no PRI")
	}
	end := bytes.IndexByte(b, '>')
	if end < 2 || end > 4 {
		return p, fmt.Errorf("bad PRI")
	}
	pri, err := strconv.Atoi(string(b[1:end]))
	if err != nil || pri > 191 {
		return p, fmt.Errorf("bad PRI %q", b[1:end])
	}
	p.pri = pri
	rest := b[end+1:]
	field := func(name string, max int) (string, error) {
		i := bytes.IndexByte(rest, ' ')
		if i < 1 {
			return "", fmt.Errorf("%s: missing", name)
		}
		f := string(rest[:i])
		rest = rest[i+1:]
		if len(f) > max {
			return "", fmt.Errorf("%s: %d characters, over %d", name, len(f), max)
		}
		for _, c := range []byte(f) {
			if c < 33 || c > 126 {
				return "", fmt.Errorf("%s: byte %#x is not PRINTUSASCII", name, c)
			}
		}
		return f, nil
	}
	v, err := field("VERSION", 3)
	if err != nil {
		return p, err
	}
	if p.version, err = strconv.Atoi(v); err != nil {
		return p, fmt.Errorf("VERSION %q", v)
	}
	for _, f := range []struct {
		dst  *string
		name string
		max  int
	}{{&p.timestamp, "TIMESTAMP", 32}, {&p.hostname, "HOSTNAME", 255}, {&p.app, "APP-NAME", 48}, {&p.procID, "PROCID", 128}, {&p.msgID, "MSGID", 32}} {
		if *f.dst, err = field(f.name, f.max); err != nil {
			return p, err
		}
	}
	if len(rest) > 0 && rest[0] == '-' {
		rest = rest[1:]
	} else {
		for len(rest) > 0 && rest[0] == '[' {
			var e sdElement
			i := 1
			for i < len(rest) && rest[i] != ' ' && rest[i] != ']' {
				i++
			}
			e.id = string(rest[1:i])
			if !sdName(e.id) {
				return p, fmt.Errorf("SD-ID %q is not an SD-NAME", e.id)
			}
			rest = rest[i:]
			for len(rest) > 0 && rest[0] == ' ' {
				eq := bytes.IndexByte(rest, '=')
				if eq < 0 || eq+1 >= len(rest) || rest[eq+1] != '"' {
					return p, fmt.Errorf("SD-PARAM without =\"")
				}
				name := string(rest[1:eq])
				if !sdName(name) {
					return p, fmt.Errorf("PARAM-NAME %q is not an SD-NAME", name)
				}
				var val []byte
				j := eq + 2
				for ; j < len(rest) && rest[j] != '"'; j++ {
					if rest[j] == '\\' && j+1 < len(rest) && strings.IndexByte(`"\]`, rest[j+1]) >= 0 {
						j++
					} else if rest[j] == ']' {
						return p, fmt.Errorf("PARAM-VALUE of %s has an unescaped ]", name)
					}
					val = append(val, rest[j])
				}
				if j >= len(rest) {
					return p, fmt.Errorf("PARAM-VALUE of %s is not closed", name)
				}
				e.params = append(e.params, [2]string{name, string(val)})
				rest = rest[j+1:]
			}
			if len(rest) == 0 || rest[0] != ']' {
				return p, fmt.Errorf("SD-ELEMENT %s is not closed", e.id)
			}
			rest = rest[1:]
			p.sd = append(p.sd, e)
		}
		if len(p.sd) == 0 {
			return p, fmt.Errorf("no STRUCTURED-DATA")
		}
	}
	if len(rest) > 0 {
		if rest[0] != ' ' {
			return p, fmt.Errorf("no SP before MSG")
		}
		p.msg = rest[1:]
	}
	return p, nil
}

func sdName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, c := range []byte(s) {
		if c < 33 || c > 126 || c == '=' || c == ']' || c == '"' || c == ' ' {
			return false
		}
	}
	return true
}

// readFrame reads one RFC 6587 octet-counted frame.
func readFrame(r *bufio.Reader) ([]byte, error) {
	n, err := r.ReadString(' ')
	if err != nil {
		return nil, err
	}
	size, err := strconv.Atoi(strings.TrimSuffix(n, " "))
	if err != nil || size <= 0 || strings.HasPrefix(n, "0") {
		return nil, fmt.Errorf("bad MSG-LEN %q", n)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}
