package sandbox

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/kdbench/kdbench/internal/netns"
)

// listenFunc has net.Listen's signature.
type listenFunc func(network, addr string) (net.Listener, error)

// podNet is the network a Knative pod's sandbox lives in: this process's
// own, or a network namespace (Pool.Netns) where the pod CIDR is local,
// which the node agent never enters itself (a socket keeps the namespace it
// was created in).
type podNet struct {
	listen listenFunc
	dial   func(ctx context.Context, network, addr string) (net.Conn, error)
	// transport carries the queue-proxies' requests to their user
	// containers, dialling in the same network.
	transport *http.Transport
}

// hostNet is this process's own network.
var hostNet = newPodNet("")

// newPodNet is the network of the namespace at path ("" for this
// process's).
func newPodNet(path string) *podNet {
	n := &podNet{listen: net.Listen, dial: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}
	if path != "" {
		n.listen = func(network, addr string) (net.Listener, error) { return netns.Listen(path, network, addr) }
		inNs := netns.DialContext(path)
		n.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			return inNs(ctx, network, addr)
		}
	}
	n.transport = &http.Transport{MaxIdleConnsPerHost: 100, IdleConnTimeout: 90 * time.Second, DialContext: n.dial}
	return n
}
