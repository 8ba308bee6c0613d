package ae

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/kdbench/kdbench/internal/fsutil"
)

// StateFile records, in the output directory, what each step did.
const StateFile = "ae-state.json"

// StateVersion is the state file's format version.
const StateVersion = 1

// Status is a step's outcome.
type Status string

const (
	// StatusRunning is what a step that crashed the process still says.
	StatusRunning Status = "running"
	StatusDone    Status = "done"
	StatusFailed  Status = "failed"
	// StatusNotRun is a step this build cannot run (Reason says why).
	StatusNotRun Status = "not-run"
)

// StepState is one step's record.
type StepState struct {
	Status Status `json:"status"`
	// ResultsDir is the step's results directory, relative to the output
	// directory; it may be set for a failed step that measured something.
	ResultsDir string    `json:"resultsDir,omitempty"`
	Started    time.Time `json:"started,omitzero"`
	Duration   Duration  `json:"duration,omitempty"`
	Estimate   Duration  `json:"estimate,omitempty"`
	Error      string    `json:"error,omitempty"`
	// Earlier lists the results directories of earlier attempts (a failed
	// or interrupted run), kept on disk and here so nothing measured is lost.
	Earlier []string `json:"earlier,omitempty"`
}

// State is ae-state.json: the profile it belongs to and each step's record.
type State struct {
	Version int    `json:"version"`
	Profile string `json:"profile"`
	// ProfileDigest ties the directory to the profile's contents, so a
	// changed profile is not resumed into a directory made by another.
	ProfileDigest string                `json:"profileDigest"`
	Steps         map[string]*StepState `json:"steps"`
}

// Digest identifies a profile's contents.
func (p *Profile) Digest() string {
	b, _ := json.Marshal(p)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// LoadState reads dir's state file; a directory without one has an empty
// state (ok false).
func LoadState(dir string) (st *State, ok bool, err error) {
	path := filepath.Join(dir, StateFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &State{Version: StateVersion, Steps: map[string]*StepState{}}, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	st = &State{}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, false, fmt.Errorf("%s: %w", path, err)
	}
	if st.Version != StateVersion {
		return nil, false, fmt.Errorf("%s: state version %d, this kdbench reads %d", path, st.Version, StateVersion)
	}
	if st.Steps == nil {
		st.Steps = map[string]*StepState{}
	}
	return st, true, nil
}

// Save writes the state atomically: a crash leaves the old file or the new.
func (st *State) Save(dir string) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(dir, StateFile), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("saving %s: %w", StateFile, err)
	}
	return nil
}
