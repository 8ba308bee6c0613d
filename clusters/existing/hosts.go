package existing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/kdbench/kdbench/clusters"
)

// HostsFile is the file beside a kubeconfig that names the cluster's hosts
// and how to reach them, as `kdbench cluster up --provider cloudlab`
// writes it (as link-ca/ beside the kubeconfig is picked up for kd's
// links). With it an attached cluster gets that provider's placer and
// reconfigurer; without it, neither (systems that need them refuse).
const HostsFile = "hosts.json"

// noHosts is why a cluster attached without a hosts file has no placer.
const noHosts = "the existing provider has no inventory of its hosts (no " + HostsFile + " beside the kubeconfig, as `kdbench cluster up --provider cloudlab` writes)"

// hostsAttacher gives a cluster the hosts of a hosts file; the provider
// that writes such files registers it (clusters/cloudlab, which imports
// this package).
var hostsAttacher func(ctx context.Context, path string, c *clusters.Cluster) error

// RegisterHosts registers the reader of hosts files named name.
func RegisterHosts(name string, attach func(ctx context.Context, path string, c *clusters.Cluster) error) {
	if name != HostsFile {
		panic(fmt.Sprintf("existing: hosts file %q, want %q", name, HostsFile))
	}
	hostsAttacher = attach
}

// attachHosts gives c the placer and reconfigurer of the hosts file beside
// its kubeconfig, if there is one.
func attachHosts(ctx context.Context, c *clusters.Cluster) error {
	path := filepath.Join(filepath.Dir(c.Kubeconfig), HostsFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		c.ReconfigureRefusal = noHosts
		return nil
	} else if err != nil {
		return err
	}
	if hostsAttacher == nil {
		return fmt.Errorf("%s: this kdbench has no reader for hosts files (the cloudlab provider is not built in)", path)
	}
	if err := hostsAttacher(ctx, path, c); err != nil {
		return fmt.Errorf("the hosts of %s: %w", path, err)
	}
	return nil
}

// recordedProfile is the QPS profile the hosts file beside kubeconfig
// records (the one `cluster up` set), "" without one: a process control
// plane has no static pods to read it from.
func recordedProfile(kubeconfig string) (string, error) {
	data, err := os.ReadFile(filepath.Join(filepath.Dir(kubeconfig), HostsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	var f struct {
		QPSProfile string `json:"qpsProfile"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return "", fmt.Errorf("%s: %w", filepath.Join(filepath.Dir(kubeconfig), HostsFile), err)
	}
	return f.QPSProfile, nil
}

// CrashRefusal says why the cluster of spec.Kubeconfig has no Crasher: only
// one whose hosts file records a process control plane (kdbench's own
// components, each with a pid file on its host) has one.
func (Provider) CrashRefusal(spec clusters.Spec) string {
	path := filepath.Join(filepath.Dir(spec.Kubeconfig), HostsFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return noHosts
	} else if err != nil {
		return err.Error()
	}
	var f struct {
		ControlPlane string `json:"controlPlane"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return fmt.Sprintf("%s: %v", path, err)
	}
	if f.ControlPlane != ControlPlaneProcesses {
		return fmt.Sprintf("%s records a %q control plane, whose components kubelet and kubeadm run (only `cluster up --provider cloudlab --control-plane processes` clusters have kdbench restart theirs)", path, f.ControlPlane)
	}
	return ""
}

// ControlPlaneProcesses is how a hosts file records a control plane of
// kdbench's own processes (cloudlab's --control-plane processes).
const ControlPlaneProcesses = "processes"
