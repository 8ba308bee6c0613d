package direct

import rbacv1 "k8s.io/api/rbac/v1"

// PolicyRules are the permissions direct mode needs beyond the agent's own
// (nodeagent.PolicyRules, which the system:node role covers): it creates the
// pods that arrive over the link, from their ReplicaSet's template.
func PolicyRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"create", "get", "list", "watch", "delete"}},
		{APIGroups: []string{"apps"}, Resources: []string{"replicasets"}, Verbs: []string{"get", "list", "watch"}},
	}
}
