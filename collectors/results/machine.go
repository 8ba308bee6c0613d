package results

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// LocalMachine describes the machine this process runs on. Facts it cannot
// read (non-Linux, no /proc) are left empty rather than failing a run.
func LocalMachine() MachineFacts {
	m := MachineFacts{
		CPUs:      runtime.NumCPU(),
		OS:        runtime.GOOS,
		Arch:      runtime.GOARCH,
		GoVersion: runtime.Version(),
	}
	m.Hostname, _ = os.Hostname()
	if name := osReleaseName("/etc/os-release"); name != "" {
		m.OS = name
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.MemoryBytes = memTotal("/proc/meminfo")
	return m
}

func osReleaseName(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// memTotal reads MemTotal (kB) from a meminfo file; 0 if unreadable.
func memTotal(path string) uint64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}
