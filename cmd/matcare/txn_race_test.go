package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matcare/matcare/fhir/fhirtest"
	"github.com/matcare/matcare/repository/mongotest"
)

// TestCrossProcessTransactions runs 20 transactions at once on two
// matcare processes over one external FerretDB, each a conditional
// create of one Patient (the same identifier in all) and a Goal that
// refers to it by its urn:uuid: exactly one transaction creates the
// Patient, the others match it, and every Goal refers to that Patient.
func TestCrossProcessTransactions(t *testing.T) {
	uri := mongotest.StartExternal(t)
	env := []string{"MONGODB_URI=" + uri, "MATCARE_DB=txraces", "MATCARE_DATA_DIR=" + t.TempDir()}
	procs := []*child{startChild(t, env...), startChild(t, env...)}
	ctx := context.Background()
	const racers = 20
	const value = "tx-race-1"
	crit := "identifier=" + txIdentSystem + "|" + value

	type answer struct {
		status int
		body   []byte
		bundle txResponse
	}
	answers := make([]answer, racers)
	var mu sync.Mutex
	begun := time.Now()
	statuses := race(t, procs, racers, func(i int, c *child) (int, error) {
		patient := txUUID(i, 0)
		body := txBundle(
			txEntry(patient, "POST", "Patient", patientJSON(value, fmt.Sprintf("racer %d", i), nil), `"ifNoneExist":`+jsonQuote(crit)),
			txEntry(txUUID(i, 1), "POST", "Goal", goalRefJSON("", fmt.Sprintf("goal %d", i), patient, nil)),
		)
		st, b, _, err := call(ctx, c.token, "POST", c.base, body)
		a := answer{status: st, body: b}
		if err == nil && st == http.StatusOK {
			if jerr := json.Unmarshal(b, &a.bundle); jerr != nil {
				t.Errorf("transaction %d: response is not a Bundle: %v: %s", i, jerr, b)
			}
		}
		mu.Lock()
		answers[i] = a
		mu.Unlock()
		return st, err
	})

	elapsed := time.Since(begun)
	created := 0
	patients := map[string]bool{}
	var goals []string // Type/id of each transaction's Goal
	for i, a := range answers {
		if a.status != http.StatusOK {
			t.Errorf("transaction %d: %d %s", i, a.status, a.body)
			continue
		}
		b := a.bundle
		if b.Type != "transaction-response" || len(b.Entry) != 2 {
			t.Errorf("transaction %d: not a transaction-response of 2 entries: %s", i, a.body)
			continue
		}
		switch p := b.Entry[0].Response.Status; p {
		case "201 Created":
			created++
		case "200 OK":
		default:
			t.Errorf("transaction %d: Patient entry %q", i, p)
		}
		patients[typeID(b.Entry[0].Response.Location)] = true
		if g := b.Entry[1].Response.Status; g != "201 Created" {
			t.Errorf("transaction %d: Goal entry %q", i, g)
		}
		goals = append(goals, typeID(b.Entry[1].Response.Location))
	}
	if t.Failed() {
		t.FailNow()
	}
	if created != 1 || len(patients) != 1 {
		t.Fatalf("%d transactions created the Patient, answers name %d patients (%v); want one of each", created, len(patients), patients)
	}
	var patient string
	for p := range patients {
		patient = p
	}
	for i, c := range procs {
		if n := countMatches(t, c, "/Patient?"+"identifier="+url.QueryEscape(txIdentSystem+"|"+value)); n != 1 {
			t.Errorf("process %d: %d patients with the identifier, want 1", i, n)
		}
		if n := countMatches(t, c, "/Goal?subject="+url.QueryEscape(patient)); n != racers {
			t.Errorf("process %d: %d goals refer to %s, want %d", i, n, patient, racers)
		}
	}
	// Read every Goal back: its subject is the one Patient.
	seen := map[string]bool{}
	for i, g := range goals {
		st, b, _, err := call(ctx, procs[i%2].token, "GET", procs[i%2].base+"/"+g, "")
		if err != nil || st != http.StatusOK {
			t.Fatalf("read %s: %d %s %v", g, st, b, err)
		}
		var r struct{ Subject struct{ Reference string } }
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		if r.Subject.Reference != patient {
			t.Errorf("%s: subject %q, want %s", g, r.Subject.Reference, patient)
		}
		seen[g] = true
	}
	if len(seen) != racers {
		t.Errorf("%d distinct goals, want %d", len(seen), racers)
	}
	t.Logf("%d transactions in %v: statuses %v; one created %s, %d matched it; %d goals refer to it", racers, elapsed.Round(time.Millisecond), statuses, patient, racers-created, len(seen))
}

// txIdentSystem is the identifier system of the resources the process
// tests of transactions write.
const txIdentSystem = "https://example.org/txtest"

// txBundle builds a transaction Bundle from entries.
func txBundle(entries ...string) string { return fhirtest.Bundle("transaction", entries...) }

var (
	txEntry   = fhirtest.BundleEntry
	jsonQuote = fhirtest.Quote
)

// txUUID is a urn:uuid fullUrl, distinct for each (n, k).
func txUUID(n, k int) string {
	return fmt.Sprintf("urn:uuid:%08x-0000-4000-8000-%012x", n, k)
}

// metaTags is a meta element with tags "system|code" ("" for none).
func metaTags(tags []string) string {
	if len(tags) == 0 {
		return ""
	}
	var cs []string
	for _, t := range tags {
		sys, code, _ := strings.Cut(t, "|")
		cs = append(cs, `{"system":`+jsonQuote(sys)+`,"code":`+jsonQuote(code)+`}`)
	}
	return `"meta":{"tag":[` + strings.Join(cs, ",") + `]},`
}

// patientJSON is a Patient with identifier txIdentSystem|value and tags.
func patientJSON(value, family string, tags []string) string {
	return `{"resourceType":"Patient",` + metaTags(tags) + `"identifier":[{"system":"` + txIdentSystem + `","value":` + jsonQuote(value) + `}],` +
		`"name":[{"family":` + jsonQuote(family) + `}],"birthDate":"1980-01-01"}`
}

// goalRefJSON is a Goal with identifier txIdentSystem|value (none if ""),
// description text, subject reference and tags.
func goalRefJSON(value, text, subject string, tags []string) string {
	ident := ""
	if value != "" {
		ident = `"identifier":[{"system":"` + txIdentSystem + `","value":` + jsonQuote(value) + `}],`
	}
	return `{"resourceType":"Goal",` + metaTags(tags) + ident + `"lifecycleStatus":"active","description":{"text":` + jsonQuote(text) + `},` +
		`"subject":{"reference":` + jsonQuote(subject) + `}}`
}

// txResponse decodes a transaction-response Bundle.
type txResponse struct {
	Type  string
	Entry []struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
		Response struct {
			Status, Location, Etag string
		}
	}
}

// typeID is the Type/id of a location Type/id/_history/v.
func typeID(location string) string {
	parts := strings.Split(location, "/")
	if len(parts) < 2 {
		return location
	}
	return parts[0] + "/" + parts[1]
}
