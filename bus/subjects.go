package bus

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Streams and the subjects they hold. The last subject token is a
// partition key (a host, or a rule for alerts), so consumers can share out
// hosts and each host's events keep their order.
const (
	StreamRaw    = "WEFT_RAW"
	StreamECS    = "WEFT_ECS"
	StreamAlerts = "WEFT_ALERTS"

	SubjectRaw    = "weft.raw"
	SubjectECS    = "weft.ecs"
	SubjectAlerts = "weft.alerts"
)

// Bounds of what a subject may hold. NATS closes a connection whose
// protocol line passes 4,096 bytes, so a subject taken from an event (a
// host name is whatever a sender writes) must never grow with its input.
const (
	// MaxTokenLen is the longest subject token Token makes: a longer key,
	// or one that is not plain ASCII, gets a hashed token instead.
	MaxTokenLen = 255
	// MaxSubjectLen is the longest subject Publish sends.
	MaxSubjectLen = 1024
	// hashPrefixLen is how much of a hashed key stays readable in its
	// token.
	hashPrefixLen = 32
)

// Subject builds "prefix.token" with Token(key) as the token.
func Subject(prefix, key string) string {
	if key != "" && len(key) <= MaxTokenLen {
		// One allocation for the common case: publishers call this for
		// every event.
		var sb strings.Builder
		sb.Grow(len(prefix) + 1 + len(key))
		sb.WriteString(prefix)
		sb.WriteByte('.')
		plain := true
		for i := 0; i < len(key) && plain; i++ {
			var c byte
			c, plain = plainByte(key[i])
			sb.WriteByte(c)
		}
		if plain {
			return sb.String()
		}
	}
	return prefix + "." + Token(key)
}

// Token makes key (a host name, a rule id, a sink name) a subject token
// that NATS accepts and that is at most MaxTokenLen bytes, whatever key
// holds.
//
// A key of at most MaxTokenLen printable ASCII bytes keeps its name: lower
// case, with the characters NATS gives meaning to (". * >"), whitespace
// and control characters replaced by "_". These are the tokens weft has
// always made, so hosts stay in their partitions. Any other key (longer,
// non-ASCII, or holding "~") becomes up to 32 readable characters, "~" and
// 32 hex digits of the SHA-256 of its lower-case form. A plain token never
// holds "~", so a hashed token cannot be taken for a plain one. Two keys
// may share a token ("a.b" and "a_b"); that only puts their events on one
// subject, in one order, which nothing relies on being separate.
func Token(key string) string {
	if key == "" {
		return "_"
	}
	if len(key) <= MaxTokenLen {
		var buf [MaxTokenLen]byte
		tok, plain := buf[:0], true
		for i := 0; i < len(key) && plain; i++ {
			c, ok := plainByte(key[i])
			tok, plain = append(tok, c), ok
		}
		if plain {
			return string(tok)
		}
	}
	var sb strings.Builder
	sb.Grow(hashPrefixLen + 1 + 32)
	n := 0
	for _, r := range key {
		if n == hashPrefixLen {
			break
		}
		c := byte('_')
		if r < utf8.RuneSelf {
			c, _ = plainByte(byte(r))
			if c == '~' {
				c = '_'
			}
		}
		sb.WriteByte(c)
		n++
	}
	sum := sha256.Sum256([]byte(strings.ToLower(key)))
	sb.WriteByte('~')
	sb.WriteString(hex.EncodeToString(sum[:16]))
	return sb.String()
}

// plainByte is the token byte of an ASCII key byte, and whether the key
// can stay plain with it.
func plainByte(c byte) (byte, bool) {
	switch {
	case c >= 'A' && c <= 'Z':
		return c + ('a' - 'A'), true
	case c == '.' || c == '*' || c == '>' || c <= ' ' || c == 0x7f:
		return '_', true
	case c == '~' || c >= utf8.RuneSelf:
		return c, false
	}
	return c, true
}

// ValidSubject reports why NATS would refuse, or misread, subject as the
// subject of a published message: it is empty or longer than
// MaxSubjectLen, has an empty token, a wildcard, whitespace or a control
// character.
func ValidSubject(subject string) error {
	if subject == "" {
		return errors.New("empty subject")
	}
	if len(subject) > MaxSubjectLen {
		return fmt.Errorf("subject of %d bytes, more than %d", len(subject), MaxSubjectLen)
	}
	start := 0
	for i := 0; i <= len(subject); i++ {
		if i == len(subject) || subject[i] == '.' {
			switch tok := subject[start:i]; tok {
			case "":
				return fmt.Errorf("subject %q has an empty token", subject)
			case "*", ">":
				return fmt.Errorf("subject %q has a wildcard", subject)
			}
			start = i + 1
			continue
		}
		if c := subject[i]; c <= ' ' || c == 0x7f {
			return fmt.Errorf("subject %q has a space or control character", subject)
		}
	}
	return nil
}

// PartitionOf is the partition, of n, of a host's events: FNV-1a of the
// host's subject token (Token) modulo n, which is what the streams'
// partition(n,1) subject mapping computes. A host is in the same partition
// of the raw and the ECS stream.
func PartitionOf(host string, n int) int {
	if n <= 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(Token(host)))
	return int(h.Sum32() % uint32(n))
}

// PartitionSubject is the filter of partition p of a partitioned stream's
// subjects: "weft.ecs.3.*" holds the ECS documents of the hosts of
// partition 3.
func PartitionSubject(prefix string, p int) string {
	return prefix + "." + strconv.Itoa(p) + ".*"
}

func redactURL(raw string) string {
	parts := strings.Split(raw, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil && u.User != nil {
			u.User = url.User(u.User.Username())
			parts[i] = u.String()
		}
	}
	return strings.Join(parts, ",")
}
