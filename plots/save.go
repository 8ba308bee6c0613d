package plots

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// Formats are the image formats Save writes.
var Formats = []string{"png", "svg", "pdf"}

// Default figure size: a single column of a two-column paper, readable on screen.
const (
	DefaultWidth  = 6 * vg.Inch
	DefaultHeight = 4 * vg.Inch
)

// ParseFormats parses a comma-separated list such as "png,svg".
func ParseFormats(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		if f == "" {
			continue
		}
		if !slices.Contains(Formats, f) {
			return nil, fmt.Errorf("plots: unknown format %q, want some of %s", f, strings.Join(Formats, ","))
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("plots: no format in %q", s)
	}
	return out, nil
}

// Save writes p as dir/name.<format> for each format, each through a
// temporary file and a rename, and returns the paths written.
func Save(p *plot.Plot, dir, name string, formats []string, w, h vg.Length) ([]string, error) {
	if w <= 0 || h <= 0 {
		w, h = DefaultWidth, DefaultHeight
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("plots: %w", err)
	}
	var paths []string
	for _, format := range formats {
		wt, err := p.WriterTo(w, h, format)
		if err != nil {
			return paths, fmt.Errorf("plots: %s as %s: %w", name, format, err)
		}
		path := filepath.Join(dir, name+"."+format)
		f, err := os.CreateTemp(dir, "."+name+"."+format+".tmp-*")
		if err != nil {
			return paths, fmt.Errorf("plots: %w", err)
		}
		_, err = wt.WriteTo(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(f.Name(), path)
		}
		if err != nil {
			os.Remove(f.Name())
			return paths, fmt.Errorf("plots: writing %s: %w", path, err)
		}
		paths = append(paths, path)
	}
	return paths, nil
}
