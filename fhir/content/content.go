// Package content holds matcare's clinical content: the CodeSystems,
// ValueSets, StructureDefinitions and Questionnaires of DOMAIN.md, as FHIR
// JSON files in this directory, embedded in the binary and loaded at
// start-up.
//
// Every canonical URL in the files is written under DefaultBase
// (http://matcare.example/fhir). Load replaces that prefix with the base a
// deployment configures (MATCARE_CANONICAL_BASE), so one setting moves all
// of matcare's canonicals; nothing else in a file changes.
//
// File names are <Type>-<id>.json: the resource type and the id the
// resource is stored under.
package content

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// DefaultBase is the canonical base the content files are written under.
const DefaultBase = "http://matcare.example/fhir"

//go:embed *.json
var files embed.FS

// Resource is one content file after the base was substituted.
type Resource struct {
	// Type and ID name the resource, from its file name (checked against
	// its resourceType and id).
	Type, ID string
	// URL is the resource's canonical url (empty if it has none).
	URL string
	// Body is the file's JSON with DefaultBase replaced.
	Body []byte
}

// Load returns every content resource with DefaultBase replaced by base
// (no trailing slash), sorted by file name.
func Load(base string) ([]Resource, error) {
	base = strings.TrimSuffix(base, "/")
	if base == "" {
		base = DefaultBase
	}
	names, err := fs.Glob(files, "*.json")
	if err != nil {
		return nil, err
	}
	out := make([]Resource, 0, len(names))
	for _, name := range names { // fs.Glob sorts.
		raw, err := files.ReadFile(name)
		if err != nil {
			return nil, err
		}
		typ, id, ok := strings.Cut(strings.TrimSuffix(path.Base(name), ".json"), "-")
		if !ok {
			return nil, fmt.Errorf("content: %s: want <Type>-<id>.json", name)
		}
		body := bytes.ReplaceAll(raw, []byte(DefaultBase), []byte(base))
		var head struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
			URL          string `json:"url"`
		}
		if err := json.Unmarshal(body, &head); err != nil {
			return nil, fmt.Errorf("content: %s: %w", name, err)
		}
		if head.ResourceType != typ || head.ID != id {
			return nil, fmt.Errorf("content: %s holds %s/%s", name, head.ResourceType, head.ID)
		}
		out = append(out, Resource{Type: typ, ID: id, URL: head.URL, Body: body})
	}
	return out, nil
}
