package synth

import (
	"fmt"
	"strings"

	"github.com/matcare/matcare/fhir"
)

// The board's directory: the health board, its Alcohol and Drug
// Partnerships (ADPs), the services that deliver MAT in each setting,
// GP practices and the practitioners who appear in care teams, plans
// and assessments.

// adpAreas are the council areas whose Alcohol and Drug Partnerships
// work with each health board (several councils share some ADPs). A
// board not listed gets one ADP named after the board.
var adpAreas = map[string][]string{
	"S08000015": {"East Ayrshire", "North Ayrshire", "South Ayrshire"},
	"S08000016": {"Scottish Borders"},
	"S08000017": {"Dumfries and Galloway"},
	"S08000019": {"Clackmannanshire and Stirling", "Falkirk"},
	"S08000020": {"Aberdeen City", "Aberdeenshire", "Moray"},
	"S08000022": {"Highland", "Argyll and Bute"},
	"S08000024": {"Edinburgh", "Midlothian and East Lothian", "West Lothian"},
	"S08000025": {"Orkney"},
	"S08000026": {"Shetland"},
	"S08000028": {"Western Isles"},
	"S08000029": {"Fife"},
	"S08000030": {"Angus", "Dundee City", "Perth and Kinross"},
	"S08000031": {"Glasgow City", "Renfrewshire", "West Dunbartonshire"},
	"S08000032": {"North Lanarkshire", "South Lanarkshire"},
}

type directory struct {
	board        string // Organization id of the health board
	adps         []*adp
	prison       string // the prison healthcare service
	hospital     string // the hospital addictions liaison service
	prescribers  []string
	psychologist string
	gps          []gpPractice
}

type adp struct {
	id, area            string
	community, outreach string // service Organization ids
	keyworkers          []string
}

type gpPractice struct {
	org, gp string // Organization and Practitioner ids
}

// service returns the Organization id of the service of a setting.
func (d *directory) service(a *adp, setting string) string {
	switch setting {
	case "prison":
		return d.prison
	case "hospital":
		return d.hospital
	case "outreach":
		return a.outreach
	}
	return a.community
}

// organizationType is a Coding of R4 organization-type.
func organizationType(code, display string) obj {
	return o("coding", []obj{o("system", "http://terminology.hl7.org/CodeSystem/organization-type", "code", code, "display", display)})
}

// directory writes the board's Organizations and Practitioners.
func (g *gen) directory() *directory {
	b := g.board
	d := &directory{board: "org-" + b}
	name := fhir.Boards[b]
	if name == "" {
		name = "Health board " + b
	}
	g.write(g.epochStart, "Organization", d.board, o(
		"resourceType", "Organization", "id", d.board, "meta", g.meta(""),
		"identifier", []obj{o("system", g.t.base+"/sid/health-board", "value", b)},
		"active", true,
		"type", []obj{organizationType("prov", "Healthcare Provider")},
		"name", name))
	areas := adpAreas[b]
	if len(areas) == 0 {
		areas = []string{strings.TrimPrefix(name, "NHS ")}
	}
	staff := 0
	practitioner := func(role, qualification string, female bool) string {
		staff++
		id := fmt.Sprintf("pr-%s-%02d", b, staff)
		gender, given := "male", pick(g.r, givenMale)
		if female {
			gender, given = "female", pick(g.r, givenFemale)
		}
		g.write(g.epochStart, "Practitioner", id, o(
			"resourceType", "Practitioner", "id", id, "meta", g.meta(""),
			"active", true,
			"name", []obj{o("use", "official", "family", pick(g.r, family), "given", []string{given}, "prefix", prefixFor(role))},
			"gender", gender,
			"qualification", []obj{o("code", o("text", qualification))}))
		return id
	}
	for k, area := range areas {
		a := &adp{id: fmt.Sprintf("org-%s-adp-%d", b, k+1), area: area}
		g.write(g.epochStart, "Organization", a.id, o(
			"resourceType", "Organization", "id", a.id, "meta", g.meta(""),
			"identifier", []obj{o("system", g.t.base+"/sid/adp", "value", slug(area))},
			"active", true,
			"type", []obj{organizationType("other", "Other")},
			"name", area+" Alcohol and Drug Partnership",
			"partOf", ref("Organization", d.board)))
		a.community = fmt.Sprintf("org-%s-adp-%d-community", b, k+1)
		a.outreach = fmt.Sprintf("org-%s-adp-%d-outreach", b, k+1)
		g.service(a.community, area+" Alcohol and Drug Recovery Service", a.id)
		g.service(a.outreach, area+" Assertive Outreach Team", a.id)
		for range 2 {
			a.keyworkers = append(a.keyworkers, practitioner("keyworker", pick(g.r, []string{
				"Registered Mental Health Nurse", "Recovery Worker", "Registered Nurse (Adult)", "Social Worker"}), chance(g.r, 60)))
		}
		d.adps = append(d.adps, a)
	}
	d.prison = fmt.Sprintf("org-%s-prison", b)
	d.hospital = fmt.Sprintf("org-%s-hospital", b)
	first := strings.TrimPrefix(name, "NHS ")
	g.service(d.prison, first+" Prison Healthcare Addictions Team", d.adps[0].id)
	g.service(d.hospital, first+" Addictions Liaison Service", d.adps[0].id)
	d.prescribers = append(d.prescribers,
		practitioner("doctor", "Consultant in Addiction Psychiatry", chance(g.r, 50)),
		practitioner("nmp", "Non-Medical Prescriber (Nurse Independent Prescriber)", chance(g.r, 70)))
	d.psychologist = practitioner("doctor", "Clinical Psychologist", chance(g.r, 60))
	for k := range 2 {
		org := fmt.Sprintf("org-%s-gp-%d", b, k+1)
		g.write(g.epochStart, "Organization", org, o(
			"resourceType", "Organization", "id", org, "meta", g.meta(""),
			"active", true,
			"type", []obj{organizationType("prov", "Healthcare Provider")},
			"name", pick(g.r, []string{"Riverside", "Parkview", "Kirkgate", "Bridge Street", "Abbey", "Castlebrae"})+" Medical Practice",
			"partOf", ref("Organization", d.board)))
		d.gps = append(d.gps, gpPractice{org: org, gp: practitioner("doctor", "General Practitioner", chance(g.r, 55))})
	}
	return d
}

// service writes a service Organization, part of an ADP.
func (g *gen) service(id, name, partOf string) {
	g.write(g.epochStart, "Organization", id, o(
		"resourceType", "Organization", "id", id, "meta", g.meta(""),
		"active", true,
		"type", []obj{organizationType("prov", "Healthcare Provider").with("text", "Drug and alcohol service")},
		"name", name,
		"partOf", ref("Organization", partOf)))
}

func prefixFor(role string) []string {
	if role == "doctor" {
		return []string{"Dr"}
	}
	return nil
}

func slug(s string) string {
	return strings.ToLower(strings.NewReplacer(" ", "-").Replace(s))
}
