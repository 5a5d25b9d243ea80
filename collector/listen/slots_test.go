package listen

import (
	"net"
	"testing"
	"time"
)

// TestTableVictims: which connection gives way to a newcomer when every
// slot is taken.
func TestTableVictims(t *testing.T) {
	t.Parallel()
	now := time.Now()
	type conn struct {
		peer  string
		state slotState
		quiet bool
		age   time.Duration
	}
	for _, tc := range []struct {
		name     string
		conns    []conn
		newcomer string
		victim   int // index in conns; -1: none
		reason   string
		wake     time.Duration // for none: when to look again (0: only when a slot frees)
	}{
		{"oldest silent one", []conn{{"a", slotOpening, true, 2 * time.Second}, {"b", slotOpening, true, 5 * time.Second}, {"c", slotActive, false, time.Hour}}, "d", 1, ReasonEvicted, 0},
		{"silent, of the newcomer's own peer", []conn{{"a", slotOpening, true, time.Hour}, {"b", slotActive, false, time.Hour}}, "a", -1, "", 0},
		{"silent, not for long yet", []conn{{"a", slotOpening, true, 300 * time.Millisecond}, {"b", slotActive, false, time.Hour}}, "d", -1, "", evictGrace - 300*time.Millisecond},
		{"opening, not waiting on its peer", []conn{{"a", slotOpening, false, time.Hour}, {"b", slotActive, false, time.Hour}}, "d", -1, "", 0},
		{"silent before idle keep-alive", []conn{{"a", slotIdle, false, time.Hour}, {"b", slotOpening, true, 2 * time.Second}}, "d", 1, ReasonEvicted, 0},
		{"idle keep-alive", []conn{{"a", slotIdle, false, 2 * time.Second}, {"b", slotActive, false, time.Hour}}, "d", 0, "", 0},
		{"waiting, of another peer", []conn{{"a", slotActive, false, time.Hour}, {"a", slotWaiting, false, time.Second}, {"a", slotWaiting, false, 0}}, "b", 2, ReasonPeerLimit, 0},
		{"waiting, of the newcomer's own peer", []conn{{"a", slotActive, false, time.Hour}, {"a", slotWaiting, false, time.Second}}, "a", -1, "", 0},
		{"all busy", []conn{{"a", slotActive, false, time.Hour}, {"b", slotActive, false, time.Hour}}, "c", -1, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := newTable(len(tc.conns), 1)
			pipes := make([]net.Conn, len(tc.conns))
			for i, c := range tc.conns {
				pipes[i], _ = net.Pipe()
				s := &slot{peer: c.peer, conn: pipes[i], state: c.state, quiet: c.quiet, since: now.Add(-c.age), turn: make(chan struct{}), held: true}
				tb.slots[s] = struct{}{}
				switch c.state {
				case slotActive, slotIdle:
					tb.active[c.peer]++
				case slotWaiting:
					tb.waiting[c.peer] = append(tb.waiting[c.peer], s)
				}
			}
			newcomer, _ := net.Pipe()
			s, ev, next := tb.take(newcomer, tc.newcomer, now)
			if tc.victim < 0 {
				if s != nil || ev != nil {
					t.Fatalf("a slot taken from %+v", ev)
				}
				if wake := next.Sub(now); (tc.wake == 0) != next.IsZero() || (tc.wake != 0 && wake != tc.wake) {
					t.Errorf("look again in %v, want %v", wake, tc.wake)
				}
				return
			}
			if s == nil || ev == nil {
				t.Fatal("no slot")
			}
			if ev.conn != pipes[tc.victim] || ev.reason != tc.reason {
				t.Errorf("evicted %+v, want connection %d (%q)", ev, tc.victim, tc.reason)
			}
			if len(tb.slots) != len(tc.conns) {
				t.Errorf("%d slots held, want %d", len(tb.slots), len(tc.conns))
			}
		})
	}
}

// TestTableTurns: a peer's connections beyond its limit wait, and take
// their turns in order as its served ones close.
func TestTableTurns(t *testing.T) {
	t.Parallel()
	tb := newTable(10, 2)
	open := func(peer string) *slot {
		c, _ := net.Pipe()
		s, _, _ := tb.take(c, peer, time.Now())
		if s == nil {
			t.Fatal("no slot")
		}
		return s
	}
	a1, a2, a3, a4, b1 := open("a"), open("a"), open("a"), open("a"), open("b")
	var turns []<-chan struct{}
	for _, s := range []*slot{a1, a2, a3, a4, b1} {
		turn, _ := tb.promote(s)
		turns = append(turns, turn)
	}
	if turns[0] != nil || turns[1] != nil || turns[4] != nil {
		t.Fatal("a connection within its peer's limit waits")
	}
	if turns[2] == nil || turns[3] == nil {
		t.Fatal("a connection beyond its peer's limit was served")
	}
	tb.release(a2)
	select {
	case <-turns[2]:
	default:
		t.Fatal("the first waiting connection did not get its turn")
	}
	if !tb.isActive(a3) || tb.isActive(a4) {
		t.Error("turns out of order")
	}
	// A waiting connection that closes gives no turn away.
	tb.release(a4)
	tb.release(a1)
	tb.release(a3)
	tb.release(b1)
	if len(tb.slots) != 0 || len(tb.active) != 0 || len(tb.waiting) != 0 {
		t.Errorf("table not empty: %d slots, %v active, %v waiting", len(tb.slots), tb.active, tb.waiting)
	}
}
