// Package synth generates a reproducible synthetic population of people in
// MAT treatment: Patients with valid CHI numbers, MAT-episode CarePlans and
// benzodiazepine shared Goals, for benchmarks, demos and load tests. Names
// and numbers are made up; the same seed always yields the same resources.
package synth

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"time"
)

// Code systems used in the generated resources (see DOMAIN.md).
const (
	CHISystem           = "urn:oid:2.16.840.1.113883.2.1.3.2.4.16.53"
	careplanCategory    = "http://matcare.example/fhir/CodeSystem/careplan-category"
	matStandard         = "http://matcare.example/fhir/CodeSystem/mat-standard"
	benzoGoalCategory   = "http://matcare.example/fhir/CodeSystem/benzo-goal-category"
	treatmentOrient     = "http://matcare.example/fhir/CodeSystem/treatment-orientation"
	goalAchievement     = "http://terminology.hl7.org/CodeSystem/goal-achievement"
	identifierTypeCodes = "http://terminology.hl7.org/CodeSystem/v2-0203"
)

// Resource is one generated resource and the board that owns it.
type Resource struct {
	Type, ID, Board string
	Body            []byte
}

// Config sizes a population.
type Config struct {
	Seed     uint64
	Patients int      // per board
	Boards   []string // board codes
	// GoalsPerPatient is the most goals a patient has (1..GoalsPerPatient,
	// uniformly); default 3.
	GoalsPerPatient int
	// Epoch anchors every date; default 2026-01-01 UTC.
	Epoch time.Time
}

// Count returns how many resources Generate yields for cfg, for progress.
// It runs the generator without building bodies' JSON twice.
func Count(cfg Config) int {
	n := 0
	Generate(cfg, func(Resource) bool { n++; return true })
	return n
}

var (
	given  = []string{"Ailsa", "Callum", "Eilidh", "Fraser", "Isla", "Lewis", "Morag", "Rory", "Skye", "Struan", "Kirsty", "Euan", "Shona", "Hamish", "Mhairi", "Craig"}
	family = []string{"Campbell", "MacDonald", "Stewart", "Robertson", "Thomson", "Anderson", "Scott", "Murray", "MacLeod", "Reid", "Ross", "Paterson", "Fraser", "Kerr", "Gray", "Hamilton"}
	goals  = []struct{ code, orientation, text string }{
		{"immediate-harm-reduction", "harm-reduction", "Carry naloxone and never use alone"},
		{"psychosocial-intervention", "harm-reduction", "Attend weekly psychosocial sessions"},
		{"supported-self-reduction", "harm-reduction", "Cut street benzos to 2 days a week"},
		{"medication-assisted-detox", "abstinence", "Complete a diazepam taper over 12 weeks"},
		{"medication-assisted-stabilisation", "harm-reduction", "Stable on prescribed diazepam, no street supply"},
	}
	lifecycle   = []string{"active", "active", "active", "active", "on-hold", "completed", "proposed", "cancelled"}
	achievement = []string{"in-progress", "improving", "worsening", "no-change", "achieved", "sustaining"}
)

// Generate calls yield with every resource of the population, in a fixed
// order (per board and patient: Patient, Goals, CarePlan), stopping early
// if yield returns false.
func Generate(cfg Config, yield func(Resource) bool) {
	if cfg.GoalsPerPatient <= 0 {
		cfg.GoalsPerPatient = 3
	}
	if cfg.Epoch.IsZero() {
		cfg.Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	for _, board := range cfg.Boards {
		r := rand.New(rand.NewPCG(cfg.Seed, hash(board)))
		for i := 1; i <= cfg.Patients; i++ {
			pid := fmt.Sprintf("p-%s-%06d", board, i)
			birth := cfg.Epoch.AddDate(-18-r.IntN(50), 0, -r.IntN(365))
			male := r.IntN(2) == 0
			gender := "female"
			if male {
				gender = "male"
			}
			patient := map[string]any{
				"resourceType": "Patient", "id": pid, "active": true,
				"identifier": []any{map[string]any{
					"type":   map[string]any{"coding": []any{map[string]any{"system": identifierTypeCodes, "code": "NH"}}},
					"system": CHISystem, "value": chi(r, birth, male),
				}},
				"name":      []any{map[string]any{"family": family[r.IntN(len(family))], "given": []any{given[r.IntN(len(given))]}}},
				"gender":    gender,
				"birthDate": birth.Format("2006-01-02"),
			}
			if !yield(res("Patient", pid, board, patient)) {
				return
			}
			start := cfg.Epoch.AddDate(0, 0, -r.IntN(730))
			var goalRefs []any
			for g := 1; g <= 1+r.IntN(cfg.GoalsPerPatient); g++ {
				gid := fmt.Sprintf("g-%s-%06d-%d", board, i, g)
				kind := goals[r.IntN(len(goals))]
				goalStart := start.AddDate(0, 0, r.IntN(60))
				goal := map[string]any{
					"resourceType": "Goal", "id": gid,
					"lifecycleStatus":   lifecycle[r.IntN(len(lifecycle))],
					"achievementStatus": map[string]any{"coding": []any{map[string]any{"system": goalAchievement, "code": achievement[r.IntN(len(achievement))]}}},
					"category": []any{
						map[string]any{"coding": []any{map[string]any{"system": benzoGoalCategory, "code": kind.code}}},
						map[string]any{"coding": []any{map[string]any{"system": treatmentOrient, "code": kind.orientation}}},
					},
					"description": map[string]any{"text": kind.text},
					"subject":     map[string]any{"reference": "Patient/" + pid},
					"startDate":   goalStart.Format("2006-01-02"),
					"target":      []any{map[string]any{"dueDate": goalStart.AddDate(0, 0, 28+r.IntN(120)).Format("2006-01-02")}},
					"expressedBy": map[string]any{"reference": "Patient/" + pid},
				}
				goalRefs = append(goalRefs, map[string]any{"reference": "Goal/" + gid})
				if !yield(res("Goal", gid, board, goal)) {
					return
				}
			}
			cpid := fmt.Sprintf("cp-%s-%06d", board, i)
			plan := map[string]any{
				"resourceType": "CarePlan", "id": cpid, "status": "active", "intent": "plan",
				"category": []any{
					map[string]any{"coding": []any{map[string]any{"system": careplanCategory, "code": "mat-episode"}}},
					map[string]any{"coding": []any{map[string]any{"system": matStandard, "code": "MAT1"}}},
				},
				"subject": map[string]any{"reference": "Patient/" + pid},
				"period":  map[string]any{"start": start.Add(time.Duration(9+r.IntN(8)) * time.Hour).Format(time.RFC3339)},
				"goal":    goalRefs,
			}
			if !yield(res("CarePlan", cpid, board, plan)) {
				return
			}
		}
	}
}

func res(typ, id, board string, v map[string]any) Resource {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // maps of strings and slices always marshal
	}
	return Resource{Type: typ, ID: id, Board: board, Body: b}
}

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
