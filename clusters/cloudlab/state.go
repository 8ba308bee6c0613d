package cloudlab

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/kdbench/kdbench/internal/fsutil"
)

// workDir names the files of one CloudLab cluster on this machine, under
// <root>/clusters/<name>/ like the local provider's.
type workDir struct{ root string }

func (d workDir) State() string          { return filepath.Join(d.root, "state.json") }
func (d workDir) Secrets() string        { return filepath.Join(d.root, "secrets.json") }
func (d workDir) KnownHosts() string     { return filepath.Join(d.root, "known_hosts") }
func (d workDir) Kubeconfig() string     { return filepath.Join(d.root, "kubeconfig") }
func (d workDir) Log(node string) string { return filepath.Join(d.root, "logs", node+".log") }
func (d workDir) File(name string) string {
	return filepath.Join(d.root, name)
}

func (d workDir) mkdirs() error { return os.MkdirAll(filepath.Join(d.root, "logs"), 0o755) }

// lock keeps two kdbench commands from bootstrapping one cluster at once.
func (d workDir) lock() (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(d.root, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another kdbench command is working on the cluster in %s", d.root)
	}
	return func() { f.Close() }, nil
}

// State is what state.json records: the nodes, and how far each got. It
// holds no secret. A re-run still checks every step (a node may have been
// reset meanwhile) but the state says where the last run stopped.
type State struct {
	Name       string `json:"name"`
	QPSProfile string `json:"qpsProfile"`
	// ControlPlane is the mode of the last up: kubeadm or processes.
	ControlPlane string    `json:"controlPlane,omitempty"`
	Inventory    Inventory `json:"inventory"`
	// Addons the last up installed (AddonKnative): later ups keep them.
	Addons []string `json:"addons,omitempty"`
	// Nodes and SandboxDelay are what a process control plane's agents
	// serve: runs attach with them (Options.Attach).
	Nodes        int                             `json:"nodes,omitempty"`
	SandboxDelay time.Duration                   `json:"sandboxDelay,omitempty"`
	Steps        map[string]map[string]StepState `json:"steps"` // node → step → state
	UpdatedAt    time.Time                       `json:"updatedAt"`
}

// StepState is one step's outcome on one node.
type StepState struct {
	// Status is "done" or "failed".
	Status string `json:"status"`
	// Applied is false when the check found the step already done.
	Applied  bool      `json:"applied"`
	Attempts int       `json:"attempts,omitempty"`
	Duration string    `json:"duration"`
	At       time.Time `json:"at"`
	// Error is the redacted failure, naming the command and its output's tail.
	Error string `json:"error,omitempty"`
}

const (
	statusDone   = "done"
	statusFailed = "failed"
)

// stateFile serializes updates from the nodes' goroutines and writes the
// file atomically after each one, so a crash loses at most the step in flight.
type stateFile struct {
	mu   sync.Mutex
	path string
	s    *State
}

func readState(path string) (*State, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}

func (f *stateFile) record(node, step string, st StepState) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.s.Steps == nil {
		f.s.Steps = map[string]map[string]StepState{}
	}
	if f.s.Steps[node] == nil {
		f.s.Steps[node] = map[string]StepState{}
	}
	f.s.Steps[node][step] = st
	return f.writeLocked()
}

func (f *stateFile) write() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writeLocked()
}

func (f *stateFile) writeLocked() error {
	f.s.UpdatedAt = time.Now().UTC().Truncate(time.Second)
	data, err := json.MarshalIndent(f.s, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(f.path, append(data, '\n'), 0o644)
}

// secrets are kept beside the state, mode 0600, and never in results.
type secrets struct {
	JoinToken string `json:"joinToken"`
}

// loadSecrets reads the cluster's secrets or makes new ones, so that a
// resumed bootstrap uses the token its control plane already knows.
func loadSecrets(path string) (secrets, error) {
	var s secrets
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(data, &s); err != nil || s.JoinToken == "" {
			return secrets{}, fmt.Errorf("%s is damaged; remove it and run `cluster down` first", path)
		}
		return s, nil
	case !errors.Is(err, fs.ErrNotExist):
		return secrets{}, err
	}
	s.JoinToken = newBootstrapToken()
	data, _ = json.Marshal(s)
	return s, fsutil.WriteFileAtomic(path, data, 0o600)
}

// newBootstrapToken makes a kubeadm bootstrap token, [a-z0-9]{6}.[a-z0-9]{16}.
func newBootstrapToken() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	out := make([]byte, 0, 23)
	var b [1]byte
	for len(out) < 23 {
		if len(out) == 6 {
			out = append(out, '.')
			continue
		}
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
		if int(b[0]) >= 256/len(alphabet)*len(alphabet) {
			continue // rejecting the top of the range keeps every character equally likely
		}
		out = append(out, alphabet[int(b[0])%len(alphabet)])
	}
	return string(out)
}
