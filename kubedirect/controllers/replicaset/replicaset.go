// Package replicaset runs the upstream ReplicaSet controller as the
// "replicaset" Kubedirect hop: scale records from the Deployment controller
// overlay managed ReplicaSets, managed pods are created and deleted
// (tombstoned) over the link to the scheduler.
package replicaset

import (
	"context"
	"fmt"

	"k8s.io/client-go/kubernetes"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/kubernetes/pkg/controller/replicaset"

	"github.com/kdbench/kdbench/kubedirect/controllers/adapter"
	"github.com/kdbench/kdbench/kubedirect/egress"
	"github.com/kdbench/kdbench/kubedirect/hop"
	"github.com/kdbench/kdbench/kubedirect/link"
	"github.com/kdbench/kdbench/kubedirect/refhops"
	"github.com/kdbench/kdbench/kubedirect/wire"
)

// Config of the process.
type Config struct {
	Listen    string // for the Deployment controller's link
	Scheduler string // the scheduler hop's address
	Metrics   string // /metrics, /hops, /readyz
	Workers   int    // concurrent ReplicaSet syncs (KCM --concurrent-replicaset-syncs)
	// BurstReplicas caps creations per sync (the KCM's 500).
	BurstReplicas int
	// TLS is the hop's link identity (nil: plaintext links).
	TLS *link.Credentials
}

// Router: ReplicaSet scale records come from upstream; pods start here.
var Router = hop.RouterFuncs{UpstreamFunc: adapter.IsKind(wire.KindReplicaSet), DownstreamFunc: adapter.KindTo(wire.KindPod, refhops.Scheduler)}

// Run runs the controller until ctx ends. ready is called with the
// addresses once the hop listens.
func Run(ctx context.Context, cs kubernetes.Interface, c Config, ready func(link, metrics string)) error {
	h, err := adapter.StartHop(ctx, adapter.HopConfig{Name: refhops.ReplicaSet, Upstream: refhops.Deployment, Listen: c.Listen,
		Down: map[string]string{refhops.Scheduler: c.Scheduler}, Router: Router, TLS: c.TLS})
	if err != nil {
		return err
	}
	rsInf := adapter.NewReplicaSetInformer(ctx, cs, h)
	tmpl := &adapter.Templates{Lister: adapter.ReplicaSetInformer{Inf: rsInf}.Lister(), Client: cs}
	podInf := adapter.NewPodInformer(adapter.PodsLW(ctx, cs, h, tmpl, nil))
	// A sync's new pods go to the scheduler in one frame (egress.NewBatching).
	client := adapter.NewClient(cs, egress.NewBatching(h), h.Store())
	ctrl := replicaset.NewReplicaSetController(ctx, adapter.ReplicaSetInformer{Inf: rsInf}, adapter.PodInformer{Inf: podInf}, client, c.BurstReplicas)
	go rsInf.Run(ctx.Done())
	go podInf.Run(ctx.Done())
	synced := func() bool { return rsInf.HasSynced() && podInf.HasSynced() }
	maddr, err := h.Serve(ctx, c.Metrics, synced)
	if err != nil {
		return err
	}
	if ready != nil {
		ready(h.Addr, maddr)
	}
	if !toolscache.WaitForCacheSync(ctx.Done(), rsInf.HasSynced, podInf.HasSynced) {
		return fmt.Errorf("replicaset: informers did not sync: %w", ctx.Err())
	}
	ctrl.Run(ctx, max(c.Workers, 1))
	return nil
}
