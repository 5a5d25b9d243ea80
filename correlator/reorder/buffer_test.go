package reorder

import (
	"cmp"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

var epoch = time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)

type ev struct {
	part string
	at   time.Duration
	id   int
}

func lessEv(a, b ev) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.id < b.id
}

func push(b *Buffer[ev], out *[]ev, e ev) {
	b.Push(e.part, epoch.Add(e.at), epoch, e, func(x ev) { *out = append(*out, x) })
}

func TestReleaseByWatermark(t *testing.T) {
	t.Parallel()
	b := New(10*time.Second, 0, lessEv)
	var out []ev
	push(b, &out, ev{"h", 5 * time.Second, 1})
	push(b, &out, ev{"h", 1 * time.Second, 2})
	push(b, &out, ev{"h", 12 * time.Second, 3}) // watermark 2s: releases 1s
	if !reflect.DeepEqual(out, []ev{{"h", time.Second, 2}}) {
		t.Fatalf("released %v", out)
	}
	push(b, &out, ev{"h", 15 * time.Second, 4}) // watermark 5s: 5s stays (not strictly before)
	if len(out) != 1 {
		t.Fatalf("released %v", out)
	}
	push(b, &out, ev{"other", time.Hour, 5}) // another partition has its own watermark
	if len(out) != 1 {
		t.Fatalf("another partition released this one's events: %v", out)
	}
	push(b, &out, ev{"h", 16 * time.Second, 6})
	if len(out) != 2 || out[1].id != 1 {
		t.Fatalf("released %v", out)
	}
	if st := b.Stats(); st.Buffered != 4 || st.Partitions != 2 || st.Late != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestLateEventsGoStraightThrough(t *testing.T) {
	t.Parallel()
	b := New(time.Second, 0, lessEv)
	var out []ev
	push(b, &out, ev{"h", 10 * time.Second, 1})
	push(b, &out, ev{"h", 9 * time.Second, 2}) // exactly at the watermark: still in time
	push(b, &out, ev{"h", 8 * time.Second, 3}) // behind it: late
	if !reflect.DeepEqual(out, []ev{{"h", 8 * time.Second, 3}}) || b.Stats().Late != 1 {
		t.Fatalf("released %v, stats %+v", out, b.Stats())
	}
	b.Flush(func(x ev) { out = append(out, x) })
	if !reflect.DeepEqual(out[1:], []ev{{"h", 9 * time.Second, 2}, {"h", 10 * time.Second, 1}}) {
		t.Errorf("flushed %v", out[1:])
	}
}

func TestShuffledWithinLatenessReleasesInOrder(t *testing.T) {
	t.Parallel()
	const lateness = 5 * time.Second
	for seed := uint64(0); seed < 50; seed++ {
		rng := rand.New(rand.NewPCG(seed, 1))
		var events []ev
		at := map[string]time.Duration{}
		for i := 0; i < 300; i++ {
			part := []string{"a", "b", "c"}[rng.IntN(3)]
			at[part] += time.Duration(rng.Int64N(int64(2 * time.Second)))
			events = append(events, ev{part, at[part], i})
		}
		arrival := slices.Clone(events)
		delay := make(map[int]time.Duration)
		for _, e := range arrival {
			delay[e.id] = time.Duration(rng.Int64N(int64(lateness) + 1))
		}
		slices.SortStableFunc(arrival, func(x, y ev) int {
			return cmp.Compare(x.at+delay[x.id], y.at+delay[y.id])
		})
		b := New(lateness, 0, lessEv)
		var out []ev
		for _, e := range arrival {
			push(b, &out, e)
		}
		b.Flush(func(x ev) { out = append(out, x) })
		if b.Stats().Late != 0 {
			t.Fatalf("seed %d: %d late", seed, b.Stats().Late)
		}
		for _, part := range []string{"a", "b", "c"} {
			var got, want []ev
			for _, e := range out {
				if e.part == part {
					got = append(got, e)
				}
			}
			for _, e := range events {
				if e.part == part {
					want = append(want, e)
				}
			}
			slices.SortStableFunc(want, func(x, y ev) int { return cmp.Compare(x.at, y.at) })
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("seed %d partition %s out of order", seed, part)
			}
		}
	}
}

func TestHoldAllAndCap(t *testing.T) {
	t.Parallel()
	b := New(HoldAll, 3, lessEv)
	var out []ev
	for i, at := range []time.Duration{5, 1, 4, 2, 3} {
		push(b, &out, ev{[]string{"x", "y"}[i%2], at * time.Second, i})
	}
	// Two over the cap: the two oldest across partitions went early.
	if !reflect.DeepEqual(out, []ev{{"y", time.Second, 1}, {"y", 2 * time.Second, 3}}) || b.Stats().Forced != 2 {
		t.Fatalf("released %v, stats %+v", out, b.Stats())
	}
	out = nil
	b.Flush(func(x ev) { out = append(out, x) })
	if !reflect.DeepEqual(out, []ev{{"x", 3 * time.Second, 4}, {"x", 4 * time.Second, 2}, {"x", 5 * time.Second, 0}}) {
		t.Errorf("flushed %v", out)
	}
	if st := b.Stats(); st.Buffered != 0 || st.Partitions != 0 {
		t.Errorf("after flush %+v", st)
	}
}

func TestReleaseIdle(t *testing.T) {
	t.Parallel()
	b := New(time.Minute, 0, lessEv)
	var out []ev
	emit := func(x ev) { out = append(out, x) }
	b.Push("quiet", epoch.Add(2*time.Second), epoch, ev{"quiet", 2 * time.Second, 1}, emit)
	b.Push("quiet", epoch.Add(time.Second), epoch, ev{"quiet", time.Second, 2}, emit)
	b.Push("busy", epoch, epoch.Add(50*time.Second), ev{"busy", 0, 3}, emit)
	b.ReleaseIdle(epoch.Add(30*time.Second), time.Minute, emit)
	if len(out) != 0 {
		t.Fatalf("released before the idle timeout: %v", out)
	}
	b.ReleaseIdle(epoch.Add(time.Minute), time.Minute, emit)
	if !reflect.DeepEqual(out, []ev{{"quiet", time.Second, 2}, {"quiet", 2 * time.Second, 1}}) {
		t.Fatalf("released %v", out)
	}
	if st := b.Stats(); st.Buffered != 1 || st.Partitions != 1 {
		t.Errorf("stats %+v", st)
	}
}
