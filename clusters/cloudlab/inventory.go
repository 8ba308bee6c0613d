package cloudlab

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
)

// Role is what a node becomes in the cluster.
type Role string

const (
	RoleControlPlane Role = "control-plane"
	RoleWorker       Role = "worker"
)

// Node is one machine of the experiment.
type Node struct {
	// Name is the node's client_id in the profile (cp, w1, ...).
	Name string `json:"name"`
	Role Role   `json:"role"`
	// Host and Port are where SSH reaches the node (its public name).
	Host string `json:"host"`
	Port int    `json:"port"`
	// User is the login name; empty means the --user flag or ~/.ssh/config.
	User string `json:"user,omitempty"`
	// IP is the node's address on the experiment LAN, which Kubernetes uses.
	IP string `json:"ip"`
}

// Addr is the node's SSH address.
func (n Node) Addr() string { return net.JoinHostPort(n.Host, strconv.Itoa(n.Port)) }

// Inventory is the experiment's machines, control plane first.
type Inventory struct {
	Nodes []Node `json:"nodes"`
}

// ControlPlane returns the control-plane node.
func (inv Inventory) ControlPlane() Node {
	for _, n := range inv.Nodes {
		if n.Role == RoleControlPlane {
			return n
		}
	}
	return Node{}
}

// LoadInventory reads a CloudLab manifest (XML) or a hosts file, telling
// them apart by content.
func LoadInventory(path string) (Inventory, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Inventory{}, fmt.Errorf("reading inventory: %w", err)
	}
	var inv Inventory
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("<")) {
		inv, err = ParseManifest(data)
	} else {
		inv, err = ParseHosts(data)
	}
	if err != nil {
		return Inventory{}, fmt.Errorf("inventory %s: %w", path, err)
	}
	return inv, nil
}

// manifest is the part of a GENI RSpec v3 manifest that names the machines.
// encoding/xml matches local names in any namespace, so the rspec/3 default
// namespace and CloudLab's emulab extensions need no mention.
type manifest struct {
	XMLName xml.Name `xml:"rspec"`
	Type    string   `xml:"type,attr"`
	Nodes   []struct {
		ClientID   string `xml:"client_id,attr"`
		Interfaces []struct {
			IPs []struct {
				Address string `xml:"address,attr"`
				Type    string `xml:"type,attr"`
			} `xml:"ip"`
		} `xml:"interface"`
		Logins []struct {
			Auth     string `xml:"authentication,attr"`
			Hostname string `xml:"hostname,attr"`
			Port     string `xml:"port,attr"`
			Username string `xml:"username,attr"`
		} `xml:"services>login"`
	} `xml:"node"`
}

// ParseManifest reads the manifest RSpec of a running experiment: each node's
// SSH login (the first ssh-keys login; CloudLab lists one per project member,
// all on the same host and port) and its LAN address.
func ParseManifest(data []byte) (Inventory, error) {
	var m manifest
	if err := xml.Unmarshal(data, &m); err != nil {
		return Inventory{}, fmt.Errorf("not an RSpec manifest: %w", err)
	}
	if m.Type != "manifest" {
		return Inventory{}, fmt.Errorf("rspec type is %q, want \"manifest\" (the request RSpec has no hostnames; download the manifest of the running experiment)", m.Type)
	}
	var nodes []Node
	for _, x := range m.Nodes {
		n := Node{Name: x.ClientID}
		for _, l := range x.Logins {
			if l.Auth != "ssh-keys" {
				continue
			}
			n.Host, n.User = l.Hostname, l.Username
			n.Port, _ = strconv.Atoi(l.Port)
			break
		}
		if n.Host == "" {
			return Inventory{}, fmt.Errorf("node %q has no ssh-keys login; is the experiment ready?", n.Name)
		}
		if n.Port == 0 {
			n.Port = 22
		}
	ifaces:
		for _, i := range x.Interfaces {
			for _, ip := range i.IPs {
				if ip.Type == "" || ip.Type == "ipv4" {
					n.IP = ip.Address
					break ifaces
				}
			}
		}
		if n.IP == "" {
			return Inventory{}, fmt.Errorf("node %q has no LAN interface with an IPv4 address", n.Name)
		}
		nodes = append(nodes, n)
	}
	return newInventory(nodes)
}

// ParseHosts reads a plain hosts file, one node a line:
//
//	name [user@]host[:port] lan-ip [control-plane|worker]
//
// Blank lines and #-comments are skipped. Without a role column the node
// named "cp" (or else the first line) is the control plane.
func ParseHosts(data []byte) (Inventory, error) {
	var nodes []Node
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(text)
		if len(f) == 0 {
			continue
		}
		if len(f) < 3 || len(f) > 4 {
			return Inventory{}, fmt.Errorf("line %d: want \"name [user@]host[:port] lan-ip [role]\", got %q", line, sc.Text())
		}
		n := Node{Name: f[0], Port: 22, IP: f[2]}
		hostport := f[1]
		if u, h, ok := strings.Cut(hostport, "@"); ok {
			n.User, hostport = u, h
		}
		if h, p, err := net.SplitHostPort(hostport); err == nil {
			n.Host = h
			if n.Port, err = strconv.Atoi(p); err != nil {
				return Inventory{}, fmt.Errorf("line %d: port %q: %w", line, p, err)
			}
		} else {
			n.Host = hostport
		}
		if len(f) == 4 {
			n.Role = Role(f[3])
			if n.Role != RoleControlPlane && n.Role != RoleWorker {
				return Inventory{}, fmt.Errorf("line %d: role %q, want %s or %s", line, f[3], RoleControlPlane, RoleWorker)
			}
		}
		nodes = append(nodes, n)
	}
	if err := sc.Err(); err != nil {
		return Inventory{}, err
	}
	return newInventory(nodes)
}

// newInventory checks the nodes and assigns roles: an explicit
// control-plane, else the node named cp, else the first node.
func newInventory(nodes []Node) (Inventory, error) {
	if len(nodes) < 2 {
		return Inventory{}, fmt.Errorf("%d nodes; need a control plane and at least one worker", len(nodes))
	}
	cp := -1
	for i, n := range nodes {
		if n.Role == RoleControlPlane {
			if cp >= 0 {
				return Inventory{}, fmt.Errorf("two control-plane nodes (%s, %s); kdbench sets up one", nodes[cp].Name, n.Name)
			}
			cp = i
		}
	}
	if cp < 0 {
		cp = 0
		for i, n := range nodes {
			if n.Name == ControlPlaneName {
				cp = i
			}
		}
	}
	names := map[string]bool{}
	for i := range nodes {
		n := &nodes[i]
		n.Role = RoleWorker
		if i == cp {
			n.Role = RoleControlPlane
		}
		if !validNodeName(n.Name) {
			return Inventory{}, fmt.Errorf("node name %q: want letters, digits and '-'", n.Name)
		}
		if names[n.Name] {
			return Inventory{}, fmt.Errorf("node %q listed twice", n.Name)
		}
		names[n.Name] = true
		if net.ParseIP(n.IP).To4() == nil {
			return Inventory{}, fmt.Errorf("node %q: LAN address %q is not IPv4", n.Name, n.IP)
		}
		if n.Host == "" {
			return Inventory{}, fmt.Errorf("node %q has no SSH host", n.Name)
		}
	}
	// Control plane first, then workers in natural order (w2 before w10).
	sort.SliceStable(nodes, func(i, j int) bool {
		if (nodes[i].Role == RoleControlPlane) != (nodes[j].Role == RoleControlPlane) {
			return nodes[i].Role == RoleControlPlane
		}
		return naturalLess(nodes[i].Name, nodes[j].Name)
	})
	return Inventory{Nodes: nodes}, nil
}

// validNodeName keeps names safe as file names and in shell commands.
func validNodeName(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// naturalLess orders w2 before w10: by the name's prefix, then its number.
func naturalLess(a, b string) bool {
	pa, na := splitNum(a)
	pb, nb := splitNum(b)
	if pa != pb || na < 0 || nb < 0 {
		if pa == pb {
			return a < b
		}
		return pa < pb
	}
	return na < nb
}

func splitNum(s string) (string, int) {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	n, err := strconv.Atoi(s[i:])
	if err != nil {
		return s, -1
	}
	return s[:i], n
}
