// Package resultstest writes scripted results directories for tests of the
// packages that read them (plots, compare, ae), so they need no cluster.
package resultstest

import (
	"fmt"
	"time"

	"github.com/kdbench/kdbench/collectors/results"
)

// Epoch is the scripted burst start, in Unix ns.
const Epoch = int64(1_700_000_000_000_000_000)

// Pods scripts one repetition of n pods. Pod i (from 1) passes the hops
// with delays, in ms, of deployment ctrl 5, ReplicaSet ctrl 2·i, scheduler
// 3·i + 1 (scheduled then bound 1 ms later) and kubelet 204 (running after
// 200, ready 4 later), each multiplied by speed. Larger speed = slower.
func Pods(n int, speed float64) []results.PodRecord {
	ms := func(x float64) int64 { return int64(x * speed * float64(time.Millisecond)) }
	pods := make([]results.PodRecord, n)
	for i := range pods {
		f := float64(i + 1)
		p := results.PodRecord{
			Namespace: "bench", Function: fmt.Sprintf("fn-%d", i%4), Pod: fmt.Sprintf("pod-%04d", i), Node: fmt.Sprintf("node-%d", i%3),
			BurstStart: Epoch,
			RSScaled:   Epoch + ms(5),
		}
		p.Created = p.RSScaled + ms(2*f)
		p.Scheduled = p.Created + ms(3*f)
		p.Bound = p.Scheduled + ms(1)
		p.Running = p.Bound + ms(200)
		p.Ready = p.Running + ms(4)
		pods[i] = p
	}
	return pods
}

// Speed returns a repetition's slowdown factor; see Pods.
type Speed func(id results.RepID) float64

// WriteRun creates a run under root from m, writes every system × QPS
// profile (or none) × size × (warm-up + measured) repetition with Pods at
// speed(id), marks each ok, and finishes it. Start should be set in m for
// a reproducible directory name.
func WriteRun(root string, m results.Manifest, speed Speed) (*results.Run, error) {
	r, err := results.Create(root, m)
	if err != nil {
		return nil, err
	}
	profiles := m.QPSProfiles
	if len(profiles) == 0 {
		profiles = []string{""}
	}
	for _, sys := range m.Systems {
		for _, prof := range profiles {
			for _, size := range m.Sizes {
				for rep := 0; rep < m.WarmupReps+m.Reps; rep++ {
					id := results.RepID{System: sys, QPSProfile: prof, Size: size, Rep: rep, Warmup: rep < m.WarmupReps}
					if err := r.AppendPods(id, Pods(size, speed(id))); err != nil {
						return nil, err
					}
					if err := r.MarkRep(id, results.RepOK, nil); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	if err := r.Finish(nil); err != nil {
		return nil, err
	}
	return r, nil
}
