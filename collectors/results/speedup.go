package results

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/kdbench/kdbench/internal/stats"
)

// Pair names two systems of one run to set side by side: how many times
// faster Fast is than Base (Kubedirect's kd against k8s, say).
type Pair struct{ Fast, Base string }

// ParsePairs reads "kd/k8s,kd+/k8s+".
func ParsePairs(s string) ([]Pair, error) {
	var out []Pair
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		a, b, ok := strings.Cut(f, "/")
		if !ok || a == "" || b == "" || a == b {
			return nil, fmt.Errorf("speed-up pair %q: want FAST/BASE, e.g. kd/k8s", f)
		}
		out = append(out, Pair{Fast: a, Base: b})
	}
	return out, nil
}

// WriteSpeedups prints, per pair, QPS profile and size, the metric's median
// over repetitions for both systems and Base/Fast (the speed-up) with its
// bootstrap interval. Configurations one side lacks are skipped.
func WriteSpeedups(w io.Writer, r *Run, pairs []Pair, m Metric, boot stats.BootstrapOptions) error {
	vals, err := repValues(r, m)
	if err != nil {
		return err
	}
	rows, err := ratios(vals, pairs, boot, func(p Pair) string { return p.Fast + "/" + p.Base }, false)
	if err != nil {
		return err
	}
	up := strings.ToUpper(m.String())
	return writeRatios(w, rows, fmt.Sprintf("SPEED-UP\tQPS\tSIZE\t%s FAST\t%s BASE\tBASE/FAST [95%% CI]", up, up))
}

// FloorSystem is the name the floor's measurements carry (workloads/floor):
// the least time this cluster's API server needs for a scale-out's writes.
const FloorSystem = "floor"

// WriteOverFloor prints, per system, QPS profile and size, the metric's
// median for the system and for the floor and system/floor with its
// bootstrap interval: how far each system is from the least this machine's
// API server allows (1.00x: at the floor).
func WriteOverFloor(w io.Writer, r *Run, m Metric, boot stats.BootstrapOptions) error {
	rows, err := OverFloor(r, m, boot)
	if err != nil {
		return err
	}
	up := strings.ToUpper(m.String())
	return writeRatios(w, rows, fmt.Sprintf("OVER FLOOR\tQPS\tSIZE\t%s SYSTEM\t%s FLOOR\tSYSTEM/FLOOR [95%% CI]", up, up))
}

// Ratio is one configuration of two systems set side by side: A and B are
// their medians as printed (A first), Point, Lo and Hi the ratio and its
// bootstrap interval.
type Ratio struct {
	Label, System, QPSProfile string
	Size                      int
	A, B                      float64
	Point, Lo, Hi             float64
}

// OverFloor is WriteOverFloor's rows: every system of the run (manifest
// order) at every configuration where the run also measured the floor;
// Ratio.A is the system's median, B the floor's, Point system/floor.
func OverFloor(r *Run, m Metric, boot stats.BootstrapOptions) ([]Ratio, error) {
	vals, err := repValues(r, m)
	if err != nil {
		return nil, err
	}
	var pairs []Pair
	seen := map[string]bool{}
	add := func(sys string) {
		if sys != FloorSystem && !seen[sys] {
			seen[sys] = true
			pairs = append(pairs, Pair{Fast: FloorSystem, Base: sys})
		}
	}
	for _, sys := range r.Manifest().Systems {
		add(sys)
	}
	var rest []string
	for c := range vals {
		rest = append(rest, c.System)
	}
	sort.Strings(rest)
	for _, sys := range rest {
		add(sys)
	}
	return ratios(vals, pairs, boot, func(p Pair) string { return p.Base + "/" + p.Fast }, true)
}

func repValues(r *Run, m Metric) (map[Config][]float64, error) {
	pd, err := r.Summary()
	if err != nil {
		return nil, err
	}
	return pd.RepValues(m)
}

// ratios sets, per pair, QPS profile and size, both systems' medians side
// by side (Fast first, or Base first with baseFirst) with Base/Fast and its
// bootstrap interval.
func ratios(vals map[Config][]float64, pairs []Pair, boot stats.BootstrapOptions, label func(Pair) string, baseFirst bool) ([]Ratio, error) {
	type key struct {
		profile string
		size    int
	}
	var out []Ratio
	for _, p := range pairs {
		var keys []key
		for c := range vals {
			if c.System == p.Fast {
				if _, ok := vals[Config{p.Base, c.QPSProfile, c.Size}]; ok {
					keys = append(keys, key{c.QPSProfile, c.Size})
				}
			}
		}
		sort.Slice(keys, func(i, j int) bool {
			if keys[i].profile != keys[j].profile {
				return keys[i].profile < keys[j].profile
			}
			return keys[i].size < keys[j].size
		})
		for _, k := range keys {
			fast, base := vals[Config{p.Fast, k.profile, k.size}], vals[Config{p.Base, k.profile, k.size}]
			iv, err := stats.BootstrapRatio(fast, base, stats.Median, boot)
			if err != nil {
				return nil, err
			}
			r := Ratio{Label: label(p), System: p.Fast, QPSProfile: k.profile, Size: k.size,
				A: stats.Median(fast), B: stats.Median(base), Point: iv.Point, Lo: iv.Lo, Hi: iv.Hi}
			if baseFirst {
				r.System, r.A, r.B = p.Base, r.B, r.A
			}
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		var names []string
		for _, p := range pairs {
			names = append(names, label(p))
		}
		return nil, fmt.Errorf("no configuration has both systems of %v", names)
	}
	return out, nil
}

func writeRatios(w io.Writer, rows []Ratio, header string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f\t%.1f\t%.2fx [%.2f, %.2f]\n", r.Label, r.QPSProfile, r.Size, r.A, r.B, r.Point, r.Lo, r.Hi)
	}
	return tw.Flush()
}
