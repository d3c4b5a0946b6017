package repository

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/matcare/matcare/service"
)

// TestAuditGroupCommit appends records from many goroutines: each append
// returns only once its own record is stored, a failing record (duplicate
// id) fails alone, and every other record reads back.
func TestAuditGroupCommit(t *testing.T) {
	s := openStore(t, Options{})
	ctx := context.Background()
	if err := s.AppendAudit(ctx, service.AuditRecord{ID: "dup", Recorded: time.Now(), Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	const n = 64
	errs := make([]error, n+1)
	var wg sync.WaitGroup
	for i := 0; i <= n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("a%d", i)
			if i == n {
				id = "dup"
			}
			errs[i] = s.AppendAudit(ctx, service.AuditRecord{ID: id, Recorded: time.Now(), Board: "B", Client: "c", Body: []byte(`{"i":` + fmt.Sprint(i) + `}`)})
		}()
	}
	wg.Wait()
	for i := 0; i < n; i++ {
		if errs[i] != nil {
			t.Errorf("append %d: %v", i, errs[i])
			continue
		}
		rec, err := s.Audit(ctx, fmt.Sprintf("a%d", i))
		if err != nil || string(rec.Body) != `{"i":`+fmt.Sprint(i)+`}` || rec.Board != "B" {
			t.Errorf("read %d: %+v, %v", i, rec, err)
		}
	}
	if errs[n] == nil {
		t.Error("a duplicate audit id was accepted")
	}
	s.Close(ctx)
	if err := s.AppendAudit(ctx, service.AuditRecord{ID: "late", Recorded: time.Now()}); err == nil {
		t.Error("append after Close succeeded")
	}
}
