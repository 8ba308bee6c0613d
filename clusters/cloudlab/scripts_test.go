package cloudlab

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/internal/supervisor"
)

// TestScriptsParse runs `bash -n` (parse, never execute) over every script
// the bootstrap and the reset send, as the nodes would receive them.
func TestScriptsParse(t *testing.T) {
	bash, err := supervisor.LookPath("bash")
	if err != nil {
		t.Skip("bash not found")
	}
	p, err := NewPlan(paperInventory(t), PlanOptions{QPSProfile: "tuned", KdbenchBinary: fakeBinary, Addons: []string{AddonKnative}})
	require.NoError(t, err)
	r := &runner{plan: p, secrets: map[string]string{envJoinToken: "abcdef.0123456789abcdef"},
		exports: map[string]string{envCACertHash: "0123abcd", envNodesExpected: "80"}}
	steps := append(append([]Step{}, p.Steps...), resetSteps()...)
	for _, n := range []Node{p.Inventory.Nodes[0], p.Inventory.Nodes[1]} {
		for _, s := range steps {
			if !s.RunsOn(n.Role) {
				continue
			}
			for action, cmd := range map[string]string{"check": s.Check, "apply": s.Apply} {
				if cmd == "" {
					continue
				}
				script := r.script(n, s, action, cmd)
				_, err := supervisor.Output(context.Background(), supervisor.Command{Path: bash, Args: []string{"-n"}, Stdin: strings.NewReader(script)})
				require.NoError(t, err, "%s %s/%s does not parse:\n%s", n.Name, s.Name, action, script)
			}
		}
	}
}
