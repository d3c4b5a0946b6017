package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/matcare/matcare/repository"
	"github.com/matcare/matcare/repository/mongotest"
)

// Tag systems of the resources TestTransactionCrashRecovery writes: the
// writer's life (epoch) that wrote the version, the transaction that
// wrote it, and one tag on all of them.
const (
	tagEpoch = "https://example.org/txtest/epoch"
	tagTxn   = "https://example.org/txtest/txn"
	tagRun   = "https://example.org/txtest/run|crash"
)

// Shape of one transaction of the crash test: a Patient (its witness,
// never changed afterwards) and txGoals Goals that refer to it, updates
// of txUpdates Goals and deletion of txDeletes Goals written by earlier
// acknowledged transactions of the same epoch.
const (
	txGoals   = 3
	txUpdates = 2
	txDeletes = 1
	txSeeds   = 6 // Goals of each epoch's seed transaction
	txWriters = 2 // clients sending transactions to the writer at once
)

// txFailpoints are the steps of the transaction protocol, each with the
// range of its random count: the steps taken once per write count
// writes (1+txGoals+txUpdates+txDeletes per transaction), the others
// transactions, so that the crash lands in one of the first few.
var txFailpoints = []struct {
	step string
	max  int
}{
	{"after-journal", 4},
	{"after-txn-claim", 14},
	{"after-pend", 14},
	{"after-txn-commit", 3},
	{"after-rollforward", 14},
	{"after-txn-done", 2},
}

// TestTransactionCrashRecovery kills a matcare process while it runs
// transactions: at each step of the journal protocol (a failpoint with a
// random count) and by random SIGKILLs, MATCARE_CRASH_ITERATIONS times
// each. CI runs it with 50 in a step of its own (a crash costs 1.5 to 7s
// as the machine is idle or busy: a restart, repairs, the reader's
// scans); go test runs 3 by default, 2 under -short or -race.
//
// A second matcare process on the same database, never killed, serves a
// reader that searches all the time and checks that each search sees
// every transaction whole or not at all, and every transaction
// acknowledged before it began. After every restart of the writer the
// test checks the storage invariants directly; at the end, with
// everything repaired, that every transaction is wholly there or wholly
// absent, and nothing of the protocol is left in storage.
func TestTransactionCrashRecovery(t *testing.T) {
	iterations := 3
	switch {
	case os.Getenv("MATCARE_CRASH_ITERATIONS") != "":
		iterations, _ = strconv.Atoi(os.Getenv("MATCARE_CRASH_ITERATIONS"))
	case testing.Short() || raceEnabled:
		iterations = 2
	}
	seed := rand.Uint64()
	if v := os.Getenv("MATCARE_CRASH_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	t.Logf("seed %d (MATCARE_CRASH_SEED reproduces the choices of the test, not the timing)", seed)
	r := &crashRun{t: t, rng: rand.New(rand.NewPCG(seed, seed>>1|1)), uri: mongotest.StartExternal(t), dataDir: t.TempDir(),
		perMode: map[string]int{}, phase: map[string]time.Duration{}, totals: newTxModel()}
	t.Cleanup(func() {
		if !t.Failed() && os.Getenv("MATCARE_CRASH_LOGS") == "" {
			return
		}
		// The evidence: every process's log, kept after the test.
		f, err := os.CreateTemp("", fmt.Sprintf("matcare-txcrash-%d-*.log", seed))
		if err != nil {
			return
		}
		defer f.Close()
		fmt.Fprint(f, r.logs.String())
		if r.reader != nil {
			fmt.Fprintf(f, "--- reader:\n%s", r.reader.logs())
		}
		if r.w != nil {
			fmt.Fprintf(f, "--- last writer:\n%s", r.w.logs())
		}
		t.Logf("logs of the readers and of every writer: %s", f.Name())
	})
	defer func() { t.Logf("time per phase: %v", r.phase) }()

	// The crashes in order, each mode in turn, cut into segments of at
	// most crashSegment: each on a database of its own, so that it does
	// not grow with the run (start-up reads every document).
	var crashes []string
	modes := []string{"sigkill"}
	for _, fp := range txFailpoints {
		modes = append(modes, fp.step)
	}
	for _, mode := range modes {
		for range iterations {
			crashes = append(crashes, mode)
		}
	}
	begun := time.Now()
	segments := 0
	for len(crashes) > 0 {
		n := min(len(crashes), crashSegment)
		r.segment(fmt.Sprintf("txcrash%d", segments), crashes[:n])
		crashes = crashes[n:]
		segments++
	}

	s := r.totals
	t.Logf("%d writer starts in %v on %d databases: crashes %v, %d more in start-up repair, %d at the ends; %d start-up repairs of a transaction failed and were left to the next",
		r.restarts, time.Since(begun).Round(time.Second), segments, r.perMode, r.startupCrashes, r.finalStarts, r.deferred)
	t.Logf("%d transactions sent (%d seeds): %d acknowledged, %d committed without acknowledgement, %d not committed; answers %v",
		s.sent, s.seeds, s.acked, s.unackedCommitted, s.notCommitted, s.statuses)
	t.Logf("%d consistent searches (%d by the readers, %d answered with an error: %v), partial views seen: %d",
		s.polls, s.readerPolls, s.pollErrors, s.pollStatuses, s.partial)
}

// crashSegment is the most crashes TestTransactionCrashRecovery makes on
// one database.
const crashSegment = 25

// Write timeout of the crash test's processes: longer than the crash
// test's 200ms, as a transaction is some 60 round trips, and a repair of
// one some 30, each of which has to fit in it on a busy machine.
const (
	txWriteTimeout = time.Second
	txStaleAfter   = 3 * txWriteTimeout // repository.Options' default
)

// crashRun is one run of TestTransactionCrashRecovery.
type crashRun struct {
	t       *testing.T
	rng     *rand.Rand
	uri     string
	dataDir string // one for every process: one development key
	reader  *child // the current segment's
	w       *child // the current writer
	logs    strings.Builder
	totals  *txModel // the statistics of every segment

	restarts, startupCrashes, finalStarts, deferred int
	perMode                                         map[string]int
	phase                                           map[string]time.Duration
}

// segment runs crashes (a failpoint step or "sigkill" each) on database
// db, with a reader of its own, then checks that everything in flight is
// repaired and every transaction wholly there or wholly absent.
func (r *crashRun) segment(db string, crashes []string) {
	t := r.t
	env := []string{"MONGODB_URI=" + r.uri, "MATCARE_DB=" + db, "MATCARE_WRITE_TIMEOUT=" + txWriteTimeout.String(), "MATCARE_DATA_DIR=" + r.dataDir}
	mc, err := mongo.Connect(options.Client().ApplyURI(r.uri))
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Disconnect(context.Background())
	store := mc.Database(db)

	m := newTxModel()
	defer r.totals.add(m)
	r.reader = startChild(t, env...)
	reader := r.reader
	var epoch atomic.Int64
	stopReader := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			select {
			case <-stopReader:
				return
			default:
			}
			e := int(epoch.Load())
			m.poll(reader, []int{e - 1, e}, "reader")
		}
	}()
	stop := func() {
		select {
		case <-stopReader:
			return
		default:
			close(stopReader)
		}
		<-readerDone
	}
	defer stop()

	// startWriter starts a writer with failpoint fp. A failpoint may stop
	// it during its start-up repair (after-rollforward, after-txn-done):
	// it is started again, with the same failpoint up to 5 times, then
	// without; it returns the failpoint the writer runs with.
	startWriter := func(fp string) (*child, time.Time, string) {
		for {
			at := time.Now()
			c, err := tryStartChild(t, append(env, "MATCARE_FAILPOINT="+fp)...)
			r.restarts++
			if err == nil {
				return c, at, fp
			}
			var ee *exec.ExitError
			if fp == "" || !errors.As(c.err, &ee) || ee.ExitCode() != repository.FailpointExitCode {
				t.Fatal(err)
			}
			r.logs.WriteString("--- writer stopped in start-up repair:\n" + c.logs())
			r.startupCrashes++
			if r.startupCrashes%5 == 0 {
				fp = ""
			}
		}
	}
	r.w = nil
	for i, mode := range crashes {
		fp := ""
		for _, f := range txFailpoints {
			if f.step == mode {
				fp = fmt.Sprintf("%s@%d", mode, 1+r.rng.IntN(f.max))
			}
		}
		prev := ""
		if r.w != nil {
			prev = "--- crashed writer:\n" + r.w.logs()
			r.logs.WriteString(prev)
		}
		// The next epoch's seed goes through the reader while the writer
		// restarts and repairs.
		e := int(epoch.Add(1))
		seeded := make(chan error, 1)
		go func() { seeded <- m.seed(t, reader, e) }()
		var started time.Time
		t0 := time.Now()
		r.w, started, fp = startWriter(fp)
		w := r.w
		r.phase["start"] += time.Since(t0)
		t0 = time.Now()
		if err := <-seeded; err != nil {
			t.Fatal(err)
		}
		r.phase["seed"] += time.Since(t0)
		t0 = time.Now()
		// Start-up repair finished every transaction stale by then
		// (unless it failed, as it may under load: then the next start-up
		// finishes it). The whole storage is read after one restart in
		// five.
		failed := repairsFailed(w.logs())
		r.deferred += len(failed)
		depth := checkJournal
		if i%5 == 0 {
			depth = checkAll
		}
		checkTxnStorage(t, store, started.Add(-txStaleAfter), failed, depth, func() string { return prev + "\n--- restarted writer:\n" + w.logs() })
		r.phase["check"] += time.Since(t0)
		t0 = time.Now()
		// The reader's searches check that every transaction acknowledged
		// before they began is there.
		m.failed(t)

		stopWriting := make(chan struct{})
		var wg sync.WaitGroup
		for range txWriters {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m.write(t, w, e, stopWriting)
			}()
		}
		if fp == "" {
			time.Sleep(time.Duration(20+r.rng.IntN(800)) * time.Millisecond)
			w.kill()
		} else {
			select {
			case <-w.done:
			case <-time.After(2 * time.Minute):
				t.Fatalf("%s: failpoint %s never hit\n%s", mode, fp, w.logs())
			}
			var ee *exec.ExitError
			if !errors.As(w.err, &ee) || ee.ExitCode() != repository.FailpointExitCode {
				t.Fatalf("%s: writer ended with %v, want exit %d\n%s", mode, w.err, repository.FailpointExitCode, w.logs())
			}
		}
		close(stopWriting)
		wg.Wait()
		r.phase["write:"+mode] += time.Since(t0)
		r.perMode[mode]++
	}

	// Wait out StaleAfter, so that the last start-up repairs everything
	// left in flight; under load a repair may time out, and the next
	// start-up completes it.
	t0 := time.Now()
	r.logs.WriteString("--- crashed writer:\n" + r.w.logs())
	time.Sleep(txStaleAfter + 100*time.Millisecond)
	for starts := 1; ; starts++ {
		var started time.Time
		r.w, started, _ = startWriter("")
		r.finalStarts++
		if len(repairsFailed(r.w.logs())) == 0 || starts == 5 {
			checkTxnStorage(t, store, started.Add(-txStaleAfter), nil, checkFinal, r.w.logs)
			break
		}
		r.logs.WriteString("--- writer whose start-up repair failed:\n" + r.w.logs())
		r.w.kill()
		time.Sleep(txStaleAfter) // its repair token goes stale
	}
	stop()
	m.final(t, r.w)
	m.failed(t)
	r.phase["final"] += time.Since(t0)
	r.logs.WriteString("--- reader of " + db + ":\n" + reader.logs() + "--- last writer of " + db + ":\n" + r.w.logs())
	reader.kill()
	r.w.kill()
	r.reader, r.w = nil, nil
}

// txRes is a resource the crash test writes, known by its identifier.
type txRes struct {
	typ, ident string
	id         string // once its creator is acknowledged
	subject    string // a Goal's subject, once its creator is acknowledged
	creator    *txPlan
	modifier   *txPlan // the one later transaction that updates or deletes it
	deleted    bool    // modifier deletes it
}

// txPlan is one transaction of the crash test.
type txPlan struct {
	n, epoch int
	via      string
	created  []*txRes // the witness Patient first, then the Goals
	updates  []*txRes
	deletes  []*txRes
	status   int       // the answer's HTTP status; 0 without one
	acked    time.Time // when the client got its 200; zero if it did not
	visible  bool      // seen visible by a search
}

func (p *txPlan) witness() *txRes { return p.created[0] }

// txModel holds what the crash test sent and what searches saw.
type txModel struct {
	mu    sync.Mutex
	plans []*txPlan
	res   map[string]*txRes
	pool  map[int][]*txRes // per epoch, Goals free to update or delete
	// statistics and evidence
	statuses            map[int]int
	polls, readerPolls  int
	pollErrors, partial int
	pollStatuses        map[int]int
	problems            []string
	maxProblems         int
	seeds               int
	acked, notCommitted int
	unackedCommitted    int
	sent                int
}

func newTxModel() *txModel {
	return &txModel{res: map[string]*txRes{}, pool: map[int][]*txRes{}, statuses: map[int]int{}, pollStatuses: map[int]int{}, maxProblems: 20}
}

// plan registers the next transaction of epoch e, taking the Goals it
// updates and deletes from the pool; seed transactions change nothing.
func (m *txModel) plan(e int, seed bool) *txPlan {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := &txPlan{n: len(m.plans), epoch: e, via: "writer"}
	m.plans = append(m.plans, p)
	m.sent++
	newRes := func(typ, ident string) *txRes {
		r := &txRes{typ: typ, ident: ident, creator: p}
		m.res[ident] = r
		p.created = append(p.created, r)
		return r
	}
	newRes("Patient", fmt.Sprintf("p%d", p.n))
	goals := txGoals
	if seed {
		goals, p.via = txSeeds, "seed"
		m.seeds++
	}
	for k := range goals {
		newRes("Goal", fmt.Sprintf("g%d-%d", p.n, k))
	}
	if seed {
		return p
	}
	take := func(n int) []*txRes {
		pool := m.pool[e]
		var out []*txRes
		for len(out) < n && len(pool) > 0 {
			i := rand.IntN(len(pool))
			r := pool[i]
			pool[i] = pool[len(pool)-1]
			pool = pool[:len(pool)-1]
			r.modifier = p
			out = append(out, r)
		}
		m.pool[e] = pool
		return out
	}
	p.updates = take(txUpdates)
	p.deletes = take(txDeletes)
	for _, r := range p.deletes {
		r.deleted = true
	}
	return p
}

// bundle is p's transaction Bundle; entry order: created resources,
// updates, deletes.
func (p *txPlan) bundle() string {
	tags := []string{tagEpoch + "|" + strconv.Itoa(p.epoch), tagTxn + "|" + strconv.Itoa(p.n), tagRun}
	var es []string
	w := p.witness()
	patient := txUUID(p.n, 0)
	var cond []string
	if p.via != "seed" && p.n%2 == 0 {
		// A conditional create: its search waits while a committed
		// transaction is rolling forward, so only every other one.
		cond = append(cond, `"ifNoneExist":`+jsonQuote("identifier="+txIdentSystem+"|"+w.ident))
	}
	es = append(es, txEntry(patient, "POST", "Patient", patientJSON(w.ident, fmt.Sprintf("txn %d", p.n), tags), cond...))
	for k, g := range p.created[1:] {
		es = append(es, txEntry(txUUID(p.n, k+1), "POST", "Goal", goalRefJSON(g.ident, fmt.Sprintf("created by %d", p.n), patient, tags)))
	}
	for _, r := range p.updates {
		body := goalRefJSON(r.ident, fmt.Sprintf("updated by %d", p.n), r.subject, tags)
		body = `{"id":` + jsonQuote(r.id) + "," + strings.TrimPrefix(body, "{")
		es = append(es, txEntry("", "PUT", "Goal/"+r.id, body))
	}
	for _, r := range p.deletes {
		es = append(es, txEntry("", "DELETE", "Goal/"+r.id, ""))
	}
	return txBundle(es...)
}

// answered records the answer to p; a 200 must be a complete
// transaction-response, whose ids it records.
func (m *txModel) answered(t *testing.T, p *txPlan, st int, body []byte) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	p.status = st
	m.statuses[st]++
	if st != http.StatusOK {
		return false
	}
	var b txResponse
	if err := json.Unmarshal(body, &b); err != nil {
		t.Errorf("transaction %d: 200 without a Bundle: %v: %s", p.n, err, body)
		return false
	}
	want := len(p.created) + len(p.updates) + len(p.deletes)
	if b.Type != "transaction-response" || len(b.Entry) != want {
		t.Errorf("transaction %d: want a transaction-response of %d entries: %s", p.n, want, body)
		return false
	}
	for i, en := range b.Entry {
		status := "200 OK"
		if i < len(p.created) {
			status = "201 Created"
			r := p.created[i]
			r.id = strings.TrimPrefix(typeID(en.Response.Location), r.typ+"/")
		}
		if en.Response.Status != status {
			t.Errorf("transaction %d: entry %d answered %q, want %q: %s", p.n, i, en.Response.Status, status, body)
		}
	}
	patient := "Patient/" + p.witness().id
	for _, g := range p.created[1:] {
		g.subject = patient
		m.pool[p.epoch] = append(m.pool[p.epoch], g)
	}
	p.acked = time.Now()
	return true
}

// write sends transactions of epoch e to c until stop or until c dies.
func (m *txModel) write(t *testing.T, c *child, e int, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-c.done:
			return
		default:
		}
		p := m.plan(e, false)
		st, b, _, err := call(context.Background(), c.token, "POST", c.base, p.bundle())
		if err != nil {
			m.answered(t, p, 0, nil)
			return // the writer died
		}
		m.answered(t, p, st, b)
	}
}

// seed writes epoch e's seed transaction through c (the reader, which
// never crashes), so that the epoch's first transactions have Goals to
// change.
func (m *txModel) seed(t *testing.T, c *child, e int) error {
	for attempt := 0; ; attempt++ {
		p := m.plan(e, true)
		st, b, _, err := call(context.Background(), c.token, "POST", c.base, p.bundle())
		if err != nil {
			return err
		}
		if m.answered(t, p, st, b) {
			return nil
		}
		// A 503 (a write timeout, or a committed transaction still
		// rolling forward): this one may still commit, so the next
		// attempt writes another.
		if st != http.StatusServiceUnavailable || attempt == 50 {
			return fmt.Errorf("seed transaction: %d %s", st, b)
		}
	}
}

// repairsFailed are the transactions whose start-up repair logs say
// failed.
func repairsFailed(logs string) map[string]bool {
	out := map[string]bool{}
	for _, line := range strings.Split(logs, "\n") {
		var rec struct{ Msg, Txn string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "repair failed" && rec.Txn != "" {
			out[rec.Txn] = true
		}
	}
	return out
}

// txObs is a resource as a search saw it.
type txObs struct {
	typ, id, subject string
	txn              int
}

// searchAll reads every resource with one of tags (all pages unless
// onePage) through c: identifier → observation.
func searchAll(c *child, query string, onePage bool) (map[string]txObs, []string, int, error) {
	obs := map[string]txObs{}
	var dups []string
	next := c.base + "?" + query
	for next != "" {
		st, b, _, err := call(context.Background(), c.token, "GET", next, "")
		if err != nil {
			return nil, nil, 0, err
		}
		if st != http.StatusOK {
			return nil, nil, st, fmt.Errorf("search: %d %s", st, b)
		}
		var bundle struct {
			Entry []struct {
				Resource json.RawMessage
				Search   struct{ Mode string }
			}
			Link []struct{ Relation, URL string }
		}
		if err := json.Unmarshal(b, &bundle); err != nil {
			return nil, nil, st, err
		}
		for _, en := range bundle.Entry {
			var r struct {
				ResourceType, ID string
				Meta             struct {
					Tag []struct{ System, Code string }
				}
				Identifier []struct{ System, Value string }
				Subject    struct{ Reference string }
			}
			if err := json.Unmarshal(en.Resource, &r); err != nil {
				return nil, nil, st, err
			}
			if r.ResourceType == "OperationOutcome" {
				continue
			}
			o := txObs{typ: r.ResourceType, id: r.ID, subject: r.Subject.Reference, txn: -1}
			for _, tg := range r.Meta.Tag {
				if tg.System == tagTxn {
					o.txn, _ = strconv.Atoi(tg.Code)
				}
			}
			ident := ""
			for _, id := range r.Identifier {
				if id.System == txIdentSystem {
					ident = id.Value
				}
			}
			if _, dup := obs[ident]; dup || ident == "" {
				dups = append(dups, fmt.Sprintf("%s/%s identifier %q", r.ResourceType, r.ID, ident))
			}
			obs[ident] = o
		}
		next = ""
		for _, l := range bundle.Link {
			if l.Relation == "next" {
				if onePage {
					return nil, nil, st, fmt.Errorf("more than one page")
				}
				_, rest, _ := strings.Cut(l.URL, "/fhir")
				next = c.base + rest
			}
		}
	}
	return obs, dups, http.StatusOK, nil
}

// poll runs one search of the resources of epochs through c and checks
// that it sees each of their transactions whole or not at all.
func (m *txModel) poll(c *child, epochs []int, who string) {
	var vals []string
	for _, e := range epochs {
		if e >= 0 {
			vals = append(vals, tagEpoch+"|"+strconv.Itoa(e))
		}
	}
	if len(vals) == 0 {
		return
	}
	begun := time.Now()
	obs, dups, st, err := searchAll(c, "_type=Goal,Patient&_count=1000&_tag="+url.QueryEscape(strings.Join(vals, ",")), true)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.polls++
	if who == "reader" {
		m.readerPolls++
	}
	if err != nil {
		m.pollErrors++
		m.pollStatuses[st]++
		if st != http.StatusServiceUnavailable {
			// 503: a committed transaction still rolling forward, or
			// storage too slow; anything else is a failure.
			m.problem("%s: search failed: %v", who, err)
		}
		return
	}
	in := map[int]bool{}
	for _, e := range epochs {
		in[e] = true
	}
	probs := m.check(obs, dups, func(p *txPlan) bool { return in[p.epoch] }, begun)
	if len(probs) > 0 {
		m.partial++
		for _, p := range probs {
			m.problem("%s search of epochs %v: %s", who, epochs, p)
		}
	}
}

func (m *txModel) problem(format string, args ...any) {
	if len(m.problems) < m.maxProblems {
		m.problems = append(m.problems, fmt.Sprintf(format, args...))
	}
}

// check compares one search's observations with the transactions in
// scope: each transaction's witness Patient says whether the search saw
// it; every resource it created, updated or deleted must then be as it
// left it (or as the later transaction that changed it left it, if
// that one is seen too). A transaction acknowledged before the search
// began, or seen by an earlier search, must be seen. Called with m.mu
// held.
func (m *txModel) check(obs map[string]txObs, dups []string, scope func(*txPlan) bool, begun time.Time) []string {
	var probs []string
	for _, d := range dups {
		probs = append(probs, "duplicate or unknown resource "+d)
	}
	vis := func(p *txPlan) bool {
		o, ok := obs[p.witness().ident]
		return ok && o.txn == p.n
	}
	known := map[string]bool{}
	for _, p := range m.plans {
		if !scope(p) {
			continue
		}
		v := vis(p)
		switch {
		case !v && !p.acked.IsZero() && p.acked.Before(begun):
			probs = append(probs, fmt.Sprintf("transaction %d (%s) was acknowledged before the search began but is not seen", p.n, p.via))
		case !v && p.visible:
			probs = append(probs, fmt.Sprintf("transaction %d (%s) was seen before but is not seen now", p.n, p.via))
		}
		if v {
			p.visible = true
		}
		for _, r := range p.created {
			known[r.ident] = true
			o, present := obs[r.ident]
			want, wantTxn := v, p.n
			if v && r.modifier != nil && vis(r.modifier) {
				want, wantTxn = !r.deleted, r.modifier.n
			}
			switch {
			case present != want:
				probs = append(probs, fmt.Sprintf("transaction %d (seen: %v): %s %s present %v, want %v%s", p.n, v, r.typ, r.ident, present, want, m.modNote(r, vis)))
			case present && o.txn != wantTxn:
				probs = append(probs, fmt.Sprintf("transaction %d (seen: %v): %s %s carries transaction %d, want %d%s", p.n, v, r.typ, r.ident, o.txn, wantTxn, m.modNote(r, vis)))
			case present && r.typ == "Goal":
				if w, ok := obs[p.witness().ident]; !ok || o.subject != "Patient/"+w.id {
					probs = append(probs, fmt.Sprintf("transaction %d: Goal %s subject %q, want its witness Patient/%s", p.n, r.ident, o.subject, w.id))
				}
			}
		}
	}
	for ident, o := range obs {
		if !known[ident] {
			probs = append(probs, fmt.Sprintf("%s/%s (%s, transaction %d) belongs to no transaction in scope", o.typ, o.id, ident, o.txn))
		}
	}
	return probs
}

func (m *txModel) modNote(r *txRes, vis func(*txPlan) bool) string {
	if r.modifier == nil {
		return ""
	}
	what := "updated"
	if r.deleted {
		what = "deleted"
	}
	return fmt.Sprintf(" (%s by transaction %d, seen: %v)", what, r.modifier.n, vis(r.modifier))
}

// final reads every resource of the test and checks each transaction is
// wholly there or wholly absent, and there if it was acknowledged or
// ever seen; it counts the outcomes.
func (m *txModel) final(t *testing.T, c *child) {
	// A transaction cut off after its commit point makes searches answer
	// 503 until it is stale (3 × the write timeout) and repaired, as the
	// README's limits say: wait that out.
	deadline := time.Now().Add(10*txWriteTimeout + 30*time.Second)
	var obs map[string]txObs
	var dups []string
	for {
		var st int
		var err error
		obs, dups, st, err = searchAll(c, "_type=Goal,Patient&_count=1000&_tag="+url.QueryEscape(tagRun), false)
		if err == nil {
			break
		}
		if st != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("final search: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	begun := time.Now()
	for _, p := range m.probsOf(m.check(obs, dups, func(*txPlan) bool { return true }, begun)) {
		m.problem("final: %s", p)
	}
	for _, p := range m.plans {
		_, v := obs[p.witness().ident]
		switch {
		case !p.acked.IsZero():
			m.acked++
		case v:
			m.unackedCommitted++
		default:
			m.notCommitted++
		}
	}
}

func (m *txModel) probsOf(ps []string) []string { sort.Strings(ps); return ps }

// failed fails the test with the problems seen so far.
func (m *txModel) failed(t *testing.T) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.problems) > 0 {
		t.Fatalf("%d searches saw a transaction in part or lost; first problems:\n%s", m.partial, strings.Join(m.problems, "\n"))
	}
}

// add adds the statistics of o to m.
func (m *txModel) add(o *txModel) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o.mu.Lock()
	defer o.mu.Unlock()
	m.sent += o.sent
	m.seeds += o.seeds
	m.acked += o.acked
	m.unackedCommitted += o.unackedCommitted
	m.notCommitted += o.notCommitted
	m.polls += o.polls
	m.readerPolls += o.readerPolls
	m.pollErrors += o.pollErrors
	m.partial += o.partial
	for k, v := range o.statuses {
		m.statuses[k] += v
	}
	for k, v := range o.pollStatuses {
		m.pollStatuses[k] += v
	}
}

// checkDepth is how much checkTxnStorage checks.
type checkDepth int

const (
	checkJournal checkDepth = iota // only the journal: it reads no resource
	checkAll                       // every invariant
	checkFinal                     // every invariant, and nothing left in flight
)

// checkTxnStorage checks the invariants of the write and transaction
// protocols directly in the database, as checkStorage does for single
// writes, on Goal and Patient: versions 1..v of each current document in
// history, version v's entry matching it, nothing committed above it;
// a pend mark, placeholder or pending history entry only for a
// transaction whose journal entry is still there; an entry a transaction
// wrote committed only if the transaction committed; no journal entry
// started before staleBefore but those unrepaired (start-up repair
// finished the others). When final, nothing of the protocol may be left
// at all. With checkJournal it checks the journal only, which is small:
// the rest reads every version of every resource.
func checkTxnStorage(t *testing.T, db *mongo.Database, staleBefore time.Time, unrepaired map[string]bool, depth checkDepth, logs func() string) {
	final := depth == checkFinal
	t.Helper()
	ctx := context.Background()
	all := func(coll string, filter bson.D) []bson.M {
		cur, err := db.Collection(coll).Find(ctx, filter)
		if err != nil {
			t.Fatal(err)
		}
		var docs []bson.M
		if err := cur.All(ctx, &docs); err != nil {
			t.Fatal(err)
		}
		return docs
	}
	// Start-up repair skips a transaction another process is repairing:
	// give the reader's repair time to end.
	var journal []bson.M
	for deadline := time.Now().Add(10 * time.Second); ; {
		journal = all("matcare_txn", bson.D{})
		stale := 0
		for _, j := range journal {
			if final || j["started"].(bson.DateTime).Time().Before(staleBefore) && !unrepaired[j["_id"].(string)] {
				stale++
			}
		}
		if stale == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%d journal entries older than StaleAfter left after start-up repair: %v", stale, journal)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if depth == checkJournal {
		if t.Failed() {
			t.Fatalf("storage invariants broken (journal entries must be older than %v); logs:\n%s", staleBefore, logs())
		}
		return
	}
	// Nothing but the reader's repairs runs now, and each step of the
	// protocol happens before the next: a claim before its pend mark, the
	// outcome before a replace, a replace before its entry is marked
	// committed, pend marks and claims removed before the journal entry.
	// So the journal is read first, then history, then the current
	// documents, then the outcomes: a later step seen implies the
	// earlier one is seen too.
	live := map[string]bool{}
	for _, j := range journal {
		live[j["_id"].(string)] = true
	}
	types := []string{"Goal", "Patient"}
	hists := map[string][]bson.M{}
	currents := map[string][]bson.M{}
	for _, typ := range types {
		hists[typ] = all(typ+"_history", bson.D{})
	}
	for _, typ := range types {
		currents[typ] = all(typ, bson.D{})
	}
	outcomes := map[string]bool{}
	for _, o := range all("matcare_txn_outcome", bson.D{}) {
		outcomes[o["_id"].(string)] = o["committed"] == true
	}
	// A transaction's outcome is deleted when it ends (after its journal
	// entry, possibly while this check reads): entries are marked
	// committed only after a committed outcome, and an aborted
	// transaction's claims are removed, so a committed entry is wrong
	// only when its transaction's outcome says it aborted.
	didCommit := func(txn string) bool {
		committed, decided := outcomes[txn]
		return committed || !decided
	}
	var evidence []string // the documents of each resource found wrong
	for _, typ := range types {
		byID := map[string]bson.M{}
		for _, h := range hists[typ] {
			byID[h["_id"].(string)] = h
		}
		wrong := func(rid, format string, args ...any) {
			t.Helper()
			t.Errorf(typ+"/"+rid+": "+format, args...)
			var docs []bson.M
			for _, c := range currents[typ] {
				if c["_id"] == rid {
					docs = append(docs, c)
				}
			}
			for v := 1; ; v++ {
				h, ok := byID[fmt.Sprintf("%s/%d", rid, v)]
				if !ok {
					break
				}
				docs = append(docs, h)
			}
			for _, d := range docs {
				d = maps.Clone(d)
				delete(d, "body")
				txn, _ := d["txn"].(string)
				b, _ := json.Marshal(d)
				evidence = append(evidence, fmt.Sprintf("%s %s (transaction %q: journal entry %v, committed %v)", typ, b, txn, live[txn], outcomes[txn]))
			}
		}
		for _, h := range hists[typ] {
			rid, _ := h["rid"].(string)
			txn, _ := h["txn"].(string)
			switch {
			case txn == "":
			case h["state"] == "pending" && !live[txn]:
				wrong(rid, "history %s: pending entry of transaction %s, which has no journal entry (outcome committed: %v)", h["_id"], txn, outcomes[txn])
			case h["state"] == "committed" && !didCommit(txn):
				wrong(rid, "history %s: committed entry of transaction %s, which did not commit", h["_id"], txn)
			}
			if final && h["state"] == "pending" {
				wrong(rid, "history %s: still pending after repair", h["_id"])
			}
		}
		for _, c := range currents[typ] {
			id := c["_id"].(string)
			v := asInt(c["v"])
			// A committed transaction that has not rolled this document
			// forward yet wrote its next version: claims are above that.
			eff := v
			if p, ok := c["pend"].(bson.D); ok {
				var txn string
				for _, e := range p {
					if e.Key == "txn" {
						txn, _ = e.Value.(string)
					}
				}
				switch {
				case !live[txn]:
					wrong(id, "pend mark of transaction %s, which has no journal entry", txn)
				case final:
					wrong(id, "pend mark of transaction %s left after repair", txn)
				}
				if outcomes[txn] {
					eff = v + 1
					if h := byID[fmt.Sprintf("%s/%d", id, eff)]; h == nil || h["txn"] != txn {
						wrong(id, "transaction %s committed version %d, which is not in history", txn, eff)
					}
				}
			} else if v == 0 {
				wrong(id, "placeholder without a pend mark")
			}
			for i := 1; i <= v; i++ {
				if _, ok := byID[fmt.Sprintf("%s/%d", id, i)]; !ok {
					wrong(id, "version %d of current %d missing from history", i, v)
				}
			}
			if h := byID[fmt.Sprintf("%s/%d", id, v)]; h != nil {
				if h["body"] != c["body"] || h["deleted"] != c["deleted"] {
					wrong(id, "current version %d differs from its history entry", v)
				}
				if txn, _ := h["txn"].(string); txn != "" && !didCommit(txn) {
					wrong(id, "current version %d was written by transaction %s, which did not commit", v, txn)
				}
			}
			for i := v + 1; ; i++ {
				h, ok := byID[fmt.Sprintf("%s/%d", id, i)]
				if !ok {
					break
				}
				if h["state"] == "committed" {
					wrong(id, "version %d is committed above current %d", i, v)
				}
				if i > eff+1 {
					wrong(id, "more than one pending claim above version %d (current %d)", eff, v)
				}
			}
		}
	}
	if len(evidence) > 0 {
		t.Logf("documents (without bodies) of the resources found wrong:\n%s", strings.Join(evidence, "\n"))
	}
	if t.Failed() {
		t.Fatalf("storage invariants broken (journal entries must be older than %v); logs:\n%s", staleBefore, logs())
	}
}
