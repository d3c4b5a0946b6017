package service

import (
	"context"
	"errors"
	"fmt"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
)

// Validation modes of $validate (R4 Resource-validate, mode).
const (
	ValidateCreate = "create"
	ValidateUpdate = "update"
	ValidateDelete = "delete"
)

// Validate runs the checks a write would run, storing nothing (R4
// $validate): body as a create of typ (mode "" or create), as the next
// version of typ/id (update: the body's id must be id), or whether typ/id
// may be deleted (delete, no body). profile, if set, is a profile to
// check the resource against besides those it claims. It returns every
// issue found, errors included; its own error means validation could
// not run (the caller may not change such a resource, say).
func (s *Resources) Validate(ctx context.Context, typ, id, mode, profile string, body []byte) ([]fhir.Issue, error) {
	a, err := access(ctx)
	if err != nil {
		return nil, err
	}
	if id == "" {
		id = "x"
	}
	if err := checkTypeID(typ, id); err != nil {
		return nil, err
	}
	var cur *Record
	if mode == ValidateUpdate || mode == ValidateDelete {
		c, err := s.store.Current(ctx, typ, id)
		switch {
		case err == nil && !c.Deleted && a.Sees(c):
			if !a.owns(c) {
				return nil, s.hiddenError(ctx, a, typ, id)
			}
			cur = &c
		case err == nil, errors.Is(err, ErrNotFound):
		default:
			return nil, fmt.Errorf("%s/%s: %w", typ, id, err)
		}
	}
	switch mode {
	case "", ValidateCreate, ValidateUpdate:
	case ValidateDelete:
		if cur == nil {
			return nil, fmt.Errorf("%s/%s: %w", typ, id, ErrNotFound)
		}
		return []fhir.Issue{note(fmt.Sprintf("%s/%s may be deleted (its history is kept)", typ, id))}, nil
	default:
		return nil, fhir.Errorf(r4.IssueTypeValue, "", "mode %q is not a validation mode: use create, update or delete", mode)
	}
	res, err := fhir.Parse(typ, body)
	if fe := (*fhir.Error)(nil); errors.As(err, &fe) {
		return fe.Issues, nil
	} else if err != nil {
		return nil, err
	}
	var issues []fhir.Issue
	if mode == ValidateUpdate && res.ID != id {
		issues = append(issues, fhir.Issue{Severity: r4.IssueSeverityError, Code: r4.IssueTypeInvalid, Expression: []string{typ + ".id"},
			Diagnostics: fmt.Sprintf("an update of %s/%s needs a resource with id %s (it has %q)", typ, id, id, res.ID)})
	}
	rec := Record{Type: typ, ID: id, Version: 1, LastUpdated: s.timestamp(), Board: a.ownBoard(typ), Client: a.Client}
	if cur != nil {
		rec.Version = cur.Version + 1
	}
	rec.Patients = res.Patients(id)
	if err := a.mayWrite(typ, rec.Patients); err != nil {
		return nil, err
	}
	if rec.Body, err = res.Stamp(id, rec.Version, rec.LastUpdated, rec.Board); err != nil {
		return nil, err
	}
	p := pending{rec: &rec, prev: cur, profile: profile, dryRun: true}
	if err := s.check(ctx, a, &p); err != nil {
		return nil, err
	}
	issues = append(issues, p.issues...)
	if len(issues) == 0 {
		issues = append(issues, note("no issues found"))
	}
	return issues, nil
}

func note(msg string) fhir.Issue {
	return fhir.Issue{Severity: r4.IssueSeverityInformation, Code: r4.IssueTypeInformational, Diagnostics: msg}
}
