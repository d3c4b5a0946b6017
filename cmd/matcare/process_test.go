package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/matcare/matcare/api/auth"
	"github.com/matcare/matcare/repository/mongotest"
)

// TestMain runs matcare itself when a test starts this binary as a child
// process (MATCARE_TEST_CHILD=1), so process tests need no separate build.
// The child gets exactly the arguments the test passed (none: serve).
func TestMain(m *testing.M) {
	if os.Getenv("MATCARE_TEST_CHILD") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(mongotest.Main(m))
}

// child is a matcare process.
type child struct {
	t     testing.TB
	cmd   *exec.Cmd
	base  string // FHIR base URL
	token string // bearer token the child trusts (development key)
	mu    sync.Mutex
	log   strings.Builder
	done  chan struct{}
	err   error // Wait's result, once done is closed
}

// startChild starts matcare with env added to the test's environment and
// waits until it serves. Unless env says otherwise, the child keeps its
// development key in a fresh MATCARE_DATA_DIR and has no rate limit (the
// tests send bursts from one client); c.token is a token it trusts.
func startChild(t testing.TB, env ...string) *child {
	t.Helper()
	c, err := tryStartChild(t, env...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// tryStartChild is startChild, but returns an error if matcare exits
// before it serves (c.err then says how it ended) or does not start in
// time.
func tryStartChild(t testing.TB, env ...string) (*child, error) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := &child{t: t, done: make(chan struct{})}
	c.cmd = exec.Command(exe)
	c.cmd.Env = append(os.Environ(), "MATCARE_TEST_CHILD=1", "MATCARE_ADDR=127.0.0.1:0",
		"MATCARE_DATA_DIR="+t.TempDir(), "MATCARE_RATE_LIMIT=off")
	c.cmd.Env = append(c.cmd.Env, env...)
	c.token = testToken(t, envGetter(c.cmd.Env))
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			c.mu.Lock()
			c.log.WriteString(line + "\n")
			c.mu.Unlock()
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "serving" {
				addr <- rec.Addr
			}
		}
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() { c.kill() })
	select {
	case a := <-addr:
		c.base = "http://" + a + "/fhir"
	case <-c.done:
		return c, fmt.Errorf("matcare exited before serving: %w\n%s", c.err, c.logs())
	case <-time.After(60 * time.Second):
		return c, fmt.Errorf("matcare did not start in time\n%s", c.logs())
	}
	return c, nil
}

func (c *child) logs() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.log.String()
}

// kill sends SIGKILL and waits for the process to go.
func (c *child) kill() {
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
}

// count returns how many log records have msg.
func (c *child) count(msg string) int {
	return strings.Count(c.logs(), `"msg":"`+msg+`"`)
}

// envGetter is getenv over a process environment; a later entry for a
// name wins, as in exec.Cmd.
func envGetter(env []string) func(string) string {
	m := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return func(k string) string { return m[k] }
}

// testToken mints a token that a matcare configured by getenv trusts: it
// signs with the development key under that configuration's
// MATCARE_DATA_DIR/keys (creating it if the server has not yet), with the
// configuration's first issuer, audience and board claim, granting
// system/*.* and the admin scope on health board S08000031.
func testToken(t testing.TB, getenv func(string) string) string {
	t.Helper()
	cfg, err := configFrom(getenv)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.devKeys {
		t.Fatal("testToken: the configuration does not trust the development key")
	}
	_, signer, err := auth.EnsureDevKey(filepath.Join(cfg.dataDir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := signer.Mint(jwt.MapClaims{
		"iss":          cfg.issuers[0],
		"aud":          cfg.audience,
		"sub":          "matcare-test",
		"client_id":    "matcare-test",
		"scope":        "system/*.* matcare:admin",
		cfg.boardClaim: "S08000031",
	}, 6*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

var client = &http.Client{Timeout: 30 * time.Second}

// call sends one request with the bearer token (none if "") and returns
// status and body.
func call(ctx context.Context, token, method, url, body string, headers ...string) (int, []byte, http.Header, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, res.Header, err
}

func goalJSON(id, text string) string {
	return fmt.Sprintf(`{"resourceType":"Goal","id":%q,"lifecycleStatus":"active","description":{"text":%q},"subject":{"reference":"Patient/p1"}}`, id, text)
}
