package ae

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// FromResults rebuilds the figures and the report without a cluster, from
// dir: an ae output directory (its ae-state.json says which results belong
// to which step) or any directory holding results directories and
// loader-format trace CSVs made elsewhere. The report goes to opts.Out,
// by default dir itself.
func FromResults(dir string, opts ReportOptions) (*Report, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("--from-results: %w", err)
	}
	if opts.Out == "" {
		opts.Out = dir
	}
	if opts.Source == "" {
		opts.Source = dir
	}
	st, isAE, err := LoadState(dir)
	if err != nil {
		return nil, err
	}
	var ev *Evidence
	if isAE {
		opts.State = st
		if opts.Profile == nil {
			switch p, err := LoadProfile(filepath.Join(dir, ProfileFile)); {
			case err == nil:
				opts.Profile = p
			case !errors.Is(err, fs.ErrNotExist):
				return nil, err
			}
		}
		ev = EvidenceFromState(dir, st, opts.Profile)
	} else if ev, err = EvidenceFromDir(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return nil, err
	}
	return WriteReport(ev, opts)
}
