// Package netns opens sockets inside named network namespaces (`ip netns
// add`, files under /run/netns) from a process that stays in its own: a
// socket keeps the namespace it was created in, so one OS thread switches in,
// creates it, and switches back. Real Knative's components run in such
// namespaces (docs/knative.md); kdbench listens, dials and bridges into them.
package netns

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

// Dir holds the namespaces `ip netns add` creates.
const Dir = "/run/netns"

// Path is the file of the named namespace.
func Path(name string) string { return filepath.Join(Dir, name) }

// Do runs f on an OS thread switched into the namespace at path. Sockets f
// creates stay in that namespace after Do returns.
func Do(path string, f func() error) error {
	target, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("network namespace %s: %w", path, err)
	}
	defer unix.Close(target)
	runtime.LockOSThread()
	self, err := unix.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("network namespace of this thread: %w", err)
	}
	defer unix.Close(self)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("entering network namespace %s: %w", path, err)
	}
	ferr := f()
	if err := unix.Setns(self, unix.CLONE_NEWNET); err != nil {
		// The thread stays locked and so exits with its goroutine: no other
		// goroutine may run in the wrong namespace.
		return fmt.Errorf("leaving network namespace %s: %w", path, err)
	}
	runtime.UnlockOSThread()
	return ferr
}

// Listen listens on addr inside the namespace at path.
func Listen(path, network, addr string) (net.Listener, error) {
	var l net.Listener
	err := Do(path, func() (err error) {
		l, err = net.Listen(network, addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listening on %s in %s: %w", addr, path, err)
	}
	return l, nil
}

// DialContext dials addr from inside the namespace at path ("" = this
// process's namespace), with the signature of http.Transport.DialContext.
func DialContext(path string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		if path == "" {
			return d.DialContext(ctx, network, addr)
		}
		var c net.Conn
		err := Do(path, func() (err error) {
			c, err = d.DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
}
