package ae

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/kdbench/kdbench/internal/fsutil"
)

// ProfileVersion is the profile format this kdbench reads. A profile of
// another version is refused rather than half understood.
const ProfileVersion = 1

// MinReps is the fewest measured repetitions a profile may ask for: with
// fewer, a bootstrap interval over repetitions says nothing.
const MinReps = 3

// Profile is one artifact evaluation as data: what to run and how long it
// is expected to take.
type Profile struct {
	Version     int    `json:"version"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Budget is the run time the profile is sized for; the plan warns when
	// its estimate exceeds it (0: no budget).
	Budget Duration `json:"budget,omitempty"`
	// Nodes is the cluster size of experiments that do not set their own.
	Nodes int `json:"nodes"`
	// Cost is the model the runtime estimates come from.
	Cost        CostModel    `json:"cost"`
	Experiments []Experiment `json:"experiments"`
}

// Experiment is one experiment of a profile, run once per system.
type Experiment struct {
	// ID names the entry in step ids; it defaults to Name and must be set
	// when a profile lists the same experiment twice.
	ID string `json:"id,omitempty"`
	// Name is the experiment, one of Kinds.
	Name        string   `json:"name"`
	Systems     []string `json:"systems"`
	Sizes       []int    `json:"sizes"`
	Reps        int      `json:"reps"`
	Warmup      int      `json:"warmup"`
	QPSProfiles []string `json:"qpsProfiles,omitempty"`
	// Nodes overrides the profile's cluster size (not for scale-nodes,
	// whose sizes are node counts).
	Nodes int `json:"nodes,omitempty"`
	// RepDuration is a repetition's fixed length when it does not depend on
	// pods (a trace replay's length), for the cost model.
	RepDuration Duration `json:"repDuration,omitempty"`
	// PerUnit is the cost model's extra time per unit of size and
	// repetition (scale-funcs: preparing and deleting one Deployment).
	PerUnit Duration `json:"perUnit,omitempty"`
	// Params are experiment-specific settings passed to its runner as-is.
	Params map[string]string `json:"params,omitempty"`
}

// Key is the experiment's id in step ids.
func (e Experiment) Key() string {
	if e.ID != "" {
		return e.ID
	}
	return e.Name
}

// Duration is a time.Duration written as "90s" or "1m30s" in profiles and
// in the state file.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration %s: want a string such as \"90s\" or \"2m\"", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

//go:embed profiles/*.yaml
var builtin embed.FS

// ProfileNames lists the built-in profiles.
func ProfileNames() []string {
	ents, _ := builtin.ReadDir("profiles")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	return out
}

// LoadProfile returns the built-in profile of that name or, if nameOrPath
// names a file (it has a path separator or a .yaml/.yml suffix), the
// profile in that file. Either is validated.
func LoadProfile(nameOrPath string) (*Profile, error) {
	var data []byte
	var err error
	src := nameOrPath
	if strings.ContainsRune(nameOrPath, filepath.Separator) || strings.HasSuffix(nameOrPath, ".yaml") || strings.HasSuffix(nameOrPath, ".yml") {
		data, err = os.ReadFile(nameOrPath)
	} else {
		src = "built-in profile " + nameOrPath
		data, err = builtin.ReadFile("profiles/" + nameOrPath + ".yaml")
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("profile %q: no such built-in profile (have %s) and not a .yaml file", nameOrPath, strings.Join(ProfileNames(), ", "))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	p, err := ParseProfile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	return p, nil
}

// ProfileFile is the copy of the profile the pipeline keeps in its output
// directory, so the report can be rebuilt from the directory alone.
const ProfileFile = "ae-profile.yaml"

func (p *Profile) save(dir string) error {
	b, err := yaml.Marshal(p)
	if err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(dir, ProfileFile), b, 0o644); err != nil {
		return fmt.Errorf("saving %s: %w", ProfileFile, err)
	}
	return nil
}

// ParseProfile reads and validates a YAML profile. Unknown fields are
// errors: a misspelt key must not silently fall back to a default.
func ParseProfile(data []byte) (*Profile, error) {
	var p Profile
	if err := yaml.UnmarshalStrict(data, &p); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Validate checks the profile against the papers' experiments and systems
// (Kinds, Systems): a name outside them is a typo, whereas a known one this
// build cannot run yet is a step that will be reported as not run.
func (p *Profile) Validate() error {
	var errs []error
	bad := func(f string, a ...any) { errs = append(errs, fmt.Errorf(f, a...)) }
	if p.Version != ProfileVersion {
		bad("version %d: this kdbench reads profile version %d", p.Version, ProfileVersion)
	}
	if p.Name == "" {
		bad("name: must be set")
	}
	if p.Nodes <= 0 {
		bad("nodes %d: must be positive", p.Nodes)
	}
	if p.Budget < 0 {
		bad("budget %s: must not be negative", p.Budget.D())
	}
	errs = append(errs, p.Cost.validate()...)
	if len(p.Experiments) == 0 {
		bad("experiments: none listed")
	}
	keys := map[string]bool{}
	for i, e := range p.Experiments {
		where := fmt.Sprintf("experiments[%d] (%s)", i, e.Key())
		if _, ok := KindOf(e.Name); !ok {
			bad("%s: unknown experiment %q (known: %s)", where, e.Name, strings.Join(kindNames(), ", "))
		}
		if keys[e.Key()] {
			bad("%s: listed twice; give each entry its own id", where)
		}
		keys[e.Key()] = true
		if strings.ContainsAny(e.Key(), "/ ") {
			bad("%s: id must not contain '/' or spaces", where)
		}
		if len(e.Systems) == 0 {
			bad("%s: no systems", where)
		}
		seen := map[string]bool{}
		for _, s := range e.Systems {
			if !slices.Contains(Systems, s) {
				bad("%s: unknown system %q (known: %s)", where, s, strings.Join(Systems, ", "))
			}
			if seen[s] {
				bad("%s: system %q listed twice", where, s)
			}
			seen[s] = true
		}
		if len(e.Sizes) == 0 {
			bad("%s: no sizes", where)
		}
		for _, n := range e.Sizes {
			if n <= 0 {
				bad("%s: size %d: sizes must be positive", where, n)
			}
		}
		if e.Reps < MinReps {
			bad("%s: reps %d: at least %d measured repetitions, so that intervals mean something", where, e.Reps, MinReps)
		}
		if e.Warmup < 0 {
			bad("%s: warmup %d: must not be negative", where, e.Warmup)
		}
		if e.Nodes < 0 {
			bad("%s: nodes %d: must not be negative", where, e.Nodes)
		}
		if k, _ := KindOf(e.Name); k.ClusterPerSize && e.Nodes != 0 {
			bad("%s: nodes: %s sizes are node counts; do not set nodes", where, e.Name)
		}
		if e.RepDuration < 0 || e.PerUnit < 0 {
			bad("%s: repDuration %s and perUnit %s must not be negative", where, e.RepDuration.D(), e.PerUnit.D())
		}
	}
	return errors.Join(errs...)
}
