// Package kubeclient holds the API client settings kdbench's processes share.
package kubeclient

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
)

// Protobuf makes rc speak protobuf to the API server, falling back to JSON
// for types without a protobuf encoding, as the components kdbench's
// processes stand for do (the kubelet's, controller-manager's and
// scheduler's --kube-api-content-type default). JSON costs the API server
// and the client more CPU per object, which a 2-core machine's bursts are
// bound by. It returns rc.
func Protobuf(rc *rest.Config) *rest.Config {
	rc.ContentType = runtime.ContentTypeProtobuf
	rc.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	return rc
}
