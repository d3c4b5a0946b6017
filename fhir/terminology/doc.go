// Package terminology answers terminology questions from matcare's own
// CodeSystems and ValueSets (the content files of package content), with
// neither HTTP nor storage: a [Registry] is built once from the loaded
// resources and is safe for concurrent use.
//
// It implements the logic of the R4 terminology operations
// (https://hl7.org/fhir/R4/terminology-service.html):
//
//   - [Registry.Lookup]: CodeSystem $lookup — a concept's display,
//     definition, designations and properties.
//   - [Registry.ValidateCode] and [Registry.ValidateValueSetCode]: CodeSystem
//     and ValueSet $validate-code — result, message and display.
//   - [Registry.Expand]: ValueSet $expand, with a text filter and paging.
//
// and checks the codings of a resource against the code systems it holds
// ([Registry.CheckCodings]).
//
// # What is loaded
//
// Any CodeSystem: hierarchical concepts (nested concept elements, and
// additional parents in a "parent" property), declared properties of every
// R4 type, designations. Codes must be unique within a code system
// (R4 invariant csd-1) and every concept property must be declared, or New
// fails. Case sensitivity follows CodeSystem.caseSensitive: when it is not
// true, codes match whatever their case (R4: when the rule is not known,
// accept codes in any case).
//
// Any ValueSet whose compose includes and excludes codes by whole code
// system, by concept list, by filter (operators =, is-a, descendent-of,
// is-not-a, generalizes, in, not-in, exists and regex, on the concept
// hierarchy or on a property) and by other value sets; or a ValueSet that
// carries only an expansion. Every ValueSet is expanded when the registry
// is built; one that cannot be (it includes a whole code system the
// registry does not hold, say) answers its operations with an error.
//
// # Displays
//
// A display is valid when it is the concept's display or one of its
// designations (designations of use Definition, SNOMED CT 900000000000550004,
// are wording variants of the definition, not displays), compared without
// regard to case or runs of white space. $validate-code answers a wrong
// display with result false: R4 defines result as "true if the concept
// details supplied are valid", and the display is one of them. The message
// names the valid display, which is returned as display. CheckCodings, which
// checks resources being stored, reports a wrong display as a warning only.
package terminology
