package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestConfigFrom(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	cfg, err := configFrom(env())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.addr != "127.0.0.1:8080" || cfg.baseURL != "http://localhost:8080/fhir" || cfg.dataDir != "./data" ||
		cfg.db != "matcare" || cfg.mongoURI != "" || cfg.maxBodyBytes != 1<<20 || cfg.logLevel != slog.LevelInfo {
		t.Errorf("defaults: %+v", cfg)
	}
	cfg, err = configFrom(env("MATCARE_ADDR", ":9000", "MATCARE_BASE_URL", "https://fhir.example.scot/fhir/",
		"MONGODB_URI", "mongodb://db:27017/?replicaSet=rs0", "MATCARE_DB", "mat", "MATCARE_MAX_BODY_BYTES", "2048",
		"MATCARE_LOG_LEVEL", "debug", "MATCARE_SHUTDOWN_GRACE", "3s", "MATCARE_WRITE_TIMEOUT", "2s"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.addr != ":9000" || cfg.baseURL != "https://fhir.example.scot/fhir" || cfg.db != "mat" || cfg.maxBodyBytes != 2048 ||
		cfg.logLevel != slog.LevelDebug || cfg.grace != 3*time.Second || cfg.writeTimeout != 2*time.Second {
		t.Errorf("set: %+v", cfg)
	}
	bad := []struct{ name, value string }{
		{"MATCARE_ADDR", "8080"},
		{"MATCARE_BASE_URL", "localhost:8080/fhir"},
		{"MATCARE_BASE_URL", "ftp://x/fhir"},
		{"MATCARE_BASE_URL", "http://x/fhir?a=b"},
		{"MONGODB_URI", "postgres://x"},
		{"MATCARE_DB", "a.b"},
		{"MATCARE_MAX_BODY_BYTES", "lots"},
		{"MATCARE_MAX_BODY_BYTES", "10"},
		{"MATCARE_LOG_LEVEL", "loud"},
		{"MATCARE_SHUTDOWN_GRACE", "-1s"},
		{"MATCARE_WRITE_TIMEOUT", "soon"},
	}
	for _, b := range bad {
		_, err := configFrom(env(b.name, b.value))
		if err == nil || !strings.Contains(err.Error(), b.name) {
			t.Errorf("%s=%q: error %v, want one naming the variable", b.name, b.value, err)
		}
	}
}

// TestRunShutsDownGracefully starts run in-process on the embedded
// server, checks it serves, that a second process cannot take the same
// data directory, and that cancelling the context stops it cleanly.
func TestRunShutsDownGracefully(t *testing.T) {
	dir := t.TempDir()
	env := func(k string) string {
		return map[string]string{"MATCARE_ADDR": "127.0.0.1:0", "MATCARE_DATA_DIR": dir}[k]
	}
	ctx, cancel := context.WithCancel(context.Background())
	var logs lockedBuffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, env, &logs, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("run: %v\n%s", err, logs.String())
	case <-time.After(60 * time.Second):
		t.Fatal("not ready")
	}
	st, _, _, err := call(ctx, "GET", "http://"+addr+"/readyz", "")
	if err != nil || st != 200 {
		t.Fatalf("readyz: %d %v", st, err)
	}
	// The same data directory is refused to a second server.
	if err := run(context.Background(), env, io.Discard, nil); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second run on the same data dir: %v", err)
	}
	// An in-flight request finishes during shutdown.
	pr, pw := io.Pipe()
	reqDone := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", "http://"+addr+"/fhir/Goal", pr)
		req.Header.Set("Content-Type", "application/fhir+json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			reqDone <- -1
			return
		}
		res.Body.Close()
		reqDone <- res.StatusCode
	}()
	body := goalJSON("x", "in flight")
	pw.Write([]byte(body[:20]))
	time.Sleep(200 * time.Millisecond) // the request is being read
	cancel()
	time.Sleep(200 * time.Millisecond) // shutdown has begun
	pw.Write([]byte(body[20:]))
	pw.Close()
	if st := <-reqDone; st != http.StatusCreated {
		t.Errorf("in-flight request during shutdown: %d", st)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	if !strings.Contains(logs.String(), `"msg":"shutting down"`) {
		t.Errorf("no shutdown record in the log")
	}
	for _, secret := range []string{"in flight", "/fhir/Goal?", "Patient/p1"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log contains %q", secret)
		}
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
