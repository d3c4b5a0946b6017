package repository

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/fhir/fhirtest"
	"github.com/matcare/matcare/service"
)

// indexedQueries are the searches INDEXES.md documents, with the index
// MongoDB should answer each from and whether a SORT stage remains.
var indexedQueries = []struct {
	typ, params string
	tenancy     service.Tenancy
	compartment string
	index       bson.D
	sort        bool // the index cannot give the _id order
}{
	{"Goal", "patient=p1&lifecycle-status=active", service.Tenancy{Board: "B"}, "", keys("board", "x.patient", "_id"), false},
	{"Goal", "lifecycle-status=active", service.Tenancy{Board: "B", Patient: "p1"}, "", keys("board", "pat", "_id"), false},
	{"Goal", "lifecycle-status=active", service.Tenancy{Board: "B"}, "p1", keys("board", "pat", "_id"), false},
	{"Goal", "patient=p1&target-date=ge2025-01-01", service.Tenancy{Board: "B"}, "", keys("board", "x.patient", "_id"), false},
	{"Goal", "target-date=le2024-03-31&lifecycle-status=active", service.Tenancy{Board: "B"}, "", keys("board", "x.lifecycle-status", "_id"), false},
	{"Goal", "target-date=le2024-03-31", service.Tenancy{Board: "B"}, "", keys("board", "xl.target-date"), true},
	{"Goal", "target-date=ge2025-01-01", service.Tenancy{Board: "B"}, "", keys("board", "_id"), false},
	{"Goal", "_count=20", service.Tenancy{Board: "B"}, "", keys("board", "_id"), false},
	{"Goal", "_lastUpdated=ge2025-01-01", service.Tenancy{AllBoards: true}, "", keys("lu", "_id"), true},
	{"CarePlan", "patient=p1&status=active", service.Tenancy{Board: "B"}, "", keys("board", "x.patient", "_id"), false},
	{"CarePlan", "status=active", service.Tenancy{Board: "B", Patient: "p1"}, "", keys("board", "pat", "_id"), false},
	{"CarePlan", "status=active&date=ge2025-01-01", service.Tenancy{Board: "B"}, "", keys("board", "x.status", "_id"), false},
	{"CarePlan", "date=ge2025-01-01", service.Tenancy{Board: "B"}, "", keys("board", "xh.date"), true},
	{"CarePlan", "goal=Goal/g1", service.Tenancy{Board: "B"}, "", keys("board", "x.goal", "_id"), false},
	{"QuestionnaireResponse", "patient=p1&status=completed", service.Tenancy{Board: "B"}, "", keys("board", "x.patient", "_id"), false},
	{"QuestionnaireResponse", "status=completed", service.Tenancy{Board: "B", Patient: "p1"}, "", keys("board", "pat", "_id"), false},
	{"QuestionnaireResponse", "authored=ge2025-01-01", service.Tenancy{Board: "B"}, "", keys("board", "xh.authored"), true},
	{"Observation", "patient=p1&code=http://loinc.org|29463-7", service.Tenancy{Board: "B"}, "", keys("board", "x.patient", "_id"), false},
	{"Observation", "code=http://loinc.org|29463-7&value-quantity=gt70", service.Tenancy{Board: "B"}, "", keys("board", "x.code", "_id"), false},
	{"Observation", "code=http://loinc.org|29463-7", service.Tenancy{Board: "B", Patient: "p1"}, "", keys("board", "pat", "_id"), false},
	{"CareTeam", "patient=p1&status=active", service.Tenancy{Board: "B"}, "", keys("board", "x.patient", "_id"), false},
	{"RelatedPerson", "patient=p1", service.Tenancy{Board: "B"}, "", keys("board", "x.patient", "_id"), false},
	{"Organization", "name=nhs", service.Tenancy{Board: "B"}, "", keys("board", "_id"), false},
}

func keys(fields ...string) bson.D {
	d := bson.D{}
	for _, f := range fields {
		d = append(d, bson.E{Key: f, Value: 1})
	}
	return d
}

// TestIndexesServePlans checks, without a server, that the index each
// documented search should use is created, and that its keys fit the
// filter the search's plan emits: every key before the first range or
// sort key is compared by equality (or a small $in, which MongoDB reads
// as merged point scans), and a SORT stage remains exactly where the
// documentation says so.
func TestIndexesServePlans(t *testing.T) {
	s := &Store{log: discardLog()}
	for _, tt := range indexedQueries {
		t.Run(tt.typ+"?"+tt.params, func(t *testing.T) {
			q := parseSearch(t, tt.typ, tt.params)
			q.Tenancy, q.Compartment = tt.tenancy, tt.compartment
			p, ok, err := s.plan(context.Background(), tt.typ, q.Query.Clauses, q)
			if err != nil || !ok {
				t.Fatalf("plan: %v %v", ok, err)
			}
			if !slices.ContainsFunc(currentIndexes(tt.typ), func(d bson.D) bool { return equalKeys(d, tt.index) }) {
				t.Fatalf("no index %v on %s", tt.index, tt.typ)
			}
			// The index keys: equalities, then either the sort key _id (the
			// index gives the order) or one range (the order needs a SORT).
			eq, rng := filterFields(p.filter)
			sorted := false
		keys:
			for _, k := range tt.index {
				switch {
				case eq[k.Key]:
					continue
				case k.Key == "_id":
					sorted = true
				case !rng[k.Key]:
					t.Fatalf("index key %s is neither an equality, a range nor the sort of %v", k.Key, p.filter)
				}
				break keys
			}
			if sorted == tt.sort {
				t.Errorf("index %v gives the _id order: %v, documented SORT stage: %v", tt.index, sorted, tt.sort)
			}
		})
	}
}

// filterFields are the fields filter compares by equality (a value, or
// an $in of at most 200 values, MongoDB's limit for merged point scans)
// and by range, at its top level and in its $and.
func filterFields(filter bson.D) (eq, rng map[string]bool) {
	eq, rng = map[string]bool{}, map[string]bool{}
	var walk func(d bson.D)
	walk = func(d bson.D) {
		for _, e := range d {
			if e.Key == "$and" {
				for _, c := range e.Value.(bson.A) {
					walk(c.(bson.D))
				}
				continue
			}
			if strings.HasPrefix(e.Key, "$") {
				continue // $or: checked on the fetched documents
			}
			op, ok := e.Value.(bson.D)
			if !ok {
				eq[e.Key] = true
				continue
			}
			for _, o := range op {
				switch o.Key {
				case "$in":
					if n := len(o.Value.([]string)); n <= 200 {
						eq[e.Key] = true
					}
				case "$lt", "$lte", "$gt", "$gte":
					rng[e.Key] = true
				}
			}
		}
	}
	walk(filter)
	return eq, rng
}

// parallelArrays are the fields of idx that are arrays in doc.
func parallelArrays(doc bson.Raw, idx bson.D) []string {
	var arrays []string
	for _, k := range idx {
		v, err := doc.LookupErr(strings.Split(k.Key, ".")...)
		if err == nil && v.Type == bson.TypeArray {
			arrays = append(arrays, k.Key)
		}
	}
	return arrays
}

func equalKeys(a, b bson.D) bool {
	return slices.EqualFunc(a, b, func(x, y bson.E) bool { return x.Key == y.Key && x.Value == y.Value })
}

// TestIndexesNoParallelArrays checks that no index names two fields that
// are arrays in one stored document: MongoDB would refuse to store it.
func TestIndexesNoParallelArrays(t *testing.T) {
	s := &Store{log: discardLog()}
	recs := corpus(goalsPerPatient, true)[:3] // Patient, CarePlan, Goal
	recs = append(recs, service.Record{Type: "QuestionnaireResponse", ID: "qr", Version: 1, Board: corpusBoard,
		Patients: []string{"p01"}, Body: fhirtest.QuestionnaireResponse()},
		service.Record{Type: "Questionnaire", ID: "q", Version: 1, Body: fhirtest.Questionnaire()})
	for _, r := range recs {
		raw, err := bson.Marshal(s.currentOf(r.Type, toHistory(r, r.LastUpdated)))
		if err != nil {
			t.Fatal(err)
		}
		for _, idx := range currentIndexes(r.Type) {
			if arrays := parallelArrays(raw, idx); len(arrays) > 1 {
				t.Errorf("%s/%s: index %v would index the parallel arrays %q", r.Type, r.ID, idx, arrays)
			}
		}
		if r.Type == "Goal" { // the check has teeth: patient + status in one index cannot be
			if arrays := parallelArrays(raw, keys("board", "pat", "x.lifecycle-status", "_id")); len(arrays) != 2 {
				t.Errorf("pat and x.lifecycle-status: arrays %q, want both", arrays)
			}
		}
		if r.Type != "Questionnaire" {
			if v, err := bson.Raw(raw).LookupErr("pat"); err != nil || v.Type != bson.TypeArray {
				t.Errorf("%s: pat is not an array (%v): the test would miss parallel arrays", r.Type, err)
			}
		}
	}
}

// TestIndexesDocumented checks that INDEXES.md names every index.
func TestIndexesDocumented(t *testing.T) {
	doc, err := os.ReadFile("INDEXES.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range fhir.TypeNames() {
		for _, idx := range currentIndexes(typ) {
			var parts []string
			for _, k := range idx {
				parts = append(parts, k.Key+": 1")
			}
			if spec := "{" + strings.Join(parts, ", ") + "}"; !strings.Contains(string(doc), spec) {
				t.Errorf("INDEXES.md does not name %s's index %s", typ, spec)
			}
		}
	}
}

// TestIndexesCreated checks that the indexes exist on a real MongoDB and
// that documents with every indexed field store and are found. FerretDB
// gets no secondary index (they serve no query there): skipped.
func TestIndexesCreated(t *testing.T) {
	s := openStore(t, Options{})
	if s.ferret {
		t.Skip("FerretDB: no secondary indexes are created")
	}
	ctx := context.Background()
	for _, typ := range fhir.TypeNames() {
		cur, err := s.current(typ).Indexes().List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var specs []struct {
			Key bson.D `bson:"key"`
		}
		if err := cur.All(ctx, &specs); err != nil {
			t.Fatal(err)
		}
		for _, want := range currentIndexes(typ) {
			if !slices.ContainsFunc(specs, func(s struct {
				Key bson.D `bson:"key"`
			}) bool {
				return slices.EqualFunc(s.Key, want, func(x, y bson.E) bool { return x.Key == y.Key })
			}) {
				t.Errorf("%s: index %v missing", typ, want)
			}
		}
	}
	putAll(t, s, corpus(2*goalsPerPatient, true))
	res := find(t, s, service.SearchQuery{Type: "Goal", Tenancy: service.Tenancy{Board: corpusBoard}},
		"patient="+patientID(1)+"&lifecycle-status=active")
	if len(res.Matches) != 6 {
		t.Errorf("%d matches, want 6", len(res.Matches))
	}
}
