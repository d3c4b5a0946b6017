package mongotest

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// roundTrip inserts a document into a fresh collection of db on uri, reads
// it back by _id and lists the databases.
func roundTrip(t *testing.T, uri, db string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Disconnect(context.Background()) }()

	coll := c.Database(db).Collection("Goal")
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: "g1"}, {Key: "v", Value: 1}}); err != nil {
		t.Fatal(err)
	}
	var got bson.M
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: "g1"}}).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got["_id"] != "g1" {
		t.Fatalf("FindOne = %v", got)
	}
	names, err := c.ListDatabaseNames(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestStart(t *testing.T) {
	s := Start(t)
	want := KindEmbedded
	if useDocker() {
		want = KindContainer
	}
	if s.Kind() != want {
		t.Fatalf("Kind() = %q, want %q", s.Kind(), want)
	}
	if !strings.HasPrefix(s.URI(), "mongodb://127.0.0.1:") {
		t.Fatalf("URI() = %q", s.URI())
	}
	if s2 := Start(t); s2 != s {
		t.Fatal("Start returned a second server")
	}

	var db string
	t.Run("sub", func(t *testing.T) {
		db = s.NewDatabase(t)
		if other := s.NewDatabase(t); other == db {
			t.Fatalf("NewDatabase returned %q twice", db)
		}
		names := roundTrip(t, s.URI(), db)
		if !contains(names, db) {
			t.Fatalf("database %s not listed in %v", db, names)
		}
		if err := s.Optimize(context.Background(), db); err != nil {
			t.Fatal(err)
		}
	})
	// The subtest's cleanup dropped its database.
	c, err := mongo.Connect(options.Client().ApplyURI(s.URI()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Disconnect(context.Background()) }()
	names, err := c.ListDatabaseNames(context.Background(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	if contains(names, db) {
		t.Errorf("database %s not dropped: %v", db, names)
	}
}

// TestContainer runs only under MATCARE_TEST_DOCKER=1, and then must not be
// skipped: if Docker does not work, Start fails the test.
func TestContainer(t *testing.T) {
	if !useDocker() {
		t.Skipf("set %s=1 to test containers", EnvDocker)
	}
	s := Start(t)
	if s.Kind() != KindContainer {
		t.Fatalf("Kind() = %q", s.Kind())
	}
	roundTrip(t, s.URI(), s.NewDatabase(t))
	if err := s.Optimize(context.Background(), "x"); err != nil {
		t.Fatalf("Optimize on a container: %v", err)
	}
}

func TestStartExternal(t *testing.T) {
	begin := time.Now()
	uri1 := StartExternal(t)
	t.Logf("first StartExternal (includes go build): %s", time.Since(begin))
	begin = time.Now()
	uri2 := StartExternal(t)
	t.Logf("second StartExternal: %s", time.Since(begin))
	if uri1 == uri2 {
		t.Fatalf("two external servers share %s", uri1)
	}
	for _, uri := range []string{uri1, uri2} {
		if !strings.HasPrefix(uri, "mongodb://127.0.0.1:") {
			t.Fatalf("URI = %q", uri)
		}
		roundTrip(t, uri, "ext")
	}
}

func TestDatabaseName(t *testing.T) {
	valid := regexp.MustCompile(`^[a-zA-Z0-9_-]{1,63}$`)
	for _, test := range []string{
		"TestX",
		"TestX/sub_test#01",
		strings.Repeat("TestVeryLong/Name With Spaces/", 10),
		"Test/ünïcödé/$.\"*<>:|?",
	} {
		name := databaseName(test, 1234567)
		if !valid.MatchString(name) {
			t.Errorf("databaseName(%q) = %q: not a valid FerretDB name", test, name)
		}
		if name != strings.ToLower(name) {
			t.Errorf("databaseName(%q) = %q: not lower case", test, name)
		}
	}
}

func TestContainerArgs(t *testing.T) {
	for _, tc := range []struct {
		image string
		want  string
	}{
		{"matcare-ferretdb:test", "--listen-addr=127.0.0.1:4000 --sqlite-dir=/data"},
		{"mongo:7", "--bind_ip 127.0.0.1 --port 4000"},
		{"docker.io/library/mongo:7.0", "--bind_ip 127.0.0.1 --port 4000"},
	} {
		if got := strings.Join(containerArgs(tc.image, 4000), " "); got != tc.want {
			t.Errorf("containerArgs(%q) = %q, want %q", tc.image, got, tc.want)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
