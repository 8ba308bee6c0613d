// Package deployment runs the upstream Deployment controller as the
// "deployment" Kubedirect hop: managed Deployments' replicas come from the
// API server (their scale subresource), or from the autoscaler link's scale
// records where it sent one, and the controller's ReplicaSet scale writes go
// over the link to the ReplicaSet controller.
package deployment

import (
	"context"
	"fmt"

	"k8s.io/client-go/kubernetes"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/kubernetes/pkg/controller/deployment"

	"github.com/kdbench/kdbench/kubedirect/controllers/adapter"
	"github.com/kdbench/kdbench/kubedirect/egress"
	"github.com/kdbench/kdbench/kubedirect/hop"
	"github.com/kdbench/kdbench/kubedirect/link"
	"github.com/kdbench/kdbench/kubedirect/refhops"
	"github.com/kdbench/kdbench/kubedirect/wire"
)

// Config of the process.
type Config struct {
	Listen     string // for the autoscaler's link
	ReplicaSet string // the ReplicaSet controller hop's address
	Metrics    string
	Workers    int // KCM --concurrent-deployment-syncs
	// TLS is the hop's link identity (nil: plaintext links).
	TLS *link.Credentials
}

// Router: Deployment scale records come from the autoscaler; ReplicaSet
// scale records go down.
var Router = hop.RouterFuncs{UpstreamFunc: adapter.IsKind(wire.KindDeployment), DownstreamFunc: adapter.KindTo(wire.KindReplicaSet, refhops.ReplicaSet)}

// Run runs the controller until ctx ends.
func Run(ctx context.Context, cs kubernetes.Interface, c Config, ready func(link, metrics string)) error {
	h, err := adapter.StartHop(ctx, adapter.HopConfig{Name: refhops.Deployment, Upstream: refhops.Autoscaler, Listen: c.Listen,
		Down: map[string]string{refhops.ReplicaSet: c.ReplicaSet}, Router: Router, TLS: c.TLS})
	if err != nil {
		return err
	}
	dInf := adapter.NewDeploymentInformer(ctx, cs, h)
	rsInf := adapter.NewReplicaSetInformer(ctx, cs, h)
	// Pods matter only to Recreate rollouts (upstream syncDeployment's
	// podMap, deletePod): this hop watches unmanaged pods only. A managed
	// Recreate Deployment waits for its old ReplicaSets' status replicas to
	// reach 0 (oldPodsRunning checks those first), not for their
	// terminating pods to be gone as well.
	pods := adapter.PodInformer{Inf: adapter.NewPodInformer(adapter.UnmanagedPodsLW(cs))}
	client := adapter.NewClient(cs, egress.New(h), h.Store())
	ctrl, err := deployment.NewDeploymentController(ctx, adapter.DeploymentInformer{Inf: dInf},
		adapter.ReplicaSetInformer{Inf: rsInf}, pods, client)
	if err != nil {
		return fmt.Errorf("deployment: %w", err)
	}
	go dInf.Run(ctx.Done())
	go rsInf.Run(ctx.Done())
	go pods.Inf.Run(ctx.Done())
	maddr, err := h.Serve(ctx, c.Metrics, func() bool { return dInf.HasSynced() && rsInf.HasSynced() })
	if err != nil {
		return err
	}
	if ready != nil {
		ready(h.Addr, maddr)
	}
	if !toolscache.WaitForCacheSync(ctx.Done(), dInf.HasSynced, rsInf.HasSynced, pods.Informer().HasSynced) {
		return fmt.Errorf("deployment: informers did not sync: %w", ctx.Err())
	}
	ctrl.Run(ctx, max(c.Workers, 1))
	return nil
}
