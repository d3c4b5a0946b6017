// Package clinical holds matcare's clinical rules as pure functions: the
// matcare profiles of Patient, CarePlan and Goal, the CHI number, goal
// reviews between two versions of a Goal, the benzodiazepine prescribing
// checks BZ-01 to BZ-12 and diazepam equivalence (DOMAIN.md §2, §3.3,
// §4.3). It knows no HTTP and no storage: callers pass JSON bodies and
// get fhir.Issues back, to put in an OperationOutcome (fhir.Outcome).
//
// Every function takes the canonical base (content.DefaultBase,
// http://matcare.example/fhir, unless a deployment configures another;
// "" means the default, a trailing slash is ignored): matcare's
// CodeSystems are base/CodeSystem/<id>, its profiles and extensions
// base/StructureDefinition/<id>, as in the content files (fhir/content),
// which define each profile, extension and the prescribing checks.
//
// # API
//
//   - Check(base, type, body): the profiles that apply to a Patient,
//     CarePlan or Goal. CheckProfile(base, url, type, body): one profile,
//     as $validate's profile parameter asks. ProfileURLs lists them.
//   - Prescribing(base, carePlan, PrescribingContext): BZ-01..BZ-12 on a
//     CarePlan's benzodiazepine prescriptions, with the context the
//     service gathers (the person's other active plans, the linked Goals,
//     the plan's previous version, the latest BPS assessment).
//   - GoalReview(base, prev, next): a Goal update judged as a review
//     (lifecycle transitions, finding, review dates) and the events to
//     publish (goal-reviewed, relapse-recorded). LifecycleTransition is
//     its transition table alone.
//   - ParseCHI, ValidCHI, CHISystem: the CHI number.
//   - Equivalent, DrugTable: diazepam equivalence from the versioned
//     CodeSystem benzodiazepine; DrugTable.Identify names the drug of an
//     activity's product.
//   - HasErrors: whether issues refuse a write.
//
// # Where the write path and $validate call it
//
// After fhir.Parse accepted a body (and after a transaction rewrote its
// references): Check on every Patient, CarePlan and Goal; Prescribing on
// every CarePlan (it returns nil at once for a plan without a
// benzodiazepine prescription); GoalReview on every Goal update, with the
// stored current version (and on create with prev nil: it gives the
// goal-reviewed event). If HasErrors, answer 422 with all issues and
// store nothing; otherwise store, publish Review.Events, and return the
// warnings when the client sends Prefer: return=OperationOutcome.
// $validate returns every issue; with a profile parameter it calls
// CheckProfile instead of Check. A Goal review that lapses while the same
// transaction stops the prescription (DOMAIN.md §2.3) involves two
// resources and is the service's to check.
//
// # When profiles apply
//
// A profile applies to a resource that names it in meta.profile, or that
// carries what the profile is about: a Patient with a CHI identifier
// (matcare-patient), a CarePlan with category mat-episode
// (matcare-careplan) or benzo-care-plan (matcare-benzo-careplan), a Goal
// with a benzo-goal-category category (matcare-benzo-goal). Any other
// CarePlan or Goal with a category from a matcare CodeSystem meets the
// rules all matcare CarePlans or Goals share (extension shapes, subject,
// activities, expressedBy). Anything else, such as the official R4
// examples, is not held to matcare's rules at all. The rules of each
// profile are listed at the function that checks them: patientRules,
// carePlanRules, episodeRules, benzoCarePlanRules, goalRules,
// benzoGoalRules.
//
// # Severities
//
// Care is never blocked by a missing element (DOMAIN.md: a decision not
// to prescribe may perpetuate harm). Errors, which refuse a write, are
// kept for data that contradicts its own definition:
//
//   - an identifier in the CHI system that is not a CHI number;
//   - a matcare extension (or goal-acceptance) of the wrong shape: wrong
//     value[x], twice where once is allowed, a code from another system;
//   - a benzodiazepine daily dose in a unit that is not a mass (BZ-01);
//   - a senseless Goal lifecycle transition (LifecycleTransition).
//
// What the measures or the seed's practice need but the data lack is a
// warning; advice is information. Error issues use the codes invariant
// and business-rule, which fhir.StatusOf maps to 422.
//
// # Modelling choices
//
// A goal review is a new Goal version. Its finding is the extension
// base/StructureDefinition/goal-review-finding (valueCoding from
// base/CodeSystem/goal-review-finding) on the Goal: the finding of the
// review that produced this version, with statusDate its day,
// statusReason its words and next-review-date the review agreed next.
// One place on the Goal itself keeps a review's finding, progress and
// next date in the same version, which Goal.outcomeCode (a list with no
// link to a review) and a CarePlan activity outcome (another resource,
// another write) do not.
//
// A CarePlan activity names its drug in productCodeableConcept: a coding
// from base/CodeSystem/benzodiazepine is read first; otherwise the
// product's text and its codings' displays (a dm+d coding's, say) are
// matched against the synonyms of that CodeSystem (designations, such as
// "valium", "street valium", "blues"); a text naming two drugs names
// none. dm+d codes themselves are not mapped: no dm+d table is embedded.
// Street and novel psychoactive benzodiazepines are recognised but never
// given an equivalent, and diazepam is never assumed for them.
//
// The BPS assessment items the prescribing checks read are the Link*
// constants (bps.go), one block to align with the bps-benzo
// Questionnaire.
package clinical
