package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/matcare/matcare/fhir/search"
	"github.com/matcare/matcare/fhir/synth"
	"github.com/matcare/matcare/repository"
	"github.com/matcare/matcare/repository/mongotest"
	"github.com/matcare/matcare/service"
)

// TestSeedPopulation seeds two boards and reads the population back per
// board: every generated resource is stored under its board, and seeding
// again writes new versions of the same resources.
func TestSeedPopulation(t *testing.T) {
	ms := mongotest.Start(t)
	db := ms.NewDatabase(t)
	ctx := context.Background()
	store, err := repository.Open(ctx, slog.New(slog.NewJSONHandler(io.Discard, nil)), ms.URI(), db, repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close(ctx)
	if err := ms.Optimize(ctx, db); err != nil {
		t.Fatal(err)
	}
	res := service.New(store)
	cfg := synth.Config{Seed: 3, Patients: 5, Boards: []string{"S08000031", "S08000024"}}
	var progress bytes.Buffer
	n, err := seedPopulation(ctx, res, cfg, &progress)
	if err != nil || n != synth.Count(cfg) {
		t.Fatalf("seeded %d, %v; want %d", n, err, synth.Count(cfg))
	}
	if !strings.Contains(progress.String(), "/s") {
		t.Errorf("no progress drawn: %q", progress.String())
	}
	perBoard := map[string]map[string]int{}
	synth.Generate(cfg, func(r synth.Resource) bool {
		if perBoard[r.Board] == nil {
			perBoard[r.Board] = map[string]int{}
		}
		perBoard[r.Board][r.Type]++
		return true
	})
	for board, types := range perBoard {
		actx := service.WithAccess(ctx, service.Access{Board: board})
		for typ, want := range types {
			got, err := res.Search(actx, service.SearchQuery{Type: typ, Query: &search.Query{Type: typ, Total: search.TotalAccurate}})
			if err != nil || got.Total != int64(want) {
				t.Errorf("%s %s: %d, %v; want %d", board, typ, got.Total, err, want)
			}
		}
	}
	if _, err := seedPopulation(ctx, res, cfg, io.Discard); err != nil {
		t.Fatal(err)
	}
	actx := service.WithAccess(ctx, service.Access{Board: "S08000031"})
	rec, err := res.Read(actx, "Patient", "p-S08000031-000001")
	if err != nil || rec.Version != 2 {
		t.Errorf("after seeding twice: version %d, %v; want 2", rec.Version, err)
	}
}
