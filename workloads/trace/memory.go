package trace

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"
)

// ErrTooLarge is returned, before anything is allocated, for a schedule
// whose invocations would not fit in memory.
var ErrTooLarge = errors.New("schedule too large for memory")

// invocationBytes is what one generated invocation takes.
const invocationBytes = int64(unsafe.Sizeof(Invocation{}))

// fallbackMemory is assumed when /proc/meminfo cannot be read.
const fallbackMemory = 4 << 30

// availableMemory is MemAvailable from /proc/meminfo, in bytes.
func availableMemory() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return fallbackMemory
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "MemAvailable:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err == nil && kb > 0 {
				return kb << 10
			}
		}
	}
	return fallbackMemory
}

// checkFits refuses a generation that would hold more than limit bytes of
// invocations at once: per function when streaming (Next holds one
// function), over all functions when the whole schedule is kept.
func checkFits(tr *Trace, minutes int, limit int64, whole bool) error {
	var total, biggest int64
	big := -1
	for i := range tr.Functions {
		n := tr.Functions[i].TotalInvocations(minutes)
		if n > biggest {
			biggest, big = n, i
		}
		total += n
		held := n
		if whole {
			held = total
		}
		if held > limit/invocationBytes {
			f := &tr.Functions[big]
			what := fmt.Sprintf("function %s (row %d) has %d invocations in %d columns", f.HashFunction, big, biggest, minutes)
			if whole && total != biggest {
				what += fmt.Sprintf(", and the first %d functions %d together", i+1, total)
			}
			return fmt.Errorf("trace: %w: %s, %.1f GiB at %d bytes each, more than the %.1f GiB available; expand fewer columns or sample fewer functions",
				ErrTooLarge, what, float64(held*invocationBytes)/(1<<30), invocationBytes, float64(limit)/(1<<30))
		}
	}
	return nil
}
