package api_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/matcare/matcare/api"
	"github.com/matcare/matcare/fhir/fhirtest"
	"github.com/matcare/matcare/repository"
	"github.com/matcare/matcare/repository/mongotest"
)

// txBenchGoals is how many Goals follow the Patient in the benchmarked
// transaction: 20 resources in all.
const txBenchGoals = 19

// BenchmarkTransaction20 sends the same 20 resources, a Patient and 19
// MAT Goals (fhirtest.Goal, 2 KB) referring to it, four ways in each
// iteration, alternating which goes first:
//
//   - transaction: one POST /fhir of a transaction Bundle, the Goals
//     referring to the Patient by its urn:uuid fullUrl;
//   - single: POST /fhir/Patient, then 19 POST /fhir/Goal referring to
//     the Patient/id the first answered (what a client does without
//     transactions);
//   - raw-insertone, raw-insertmany: the storage ceiling, the raw driver
//     inserting the same 20 bodies ({_id, v, body}) on the same server as
//     20 InsertOne and as one InsertMany.
//
// Both HTTP ways ask for Prefer: return=minimal, and every request is
// audited as the server does. It reports, per way, the latency of the 20
// resources (p50 and p99, nearest rank, ms), the throughput (resources/s
// over the way's total time) and the CPU time of the process (client,
// server and embedded storage) per 20 resources, which varies less than
// time on a shared machine; ns/op is suppressed (one iteration runs
// every way). It logs the storage commands each HTTP way sends. Run it with -count and read it with
// benchstat: see repository/BENCH-WRITE.md. MATCARE_TXBENCH_WAY=<name>
// runs one way alone (for -cpuprofile).
func BenchmarkTransaction20(b *testing.B) {
	ctx := context.Background()
	var cmds struct {
		sync.Mutex
		n map[string]int // storage commands by name (and collection, for writes)
	}
	cmds.n = map[string]int{}
	monitor := &event.CommandMonitor{Started: func(_ context.Context, ev *event.CommandStartedEvent) {
		name := ev.CommandName
		if coll, ok := ev.Command.Lookup(name).StringValueOK(); ok {
			name += " " + coll
		}
		cmds.Lock()
		cmds.n[name]++
		cmds.Unlock()
	}}
	ms := mongotest.Start(b)
	db := ms.NewDatabase(b)
	store, err := repository.Open(ctx, testLog, ms.URI(), db, repository.Options{Monitor: monitor})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close(context.Background()) })
	if err := ms.Optimize(ctx, db); err != nil {
		b.Fatal(err)
	}
	e := startServer(b, store, store, api.Config{MaxBodyBytes: 256 << 10, RateLimit: -1})
	e.uri, e.db = ms.URI(), db
	mc, err := mongo.Connect(options.Client().ApplyURI(e.uri))
	if err != nil {
		b.Fatal(err)
	}
	defer mc.Disconnect(ctx)
	if err := mc.Database(e.db).CreateCollection(ctx, "raw"); err != nil {
		b.Fatal(err)
	}
	if err := mongotest.Start(b).Optimize(ctx, e.db); err != nil {
		b.Fatal(err)
	}
	raw := mc.Database(e.db).Collection("raw")

	patient := string(fhirtest.Patient())
	goal := func(patientRef string) string {
		return strings.ReplaceAll(string(fhirtest.Goal()), "Patient/p03", patientRef)
	}
	entries := []string{txEntry(uuidPatient, "POST", "Patient", patient)}
	for i := range txBenchGoals {
		entries = append(entries, txEntry(uuidGoal(i), "POST", "Goal", goal(uuidPatient)))
	}
	bundle := txBundle("transaction", entries...)
	rawBodies := append([]string{patient}, slices.Repeat([]string{goal("Patient/raw")}, txBenchGoals)...)
	n := 0 // raw ids
	rawDocs := func() []any {
		docs := make([]any, len(rawBodies))
		for i, body := range rawBodies {
			n++
			docs[i] = bson.D{{Key: "_id", Value: fmt.Sprintf("raw-%d", n)}, {Key: "v", Value: 1}, {Key: "body", Value: body}}
		}
		return docs
	}
	post := func(path, body string, want int) response {
		r := e.do("POST", path, body, "Prefer", "return=minimal")
		if r.StatusCode != want {
			b.Fatalf("POST %s: status %d, want %d: %s", path, r.StatusCode, want, r.body)
		}
		return r
	}
	type way struct {
		name string
		run  func()
	}
	ways := []way{
		{"transaction", func() {
			r := post("", bundle, http.StatusOK)
			tb := decodeBundle(b, r)
			if len(tb.Entry) != 1+txBenchGoals || tb.Entry[len(tb.Entry)-1].Response.Status != "201 Created" {
				b.Fatalf("transaction response: %s", r.body)
			}
		}},
		{"single", func() {
			r := post("/Patient", patient, http.StatusCreated)
			loc := strings.TrimPrefix(r.Header.Get("Location"), e.base+"/")
			ref, _, _ := strings.Cut(loc, "/_history/")
			if !strings.HasPrefix(ref, "Patient/") {
				b.Fatalf("Location %q", r.Header.Get("Location"))
			}
			body := goal(ref)
			for range txBenchGoals {
				post("/Goal", body, http.StatusCreated)
			}
		}},
		{"raw-insertone", func() {
			for _, d := range rawDocs() {
				if _, err := raw.InsertOne(ctx, d); err != nil {
					b.Fatal(err)
				}
			}
		}},
		{"raw-insertmany", func() {
			if _, err := raw.InsertMany(ctx, rawDocs()); err != nil {
				b.Fatal(err)
			}
		}},
	}
	// The two HTTP ways store the same resources; count the storage
	// commands each sends.
	count := map[string]int{}
	for _, w := range ways[:2] {
		cmds.Lock()
		clear(cmds.n)
		cmds.Unlock()
		w.run()
		time.Sleep(50 * time.Millisecond) // the last audit insert
		cmds.Lock()
		total := 0
		var list []string
		for k, v := range cmds.n {
			total += v
			list = append(list, fmt.Sprintf("%d %s", v, k))
		}
		slices.Sort(list)
		count[w.name] = total
		b.Logf("%s: %d storage commands: %s", w.name, total, strings.Join(list, ", "))
		cmds.Unlock()
	}
	if got := e.count("/Goal?lifecycle-status=active"); got != 2*txBenchGoals {
		b.Fatalf("%d Goals stored, want %d", got, 2*txBenchGoals)
	}

	if only := os.Getenv("MATCARE_TXBENCH_WAY"); only != "" {
		// One way alone, for a profile of it.
		ways = slices.DeleteFunc(ways, func(w way) bool { return w.name != only })
		if len(ways) == 0 {
			b.Fatalf("MATCARE_TXBENCH_WAY=%s names no way", only)
		}
	}
	b.Logf("load average at start: %s", loadAvg())
	defer func() { b.Logf("load average at end: %s", loadAvg()) }()
	lat := make([][]time.Duration, len(ways))
	cpu := make([]time.Duration, len(ways))
	i := 0
	for b.Loop() {
		for k := range ways {
			j := (k + i) % len(ways)
			c0, t0 := cpuTime(), time.Now()
			ways[j].run()
			lat[j] = append(lat[j], time.Since(t0))
			cpu[j] += cpuTime() - c0
		}
		i++
	}
	b.ReportMetric(0, "ns/op")
	for j, w := range ways {
		var total time.Duration
		for _, d := range lat[j] {
			total += d
		}
		b.ReportMetric(float64(len(lat[j])*(1+txBenchGoals))/total.Seconds(), w.name+"-res/s")
		b.ReportMetric(percentile(lat[j], 50), w.name+"-p50-ms")
		b.ReportMetric(percentile(lat[j], 99), w.name+"-p99-ms")
		b.ReportMetric(float64(cpu[j])/float64(len(lat[j]))/float64(time.Millisecond), w.name+"-cpu-ms")
	}
	b.Logf("storage commands per 20 resources: transaction %d, single %d", count["transaction"], count["single"])
}

// cpuTime is the CPU time this process has used: client, server and the
// embedded storage server alike, all in the test binary.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAvg is the machine's load average (the benchmarks share it).
func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return strings.TrimSpace(string(b))
}

// percentile is the nearest-rank p-th percentile of ds, in milliseconds.
func percentile(ds []time.Duration, p float64) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	k := int(math.Ceil(p/100*float64(len(s)))) - 1
	return float64(s[max(k, 0)]) / float64(time.Millisecond)
}
