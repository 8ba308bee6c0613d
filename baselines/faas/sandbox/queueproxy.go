package sandbox

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	netheader "knative.dev/networking/pkg/http/header"
	netstats "knative.dev/networking/pkg/http/stats"
	"knative.dev/pkg/network/handlers"
	"knative.dev/serving/pkg/activator"
	pkghttp "knative.dev/serving/pkg/http"
	"knative.dev/serving/pkg/networking"
	"knative.dev/serving/pkg/queue"
	"knative.dev/serving/pkg/queue/health"
)

// ReportingPeriod is the real queue-proxy's stats period
// (pkg/queue/sharedmain: reportingPeriod).
const ReportingPeriod = time.Second

// QueueProxy is the queue-proxy side of one Knative pod, built from serving's
// own pkg/queue as its sharedmain wires it: requests (and the activator's
// probes) on ServingPort go through Knative's ProxyHandler — request
// accounting in networking's RequestStats, and the breaker when
// containerConcurrency is set — to the user container; every
// ReportingPeriod the stats become the Stat that MetricsPort serves to the
// autoscaler's scraper (ProtobufStatsReporter).
type QueueProxy struct {
	pod      string
	stats    *netstats.RequestStats
	reporter *queue.ProtobufStatsReporter
	servers  []*http.Server
	lns      []net.Listener
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// StartQueueProxy serves pod's queue-proxy on ip, in front of its user
// container at ip:cfg.UserPort.
func StartQueueProxy(pod string, ip netip.Addr, cfg QueueConfig) (*QueueProxy, error) {
	return startQueueProxy(pod, ip, cfg, hostNet, true)
}

// startQueueProxy is StartQueueProxy in network n; tick false leaves
// reporting to the caller (tests call report).
func startQueueProxy(pod string, ip netip.Addr, cfg QueueConfig, n *podNet, tick bool) (*QueueProxy, error) {
	user := net.JoinHostPort(ip.String(), strconv.Itoa(cfg.UserPort))
	q := &QueueProxy{pod: pod, stats: netstats.NewRequestStats(time.Now()),
		reporter: queue.NewProtobufStatsReporter(pod, ReportingPeriod), stop: make(chan struct{})}

	proxy := pkghttp.NewHeaderPruningReverseProxy(user, pkghttp.NoHostOverride, activator.RevisionHeaders, false)
	proxy.Transport = n.transport
	var breaker *queue.Breaker
	if cc := cfg.ContainerConcurrency; cc > 0 {
		// sharedmain's buildBreaker: a queue of 10× the concurrency.
		breaker = queue.NewBreaker(queue.BreakerParams{QueueDepth: 10 * cc, MaxConcurrency: cc, InitialCapacity: cc})
	}
	main := queue.ForwardedShimHandler(queue.ProxyHandler(breaker, q.stats, false, proxy))
	// The default readiness probe of a revision is a TCP dial of the user
	// port, as the queue-proxy makes it.
	ready := func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		c, err := n.dial(ctx, "tcp", user)
		if err != nil {
			return false
		}
		_ = c.Close()
		return true
	}
	drainer := &handlers.Drainer{
		HealthCheckUAPrefixes: []string{netheader.ActivatorUserAgent, netheader.AutoscalingUserAgent},
		Inner:                 main,
		HealthCheck:           health.ProbeHandler(ready, false),
	}
	metrics := http.NewServeMux()
	metrics.Handle("/metrics", queue.NewStatsHandler(q.reporter))

	// Requests come on both of Knative's serving ports, HTTP/1 or h2c (prior
	// knowledge): the activator uses 8013 and h2c for a revision whose port
	// is named h2c (the artifact's ksvc), else 8012; QUEUE_SERVING_PORT, if
	// another, is served too.
	type port struct {
		port int
		h    http.Handler
	}
	ports := []port{{networking.BackendHTTPPort, drainer}, {networking.BackendHTTP2Port, drainer}}
	if cfg.ServingPort != networking.BackendHTTPPort && cfg.ServingPort != networking.BackendHTTP2Port {
		ports = append(ports, port{cfg.ServingPort, drainer})
	}
	ports = append(ports, port{cfg.MetricsPort, metrics})
	protos := new(http.Protocols)
	protos.SetHTTP1(true)
	protos.SetUnencryptedHTTP2(true)
	for _, s := range ports {
		addr := netip.AddrPortFrom(ip, uint16(s.port))
		ln, err := n.listen("tcp", addr.String())
		if err != nil {
			q.Close()
			return nil, fmt.Errorf("queue-proxy of %s: listen on %s: %w", pod, addr, err)
		}
		srv := &http.Server{Handler: s.h, ReadHeaderTimeout: time.Minute, Protocols: protos}
		q.lns, q.servers = append(q.lns, ln), append(q.servers, srv)
		q.wg.Add(1)
		go func() { defer q.wg.Done(); _ = srv.Serve(ln) }()
	}
	if tick {
		q.wg.Add(1)
		go q.tick()
	}
	return q, nil
}

func (q *QueueProxy) tick() {
	defer q.wg.Done()
	t := time.NewTicker(ReportingPeriod)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			q.report(now)
		case <-q.stop:
			return
		}
	}
}

// report closes a reporting period at now, as sharedmain's ticker does.
func (q *QueueProxy) report(now time.Time) { q.reporter.Report(q.stats.Report(now)) }

// Drain stops accepting requests at once — the addresses are free when it
// returns — and lets running ones finish within grace, in the background.
func (q *QueueProxy) Drain(grace time.Duration) {
	q.stopTicker()
	for _, ln := range q.lns {
		_ = ln.Close()
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		for _, s := range q.servers {
			if s.Shutdown(ctx) != nil {
				_ = s.Close()
			}
		}
		q.wg.Wait()
	}()
}

// Close stops the queue-proxy at once.
func (q *QueueProxy) Close() {
	q.stopTicker()
	for _, s := range q.servers {
		_ = s.Close()
	}
	for _, ln := range q.lns {
		_ = ln.Close()
	}
	q.wg.Wait()
}

func (q *QueueProxy) stopTicker() { q.stopOnce.Do(func() { close(q.stop) }) }
