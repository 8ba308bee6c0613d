package local

import (
	"github.com/kdbench/kdbench/internal/supervisor"
)

// component is one process of the cluster and how to tell it is healthy.
type component struct {
	Name string
	Path string
	Args []string
	Log  string
	// URL is the health endpoint Healthy polls (for hosts that poll it
	// with curl).
	URL string
	// Dir is its working directory, where Reconfigure writes its files.
	Dir string
	// Healthy returns nil once the component, process pid, serves; it is
	// polled.
	Healthy supervisor.Check
}

// proc is a started component (or one read back from state.json).
type proc = supervisor.Process

// startProcess starts c under the supervisor; with attached set, the kernel
// kills it if kdbench itself dies, even by SIGKILL.
func startProcess(c component, attached bool) (*proc, error) {
	return supervisor.Start(supervisor.Spec{Name: c.Name, Path: c.Path, Args: c.Args, Log: c.Log, Dir: c.Dir, Attached: attached})
}
