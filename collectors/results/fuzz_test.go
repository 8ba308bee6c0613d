package results

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// Fuzz targets for every file a results directory holds. Bad input must be
// an error, never a panic. `go test` runs the seeds; `make fuzz` fuzzes each
// target briefly. Keep -fuzzminimizetime short: minimizing every new input
// for the default minute leaves little time for fuzzing.

func seedFile(f *testing.F, name string) []byte {
	f.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// FuzzReadPods: what reads back writes back the same: pods.csv's reader and
// writer agree on every value the reader accepts.
func FuzzReadPods(f *testing.F) {
	f.Add(seedFile(f, "pods.golden.csv"))
	f.Add([]byte(""))
	f.Add([]byte("system,qps_profile\n"))
	header := "system,qps_profile,experiment,size,rep,warmup,namespace,function,pod,node,burst_start_ns,rs_scaled_ns,created_ns,scheduled_ns,bound_ns,running_ns,ready_ns,deleted_ns\n"
	f.Add([]byte(header + "kd,,scale-pods,-1,0,maybe,ns,fn,p,n,1,2,3,4,5,6,7,\n"))
	f.Add([]byte(header + "kd,,scale-pods,1,0,true,ns,fn,p,n,+1,0x2,,,,,,9223372036854775808\n"))
	f.Add([]byte(header + "\"unterminated\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pods, err := readPods("pods.csv", bytes.NewReader(data))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := writePodRows(&buf, true, pods); err != nil {
			t.Fatalf("writing back what was read: %v", err)
		}
		again, err := readPods("pods.csv", &buf)
		if err != nil {
			t.Fatalf("reading back what was written: %v\n%s", err, buf.Bytes())
		}
		if len(pods) == 0 && len(again) == 0 {
			return
		}
		if !reflect.DeepEqual(pods, again) {
			t.Fatalf("round trip changed the records:\n%+v\n%+v", pods, again)
		}
	})
}

// FuzzOpen writes a results directory from the fuzzer's manifest.json,
// pods.csv and summary.json, then opens and reads it as kdbench compare and
// plot do.
func FuzzOpen(f *testing.F) {
	manifest, pods, summary := seedFile(f, "manifest.golden.json"), seedFile(f, "pods.golden.csv"), seedFile(f, "summary.golden.json")
	f.Add(manifest, pods, summary)
	f.Add(manifest, pods, []byte(nil)) // crashed before Finish: summary recomputed
	f.Add(manifest, []byte(nil), []byte(nil))
	f.Add([]byte(`{"schemaVersion": 1}`), []byte(nil), []byte(`{"version":"v1","dataItems":[{"data":null,"labels":null}]}`))
	f.Add([]byte(`{"schemaVersion": null}`), pods, summary)
	f.Add([]byte(`{"schemaVersion": 1, "repStatuses": [{"size": -1}]}`), pods, []byte(`[]`))
	f.Fuzz(func(t *testing.T, manifest, pods, summary []byte) {
		dir := t.TempDir()
		for name, data := range map[string][]byte{ManifestFile: manifest, PodsFile: pods, SummaryFile: summary} {
			if data == nil {
				continue
			}
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		r, err := Open(dir)
		if err != nil {
			return
		}
		_ = r.Manifest()
		_ = r.Crashed()
		_, _ = r.Reps()
		_ = r.HarnessWarnings()
		if pd, err := r.Summary(); err == nil && pd != nil {
			for _, m := range []string{"e2e_p50", "e2e_p99", "scheduler_max"} {
				if metric, err := ParseMetric(m); err == nil {
					_, _ = pd.RepValues(metric)
				}
			}
		}
	})
}

// FuzzParseFlags covers the parsers of command-line values about results.
func FuzzParseFlags(f *testing.F) {
	for _, s := range []string{"kd/k8s,kd+/k8s+", "e2e_p90", "scheduler_e2e_max", "_p50", "10%", "0.1", "", "/", "a/b/c", "%", "-5%", "NaN", "1e400%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParsePairs(s)
		_, _ = ParseFraction(s)
		if m, err := ParseMetric(s); err == nil {
			if again, err := ParseMetric(m.String()); err != nil || again != m {
				t.Fatalf("metric %q prints as %q, which parses to %+v, %v", s, m.String(), again, err)
			}
		}
	})
}
