// Package fhir holds matcare's knowledge of FHIR R4 that needs neither HTTP
// nor storage: which resource types are served and what each requires,
// parsing and checking a client's JSON without losing any of it, stamping
// the server-owned id and meta into that JSON, and the OperationOutcome
// errors that report what was wrong.
//
// # Lossless storage
//
// The samply R4 structs drop contained resources, primitive extensions
// (such as "_status") and unknown elements, and invent a code for a missing
// required element. They are therefore used only to check codes and data
// types; the client's JSON is what matcare stores and returns, with only
// the top-level "id" and the server-owned fields of "meta" rewritten.
// GOTCHAS.md records the facts behind these rules.
package fhir
