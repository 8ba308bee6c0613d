package replay

import (
	"bytes"
	"fmt"
	"io"
	"runtime/pprof"

	"github.com/kdbench/kdbench/internal/fsutil"
)

// heapProfiler returns a MemorySampler.OnPeak that replaces path with a
// heap profile of this process (`go tool pprof path` shows what holds the
// peak). The trial's front-end, autoscaler and any in-process hops all
// live here, so this is how a system's larger harness heap is explained.
func heapProfiler(path string, log io.Writer) func(MemorySample) {
	warned := false
	return func(MemorySample) {
		var b bytes.Buffer
		err := pprof.Lookup("heap").WriteTo(&b, 0)
		if err == nil {
			err = fsutil.WriteFileAtomic(path, b.Bytes(), 0o644)
		}
		if err != nil && !warned {
			warned = true
			fmt.Fprintf(log, "warning: heap profile %s: %v\n", path, err)
		}
	}
}
