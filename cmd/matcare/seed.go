package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/fhir/synth"
	"github.com/matcare/matcare/service"
)

const seedUsage = `usage: matcare seed [--patients N] [--boards CODES] [--seed N] [--goals N]

Writes a reproducible synthetic population (made-up Patients with valid CHI
numbers, MAT-episode CarePlans and benzodiazepine shared Goals) into the
configured storage, each resource owned by its board, with fixed ids: running
it again with the same flags writes new versions of the same resources. It
uses the server's environment (MONGODB_URI, MATCARE_DB, MATCARE_DATA_DIR);
with the embedded server, stop matcare first (the data directory is locked).

Flags:
`

// seedMain is the seed subcommand; progress goes to stderr, a summary line
// to stdout. It returns the exit status.
func seedMain(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("matcare seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, seedUsage)
		fs.PrintDefaults()
	}
	patients := fs.Int("patients", 1000, "patients per board")
	boards := fs.String("boards", "S08000031,S08000024", "comma-separated health board codes")
	seed := fs.Uint64("seed", 1, "random seed: the same seed gives the same population")
	goals := fs.Int("goals", 3, "most goals per patient (each has 1..N)")
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
	if fs.NArg() > 0 || *patients < 1 || *goals < 1 || len(codes) == 0 {
		fmt.Fprintln(stderr, "matcare seed: want --patients ≥ 1, --goals ≥ 1, at least one board and no other arguments")
		fs.Usage()
		return 2
	}
	cfg, err := configFrom(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "matcare seed: %v\n", err)
		return 1
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	store, closeStorage, err := openStorage(ctx, cfg, log)
	if err != nil {
		fmt.Fprintf(stderr, "matcare seed: %v\n", err)
		return 1
	}
	defer closeStorage()
	scfg := synth.Config{Seed: *seed, Patients: *patients, Boards: codes, GoalsPerPatient: *goals}
	n, err := seedPopulation(ctx, service.New(store), scfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "\nmatcare seed: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "seeded %d resources (%d patients on each of %s, seed %d)\n", n, *patients, strings.Join(codes, ", "), *seed)
	return 0
}

// seedPopulation writes the population through the service, as a client of
// each board, drawing a progress bar on progress.
func seedPopulation(ctx context.Context, res *service.Resources, cfg synth.Config, progress io.Writer) (int, error) {
	total := synth.Count(cfg)
	start := time.Now()
	last := time.Time{}
	done := 0
	var werr error
	synth.Generate(cfg, func(r synth.Resource) bool {
		actx := service.WithAccess(ctx, service.Access{Client: "matcare-seed", Board: r.Board})
		if _, _, err := res.Update(actx, r.Type, r.ID, r.Body, nil); err != nil {
			werr = fmt.Errorf("%s/%s: %w", r.Type, r.ID, err)
			return false
		}
		done++
		if now := time.Now(); now.Sub(last) > 200*time.Millisecond || done == total {
			last = now
			drawProgress(progress, done, total, now.Sub(start))
		}
		return ctx.Err() == nil
	})
	if werr == nil {
		werr = ctx.Err()
	}
	fmt.Fprintln(progress)
	return done, werr
}

// drawProgress redraws one line: a bar, the count and the rate.
func drawProgress(w io.Writer, done, total int, elapsed time.Duration) {
	const width = 30
	filled := width * done / max(total, 1)
	rate := float64(done) / max(elapsed.Seconds(), 1e-3)
	fmt.Fprintf(w, "\r[%s%s] %d/%d resources, %.0f/s", strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total, rate)
}
