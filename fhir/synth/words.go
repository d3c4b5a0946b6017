package synth

// Names and words of the generated resources. Every person is made up;
// phone numbers are in Ofcom's range for drama (07700 900000-900999).

var (
	givenMale   = []string{"Callum", "Fraser", "Lewis", "Rory", "Struan", "Euan", "Hamish", "Craig", "Scott", "Jamie", "Ross", "Gary", "Stephen", "Darren", "Kyle", "Connor"}
	givenFemale = []string{"Ailsa", "Eilidh", "Isla", "Morag", "Skye", "Kirsty", "Shona", "Mhairi", "Nicola", "Lisa", "Gemma", "Donna", "Lauren", "Fiona", "Leanne", "Carly"}
	family      = []string{"Campbell", "MacDonald", "Stewart", "Robertson", "Thomson", "Anderson", "Scott", "Murray", "MacLeod", "Reid", "Ross", "Paterson", "Fraser", "Kerr", "Gray", "Hamilton", "Boyle", "Docherty", "McGregor", "Wilson"}
)

// relations are RelatedPerson relationships (v3-RoleCode).
var relations = []struct{ code, display string }{
	{"MTH", "mother"}, {"FTH", "father"}, {"SIS", "sister"}, {"BRO", "brother"}, {"SPS", "spouse"}, {"FRND", "unrelated friend"},
}

// goalTexts are the words people and workers give each kind of goal.
var goalTexts = map[string][]string{
	"immediate-harm-reduction": {"Carry naloxone and never use alone", "Stop mixing street benzos with alcohol",
		"Use from one known supply and test a small amount first"},
	"psychosocial-intervention": {"Attend weekly coping-skills sessions", "Work on sleep and anxiety without street benzos",
		"Go to the peer support group every week"},
	"supported-self-reduction": {"Cut street benzos to no more than 2 days a week", "Halve my street benzo use by the next review",
		"No benzos on the days I collect my methadone"},
	"medication-assisted-detox": {"Complete a diazepam taper over 12 weeks", "Come off benzodiazepines with a planned reducing dose"},
	"medication-assisted-stabilisation": {"Stable on prescribed diazepam, no street supply",
		"Take my diazepam as prescribed and stop topping up"},
	"motivational-enhancement": {"Think through what I want from my benzo use", "Decide whether I want to change my benzo use"},
}

// matGoalTexts are the MAT medication goals, by OST.
var matGoalTexts = map[string]string{
	"methadone": "Find the methadone dose that holds me and stay on it",
	"bup-sl":    "Settle on buprenorphine at a dose that stops the cravings",
	"depot":     "Keep up the monthly buprenorphine injection",
	"switch":    "Move from methadone to the monthly injection",
	"declined":  "Decide about opioid substitution when I am ready",
}

var stopCriteria = []string{
	"Stop criteria agreed with the person: prescription stopped if intoxicated at two pick-ups in a week, after a non-fatal overdose, or if prescribed doses are diverted; reviewed before any dose increase.",
	"Stopped if the person presents intoxicated repeatedly or misses three days of collection; any overdose prompts an urgent review before the next instalment.",
}

var (
	reasonProgressing = []string{"Fewer days of street use; plan unchanged", "Keeping to the plan; no street benzos since the last review",
		"Engaging well with the keyworker; plan unchanged"}
	reasonLapse       = []string{"Lapse: used street benzos after a bereavement; plan unchanged", "Lapse over a weekend after losing the tenancy; responded to compassionately, plan unchanged"}
	reasonRelapse     = []string{"Relapse: back to daily street benzos and topping up; assessment, formulation and prescription to be revisited"}
	reasonIntoxicated = []string{"Presented intoxicated at the pharmacy; dose withheld that day, reviewed with the person"}
	reasonOverdose    = []string{"Non-fatal overdose since the last review (street benzos and alcohol); naloxone used by a friend"}
	reasonConcern     = []string{"Concern raised by the pharmacist about missed pick-ups", "Concern raised by family about increased use"}
	reasonNotRelevant = []string{"Goal no longer relevant: the person now wants to stabilise on a prescription rather than cut down alone"}
	reasonMet         = []string{"Goal met: agreed with the person", "Goal met; the person wants to keep the gains"}
	reasonIncrease    = "Dose increased after withdrawal symptoms and a lapse; the taper resumes at the next review."
	typicalDay        = []string{"Wakes early with withdrawal, buys street valium before noon, uses through the day",
		"Uses street benzos in the evening to sleep; heavier at weekends", "Tops up methadone with street benzos most afternoons"}
	formulationTexts = map[string][]string{
		"formulation.presenting":    {"Daily street benzodiazepine use with blackouts and a recent overdose", "Escalating use of street 'blues' alongside methadone, poor sleep"},
		"formulation.predisposing":  {"Childhood trauma and early loss; anxiety since adolescence", "Long history of opioid use; family history of alcohol problems"},
		"formulation.precipitating": {"Bereavement and loss of tenancy this year", "Release from prison three months ago"},
		"formulation.perpetuating":  {"Withdrawal on stopping, insomnia, an easy street supply", "Isolation and debt; using to manage panic"},
		"formulation.protective":    {"Close to a sister; wants to see the children more", "Previous abstinence of a year; good rapport with the keyworker"},
	}
)
