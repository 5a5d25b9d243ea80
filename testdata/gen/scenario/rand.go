package scenario

import (
	"math"
	"math/rand/v2"
	"time"
)

// rng draws from PCG's Uint64 only: the generator's algorithm is fixed,
// whereas the helper methods of math/rand/v2 may change between releases,
// and fixtures must come out byte for byte the same.
type rng struct{ src *rand.PCG }

func newRNG(seed, stream uint64) *rng {
	return &rng{src: rand.NewPCG(seed, stream^0x9e3779b97f4a7c15)}
}

// intn is uniform in [0, n); n > 0.
func (r *rng) intn(n int) int {
	return int(r.src.Uint64() % uint64(n))
}

// between is uniform in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }

func (r *rng) float() float64 { return float64(r.src.Uint64()>>11) / (1 << 53) }

// chance is true with probability p.
func (r *rng) chance(p float64) bool { return r.float() < p }

// exp is exponentially distributed with the given mean.
func (r *rng) exp(mean float64) float64 { return -math.Log(1-r.float()) * mean }

// duration is uniform in [lo, hi].
func (r *rng) duration(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(r.src.Uint64()%uint64(hi-lo+1))
}

func pick[T any](r *rng, xs []T) T { return xs[r.intn(len(xs))] }

// weighted picks an index with probability proportional to its weight.
func (r *rng) weighted(weights []float64) int {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	x := r.float() * total
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}
