package local

import (
	"os"
	"path/filepath"

	"github.com/kdbench/kdbench/internal/fsutil"
)

// layout names the files of one cluster under its work directory, as
// kwokctl's binary runtime does: everything the cluster owns lives here, so
// `down` and a crashed run know exactly what to clean up.
type layout struct{ root string }

func (l layout) Root() string       { return l.root }
func (l layout) PKI() string        { return filepath.Join(l.root, "pki") }
func (l layout) Logs() string       { return filepath.Join(l.root, "logs") }
func (l layout) PrevLogs() string   { return filepath.Join(l.root, "logs.prev") }
func (l layout) EtcdData() string   { return filepath.Join(l.root, "etcd") }
func (l layout) Kubeconfig() string { return filepath.Join(l.root, "kubeconfig") }
func (l layout) State() string      { return filepath.Join(l.root, "state.json") }
func (l layout) Lock() string       { return filepath.Join(l.root, "lock") }

// ComponentKubeconfig is the kubeconfig a component authenticates with.
func (l layout) ComponentKubeconfig(component string) string {
	return filepath.Join(l.root, "kubeconfigs", component+".kubeconfig")
}

// ComponentDir is a component's working directory, holding the files
// Reconfigure gave it.
func (l layout) ComponentDir(component string) string {
	return filepath.Join(l.root, "components", component)
}

func (l layout) Log(component string) string {
	return filepath.Join(l.Logs(), component+".log")
}

func (l layout) Config(name string) string {
	return filepath.Join(l.root, "config", name)
}

func (l layout) mkdirs() error {
	for _, d := range []string{l.root, l.PKI(), l.Logs(), filepath.Join(l.root, "kubeconfigs"), filepath.Join(l.root, "config")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	for _, c := range Components { // 0700: Reconfigure writes keys there
		if err := os.MkdirAll(l.ComponentDir(c), 0o700); err != nil {
			return err
		}
	}
	return nil
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	return fsutil.WriteFileAtomic(path, data, mode)
}
