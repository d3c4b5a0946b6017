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
//
// # Batches and transactions
//
// ParseBundle checks a batch or transaction Bundle entry by entry (R4
// http.html §3.1.0.11) and keeps each entry's resource as the client's
// bytes; Order gives a transaction's processing order. ParseReference
// classifies a reference or fullUrl, and RewriteReferences replaces the
// references of a resource (with the ids a transaction assigned, say)
// without changing any other byte. None of this touches storage.
package fhir
