package dirigent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DataPlaneConfig is one data plane's.
type DataPlaneConfig struct {
	// ControlPlane is the control plane's base URL.
	ControlPlane string
	// DispatchTimeout bounds the wait of a queued request for a sandbox.
	DispatchTimeout time.Duration
	// MetricsPeriod is how often the data plane reports concurrency.
	MetricsPeriod time.Duration
}

// ErrDispatchTimeout is the reason of a request that found no sandbox in time.
var ErrDispatchTimeout = errors.New("dispatch timeout: no sandbox became ready")

// errUnknownFunction fails calls of a function the data plane was not told of.
var errUnknownFunction = errors.New("function is not registered")

// errDeregistered fails the requests queued for a function that is removed.
var errDeregistered = errors.New("function deregistered")

// maxAttempts bounds the retries of a call whose sandbox was drained
// between dispatch and arrival (it never ran, so retrying is safe).
const maxAttempts = 3

// DataPlane proxies invocations to sandboxes: a queue per function, load
// balancing over Ready sandboxes, and cold starts that wait in the queue.
type DataPlane struct {
	cfg     DataPlaneConfig
	srv     *server
	metrics *dpMetrics
	client  *http.Client
	stop    context.CancelFunc
	done    chan struct{}

	mu     sync.Mutex
	queues map[string]*queue
}

// StartDataPlane starts a data plane and registers it with the control plane,
// which then pushes it every function's Ready sandboxes.
func StartDataPlane(ctx context.Context, cfg DataPlaneConfig) (*DataPlane, error) {
	if cfg.DispatchTimeout <= 0 {
		cfg.DispatchTimeout = 30 * time.Second
	}
	if cfg.MetricsPeriod <= 0 {
		cfg.MetricsPeriod = DefaultAutoscalerConfig().Period
	}
	dp := &DataPlane{cfg: cfg, client: newClient(), queues: map[string]*queue{}, done: make(chan struct{})}
	reg := prometheus.NewRegistry()
	dp.metrics = newDPMetrics(reg)
	mux := http.NewServeMux()
	mux.Handle("GET "+pathPrometheus, metricsHandler(reg))
	mux.HandleFunc("POST "+pathEndpoints, dp.handleEndpoints)
	mux.HandleFunc("POST "+pathInvoke+"{function}", dp.handleInvoke)
	srv, err := listen(mux)
	if err != nil {
		return nil, fmt.Errorf("data plane: %w", err)
	}
	dp.srv = srv
	if err := post(ctx, dp.client, http.MethodPost, cfg.ControlPlane+pathDataPlanes, dataPlaneInfo{URL: srv.url}, nil); err != nil {
		_ = srv.close()
		return nil, fmt.Errorf("data plane: registering with the control plane: %w", err)
	}
	mctx, stop := context.WithCancel(context.Background())
	dp.stop = stop
	go dp.reportMetrics(mctx)
	return dp, nil
}

// URL is the data plane's base URL, where clients invoke functions.
func (dp *DataPlane) URL() string { return dp.srv.url }

// Close stops the data plane.
func (dp *DataPlane) Close() error {
	dp.stop()
	<-dp.done
	return dp.srv.close()
}

func (dp *DataPlane) handleEndpoints(w http.ResponseWriter, r *http.Request) {
	var u endpointsUpdate
	if !decode(w, r, &u) {
		return
	}
	now := time.Now()
	dp.mu.Lock()
	defer dp.mu.Unlock()
	q, ok := dp.queues[u.Function]
	if ok && u.Version <= q.version {
		w.WriteHeader(http.StatusNoContent) // stale
		return
	}
	if !ok {
		q = newQueue(now)
		dp.queues[u.Function] = q
	}
	q.account(now)
	q.version = u.Version
	// A deregistered function keeps its queue as a tombstone, so an older
	// update arriving late cannot bring it back.
	q.deleted = u.Deleted
	q.update(u.Sandboxes)
	if q.deleted {
		for e := q.waiters.Front(); e != nil; e = q.waiters.Front() {
			q.waiters.Remove(e).(chan *dpSandbox) <- nil
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	// Requests left waiting on a function scaled to zero under them ask
	// for a sandbox now rather than at the next autoscaling period.
	if len(q.sandboxes) == 0 && q.waiters.Len() > 0 && !q.coldSent {
		q.coldSent = true
		go dp.reportColdStart(u.Function)
	}
	w.WriteHeader(http.StatusNoContent)
}

// acquire returns a sandbox of fn, waiting in fn's queue for one.
func (dp *DataPlane) acquire(ctx context.Context, fn string) (*queue, *dpSandbox, bool, error) {
	now := time.Now()
	dp.mu.Lock()
	q, ok := dp.queues[fn]
	if !ok || q.deleted {
		dp.mu.Unlock()
		return nil, nil, false, fmt.Errorf("function %s: %w", fn, errUnknownFunction)
	}
	q.account(now)
	if sb := q.take(); sb != nil {
		dp.mu.Unlock()
		return q, sb, false, nil
	}
	ch := make(chan *dpSandbox, 1)
	e := q.waiters.PushBack(ch)
	if len(q.sandboxes) == 0 && !q.coldSent {
		q.coldSent = true
		go dp.reportColdStart(fn)
	}
	dp.mu.Unlock()

	t := time.NewTimer(dp.cfg.DispatchTimeout)
	defer t.Stop()
	var reason error
	select {
	case sb := <-ch:
		if sb == nil {
			return nil, nil, true, errDeregistered
		}
		return q, sb, true, nil
	case <-t.C:
		reason = ErrDispatchTimeout
	case <-ctx.Done():
		reason = ctx.Err()
	}
	dp.mu.Lock()
	defer dp.mu.Unlock()
	select {
	case sb := <-ch: // handed over while timing out: use it
		if sb == nil {
			return nil, nil, true, errDeregistered
		}
		return q, sb, true, nil
	default:
	}
	q.account(time.Now())
	q.waiters.Remove(e)
	return nil, nil, true, reason
}

// release returns sb to its queue; a sandbox that failed is dropped until
// the control plane says otherwise.
func (dp *DataPlane) release(q *queue, sb *dpSandbox, failed bool) {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	q.account(time.Now())
	q.inflight--
	sb.busy = false
	if failed {
		sb.removed = true
		delete(q.sandboxes, sb.ref.ID)
		return
	}
	q.give(sb)
}

// Invoke runs one call of fn: dispatch to a free sandbox, or queue for one.
func (dp *DataPlane) Invoke(ctx context.Context, fn string, c Call) (Reply, error) {
	rep, err := dp.invoke(ctx, fn, c)
	outcome := outcomeCompleted
	switch {
	case errors.Is(err, ErrDispatchTimeout):
		outcome = outcomeDispatchTimeout
	case errors.Is(err, errUnknownFunction), errors.Is(err, errDeregistered):
		outcome = outcomeUnknown
	case err != nil:
		outcome = outcomeFailed
	}
	dp.metrics.invocations.WithLabelValues(outcome).Inc()
	if rep.ColdStart {
		dp.metrics.coldStarts.Inc()
	}
	dp.metrics.waitSeconds.Observe(float64(rep.QueueUs) / 1e6)
	return rep, err
}

func (dp *DataPlane) invoke(ctx context.Context, fn string, c Call) (Reply, error) {
	start := time.Now()
	cold := false
	for attempt := 1; ; attempt++ {
		q, sb, waited, err := dp.acquire(ctx, fn)
		cold = cold || waited
		if err != nil {
			return Reply{QueueUs: time.Since(start).Microseconds(), ColdStart: cold}, err
		}
		queued := time.Since(start)
		var rep Reply
		err = post(ctx, dp.client, http.MethodPost, sb.ref.URL, c, &rep)
		var se *StatusError
		gone := errors.As(err, &se) && se.Status == http.StatusGone
		dp.release(q, sb, err != nil && !gone)
		if gone && attempt < maxAttempts {
			continue
		}
		rep.QueueUs, rep.ColdStart = queued.Microseconds(), cold
		if err != nil {
			return rep, fmt.Errorf("function %s: sandbox %s on %s: %w", fn, sb.ref.ID, sb.ref.Worker, err)
		}
		return rep, nil
	}
}

func (dp *DataPlane) handleInvoke(w http.ResponseWriter, r *http.Request) {
	var c Call
	if !decode(w, r, &c) {
		return
	}
	rep, err := dp.Invoke(r.Context(), r.PathValue("function"), c)
	switch {
	case errors.Is(err, ErrDispatchTimeout):
		http.Error(w, err.Error(), http.StatusGatewayTimeout)
	case errors.Is(err, errUnknownFunction), errors.Is(err, errDeregistered):
		http.Error(w, err.Error(), http.StatusNotFound)
	case err != nil:
		httpError(w, err, http.StatusBadGateway)
	default:
		reply(w, http.StatusOK, rep)
	}
}

func (dp *DataPlane) reportColdStart(fn string) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	_ = post(ctx, dp.client, http.MethodPost, dp.cfg.ControlPlane+pathColdStart, coldStart{Function: fn}, nil)
}

// reportMetrics sends each period's mean in-flight + queued per function.
func (dp *DataPlane) reportMetrics(ctx context.Context) {
	defer close(dp.done)
	t := time.NewTicker(dp.cfg.MetricsPeriod)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		m := metricsReport{DataPlane: dp.srv.url, Concurrency: map[string]float64{}}
		dp.mu.Lock()
		for fn, q := range dp.queues {
			if !q.deleted {
				m.Concurrency[fn] = q.sample(now, last)
			}
		}
		dp.mu.Unlock()
		last = now
		rctx, cancel := context.WithTimeout(ctx, dp.cfg.MetricsPeriod)
		_ = post(rctx, dp.client, http.MethodPost, dp.cfg.ControlPlane+pathMetrics, m, nil)
		cancel()
	}
}
