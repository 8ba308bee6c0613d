package adapter

import (
	"sync"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
)

// statuses remembers the last status written of each managed object, so
// that an equal one is not written again. The controllers' informers show
// the API server's status, which lags the background writes: the upstream
// controllers' own "status unchanged" check then sees an old status and
// writes the same new one once per event (a 600-pod burst: ~190 ReplicaSet
// and Deployment status writes), each re-queueing every watcher of the
// object (Knative's reconcilers under kn-kd) and costing the API server
// CPU that the burst is bound by on 2 cores.
type statuses struct{ last sync.Map } // write key → written

type written struct {
	uid    types.UID // a recreated object's first status is always written
	status any
}

// seen tells whether status is the last one written of the object uid
// under key; if not, it records it as the last one.
func (s *statuses) seen(key string, uid types.UID, status any) bool {
	w := written{uid: uid, status: status}
	if prev, ok := s.last.Load(key); ok {
		p := prev.(written)
		if p.uid == uid && equality.Semantic.DeepEqual(p.status, status) {
			return true
		}
	}
	s.last.Store(key, w)
	return false
}

// failed forgets key's last status after its write failed, so that the
// controller's retry writes it.
func (s *statuses) failed(key string) { s.last.Delete(key) }
