package kubeclient

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// TestProtobufRequests checks what a client made with Protobuf sends: a
// protobuf Accept for built-in types, so the API server encodes protobuf.
func TestProtobufRequests(t *testing.T) {
	accepts := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case accepts <- r.Header.Get("Accept"):
		default:
		}
		http.Error(w, "no", http.StatusNotFound)
	}))
	defer srv.Close()
	cs, err := kubernetes.NewForConfig(Protobuf(&rest.Config{Host: srv.URL}))
	require.NoError(t, err)
	_, _ = cs.CoreV1().Pods("ns").Get(t.Context(), "p", metav1.GetOptions{})
	require.Equal(t, "application/vnd.kubernetes.protobuf,application/json", <-accepts)
}
