package local

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kdbench/kdbench/clusters/local/nodeagent/direct"
)

// nodeAgentDirectRole is what the node agent's user needs on top of
// system:node to serve Kubedirect's direct mode (--direct-listen).
const nodeAgentDirectRole = "kdbench:node-agent-direct"

// grantDirectMode lets the node agent create the pods that arrive over
// Kubedirect links, so that a kd-family system can switch the cluster's own
// agent to direct mode.
func grantDirectMode(ctx context.Context, cs kubernetes.Interface) error {
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: nodeAgentDirectRole}, Rules: direct.PolicyRules()}
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the node agent's direct-mode role: %w", err)
	}
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: nodeAgentDirectRole},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: nodeAgentDirectRole},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: nodeAgentUser}},
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("granting the node agent its direct-mode role: %w", err)
	}
	return nil
}
