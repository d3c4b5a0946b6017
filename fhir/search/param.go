// Package search is matcare's knowledge of FHIR R4 search, without HTTP or
// storage: the search parameters of the served types (one table, checked
// against the official SearchParameter definitions), the values a resource
// is indexed by, and the parsing of search requests (search.html).
package search

// Kind is a search parameter type (R4 SearchParamType).
type Kind string

// The R4 search parameter types.
const (
	Number    Kind = "number"
	Date      Kind = "date"
	String    Kind = "string"
	Token     Kind = "token"
	Reference Kind = "reference"
	Composite Kind = "composite"
	Quantity  Kind = "quantity"
	URI       Kind = "uri"
	Special   Kind = "special"
)

// Param is one search parameter of one resource type.
type Param struct {
	// Name is the code used in the query, e.g. "lifecycle-status".
	Name string
	// Kind is the parameter's type.
	Kind Kind
	// Type is the resource type the parameter belongs to; "Resource" for
	// the parameters every type has (_id, _lastUpdated, _tag, ...).
	Type string
	// Targets are the resource types a reference parameter may point to.
	Targets []string
	// Expression is the official FHIRPath expression, restricted to Type.
	Expression string
	// Paths are the element paths matcare extracts values from: dotted
	// element names from the resource root, through arrays; a choice
	// element is written with its type suffix (Goal.target.dueDate).
	// A reference parameter restricted to one target type
	// (".where(resolve() is Patient)") keeps only references to Targets.
	Paths []string
	// Components are the parameter names a composite combines.
	Components []string
	// Doc is a short description for the CapabilityStatement.
	Doc string

	// ComponentPaths are, for a composite, the paths of its Components
	// relative to each element at Paths (one per component, same order).
	ComponentPaths []string
	// DataType names the FHIR data type at Paths where the JSON shape
	// alone does not tell it: "ContactPoint" (a token on its value only,
	// never its system).
	DataType string
	// Computed names a built-in evaluation used instead of Paths, for an
	// expression that is not a path: "deceased" (Patient.deceased.exists()
	// and Patient.deceased != false: the token "true" or "false").
	Computed string
	// Unsupported, when set, says why matcare cannot evaluate the
	// parameter: Extract yields no values for it, and a query should
	// reject it (or ignore it under Prefer: handling=lenient) rather
	// than answer wrongly.
	Unsupported string
	// Note documents where matcare's evaluation is narrower than
	// Expression (e.g. a choice type it does not index).
	Note string
	// Custom marks a parameter matcare defines itself, not an official
	// R4 one. Its SearchParameter (testdata/custom) is at URL(), under
	// matcare's canonical base fhir/content.DefaultBase, which a
	// deployment's base replaces wherever it is published.
	Custom bool
}

// Supported reports whether matcare evaluates the parameter.
func (p Param) Supported() bool { return p.Unsupported == "" }
