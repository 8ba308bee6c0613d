package results

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	fixedClock(t)
	root := t.TempDir()
	m := testManifest()
	w := writeRun(t, root, m, 1, false)
	id := RepID{System: "k8s", Size: 10, Rep: 1}
	checks := []SelfCheck{
		NewSelfCheck(id, "client_throttle_wait_seconds", "s", 0.0, 0.05, "client-go rate limiter"),
		NewSelfCheck(id, "watch_lag_p99_seconds", "s", 0.2, 0.05, "event time vs receive time"),
	}
	if err := w.AddSelfChecks(checks...); err != nil {
		t.Fatal(err)
	}
	scrape := "# TYPE apiserver_request_total counter\napiserver_request_total{verb=\"POST\"} 7\n"
	name := MetricsFileName(id, "before", "kube-apiserver")
	if name != "k8s_10_rep1_before_kube-apiserver.prom" {
		t.Errorf("MetricsFileName = %q", name)
	}
	if err := w.WriteMetrics(name, strings.NewReader(scrape)); err != nil {
		t.Fatal(err)
	}
	const inv = "phase,instance,invocationID\n2,fn-1,min0.inv0\n"
	if err := w.WriteFile("trace_duration_30.csv", strings.NewReader(inv)); err != nil {
		t.Fatal(err)
	}
	if err := w.UpdateManifest(func(m *Manifest) { m.Params = map[string]string{"podsPerNode": "5"}; m.Status = RunFailed }); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(nil); err != nil {
		t.Fatal(err)
	}
	if err := w.MarkRep(id, RepOK, nil); err == nil {
		t.Errorf("MarkRep after Finish succeeded")
	}
	if got := filepath.Base(w.Dir); got != "20250102T030406Z-scale-pods" {
		t.Errorf("run directory %q, want <UTC start>-<experiment>", got)
	}

	r, err := Open(w.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Crashed() {
		t.Errorf("finished run reads as crashed")
	}
	gm, wm := r.Manifest(), w.Manifest()
	if !reflect.DeepEqual(gm, wm) {
		t.Errorf("manifest round trip:\n got %+v\nwant %+v", gm, wm)
	}
	if gm.Status != RunComplete || gm.End == nil || gm.SchemaVersion != SchemaVersion || gm.Params["podsPerNode"] != "5" {
		t.Errorf("manifest status %q end %v schema %d params %v", gm.Status, gm.End, gm.SchemaVersion, gm.Params)
	}
	if len(gm.RepStatuses) != 2*2*4 {
		t.Errorf("%d repetition statuses, want 16", len(gm.RepStatuses))
	}

	pods, err := r.Pods()
	if err != nil {
		t.Fatal(err)
	}
	if len(pods) != 4*(10+20)*2 {
		t.Fatalf("%d pods, want 240", len(pods))
	}
	first := synthPods(10, 1)[0]
	first.System, first.Size, first.Rep, first.Warmup, first.Experiment = "k8s", 10, 0, true, "scale-pods"
	if pods[0] != first {
		t.Errorf("first pod round trip:\n got %+v\nwant %+v", pods[0], first)
	}

	if got := r.SelfChecks(); !reflect.DeepEqual(got, checks) {
		t.Errorf("self-checks round trip: %+v", got)
	}
	if warn := r.HarnessWarnings(); len(warn) != 1 || warn[0].Name != "watch_lag_p99_seconds" {
		t.Errorf("harness warnings = %v", warn)
	}
	files, err := r.MetricsFiles()
	if err != nil || len(files) != 1 {
		t.Fatalf("metrics files %v, %v", files, err)
	}
	if b, _ := os.ReadFile(files[0]); string(b) != scrape {
		t.Errorf("metrics scrape round trip: %q", b)
	}

	if b, _ := os.ReadFile(r.Path("trace_duration_30.csv")); string(b) != inv {
		t.Errorf("extra file round trip: %q", b)
	}

	got, err := r.Summary()
	if err != nil {
		t.Fatal(err)
	}
	want, err := Summarize(gm, pods, r.Boot)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("summary.json differs from a recomputation")
	}
	if err := r.AppendPods(id, nil); err == nil {
		t.Errorf("AppendPods on an opened run succeeded")
	}
}

func TestPodsCSVGolden(t *testing.T) {
	fixedClock(t)
	m := testManifest()
	r, err := Create(t.TempDir(), m)
	if err != nil {
		t.Fatal(err)
	}
	pods := synthPods(3, 1)
	pods[2].Ready, pods[2].Running = 0, 0 // not observed: empty cells
	pods[1].Namespace = "needs,quoting"
	if err := r.AppendPods(RepID{System: "k8s+", Size: 10, Rep: 0, Warmup: true}, pods[:1]); err != nil {
		t.Fatal(err)
	}
	if err := r.AppendPods(RepID{System: "k8s+", Size: 10, Rep: 1}, pods[1:]); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(r.Dir, PodsFile))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "pods.golden.csv", b)
}

func TestManifestGolden(t *testing.T) {
	fixedClock(t)
	r, err := Create(t.TempDir(), testManifest())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.MarkRep(RepID{System: "k8s", Size: 20, Rep: 0, Warmup: true}, RepOK, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.MarkRep(RepID{System: "k8s", Size: 20, Rep: 1}, RepFailed, errors.New("timed out: 17 of 20 pods ready")); err != nil {
		t.Fatal(err)
	}
	if err := r.Finish(errors.New("interrupted")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(r.Dir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "manifest.golden.json", b)
}

// Pods are written one whole repetition at a time: a crash while writing
// the next one (a torn temporary file) leaves the earlier ones readable.
func TestAppendIsAtomicAndAppendOnly(t *testing.T) {
	r, err := Create(t.TempDir(), testManifest())
	if err != nil {
		t.Fatal(err)
	}
	a := RepID{System: "k8s", Size: 10, Rep: 0}
	if err := r.AppendPods(a, synthPods(10, 1)); err != nil {
		t.Fatal(err)
	}
	if err := r.AppendPods(a, synthPods(10, 1)); err == nil {
		t.Errorf("second AppendPods of the same repetition succeeded")
	}
	// A crash mid-write leaves a torn temporary beside pods.csv.
	torn := filepath.Join(r.Dir, ".pods.csv.tmp-123")
	if err := os.WriteFile(torn, []byte("system,qps_profile\nk8s,,sc"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A failing writer leaves the file as it was and no temporary behind.
	path := filepath.Join(r.Dir, PodsFile)
	before, _ := os.ReadFile(path)
	err = writeAtomic(path, func(w io.Writer) error {
		w.Write([]byte("garbage"))
		return errors.New("disk full")
	})
	if err == nil {
		t.Fatal("writeAtomic hid the writer's error")
	}
	after, _ := os.ReadFile(path)
	if string(after) != string(before) {
		t.Errorf("failed write changed %s", PodsFile)
	}
	entries, _ := os.ReadDir(r.Dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".pods.csv.tmp") && e.Name() != filepath.Base(torn) {
			t.Errorf("failed write left %s behind", e.Name())
		}
	}
	o, err := Open(r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	pods, err := o.Pods()
	if err != nil || len(pods) != 10 {
		t.Errorf("after a torn write: %d pods, %v; want the 10 written", len(pods), err)
	}
}

// A run whose process died: no summary.json, manifest still "running", the
// last repetition unmarked. It must open and summarise what completed.
func TestCrashedRunIsReadable(t *testing.T) {
	m := testManifest()
	w, err := Create(t.TempDir(), m)
	if err != nil {
		t.Fatal(err)
	}
	for rep := 0; rep < 3; rep++ {
		id := RepID{System: "k8s", Size: 10, Rep: rep}
		if err := w.AppendPods(id, synthPods(10, 1+float64(rep))); err != nil {
			t.Fatal(err)
		}
		if rep < 2 {
			if err := w.MarkRep(id, RepOK, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	// No Finish: the process "crashed".
	r, err := Open(w.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Crashed() {
		t.Errorf("run without Finish does not read as crashed")
	}
	if _, err := os.Stat(filepath.Join(w.Dir, SummaryFile)); !os.IsNotExist(err) {
		t.Fatalf("summary.json exists before Finish")
	}
	pd, err := r.Summary()
	if err != nil {
		t.Fatal(err)
	}
	vals, err := pd.RepValues(Metric{"e2e", KeyPerc90})
	if err != nil {
		t.Fatal(err)
	}
	if got := vals[Config{System: "k8s", Size: 10}]; len(got) != 2 {
		t.Errorf("crashed run: %d measured repetitions summarised, want the 2 marked ok (%v)", len(got), got)
	}
	reps, err := r.Reps()
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 3 || reps[2].State != RepIncomplete || reps[2].Rep != 2 {
		t.Errorf("reps = %+v, want the third incomplete", reps)
	}
}

func TestOpenRejectsOtherSchemas(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		content string
		want    []string // substrings of the error
		schema  bool     // a *SchemaError
	}{
		{"future manifest", ManifestFile, `{"schemaVersion": 2, "experiment": "scale-pods"}`, []string{ManifestFile, "version 2", "reads version 1"}, true},
		{"manifest without a version", ManifestFile, `{"experiment": "scale-pods"}`, []string{ManifestFile, "(none)"}, true},
		{"self-checks of another version", SelfChecksFile, `{"schemaVersion": 9, "checks": []}`, []string{SelfChecksFile, "version 9"}, true},
		{"summary of another perfdata version", SummaryFile, `{"version": "2.0", "dataItems": []}`, []string{SummaryFile, `"2.0"`}, true},
		{"pods.csv of another layout", PodsFile, "system,size,pod\nk8s,10,a\n", []string{PodsFile, "column 2", `"size"`, `"qps_profile"`}, false},
		{"pods.csv with a bad timestamp", PodsFile, strings.Join(podColumns, ",") + "\nk8s,,scale-pods,10,0,false,ns,fn,p,n,1,2,x,,,,,\n", []string{PodsFile + ":2", "created_ns"}, false},
		{"manifest that is not JSON", ManifestFile, `{"schemaVersion": 1,`, []string{ManifestFile}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Create(t.TempDir(), testManifest())
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(r.Dir, tt.file), []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = Open(r.Dir)
			if err == nil {
				t.Fatal("Open succeeded")
			}
			for _, s := range tt.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			var se *SchemaError
			if errors.As(err, &se) != tt.schema {
				t.Errorf("error %v: SchemaError %v, want %v", err, !tt.schema, tt.schema)
			}
		})
	}
	if _, err := Open(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a kdbench results directory") {
		t.Errorf("Open(empty dir) = %v", err)
	}
}

func TestBadInputIsRefused(t *testing.T) {
	m := testManifest()
	create := func(mod func(*Manifest)) error {
		mm := testManifest()
		mod(&mm)
		_, err := Create(t.TempDir(), mm)
		return err
	}
	for name, mod := range map[string]func(*Manifest){
		"empty experiment":   func(m *Manifest) { m.Experiment = "" },
		"experiment path":    func(m *Manifest) { m.Experiment = "../x" },
		"size 0":             func(m *Manifest) { m.Sizes = []int{100, 0} },
		"negative size":      func(m *Manifest) { m.Sizes = []int{-5} },
		"negative reps":      func(m *Manifest) { m.Reps = -1 },
		"system with spaces": func(m *Manifest) { m.Systems = []string{"k 8 s"} },
	} {
		if err := create(mod); err == nil {
			t.Errorf("Create with %s succeeded", name)
		}
	}

	r, err := Create(t.TempDir(), m)
	if err != nil {
		t.Fatal(err)
	}
	pods := synthPods(2, 1)
	negative := synthPods(1, 1)
	negative[0].Ready = -1
	for name, call := range map[string]func() error{
		"unknown system":         func() error { return r.AppendPods(RepID{System: "kd", Size: 10}, pods) },
		"size not in manifest":   func() error { return r.AppendPods(RepID{System: "k8s", Size: 30}, pods) },
		"size 0":                 func() error { return r.AppendPods(RepID{System: "k8s", Size: 0}, pods) },
		"negative rep":           func() error { return r.AppendPods(RepID{System: "k8s", Size: 10, Rep: -1}, pods) },
		"negative timestamp":     func() error { return r.AppendPods(RepID{System: "k8s", Size: 10}, negative) },
		"failed without reason":  func() error { return r.MarkRep(RepID{System: "k8s", Size: 10}, RepFailed, nil) },
		"made-up state":          func() error { return r.MarkRep(RepID{System: "k8s", Size: 10}, "meh", nil) },
		"metrics path":           func() error { return r.WriteMetrics("../escape.prom", strings.NewReader("")) },
		"check without verdict":  func() error { return r.AddSelfChecks(SelfCheck{Name: "x"}) },
		"file over the manifest": func() error { return r.WriteFile(ManifestFile, strings.NewReader("{}")) },
		"file in a subdirectory": func() error { return r.WriteFile("a/b.csv", strings.NewReader("")) },
	} {
		if err := call(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestCreateNeverReusesADirectory(t *testing.T) {
	fixedClock(t)
	root := t.TempDir()
	m := testManifest()
	m.Start = now()
	a, err := Create(root, m)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Create(root, m)
	if err != nil {
		t.Fatal(err)
	}
	if a.Dir == b.Dir || !strings.HasSuffix(b.Dir, "-scale-pods-2") {
		t.Errorf("two runs started the same second: %s and %s", a.Dir, b.Dir)
	}
}

// Collectors and workloads write from several goroutines: no repetition or
// check may be lost to a read-modify-write race.
func TestConcurrentWriters(t *testing.T) {
	m := testManifest()
	m.Sizes = nil
	r, err := Create(t.TempDir(), m)
	if err != nil {
		t.Fatal(err)
	}
	const reps = 8
	errs := make(chan error, 3*reps)
	for rep := 0; rep < reps; rep++ {
		go func() {
			id := RepID{System: "k8s", Size: 5, Rep: rep}
			if err := r.AppendPods(id, synthPods(5, 1)); err != nil {
				errs <- err
				return
			}
			errs <- r.MarkRep(id, RepOK, nil)
		}()
		go func() {
			errs <- r.AddSelfChecks(NewSelfCheck(RepID{System: "k8s", Size: 5, Rep: rep}, CheckWatchLag, "s", 0, 1, ""))
		}()
		go func() {
			errs <- r.WriteMetrics(MetricsFileName(RepID{System: "k8s", Size: 5, Rep: rep}, "after", "kube-scheduler"), strings.NewReader("x 1\n"))
		}()
	}
	for range 3 * reps {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Finish(nil); err != nil {
		t.Fatal(err)
	}
	o, err := Open(r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	pods, _ := o.Pods()
	files, _ := o.MetricsFiles()
	if len(pods) != 5*reps || len(o.Manifest().RepStatuses) != reps || len(o.SelfChecks()) != reps || len(files) != reps {
		t.Errorf("pods %d, statuses %d, checks %d, scrapes %d; want %d, %d, %d, %d",
			len(pods), len(o.Manifest().RepStatuses), len(o.SelfChecks()), len(files), 5*reps, reps, reps, reps)
	}
}
