package burst

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kdbench/kdbench/collectors/hoplog"
	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/collectors/selfcheck"
)

// HopStage is one stage of a Kubedirect burst, from the hops' own
// timestamps: per pod its duration; Mean over pods (the means add up to the
// mean end-to-end time), P50 and P90, and Share of the mean end to end.
type HopStage struct {
	Name           string
	Mean, P50, P90 time.Duration
	Share          float64
}

// hopStageNames are the stages in chain order; each pod's stages add up to
// its Ready − BurstStart exactly (one clock, consecutive timestamps).
var hopStageNames = []string{
	"deployment hop (API scale write, informer, sync → ReplicaSet sent)",
	"link deployment → replicaset",
	"replicaset hop (scale received → pod sent)",
	"link replicaset → scheduler",
	"scheduler hop (pod received → bound pod sent)",
	"link scheduler → node agent",
	"node side API writes (bind received → Ready status written)",
	"watch (Ready write returned → harness saw it; < 0: the event beat the reply)",
}

// nodeSideSplit replaces the node side's stage when the agent timed its
// create and status write (direct mode): the waits for a worker apart from
// the API calls (whose client-side throttling WriteNodeLoad reports).
var nodeSideSplit = []string{
	"node: bind received → create sent (waiting for a create worker)",
	"node: API create (sent → returned)",
	"node: sandbox after the create (created → delay over; 0: create was slower)",
	"node: both done → status write sent (waiting for a status worker)",
	"node: API status write (sent → returned)",
}

// nodeSideStage is the index of the node side's stage in hopStageNames.
const nodeSideStage = 6

// split reports whether t has the node side's split.
func split(t selfcheck.PodTiming) bool {
	return t.CreateSentNs > 0 && t.CreatedNs > 0 && t.SandboxDoneNs > 0 && t.WriteSentNs > 0
}

// parseHops reads /hops logs (component → JSON lines).
func parseHops(hops map[string][]byte) ([]hoplog.Event, error) {
	var out []hoplog.Event
	comps := make([]string, 0, len(hops))
	for c := range hops {
		comps = append(comps, c)
	}
	slices.Sort(comps)
	for _, comp := range comps {
		evs, err := hoplog.Parse(hops[comp])
		if err != nil {
			return nil, fmt.Errorf("%s /hops %w", comp, err)
		}
		out = append(out, evs...)
	}
	return out, nil
}

// HopBreakdown attributes each pod's end-to-end time to the hops, the links
// between them and the node side, from the hops' send and receive
// timestamps (/hops) and the node agent's Ready writes (/timings). It
// returns the stages and how many pods had every timestamp (the others are
// left out).
func HopBreakdown(recs []results.PodRecord, hops map[string][]byte, timings []selfcheck.PodTiming) ([]HopStage, int, error) {
	evs, err := parseHops(hops)
	if err != nil {
		return nil, 0, err
	}
	type span struct{ sent, recv int64 }
	rs := map[string]span{}                                  // namespace/ReplicaSet: first scale up
	toSched, toAgent := map[string]span{}, map[string]span{} // namespace/pod
	first := func(m map[string]span, k string, s span) {
		if old, ok := m[k]; !ok || s.recv < old.recv {
			m[k] = s
		}
	}
	for _, e := range evs {
		key := e.Namespace + "/" + e.Name
		s := span{e.SentNs, e.RecvNs}
		switch {
		case e.Hop == "replicaset" && e.Peer == "deployment" && e.Kind == "ReplicaSet" && e.Replicas > 0:
			first(rs, key, s)
		case e.Hop == "scheduler" && e.Peer == "replicaset" && e.Kind == "Pod":
			first(toSched, key, s)
		case e.Hop == "nodeagent" && e.Peer == "scheduler" && e.Kind == "Pod" && e.Phase == "Bound":
			first(toAgent, key, s)
		}
	}
	tim := map[string]selfcheck.PodTiming{}
	for _, t := range timings {
		tim[t.Namespace+"/"+t.Name] = t
	}
	type pod struct {
		r       results.PodRecord
		s, p, a span
		t       selfcheck.PodTiming
	}
	var pods []pod
	splitAll := true
	for _, r := range recs {
		key := r.Namespace + "/" + r.Pod
		j := strings.LastIndexByte(r.Pod, '-')
		if j <= 0 || r.Ready == 0 {
			continue
		}
		s, okS := rs[r.Namespace+"/"+r.Pod[:j]]
		p, okP := toSched[key]
		a, okA := toAgent[key]
		t := tim[key]
		if !okS || !okP || !okA || t.ReadyWrittenNs == 0 {
			continue
		}
		pods = append(pods, pod{r, s, p, a, t})
		splitAll = splitAll && split(t)
	}
	names := hopStageNames
	if splitAll {
		names = slices.Concat(hopStageNames[:nodeSideStage], nodeSideSplit, hopStageNames[nodeSideStage+1:])
	}
	per := make([][]time.Duration, len(names))
	var e2e []time.Duration
	for _, x := range pods {
		r, t := x.r, x.t
		ts := []int64{r.BurstStart, x.s.sent, x.s.recv, x.p.sent, x.p.recv, x.a.sent, x.a.recv}
		if splitAll {
			ts = append(ts, t.CreateSentNs, t.CreatedNs, max(t.CreatedNs, t.SandboxDoneNs), t.WriteSentNs)
		}
		ts = append(ts, t.ReadyWrittenNs, r.Ready)
		for i := range names {
			per[i] = append(per[i], time.Duration(ts[i+1]-ts[i]))
		}
		e2e = append(e2e, time.Duration(r.Ready-r.BurstStart))
	}
	if len(e2e) == 0 {
		return nil, 0, fmt.Errorf("no pod has every hop timestamp (%d pods, %d hop events, %d node-agent timings)", len(recs), len(evs), len(timings))
	}
	total := mean(e2e)
	out := make([]HopStage, len(names))
	for i, n := range names {
		ds := slices.Clone(per[i])
		slices.Sort(ds)
		m := mean(ds)
		out[i] = HopStage{Name: n, Mean: m, P50: Percentile(ds, .5), P90: Percentile(ds, .9)}
		if total > 0 {
			out[i].Share = float64(m) / float64(total)
		}
	}
	return out, len(e2e), nil
}

func mean(ds []time.Duration) time.Duration {
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}

// WriteHopBreakdown prints the stages as one table, with their sum (the
// mean end-to-end time).
func WriteHopBreakdown(w io.Writer, title string, pods int, stages []HopStage) error {
	fmt.Fprintf(w, "where the time goes: %s (%d pods, from the hops' own timestamps)\n", title, pods)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tMEAN MS\tSHARE\tP50 MS\tP90 MS")
	var sum time.Duration
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/1e6) }
	for _, s := range stages {
		fmt.Fprintf(tw, "%s\t%s\t%.0f%%\t%s\t%s\n", s.Name, ms(s.Mean), 100*s.Share, ms(s.P50), ms(s.P90))
		sum += s.Mean
	}
	fmt.Fprintf(tw, "end to end (sum)\t%s\t100%%\n", ms(sum))
	return tw.Flush()
}

// writeHopBreakdown prints a Kubedirect repetition's breakdown to the log
// and keeps it in the results (hopbreakdown_<rep>.txt); a repetition whose
// pods lack timestamps only warns.
func writeHopBreakdown(cfg Config, run *results.Run, id results.RepID, recs []results.PodRecord, hops map[string][]byte, timings []selfcheck.PodTiming) {
	stages, pods, err := HopBreakdown(recs, hops, timings)
	if err != nil {
		fmt.Fprintf(cfg.Log, "warning: %s: hop breakdown: %v\n", id, err)
		return
	}
	var b strings.Builder
	if err := WriteHopBreakdown(&b, id.String(), pods, stages); err != nil {
		fmt.Fprintf(cfg.Log, "warning: %s: hop breakdown: %v\n", id, err)
		return
	}
	if err := WriteNodeLoad(&b, timings); err != nil {
		fmt.Fprintf(cfg.Log, "warning: %s: hop breakdown: %v\n", id, err)
		return
	}
	fmt.Fprint(cfg.Log, b.String())
	file := fmt.Sprintf("hopbreakdown_%s_%s_%d_rep%d.txt", id.System, id.QPSProfile, id.Size, id.Rep)
	if err := run.WriteFile(file, strings.NewReader(b.String())); err != nil {
		fmt.Fprintf(cfg.Log, "warning: %v\n", err)
	}
}

// WriteNodeLoad prints, for the node agent's requests in timings, how many
// of each kind were in flight when one was sent (the agent's effective
// concurrency), how long they waited in the client's rate limiter, and
// the rate the kind ran at from its first send to its last reply; nothing
// if the agent did not time them.
func WriteNodeLoad(w io.Writer, timings []selfcheck.PodTiming) error {
	type kind struct {
		name                    string
		sent, done, inFl, thrNs func(selfcheck.PodTiming) int64
	}
	var first, last int64
	n := 0
	for _, t := range timings {
		if t.CreateSentNs > 0 && t.WriteSentNs > 0 {
			if first == 0 || t.CreateSentNs < first {
				first = t.CreateSentNs
			}
			last, n = max(last, t.ReadyWrittenNs), n+2
		}
	}
	if span := time.Duration(last - first); n > 0 && span > 0 {
		if _, err := fmt.Fprintf(w, "node agent API requests: %d requests in %.0f ms, %.0f/s (creates and status writes, first sent to last returned; the floor prints the same)\n",
			n, float64(span)/1e6, float64(n)/span.Seconds()); err != nil {
			return err
		}
	}
	for _, k := range []kind{
		{"API creates", func(t selfcheck.PodTiming) int64 { return t.CreateSentNs }, func(t selfcheck.PodTiming) int64 { return t.CreatedNs },
			func(t selfcheck.PodTiming) int64 { return t.CreatesInFlight }, func(t selfcheck.PodTiming) int64 { return t.CreateThrottledNs }},
		{"status writes", func(t selfcheck.PodTiming) int64 { return t.WriteSentNs }, func(t selfcheck.PodTiming) int64 { return t.ReadyWrittenNs },
			func(t selfcheck.PodTiming) int64 { return t.WritesInFlight }, func(t selfcheck.PodTiming) int64 { return t.WriteThrottledNs }},
	} {
		var inFl, thr []time.Duration // in flight as a Duration to share Percentile
		var first, last int64
		for _, t := range timings {
			s, d := k.sent(t), k.done(t)
			if s <= 0 || d <= 0 {
				continue
			}
			if first == 0 || s < first {
				first = s
			}
			last = max(last, d)
			inFl = append(inFl, time.Duration(k.inFl(t)))
			thr = append(thr, time.Duration(k.thrNs(t)))
		}
		if len(inFl) == 0 {
			continue
		}
		slices.Sort(inFl)
		slices.Sort(thr)
		span := time.Duration(last - first)
		if _, err := fmt.Fprintf(w, "node agent %s: %d in %.0f ms (%.0f/s); in flight at send p50 %d, max %d; client throttling mean %.1f ms, max %.1f ms\n",
			k.name, len(inFl), float64(span)/1e6, float64(len(inFl))/span.Seconds(), Percentile(inFl, .5), inFl[len(inFl)-1],
			float64(mean(thr))/1e6, float64(thr[len(thr)-1])/1e6); err != nil {
			return err
		}
	}
	return nil
}
