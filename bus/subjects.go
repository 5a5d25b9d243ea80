package bus

import (
	"hash/fnv"
	"net/url"
	"strconv"
	"strings"
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

// Subject builds "prefix.token" with the token made safe for NATS: lower
// case, and the characters that NATS gives meaning to (". * >" and
// whitespace) replaced by "_".
func Subject(prefix, key string) string {
	if key == "" {
		key = "_"
	}
	var sb strings.Builder
	sb.Grow(len(prefix) + 1 + len(key))
	sb.WriteString(prefix)
	sb.WriteByte('.')
	for _, r := range strings.ToLower(key) {
		switch {
		case r == '.' || r == '*' || r == '>' || r <= ' ' || r == 0x7f:
			sb.WriteByte('_')
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

// PartitionOf is the partition, of n, of a host's events: FNV-1a of the
// host's subject token (as Subject makes it) modulo n, which is what the
// streams' partition(n,1) subject mapping computes. A host is in the same
// partition of the raw and the ECS stream.
func PartitionOf(host string, n int) int {
	if n <= 1 {
		return 0
	}
	subject := Subject("", host)
	h := fnv.New32a()
	h.Write([]byte(subject[1:]))
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
