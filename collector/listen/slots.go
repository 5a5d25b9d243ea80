package listen

import (
	"net"
	"sync"
	"time"
)

// evictGrace is how long a connection must have been waiting on its peer
// (for its TLS handshake or its first byte) before it gives way to a
// newcomer: long enough that a goroutine which has yet to read data already
// sent is not taken for a silent peer, short against any timeout.
const evictGrace = time.Second

// slotState is where an accepted connection stands.
type slotState uint8

const (
	// slotOpening: accepted; its TLS handshake or its first byte is
	// awaited.
	slotOpening slotState = iota
	// slotWaiting: it has sent its first byte, and waits for its turn
	// among its peer's connections (max_connections_per_peer).
	slotWaiting
	// slotActive: being served.
	slotActive
	// slotIdle: an HTTP keep-alive connection between requests.
	slotIdle
)

// slot is one accepted connection's place among max_connections.
type slot struct {
	peer  string // source IP
	conn  net.Conn
	state slotState
	// quiet: opening and blocked on the peer since since.
	quiet bool
	since time.Time
	// turn is closed when a waiting slot becomes active, or is evicted.
	turn    chan struct{}
	held    bool // counted in the table
	evicted bool
}

// eviction is a slot given up for a newcomer, and why.
type eviction struct {
	conn   net.Conn
	peer   string
	reason string // "" for an idle keep-alive connection, which is no problem
}

// table hands out max_connections slots and max_connections_per_peer turns.
// A slot a silent peer holds cannot lock others out: when every slot is
// taken, a newcomer takes the slot of the oldest connection of another peer
// that has waited on its peer for evictGrace, else of an idle keep-alive
// connection, else of a connection of another peer waiting for its turn
// behind that peer's own; only when none of those exists does it wait for
// a slot to free.
type table struct {
	max, perPeer int

	mu      sync.Mutex
	slots   map[*slot]struct{}
	active  map[string]int     // active and idle slots per peer
	waiting map[string][]*slot // per peer, in arrival order
	changed chan struct{}      // poked when a slot frees or may become evictable
}

func newTable(max, perPeer int) *table {
	return &table{
		max: max, perPeer: perPeer,
		slots:   map[*slot]struct{}{},
		active:  map[string]int{},
		waiting: map[string][]*slot{},
		changed: make(chan struct{}, 1),
	}
}

func (t *table) poke() {
	select {
	case t.changed <- struct{}{}:
	default:
	}
}

// take gives conn from peer a slot if one is free or can be evicted. When
// not, it returns when a slot may next become evictable (zero: only when
// one frees).
func (t *table) take(conn net.Conn, peer string, now time.Time) (*slot, *eviction, time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var ev *eviction
	if len(t.slots) >= t.max {
		victim, next := t.victim(peer, now)
		if victim == nil {
			return nil, nil, next
		}
		ev = t.evict(victim)
	}
	s := &slot{peer: peer, conn: conn, state: slotOpening, since: now, turn: make(chan struct{}), held: true}
	t.slots[s] = struct{}{}
	return s, ev, time.Time{}
}

// victim picks the slot a newcomer from peer takes, or says when the next
// candidate matures.
func (t *table) victim(peer string, now time.Time) (*slot, time.Time) {
	var quiet, idle, waiting *slot
	var next time.Time
	mature := func(s *slot) bool {
		at := s.since.Add(evictGrace)
		if at.After(now) {
			if next.IsZero() || at.Before(next) {
				next = at
			}
			return false
		}
		return true
	}
	most := 0
	for s := range t.slots {
		switch {
		case s.state == slotOpening && s.quiet && s.peer != peer:
			// Not the newcomer's own peer's: a peer sending many
			// connections at once, faster than it writes on them,
			// waits for its own to be served rather than have them
			// closed.
			if mature(s) && (quiet == nil || s.since.Before(quiet.since)) {
				quiet = s
			}
		case s.state == slotIdle:
			if mature(s) && (idle == nil || s.since.Before(idle.since)) {
				idle = s
			}
		}
	}
	// Among the other peers' connections waiting for their turn: the
	// newest of the peer with the most.
	for p, q := range t.waiting {
		if p != peer && len(q) > most {
			most, waiting = len(q), q[len(q)-1]
		}
	}
	switch {
	case quiet != nil:
		return quiet, time.Time{}
	case idle != nil:
		return idle, time.Time{}
	case waiting != nil:
		return waiting, time.Time{}
	}
	return nil, next
}

// evict gives s up; the caller closes its connection.
func (t *table) evict(s *slot) *eviction {
	ev := &eviction{conn: s.conn, peer: s.peer}
	switch s.state {
	case slotOpening:
		ev.reason = ReasonEvicted
		// Its turn never comes (a first byte may still have been read
		// as it was evicted).
		close(s.turn)
	case slotWaiting:
		ev.reason = ReasonPeerLimit
	}
	t.drop(s)
	s.evicted = true
	return ev
}

// drop removes s from the table, handing its turn on.
func (t *table) drop(s *slot) {
	if !s.held {
		return
	}
	s.held = false
	delete(t.slots, s)
	switch s.state {
	case slotActive, slotIdle:
		t.active[s.peer]--
		if q := t.waiting[s.peer]; len(q) > 0 && t.active[s.peer] < t.perPeer {
			w := q[0]
			t.dequeue(w)
			w.state = slotActive
			t.active[s.peer]++
			close(w.turn)
		}
		if t.active[s.peer] <= 0 {
			delete(t.active, s.peer)
		}
	case slotWaiting:
		t.dequeue(s)
		close(s.turn)
	}
	t.poke()
}

func (t *table) dequeue(s *slot) {
	q := t.waiting[s.peer]
	for i, w := range q {
		if w == s {
			q = append(q[:i], q[i+1:]...)
			break
		}
	}
	if len(q) == 0 {
		delete(t.waiting, s.peer)
	} else {
		t.waiting[s.peer] = q
	}
}

// release frees s when its connection closes.
func (t *table) release(s *slot) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.drop(s)
}

// setQuiet marks an opening slot as blocked on its peer (or no longer).
func (t *table) setQuiet(s *slot, quiet bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s.held && s.state == slotOpening {
		s.quiet, s.since = quiet, time.Now()
	}
	if quiet {
		t.poke()
	}
}

// promote makes an opened slot active, or queues it behind its peer's
// connections: then it returns the channel closed when its turn comes (or
// it is evicted), and the idle connection of the same peer to close so
// that the turn comes sooner, if there is one.
func (t *table) promote(s *slot) (<-chan struct{}, net.Conn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !s.held {
		return s.turn, nil // evicted: its turn is closed, and not active
	}
	s.quiet = false
	if t.active[s.peer] < t.perPeer {
		s.state = slotActive
		t.active[s.peer]++
		return nil, nil
	}
	s.state, s.since = slotWaiting, time.Now()
	t.waiting[s.peer] = append(t.waiting[s.peer], s)
	t.poke()
	for o := range t.slots {
		if o.peer == s.peer && o.state == slotIdle {
			return s.turn, o.conn
		}
	}
	return s.turn, nil
}

// isActive reports whether s was given its turn (not evicted).
func (t *table) isActive(s *slot) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return s.held && s.state == slotActive
}

// wasEvicted reports whether s gave way to a newcomer.
func (t *table) wasEvicted(s *slot) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return s.evicted
}

// setIdle moves an HTTP connection between serving a request and waiting
// for the next one.
func (t *table) setIdle(s *slot, idle bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case !s.held:
	case idle && s.state == slotActive:
		s.state, s.since = slotIdle, time.Now()
		t.poke()
	case !idle && s.state == slotIdle:
		s.state = slotActive
	}
}
