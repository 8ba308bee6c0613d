package nodeagent

import rbacv1 "k8s.io/api/rbac/v1"

// PolicyRules are the permissions the agent's identity needs, for a ClusterRole. The
// bootstrap system:node role covers all of them except deleting nodes, which only
// DeleteNodesOnExit does. (The Node authorizer cannot apply: one identity serves every
// node.)
func PolicyRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"create", "get", "list", "watch", "update", "delete"}},
		{APIGroups: []string{""}, Resources: []string{"nodes/status"}, Verbs: []string{"update", "patch"}},
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch", "delete"}},
		{APIGroups: []string{""}, Resources: []string{"pods/status"}, Verbs: []string{"update"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"create", "get", "update", "delete"}},
	}
}
