// Package etcd runs an embedded etcd server for the local cluster, the same
// 3.5 line that Kubernetes v1.32 uses. It runs as its own process (kdbench
// internal etcd) so that the cluster outlives the command that started it.
package etcd

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/kdbench/kdbench/internal/procid"
	"github.com/spf13/pflag"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap/zapcore"
)

// ReadyPath is served on the client URL: 200 once etcd is ready, from a
// response that names this process (procid), so that the harness's probe
// cannot be answered by another cluster's etcd on a port picked for ours.
const ReadyPath = "/kdbench/readyz"

// Config holds the few knobs the harness sets.
type Config struct {
	DataDir   string
	ClientURL string
	PeerURL   string
	// QuotaBytes is the backend quota (the artifact: 4 GiB, 8 GiB large).
	QuotaBytes int64
	// CompactionPeriod, e.g. "15m", enables periodic auto-compaction.
	CompactionPeriod string
	// UnsafeNoFsync trades durability for speed; recorded with results.
	UnsafeNoFsync bool
}

// AddFlags registers the flags of `kdbench internal etcd`.
func (c *Config) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.DataDir, "data-dir", "", "etcd data directory")
	fs.StringVar(&c.ClientURL, "listen-client-url", "http://127.0.0.1:2379", "client URL")
	fs.StringVar(&c.PeerURL, "listen-peer-url", "http://127.0.0.1:2380", "peer URL")
	fs.Int64Var(&c.QuotaBytes, "quota-backend-bytes", 2<<30, "backend quota in bytes")
	fs.StringVar(&c.CompactionPeriod, "auto-compaction-retention", "", "periodic compaction retention, e.g. 15m (empty: off)")
	fs.BoolVar(&c.UnsafeNoFsync, "unsafe-no-fsync", false, "skip fsync (faster, not crash-safe)")
}

// Run serves until ctx ends, then closes etcd cleanly.
func Run(ctx context.Context, c Config) error {
	if c.DataDir == "" {
		return fmt.Errorf("etcd: --data-dir is required")
	}
	cfg := embed.NewConfig()
	cfg.Name = "kdbench"
	cfg.Dir = c.DataDir
	cu, err := url.Parse(c.ClientURL)
	if err != nil {
		return fmt.Errorf("etcd: --listen-client-url: %w", err)
	}
	pu, err := url.Parse(c.PeerURL)
	if err != nil {
		return fmt.Errorf("etcd: --listen-peer-url: %w", err)
	}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	cfg.InitialCluster = cfg.Name + "=" + pu.String()
	cfg.QuotaBackendBytes = c.QuotaBytes
	if c.CompactionPeriod != "" {
		cfg.AutoCompactionMode = embed.CompactorModePeriodic
		cfg.AutoCompactionRetention = c.CompactionPeriod
	}
	cfg.UnsafeNoFsync = c.UnsafeNoFsync
	cfg.LogLevel = zapcore.WarnLevel.String()
	var ready atomic.Bool
	cfg.UserHandlers = map[string]http.Handler{ReadyPath: procid.Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "etcd not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	}))}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return fmt.Errorf("etcd: start: %w", err)
	}
	defer e.Close()
	select {
	case <-e.Server.ReadyNotify():
		ready.Store(true)
	case <-time.After(60 * time.Second):
		e.Server.Stop()
		return fmt.Errorf("etcd: not ready after 60s")
	case <-ctx.Done():
		return nil
	}
	select {
	case err := <-e.Err():
		return fmt.Errorf("etcd: %w", err)
	case <-ctx.Done():
		return nil
	}
}
