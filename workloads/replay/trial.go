package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/baselines/faas/gateway"
	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/metrics"
	"github.com/kdbench/kdbench/workloads/burst"
	"github.com/kdbench/kdbench/workloads/trace"
)

// FrontEnd is a running front-end (knative.FrontEnd).
type FrontEnd interface {
	Invoker
	Stop()
}

// StartFrontEnd starts a system's front-end for functions in namespace.
type StartFrontEnd func(ctx context.Context, namespace string, functions []string) (FrontEnd, error)

// Trial is one system replaying one schedule on a running cluster whose
// system is prepared.
type Trial struct {
	System   baselines.System
	Env      baselines.Env
	Start    StartFrontEnd
	Schedule *trace.Schedule
	// WarmupMinutes are the schedule's first minutes, phase 1 and left out
	// of the metrics.
	WarmupMinutes int
	// Rules computes the summary's metrics; zero means metrics.Artifact.
	Rules     metrics.Rules
	Namespace string
	// Dir receives <system>_duration_<minutes>.csv, <system>_summary.json
	// and, for a system with pods, <system>_pods.csv.
	Dir   string
	Log   io.Writer
	Clock clock.Clock // nil: the wall clock
	// Memory, if set, is read every MemoryInterval (default 5 s) during the
	// replay and summarised in Summary.Memory.
	Memory         MemoryReader
	MemoryInterval time.Duration
}

// RunTrial deploys the schedule's functions at zero replicas, starts the
// front-end, replays the schedule, and writes the result CSV and summary.
// Whatever was measured is written, also after Ctrl-C.
func RunTrial(ctx context.Context, t Trial) (sum Summary, err error) {
	fns := Functions(t.Schedule)
	names := make([]string, len(fns))
	for i, f := range fns {
		names[i] = f.Deployment
	}
	var decorate func(*appsv1.Deployment)
	if d, ok := t.System.(baselines.DeploymentDecorator); ok {
		decorate = d.DecorateDeployment
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if derr := t.Env.Client.CoreV1().Namespaces().Delete(dctx, t.Namespace, metav1.DeleteOptions{}); derr != nil && !apierrors.IsNotFound(derr) {
			err = errors.Join(err, fmt.Errorf("deleting namespace %s: %w", t.Namespace, derr))
		}
	}()
	if err := burst.Prepare(ctx, t.Env.Client, t.Namespace, names, decorate); err != nil {
		return sum, err
	}
	fe, err := t.Start(ctx, t.Namespace, names)
	if err != nil {
		return sum, fmt.Errorf("starting the front-end of %s: %w", t.System.Name(), err)
	}
	defer fe.Stop()
	// Every system's pods are watched, for <system>_pods.csv (which node,
	// hence which host, served each pod); a ColdStartTimer's cold starts
	// are also broken down from the same watch.
	cold, err := startColdStartWatch(ctx, t.Env, t.Namespace)
	if err != nil {
		return sum, fmt.Errorf("%s: %w", t.System.Name(), err)
	}
	defer cold.col.Stop()
	ct, timed := t.System.(ColdStartTimer)
	timed = timed && ct.TimesColdStarts()

	if err := os.MkdirAll(t.Dir, 0o755); err != nil {
		return sum, err
	}
	minutes := t.Schedule.Options.Minutes
	csvName := trace.ResultFileName(baselines.Slug(t.System.Name()), minutes)
	out, err := trace.CreateResultFile(filepath.Join(t.Dir, csvName))
	if err != nil {
		return sum, err
	}
	// Records stream to the CSV and into per-function sums; none is held.
	rules := t.Rules
	if rules.Name == "" {
		rules = metrics.Artifact
	}
	perFunction := metrics.NewAccumulator(rules, t.System.Name(), t.WarmupMinutes)
	logged := 0 // failures whose cause is logged; the CSV has no column for it
	fmt.Fprintf(t.Log, "%s: replaying %d invocations of %d functions over %d minutes\n", t.System.Name(), t.Schedule.Len(), len(fns), minutes)
	var sampler *MemorySampler
	measuredFrom := time.Now().Add(time.Duration(t.WarmupMinutes) * time.Minute)
	if t.Memory != nil {
		sampler = &MemorySampler{Read: t.Memory, Interval: t.MemoryInterval, Clock: t.Clock,
			OnPeak: heapProfiler(filepath.Join(t.Dir, baselines.Slug(t.System.Name())+"_heap.pprof"), t.Log)}
		if sampler.Interval <= 0 {
			sampler.Interval = 5 * time.Second
		}
		if t.Clock != nil {
			measuredFrom = t.Clock.Now().Add(time.Duration(t.WarmupMinutes) * time.Minute)
		}
		sampler.Start()
	}
	acc, runErr := Run(ctx, fe, Config{Schedule: t.Schedule, Functions: fns, WarmupMinutes: t.WarmupMinutes, Clock: t.Clock,
		Record: func(r gateway.Result) error {
			if r.Reason != "" && r.Reason != gateway.ReasonCanceled && logged < 10 {
				logged++
				fmt.Fprintf(t.Log, "%s: failed (%s): %v\n", t.System.Name(), r.Reason, r.Err)
			}
			perFunction.AddCSV(&r.Record)
			if timed {
				cold.record(r)
			}
			return out.Write(&r.Record)
		},
		Progress: func(n int) {
			fmt.Fprintf(t.Log, "%s: %d/%d invocations finished\n", t.System.Name(), n, t.Schedule.Len())
		},
	})
	var mem *MemorySummary
	if sampler != nil {
		m := sampler.Stop(measuredFrom)
		mem = &m
	}
	if cerr := out.Close(); cerr != nil {
		return sum, errors.Join(runErr, fmt.Errorf("writing %s: %w", csvName, cerr))
	}
	fmt.Fprintf(t.Log, "%s: %s\n", t.System.Name(), acc)
	sum = Summarise(t.System.Name(), acc, perFunction, len(fns), minutes, t.WarmupMinutes)
	sum.ResultCSV, sum.Memory = csvName, mem
	sum.FrontEnd = factsOf(t.System)
	pods := cold.pods(t.System)
	if timed {
		sum.ColdStarts = cold.breakdown(t.System, pods, t.Log)
	}
	if len(pods) > 0 {
		name := baselines.Slug(t.System.Name()) + "_pods.csv"
		if werr := results.WritePodsFile(filepath.Join(t.Dir, name), pods); werr != nil {
			return sum, errors.Join(runErr, werr)
		}
		sum.PodsCSV = name
	}
	if mem != nil {
		fmt.Fprintf(t.Log, "%s: %s\n", t.System.Name(), mem)
	}
	if werr := WriteJSON(filepath.Join(t.Dir, baselines.Slug(t.System.Name())+"_summary.json"), sum); werr != nil {
		return sum, errors.Join(runErr, werr)
	}
	return sum, runErr
}
