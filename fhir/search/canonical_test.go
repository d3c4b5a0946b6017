package search

import "testing"

// TestURLMatchesOfficialDefinitions checks Param.URL against the url of
// every official definition, and that every shared definition is used.
func TestURLMatchesOfficialDefinitions(t *testing.T) {
	used := map[string]bool{}
	for _, d := range loadOfficial(t) {
		p, ok := byType[d.Base][d.Code]
		if !ok {
			continue // reported by TestTableMatchesOfficialDefinitions
		}
		if got := p.URL(); got != d.URL {
			t.Errorf("%s %s: URL() = %s, official %s", d.Base, d.Code, got, d.URL)
		}
		used[d.Base+" "+d.Code] = true
	}
	for k := range sharedDefinitions {
		if !used[k] {
			t.Errorf("sharedDefinitions[%q]: no such official definition", k)
		}
	}
}
