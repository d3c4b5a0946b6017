package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/matcare/matcare/repository"
	"github.com/matcare/matcare/repository/mongotest"
)

// TestCrashRecovery kills a matcare process while it writes, at each
// failpoint of the write protocol and by random SIGKILLs, 50 times each
// (MATCARE_CRASH_ITERATIONS changes that). After every restart it checks
// the storage invariants directly and that every write acknowledged to a
// client is there, byte for byte.
func TestCrashRecovery(t *testing.T) {
	iterations := 50
	if v := os.Getenv("MATCARE_CRASH_ITERATIONS"); v != "" {
		iterations, _ = strconv.Atoi(v)
	}
	uri := mongotest.StartExternal(t)
	const db = "crash"
	// One data directory for every restart: one development key.
	env := []string{"MONGODB_URI=" + uri, "MATCARE_DB=" + db, "MATCARE_WRITE_TIMEOUT=200ms", "MATCARE_DATA_DIR=" + t.TempDir()}
	mc, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Disconnect(context.Background())
	store := mc.Database(db)

	acked := &ackLog{m: map[string]string{}}
	repairs, restarts := 0, 0
	modes := []string{"after-claim", "after-current", "after-commit", "sigkill"}
	// The first start stores the clinical content (LoadContent) before it
	// serves; a failpoint there would stop it before the writers start.
	// Later starts find the content stored and write nothing of it.
	startChild(t, env...).kill()
	var c *child
	for _, mode := range modes {
		for i := range iterations {
			fp := ""
			if mode != "sigkill" {
				fp = fmt.Sprintf("%s@%d", mode, 1+rand.IntN(5))
			}
			c = startChild(t, append(env, "MATCARE_FAILPOINT="+fp)...)
			restarts++
			checkStorage(t, store)
			acked.check(t, c)

			stop := make(chan struct{})
			var wg sync.WaitGroup
			for w := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					write(c, fmt.Sprintf("%s-%d-%d", mode, i, w), acked, stop)
				}()
			}
			if mode == "sigkill" {
				time.Sleep(time.Duration(20+rand.IntN(300)) * time.Millisecond)
				c.kill()
			} else {
				select {
				case <-c.done:
				case <-time.After(60 * time.Second):
					t.Fatalf("%s: failpoint %s never hit\n%s", mode, fp, c.logs())
				}
				var ee *exec.ExitError
				if !errors.As(c.err, &ee) || ee.ExitCode() != repository.FailpointExitCode {
					t.Fatalf("%s: child ended with %v, want exit %d\n%s", mode, c.err, repository.FailpointExitCode, c.logs())
				}
			}
			close(stop)
			wg.Wait()
			repairs += c.count("rolled an interrupted write forward")
		}
	}
	c = startChild(t, env...)
	checkStorage(t, store)
	acked.checkAll(t, c)
	time.Sleep(500 * time.Millisecond) // let every claim go stale, then meet each one
	for i := range 10 {
		id := fmt.Sprintf("g%d", i)
		if st, b, _, err := call(context.Background(), c.token, "PUT", c.base+"/Goal/"+id, goalJSON(id, "final")); err != nil || st >= 300 {
			t.Fatalf("final write to %s: %d %s %v", id, st, b, err)
		}
	}
	checkStorage(t, store)
	repairs += c.count("rolled an interrupted write forward")
	t.Logf("%d restarts (%d per mode), %d acknowledged writes checked, %d repairs rolled forward", restarts, iterations, acked.len(), repairs)
}

// ackLog records acknowledged writes: "id/version" → description text,
// or "" for a deletion.
type ackLog struct {
	mu      sync.Mutex
	m       map[string]string
	checked map[string]bool
}

func (a *ackLog) add(k, v string) {
	a.mu.Lock()
	a.m[k] = v
	a.mu.Unlock()
}

func (a *ackLog) len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.m)
}

// write updates, creates and deletes goals g0..g9 until stop or until the
// server goes away, recording what the server acknowledged.
func write(c *child, tag string, acked *ackLog, stop <-chan struct{}) {
	ctx := context.Background()
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		default:
		}
		id := fmt.Sprintf("g%d", rand.IntN(10))
		var (
			st   int
			h    http.Header
			err  error
			text = fmt.Sprintf("%s-%d", tag, n)
		)
		if rand.IntN(10) == 0 {
			st, _, h, err = call(ctx, c.token, "DELETE", c.base+"/Goal/"+id, "")
			text = ""
		} else {
			st, _, h, err = call(ctx, c.token, "PUT", c.base+"/Goal/"+id, goalJSON(id, text))
		}
		if err != nil {
			return // the server died
		}
		if st >= 300 || h.Get("ETag") == "" {
			continue // e.g. a delete of a deleted goal
		}
		v := strings.Trim(strings.TrimPrefix(h.Get("ETag"), "W/"), `"`)
		acked.add(id+"/"+v, text)
	}
}

// check reads back the acknowledged writes not checked before.
func (a *ackLog) check(t *testing.T, c *child) { a.verify(t, c, false) }

// checkAll reads back every acknowledged write.
func (a *ackLog) checkAll(t *testing.T, c *child) { a.verify(t, c, true) }

func (a *ackLog) verify(t *testing.T, c *child, all bool) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.checked == nil {
		a.checked = map[string]bool{}
	}
	for k, text := range a.m {
		if a.checked[k] && !all {
			continue
		}
		st, b, _, err := call(context.Background(), c.token, "GET", c.base+"/Goal/"+strings.Replace(k, "/", "/_history/", 1), "")
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case text == "" && st != http.StatusGone:
			t.Errorf("acknowledged delete %s: vread %d", k, st)
		case text != "" && (st != http.StatusOK || !strings.Contains(string(b), fmt.Sprintf(`"text":%q`, text))):
			t.Errorf("acknowledged write %s (%s) lost: vread %d %s", k, text, st, b)
		}
		a.checked[k] = true
	}
}

// checkStorage checks the invariants of the write protocol directly in
// the database: every current document's versions 1..v are in history,
// version v's entry matches it, and nothing above v is committed.
func checkStorage(t *testing.T, db *mongo.Database) {
	t.Helper()
	ctx := context.Background()
	cur, err := db.Collection("Goal").Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var currents []bson.M
	if err := cur.All(ctx, &currents); err != nil {
		t.Fatal(err)
	}
	hc, err := db.Collection("Goal_history").Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var hist []bson.M
	if err := hc.All(ctx, &hist); err != nil {
		t.Fatal(err)
	}
	byID := map[string]bson.M{}
	for _, h := range hist {
		byID[h["_id"].(string)] = h
	}
	for _, c := range currents {
		id := c["_id"].(string)
		v := asInt(c["v"])
		for i := 1; i <= v; i++ {
			if _, ok := byID[fmt.Sprintf("%s/%d", id, i)]; !ok {
				t.Errorf("%s: version %d of current %d missing from history", id, i, v)
			}
		}
		if h := byID[fmt.Sprintf("%s/%d", id, v)]; h != nil && (h["body"] != c["body"] || h["deleted"] != c["deleted"]) {
			t.Errorf("%s: current version %d differs from its history entry", id, v)
		}
		for i := v + 1; ; i++ {
			h, ok := byID[fmt.Sprintf("%s/%d", id, i)]
			if !ok {
				break
			}
			if h["state"] == "committed" {
				t.Errorf("%s: version %d is committed above current %d", id, i, v)
			}
			if i > v+1 {
				t.Errorf("%s: more than one pending claim above current %d", id, v)
			}
		}
	}
	if t.Failed() {
		for _, c := range currents {
			delete(c, "body")
		}
		var hs []bson.M
		for _, h := range hist {
			delete(h, "body")
			hs = append(hs, h)
		}
		b, _ := json.MarshalIndent(currents, "", " ")
		hb, _ := json.Marshal(hs)
		t.Fatalf("storage invariants broken; current documents:\n%s\nhistory:\n%s", b, hb)
	}
}

func asInt(v any) int {
	switch x := v.(type) {
	case int32:
		return int(x)
	case int64:
		return int(x)
	case float64:
		return int(x)
	}
	return -1
}
