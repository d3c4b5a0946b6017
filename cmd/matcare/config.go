package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// config is matcare's configuration, read from the environment.
type config struct {
	addr         string
	baseURL      string
	mongoURI     string // "" starts the embedded server
	db           string
	dataDir      string
	maxBodyBytes int64
	logLevel     slog.Level
	grace        time.Duration
	writeTimeout time.Duration
	failpoint    string
}

// configFrom reads the configuration through getenv, applying defaults,
// and names the variable of any bad value.
func configFrom(getenv func(string) string) (config, error) {
	cfg := config{
		addr:         "127.0.0.1:8080",
		baseURL:      "http://localhost:8080/fhir",
		db:           "matcare",
		dataDir:      "./data",
		maxBodyBytes: 1 << 20,
		logLevel:     slog.LevelInfo,
		grace:        15 * time.Second,
		writeTimeout: 10 * time.Second,
	}
	str := func(name string, dst *string) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			*dst = v
		}
	}
	str("MATCARE_ADDR", &cfg.addr)
	str("MATCARE_BASE_URL", &cfg.baseURL)
	str("MONGODB_URI", &cfg.mongoURI)
	str("MATCARE_DB", &cfg.db)
	str("MATCARE_DATA_DIR", &cfg.dataDir)
	str("MATCARE_FAILPOINT", &cfg.failpoint)

	if _, port, err := net.SplitHostPort(cfg.addr); err != nil || port == "" {
		return cfg, fmt.Errorf("MATCARE_ADDR=%q: want host:port, e.g. 127.0.0.1:8080", cfg.addr)
	}
	u, err := url.Parse(cfg.baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return cfg, fmt.Errorf("MATCARE_BASE_URL=%q: want an absolute http(s) URL such as http://localhost:8080/fhir", cfg.baseURL)
	}
	cfg.baseURL = strings.TrimRight(cfg.baseURL, "/")
	if cfg.mongoURI != "" && !strings.HasPrefix(cfg.mongoURI, "mongodb://") && !strings.HasPrefix(cfg.mongoURI, "mongodb+srv://") {
		return cfg, fmt.Errorf("MONGODB_URI: want a mongodb:// or mongodb+srv:// URI")
	}
	if strings.ContainsAny(cfg.db, `/\. "$`) || len(cfg.db) > 63 {
		return cfg, fmt.Errorf("MATCARE_DB=%q: a MongoDB database name without / \\ . space \" $, at most 63 bytes", cfg.db)
	}
	if v := getenv("MATCARE_MAX_BODY_BYTES"); v != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 1024 || n > 1<<30 {
			return cfg, fmt.Errorf("MATCARE_MAX_BODY_BYTES=%q: want a whole number of bytes from 1024 to 1073741824", v)
		}
		cfg.maxBodyBytes = n
	}
	if v := getenv("MATCARE_LOG_LEVEL"); v != "" {
		if err := cfg.logLevel.UnmarshalText([]byte(strings.TrimSpace(v))); err != nil {
			return cfg, fmt.Errorf("MATCARE_LOG_LEVEL=%q: want debug, info, warn or error", v)
		}
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"MATCARE_SHUTDOWN_GRACE", &cfg.grace}, {"MATCARE_WRITE_TIMEOUT", &cfg.writeTimeout}} {
		if v := getenv(d.name); v != "" {
			t, err := time.ParseDuration(strings.TrimSpace(v))
			if err != nil || t <= 0 {
				return cfg, fmt.Errorf("%s=%q: want a positive duration such as 10s", d.name, v)
			}
			*d.dst = t
		}
	}
	return cfg, nil
}
