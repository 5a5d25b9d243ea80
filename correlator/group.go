package correlator

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/internal/confkey"
)

// Group is a set of correlators that share the hosts of the ECS stream.
//
// The stream is split by host into the bus's partitions (the partition()
// subject mapping of weft.ecs.<host>, so a host is always in the same
// one), and each partition has one durable consumer, whoever reads it, so
// its progress outlives its owner. Members announce themselves in a
// JetStream key-value bucket (weft-correlators-<name>) and beat every
// TTL/3; a member silent for TTL is gone. The members alive, sorted, decide
// who owns each partition, the same way everywhere (assign). A member
// reads a partition only while it holds the partition's lease in the
// bucket, which it renews with its heartbeat, so two members never read
// one partition at once.
//
// When the members change, a member gives up the partitions it lost: it
// stops reading them after the message in hand and frees their leases. It
// takes a partition it gained once the lease is free: it rebuilds the
// partition's state by replaying what the consumer had delivered
// (WithRebuild), starts the consumer again right after the last of it, and
// reads on. A member stopped with SIGTERM leaves at once — its
// announcement and leases deleted — so the others take over in moments; a
// member that dies leaves when its TTL runs out. Alerts a replay raises a
// second time are dropped by their id (WithAlertDedup).
type Group struct {
	// Name names the group: letters, digits, "-" and "_". Correlators of
	// one bus with the same name share the hosts.
	Name string
	// TTL is how long a member counts as alive after its last heartbeat,
	// hence how long the partitions of a member that died wait for
	// another. The member that creates the group's bucket sets it for
	// every member.
	TTL time.Duration
	// Member names this correlator in the group and its logs. Empty: the
	// host name, the process id and a random suffix.
	Member string
}

// Defaults of a Group.
const (
	DefaultGroup    = "default"
	DefaultGroupTTL = 10 * time.Second
	minGroupTTL     = time.Second
)

var groupName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Validate reports a name or member that NATS cannot carry, or a TTL too
// short to beat within.
func (g Group) Validate() error {
	var errs []error
	if !groupName.MatchString(g.Name) {
		errs = append(errs, confkey.Errorf("group", "%q: want 1 to 64 letters, digits, - or _", g.Name))
	}
	if g.Member != "" && !groupName.MatchString(g.Member) {
		errs = append(errs, confkey.Errorf("member", "%q: want 1 to 64 letters, digits, - or _", g.Member))
	}
	if g.TTL != 0 && g.TTL < minGroupTTL {
		errs = append(errs, confkey.Errorf("group_ttl", "%s: want at least %s", g.TTL, minGroupTTL))
	}
	return errors.Join(errs...)
}

// Bucket is the key-value bucket of the group's members and leases.
func (g Group) Bucket() string { return "weft-correlators-" + g.Name }

func (g Group) withDefaults() (Group, error) {
	if g.Name == "" {
		g.Name = DefaultGroup
	}
	if g.TTL == 0 {
		g.TTL = DefaultGroupTTL
	}
	if g.Member == "" {
		g.Member = memberID()
	}
	return g, g.Validate()
}

// memberID is unique to this process: a restarted correlator is a new
// member, which waits for the leases of the one that died rather than
// trusting them.
func memberID() string {
	host, _ := os.Hostname()
	host = strings.Map(func(r rune) rune {
		if r < 128 && groupName.MatchString(string(r)) {
			return r
		}
		return '_'
	}, host)
	if len(host) > 40 {
		host = host[:40]
	}
	var suffix [3]byte
	_, _ = rand.Read(suffix[:])
	return fmt.Sprintf("%s-%d-%s", cmp.Or(host, "weft"), os.Getpid(), hex.EncodeToString(suffix[:]))
}

// PartitionConsumer is the durable consumer of partition p of n of the
// ECS stream for the group. The count is in the name, so a change of the
// bus's partitions starts afresh rather than resuming another split.
func PartitionConsumer(group string, p, n int) bus.Consumer {
	return bus.Consumer{
		Stream:        bus.StreamECS,
		Durable:       fmt.Sprintf("correlator-%s-%d-of-%d", group, p, n),
		FilterSubject: bus.PartitionSubject(bus.SubjectECS, p),
		MaxAckPending: 64,
	}
}

// Keys of the group's bucket.
const (
	memberPrefix = "members."
	leasePrefix  = "partitions."
)

func leaseKey(p int) string { return leasePrefix + strconv.Itoa(p) }

// memberInfo is a member's announcement.
type memberInfo struct {
	// Partitions is the member's count of partitions: members that do not
	// agree with it are left out of the sharing.
	Partitions int       `json:"partitions"`
	Host       string    `json:"host"`
	PID        int       `json:"pid"`
	Since      time.Time `json:"since"`
}

// membership is a member's view of its group while it serves.
type membership struct {
	s   *Stage
	g   Group
	n   int
	kv  jetstream.KeyValue
	ttl time.Duration
	// info is the announcement, written at every heartbeat.
	info []byte
	// seen is when each member's announcement last arrived, by this
	// process's clock, and its partition count.
	seen     map[string]seenMember
	mismatch map[string]bool // members already warned about
	leases   map[int]lease   // the partitions this member holds
	live     []string        // the members of the last sharing
}

type seenMember struct {
	at         time.Time
	partitions int
}

type lease struct {
	rev     uint64
	renewed time.Time
}

// serveGroup runs the stage as a member of its group until ctx ends, then
// leaves the group.
func (s *Stage) serveGroup(ctx context.Context) error {
	m, err := s.join(ctx)
	if err != nil {
		return err
	}
	defer m.leave()
	var (
		watcher jetstream.KeyWatcher
		updates <-chan jetstream.KeyValueEntry
		// Sharing waits for the watcher's first view of the members, so
		// that a member joining does not take what others hold.
		synced bool
	)
	watch := func() {
		if watcher != nil {
			_ = watcher.Stop()
		}
		watcher, updates, synced = nil, nil, false
		w, err := m.kv.WatchAll(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn().Err(err).Str("group", m.g.Name).Msg("correlator group: watching members; retrying at the next heartbeat")
			}
			return
		}
		watcher, updates = w, w.Updates()
	}
	watch()
	defer func() {
		if watcher != nil {
			_ = watcher.Stop()
		}
	}()
	beat := time.NewTicker(m.ttl / 3)
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-updates:
			switch {
			case !ok:
				watch()
			case e == nil:
				synced = true
				m.reconcile(ctx)
			case m.observe(e) && synced:
				m.reconcile(ctx)
			}
		case <-beat.C:
			m.heartbeat(ctx)
			// This member's own heartbeats come back through the watcher:
			// when they stop coming, the watcher is stuck, and so would be
			// the view of the others.
			if updates == nil || (synced && time.Since(m.seen[m.g.Member].at) > m.ttl) {
				watch()
			}
			if synced {
				m.reconcile(ctx)
			}
		}
	}
}

// join opens the group's bucket and announces the member.
func (s *Stage) join(ctx context.Context) (*membership, error) {
	g, err := s.group.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("correlator: %w", err)
	}
	kv, err := s.bus.JetStream().KeyValue(ctx, g.Bucket())
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = s.bus.KeyValue(ctx, g.Bucket(), bus.WithTTL(g.TTL),
			bus.WithDescription("members of the weft correlator group "+g.Name+" and the partitions each reads"))
	}
	if err != nil {
		return nil, fmt.Errorf("correlator: group %s: %w", g.Name, err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("correlator: group %s: %w", g.Name, err)
	}
	ttl := st.TTL()
	if ttl < minGroupTTL {
		return nil, fmt.Errorf("correlator: group %s: bucket %s keeps keys for %s; it needs a TTL of at least %s", g.Name, g.Bucket(), ttl, minGroupTTL)
	}
	if ttl != g.TTL {
		s.log.Warn().Str("group", g.Name).Dur("ttl", ttl).Dur("asked", g.TTL).Msg("correlator group: the group's bucket keeps its own TTL")
	}
	host, _ := os.Hostname()
	n := s.bus.Partitions()
	info, err := json.Marshal(memberInfo{Partitions: n, Host: host, PID: os.Getpid(), Since: time.Now().UTC()})
	if err != nil {
		return nil, err
	}
	m := &membership{
		s: s, g: g, n: n, kv: kv, ttl: ttl, info: info,
		seen: map[string]seenMember{}, mismatch: map[string]bool{}, leases: map[int]lease{},
	}
	if _, err := kv.Put(ctx, memberPrefix+g.Member, info); err != nil {
		return nil, fmt.Errorf("correlator: joining group %s: %w", g.Name, err)
	}
	s.members.Store(1)
	s.log.Info().Str("group", g.Name).Str("member", g.Member).Int("partitions", n).Dur("ttl", ttl).Msg("joined correlator group")
	return m, nil
}

// observe takes a change of the bucket into the view and reports whether
// the sharing may change: a member came or went, or a lease was freed.
func (m *membership) observe(e jetstream.KeyValueEntry) bool {
	key := e.Key()
	put := e.Operation() == jetstream.KeyValuePut
	switch {
	case strings.HasPrefix(key, memberPrefix):
		id := key[len(memberPrefix):]
		_, had := m.seen[id]
		if !put {
			delete(m.seen, id)
			return had
		}
		var info memberInfo
		if err := json.Unmarshal(e.Value(), &info); err != nil {
			info.Partitions = -1
		}
		m.seen[id] = seenMember{at: time.Now(), partitions: info.Partitions}
		return !had
	case strings.HasPrefix(key, leasePrefix):
		return !put
	}
	return false
}

// members are the members alive now, sorted, this one included.
func (m *membership) members(now time.Time) []string {
	ids := []string{m.g.Member}
	for id, sm := range m.seen {
		switch {
		case id == m.g.Member:
		case now.Sub(sm.at) > m.ttl:
			delete(m.seen, id)
			delete(m.mismatch, id)
		case sm.partitions != m.n:
			if !m.mismatch[id] {
				m.mismatch[id] = true
				m.s.log.Error().Str("group", m.g.Name).Str("member", id).Int("its_partitions", sm.partitions).Int("partitions", m.n).
					Msg("correlator group: a member splits the stream into another number of partitions (bus.partitions); it is left out")
			}
		default:
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// reconcile gives up the partitions the sharing no longer gives this
// member, and takes those it gives it whose lease is free.
func (m *membership) reconcile(ctx context.Context) {
	live := m.members(time.Now())
	if !slices.Equal(live, m.live) {
		m.live = live
		m.s.members.Store(int64(len(live)))
		m.s.log.Info().Str("group", m.g.Name).Strs("members", live).Msg("correlator group members")
	}
	owner := assign(live, m.n)
	var lost []int
	for p := range m.leases {
		if owner[p] != m.g.Member {
			lost = append(lost, p)
		}
	}
	if len(lost) > 0 {
		m.giveUp(lost, "reassigned to "+strings.Join(ownersOf(lost, owner), ", "))
	}
	for p := range m.n {
		if _, held := m.leases[p]; held || owner[p] != m.g.Member || ctx.Err() != nil {
			continue
		}
		m.take(ctx, p)
	}
}

// ownersOf names the owners of ps, each once.
func ownersOf(ps []int, owner []string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = owner[p]
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// take acquires the lease of partition p, when it is free, and starts
// reading the partition.
func (m *membership) take(ctx context.Context, p int) {
	rev, err := m.kv.Create(ctx, leaseKey(p), []byte(m.g.Member))
	if errors.Is(err, jetstream.ErrKeyExists) {
		m.s.log.Debug().Str("group", m.g.Name).Int("partition", p).Msg("correlator group: partition still held; waiting for its lease")
		return
	}
	if err != nil {
		if ctx.Err() == nil {
			m.s.log.Warn().Err(err).Str("group", m.g.Name).Int("partition", p).Msg("correlator group: taking a partition")
		}
		return
	}
	m.leases[p] = lease{rev: rev, renewed: time.Now()}
	if err := m.s.startLane(ctx, p, PartitionConsumer(m.g.Name, p, m.n)); err != nil {
		m.s.log.Error().Err(err).Int("partition", p).Msg("correlator group: starting a partition")
		m.release(p)
		return
	}
	m.s.gained.Add(1)
	m.s.log.Info().Str("group", m.g.Name).Str("member", m.g.Member).Int("partition", p).Msg("partition taken over")
}

// heartbeat renews the announcement and the leases, and gives up the
// partitions whose lease is lost or whose reading stopped on its own.
func (m *membership) heartbeat(ctx context.Context) {
	if _, err := m.kv.Put(ctx, memberPrefix+m.g.Member, m.info); err != nil && ctx.Err() == nil {
		m.s.log.Warn().Err(err).Str("group", m.g.Name).Msg("correlator group: heartbeat")
	}
	now := time.Now()
	var failed, lost []int
	for p, le := range m.leases {
		if err := m.s.laneError(p); err != nil {
			m.s.log.Error().Err(err).Int("partition", p).Msg("correlator group: partition stopped; taking it again")
			failed = append(failed, p)
			continue
		}
		rev, err := m.kv.Update(ctx, leaseKey(p), []byte(m.g.Member), le.rev)
		switch {
		case err == nil:
			m.leases[p] = lease{rev: rev, renewed: now}
		case errors.Is(err, jetstream.ErrKeyRevisionMismatch), errors.Is(err, jetstream.ErrKeyExists):
			// It expired, and perhaps another member holds it now.
			lost = append(lost, p)
		case now.Sub(le.renewed) >= m.ttl:
			// Not renewed for a TTL: it may be another's by now.
			lost = append(lost, p)
		}
	}
	m.giveUp(failed, "its reading stopped")
	m.giveUp(lost, "lease lost")
}

// giveUp stops reading the partitions ps, then frees their leases.
func (m *membership) giveUp(ps []int, reason string) {
	if len(ps) == 0 {
		return
	}
	slices.Sort(ps)
	m.s.stopLanes(ps)
	for _, p := range ps {
		m.release(p)
		m.s.lost.Add(1)
		m.s.log.Info().Str("group", m.g.Name).Str("member", m.g.Member).Int("partition", p).Str("reason", reason).Msg("partition given up")
	}
}

// release frees the lease of p, unless it is no longer this member's.
func (m *membership) release(p int) {
	le, ok := m.leases[p]
	if !ok {
		return
	}
	delete(m.leases, p)
	ctx, cancel := context.WithTimeout(context.Background(), m.ttl)
	defer cancel()
	if err := m.kv.Delete(ctx, leaseKey(p), jetstream.LastRevision(le.rev)); err != nil && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		m.s.log.Warn().Err(err).Int("partition", p).Msg("correlator group: freeing a lease; it expires on its own")
	}
}

// leave withdraws the announcement first, so that the others share the
// partitions out while this member stops reading them, then frees them.
func (m *membership) leave() {
	ctx, cancel := context.WithTimeout(context.Background(), m.ttl)
	defer cancel()
	if err := m.kv.Delete(ctx, memberPrefix+m.g.Member); err != nil {
		m.s.log.Warn().Err(err).Str("group", m.g.Name).Msg("correlator group: leaving; the others take over once the TTL runs out")
	}
	ps := make([]int, 0, len(m.leases))
	for p := range m.leases {
		ps = append(ps, p)
	}
	m.giveUp(ps, "leaving the group")
	m.s.members.Store(0)
	m.s.log.Info().Str("group", m.g.Name).Str("member", m.g.Member).Msg("left correlator group")
}

// startLane starts reading a partition: its state rebuilt, its consumer
// started again after the last message replayed (which fences off
// whoever read it before), then its messages.
func (s *Stage) startLane(ctx context.Context, p int, c bus.Consumer) error {
	s.mu.Lock()
	e, err := s.template.fresh()
	if err != nil {
		s.mu.Unlock()
		return err
	}
	lctx, cancel := context.WithCancel(ctx)
	l := &lane{partition: p, consumer: c, engine: e, cancel: cancel, done: make(chan struct{})}
	s.lanes[p] = l
	s.mu.Unlock()
	go func() {
		defer close(l.done)
		l.err = s.runLane(lctx, l)
	}()
	return nil
}

func (s *Stage) runLane(ctx context.Context, l *lane) error {
	floor, err := s.replay(ctx, l)
	if err != nil {
		return fmt.Errorf("correlator: rebuilding partition %d: %w", l.partition, err)
	}
	c, err := s.bus.ResetConsumer(ctx, l.consumer, floor)
	if err != nil {
		return err
	}
	err = s.bus.Consume(ctx, c, s.handler(l), func(err error) {
		if !errors.Is(err, context.Canceled) {
			s.log.Error().Err(err).Int("partition", l.partition).Msg("correlator")
		}
	})
	if err == nil && ctx.Err() == nil {
		err = errors.New("correlator: consumer stopped")
	}
	return err
}

// laneError says why the lane of p stopped on its own, or nil while it
// runs or was stopped.
func (s *Stage) laneError(p int) error {
	s.mu.Lock()
	l := s.lanes[p]
	s.mu.Unlock()
	if l == nil || l.done == nil {
		return nil
	}
	select {
	case <-l.done:
		if l.err != nil && !errors.Is(l.err, context.Canceled) {
			return l.err
		}
	default:
	}
	return nil
}

// stopLanes stops the lanes of ps, all at once, waits for them, and keeps
// their engines' counters.
func (s *Stage) stopLanes(ps []int) {
	s.mu.Lock()
	var stopping []*lane
	for _, p := range ps {
		if l := s.lanes[p]; l != nil {
			l.cancel()
			stopping = append(stopping, l)
		}
	}
	s.mu.Unlock()
	for _, l := range stopping {
		<-l.done
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range stopping {
		l.mu.Lock()
		// What the engine still holds is the new owner's to rebuild: a
		// tick must not raise it here too.
		l.stopped = true
		addStats(&s.retired, l.engine.Stats(), false)
		l.mu.Unlock()
		delete(s.lanes, l.partition)
	}
}

// assign shares n partitions out among members (sorted, distinct): the
// owner of each partition, indexed by partition. Each member takes its
// fair share, n/len(members) or one more; within that, a partition goes to
// the member that ranks it highest (rendezvous hashing), pairs taken from
// the strongest down. Every member computes the same answer from the same
// list, and when a member comes or goes most partitions stay where they
// were.
func assign(members []string, n int) []string {
	owner := make([]string, n)
	if len(members) == 0 || n <= 0 {
		return owner
	}
	type pair struct {
		score  uint64
		member int
		p      int
	}
	pairs := make([]pair, 0, n*len(members))
	for i, m := range members {
		for p := range n {
			pairs = append(pairs, pair{rank(m, p), i, p})
		}
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(a.member, b.member), cmp.Compare(a.p, b.p))
	})
	// Every member takes base partitions, and extra of them one more.
	base, extra := n/len(members), n%len(members)
	load := make([]int, len(members))
	bigger, left := 0, n
	for _, pr := range pairs {
		if owner[pr.p] != "" {
			continue
		}
		switch l := load[pr.member]; {
		case l < base:
		case l == base && bigger < extra:
			bigger++
		default:
			continue
		}
		owner[pr.p] = members[pr.member]
		load[pr.member]++
		if left--; left == 0 {
			break
		}
	}
	return owner
}

// rank is how strongly member wants partition p: FNV-1a of both, mixed so
// that similar names rank independently.
func rank(member string, p int) uint64 {
	h := fnv.New64a()
	h.Write([]byte(member))
	var b [9]byte
	binary.BigEndian.PutUint64(b[1:], uint64(p))
	h.Write(b[:])
	x := h.Sum64()
	// splitmix64's finalizer.
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
