package local

import (
	"os"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// writeKubeconfig writes a kubeconfig for the identity whose client
// certificate is pki/<identity>.crt. Credentials are embedded so the file can
// be copied elsewhere and still work.
func writeKubeconfig(l layout, path, clusterName, server, identity string) error {
	read := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(l.PKI(), name)) }
	ca, err := read("ca.crt")
	if err != nil {
		return err
	}
	crt, err := read(identity + ".crt")
	if err != nil {
		return err
	}
	key, err := read(identity + ".key")
	if err != nil {
		return err
	}
	ctx := "kdbench-" + clusterName
	cfg := clientcmdapi.Config{
		Clusters: map[string]*clientcmdapi.Cluster{
			ctx: {Server: server, CertificateAuthorityData: ca},
		},
		AuthInfos: map[string]*clientcmdapi.AuthInfo{
			identity: {ClientCertificateData: crt, ClientKeyData: key},
		},
		Contexts: map[string]*clientcmdapi.Context{
			ctx: {Cluster: ctx, AuthInfo: identity},
		},
		CurrentContext: ctx,
	}
	data, err := clientcmd.Write(cfg)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return writeFileAtomic(path, data, 0o600)
}
