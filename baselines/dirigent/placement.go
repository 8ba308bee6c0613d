package dirigent

import "math"

// place picks the worker for one sandbox of fn: among the alive workers
// with room for its requests, the one with the lowest cost after placing it,
// then the one with fewest sandboxes; ties go round robin. It returns nil
// when no worker fits.
//
// The cost is Kubernetes' default scoring, which Dirigent adopts: the mean
// of the CPU and memory fractions allocated (LeastAllocated) plus their
// standard deviation (BalancedAllocation), both equally weighted.
func place(workers []*worker, start int, fn Function) *worker {
	var best *worker
	var bestScore float64
	n := len(workers)
	for i := range n {
		w := workers[(start+i)%n]
		if !w.alive || !fits(w.info.CPUMilli, w.cpu, fn.CPUMilli) || !fits(w.info.MemoryMiB, w.mem, fn.MemoryMiB) {
			continue
		}
		c, m := frac(w.cpu+fn.CPUMilli, w.info.CPUMilli), frac(w.mem+fn.MemoryMiB, w.info.MemoryMiB)
		score := (c+m)/2 + math.Abs(c-m)/2
		if best == nil || score < bestScore || (score == bestScore && w.sandboxes < best.sandboxes) {
			best, bestScore = w, score
		}
	}
	return best
}

// fits says whether req more fits in capacity; capacity 0 means unbounded.
func fits(capacity, used, req int64) bool { return capacity == 0 || used+req <= capacity }

func frac(used, capacity int64) float64 {
	if capacity == 0 {
		return 0
	}
	return float64(used) / float64(capacity)
}
