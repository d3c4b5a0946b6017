package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/matcare/matcare/fhir/search"
	"github.com/matcare/matcare/fhir/synth"
	"github.com/matcare/matcare/repository"
	"github.com/matcare/matcare/repository/mongotest"
	"github.com/matcare/matcare/service"
)

// seedStore opens a fresh database on the test server and a service on
// it that runs the content checks, with the content stored, as matcare
// serve does.
func seedStore(t *testing.T) *service.Resources {
	t.Helper()
	ms := mongotest.Start(t)
	db := ms.NewDatabase(t)
	ctx := context.Background()
	store, err := repository.Open(ctx, slog.New(slog.NewJSONHandler(io.Discard, nil)), ms.URI(), db, repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close(ctx) })
	if err := ms.Optimize(ctx, db); err != nil {
		t.Fatal(err)
	}
	clin, err := service.NewContent("")
	if err != nil {
		t.Fatal(err)
	}
	res := service.New(store).WithContent(clin)
	if _, err := res.LoadContent(ctx); err != nil {
		t.Fatal(err)
	}
	return res
}

// search returns the current resources of one board matching q.
func searchBoard(t *testing.T, res *service.Resources, board, typ string, q url.Values) []service.Record {
	t.Helper()
	query, _, err := search.ParseQuery(typ, q, search.Lookup)
	if err != nil {
		t.Fatal(err)
	}
	query.Count = 1000
	query.Total = search.TotalAccurate
	got, err := res.Search(service.WithAccess(context.Background(), service.Access{Board: board}), service.SearchQuery{Type: typ, Query: query})
	if err != nil {
		t.Fatalf("%s %s?%s: %v", board, typ, q.Encode(), err)
	}
	return got.Matches
}

// TestSeedPopulation seeds the case mix on two boards through the
// service with the content checks on (and a few people on another
// board), and reads the population back from the store: every version
// the generator made is stored under its board and hidden from the
// other (the server refused none), reviewed goals have versions, every
// review finding, episode end reason, prescribing check and kind of
// record entered in error is there, and the server added the SDS totals
// and their Observations. Seeding again writes nothing.
func TestSeedPopulation(t *testing.T) {
	res := seedStore(t)
	ctx := context.Background()
	// The case mix on one board (every case once), and a few people on
	// another: seeded on their own, a board's population is the same as
	// when seeded with others.
	board, other := "S08000031", "S08000024"
	cfg := synth.Config{Seed: 3, Patients: 18, Boards: []string{board}}
	small := synth.Config{Seed: 3, Patients: 4, Boards: []string{other}}
	var progress bytes.Buffer
	start := time.Now()
	st, err := seedPopulation(ctx, res, cfg, &progress)
	if err != nil {
		t.Fatal(err)
	}
	if total := synth.Count(cfg); st.writes != total || st.skipped != 0 {
		t.Fatalf("wrote %d, skipped %d; want %d writes", st.writes, st.skipped, total)
	}
	if !strings.Contains(progress.String(), "/s") {
		t.Errorf("no progress drawn: %q", progress.String())
	}
	var summary bytes.Buffer
	st.print(&summary)
	t.Logf("seeded in %v:\n%s", time.Since(start).Round(time.Millisecond), summary.String())
	if _, err := seedPopulation(ctx, res, small, io.Discard); err != nil {
		t.Fatal(err)
	}

	// Every generated version is stored, as the generator numbered it,
	// under its board, and only its board sees it.
	findings := map[string]int{}
	reviewed, multi := 0, 0
	latest := map[string]synth.Resource{}
	both := func(yield func(synth.Resource) bool) {
		synth.Generate(cfg, yield)
		synth.Generate(small, yield)
	}
	both(func(r synth.Resource) bool {
		latest[r.Type+"/"+r.ID] = r
		if r.Type != "Goal" {
			return true
		}
		rec, err := res.VRead(service.WithAccess(ctx, service.Access{Board: r.Board}), "Goal", r.ID, r.Version)
		if err != nil {
			t.Errorf("Goal/%s version %d: %v", r.ID, r.Version, err)
			return true
		}
		if f := finding(t, rec.Body); f != "" {
			findings[f]++
		}
		return true
	})
	for key, r := range latest {
		typ, id, _ := strings.Cut(key, "/")
		rec, err := res.Read(service.WithAccess(ctx, service.Access{Board: r.Board}), typ, id)
		if err != nil || rec.Version != r.Version || rec.Board != r.Board {
			t.Errorf("%s: version %d of %s, %v; want version %d of %s", key, rec.Version, rec.Board, err, r.Version, r.Board)
		}
		notOwner := board
		if r.Board == board {
			notOwner = other
		}
		if _, err := res.Read(service.WithAccess(ctx, service.Access{Board: notOwner}), typ, id); !errors.Is(err, service.ErrNotFound) {
			t.Errorf("%s of %s: board %s reads it: %v", key, r.Board, notOwner, err)
		}
		if typ == "Goal" && finding(t, rec.Body) != "" || typ == "Goal" && r.Version > 1 {
			reviewed++
			if rec.Version > 1 {
				multi++
			}
		}
	}
	if reviewed == 0 || multi != reviewed {
		t.Errorf("%d of %d reviewed goals have several versions", multi, reviewed)
	}
	for _, f := range []string{"progressing", "lapse", "relapse", "presented-intoxicated", "non-fatal-overdose", "concern-raised",
		"goal-no-longer-relevant", "goal-met"} {
		if findings[f] == 0 {
			t.Errorf("no stored Goal version records the finding %s", f)
		}
	}
	t.Logf("goal versions by finding: %v", findings)

	// Every end reason, on the board's current episodes.
	{
		ends := map[string]int{}
		for _, rec := range searchBoard(t, res, board, "CarePlan", url.Values{"category": {"mat-episode"}}) {
			var cp struct {
				Extension []struct {
					URL         string `json:"url"`
					ValueCoding struct{ Code string }
				}
			}
			_ = json.Unmarshal(rec.Body, &cp)
			for _, e := range cp.Extension {
				if strings.HasSuffix(e.URL, "/episode-end-reason") {
					ends[e.ValueCoding.Code]++
				}
			}
		}
		for _, reason := range []string{"planned-completion", "unplanned-discharge", "transfer", "death", "prison", "person-chose-to-leave"} {
			if ends[reason] == 0 {
				t.Errorf("%s: no episode ended by %s (%v)", board, reason, ends)
			}
		}
	}

	// Every prescribing check returned its warning or information on
	// some write, and was stored with it (not refused).
	for _, bz := range []string{"BZ-01", "BZ-02", "BZ-03", "BZ-04", "BZ-05", "BZ-06", "BZ-07", "BZ-08", "BZ-09", "BZ-10", "BZ-11", "BZ-12"} {
		if st.issues[bz] == 0 {
			t.Errorf("no write exercised %s", bz)
		}
	}

	// Records entered in error, of every main type.
	{
		for typ, param := range map[string]string{"CarePlan": "status", "Goal": "lifecycle-status", "QuestionnaireResponse": "status", "CareTeam": "status"} {
			if n := len(searchBoard(t, res, board, typ, url.Values{param: {"entered-in-error"}})); n == 0 {
				t.Errorf("%s: no %s entered in error", board, typ)
			}
		}
	}

	// The server totalled the completed SDS responses and stored an
	// Observation for each.
	for _, board := range []string{board, other} {
		sds := searchBoard(t, res, board, "QuestionnaireResponse", url.Values{
			"questionnaire": {"http://matcare.example/fhir/Questionnaire/sds-benzo"}, "status": {"completed"}})
		obs := searchBoard(t, res, board, "Observation", url.Values{})
		if len(sds) == 0 || len(obs) < len(sds) {
			t.Errorf("%s: %d completed SDS responses, %d Observations", board, len(sds), len(obs))
		}
		for _, rec := range sds {
			if !bytes.Contains(rec.Body, []byte(`"linkId":"sds-total"`)) {
				t.Errorf("%s: QuestionnaireResponse/%s has no sds-total", board, rec.ID)
			}
		}
	}

	// Seeding again writes nothing: the population is all there.
	again, err := seedPopulation(ctx, res, cfg, io.Discard)
	if err != nil || again.writes != 0 || again.skipped != st.writes {
		t.Errorf("seeding again: %d writes, %d skipped, %v; want 0 and %d", again.writes, again.skipped, err, st.writes)
	}
	// Another population into the same storage is refused.
	another := cfg
	another.Seed = 4
	if _, err := seedPopulation(ctx, res, another, io.Discard); err == nil || !strings.Contains(err.Error(), "another population") {
		t.Errorf("another seed into the same storage: %v", err)
	}
}

// finding returns the goal-review-finding code of a Goal version.
func finding(t *testing.T, body []byte) string {
	var g struct {
		Extension []struct {
			URL         string `json:"url"`
			ValueCoding struct{ Code string }
		}
	}
	if err := json.Unmarshal(body, &g); err != nil {
		t.Fatal(err)
	}
	for _, e := range g.Extension {
		if strings.HasSuffix(e.URL, "/goal-review-finding") {
			return e.ValueCoding.Code
		}
	}
	return ""
}

// TestSeedRefused: a resource the server refuses (422) stops the seed,
// naming the resource and the server's reasons; what came before it is
// stored, nothing after it.
func TestSeedRefused(t *testing.T) {
	res := seedStore(t)
	ctx := context.Background()
	board := "S08000031"
	good := []byte(`{"resourceType":"Goal","id":"g1","lifecycleStatus":"active","description":{"text":"Carry naloxone"},"subject":{"reference":"Patient/p1"}}`)
	bad := []byte(`{"resourceType":"Patient","id":"p1","identifier":[{"system":"` + synth.CHISystem + `","value":"1234567890"}]}`)
	after := []byte(`{"resourceType":"Goal","id":"g2","lifecycleStatus":"active","description":{"text":"Attend the group"},"subject":{"reference":"Patient/p1"}}`)
	writes := []synth.Resource{
		{Type: "Goal", ID: "g1", Board: board, Version: 1, Body: good},
		{Type: "Patient", ID: "p1", Board: board, Version: 1, Body: bad},
		{Type: "Goal", ID: "g2", Board: board, Version: 1, Body: after},
	}
	st, err := seedWrites(ctx, res, func(yield func(synth.Resource) bool) {
		for _, w := range writes {
			if !yield(w) {
				return
			}
		}
	}, len(writes), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "Patient/p1 version 1: the server refused it") || !strings.Contains(err.Error(), "not a CHI number") {
		t.Fatalf("seed of an invalid CHI number: %v", err)
	}
	if st.writes != 1 {
		t.Errorf("%d writes before the refusal, want 1", st.writes)
	}
	actx := service.WithAccess(ctx, service.Access{Board: board})
	if _, err := res.Read(actx, "Goal", "g2"); err == nil {
		t.Error("the seed went on after the refusal")
	}
}
