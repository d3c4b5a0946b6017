package api_test

import (
	"context"
	"fmt"
	"github.com/golang-jwt/jwt/v5"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/matcare/matcare/api"
	"github.com/matcare/matcare/fhir/fhirtest"
	"github.com/matcare/matcare/repository"
	"github.com/matcare/matcare/repository/mongotest"
	"github.com/matcare/matcare/service"
)

// benchEnv is a server over a database prefilled with n Goals, shared by
// the benchmarks of one size.
type benchEnv struct {
	res    *service.Resources
	token  string
	base   string
	ids    []string
	raw    *mongo.Collection // a collection of n raw documents, for the ceiling
	rawIDs []string
}

var (
	benchMu   sync.Mutex
	benchEnvs = map[int]*benchEnv{}
)

func getBenchEnv(b *testing.B, n int) *benchEnv {
	benchMu.Lock()
	defer benchMu.Unlock()
	if e := benchEnvs[n]; e != nil {
		return e
	}
	ms := mongotest.Start(b)
	db := fmt.Sprintf("bench%d", n) // kept for the whole run: prefilling is slow
	ctx := context.Background()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	store, err := repository.Open(ctx, log, ms.URI(), db, repository.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := ms.Optimize(ctx, db); err != nil { // index _id before filling
		b.Fatal(err)
	}
	res := service.New(store)
	e := &benchEnv{res: res}
	for i := 0; i < n; i++ {
		rec, err := res.Create(asAdmin(), "Goal", fhirtest.Goal())
		if err != nil {
			b.Fatal(err)
		}
		e.ids = append(e.ids, rec.ID)
	}
	mc, err := mongo.Connect(options.Client().ApplyURI(ms.URI()))
	if err != nil {
		b.Fatal(err)
	}
	e.raw = mc.Database(db).Collection("raw")
	if err := mc.Database(db).CreateCollection(ctx, "raw"); err != nil {
		b.Fatal(err)
	}
	if err := ms.Optimize(ctx, db); err != nil {
		b.Fatal(err)
	}
	docs := make([]any, n)
	for i := range docs {
		id := fmt.Sprintf("raw-%d", i)
		e.rawIDs = append(e.rawIDs, id)
		docs[i] = bson.D{{Key: "_id", Value: id}, {Key: "v", Value: 1}, {Key: "body", Value: string(fhirtest.Goal())}}
	}
	if _, err := e.raw.InsertMany(ctx, docs); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	e.base = srv.URL + "/fhir"
	h, err := api.New(log, res, api.Config{BaseURL: e.base, Ping: store.Ping, Verifier: newVerifier(b, e.base), RateLimit: -1})
	if err != nil {
		b.Fatal(err)
	}
	srv.Config.Handler = h
	e.token = mint(b, e.base, jwt.MapClaims{"scope": fullScope, "health_board": boardA})
	benchEnvs[n] = e
	return e
}

var benchSizes = []int{1000, 10000}

// BenchmarkRead is GET /fhir/Goal/{id} over HTTP, beside the raw driver's
// FindOne by _id on the same server.
func BenchmarkRead(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("stored=%d/matcare", n), func(b *testing.B) {
			e := getBenchEnv(b, n)
			i := 0
			for b.Loop() {
				i++
				req, _ := http.NewRequest("GET", e.base+"/Goal/"+e.ids[i%len(e.ids)], nil)
				benchDo(b, e.auth(req), http.StatusOK)
			}
		})
		b.Run(fmt.Sprintf("stored=%d/raw-findone", n), func(b *testing.B) {
			e := getBenchEnv(b, n)
			ctx := context.Background()
			i := 0
			for b.Loop() {
				i++
				var doc bson.M
				if err := e.raw.FindOne(ctx, bson.D{{Key: "_id", Value: e.rawIDs[i%len(e.rawIDs)]}}).Decode(&doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkScan measures the requests FerretDB answers by scanning the
// collection (search, type history), to say how far the embedded
// default goes.
func BenchmarkScan(b *testing.B) {
	for _, n := range benchSizes {
		for _, q := range []struct{ name, path string }{
			{"search-_count=20", "/Goal?_count=20"},
			{"search-_id", "/Goal?_id=%s"},
			{"type-history-_count=20", "/Goal/_history?_count=20"},
			{"instance-history", "/Goal/%s/_history"},
		} {
			b.Run(fmt.Sprintf("stored=%d/%s", n, q.name), func(b *testing.B) {
				e := getBenchEnv(b, n)
				path := q.path
				if strings.Contains(path, "%s") {
					path = fmt.Sprintf(path, e.ids[n/2])
				}
				for b.Loop() {
					req, _ := http.NewRequest("GET", e.base+path, nil)
					benchDo(b, e.auth(req), http.StatusOK)
				}
			})
		}
	}
}

// BenchmarkAuditWrite is the storage cost of one AuditEvent (every
// audited request pays it before its response is sent), beside the raw
// InsertOne of a document of the same size.
func BenchmarkAuditWrite(b *testing.B) {
	body := []byte(`{"resourceType":"AuditEvent","id":"x","meta":{"versionId":"1","lastUpdated":"2026-01-01T00:00:00.000Z"},` +
		`"type":{"code":"rest"},"recorded":"2026-01-01T00:00:00.000Z",` +
		`"agent":[{"who":{"identifier":{"system":"https://idp.example/realms/nhs","value":"ehr-integration-client"}},"requestor":true,` +
		`"network":{"address":"127.0.0.1","type":"2"}}],"source":{"observer":{"display":"matcare"}},` +
		`"entity":[{"what":{"reference":"Goal/ABCDEFGHIJKLMNOPQRSTUVWXYZ/_history/1"}}]}`)
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("stored=%d/matcare", n), func(b *testing.B) {
			e := getBenchEnv(b, n)
			ctx := context.Background()
			for b.Loop() {
				rec := service.AuditRecord{ID: service.NewAuditID(), Recorded: time.Now().UTC(), Board: "S08000031", Client: "c", Body: body}
				if err := e.res.Audit(ctx, rec); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("stored=%d/raw-insert", n), func(b *testing.B) {
			e := getBenchEnv(b, n)
			ctx := context.Background()
			for b.Loop() {
				doc := bson.D{{Key: "_id", Value: service.NewAuditID()}, {Key: "v", Value: 1}, {Key: "body", Value: string(body)}}
				if _, err := e.raw.InsertOne(ctx, doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCreate is POST /fhir/Goal over HTTP (declared last: it adds
// to the collections the other benchmarks read), beside the raw driver's
// InsertOne on the same server: the storage ceiling.
func BenchmarkCreate(b *testing.B) {
	body := string(fhirtest.Goal())
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("stored=%d/matcare", n), func(b *testing.B) {
			e := getBenchEnv(b, n)
			b.ResetTimer()
			for b.Loop() {
				req, _ := http.NewRequest("POST", e.base+"/Goal", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/fhir+json")
				req.Header.Set("Prefer", "return=minimal")
				benchDo(b, e.auth(req), http.StatusCreated)
			}
		})
		b.Run(fmt.Sprintf("stored=%d/raw-insert", n), func(b *testing.B) {
			e := getBenchEnv(b, n)
			ctx := context.Background()
			i := 0
			for b.Loop() {
				i++
				doc := bson.D{{Key: "_id", Value: fmt.Sprintf("new-%d-%d", n, i)}, {Key: "v", Value: 1}, {Key: "body", Value: body}}
				if _, err := e.raw.InsertOne(ctx, doc); err != nil && !mongo.IsDuplicateKeyError(err) {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchDo sends req, reads the whole response and checks its status.
func benchDo(b *testing.B, req *http.Request, status int) {
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != status {
		b.Fatalf("%s %s: status %d", req.Method, req.URL.Path, res.StatusCode)
	}
}

// auth adds the benchmark client's bearer token to req.
func (e *benchEnv) auth(req *http.Request) *http.Request {
	req.Header.Set("Authorization", "Bearer "+e.token)
	return req
}
