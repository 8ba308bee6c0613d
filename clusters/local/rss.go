package local

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kdbench/kdbench/internal/supervisor"
)

// RSSBytes sums the resident memory of every process in the named cluster's
// process groups, for the idle-footprint benchmark.
func (p *Provider) RSSBytes(name string) (map[string]uint64, error) {
	l, err := p.layout(name)
	if err != nil {
		return nil, err
	}
	st, err := l.readState()
	if err != nil || st == nil {
		return nil, err
	}
	groups := map[int]string{} // pgid → component
	for _, pr := range st.Procs {
		groups[pr.PID] = pr.Name
	}
	out := map[string]uint64{}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		pgid, err := supervisor.ProcessGroup(pid)
		if err != nil {
			continue
		}
		if comp, ok := groups[pgid]; ok {
			out[comp] += vmRSS(pid)
		}
	}
	return out, nil
}

func vmRSS(pid int) uint64 {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			fields := strings.Fields(rest) // "12345 kB"
			if len(fields) > 0 {
				kb, _ := strconv.ParseUint(fields[0], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}
