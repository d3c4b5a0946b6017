// Package questionnaire checks and scores QuestionnaireResponses against
// their Questionnaires, and derives the Observation of an SDS score. It is
// pure: no HTTP, no storage. Every function takes the resources as the
// JSON the client sent (after fhir.Parse) and never re-encodes it; the one
// edit it makes is the SDS total that Score adds.
//
// # On the write path
//
// When a Questionnaire is written:
//
//	issues := questionnaire.CheckQuestionnaire(body)
//
// When a QuestionnaireResponse is written, with q the Questionnaire its
// questionnaire element names (url, or url|version):
//
//	if err := questionnaire.Err(questionnaire.Validate(q, body)); err != nil {
//		return err // 422, nothing stored
//	}
//	res, issues := questionnaire.Score(q, body)
//	if err := questionnaire.Err(issues); err != nil {
//		return err // 422: a client total that disagrees
//	}
//	body = res.Response // the SDS total added, if it was missing
//	// store body; then, for the SDS, when status is completed or amended:
//	obs, err := questionnaire.SDSObservation(base, id, body)
//	// store obs in the same transaction
//
// All issues are of severity error, with FHIRPath expressions such as
// QuestionnaireResponse.item[2].item[0].answer[0]; Err makes them a
// *fhir.Error answered 422.
//
// # enableWhen
//
// An item is enabled when every enclosing item is enabled and its
// conditions hold: all of them with enableBehavior all, any one with any
// (also when enableBehavior is missing with several conditions, which
// CheckQuestionnaire reports). The operators follow R4's
// QuestionnaireItemOperator: exists compares "has an answer" with
// answerBoolean; = holds if some answer equals the condition's answer;
// != if none does, so also when the question is unanswered; >, <, >= and
// <= if some answer compares so (>= and <= also when an answer equals,
// even of a type without order). Integer and decimal compare as exact
// numbers, date and dateTime as the time ranges they cover (no order
// between overlapping ranges of different precision, so 2024-05-02 is
// neither before nor after 2024-05), time by its text, string by code
// point, Coding by code and (if the condition gives one) system,
// Quantity by value in the same unit (no unit conversion), reference by
// its reference string. Values of types that do not compare make a
// condition false. A question that is disabled counts as unanswered
// (R4: "as though the item is not valued"), and a dependency cycle is
// broken by counting the item being decided as disabled.
//
// Which occurrence of the question a condition reads: R4 says the
// nearest, tracing the ancestor, then the preceding, then the following
// axis. If the question encloses the item (a question with nested
// items), it is that enclosing occurrence. Otherwise the search stays
// within the innermost group instance or answer that encloses both the
// item and the question in the Questionnaire. So in a repeating group
// an item reads its own instance's answers only; if its instance left
// the question unanswered the condition sees no answer, and never
// borrows another instance's. Only when that scope holds several
// occurrences (the question is inside a repeating group that does not
// enclose the item) does order decide: the last one before the item,
// else the first after it.
//
// # Scores
//
// Score works for any Questionnaire whose choice answer options carry
// an ordinal value (OrdinalValueURL, ItemWeightURL or
// QuestionnaireOrdinalValueURL, on the answerOption or its
// valueCoding). The Severity of Dependence Scale (SDSPath) is the one
// instrument it knows: see Score for how its total is checked and added,
// and SDSObservation for the Observation.
//
// # The assessment
//
// The constants in bps.go name the linkIds of the bio-psycho-social
// assessment that other checks read (the high-risk flags, the
// prescribing decision, the informed consent); Answers reads them.
package questionnaire
