// Package clinical holds matcare's clinical rules as pure functions, with
// no HTTP and no storage: callers pass JSON bodies and the canonical base
// (content.DefaultBase unless a deployment configures another; "" means
// the default) and get fhir.Issues or plain values back.
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
