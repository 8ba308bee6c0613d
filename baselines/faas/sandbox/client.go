package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"time"

	"github.com/kdbench/kdbench/baselines/faas/gateway"
)

// Instance is a gateway.Instance calling one pod's sandbox over HTTP.
type Instance struct {
	pod    string
	url    string
	client *http.Client
	spin   bool
}

var _ gateway.Instance = (*Instance)(nil)

// NewInstance returns the instance of pod (its name) with pod IP ip. A nil
// client uses a shared one with keep-alive connections; spin asks the
// sandbox to busy-wait instead of sleeping.
func NewInstance(pod string, ip netip.Addr, client *http.Client, spin bool) (*Instance, error) {
	addr, err := Addr(ip)
	if err != nil {
		return nil, err
	}
	return NewInstanceAt(pod, addr, client, spin), nil
}

// NewInstanceAt returns the instance of pod whose sandbox listens at addr
// (as Pool.Addr reports it).
func NewInstanceAt(pod string, addr netip.AddrPort, client *http.Client, spin bool) *Instance {
	if client == nil {
		client = DefaultClient
	}
	return &Instance{pod: pod, url: "http://" + addr.String() + InvokePath, client: client, spin: spin}
}

// DefaultClient keeps connections to every sandbox alive: with
// containerConcurrency 1 each sandbox needs one at a time.
var DefaultClient = &http.Client{Transport: &http.Transport{
	MaxIdleConnsPerHost: 4,
	IdleConnTimeout:     90 * time.Second,
	DisableCompression:  true,
}}

// ID implements gateway.Instance.
func (in *Instance) ID() string { return in.pod }

// Invoke implements gateway.Instance.
func (in *Instance) Invoke(ctx context.Context, c gateway.Call) (gateway.Reply, error) {
	body, err := json.Marshal(Request{ID: c.ID, RuntimeUs: c.Runtime.Microseconds(), MemoryMiB: c.MemoryMiB, Spin: in.spin})
	if err != nil {
		return gateway.Reply{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.url, bytes.NewReader(body))
	if err != nil {
		return gateway.Reply{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	// A pooled connection to a sandbox that has since stopped fails before
	// anything is sent; the key lets the transport retry on a fresh one.
	req.Header.Set("Idempotency-Key", c.ID)
	resp, err := in.client.Do(req)
	if err != nil {
		return gateway.Reply{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return gateway.Reply{}, fmt.Errorf("sandbox %s: %s: %s", in.pod, resp.Status, bytes.TrimSpace(msg))
	}
	var r Response
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return gateway.Reply{}, fmt.Errorf("sandbox %s: reading reply: %w", in.pod, err)
	}
	return gateway.Reply{Duration: time.Duration(r.DurationUs) * time.Microsecond, MemoryMiB: r.MemoryMiB}, nil
}
