package hop

import (
	"github.com/kdbench/kdbench/kubedirect/cache"
	"github.com/kdbench/kdbench/kubedirect/wire"
)

// Logic is synchronous control logic driven by the hop (reference hops and
// tests). Wrapped Kubernetes controllers do not use it: they read through the
// ingress and write through the egress asynchronously.
type Logic interface {
	// Reconcile is called once the hop is Synced, after events that changed
	// the keys in dirty. It returns writes to apply.
	Reconcile(store *cache.Store, dirty []wire.Key) []wire.Record
	// Released is told about records whose tombstones were collected.
	Released(recs []wire.Record)
}

// RouterFuncs adapts two functions to a Router.
type RouterFuncs struct {
	UpstreamFunc   func(r *wire.Record) bool
	DownstreamFunc func(r *wire.Record) string
}

func (f RouterFuncs) Upstream(r *wire.Record) bool {
	return f.UpstreamFunc != nil && f.UpstreamFunc(r)
}

func (f RouterFuncs) Downstream(r *wire.Record) string {
	if f.DownstreamFunc == nil {
		return ""
	}
	return f.DownstreamFunc(r)
}

// Step runs logic to a fixed point on c after an event and returns the frames
// its writes produced. It does nothing until c is Synced.
func Step(c *Core, logic Logic) ([]Send, error) {
	var out []Send
	for i := 0; i < 64 && c.Synced(); i++ {
		if rel := c.TakeReleased(); len(rel) > 0 && logic != nil {
			logic.Released(rel)
		}
		dirty := c.TakeDirty()
		if logic == nil || (len(dirty) == 0 && i > 0) {
			return out, nil
		}
		w := logic.Reconcile(c.Store(), dirty)
		if len(w) == 0 {
			continue
		}
		s, err := c.Write(w...)
		if err != nil {
			return out, err
		}
		out = append(out, s...)
	}
	return out, nil
}
