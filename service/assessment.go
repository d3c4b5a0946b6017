package service

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/fhir/clinical"
	"github.com/matcare/matcare/fhir/questionnaire"
)

// The assessment checks (DOMAIN.md §2.4, §3.1): a Questionnaire is
// checked on its own, a QuestionnaireResponse against the Questionnaire
// it names when the server holds it, and an SDS response is scored, its
// total added when missing and its Observation stored with it.

// checkQuestionnaire checks a Questionnaire's own structure: unique
// linkIds, item rules, well-formed enableWhen without cycles.
func checkQuestionnaire(_ context.Context, _ *Resources, _ Access, p *pending) ([]fhir.Issue, error) {
	if p.rec.Type != "Questionnaire" {
		return nil, nil
	}
	return questionnaire.CheckQuestionnaire(p.rec.Body), nil
}

// checkResponse validates a QuestionnaireResponse against its
// Questionnaire and scores it.
func checkResponse(ctx context.Context, s *Resources, a Access, p *pending) ([]fhir.Issue, error) {
	if p.rec.Type != "QuestionnaireResponse" {
		return nil, nil
	}
	var qr struct {
		Questionnaire string `json:"questionnaire"`
	}
	if json.Unmarshal(p.rec.Body, &qr) != nil || qr.Questionnaire == "" {
		return nil, nil
	}
	q, err := s.questionnaireFor(ctx, a, p, qr.Questionnaire)
	if err != nil || q == nil {
		return nil, err
	}
	if is := questionnaire.Validate(q.Body, p.rec.Body); clinical.HasErrors(is) {
		return is, nil
	}
	res, is := questionnaire.Score(q.Body, p.rec.Body)
	if clinical.HasErrors(is) {
		return is, nil
	}
	if res.TotalAdded {
		p.rec.Body = res.Response
	}
	if res.Instrument == questionnaire.SDSInstrument && !p.dryRun {
		var w *Write
		var err error
		if responseStatus(p.rec.Body) == "entered-in-error" {
			w, err = s.sdsObservationInError(ctx, a, p)
		} else {
			w, err = s.sdsObservation(ctx, a, p)
		}
		if err != nil {
			return nil, err
		}
		if w != nil {
			p.extra = append(p.extra, *w)
		}
	}
	return is, nil
}

// questionnaireFor finds the Questionnaire a response names: by its
// canonical url (and |version when given, else the latest version by
// lastUpdated), or by a relative reference. nil if the server holds none.
func (s *Resources) questionnaireFor(ctx context.Context, a Access, p *pending, canonical string) (*Record, error) {
	if strings.HasPrefix(canonical, "Questionnaire/") {
		return s.resolve(ctx, a, p, canonical)
	}
	u, version, _ := strings.Cut(canonical, "|")
	q := url.Values{"url": {u}}
	if version != "" {
		q.Set("version", version)
	}
	found, err := s.find(ctx, a, p, "Questionnaire", q, 20)
	if err != nil {
		return nil, err
	}
	var best *Record
	for i := range found {
		if best == nil || found[i].LastUpdated.After(best.LastUpdated) {
			best = &found[i]
		}
	}
	return best, nil
}

// sdsObservation is the write of the Observation that records an SDS
// response's total: the next version of Observation/<id derived from the
// response's id>, so each version of the response updates the one
// Observation. nil when the response yields none (not completed, or not
// every item answered).
func (s *Resources) sdsObservation(ctx context.Context, a Access, p *pending) (*Write, error) {
	id := observationID("sds", p.rec.ID)
	body, err := questionnaire.SDSObservation(s.content.Base, p.rec.ID, p.rec.Body)
	if errors.Is(err, questionnaire.ErrNoObservation) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("SDS observation: %w", err)
	}
	res, err := fhir.Parse("Observation", body)
	if err != nil {
		return nil, fmt.Errorf("SDS observation: %w", err)
	}
	rec := Record{Type: "Observation", ID: id, Version: 1, Method: "PUT", Created: true, LastUpdated: p.rec.LastUpdated,
		Board: p.rec.Board, Patients: res.Patients(id), Client: p.rec.Client}
	prev := 0
	cur, err := s.store.Current(ctx, "Observation", id)
	switch {
	case err == nil:
		if !cur.Deleted && (!a.owns(cur) || !bytes.Contains(cur.Body, []byte(`"QuestionnaireResponse/`+p.rec.ID+`"`))) {
			return nil, fmt.Errorf("%w: Observation/%s, where the score of QuestionnaireResponse/%s is kept, holds something else",
				ErrIDTaken, id, p.rec.ID)
		}
		prev, rec.Version, rec.Created = cur.Version, cur.Version+1, cur.Deleted
		if rec.LastUpdated.Before(cur.LastUpdated) {
			rec.LastUpdated = cur.LastUpdated
		}
	case !errors.Is(err, ErrNotFound):
		return nil, fmt.Errorf("SDS observation: %w", err)
	}
	if rec.Body, err = res.Stamp(id, rec.Version, rec.LastUpdated, rec.Board); err != nil {
		return nil, err
	}
	return &Write{Rec: rec, Prev: prev}, nil
}

// responseStatus is a QuestionnaireResponse's status.
func responseStatus(body []byte) string {
	var qr struct {
		Status string `json:"status"`
	}
	_ = json.Unmarshal(body, &qr)
	return qr.Status
}

// sdsObservationInError is the write that follows a response entered in
// error: its score's Observation, if there is one, entered in error too,
// so that nothing counts it. nil if there is none to change.
func (s *Resources) sdsObservationInError(ctx context.Context, a Access, p *pending) (*Write, error) {
	id := observationID("sds", p.rec.ID)
	cur, err := s.store.Current(ctx, "Observation", id)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("SDS observation: %w", err)
	case cur.Deleted || !a.owns(cur) || !bytes.Contains(cur.Body, []byte(`"QuestionnaireResponse/`+p.rec.ID+`"`)):
		return nil, nil
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(cur.Body, &doc); err != nil {
		return nil, fmt.Errorf("SDS observation: %w", err)
	}
	if string(doc["status"]) == `"entered-in-error"` {
		return nil, nil
	}
	doc["status"] = json.RawMessage(`"entered-in-error"`)
	body, err := json.Marshal(doc) // the server's own resource: re-encoding it loses nothing a client wrote
	if err != nil {
		return nil, err
	}
	res, err := fhir.Parse("Observation", body)
	if err != nil {
		return nil, fmt.Errorf("SDS observation: %w", err)
	}
	rec := Record{Type: "Observation", ID: id, Version: cur.Version + 1, Method: "PUT", LastUpdated: p.rec.LastUpdated,
		Board: cur.Board, Patients: cur.Patients, Client: p.rec.Client}
	if rec.LastUpdated.Before(cur.LastUpdated) {
		rec.LastUpdated = cur.LastUpdated
	}
	if rec.Body, err = res.Stamp(id, rec.Version, rec.LastUpdated, rec.Board); err != nil {
		return nil, err
	}
	return &Write{Rec: rec, Prev: cur.Version}, nil
}

// observationID is the id of the Observation derived from resource id
// by kind: kind-id, or a hash of id when that would be longer than an id
// may be.
func observationID(kind, id string) string {
	if len(kind)+1+len(id) <= 64 {
		return kind + "-" + id
	}
	sum := sha256.Sum256([]byte(id))
	return kind + "-" + hex.EncodeToString(sum[:16])
}
