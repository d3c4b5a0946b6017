package api_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/matcare/matcare/fhir/clinical"
)

// guideFile is the integrator guide whose examples and tables the tests
// below hold to the server.
const guideFile = "INTEGRATOR-GUIDE.md"

// TestIntegratorGuide runs the worked examples of the integrator guide, in
// order, against a server with the content checks on and its content
// stored (as cmd/matcare stores it at start-up): every request must get
// the status, headers and body the guide shows.
func TestIntegratorGuide(t *testing.T) {
	text, err := os.ReadFile(guideFile)
	if err != nil {
		t.Fatal(err)
	}
	steps, err := parseGuide(string(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) < 20 {
		t.Fatalf("the guide has %d examples; its six worked examples have more", len(steps))
	}
	runGuide(t, newContentEnv(t), steps)
}

// finding is one issue a rule of package clinical can report: its
// severity and its diagnostics as a pattern, each value the code fills
// in (a format verb) a wildcard.
type finding struct {
	where, severity, pattern string
}

// rulePrefixes are the prefixes the rule functions of package clinical
// put before their diagnostics (checker.prefix). The prescribing checks,
// methods of prescriber, have none: theirs start with the check's id. A
// function missing here fails the test: a new rule set needs its rows in
// the guide.
var rulePrefixes = map[string]string{
	"claims":               "",
	"patientRules":         clinical.ProfilePatient + ": ",
	"carePlanRules":        "matcare: ",
	"goalRules":            "matcare: ",
	"checkExtensions":      "matcare: ", // called by carePlanRules and goalRules
	"checkOutreachConsent": "matcare: ",
	"checkGoalAcceptance":  "matcare: ",
	"episodeRules":         clinical.ProfileCarePlan + ": ",
	"benzoCarePlanRules":   clinical.ProfileBenzoCarePlan + ": ",
	"benzoGoalRules":       clinical.ProfileBenzoGoal + ": ",
	"GoalReview":           "goal review: ",
}

var formatVerb = regexp.MustCompile(`%[-+# 0-9.]*[sdqvgf]`)

// clinicalFindings reads every finding of package clinical's rules from
// its source: each call of checker.errorf, warnf and infof and of
// prescriber.report with a constant format. It also returns how many
// entries the Goal lifecycle transition table has.
func clinicalFindings(t *testing.T) (out []finding, transitions int) {
	t.Helper()
	fset := token.NewFileSet()
	names, err := filepath.Glob("../fhir/clinical/*.go")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	consts := map[string]string{} // BZ04 → "BZ-04"
	for _, file := range files {
		for _, d := range file.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, s := range gd.Specs {
				vs, ok := s.(*ast.ValueSpec)
				if !ok {
					continue
				}
				for i, name := range vs.Names {
					if i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							consts[name.Name], _ = strconv.Unquote(lit.Value)
						}
						if cl, ok := vs.Values[i].(*ast.CompositeLit); ok && name.Name == "transitions" {
							transitions = len(cl.Elts)
						}
					}
				}
			}
		}
	}
	for _, file := range files {
		for _, d := range file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				var severity, id string
				at := 2
				switch sel.Sel.Name {
				case "errorf":
					severity = "error"
				case "warnf":
					severity = "warning"
				case "infof":
					severity = "information"
				case "report":
					at = 3
					if len(call.Args) > at {
						s, _ := call.Args[0].(*ast.SelectorExpr)
						ident, _ := call.Args[1].(*ast.Ident)
						if s == nil || ident == nil || consts[ident.Name] == "" {
							t.Errorf("%s: a report call whose severity or check id is not a constant", fset.Position(call.Pos()))
							return true
						}
						severity = strings.ToLower(strings.TrimPrefix(s.Sel.Name, "IssueSeverity"))
						id = consts[ident.Name] + ": "
					}
				default:
					return true
				}
				where := fset.Position(call.Pos()).String()
				lit, ok := call.Args[at].(*ast.BasicLit)
				if len(call.Args) <= at || !ok || lit.Kind != token.STRING {
					t.Errorf("%s: a finding whose format is not a constant string", where)
					return true
				}
				format, _ := strconv.Unquote(lit.Value)
				prefix, known := rulePrefixes[fn.Name.Name]
				if receiver(fn) == "prescriber" {
					prefix, known = "", true
				}
				if !known {
					t.Errorf("%s: function %s reports findings; add its prefix to rulePrefixes and its rows to the guide", where, fn.Name.Name)
					return true
				}
				out = append(out, finding{where: where, severity: severity,
					pattern: prefix + id + formatVerb.ReplaceAllString(format, wildcard)})
				return true
			})
		}
	}
	return out, transitions
}

// receiver is the name of the type a method is declared on, "" for a
// function.
func receiver(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return ""
	}
	typ := fn.Recv.List[0].Type
	if star, ok := typ.(*ast.StarExpr); ok {
		typ = star.X
	}
	if id, ok := typ.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// guideFinding is a row of one of the guide's tables of findings: its
// last two cells are a severity and the diagnostics as a code span.
type guideFinding struct {
	line                  int
	severity, diagnostics string
}

var severities = map[string]bool{"error": true, "warning": true, "information": true}

// guideFindings reads the rows of the guide's tables of findings.
func guideFindings(text string) []guideFinding {
	var out []guideFinding
	for i, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		// Cells, split at the pipes Markdown does not escape.
		var cells []string
		var cell strings.Builder
		for j := 1; j < len(line); j++ {
			switch {
			case line[j] == '\\' && j+1 < len(line) && line[j+1] == '|':
				cell.WriteByte('|')
				j++
			case line[j] == '|':
				cells = append(cells, strings.TrimSpace(cell.String()))
				cell.Reset()
			default:
				cell.WriteByte(line[j])
			}
		}
		if len(cells) < 2 || !severities[cells[len(cells)-2]] || !strings.HasPrefix(cells[len(cells)-1], "`") {
			continue
		}
		diag, _, _ := strings.Cut(cells[len(cells)-1][1:], "`")
		out = append(out, guideFinding{line: i + 1, severity: cells[len(cells)-2], diagnostics: diag})
	}
	return out
}

// TestIntegratorGuideFindings holds the guide's tables of findings (the
// profiles, the goal reviews, the prescribing checks) to the code of
// package clinical: every finding the rules can report is one row with
// its severity and diagnostics, and every row is a finding. A Goal
// lifecycle row is checked by calling LifecycleTransition with the
// statuses it names.
func TestIntegratorGuideFindings(t *testing.T) {
	text, err := os.ReadFile(guideFile)
	if err != nil {
		t.Fatal(err)
	}
	rows := guideFindings(string(text))
	found, transitions := clinicalFindings(t)
	if len(found) < 50 || transitions == 0 {
		t.Fatalf("read %d findings and %d lifecycle transitions from package clinical: is the parse broken?", len(found), transitions)
	}
	lifecycle := regexp.MustCompile(`^goal review: lifecycleStatus (\S+) -> (\S+): `)
	matched := make([]int, len(found))
	whys := map[string]bool{}
	for _, row := range rows {
		if m := lifecycle.FindStringSubmatch(row.diagnostics); m != nil {
			is := clinical.LifecycleTransition(m[1], m[2])
			switch {
			case is == nil:
				t.Errorf("guide line %d: %s -> %s is allowed, the guide says %s", row.line, m[1], m[2], row.severity)
			case is.Severity.Code() != row.severity || is.Diagnostics != row.diagnostics:
				t.Errorf("guide line %d: %s -> %s is %s %q, the guide says %s %q", row.line, m[1], m[2], is.Severity.Code(), is.Diagnostics, row.severity, row.diagnostics)
			default:
				whys[is.Diagnostics[len(m[0]):]] = true
			}
			continue
		}
		n := 0
		for i, f := range found {
			if f.severity == row.severity && matchText(row.diagnostics, f.pattern) {
				matched[i]++
				n++
			}
		}
		if n == 0 {
			t.Errorf("guide line %d: no rule reports %s %q", row.line, row.severity, row.diagnostics)
		}
	}
	for i, f := range found {
		if matched[i] != 1 {
			t.Errorf("%s: %s %q is in %d rows of the guide's tables, want 1", f.where, f.severity, f.pattern, matched[i])
		}
	}
	if len(whys) != transitions {
		t.Errorf("the guide's lifecycle rows show %d of the %d lifecycle transitions judged", len(whys), transitions)
	}
}
