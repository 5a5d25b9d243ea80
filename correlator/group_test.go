package correlator

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/bus"
)

func TestAssign(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		members    int
		partitions int
	}{
		{1, 8}, {2, 8}, {3, 8}, {5, 8}, {8, 8}, {10, 8}, {3, 64}, {7, 100},
	} {
		t.Run(fmt.Sprintf("%d members, %d partitions", tc.members, tc.partitions), func(t *testing.T) {
			t.Parallel()
			members := make([]string, tc.members)
			for i := range members {
				members[i] = fmt.Sprintf("host-%d-%d-a1b2c3", i, 1000+i)
			}
			owner := assign(members, tc.partitions)
			if !slices.Equal(owner, assign(slices.Clone(members), tc.partitions)) {
				t.Fatal("two computations from the same members differ")
			}
			load := map[string]int{}
			for p, o := range owner {
				if !slices.Contains(members, o) {
					t.Fatalf("partition %d has owner %q", p, o)
				}
				load[o]++
			}
			lo, hi := tc.partitions, 0
			for _, m := range members {
				lo, hi = min(lo, load[m]), max(hi, load[m])
			}
			if hi-lo > 1 {
				t.Errorf("unbalanced: loads from %d to %d (%v)", lo, hi, load)
			}
			if tc.members < 2 {
				return
			}
			// A member leaving: the partitions of the others mostly stay.
			gone := members[0]
			after := assign(members[1:], tc.partitions)
			moved := 0
			for p := range owner {
				if owner[p] != gone && after[p] != owner[p] {
					moved++
				}
			}
			if stayed := tc.partitions - load[gone] - moved; stayed*2 < tc.partitions-load[gone] {
				t.Errorf("%d of the %d partitions of the members that stayed moved", moved, tc.partitions-load[gone])
			}
		})
	}
}

func TestGroupValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		g  Group
		ok bool
	}{
		{Group{Name: "default"}, true},
		{Group{Name: "eu-west_1", TTL: 3 * time.Second, Member: "wec-01"}, true},
		{Group{Name: ""}, false},
		{Group{Name: "a.b"}, false},
		{Group{Name: "a b"}, false},
		{Group{Name: "g", TTL: 100 * time.Millisecond}, false},
		{Group{Name: "g", Member: "x>y"}, false},
	} {
		if err := tc.g.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: Validate() = %v, want ok=%v", tc.g, err, tc.ok)
		}
	}
	if g, err := (Group{}).withDefaults(); err != nil || g.Name != DefaultGroup || g.TTL != DefaultGroupTTL || g.Member == "" {
		t.Errorf("defaults: %+v, %v", g, err)
	}
}

// testGroupTTL is short, so that a crash is taken over within the test,
// but long enough that a heartbeat delayed by a loaded CI machine (a beat
// is due every TTL/3) does not pass for a crash and move partitions in
// the middle of a test.
const testGroupTTL = 3 * time.Second

// groupOpts are the options of member of group name in these tests.
func groupOpts(name, member string) []StageOption {
	return []StageOption{
		WithGroup(Group{Name: name, TTL: testGroupTTL, Member: member}),
		WithRebuild(2 * time.Minute),
		WithAlertDedup("test-alert-ids", time.Hour),
	}
}

// hostIn finds a host whose ECS partition is one of ps.
func hostIn(t *testing.T, n int, ps []int) string {
	t.Helper()
	for i := range 1000 {
		h := fmt.Sprintf("WS%03d", i)
		if slices.Contains(ps, partitionOfHost(h, n)) {
			return h
		}
	}
	t.Fatalf("no host in partitions %v", ps)
	return ""
}

// partitionOfHost is the ECS partition of the documents of sysmonNetwork
// and sysmonProcess for host.
func partitionOfHost(host string, n int) int {
	return bus.PartitionOf(host+".corp.local", n)
}

// waitShared waits until the members own every partition between them,
// each its fair share, none twice.
func waitShared(t *testing.T, n int, members ...*served) {
	t.Helper()
	waitFor(t, "the partitions shared out", func() bool {
		var all []int
		for _, m := range members {
			owned := m.stage.Owned()
			if len(owned) != n/len(members) {
				return false
			}
			all = append(all, owned...)
		}
		slices.Sort(all)
		return len(slices.Compact(all)) == n
	})
}

// TestGroupShares: two members of a group share the partitions; every
// attack is seen once, by the owner of its host's partition.
func TestGroupShares(t *testing.T) {
	t.Parallel()
	b := openBus(t)
	n := b.Partitions()
	a, c := serve(t, b, groupOpts("shares", "a")...), serve(t, b, groupOpts("shares", "b")...)
	waitShared(t, n, a, c)
	hosts := map[*served][]string{}
	for i := range 12 {
		h := fmt.Sprintf("WS%02d", i)
		p := partitionOfHost(h, n)
		owner := a
		if slices.Contains(c.stage.Owned(), p) {
			owner = c
		}
		hosts[owner] = append(hosts[owner], h)
		publishDocs(t, b, sysmonNetwork(h, t0, 10*i+1), sysmonProcess(h, t0.Add(time.Second), 10*i+2))
	}
	if len(hosts[a]) == 0 || len(hosts[c]) == 0 {
		t.Fatalf("hosts per member %v", hosts)
	}
	waitFor(t, "one alert per host", func() bool {
		return a.stage.StageStats().Published+c.stage.StageStats().Published == 12
	})
	if n := storedAlerts(t, b); n != 12 {
		t.Errorf("%d alerts stored, want 12", n)
	}
	// Each member's figures are read while both are in the group: once
	// one has left, the other takes its partitions over and replays them,
	// however soon it is stopped too (on a loaded machine the takeover
	// may well come first).
	for _, m := range []*served{a, c} {
		st, _ := m.stage.Stats()
		ss := m.stage.StageStats()
		if st.Received != uint64(2*len(hosts[m])) || st.Alerts != uint64(len(hosts[m])) || ss.Published != uint64(len(hosts[m])) || ss.Replayed != 0 {
			t.Errorf("member with hosts %v: engine %+v, stage %+v", hosts[m], st, ss)
		}
	}
	for _, m := range []*served{a, c} {
		m.stop()
		if ss := m.stage.StageStats(); ss.Owned != 0 || ss.Lost != ss.Gained {
			t.Errorf("after leaving: %+v", ss)
		}
	}
}

// TestGroupHandover: the member owning a host stops between the two events
// of an attack; the other takes the host's partition over, rebuilds the
// pending sequence and raises the alert, once.
func TestGroupHandover(t *testing.T) {
	t.Parallel()
	b := openBus(t)
	n := b.Partitions()
	a, c := serve(t, b, groupOpts("handover", "a")...), serve(t, b, groupOpts("handover", "b")...)
	waitShared(t, n, a, c)
	host := hostIn(t, n, a.stage.Owned())
	publishDocs(t, b, sysmonNetwork(host, t0, 1001))
	waitFor(t, "the first event pending on its owner", func() bool { return a.pending() == 1 })

	stopped := time.Now()
	a.stop()
	waitFor(t, "the other member to own every partition", func() bool { return len(c.stage.Owned()) == n })
	t.Logf("handover of %d partitions took %s", n/2, time.Since(stopped).Round(time.Millisecond))
	waitFor(t, "the partial sequence rebuilt", func() bool { return c.pending() == 1 })

	publishDocs(t, b, sysmonProcess(host, t0.Add(5*time.Second), 1002))
	waitFor(t, "the alert", func() bool { return c.stage.StageStats().Published == 1 })
	waitFor(t, "the other member's engine to be empty", func() bool {
		st, _ := c.stage.Stats()
		return st.Buffered == 0 && st.Pending == 0
	})
	c.stop()
	if st := a.stage.StageStats(); st.Published != 0 || st.Lost != st.Gained {
		t.Errorf("stopped member: %+v", st)
	}
	if st := c.stage.StageStats(); st.Published != 1 || st.Replayed == 0 || st.Gained < uint64(n) {
		t.Errorf("member that took over: %+v", st)
	}
	if got := storedAlerts(t, b); got != 1 {
		t.Errorf("%d alerts stored, want 1", got)
	}
}

// TestGroupCrash: a member that vanishes without leaving (its connection
// gone, as when the process is killed) loses its partitions once the TTL
// runs out; the other takes them over with the sequence in flight.
func TestGroupCrash(t *testing.T) {
	t.Parallel()
	ctx := stageContext(t)
	srv := openBusListening(t)
	connect := func() *bus.Bus {
		b, err := bus.Open(ctx, bus.Config{URL: srv.ClientURL()}, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(b.Close)
		return b
	}
	ba, bc := connect(), connect()
	n := srv.Partitions()
	a, c := serve(t, ba, groupOpts("crash", "a")...), serve(t, bc, groupOpts("crash", "b")...)
	waitShared(t, n, a, c)
	host := hostIn(t, n, a.stage.Owned())
	publishDocs(t, srv, sysmonNetwork(host, t0, 2001))
	waitFor(t, "the first event pending on its owner", func() bool { return a.pending() == 1 })

	crashed := time.Now()
	ba.Conn().Close() // no goodbye: announcement and leases stay until the TTL
	waitFor(t, "the survivor to own every partition", func() bool { return len(c.stage.Owned()) == n })
	t.Logf("takeover after a crash took %s (TTL %s)", time.Since(crashed).Round(time.Millisecond), testGroupTTL)
	a.abandon()
	waitFor(t, "the partial sequence rebuilt", func() bool { return c.pending() == 1 })
	publishDocs(t, srv, sysmonProcess(host, t0.Add(5*time.Second), 2002))
	waitFor(t, "the alert", func() bool { return c.stage.StageStats().Published == 1 })
	c.stop()
	if n := storedAlerts(t, srv); n != 1 {
		t.Errorf("%d alerts stored, want 1", n)
	}
	if st := a.stage.StageStats(); st.Published != 0 {
		t.Errorf("crashed member: %+v", st)
	}
}

func openBusListening(t *testing.T) *bus.Bus {
	t.Helper()
	b, err := bus.Open(stageContext(t), bus.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0"}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// TestGroupReload: new rules reach the engine of every partition, and the
// engines of partitions taken over later.
func TestGroupReload(t *testing.T) {
	t.Parallel()
	b := openBus(t)
	a := serve(t, b, groupOpts("reload", "a")...)
	waitFor(t, "every partition", func() bool { return len(a.stage.Owned()) == b.Partitions() })
	if err := a.stage.ReplaceRules(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	publishDocs(t, b, sysmonNetwork("WS01", t0, 1), sysmonProcess("WS01", t0.Add(time.Second), 2))
	waitFor(t, "both documents", func() bool {
		st, _ := a.stage.Stats()
		return st.Received == 2
	})
	a.stop()
	if st, _ := a.stage.Stats(); st.Alerts != 0 || len(st.Rules) != 0 {
		t.Errorf("without rules: %+v", st)
	}
}
