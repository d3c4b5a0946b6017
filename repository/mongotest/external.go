package mongotest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// wrapperPkg is the FerretDB wrapper that StartExternal builds and runs.
const wrapperPkg = "github.com/matcare/matcare/deploy/ferretdb"

// externalStartTimeout bounds the wait for an external server's port.
const externalStartTimeout = 30 * time.Second

var wrapper struct {
	once sync.Once
	path string
	err  error
}

// StartExternal starts a FerretDB server (SQLite, own temporary directory)
// in a separate OS process on a free port of 127.0.0.1, waits until it
// accepts connections, and returns its URI. The server is stopped when the
// test ends. It is meant for tests where several processes use one
// database, and needs no Docker: the deploy/ferretdb wrapper is built with
// `go build` once per test binary.
//
// Under MATCARE_TEST_DOCKER=1 it starts a container instead, as [Start]
// does, but one per call.
func StartExternal(tb testing.TB) (uri string) {
	tb.Helper()
	if useDocker() {
		s, err := startContainer(context.Background(), tb.Logf)
		if err != nil {
			tb.Fatalf("mongotest: %v", err)
		}
		tb.Cleanup(func() {
			if err := s.stop(); err != nil {
				tb.Errorf("mongotest: stop container: %v", err)
			}
		})
		return s.uri
	}

	bin, err := buildWrapper()
	if err != nil {
		tb.Fatalf("mongotest: %v", err)
	}
	dataDir := tb.TempDir() // removed after the process is stopped below

	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		port, err := freePort()
		if err != nil {
			tb.Fatalf("mongotest: %v", err)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		p, err := startProcess(bin, addr, dataDir)
		if err == nil {
			tb.Cleanup(func() {
				if err := p.stop(); err != nil {
					tb.Errorf("mongotest: stop external FerretDB on %s: %v", addr, err)
				}
			})
			return "mongodb://" + addr + "/"
		}
		lastErr = fmt.Errorf("attempt %d: %w", attempt, err)
	}
	tb.Fatalf("mongotest: start external FerretDB: %v", lastErr)
	return ""
}

// buildWrapper builds the FerretDB wrapper into the temporary root, once per
// process, and returns the path of the binary.
func buildWrapper() (string, error) {
	wrapper.once.Do(func() {
		root, err := tempRoot()
		if err != nil {
			wrapper.err = err
			return
		}
		goTool, err := goCommand()
		if err != nil {
			wrapper.err = err
			return
		}
		out := filepath.Join(root, "bin", "ferretdb")
		// The same flags as deploy/ferretdb/build-image.sh, to share the build
		// cache.
		cmd := exec.Command(goTool, "build", "-buildvcs=false", "-ldflags=-s -w", "-o", out, wrapperPkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			wrapper.err = fmt.Errorf("go build %s: %w\n%s", wrapperPkg, err, b)
			return
		}
		wrapper.path = out
	})
	return wrapper.path, wrapper.err
}

// goCommand returns the path of the go tool.
func goCommand() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("the go command is not in PATH")
}

// process is a running external FerretDB.
type process struct {
	cmd    *exec.Cmd
	done   chan struct{} // closed when the process has exited
	output *lockedBuffer
}

// startProcess starts the wrapper binary bin on addr with data in dir and
// waits until it accepts connections.
func startProcess(bin, addr, dir string) (*process, error) {
	out := &lockedBuffer{}
	cmd := exec.Command(bin, "--listen-addr="+addr, "--sqlite-dir="+dir)
	cmd.Stdout = out
	cmd.Stderr = out
	setParentDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, done: make(chan struct{}), output: out}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()

	deadline := time.Now().Add(externalStartTimeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return p, nil
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("FerretDB exited: %v\n%s", cmd.ProcessState, out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = p.stop()
			return nil, fmt.Errorf("FerretDB is not accepting connections on %s after %s\n%s", addr, externalStartTimeout, out.String())
		}
	}
}

// stop sends SIGTERM, then SIGKILL if the process has not exited after five
// seconds, and waits for it to exit.
func (p *process) stop() error {
	select {
	case <-p.done:
		return nil // exited already
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(5 * time.Second):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	return fmt.Errorf("killed after SIGTERM timed out\n%s", p.output.String())
}

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p to the buffer.
func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns the contents of the buffer.
func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
