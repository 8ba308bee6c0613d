package cloudlab

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseManifest(t *testing.T) {
	inv, err := LoadInventory(filepath.Join("testdata", "manifest.xml"))
	require.NoError(t, err)
	require.Equal(t, []Node{
		{Name: "cp", Role: RoleControlPlane, Host: "hp101.utah.cloudlab.us", Port: 22, User: "alice", IP: "10.10.1.1"},
		{Name: "w2", Role: RoleWorker, Host: "hp103.utah.cloudlab.us", Port: 22, User: "alice", IP: "10.10.1.3"},
		{Name: "w10", Role: RoleWorker, Host: "hp111.utah.cloudlab.us", Port: 22, User: "alice", IP: "10.10.1.11"},
	}, inv.Nodes)
	require.Equal(t, "cp", inv.ControlPlane().Name)
}

func TestParseManifestErrors(t *testing.T) {
	for _, tc := range []struct{ name, xml, want string }{
		{"request rspec", `<rspec type="request"><node client_id="cp"/></rspec>`, `want "manifest"`},
		{"not xml", `<rspec`, "not an RSpec manifest"},
		{"no login yet", `<rspec type="manifest"><node client_id="cp"><interface><ip address="10.10.1.1"/></interface></node></rspec>`, "no ssh-keys login"},
		{"no lan", `<rspec type="manifest"><node client_id="cp"><services><login authentication="ssh-keys" hostname="h" port="22" username="u"/></services></node></rspec>`, "no LAN interface"},
		{"one node", `<rspec type="manifest"><node client_id="cp"><interface><ip address="10.10.1.1"/></interface><services><login authentication="ssh-keys" hostname="h" port="22" username="u"/></services></node></rspec>`, "at least one worker"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseManifest([]byte(tc.xml))
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestParseHosts(t *testing.T) {
	for _, tc := range []struct {
		name, hosts string
		want        []Node
		wantErr     string
	}{
		{
			name: "roles by name, ports, users, comments",
			hosts: `# kdbench hosts
w1   ubuntu@10.0.0.2:2222  192.168.1.2
cp   10.0.0.1              192.168.1.1   # the control plane
`,
			want: []Node{
				{Name: "cp", Role: RoleControlPlane, Host: "10.0.0.1", Port: 22, IP: "192.168.1.1"},
				{Name: "w1", Role: RoleWorker, Host: "10.0.0.2", Port: 2222, User: "ubuntu", IP: "192.168.1.2"},
			},
		},
		{
			name:  "explicit role wins over the name",
			hosts: "cp h1 10.1.0.1 worker\nmaster h2 10.1.0.2 control-plane\n",
			want: []Node{
				{Name: "master", Role: RoleControlPlane, Host: "h2", Port: 22, IP: "10.1.0.2"},
				{Name: "cp", Role: RoleWorker, Host: "h1", Port: 22, IP: "10.1.0.1"},
			},
		},
		{
			name:  "first line is the control plane by default",
			hosts: "a h1 10.1.0.1\nb h2 10.1.0.2\n",
			want: []Node{
				{Name: "a", Role: RoleControlPlane, Host: "h1", Port: 22, IP: "10.1.0.1"},
				{Name: "b", Role: RoleWorker, Host: "h2", Port: 22, IP: "10.1.0.2"},
			},
		},
		{name: "missing ip", hosts: "cp h1\nw1 h2 10.0.0.2\n", wantErr: "line 1"},
		{name: "bad role", hosts: "cp h1 10.0.0.1 boss\nw1 h2 10.0.0.2\n", wantErr: `role "boss"`},
		{name: "two control planes", hosts: "a h1 10.0.0.1 control-plane\nb h2 10.0.0.2 control-plane\n", wantErr: "two control-plane"},
		{name: "duplicate", hosts: "cp h1 10.0.0.1\ncp h2 10.0.0.2\n", wantErr: "listed twice"},
		{name: "shell in name", hosts: "cp h1 10.0.0.1\n$(reboot) h2 10.0.0.2\n", wantErr: "node name"},
		{name: "ipv6 lan", hosts: "cp h1 fd00::1\nw1 h2 10.0.0.2\n", wantErr: "not IPv4"},
		{name: "bad port", hosts: "cp h1:ssh 10.0.0.1\nw1 h2 10.0.0.2\n", wantErr: `port "ssh"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv, err := ParseHosts([]byte(tc.hosts))
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, inv.Nodes)
		})
	}
}

func TestLoadInventoryHostsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hosts")
	require.NoError(t, os.WriteFile(path, []byte("cp h1 10.0.0.1\nw1 h2 10.0.0.2\n"), 0o644))
	inv, err := LoadInventory(path)
	require.NoError(t, err)
	require.Len(t, inv.Nodes, 2)
	_, err = LoadInventory(filepath.Join(t.TempDir(), "missing"))
	require.ErrorContains(t, err, "reading inventory")
}

func TestNaturalOrder(t *testing.T) {
	require.True(t, naturalLess("w2", "w10"))
	require.False(t, naturalLess("w10", "w2"))
	require.True(t, naturalLess("a", "b"))
	require.True(t, naturalLess("n9", "w1"))
}
