package fhir

import (
	"fmt"
	"net/http"
	"strings"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Issue is one problem found in a request, in the terms of an
// OperationOutcome issue.
type Issue struct {
	Severity    r4.IssueSeverity // set it: the zero value is fatal
	Code        r4.IssueType
	Diagnostics string   // human-readable, safe to send to the client
	Expression  []string // FHIRPath of the offending element, e.g. "Goal.subject"
	// Details, if set, names the rule that produced the issue as a code,
	// such as a prescribing check's id (OperationOutcome.issue.details).
	Details *r4.CodeableConcept
}

// Error is a failure that can be shown to a client as an OperationOutcome.
// Err, if set, is the underlying cause; it is logged, never sent.
type Error struct {
	Status int // HTTP status; 0 means derived from the first issue's code
	Issues []Issue
	Err    error
}

// Errorf returns an Error with one issue of the given code; the message is
// sent to the client, so it must not contain internals.
func Errorf(code r4.IssueType, expression string, format string, args ...any) *Error {
	is := Issue{Severity: r4.IssueSeverityError, Code: code, Diagnostics: fmt.Sprintf(format, args...)}
	if expression != "" {
		is.Expression = []string{expression}
	}
	return &Error{Issues: []Issue{is}}
}

// WithStatus sets the HTTP status of e and returns e.
func (e *Error) WithStatus(status int) *Error {
	e.Status = status
	return e
}

func (e *Error) Error() string {
	var b strings.Builder
	for i, is := range e.Issues {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(is.Diagnostics)
		if len(is.Expression) > 0 {
			b.WriteString(" (" + strings.Join(is.Expression, ", ") + ")")
		}
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// HTTPStatus is the status e is answered with.
func (e *Error) HTTPStatus() int {
	if e.Status != 0 {
		return e.Status
	}
	if len(e.Issues) == 0 {
		return http.StatusBadRequest
	}
	return StatusOf(e.Issues[0].Code)
}

// StatusOf maps an issue code to the HTTP status R4 http.html and common
// servers (HAPI, Firely) use for it.
func StatusOf(code r4.IssueType) int {
	switch code {
	case r4.IssueTypeNotFound:
		return http.StatusNotFound
	case r4.IssueTypeDeleted:
		return http.StatusGone
	case r4.IssueTypeConflict, r4.IssueTypeDuplicate:
		return http.StatusConflict
	case r4.IssueTypeBusinessRule, r4.IssueTypeInvariant, r4.IssueTypeProcessing:
		return http.StatusUnprocessableEntity
	case r4.IssueTypeTooLong:
		return http.StatusRequestEntityTooLarge
	case r4.IssueTypeNotSupported:
		return http.StatusBadRequest
	case r4.IssueTypeSecurity, r4.IssueTypeLogin, r4.IssueTypeExpired:
		return http.StatusUnauthorized
	case r4.IssueTypeForbidden, r4.IssueTypeSuppressed:
		return http.StatusForbidden
	case r4.IssueTypeTimeout, r4.IssueTypeTransient, r4.IssueTypeLockError:
		return http.StatusServiceUnavailable
	case r4.IssueTypeThrottled:
		return http.StatusTooManyRequests
	case r4.IssueTypeTooCostly:
		return http.StatusForbidden
	case r4.IssueTypeException, r4.IssueTypeNoStore:
		return http.StatusInternalServerError
	case r4.IssueTypeMultipleMatches:
		return http.StatusPreconditionFailed
	}
	return http.StatusBadRequest
}

// Outcome builds an OperationOutcome from issues.
func Outcome(issues ...Issue) r4.OperationOutcome {
	oo := r4.OperationOutcome{}
	for _, is := range issues {
		d := is.Diagnostics
		oo.Issue = append(oo.Issue, r4.OperationOutcomeIssue{
			Severity:    is.Severity,
			Code:        is.Code,
			Details:     is.Details,
			Diagnostics: &d,
			Expression:  is.Expression,
		})
	}
	return oo
}
