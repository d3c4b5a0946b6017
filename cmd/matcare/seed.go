package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"time"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/fhir/synth"
	"github.com/matcare/matcare/service"
)

const seedUsage = `usage: matcare seed [--patients N] [--boards CODES] [--seed N] [--goals N] [--epoch DATE]

Writes a reproducible synthetic population into the configured storage:
per board its Organizations (the board, its Alcohol and Drug Partnerships,
their services, GP practices) and Practitioners; per person a Patient with a
valid CHI number, MAT-episode and benzodiazepine CarePlans, shared Goals
reviewed over months (every review a new version), CareTeams,
RelatedPersons and bio-psycho-social and SDS QuestionnaireResponses (the
server adds the SDS total and its Observation). The first 18 people of each
board cover every case the MAT measures and the prescribing checks tell
apart (fhir/synth's documentation lists them); the rest are drawn at random.

Every write goes through the same content checks as a client's (profiles,
goal reviews, prescribing checks, questionnaire validation, codes), as a
client of the person's board; a write the server refuses stops the seed with
the server's reasons. Ids are fixed (p-<board>-000001, ...), so running it
again writes only what is missing: an interrupted seed resumes. Seeding
another --seed, --epoch or --goals into the same storage is refused; use an
empty database.

It uses the server's environment (MONGODB_URI, MATCARE_DB, MATCARE_DATA_DIR,
MATCARE_CANONICAL_BASE); with the embedded server, stop matcare first (the
data directory is locked).

Flags:
`

// seedMain is the seed subcommand; progress goes to stderr, a summary to
// stdout. It returns the exit status.
func seedMain(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("matcare seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, seedUsage)
		fs.PrintDefaults()
	}
	patients := fs.Int("patients", 100, "people per board (the first 18 follow the case mix)")
	boards := fs.String("boards", "S08000031,S08000024", "comma-separated health board codes")
	seed := fs.Uint64("seed", 1, "random seed: the same seed gives the same population")
	goals := fs.Int("goals", 3, "most benzodiazepine goals a person has (each has 1..N); below 2 some review cases are lost")
	epoch := fs.String("epoch", synth.DefaultEpoch.Format(time.DateOnly), "the day the data end (YYYY-MM-DD); they span the two years before")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	var codes []string
	for _, b := range strings.Split(*boards, ",") {
		if b = strings.TrimSpace(b); b != "" {
			if !fhir.ValidBoard(b) {
				fmt.Fprintf(stderr, "matcare seed: %q is not a board code\n", b)
				return 2
			}
			codes = append(codes, b)
		}
	}
	day, err := time.Parse(time.DateOnly, *epoch)
	if fs.NArg() > 0 || *patients < 1 || *goals < 1 || len(codes) == 0 || err != nil {
		fmt.Fprintln(stderr, "matcare seed: want --patients ≥ 1, --goals ≥ 1, at least one board, --epoch YYYY-MM-DD and no other arguments")
		fs.Usage()
		return 2
	}
	cfg, err := configFrom(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "matcare seed: %v\n", err)
		return 1
	}
	clin, err := service.NewContent(cfg.canonicalBase)
	if err != nil {
		fmt.Fprintf(stderr, "matcare seed: content: %v\n", err)
		return 1
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	store, closeStorage, err := openStorage(ctx, cfg, log)
	if err != nil {
		fmt.Fprintf(stderr, "matcare seed: %v\n", err)
		return 1
	}
	defer closeStorage()
	res := service.New(store).WithContent(clin)
	// The content (the Questionnaires responses are checked against)
	// is stored as the server stores it at start-up.
	if _, err := res.LoadContent(ctx); err != nil {
		fmt.Fprintf(stderr, "matcare seed: content: %v\n", err)
		return 1
	}
	scfg := synth.Config{Seed: *seed, Patients: *patients, Boards: codes, GoalsPerPatient: *goals, Epoch: day, Base: cfg.canonicalBase}
	st, err := seedPopulation(ctx, res, scfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "\nmatcare seed: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "seeded %d people on each of %s (seed %d, epoch %s): %d writes, %d already stored\n",
		*patients, strings.Join(codes, ", "), *seed, day.Format(time.DateOnly), st.writes, st.skipped)
	st.print(stdout)
	return 0
}

// seedStats counts what a seed wrote.
type seedStats struct {
	writes, skipped int
	resources       map[string]int // distinct resources by type
	versions        map[string]int // versions by type
	// issues counts the warnings and information the content checks
	// returned, by prescribing check (BZ-01...) or profile rule.
	issues map[string]int
}

func (st seedStats) print(w io.Writer) {
	types := make([]string, 0, len(st.resources))
	for t := range st.resources {
		types = append(types, t)
	}
	slices.Sort(types)
	for _, t := range types {
		fmt.Fprintf(w, "  %-22s %6d resources %6d versions\n", t, st.resources[t], st.versions[t])
	}
	if len(st.issues) == 0 {
		return
	}
	rules := make([]string, 0, len(st.issues))
	for r := range st.issues {
		rules = append(rules, r)
	}
	slices.Sort(rules)
	fmt.Fprintln(w, "  warnings and information the checks returned (stored with the data):")
	for _, r := range rules {
		fmt.Fprintf(w, "  %6d  %s\n", st.issues[r], r)
	}
}

// seedPopulation writes the population through the service, as a client
// of each board, drawing a progress bar on progress.
func seedPopulation(ctx context.Context, res *service.Resources, cfg synth.Config, progress io.Writer) (seedStats, error) {
	return seedWrites(ctx, res, func(yield func(synth.Resource) bool) { synth.Generate(cfg, yield) }, synth.Count(cfg), progress)
}

// seedWrites writes the writes gen yields (total of them, for progress)
// in order, each as an update of its version: version 1 creates the
// resource, version n updates version n-1 (If-Match). A version already
// stored that says the same is skipped, so a seed resumes; one that says
// something else (another population), or a version whose predecessor
// is not the one stored, stops it, as does any write the server
// refuses.
func seedWrites(ctx context.Context, res *service.Resources, gen func(func(synth.Resource) bool), total int, progress io.Writer) (seedStats, error) {
	st := seedStats{resources: map[string]int{}, versions: map[string]int{}, issues: map[string]int{}}
	start := time.Now()
	last := time.Time{}
	var werr error
	gen(func(r synth.Resource) bool {
		if werr = ctx.Err(); werr != nil {
			return false
		}
		actx := service.WithAccess(ctx, service.Access{Client: "matcare-seed", Board: r.Board})
		name := fmt.Sprintf("%s/%s version %d", r.Type, r.ID, r.Version)
		cur, err := res.Read(actx, r.Type, r.ID)
		stored := 0
		switch {
		case err == nil:
			stored = cur.Version
		case errors.Is(err, service.ErrNotFound):
		default:
			werr = fmt.Errorf("%s: %w", name, err)
			return false
		}
		switch {
		case stored >= r.Version:
			// Stored already: it must be this population's version.
			old, err := res.VRead(actx, r.Type, r.ID, r.Version)
			if err != nil || !sameResource(r.Type, old.Body, r.Body) {
				werr = fmt.Errorf("%s: the storage holds another population (another --seed, --epoch or --goals?) or a client changed it; seed an empty database", name)
				return false
			}
			st.skipped++
		case stored != r.Version-1:
			werr = fmt.Errorf("%s: the storage holds version %d; seed an empty database", name, stored)
			return false
		default:
			var ifMatch *int
			if stored > 0 {
				ifMatch = &stored
			}
			rec, _, err := res.Update(actx, r.Type, r.ID, r.Body, ifMatch)
			if err != nil {
				werr = fmt.Errorf("%s: the server refused it (a bug in fhir/synth): %w", name, err)
				return false
			}
			st.writes++
			for _, is := range rec.Issues {
				st.issues[ruleOf(is)]++
			}
		}
		if r.Version == 1 {
			st.resources[r.Type]++
		}
		st.versions[r.Type]++
		done := st.writes + st.skipped
		if now := time.Now(); now.Sub(last) > 200*time.Millisecond || done == total {
			last = now
			drawProgress(progress, done, total, now.Sub(start))
		}
		return true
	})
	fmt.Fprintln(progress)
	return st, werr
}

// ruleOf names the rule an issue reports: the prescribing check's id,
// else its severity and the profile or check its diagnostics start with.
func ruleOf(is fhir.Issue) string {
	if is.Details != nil && len(is.Details.Coding) > 0 && is.Details.Coding[0].Code != nil {
		return *is.Details.Coding[0].Code
	}
	sev := "information"
	if is.Severity == r4.IssueSeverityWarning {
		sev = "warning"
	}
	// "matcare: record who expressed the goal (expressedBy): ...":
	// the rule's prefix and its first clause.
	d := is.Diagnostics
	if i := strings.Index(d, ": "); i > 0 {
		if j := strings.IndexAny(d[i+2:], ":;("); j > 0 {
			d = d[:i+2+j]
		}
	}
	if r := []rune(strings.TrimSpace(d)); len(r) > 70 {
		d = string(r[:70]) + "…"
	}
	return sev + ": " + strings.TrimSpace(d)
}

// sameResource reports whether a stored version of a resource of type
// typ says what the generator wrote, ignoring the server-owned meta and,
// in a QuestionnaireResponse, the items (the server adds the SDS total).
func sameResource(typ string, stored, written []byte) bool {
	var a, b map[string]any
	if json.Unmarshal(stored, &a) != nil || json.Unmarshal(written, &b) != nil {
		return false
	}
	for _, m := range []map[string]any{a, b} {
		delete(m, "meta")
		if typ == "QuestionnaireResponse" {
			delete(m, "item")
		}
	}
	return reflect.DeepEqual(a, b)
}

// drawProgress redraws one line: a bar, the count and the rate.
func drawProgress(w io.Writer, done, total int, elapsed time.Duration) {
	const width = 30
	filled := width * done / max(total, 1)
	rate := float64(done) / max(elapsed.Seconds(), 1e-3)
	fmt.Fprintf(w, "\r[%s%s] %d/%d writes, %.0f/s", strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total, rate)
}
