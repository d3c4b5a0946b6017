package repository

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/matcare/matcare/repository/mongotest"
	"github.com/matcare/matcare/service"
)

// BenchmarkWriteSteps times each storage operation of the write protocol
// on its own, and Put as a whole, on a collection of 1,000 resources: the
// raw-driver ceiling that Put is made of.
func BenchmarkWriteSteps(b *testing.B) {
	ms := mongotest.Start(b)
	db := ms.NewDatabase(b)
	ctx := context.Background()
	s, err := Open(ctx, discardLog(), ms.URI(), db, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(ctx)
	if err := ms.Optimize(ctx, db); err != nil {
		b.Fatal(err)
	}
	body := `{"resourceType":"Goal"}`
	for i := range 1000 {
		r := service.Record{Type: "Goal", ID: fmt.Sprintf("seed%d", i), Version: 1, Method: "POST", LastUpdated: time.Now(), Body: []byte(body)}
		if err := s.Put(ctx, r, 0); err != nil {
			b.Fatal(err)
		}
	}
	hist, cur := s.history("Goal"), s.current("Goal")
	n := 0
	b.Run("insert-history", func(b *testing.B) {
		for b.Loop() {
			n++
			if _, err := hist.InsertOne(ctx, toHistory(service.Record{ID: fmt.Sprintf("x%d", n), Version: 1, Body: []byte(body)}, time.Now())); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("mark-committed", func(b *testing.B) {
		for b.Loop() {
			if err := s.markCommitted(ctx, "Goal", "seed1/1"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("replace-current-by-id", func(b *testing.B) {
		doc := currentDoc{ID: "seed2", V: 1, Body: body}
		for b.Loop() {
			if _, err := cur.ReplaceOne(ctx, bson.D{{Key: "_id", Value: "seed2"}}, doc, options.Replace()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("find-current-by-id", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Current(ctx, "Goal", "seed3"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("put-create", func(b *testing.B) {
		for b.Loop() {
			n++
			r := service.Record{Type: "Goal", ID: fmt.Sprintf("p%d", n), Version: 1, Method: "POST", LastUpdated: time.Now(), Body: []byte(body)}
			if err := s.Put(ctx, r, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func discardLog() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }
