package fhir

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
)

// BoardSystem is the code system of the server-owned meta.security label
// that names a resource's health board.
const BoardSystem = "http://matcare.example/fhir/CodeSystem/health-board"

// Boards names the fourteen NHS Scotland territorial health boards by their
// 2019 codes (S08), used as the display of the board label. A board code
// that is not listed is still accepted; its label has no display.
var Boards = map[string]string{
	"S08000015": "NHS Ayrshire and Arran",
	"S08000016": "NHS Borders",
	"S08000017": "NHS Dumfries and Galloway",
	"S08000019": "NHS Forth Valley",
	"S08000020": "NHS Grampian",
	"S08000022": "NHS Highland",
	"S08000024": "NHS Lothian",
	"S08000025": "NHS Orkney",
	"S08000026": "NHS Shetland",
	"S08000028": "NHS Western Isles",
	"S08000029": "NHS Fife",
	"S08000030": "NHS Tayside",
	"S08000031": "NHS Greater Glasgow and Clyde",
	"S08000032": "NHS Lanarkshire",
}

// ValidBoard reports whether code can be a board code: the characters of
// a FHIR id (letters, digits, '-', '.'), 1 to 64 of them.
func ValidBoard(code string) bool { return ValidID(code) }

// Patients returns the ids of the patients whose compartment the resource
// is in: a Patient's own id (id given, since the server assigns it), and
// for other types the relative "Patient/<id>" references at the type's
// compartment paths. Absolute and contained references do not count.
func (r *Resource) Patients(id string) []string {
	if r.Type == "Patient" {
		return []string{id}
	}
	t := Types[r.Type]
	var out []string
	for _, path := range t.Compartment {
		first, rest, _ := strings.Cut(path, ".")
		v := r.get(first)
		if v == nil {
			continue
		}
		var doc any
		if err := json.Unmarshal(v, &doc); err != nil {
			continue
		}
		collectPatients(doc, rest, &out)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// collectPatients follows path (dot-separated, through arrays) from v and
// appends the patient id of every Reference found at its end.
func collectPatients(v any, path string, out *[]string) {
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			collectPatients(e, path, out)
		}
	case map[string]any:
		if path == "" {
			ref, _ := t["reference"].(string)
			if id, ok := patientRef(ref); ok {
				*out = append(*out, id)
			}
			return
		}
		first, rest, _ := strings.Cut(path, ".")
		collectPatients(t[first], rest, out)
	}
}

// patientRef returns the id of a relative reference "Patient/<id>" or
// "Patient/<id>/_history/<v>".
func patientRef(ref string) (string, bool) {
	rest, ok := strings.CutPrefix(ref, "Patient/")
	if !ok {
		return "", false
	}
	id, _, _ := strings.Cut(rest, "/_history/")
	return id, ValidID(id)
}

// boardLabel is the meta.security Coding for a board.
func boardLabel(board string) []byte {
	c := map[string]string{"system": BoardSystem, "code": board}
	if d, ok := Boards[board]; ok {
		c["display"] = d
	}
	b, _ := json.Marshal(c) // keys sorted: code, display, system
	return b
}

// stampSecurity returns meta.security with every label of BoardSystem the
// client sent removed and, if board is not empty, the board's label
// appended. Other labels are kept as sent. It returns nil when nothing is
// left.
func stampSecurity(raw json.RawMessage, board string) ([]byte, error) {
	var labels []json.RawMessage
	if raw != nil {
		if err := json.Unmarshal(raw, &labels); err != nil {
			return nil, err
		}
	}
	kept := labels[:0]
	for _, l := range labels {
		var c struct {
			System string `json:"system"`
		}
		if err := json.Unmarshal(l, &c); err == nil && c.System == BoardSystem {
			continue
		}
		kept = append(kept, l)
	}
	if board != "" {
		kept = append(kept, boardLabel(board))
	}
	if len(kept) == 0 {
		return nil, nil
	}
	var b bytes.Buffer
	b.WriteByte('[')
	for i, l := range kept {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(l)
	}
	b.WriteByte(']')
	return b.Bytes(), nil
}
