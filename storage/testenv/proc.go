package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Process is a server a test runs as a child process: started, stopped
// with a chosen signal and started again with the same arguments, so that
// a test can take a backend (or the API server itself) down under load
// and bring it back on the same data and port.
type Process struct {
	Name string
	Path string
	Args []string
	Env  []string // added to the test's environment
	// Log receives stdout and stderr of every run, appended.
	Log string
	// Ready reports whether the started process serves; it is polled
	// after each start.
	Ready func() error

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// StartProcess starts p, failing the test if it does not get ready, and
// kills it when the test ends.
func StartProcess(tb testing.TB, p *Process) *Process {
	tb.Helper()
	tb.Cleanup(p.kill)
	if err := p.Start(); err != nil {
		tb.Fatal(err)
	}
	return p
}

// startTimeout bounds one start: recovery after a SIGKILL included, on a
// busy 2-core machine.
const startTimeout = 90 * time.Second

// Start runs the process and waits until Ready answers.
func (c *Process) Start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd != nil {
		return fmt.Errorf("%s is already running", c.Name)
	}
	logf, err := os.OpenFile(c.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close() // the child keeps its own descriptor
	cmd := exec.Command(c.Path, c.Args...)
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", c.Name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	c.cmd, c.done = cmd, done
	deadline := time.Now().Add(startTimeout)
	for {
		err := c.Ready()
		if err == nil {
			return nil
		}
		select {
		case <-done:
			c.cmd = nil
			return fmt.Errorf("%s exited during start-up (%v); log %s:\n%s", c.Name, cmd.ProcessState, c.Log, c.Tail(2000))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready within %v: %v; log %s:\n%s", c.Name, startTimeout, err, c.Log, c.Tail(2000))
		}
	}
}

// Stop sends sig and waits for the process to exit; after a grace period
// it is killed, so that Stop always returns with the process gone.
func (c *Process) Stop(sig syscall.Signal) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		return fmt.Errorf("%s is not running", c.Name)
	}
	c.cmd.Process.Signal(sig)
	select {
	case <-c.done:
	case <-time.After(60 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
	c.cmd = nil
	return nil
}

// kill is for tb.Cleanup: the process must not outlive the test.
func (c *Process) kill() {
	c.mu.Lock()
	running := c.cmd != nil
	c.mu.Unlock()
	if running {
		c.Stop(syscall.SIGKILL)
	}
}

// Tail returns the end of the log, at most n bytes, from a line start.
func (c *Process) Tail(n int) string {
	b, _ := os.ReadFile(c.Log)
	if len(b) > n {
		b = b[len(b)-n:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// freePort returns a loopback port nobody listens on right now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// FreePort returns a free loopback port, for a server the test runs
// itself and restarts on the same address.
func FreePort(tb testing.TB) int {
	tb.Helper()
	p, err := freePort()
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func hostPort(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// executable returns path if it is an executable file.
func executable(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return "", errors.New(path + " is not executable")
	}
	return path, nil
}

// privateDir makes a short-named temporary directory (a Unix socket path
// must stay under about 100 bytes, which t.TempDir's names can exceed),
// removed when the test ends.
func privateDir(tb testing.TB, name string) string {
	tb.Helper()
	dir, err := os.MkdirTemp("", "fieldsync-"+name+"-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
