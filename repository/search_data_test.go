package repository

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/matcare/matcare/fhir/fhirtest"
	"github.com/matcare/matcare/service"
)

// The search corpus of the round-trip test and the search benchmarks: n
// Goals of corpusBoard, goalsPerPatient per patient, and one CarePlan per
// patient that references the patient's Goals. Goal i is in status
// goalStatuses[i%10] (six in ten active) and due on dueDate(i), spread
// over 2024 and 2025.
const (
	corpusBoard     = "S08000031"
	goalsPerPatient = 10
)

var goalStatuses = [goalsPerPatient]string{"active", "completed", "active", "on-hold", "active", "active", "cancelled", "active", "proposed", "active"}

func patientID(p int) string  { return fmt.Sprintf("p%06d", p) }
func goalID(i int) string     { return fmt.Sprintf("g%07d", i) }
func carePlanID(p int) string { return fmt.Sprintf("cp%06d", p) }

func dueDate(i int) string {
	return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, (i*7919)%730).Format(time.DateOnly)
}

// goalBody is fhirtest.Goal (2 KB, extensions, a decimal) made Goal i:
// its patient, status and due date.
func goalBody(i int) []byte {
	b := string(fhirtest.Goal())
	for _, r := range [][2]string{
		{"Patient/p03", "Patient/" + patientID(i/goalsPerPatient)},
		{`"lifecycleStatus": "active"`, `"lifecycleStatus": "` + goalStatuses[i%goalsPerPatient] + `"`},
		{`"dueDate": "2024-12-31"`, `"dueDate": "` + dueDate(i) + `"`},
	} {
		if !strings.Contains(b, r[0]) {
			panic("fhirtest.Goal changed: no " + r[0])
		}
		b = strings.ReplaceAll(b, r[0], r[1])
	}
	return []byte(b)
}

// carePlanBody is fhirtest.CarePlan for patient p, referencing p's Goals.
func carePlanBody(p int) []byte {
	dec := json.NewDecoder(bytes.NewReader(fhirtest.CarePlan()))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		panic(err)
	}
	doc["subject"] = map[string]any{"reference": "Patient/" + patientID(p)}
	var goals []any
	for i := p * goalsPerPatient; i < (p+1)*goalsPerPatient; i++ {
		goals = append(goals, map[string]any{"reference": "Goal/" + goalID(i)})
	}
	doc["goal"] = goals
	doc["activity"].([]any)[0].(map[string]any)["detail"].(map[string]any)["goal"] = goals[:1]
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return b
}

// corpus returns the records of the corpus of n Goals (n/goalsPerPatient
// CarePlans, and with patients the Patient resources too), as the service
// would hand them to Put: version 1 of board corpusBoard, in the
// compartment of their patient.
func corpus(n int, patients bool) []service.Record {
	lu := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := func(typ, id, pat string, body []byte) service.Record {
		return service.Record{Type: typ, ID: id, Version: 1, Method: "POST", Created: true, LastUpdated: lu,
			Board: corpusBoard, Patients: []string{pat}, Client: "bench", Body: body}
	}
	var out []service.Record
	for p := 0; p < n/goalsPerPatient; p++ {
		if patients {
			out = append(out, r("Patient", patientID(p), patientID(p), fhirtest.Patient()))
		}
		out = append(out, r("CarePlan", carePlanID(p), patientID(p), carePlanBody(p)))
		for i := p * goalsPerPatient; i < (p+1)*goalsPerPatient; i++ {
			out = append(out, r("Goal", goalID(i), patientID(p), goalBody(i)))
		}
	}
	return out
}

// putAll stores recs through Put, the write path.
func putAll(tb testing.TB, s *Store, recs []service.Record) {
	tb.Helper()
	ctx := context.Background()
	for _, r := range recs {
		if err := s.Put(ctx, r, 0); err != nil {
			tb.Fatal(err)
		}
	}
}

// insertAll stores the current documents of recs, with their search
// fields computed by the write path's own code (currentOf), by InsertMany:
// the fast way to a large corpus (no history, which search does not read).
func insertAll(tb testing.TB, s *Store, recs []service.Record) {
	tb.Helper()
	ctx := context.Background()
	byType := map[string][]any{}
	flush := func(typ string) {
		if len(byType[typ]) == 0 {
			return
		}
		if _, err := s.current(typ).InsertMany(ctx, byType[typ], options.InsertMany().SetOrdered(false)); err != nil {
			tb.Fatal(err)
		}
		byType[typ] = byType[typ][:0]
	}
	for _, r := range recs {
		byType[r.Type] = append(byType[r.Type], s.currentOf(r.Type, toHistory(r, r.LastUpdated)))
		if len(byType[r.Type]) == 500 {
			flush(r.Type)
		}
	}
	for typ := range byType {
		flush(typ)
	}
}

// The raw driver's filters for the benchmarked searches, written out by
// hand: TestSearchRoundTrips checks that Store.Search sends exactly these.

// patientRefs are the references a patient=<pat> search matches: the
// R4 parameter (clinical-patient) targets Group and Patient, so the plan
// asks for both although its path (subject[is=Patient]) only ever
// indexes the second.
func patientRefs(pat string) []string { return []string{"Group/" + pat, "Patient/" + pat} }

// rawGoalByPatientStatus is Goal?patient=<pat>&lifecycle-status=active.
func rawGoalByPatientStatus(board, pat string) bson.D {
	return bson.D{{Key: "deleted", Value: false}, {Key: "board", Value: board}, {Key: "$and", Value: bson.A{
		bson.D{{Key: "x.lifecycle-status", Value: "active"}},
		bson.D{{Key: "x.patient", Value: bson.D{{Key: "$in", Value: patientRefs(pat)}}}},
	}}}
}

// rawCarePlanByPatient is CarePlan?patient=<pat>.
func rawCarePlanByPatient(board, pat string) bson.D {
	return bson.D{{Key: "deleted", Value: false}, {Key: "board", Value: board}, {Key: "$and", Value: bson.A{
		bson.D{{Key: "x.patient", Value: bson.D{{Key: "$in", Value: patientRefs(pat)}}}},
	}}}
}

// rawByIDs is the include query of ids (and, in $and, of _id=ids).
func rawByIDs(board string, ids []string) bson.D {
	return bson.D{{Key: "deleted", Value: false}, {Key: "board", Value: board}, {Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}
}

func rawSearchByIDs(board string, ids []string) bson.D {
	return bson.D{{Key: "deleted", Value: false}, {Key: "board", Value: board}, {Key: "$and", Value: bson.A{
		bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}},
	}}}
}

// rawGoalDueActive is Goal?target-date=le<day>&lifecycle-status=active:
// a target date range starting before the end of day.
func rawGoalDueActive(board string, day time.Time) bson.D {
	return bson.D{{Key: "deleted", Value: false}, {Key: "board", Value: board}, {Key: "$and", Value: bson.A{
		bson.D{{Key: "x.lifecycle-status", Value: "active"}},
		bson.D{{Key: "xl.target-date", Value: bson.D{{Key: "$lt", Value: day.AddDate(0, 0, 1)}}}},
	}}}
}

// rawPage is the raw driver's page query: the filter, in _id order, one
// more than the page size.
func rawPage(ctx context.Context, c *mongo.Collection, f bson.D, count int) ([]bson.Raw, error) {
	cur, err := c.Find(ctx, f, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(count+1)))
	if err != nil {
		return nil, err
	}
	var out []bson.Raw
	err = cur.All(ctx, &out)
	return out, err
}

// rawCarePlanWithGoals is CarePlan?patient=<pat>&_include=CarePlan:goal
// on the raw driver: the page, then the referenced Goals by _id.
func rawCarePlanWithGoals(ctx context.Context, db *mongo.Database, board, pat string, count int, lookups bool) (int, error) {
	page, err := rawPage(ctx, db.Collection("CarePlan"), rawCarePlanByPatient(board, pat), count)
	if err != nil {
		return 0, err
	}
	if len(page) > count {
		page = page[:count]
	}
	ids := rawGoalRefs(page)
	if len(ids) == 0 {
		return len(page), nil
	}
	if lookups { // one FindOne per Goal, as matcare reads an include level on FerretDB
		for _, id := range ids {
			var d bson.Raw
			if err := db.Collection("Goal").FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
				return 0, err
			}
		}
		return len(page) + len(ids), nil
	}
	cur, err := db.Collection("Goal").Find(ctx, rawByIDs(board, ids))
	if err != nil {
		return 0, err
	}
	var goals []bson.Raw
	err = cur.All(ctx, &goals)
	return len(page) + len(goals), err
}

// rawGoalRefs are the ids of the Goals the CarePlans reference, in order.
func rawGoalRefs(docs []bson.Raw) []string {
	var ids []string
	seen := map[string]bool{}
	for _, d := range docs {
		arr, ok := d.Lookup("x", "goal").ArrayOK()
		if !ok {
			continue
		}
		vals, _ := arr.Values()
		for _, v := range vals {
			ref := v.StringValue()
			if id, ok := strings.CutPrefix(ref, "Goal/"); ok && !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	return ids
}
