package nodeagent

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
)

func TestDefaultConfigIsValid(t *testing.T) {
	c := DefaultConfig()
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	if c.Nodes != 80 || c.CPU.String() != "10" || c.Memory.String() != "64Gi" || c.MaxPods != 110 || c.SandboxDelay != 0 {
		t.Errorf("defaults = %d nodes, %s CPU, %s memory, %d pods, delay %s; want the paper's 80 × (10, 64Gi, 110), 0",
			c.Nodes, c.CPU.String(), c.Memory.String(), c.MaxPods, c.SandboxDelay)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string // substring of the error; it names the field
	}{
		{"negative nodes", func(c *Config) { c.Nodes = -1 }, "Nodes: -1 is negative"},
		{"prefix not a DNS name", func(c *Config) { c.NamePrefix = "KD_" }, "NamePrefix"},
		{"name too long for a label", func(c *Config) { c.NamePrefix = strings.Repeat("a", 63) }, "NamePrefix"},
		{"negative cpu", func(c *Config) { c.CPU = resource.MustParse("-1") }, "CPU: -1 is negative"},
		{"negative max pods", func(c *Config) { c.MaxPods = -3 }, "MaxPods"},
		{"bad label key", func(c *Config) { c.Labels = map[string]string{"a b": "x"} }, `Labels: key "a b"`},
		{"bad label value", func(c *Config) { c.Labels = map[string]string{"a": "x y"} }, `Labels: value "x y"`},
		{"bad taint effect", func(c *Config) { c.Taints = []corev1.Taint{{Key: "k", Effect: "Never"}} }, "Taints: [0] effect"},
		{"pod cidr not a cidr", func(c *Config) { c.PodCIDR = "10.0.0.0" }, "PodCIDR"},
		{"pod cidr loopback", func(c *Config) { c.PodCIDR = "127.0.0.0/8" }, "PodCIDR: \"127.0.0.0/8\" holds loopback"},
		{"pod cidr covers loopback", func(c *Config) { c.PodCIDR = "64.0.0.0/2" }, "loopback"},
		{"pod cidr ipv6", func(c *Config) { c.PodCIDR = "fd00::/8" }, "not IPv4"},
		{"pod cidr host bits", func(c *Config) { c.PodCIDR = "10.128.0.1/9" }, "host bits"},
		{"pod cidr link-local", func(c *Config) { c.PodCIDR = "169.254.0.0/16" }, "not a unicast range"},
		{"too few subnets", func(c *Config) { c.PodCIDR = "10.0.0.0/20"; c.Nodes = 17 }, "16 /24 subnets, fewer than 17 nodes"},
		{"subnet smaller than max pods", func(c *Config) { c.NodeCIDRMaskSize = 26 }, "a /26 holds 61 pod addresses, fewer than max pods 110"},
		{"mask not longer than base", func(c *Config) { c.NodeCIDRMaskSize = 8 }, "PodCIDR: node mask /8"},
		{"mask too long", func(c *Config) { c.NodeCIDRMaskSize = 31 }, "NodeCIDRMaskSize: 31"},
		{"node range too small", func(c *Config) { c.NodeIPRange = "172.16.0.0/28" }, "NodeIPRange: 172.16.0.0/28 holds 14 host addresses"},
		{"node range overlaps pods", func(c *Config) { c.NodeIPRange = "10.200.0.0/16" }, "overlaps PodCIDR"},
		{"negative sandbox delay", func(c *Config) { c.SandboxDelay = -time.Second }, "SandboxDelay"},
		{"sub-second lease", func(c *Config) { c.LeaseDuration = 500 * time.Millisecond }, "LeaseDuration"},
		{"renew not shorter than lease", func(c *Config) { c.LeaseRenewInterval = 40 * time.Second }, "LeaseRenewInterval: 40s is not shorter"},
		{"negative workers", func(c *Config) { c.Workers = -1 }, "Workers"},
		{"negative qps", func(c *Config) { c.QPS = -1 }, "QPS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mutate(&c)
			_, err := New(fake.NewClientset(), c)
			if err == nil {
				t.Fatalf("New accepted the config; want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestNewNilClient(t *testing.T) {
	if _, err := New(nil, Config{}); err == nil {
		t.Fatal("New(nil client) succeeded")
	}
}

func TestRenewInterval(t *testing.T) {
	tests := []struct {
		nodes         int
		lease, explic time.Duration
		want          time.Duration
	}{
		{nodes: 80, lease: 40 * time.Second, want: 10 * time.Second},                           // kubelet ratio
		{nodes: 1500, lease: 40 * time.Second, want: 15 * time.Second},                         // stretched to 100/s
		{nodes: 2000, lease: 40 * time.Second, want: 20 * time.Second},                         // capped at half the lease
		{nodes: 5000, lease: 40 * time.Second, want: 20 * time.Second},                         // still capped
		{nodes: 2000, lease: 40 * time.Second, explic: 5 * time.Second, want: 5 * time.Second}, // explicit wins
	}
	for _, tt := range tests {
		c := Config{Nodes: tt.nodes, LeaseDuration: tt.lease, LeaseRenewInterval: tt.explic}
		if got := c.renewInterval(); got != tt.want {
			t.Errorf("renewInterval(%d nodes, lease %s, explicit %s) = %s, want %s", tt.nodes, tt.lease, tt.explic, got, tt.want)
		}
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		check   func(*testing.T, Config)
		wantErr string
	}{
		{
			name: "defaults",
			check: func(t *testing.T, c Config) {
				if c.Nodes != DefaultNodes || c.CPU.String() != DefaultCPU || c.PodCIDR != DefaultPodCIDR {
					t.Errorf("defaults not kept: %+v", c)
				}
			},
		},
		{
			name: "all set",
			args: []string{"--nodes=2000", "--node-name-prefix=sim-", "--node-cpu=48", "--node-memory=256Gi",
				"--node-max-pods=200", "--sandbox-delay=200ms", "--node-labels=zone=a,rack=r1",
				"--node-taints=dedicated=bench:NoSchedule,spot:PreferNoSchedule", "--pod-cidr=10.0.0.0/8",
				"--node-cidr-mask-size=23", "--lease-duration=60s", "--workers=64", "--kube-api-qps=500",
				"--delete-nodes-on-exit"},
			check: func(t *testing.T, c Config) {
				if c.Nodes != 2000 || c.NamePrefix != "sim-" || c.CPU.String() != "48" || c.Memory.String() != "256Gi" ||
					c.MaxPods != 200 || c.SandboxDelay != 200*time.Millisecond || c.PodCIDR != "10.0.0.0/8" ||
					c.NodeCIDRMaskSize != 23 || c.LeaseDuration != time.Minute || c.Workers != 64 || c.QPS != 500 ||
					!c.DeleteNodesOnExit {
					t.Errorf("parsed %+v", c)
				}
				if c.Labels["zone"] != "a" || c.Labels["rack"] != "r1" {
					t.Errorf("labels = %v", c.Labels)
				}
				want := []corev1.Taint{{Key: "dedicated", Value: "bench", Effect: corev1.TaintEffectNoSchedule},
					{Key: "spot", Effect: corev1.TaintEffectPreferNoSchedule}}
				if len(c.Taints) != 2 || c.Taints[0] != want[0] || c.Taints[1] != want[1] {
					t.Errorf("taints = %v, want %v", c.Taints, want)
				}
				if err := c.validate(); err != nil {
					t.Errorf("validate: %v", err)
				}
			},
		},
		{name: "bad quantity", args: []string{"--node-cpu=ten"}, wantErr: `"ten" is not a quantity`},
		{name: "taint without effect", args: []string{"--node-taints=k=v"}, wantErr: `taint "k=v": want key[=value]:Effect`},
		{name: "taint bad effect", args: []string{"--node-taints=k=v:Sometimes"}, wantErr: `effect "Sometimes"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			fs := pflag.NewFlagSet("agent", pflag.ContinueOnError)
			c.AddFlags(fs)
			err := fs.Parse(tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestRESTConfig(t *testing.T) {
	base := &rest.Config{Host: "https://127.0.0.1:6443", QPS: 5, Burst: 10}
	c := Config{QPS: 300}
	rc := c.RESTConfig(base)
	if rc.QPS != 300 || rc.Burst != DefaultBurst || rc.Host != base.Host || rc.UserAgent == "" {
		t.Errorf("RESTConfig = qps %g burst %d host %s ua %q", rc.QPS, rc.Burst, rc.Host, rc.UserAgent)
	}
	if base.QPS != 5 {
		t.Error("RESTConfig modified its base")
	}
	if rc.ContentType != "application/vnd.kubernetes.protobuf" {
		t.Errorf("RESTConfig content type %q, want protobuf as the kubelet's", rc.ContentType)
	}
}

// TestThrottleRecordsWaits: the agent's limiter records a request's wait in
// the Throttle of its context, and only there.
func TestThrottleRecordsWaits(t *testing.T) {
	l := timedRateLimiter(&rest.Config{QPS: 20, Burst: 1})
	var first, second Throttle
	if err := l.Wait(WithThrottle(context.Background(), &first)); err != nil {
		t.Fatal(err)
	}
	if err := l.Wait(WithThrottle(context.Background(), &second)); err != nil {
		t.Fatal(err)
	}
	if first.Waited() > 20*time.Millisecond || second.Waited() < 30*time.Millisecond {
		t.Errorf("waits %v and %v, want the burst's first free and the second about 50ms", first.Waited(), second.Waited())
	}
	if err := l.Wait(context.Background()); err != nil { // no throttle: nothing to record
		t.Fatal(err)
	}
}

func TestResolvedConfig(t *testing.T) {
	tests := []struct {
		in          Config
		wantWorkers int
		wantRenew   time.Duration
	}{
		{Config{Nodes: 5}, MinWorkers, 10 * time.Second},
		{Config{Nodes: 80}, 80, 10 * time.Second},
		{Config{Nodes: 2000}, MaxWorkers, 20 * time.Second},
		{Config{Nodes: 2000, Workers: 7, LeaseRenewInterval: 3 * time.Second}, 7, 3 * time.Second},
	}
	for _, tt := range tests {
		a, err := New(fake.NewClientset(), tt.in)
		if err != nil {
			t.Fatal(err)
		}
		got := a.Config()
		if got.Workers != tt.wantWorkers || got.LeaseRenewInterval != tt.wantRenew {
			t.Errorf("%d nodes: workers %d, renew %s; want %d, %s", tt.in.Nodes, got.Workers, got.LeaseRenewInterval, tt.wantWorkers, tt.wantRenew)
		}
	}
}
