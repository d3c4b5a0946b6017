package api_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/matcare/matcare/service"
)

// BenchmarkClinicalWrite measures what the content checks cost a write:
// the next version of a benzodiazepine CarePlan (cp03b: the prescribing
// checks read the person's other active plans, the linked goal and the
// latest BPS assessment) through the service with the checks on and
// off, against the storage ceiling (one raw InsertOne of the same body
// on the same server).
//
//	go test ./api -run '^$' -bench BenchmarkClinicalWrite -count 6 | benchstat -
func BenchmarkClinicalWrite(b *testing.B) {
	store, uri, db := openStore(b)
	content, err := testContent()
	if err != nil {
		b.Fatal(err)
	}
	read := func(name string) []byte {
		body, err := os.ReadFile("../fhir/clinical/testdata/" + name + ".json")
		if err != nil {
			b.Fatal(err)
		}
		return body
	}
	ctx := asAdmin()
	on := service.New(store).WithContent(content)
	for _, r := range []struct{ typ, id, name string }{
		{"Patient", "p03", "Patient-p03"}, {"Goal", "g03a", "Goal-g03a"}, {"CarePlan", "cp03a", "CarePlan-cp03a"},
		{"QuestionnaireResponse", "bps03", "QuestionnaireResponse-bps03"},
	} {
		if _, _, err := on.Update(ctx, r.typ, r.id, read(r.name), nil); err != nil {
			b.Fatal(err)
		}
	}
	plan := read("CarePlan-cp03b")
	for _, mode := range []struct {
		name string
		res  *service.Resources
	}{{"checks=on", on}, {"checks=off", service.New(store)}} {
		b.Run(mode.name, func(b *testing.B) {
			id := "bench-" + strings.TrimPrefix(mode.name, "checks=")
			body := []byte(strings.Replace(string(plan), `"id": "cp03b"`, `"id": "`+id+`"`, 1))
			for b.Loop() {
				if _, _, err := mode.res.Update(ctx, "CarePlan", id, body, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("ceiling=InsertOne", func(b *testing.B) {
		mc, err := mongo.Connect(options.Client().ApplyURI(uri))
		if err != nil {
			b.Fatal(err)
		}
		defer mc.Disconnect(context.Background())
		raw := mc.Database(db).Collection("raw")
		for b.Loop() {
			if _, err := raw.InsertOne(context.Background(), bson.D{{Key: "body", Value: string(plan)}}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
