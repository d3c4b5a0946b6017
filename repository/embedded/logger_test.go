package embedded

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestQuietLoggerDefersAttrs(t *testing.T) {
	var buf bytes.Buffer
	log := QuietLogger(slog.New(slog.NewTextHandler(&buf, nil)))
	l := log.With("conn", "c1").WithGroup("g").With("k", "v")
	l.Info("dropped: below warn")
	l.Warn("Response message: dump") // FerretDB noise
	l.Warn("kept")
	got := buf.String()
	if strings.Contains(got, "dropped") || strings.Contains(got, "dump") {
		t.Errorf("noise passed: %s", got)
	}
	if !strings.Contains(got, "msg=kept conn=c1 g.k=v") {
		t.Errorf("kept record lost its attributes: %q", got)
	}
}
