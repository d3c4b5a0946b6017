// Package clinical holds matcare's clinical rules as pure functions, with
// no HTTP and no storage: callers pass JSON bodies and the canonical base
// (content.DefaultBase unless a deployment configures another; "" means
// the default) and get fhir.Issues or plain values back.
//
// Check holds a Patient, CarePlan or Goal to the matcare profiles that
// apply to it: those named in meta.profile, and those whose subject it
// carries (a CHI identifier, category mat-episode or benzo-care-plan, a
// benzo-goal-category); CheckProfile applies one profile, for $validate.
// Resources with none of this, such as the official R4 examples, are not
// held to matcare's rules. Errors (which refuse a write) are kept for data
// that contradicts its own definition: a CHI identifier that is not a
// CHI number, a malformed matcare extension; everything the measures or
// the seed's practice merely need is a warning or information.
// fhir/content holds a StructureDefinition per profile and extension.
//
// GoalReview judges a Goal update as a review (DOMAIN.md §2.3): every
// review is a new Goal version whose finding is the goal-review-finding
// extension; LifecycleTransition is its table of senseless lifecycle
// changes (errors) and doubtful ones (warnings); the Review it returns
// names the events to publish (goal-reviewed, relapse-recorded).
//
// ParseCHI and ValidCHI check Scotland's CHI number (DOMAIN.md §4.3);
// CHISystem is its identifier system.
//
// Diazepam equivalence (DOMAIN.md §3.3) is data: the versioned CodeSystem
// base/CodeSystem/benzodiazepine in fhir/content, read by LoadDrugs and
// DefaultDrugs. Equivalent gives a range, never a number for street or
// novel psychoactive benzodiazepines. A CarePlan activity names its drug
// in productCodeableConcept: a coding from that CodeSystem, or text and
// coding displays (a dm+d coding's, say) matching its synonyms
// (DrugTable.Identify).
package clinical
