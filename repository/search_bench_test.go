package repository

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/matcare/matcare/repository/mongotest"
)

// BenchmarkSearch times the common EHR searches through Store.Search,
// each beside the raw driver sending the same filter documents to the
// same server in the same loop (alternating which goes first), at 1k
// and 10k stored Goals (plus a CarePlan per ten Goals), written through
// Put. Each sub-benchmark reports the p50 and p99 latency of every
// variant (ns/op is suppressed: one iteration runs all variants). See
// BENCH-SEARCH.md for the commands and figures.
func BenchmarkSearch(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("goals=%d", n), func(b *testing.B) { benchSearches(b, n, false) })
	}
}

// BenchmarkSearch100k is BenchmarkSearch at 100k Goals, loaded by
// InsertMany of the documents the write path's own code (currentOf)
// makes. Run it with -benchtime 11x or more: the p50 it reports is the
// median of that many runs of each variant, interleaved.
func BenchmarkSearch100k(b *testing.B) {
	b.Run("goals=100000", func(b *testing.B) { benchSearches(b, 100000, true) })
}

// variant is one way of answering a benchmarked search.
type variant struct {
	name string
	run  func(context.Context) (int, error) // returns the resources read
}

func benchSearches(b *testing.B, n int, bulk bool) {
	ms := mongotest.Start(b)
	dbName := ms.NewDatabase(b)
	ctx := context.Background()
	s, err := Open(ctx, discardLog(), ms.URI(), dbName, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(ctx)
	if err := ms.Optimize(ctx, dbName); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	recs := corpus(n, false)
	if bulk {
		insertAll(b, s, recs)
	} else {
		putAll(b, s, recs)
	}
	b.Logf("%d records (%d Goals) stored in %s (%s)", len(recs), n, time.Since(start).Round(time.Millisecond),
		map[bool]string{true: "InsertMany", false: "Put"}[bulk])
	mc, err := mongo.Connect(options.Client().ApplyURI(ms.URI()))
	if err != nil {
		b.Fatal(err)
	}
	defer mc.Disconnect(ctx)
	db := mc.Database(dbName)

	pat := patientID(n / goalsPerPatient / 2)
	due := time.Date(2024, 3, 31, 0, 0, 0, 0, time.UTC)
	ids := []string{goalID(n / 4), goalID(n / 2), goalID(3 * n / 4)}
	matcare := func(typ, params string) variant {
		q := parseSearch(b, typ, params)
		return variant{"matcare", func(ctx context.Context) (int, error) {
			res, err := s.Search(ctx, q)
			return len(res.Matches) + len(res.Included), err
		}}
	}
	page := func(coll string, f bson.D) variant {
		return variant{"raw", func(ctx context.Context) (int, error) {
			docs, err := rawPage(ctx, db.Collection(coll), f, 20)
			return min(len(docs), 20), err
		}}
	}
	searches := []struct {
		name     string
		variants []variant
	}{
		{"Goal?patient&lifecycle-status", []variant{
			matcare("Goal", "patient="+pat+"&lifecycle-status=active"),
			page("Goal", rawGoalByPatientStatus(corpusBoard, pat)),
		}},
		{"CarePlan?patient&_include=CarePlan:goal", []variant{
			matcare("CarePlan", "patient="+pat+"&_include=CarePlan:goal"),
			{"raw", func(ctx context.Context) (int, error) {
				return rawCarePlanWithGoals(ctx, db, corpusBoard, pat, 20, false)
			}},
			{"raw-findone", func(ctx context.Context) (int, error) {
				return rawCarePlanWithGoals(ctx, db, corpusBoard, pat, 20, true)
			}},
		}},
		{"Goal?target-date=le&lifecycle-status", []variant{
			matcare("Goal", "target-date=le"+due.Format(time.DateOnly)+"&lifecycle-status=active"),
			page("Goal", rawGoalDueActive(corpusBoard, due)),
		}},
		{"Goal?_id=a,b,c", []variant{
			matcare("Goal", "_id="+ids[0]+","+ids[1]+","+ids[2]),
			page("Goal", rawSearchByIDs(corpusBoard, ids)),
			{"raw-findone", func(ctx context.Context) (int, error) {
				for _, id := range ids { // the point lookups _id searches were
					var d bson.Raw
					if err := db.Collection("Goal").FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
						return 0, err
					}
				}
				return len(ids), nil
			}},
		}},
	}
	b.Logf("load average at start: %s", loadAvg())
	defer func() { b.Logf("load average at end: %s", loadAvg()) }()
	for _, sr := range searches {
		b.Run(sr.name, func(b *testing.B) {
			// Every variant reads the same resources.
			var want int
			for i, v := range sr.variants {
				got, err := v.run(ctx)
				if err != nil {
					b.Fatalf("%s: %v", v.name, err)
				}
				if i == 0 {
					want = got
				} else if got != want {
					b.Fatalf("%s read %d resources, %s %d", v.name, got, sr.variants[0].name, want)
				}
			}
			b.Logf("%d resources read", want)
			lat := make([][]time.Duration, len(sr.variants))
			i := 0
			for b.Loop() {
				for k := range sr.variants {
					j := (k + i) % len(sr.variants)
					t0 := time.Now()
					if _, err := sr.variants[j].run(ctx); err != nil {
						b.Fatal(err)
					}
					lat[j] = append(lat[j], time.Since(t0))
				}
				i++
			}
			b.ReportMetric(0, "ns/op")
			for j, v := range sr.variants {
				b.ReportMetric(percentile(lat[j], 50), v.name+"-p50-ms")
				b.ReportMetric(percentile(lat[j], 99), v.name+"-p99-ms")
			}
		})
	}
}

// loadAvg is the machine's load (shared with others' tests), for the log.
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

// BenchmarkScanCost is what FerretDB's scan of 1,000 Goals costs with the
// search fields stored beside the JSON (as the store writes them) and
// without them (the documents before search was wired), for a filter
// that matches nothing: the per-document decoding every search pays on
// the embedded server.
func BenchmarkScanCost(b *testing.B) {
	ms := mongotest.Start(b)
	dbName := ms.NewDatabase(b)
	ctx := context.Background()
	s, err := Open(ctx, discardLog(), ms.URI(), dbName, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(ctx)
	var indexed, bare []any
	for _, r := range corpus(1000, false) {
		if r.Type != "Goal" {
			continue
		}
		d := s.currentOf(r.Type, toHistory(r, r.LastUpdated))
		indexed = append(indexed, d)
		d.Index = indexFields{}
		bare = append(bare, d)
	}
	for name, docs := range map[string][]any{"indexed": indexed, "bare": bare} {
		if _, err := s.db.Collection(name).InsertMany(ctx, docs); err != nil {
			b.Fatal(err)
		}
	}
	none := bson.D{{Key: "x.patient", Value: "Patient/none"}}
	colls := []string{"indexed", "bare"}
	lat := map[string][]time.Duration{}
	i := 0
	for b.Loop() {
		for k := range colls {
			c := colls[(k+i)%2]
			t0 := time.Now()
			if n, err := rawPage(ctx, s.db.Collection(c), none, 20); err != nil || len(n) != 0 {
				b.Fatal(n, err)
			}
			lat[c] = append(lat[c], time.Since(t0))
		}
		i++
	}
	b.ReportMetric(0, "ns/op")
	for _, c := range colls {
		b.ReportMetric(percentile(lat[c], 50), c+"-p50-ms")
	}
}
