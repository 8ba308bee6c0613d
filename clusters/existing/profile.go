package existing

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/clusters/local"
)

// The QPS profile of a cluster kdbench did not configure is read from its
// control plane's command lines: kubeadm runs the API server, controller
// manager and scheduler as static pods in kube-system, labelled
// tier=control-plane and component=<name>, and the API server serves their
// mirror pods. The profile table (clusters/local) says which flags each
// profile sets; the scheduler's profile settings live in its configuration
// file, which the API does not serve, so its command line is recorded but
// not matched.

const (
	apiserver         = "kube-apiserver"
	controllerManager = "kube-controller-manager"
	scheduler         = "kube-scheduler"
)

// profileFlags is what a profile sets on each component's command line.
func profileFlags(p local.Profile) map[string]map[string]string {
	return map[string]map[string]string{apiserver: p.APIServer, controllerManager: p.ControllerManager}
}

// controlPlane is the command lines read from kube-system, by component.
type controlPlane struct {
	// Flags maps component → flag name → value ("true" for a bare flag).
	Flags map[string]map[string]string
	// Args maps component → its arguments as given, for the manifest.
	Args map[string][]string
	// Missing says why the profile cannot be read ("" when it can).
	Missing string
}

// readControlPlane lists kube-system's control-plane pods. Pods of the same
// component (one per control-plane node) must agree.
func readControlPlane(ctx context.Context, cs kubernetes.Interface) (controlPlane, error) {
	cp := controlPlane{Flags: map[string]map[string]string{}, Args: map[string][]string{}}
	pods, err := cs.CoreV1().Pods(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{LabelSelector: "tier=control-plane"})
	if err != nil {
		return cp, fmt.Errorf("listing the control plane's pods in %s: %w", metav1.NamespaceSystem, err)
	}
	items := pods.Items
	sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })
	from := map[string]string{}
	for _, p := range items {
		comp := p.Labels["component"]
		if comp == "" || len(p.Spec.Containers) == 0 {
			continue
		}
		c := p.Spec.Containers[0]
		args := append(append([]string(nil), c.Command...), c.Args...)
		if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			args = args[1:] // the binary
		}
		flags := parseFlags(args)
		if prev, ok := cp.Flags[comp]; ok {
			if !mapsEqual(prev, flags) {
				return cp, fmt.Errorf("%s pods %s and %s/%s run with different flags: say which QPS profile applies with --qps-profile after making them agree", comp, from[comp], metav1.NamespaceSystem, p.Name)
			}
			continue
		}
		cp.Flags[comp], cp.Args[comp], from[comp] = flags, args, metav1.NamespaceSystem+"/"+p.Name
	}
	for _, comp := range []string{apiserver, controllerManager} {
		if _, ok := cp.Flags[comp]; !ok {
			cp.Missing = fmt.Sprintf("no %s pod labelled tier=control-plane,component=%s in %s (a managed or non-kubeadm control plane)", comp, comp, metav1.NamespaceSystem)
			break
		}
	}
	return cp, nil
}

// parseFlags reads --name=value and bare --name arguments.
func parseFlags(args []string) map[string]string {
	out := map[string]string{}
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			continue
		}
		a = strings.TrimLeft(a, "-")
		name, value, ok := strings.Cut(a, "=")
		if !ok {
			value = "true"
		}
		out[name] = value
	}
	return out
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// differences lists where the command lines read differ from profile p,
// over every flag some profile of the table sets (a flag no profile sets is
// the cluster's own business).
func differences(cp controlPlane, p local.Profile, table map[string]local.Profile) []string {
	var out []string
	want := profileFlags(p)
	for _, comp := range []string{apiserver, controllerManager} {
		keys := map[string]bool{}
		for _, q := range table {
			for k := range profileFlags(q)[comp] {
				keys[k] = true
			}
		}
		names := make([]string, 0, len(keys))
		for k := range keys {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			w, wok := want[comp][k]
			h, hok := cp.Flags[comp][k]
			if wok == hok && w == h {
				continue
			}
			out = append(out, fmt.Sprintf("%s %s (profile %s: %s)", comp, showFlag(k, h, hok), p.Name, showFlag(k, w, wok)))
		}
	}
	return out
}

func showFlag(name, value string, set bool) string {
	if !set {
		return "--" + name + " unset"
	}
	return "--" + name + "=" + value
}

// profileOf is a cluster's QPS profile: read, or given, or refused.
type profileOf struct {
	Name, Source string
	Refusal      *clusters.Refusal
}

// resolveProfile decides the QPS profile of a cluster whose control plane
// reads as cp, given the one the user named ("" for none).
func resolveProfile(cp controlPlane, given string, table map[string]local.Profile) profileOf {
	names := make([]string, 0, len(table))
	for n := range table {
		names = append(names, n)
	}
	sort.Strings(names)
	refuse := func(format string, a ...any) profileOf {
		return profileOf{Refusal: &clusters.Refusal{Setting: clusters.SettingQPSProfile, Why: fmt.Sprintf(format, a...)}}
	}
	if given != "" {
		if _, ok := table[given]; !ok {
			return refuse("--qps-profile %q is not a known profile (known: %s)", given, strings.Join(names, ", "))
		}
	}
	if cp.Missing != "" {
		if given == "" {
			return refuse("cannot be read: %s; pass --qps-profile with the profile this cluster runs (%s, as defined in clusters/local/profile.go)", cp.Missing, strings.Join(names, ", "))
		}
		return profileOf{Name: given, Source: "given by --qps-profile (not readable: " + cp.Missing + ")"}
	}
	var matches []string
	for _, n := range names {
		if len(differences(cp, table[n], table)) == 0 {
			matches = append(matches, n)
		}
	}
	const flagsRead = "the kube-apiserver and kube-controller-manager flags in kube-system"
	switch {
	case given != "" && slices.Contains(matches, given):
		return profileOf{Name: given, Source: "given by --qps-profile, matching " + flagsRead}
	case given != "":
		return refuse("--qps-profile %s contradicts the control plane: %s", given, strings.Join(differences(cp, table[given], table), "; "))
	case len(matches) == 1:
		return profileOf{Name: matches[0], Source: "read from " + flagsRead}
	case len(matches) > 1:
		return refuse("the control plane's flags match profiles %s alike (they differ only in settings the API does not show, such as the scheduler's configuration file); pass --qps-profile", strings.Join(matches, " and "))
	}
	var why []string
	for _, n := range names {
		why = append(why, n+": "+strings.Join(differences(cp, table[n], table), ", "))
	}
	return refuse("the control plane's flags match no known profile (%s); configure it as one, or add the profile to clusters/local/profile.go", strings.Join(why, "; "))
}
