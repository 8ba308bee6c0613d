package testbed

// What the multi-host driver checks and records in each run's results:
// which worker host served each pod, that kd's pods reached that host's
// agent over the scheduler's link, and the links' latency per hop.

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kdbench/kdbench/collectors/hoplog"
	"github.com/kdbench/kdbench/collectors/results"
)

// floorSystem names the harness's API floor in pods.csv: pods written to
// the API server and bound to nodes no agent serves, to price the API alone.
const floorSystem = "floor"

// Files the driver adds to a run's results directory.
const (
	podHostsFile = "pod-hosts.csv" // pod → node → host
	linksFile    = "links.csv"     // per link: messages and latency quantiles
)

// runDirs lists the results directories (those with a manifest) under root.
func runDirs(root string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == results.ManifestFile {
			out = append(out, filepath.Dir(path))
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// nodeHost is the worker host whose agent serves node: the process control
// plane names an agent's nodes <host>-<i> (--node-name-prefix).
func nodeHost(node string, workers []string) string {
	for _, w := range workers {
		if rest, ok := strings.CutPrefix(node, w+"-"); ok {
			if _, err := strconv.Atoi(rest); err == nil {
				return w
			}
		}
	}
	return ""
}

// hopFiles reads a run's hops_*.jsonl: component ("kd-scheduler",
// "kd-nodeagent.w1") → events.
func hopFiles(dir string) (map[string][]hoplog.Event, error) {
	files, err := filepath.Glob(filepath.Join(dir, "hops_*.jsonl"))
	if err != nil {
		return nil, err
	}
	out := map[string][]hoplog.Event{}
	for _, f := range files {
		base := strings.TrimSuffix(filepath.Base(f), ".jsonl")
		comp := base[strings.LastIndexByte(base, '_')+1:]
		body, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		evs, err := hoplog.Parse(body)
		if err != nil {
			return nil, fmt.Errorf("%s %w", f, err)
		}
		out[comp] = append(out[comp], evs...)
	}
	return out, nil
}

// podSet is the pods one results directory records: a burst run's
// pods.csv, or a trace replay's <system>_pods.csv.
type podSet struct {
	dir   string
	hosts string // the pod-hosts file written beside it
	pods  []results.PodRecord
}

// podSets reads every results directory under root that records pods.
func podSets(root string) ([]podSet, error) {
	dirs, err := runDirs(root)
	if err != nil {
		return nil, err
	}
	var out []podSet
	for _, dir := range dirs {
		run, err := results.Open(dir)
		if err != nil {
			return nil, err
		}
		pods, err := run.Pods()
		if err != nil {
			return nil, err
		}
		if len(pods) > 0 { // a failover run's pods are in its cases' files
			out = append(out, podSet{dir, podHostsFile, pods})
		}
	}
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(d.Name(), "_pods.csv") {
			return err
		}
		pods, err := results.ReadPodsFile(path)
		if err == nil {
			out = append(out, podSet{filepath.Dir(path), strings.TrimSuffix(d.Name(), "pods.csv") + podHostsFile, pods})
		}
		return err
	})
	return out, err
}

// servedBy checks that every pod of the runs under root ran on a worker
// host's agent, and, where the run has the agents' link logs (kd), that the
// pod's bind reached that host's agent over the scheduler's link. It writes
// pod-hosts.csv (pod, node, host, and the agent that got the bind) into each
// run and returns the pods per host.
func servedBy(root string, workers []string) (map[string]int, error) {
	sets, err := podSets(root)
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	for _, set := range sets {
		dir, pods := set.dir, set.pods
		hops, err := hopFiles(dir)
		if err != nil {
			return nil, err
		}
		bound := map[string]string{} // namespace/pod → host of the agent the bind reached
		linked := false
		for comp, evs := range hops {
			host, ok := strings.CutPrefix(comp, "kd-nodeagent.")
			if !ok {
				continue
			}
			linked = true
			for _, e := range evs {
				if e.Hop == "nodeagent" && e.Peer == "scheduler" && e.Kind == "Pod" && e.Phase == "Bound" {
					bound[e.Namespace+"/"+e.Name] = host
				}
			}
		}
		rows := [][]string{{"system", "namespace", "pod", "node", "host", "link_agent"}}
		var bad []string
		for _, p := range pods {
			if p.Node == "" || p.System == floorSystem {
				continue // never bound (a failed run says so itself), or the API floor's pods, bound to no node's agent by design
			}
			h := nodeHost(p.Node, workers)
			agent := bound[p.Namespace+"/"+p.Pod]
			switch {
			case h == "":
				bad = append(bad, fmt.Sprintf("pod %s/%s on node %s, which no worker host's agent (%v) serves", p.Namespace, p.Pod, p.Node, workers))
			case linked && agent != h:
				bad = append(bad, fmt.Sprintf("pod %s/%s on node %s of %s, but its bind reached the agent of %q over the link", p.Namespace, p.Pod, p.Node, h, agent))
			}
			counts[h]++
			rows = append(rows, []string{p.System, p.Namespace, p.Pod, p.Node, h, agent})
		}
		if err := writeCSV(filepath.Join(dir, set.hosts), rows); err != nil {
			return nil, err
		}
		if len(bad) > 0 {
			if len(bad) > 3 {
				bad = append(bad[:3], fmt.Sprintf("and %d more", len(bad)-3))
			}
			return counts, fmt.Errorf("%s: %s", dir, strings.Join(bad, "; "))
		}
	}
	return counts, nil
}

// linkLatency measures each link of the runs under root from its hops' own
// timestamps (received minus sent; the testbed's hosts share one clock),
// writes links.csv into each run and returns the median per link
// ("scheduler→nodeagent@w1").
func linkLatency(root string) (map[string]time.Duration, error) {
	dirs, err := runDirs(root)
	if err != nil {
		return nil, err
	}
	all := map[string][]time.Duration{}
	for _, dir := range dirs {
		hops, err := hopFiles(dir)
		if err != nil {
			return nil, err
		}
		per := map[string][]time.Duration{}
		for comp, evs := range hops {
			suffix := ""
			if host, ok := strings.CutPrefix(comp, "kd-nodeagent."); ok {
				suffix = "@" + host
			}
			for _, e := range evs {
				// The scale-out direction only (an agent's peer name
				// carries its address: its replies to the scheduler).
				if e.SentNs > 0 && e.RecvNs >= e.SentNs && !strings.Contains(e.Peer, "@") {
					l := e.Peer + "→" + e.Hop + suffix
					per[l] = append(per[l], time.Duration(e.RecvNs-e.SentNs))
				}
			}
		}
		rows := [][]string{{"link", "messages", "p50_us", "p90_us", "max_us"}}
		for _, l := range sortedKeys(per) {
			ds := per[l]
			slices.Sort(ds)
			all[l] = append(all[l], ds...)
			us := func(d time.Duration) string { return strconv.FormatInt(d.Microseconds(), 10) }
			rows = append(rows, []string{l, strconv.Itoa(len(ds)), us(quantile(ds, .5)), us(quantile(ds, .9)), us(ds[len(ds)-1])})
		}
		if len(per) > 0 {
			if err := writeCSV(filepath.Join(dir, linksFile), rows); err != nil {
				return nil, err
			}
		}
	}
	out := map[string]time.Duration{}
	for l, ds := range all {
		slices.Sort(ds)
		out[l] = quantile(ds, .5)
	}
	return out, nil
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func writeCSV(path string, rows [][]string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	if err := w.WriteAll(rows); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeTestRun writes a run of pods on nodes, with hops lines per component.
func writeTestRun(t *testing.T, root string, nodes []string, hops map[string]string) string {
	t.Helper()
	r, err := results.Create(root, results.Manifest{Experiment: "scale-pods", Systems: []string{"kd+", floorSystem}, Sizes: []int{len(nodes)}, Reps: 1})
	if err != nil {
		t.Fatal(err)
	}
	var pods []results.PodRecord
	var floor []results.PodRecord
	for i, n := range nodes {
		p := results.PodRecord{Namespace: "ns", Pod: fmt.Sprintf("fn-%d", i), Node: n, BurstStart: 1, Ready: 2}
		if node, ok := strings.CutPrefix(n, floorSystem+":"); ok {
			p.Node = node
			floor = append(floor, p)
			continue
		}
		pods = append(pods, p)
	}
	id := results.RepID{System: "kd+", Size: len(nodes)}
	if err := r.AppendPods(id, pods); err != nil {
		t.Fatal(err)
	}
	if len(floor) > 0 {
		if err := r.AppendPods(results.RepID{System: floorSystem, Size: len(nodes)}, floor); err != nil {
			t.Fatal(err)
		}
	}
	for comp, body := range hops {
		if err := os.WriteFile(filepath.Join(r.Dir, "hops_kd+__"+strconv.Itoa(len(nodes))+"_rep0_"+comp+".jsonl"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return r.Dir
}

func bind(pod string, sent, recv int64) string {
	return fmt.Sprintf(`{"hop":"nodeagent","peer":"scheduler","kind":"Pod","namespace":"ns","name":%q,"phase":"Bound","sentNs":%d,"recvNs":%d}`+"\n", pod, sent, recv)
}

func TestServedByAndLinks(t *testing.T) {
	workers := []string{"w1", "w2", "w10"}
	for _, tc := range []struct {
		name    string
		nodes   []string
		hops    map[string]string
		want    map[string]int
		wantErr string
		links   map[string]time.Duration
	}{
		{name: "API mode: by node name", nodes: []string{"w1-0", "w2-0", "w10-1"}, want: map[string]int{"w1": 1, "w2": 1, "w10": 1}},
		{name: "the floor's pods are no agent's", nodes: []string{"w1-0", "floor:kdbench-floor-node-0"}, want: map[string]int{"w1": 1}},
		{name: "a node no worker serves", nodes: []string{"w1-0", "cp-0"}, wantErr: "pod ns/fn-1 on node cp-0, which no worker host's agent"},
		{name: "w1 is not w10", nodes: []string{"w1x-0"}, wantErr: "node w1x-0"},
		{
			name: "kd: binds reached each host's agent", nodes: []string{"w1-0", "w2-3"},
			hops: map[string]string{"kd-nodeagent.w1": bind("fn-0", 100, 400), "kd-nodeagent.w2": bind("fn-1", 100, 300),
				"kd-scheduler": `{"hop":"scheduler","peer":"nodeagent@10.0.0.1:1","kind":"Pod","namespace":"ns","name":"fn-0","sentNs":1,"recvNs":9}` + "\n"},
			want: map[string]int{"w1": 1, "w2": 1}, links: map[string]time.Duration{"scheduler→nodeagent@w1": 300, "scheduler→nodeagent@w2": 200},
		},
		{
			name: "kd: a bind at another host's agent", nodes: []string{"w1-0", "w2-3"},
			hops:    map[string]string{"kd-nodeagent.w1": bind("fn-0", 1, 2) + bind("fn-1", 1, 2)},
			wantErr: `pod ns/fn-1 on node w2-3 of w2, but its bind reached the agent of "w1"`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir := writeTestRun(t, root, tc.nodes, tc.hops)
			got, err := servedBy(root, workers)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("servedBy = %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("pods per host %v, want %v", got, tc.want)
			}
			data, err := os.ReadFile(filepath.Join(dir, podHostsFile))
			agentPods := 0 // the floor's pods are not listed
			for _, n := range tc.nodes {
				if !strings.HasPrefix(n, floorSystem+":") {
					agentPods++
				}
			}
			if err != nil || strings.Count(string(data), "\n") != agentPods+1 {
				t.Errorf("%s: %v\n%s", podHostsFile, err, data)
			}
			links, err := linkLatency(root)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(links) != fmt.Sprint(tc.links) {
				t.Errorf("links %v, want %v", links, tc.links)
			}
		})
	}
}

// A trace replay has no run manifest: its <system>_pods.csv says where its
// pods ran, and is checked the same way.
func TestServedByTraceReplay(t *testing.T) {
	workers := []string{"w1", "w2"}
	for _, tc := range []struct {
		name    string
		nodes   []string
		want    string
		wantErr string
	}{
		{"on the workers", []string{"w1-0", "w2-1", "w2-0"}, "map[w1:1 w2:2]", ""},
		{"on the control-plane host", []string{"w1-0", "cp-0"}, "", "pod trace/fn-1 on node cp-0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "20261205-172316-azure-trace")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			var pods []results.PodRecord
			for i, n := range tc.nodes {
				pods = append(pods, results.PodRecord{System: "kn-kd", Namespace: "trace", Pod: fmt.Sprintf("fn-%d", i), Node: n, Created: 1})
			}
			if err := results.WritePodsFile(filepath.Join(dir, "kn-kd_pods.csv"), pods); err != nil {
				t.Fatal(err)
			}
			got, err := servedBy(root, workers)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("servedBy = %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || fmt.Sprint(got) != tc.want {
				t.Fatalf("servedBy = %v, %v; want %s", got, err, tc.want)
			}
			data, err := os.ReadFile(filepath.Join(dir, "kn-kd_"+podHostsFile))
			if err != nil || strings.Count(string(data), "\n") != len(tc.nodes)+1 {
				t.Errorf("kn-kd_%s: %v\n%s", podHostsFile, err, data)
			}
		})
	}
}
