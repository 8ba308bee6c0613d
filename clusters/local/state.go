package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// state is what state.json records about a cluster, so that a later
// `status` or `down` — or the next `up` after a crash — finds every process.
type state struct {
	Name         string            `json:"name"`
	CreatedAt    time.Time         `json:"createdAt"`
	QPSProfile   string            `json:"qpsProfile"`
	Nodes        int               `json:"nodes"`
	SandboxDelay string            `json:"sandboxDelay"`
	Server       string            `json:"server"`
	Ports        ports             `json:"ports"`
	Versions     map[string]string `json:"versions"`
	Procs        []*proc           `json:"processes"`
}

func (l layout) readState() (*state, error) {
	data, err := os.ReadFile(l.State())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s state
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", l.State(), err)
	}
	return &s, nil
}

func (l layout) writeState(s *state) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(l.State(), append(data, '\n'), 0o644)
}

// lock takes an exclusive, non-blocking lock on the cluster's work directory
// so that two kdbench commands never start or stop the same cluster at once.
// The kernel drops it if the process dies.
func (l layout) lock() (unlock func(), err error) {
	f, err := os.OpenFile(l.Lock(), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another kdbench command is starting or stopping this cluster (lock %s held)", l.Lock())
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
