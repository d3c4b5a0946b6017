package synth

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/matcare/matcare/fhir/content"
)

// CHISystem is the identifier system of CHI numbers (DOMAIN.md §4.3).
const CHISystem = "urn:oid:2.16.840.1.113883.2.1.3.2.4.16.53"

// Systems of HL7 terminology the generated resources use.
const (
	identifierTypeCodes = "http://terminology.hl7.org/CodeSystem/v2-0203"
	goalAchievement     = "http://terminology.hl7.org/CodeSystem/goal-achievement"
	goalAcceptanceURL   = "http://hl7.org/fhir/StructureDefinition/goal-acceptance"
	goalRelationshipURL = "http://hl7.org/fhir/StructureDefinition/goal-relationship"
	actReason           = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
	confidentiality     = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
	roleCode            = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
	snomed              = "http://snomed.info/sct"
	ucum                = "http://unitsofmeasure.org"
)

// Resource is one write of the population: the resource, the board that
// owns it and which version of it the write makes.
type Resource struct {
	Type, ID, Board string
	// Version is the version this write makes when the population is
	// written in order into an empty store: 1 for the first write of
	// Type/ID, 2 for the next, and so on. A Goal review, a care plan's
	// change and an episode's end are later versions of the same
	// resource.
	Version int
	Body    []byte
}

// Config sizes a population.
type Config struct {
	Seed     uint64
	Patients int      // per board
	Boards   []string // board codes
	// GoalsPerPatient is the most benzodiazepine shared goals a person
	// with a benzodiazepine care plan has; default 3. The case mix has
	// up to 2; with 1 it keeps only each row's first goal.
	GoalsPerPatient int
	// Epoch is the day the data end: every clinical time is before it,
	// except appointments booked after it. Default 2026-01-01. The data
	// span the two years before it.
	Epoch time.Time
	// Base is the canonical base of matcare's content
	// (MATCARE_CANONICAL_BASE); "" means content.DefaultBase.
	Base string
}

// DefaultEpoch is the Epoch of a Config that sets none.
var DefaultEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// span is how far back from the epoch the data go.
const span = 730 // days

// Count returns how many writes Generate yields for cfg, for progress.
func Count(cfg Config) int {
	n := 0
	Generate(cfg, func(Resource) bool { n++; return true })
	return n
}

// Generate calls yield with every write of the population, stopping
// early if yield returns false. Per board: the directory
// (Organizations, Practitioners), then person by person their
// resources and versions in the order of the clinical times they record
// (Patient first). Writing them in this order through the service is
// how the checks see each version with the state it was made in.
//
// The same Config always yields the same bytes. It panics if the
// content cannot be read (it is embedded; its tests guard it).
func Generate(cfg Config, yield func(Resource) bool) {
	if cfg.GoalsPerPatient <= 0 {
		cfg.GoalsPerPatient = 3
	}
	if cfg.Epoch.IsZero() {
		cfg.Epoch = DefaultEpoch
	}
	if cfg.Base == "" {
		cfg.Base = content.DefaultBase
	}
	t, err := loadTerms(cfg.Base)
	if err != nil {
		panic(err)
	}
	epochDay := civilDay(cfg.Epoch)
	cal := newCalendar(epochDay.Year()-3, epochDay.Year()+1)
	for _, board := range cfg.Boards {
		g := &gen{cfg: cfg, t: t, cal: cal, board: board, yield: yield, versions: map[string]int{},
			r:        rand.New(rand.NewPCG(cfg.Seed, hash(board))),
			epochDay: epochDay, epochStart: epochDay.AddDate(0, 0, -span)}
		g.dir = g.directory()
		g.flush()
		for i := 1; i <= cfg.Patients && !g.stopped; i++ {
			sc := randomScenario(g.r, cfg.GoalsPerPatient)
			if i <= len(caseMix) {
				sc = caseMix[i-1]
				if len(sc.goals) > cfg.GoalsPerPatient {
					sc.goals = sc.goals[:cfg.GoalsPerPatient]
				}
			}
			g.person(i, sc)
			g.flush()
		}
		if g.stopped {
			return
		}
	}
}

// gen generates one board's population.
type gen struct {
	cfg      Config
	t        *terms
	cal      *calendar
	r        *rand.Rand
	board    string
	dir      *directory
	yield    func(Resource) bool
	stopped  bool
	versions map[string]int
	// epochDay is the day the data end; epochStart the first day they
	// may begin.
	epochDay, epochStart time.Time
	pending              []pendingWrite
}

// pendingWrite is a write waiting for flush: at is the clinical time it
// records, seq its order among writes of the same time.
type pendingWrite struct {
	at      time.Time
	seq     int
	typ, id string
	body    obj
}

// write queues a write of the resource body made at time at.
func (g *gen) write(at time.Time, typ, id string, body obj) {
	g.pending = append(g.pending, pendingWrite{at: at, seq: len(g.pending), typ: typ, id: id, body: body})
}

// flush yields the queued writes in time order.
func (g *gen) flush() {
	slices.SortStableFunc(g.pending, func(a, b pendingWrite) int {
		return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.seq, b.seq))
	})
	for _, w := range g.pending {
		if g.stopped {
			break
		}
		key := w.typ + "/" + w.id
		g.versions[key]++
		if !g.yield(Resource{Type: w.typ, ID: w.id, Board: g.board, Version: g.versions[key], Body: marshal(w.body)}) {
			g.stopped = true
		}
	}
	g.pending = g.pending[:0]
}

// meta is the meta of a generated resource: the profile it claims (an
// id of matcare's profiles, or "") and the HTEST tag that marks test
// data.
func (g *gen) meta(profile string) obj {
	m := o("tag", []obj{o("system", actReason, "code", "HTEST", "display", "test health data")})
	if profile != "" {
		m = o("profile", []string{g.t.profile(profile)}).append(m...)
	}
	return m
}

// ref is a Reference to typ/id.
func ref(typ, id string) obj { return o("reference", typ+"/"+id) }

func pick[T any](r *rand.Rand, list []T) T { return list[r.IntN(len(list))] }

// between returns a whole number from lo to hi inclusive.
func between(r *rand.Rand, lo, hi int) int { return lo + r.IntN(hi-lo+1) }

// chi returns a valid CHI number: DDMMYY, two random digits, a sex digit
// (odd male, even female) and the modulus-11 check digit (weights 10..2;
// 11 - sum mod 11, 11 → 0; a result of 10 is not issued, so another
// random part is drawn).
func chi(r *rand.Rand, birth time.Time, male bool) string {
	for {
		d := []byte(birth.Format("020106"))
		d = append(d, byte('0'+r.IntN(10)), byte('0'+r.IntN(10)))
		sex := 2 * r.IntN(5)
		if male {
			sex++
		}
		d = append(d, byte('0'+sex))
		if c, ok := CHICheckDigit(string(d)); ok {
			return string(append(d, byte('0'+c)))
		}
	}
}

// CHICheckDigit computes the check digit of the first nine digits of a
// CHI number; ok is false when no valid check digit exists (10).
func CHICheckDigit(nine string) (int, bool) {
	if len(nine) != 9 {
		return 0, false
	}
	sum := 0
	for i := range 9 {
		c := nine[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		sum += int(c-'0') * (10 - i)
	}
	check := 11 - sum%11
	switch check {
	case 11:
		return 0, true
	case 10:
		return 0, false
	}
	return check, true
}

// hash seeds a board's generator from its code (FNV-1a).
func hash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// idOf names a person's resource: kind-board-NNNNNN[-suffix].
func idOf(kind, board string, n int, suffix ...any) string {
	id := fmt.Sprintf("%s-%s-%06d", kind, board, n)
	for _, s := range suffix {
		id += fmt.Sprintf("-%v", s)
	}
	return id
}
