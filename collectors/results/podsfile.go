package results

import (
	"fmt"
	"io"
	"os"
)

// WritePodsFile writes pods, with pods.csv's header and columns, to path
// through a temporary file: for results that are not a Run, such as a trace
// replay's <system>_pods.csv (which pod ran where, and when).
func WritePodsFile(path string, pods []PodRecord) error {
	for _, p := range pods {
		for j, t := range p.timestamps() {
			if *t < 0 {
				return fmt.Errorf("results: %s: pod %s/%s: negative %s timestamp %d", path, p.Namespace, p.Pod, Milestone(j), *t)
			}
		}
	}
	if err := writeAtomic(path, func(w io.Writer) error { return writePodRows(w, true, pods) }); err != nil {
		return fmt.Errorf("results: writing %s: %w", path, err)
	}
	return nil
}

// ReadPodsFile reads a file WritePodsFile (or a Run) wrote.
func ReadPodsFile(path string) ([]PodRecord, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	defer f.Close()
	return readPods(path, f)
}
