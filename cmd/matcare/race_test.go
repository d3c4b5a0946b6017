package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"testing"

	"github.com/matcare/matcare/repository/mongotest"
)

// TestCrossProcessRaces runs two matcare processes on one external
// FerretDB, so no in-process lock can serialise the writers.
func TestCrossProcessRaces(t *testing.T) {
	uri := mongotest.StartExternal(t)
	// One data directory: both processes trust the same development key.
	env := []string{"MONGODB_URI=" + uri, "MATCARE_DB=races", "MATCARE_DATA_DIR=" + t.TempDir()}
	procs := []*child{startChild(t, env...), startChild(t, env...)}
	ctx := context.Background()
	const id = "race"
	// 50 racers without the race detector (README's figure; CI's container
	// run), 25 with it: the detector slows each write several times, and
	// 50 writers queueing for one resource outlast the 10 s an update
	// without If-Match retries for.
	racers := 50
	if raceEnabled {
		racers = 25
	}
	if st, b, _, err := call(ctx, procs[0].token, "PUT", procs[0].base+"/Goal/"+id, goalJSON(id, "v1")); err != nil || st != http.StatusCreated {
		t.Fatalf("create: %d %s %v", st, b, err)
	}

	// 50 PUTs with the same If-Match: exactly one wins.
	statuses := race(t, procs, racers, func(i int, c *child) (int, error) {
		st, _, _, err := call(ctx, c.token, "PUT", c.base+"/Goal/"+id, goalJSON(id, fmt.Sprintf("if-match %d", i)), "If-Match", `W/"1"`)
		return st, err
	})
	if statuses[http.StatusOK] != 1 || statuses[http.StatusPreconditionFailed] != racers-1 {
		t.Fatalf("If-Match race: statuses %v, want one 200 and %d 412", statuses, racers-1)
	}
	checkVersions(t, procs[1], id, 2)

	// 50 PUTs without If-Match: all succeed, none lost.
	statuses = race(t, procs, racers, func(i int, c *child) (int, error) {
		st, _, _, err := call(ctx, c.token, "PUT", c.base+"/Goal/"+id, goalJSON(id, fmt.Sprintf("free %d", i)))
		return st, err
	})
	if statuses[http.StatusOK] != racers {
		t.Fatalf("unconditional race: statuses %v, want %d× 200", statuses, racers)
	}
	texts := checkVersions(t, procs[0], id, 2+racers)
	seen := map[string]bool{}
	for _, s := range texts[2:] {
		seen[s] = true
	}
	for i := range racers {
		if !seen[fmt.Sprintf("free %d", i)] {
			t.Errorf("update %d is missing from history", i)
		}
	}

	// 20 conditional creates with one identifier: exactly one resource,
	// and every answer names it.
	const conditional = 20
	crit := "identifier=" + url.QueryEscape("https://example.org/goal-id|race-1")
	withIdent := func(text string) string {
		return `{"resourceType":"Goal","identifier":[{"system":"https://example.org/goal-id","value":"race-1"}],` +
			`"lifecycleStatus":"active","description":{"text":` + strconv.Quote(text) + `},"subject":{"reference":"Patient/p1"}}`
	}
	var mu sync.Mutex
	ids := map[string]bool{}
	statuses = race(t, procs, conditional, func(i int, c *child) (int, error) {
		st, b, _, err := call(ctx, c.token, "POST", c.base+"/Goal", withIdent(fmt.Sprintf("create %d", i)), "If-None-Exist", crit)
		var r struct{ ID string }
		_ = json.Unmarshal(b, &r)
		mu.Lock()
		ids[r.ID] = true
		mu.Unlock()
		return st, err
	})
	if statuses[http.StatusCreated] != 1 || statuses[http.StatusOK] != conditional-1 || len(ids) != 1 {
		t.Fatalf("conditional create race: statuses %v, ids %v; want one 201, %d× 200, one id", statuses, ids, conditional-1)
	}
	var created string
	for id := range ids {
		created = id
	}
	if n := countMatches(t, procs[1], "/Goal?"+crit); n != 1 {
		t.Fatalf("conditional create race stored %d goals", n)
	}

	// 20 conditional updates of it: each one version, none lost.
	statuses = race(t, procs, conditional, func(i int, c *child) (int, error) {
		st, _, _, err := call(ctx, c.token, "PUT", c.base+"/Goal?"+crit, withIdent(fmt.Sprintf("cond %d", i)))
		return st, err
	})
	if statuses[http.StatusOK] != conditional {
		t.Fatalf("conditional update race: statuses %v, want %d× 200", statuses, conditional)
	}
	texts = checkVersions(t, procs[0], created, 1+conditional)
	seen = map[string]bool{}
	for _, s := range texts[1:] {
		seen[s] = true
	}
	for i := range conditional {
		if !seen[fmt.Sprintf("cond %d", i)] {
			t.Errorf("conditional update %d is missing from history", i)
		}
	}
}

// countMatches is the accurate total of a search.
func countMatches(t *testing.T, c *child, path string) int {
	t.Helper()
	st, b, _, err := call(context.Background(), c.token, "GET", c.base+path+"&_total=accurate&_count=0", "")
	if err != nil || st != http.StatusOK {
		t.Fatalf("search: %d %v", st, err)
	}
	var r struct{ Total int }
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r.Total
}

// race runs n requests at once, alternating between processes, and
// counts the statuses.
func race(t *testing.T, procs []*child, n int, do func(i int, c *child) (int, error)) map[int]int {
	t.Helper()
	var (
		mu       sync.Mutex
		statuses = map[int]int{}
		wg       sync.WaitGroup
		start    = make(chan struct{})
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			st, err := do(i, procs[i%len(procs)])
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			statuses[st]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return statuses
}

// checkVersions reads the whole history of Goal/id and checks it holds
// versions n..1, newest first, each once, with the current version n. It
// returns each version's description text, oldest first.
func checkVersions(t *testing.T, c *child, id string, n int) []string {
	t.Helper()
	ctx := context.Background()
	st, b, h, err := call(ctx, c.token, "GET", c.base+"/Goal/"+id, "")
	if err != nil || st != http.StatusOK || h.Get("ETag") != fmt.Sprintf(`W/"%d"`, n) {
		t.Fatalf("current: %d %s %v", st, h.Get("ETag"), err)
	}
	_ = b
	st, b, _, err = call(ctx, c.token, "GET", fmt.Sprintf("%s/Goal/%s/_history?_count=%d", c.base, id, n+10), "")
	if err != nil || st != http.StatusOK {
		t.Fatalf("history: %d %v", st, err)
	}
	var bundle struct {
		Entry []struct {
			Resource struct {
				Meta        struct{ VersionID string }
				Description struct{ Text string }
			}
		}
	}
	if err := json.Unmarshal(b, &bundle); err != nil {
		t.Fatal(err)
	}
	if len(bundle.Entry) != n {
		t.Fatalf("history has %d versions, want %d", len(bundle.Entry), n)
	}
	texts := make([]string, n)
	var versions []string
	for i, e := range bundle.Entry {
		want := fmt.Sprint(n - i)
		versions = append(versions, e.Resource.Meta.VersionID)
		if e.Resource.Meta.VersionID != want {
			t.Errorf("history entry %d is version %s, want %s", i, e.Resource.Meta.VersionID, want)
		}
		texts[n-1-i] = e.Resource.Description.Text
	}
	if t.Failed() {
		sort.Strings(versions)
		t.Fatalf("versions: %v", versions)
	}
	return texts
}
