package main

import (
	"log/slog"
	"strings"
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
