package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/service"
)

// outcomeFor is the only place that turns an error into an HTTP status and
// an OperationOutcome. Handlers and services just return errors.
func outcomeFor(err error) (int, []fhir.Issue) {
	var (
		fe  *fhir.Error
		mbe *http.MaxBytesError
		he  *echo.HTTPError
		ua  unauthorized
		ee  *service.EntryError
	)
	one := func(status int, code r4.IssueType, msg string) (int, []fhir.Issue) {
		sev := r4.IssueSeverityError
		if status >= 500 {
			sev = r4.IssueSeverityFatal
		}
		return status, []fhir.Issue{{Severity: sev, Code: code, Diagnostics: msg}}
	}
	switch {
	case errors.As(err, &ee):
		return entryOutcome(ee)
	case errors.As(err, &fe):
		return fe.HTTPStatus(), fe.Issues
	case errors.As(err, &ua):
		return one(http.StatusUnauthorized, r4.IssueTypeLogin, ua.err.Error())
	case errors.Is(err, service.ErrForbidden):
		return one(http.StatusForbidden, r4.IssueTypeForbidden, err.Error())
	case errors.Is(err, service.ErrIDTaken):
		return one(http.StatusConflict, r4.IssueTypeConflict, err.Error())
	case errors.Is(err, service.ErrNotFound):
		return one(http.StatusNotFound, r4.IssueTypeNotFound, err.Error())
	case errors.Is(err, service.ErrGone):
		return one(http.StatusGone, r4.IssueTypeDeleted, err.Error())
	case errors.Is(err, service.ErrPrecondition):
		return one(http.StatusPreconditionFailed, r4.IssueTypeConflict, err.Error())
	case errors.Is(err, service.ErrVersionConflict):
		return one(http.StatusConflict, r4.IssueTypeConflict, err.Error())
	case errors.As(err, &mbe):
		return one(http.StatusRequestEntityTooLarge, r4.IssueTypeTooLong, "request body too large")
	case errors.As(err, &he):
		switch he.Code {
		case http.StatusNotFound:
			return one(he.Code, r4.IssueTypeNotFound, "no such route")
		case http.StatusMethodNotAllowed:
			return one(he.Code, r4.IssueTypeNotSupported, "method not allowed on this route")
		}
		return one(he.Code, r4.IssueTypeProcessing, http.StatusText(he.Code))
	case errors.Is(err, service.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return one(http.StatusServiceUnavailable, r4.IssueTypeTransient, "storage unavailable; retry later")
	case errors.Is(err, context.Canceled):
		return one(499, r4.IssueTypeTimeout, "request cancelled")
	}
	return one(http.StatusInternalServerError, r4.IssueTypeException, "internal error")
}

// handleError is the Echo HTTPErrorHandler, so every failure, Echo's own
// routing errors included, reaches the client as an OperationOutcome.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	ctx := c.Request().Context()
	status, issues := outcomeFor(err)
	level := slog.LevelDebug
	if status >= 500 {
		level = slog.LevelError
	}
	// The route template, never the URL; err carries ids, never bodies.
	s.log.Log(ctx, level, "request failed", "route", c.Path(), "status", status, "err", err)
	if status == http.StatusServiceUnavailable {
		c.Response().Header().Set("Retry-After", "1")
	}
	if err := s.writeJSON(c, status, fhir.Outcome(issues...)); err != nil {
		s.log.ErrorContext(ctx, "writing OperationOutcome", "err", err)
	}
}
