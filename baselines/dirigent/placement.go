package dirigent

// place picks the worker for one sandbox of fn: among the alive workers
// with room for its requests, the least allocated one (the mean of its CPU
// and memory fractions, Kubernetes' LeastAllocated as Dirigent uses it),
// then the one with fewest sandboxes; ties go round robin. It returns nil
// when no worker fits.
func place(workers []*worker, start int, fn Function) *worker {
	var best *worker
	var bestScore float64
	n := len(workers)
	for i := range n {
		w := workers[(start+i)%n]
		if !w.alive || !fits(w.info.CPUMilli, w.cpu, fn.CPUMilli) || !fits(w.info.MemoryMiB, w.mem, fn.MemoryMiB) {
			continue
		}
		score := (frac(w.cpu+fn.CPUMilli, w.info.CPUMilli) + frac(w.mem+fn.MemoryMiB, w.info.MemoryMiB)) / 2
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
