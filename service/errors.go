package service

import "errors"

// Sentinel errors of the interactions. Store implementations wrap their
// failures into these with %w; package api maps them to statuses.
var (
	ErrNotFound        = errors.New("resource not found")
	ErrGone            = errors.New("resource deleted")
	ErrVersionConflict = errors.New("version conflict: the resource was changed concurrently; retry")
	ErrPrecondition    = errors.New("precondition failed: the resource's current version does not match If-Match")
	ErrUnavailable     = errors.New("storage unavailable")
)
