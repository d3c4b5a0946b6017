package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// testLogger reports FerretDB warnings through tb.Log.
func testLogger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tbWriter{tb}, nil))
}

type tbWriter struct{ tb testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.tb.Helper()
	w.tb.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// start starts a server in dir and closes it when the test ends.
func start(tb testing.TB, dir string) *Server {
	tb.Helper()
	// The context governs the server's lifetime, not just its start-up.
	s, err := Start(context.Background(), Config{Dir: dir, Log: testLogger(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
	})
	return s
}

// connect returns a client of s that is disconnected before s is closed.
func connect(tb testing.TB, s *Server) *mongo.Client {
	tb.Helper()
	c, err := mongo.Connect(options.Client().ApplyURI(s.URI()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	return c
}

// idIndexUsed reports whether SQLite would use an index to find a document
// of collection coll of database db by _id, and returns the query plan.
func idIndexUsed(t *testing.T, dir, db, coll string) (bool, string) {
	t.Helper()
	file, err := databaseFile(dir, db)
	if err != nil {
		t.Fatal(err)
	}
	sdb, err := openSQLite(file)
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()

	var table string
	q := fmt.Sprintf(`SELECT table_name FROM %s WHERE name = ?`, quoteIdent(metadataTable))
	if err := sdb.QueryRow(q, coll).Scan(&table); err != nil {
		t.Fatalf("table of %s: %v", coll, err)
	}

	// The same statement FerretDB's SQLite backend prepares for {_id: "…"}.
	q = fmt.Sprintf(`EXPLAIN QUERY PLAN SELECT _ferretdb_sjson FROM %s WHERE %s = ?`, quoteIdent(table), idExpr)
	rows, err := sdb.Query(q, `"a"`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	p := strings.Join(plan, "; ")
	return strings.Contains(p, "USING INDEX "+table+indexSuffix), p
}

func TestServer(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data dir") // a space, to test escaping
	s := start(t, dir)

	if !strings.HasPrefix(s.URI(), "mongodb://127.0.0.1:") {
		t.Fatalf("URI() = %q, want mongodb://127.0.0.1:…", s.URI())
	}

	c := connect(t, s)
	coll := c.Database("matcare").Collection("Goal")
	docs := []any{
		bson.D{{Key: "_id", Value: "a"}, {Key: "n", Value: 1}},
		bson.D{{Key: "_id", Value: "b"}, {Key: "n", Value: 2}},
	}
	if _, err := coll.InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Database("matcare").Collection("Goal_history").InsertOne(ctx, bson.D{{Key: "_id", Value: "a/1"}}); err != nil {
		t.Fatal(err)
	}

	if _, err := os.Stat(filepath.Join(dir, "matcare.sqlite")); err != nil {
		t.Fatalf("database file: %v", err)
	}

	if used, plan := idIndexUsed(t, s.Dir(), "matcare", "Goal"); used {
		t.Fatalf("index used before IndexIDs: %s", plan)
	}

	if err := s.IndexIDs(ctx, "matcare"); err != nil {
		t.Fatal(err)
	}
	if err := s.IndexIDs(ctx, "matcare"); err != nil { // idempotent
		t.Fatalf("second IndexIDs: %v", err)
	}
	for _, name := range []string{"Goal", "Goal_history"} {
		used, plan := idIndexUsed(t, s.Dir(), "matcare", name)
		if !used {
			t.Errorf("%s: index not used after IndexIDs: %s", name, plan)
		}
		t.Logf("%s: %s", name, plan)
	}

	// Reads, updates and deletes by _id still work with the index.
	var got struct {
		ID string `bson:"_id"`
		N  int    `bson:"n"`
	}
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: "b"}}).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.ID != "b" || got.N != 2 {
		t.Fatalf("FindOne = %+v", got)
	}
	if _, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: "b"}}, bson.D{{Key: "$set", Value: bson.D{{Key: "n", Value: 3}}}}); err != nil {
		t.Fatal(err)
	}
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: "b"}}).Decode(&got); err != nil || got.N != 3 {
		t.Fatalf("after update: %+v, %v", got, err)
	}
	if _, err := coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: "a"}}); err != nil {
		t.Fatal(err)
	}
	err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: "a"}}).Err()
	if !errors.Is(err, mongo.ErrNoDocuments) {
		t.Fatalf("FindOne of deleted document: %v", err)
	}
	// The unique _id index of FerretDB still rejects duplicates.
	_, err = coll.InsertOne(ctx, bson.D{{Key: "_id", Value: "b"}})
	if !mongo.IsDuplicateKeyError(err) {
		t.Fatalf("duplicate insert: %v", err)
	}

	// FerretDB does not see matcare's index.
	cur, err := coll.Indexes().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var idx []bson.M
	if err := cur.All(ctx, &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx) != 1 || idx[0]["name"] != "_id_" {
		t.Errorf("listIndexes = %v, want only _id_", idx)
	}

	// Dropping and recreating a collection works; the new table needs a
	// new IndexIDs.
	if err := c.Database("matcare").Collection("Goal_history").Drop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.IndexIDs(ctx, "matcare"); err != nil {
		t.Fatal(err)
	}

	// Unknown databases are not an error and are not created.
	if err := s.IndexIDs(ctx, "nosuchdb"); err != nil {
		t.Fatalf("IndexIDs of missing database: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "nosuchdb.sqlite")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("IndexIDs created a database file: %v", err)
	}
	for _, bad := range []string{"", "..", "a/b"} {
		if err := s.IndexIDs(ctx, bad); err == nil {
			t.Errorf("IndexIDs(%q) succeeded", bad)
		}
	}
}

// TestIndexIDsWhileServing runs IndexIDs while clients insert into new
// collections and read by _id. The database exists first, as it always
// does when matcare indexes (repository.Open creates it): FerretDB's
// opening of a brand-new database file switches it to WAL mode, which
// fails with SQLITE_BUSY rather than waiting if IndexIDs holds the file's
// write lock at that instant.
func TestIndexIDsWhileServing(t *testing.T) {
	ctx := context.Background()
	s := start(t, t.TempDir())
	c := connect(t, s)
	db := c.Database("busy")
	if err := db.CreateCollection(ctx, "first"); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := range 4 {
		wg.Go(func() {
			for i := range 25 {
				coll := db.Collection(fmt.Sprintf("c%d_%d", w, i%5))
				id := fmt.Sprintf("%d-%d", w, i)
				if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: id}}); err != nil {
					errs <- err
					return
				}
				if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Err(); err != nil {
					errs <- fmt.Errorf("find %s: %w", id, err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if err := s.IndexIDs(ctx, "busy"); err != nil {
				errs <- fmt.Errorf("IndexIDs: %w", err)
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := s.IndexIDs(ctx, "busy"); err != nil {
		t.Fatal(err)
	}
	if used, plan := idIndexUsed(t, s.Dir(), "busy", "c3_4"); !used {
		t.Errorf("index not used: %s", plan)
	}
}

func TestRestartKeepsData(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	s1, err := Start(ctx, Config{Dir: dir, Log: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	c1, err := mongo.Connect(options.Client().ApplyURI(s1.URI()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c1.Database("keep").Collection("Goal").InsertOne(ctx, bson.D{{Key: "_id", Value: "x"}, {Key: "v", Value: "kept"}}); err != nil {
		t.Fatal(err)
	}
	if err := s1.IndexIDs(ctx, "keep"); err != nil {
		t.Fatal(err)
	}
	if err := c1.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Close took %s", time.Since(begin))
	if err := s1.Close(); err != nil { // idempotent
		t.Fatal(err)
	}

	s2 := start(t, dir)
	if s2.URI() == "" {
		t.Fatal("no URI")
	}
	c2 := connect(t, s2)
	var got bson.M
	if err := c2.Database("keep").Collection("Goal").FindOne(ctx, bson.D{{Key: "_id", Value: "x"}}).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got["v"] != "kept" {
		t.Fatalf("after restart: %v", got)
	}
	if used, plan := idIndexUsed(t, dir, "keep", "Goal"); !used {
		t.Errorf("index lost across restart: %s", plan)
	}
}

func TestStartContextCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s, err := Start(ctx, Config{Dir: t.TempDir(), Log: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return after the context was canceled")
	}
}

func TestStartNoDir(t *testing.T) {
	if _, err := Start(context.Background(), Config{}); err == nil {
		t.Fatal("Start without Dir succeeded")
	}
}

// BenchmarkFindOneByID measures FindOne({_id: <string>}) on a collection of
// 10,000 documents, without ("scan") and with ("indexed") IndexIDs.
func BenchmarkFindOneByID(b *testing.B) {
	const docs = 10000
	ctx := context.Background()
	s := start(b, b.TempDir())
	c := connect(b, s)

	body := strings.Repeat("x", 200)
	for _, db := range []string{"scan", "indexed"} {
		batch := make([]any, 0, 1000)
		coll := c.Database(db).Collection("Goal")
		for i := range docs {
			batch = append(batch, bson.D{
				{Key: "_id", Value: fmt.Sprintf("id-%05d", i)},
				{Key: "n", Value: i},
				{Key: "body", Value: body},
			})
			if len(batch) == cap(batch) {
				if _, err := coll.InsertMany(ctx, batch); err != nil {
					b.Fatal(err)
				}
				batch = batch[:0]
			}
		}
	}
	if err := s.IndexIDs(ctx, "indexed"); err != nil {
		b.Fatal(err)
	}

	for _, db := range []string{"scan", "indexed"} {
		b.Run(db, func(b *testing.B) {
			coll := c.Database(db).Collection("Goal")
			i := 0
			for b.Loop() {
				id := fmt.Sprintf("id-%05d", (i*7919)%docs)
				i++
				var got bson.Raw
				if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&got); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestQuietLogger(t *testing.T) {
	var buf strings.Builder
	log := QuietLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	log.Info("Connection started")
	log.Warn("Response header: length: 121")
	log.Warn("Response message:\n{}")
	log.Warn("Failed to set deadline: set tcp 127.0.0.1:1: use of closed network connection")
	log.With("conn", "x").Warn("kept warning")
	log.Error("Response header: kept because it is an error")
	got := buf.String()
	for _, want := range []string{"kept warning", "conn=x", "kept because it is an error"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	for _, unwanted := range []string{"Connection started", "length: 121", "Response message", "Failed to set deadline"} {
		if strings.Contains(got, unwanted) {
			t.Errorf("output contains %q:\n%s", unwanted, got)
		}
	}
}
