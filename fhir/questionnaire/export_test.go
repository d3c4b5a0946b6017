package questionnaire

// For the external tests.
type (
	Want = want
)

var CheckIssues = checkIssues
