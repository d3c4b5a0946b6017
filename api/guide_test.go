package api_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// The integrator guide's worked examples are executed here, in order,
// against a running server, so the guide cannot rot. An example is a
// fenced block of language "http request" (a request line with a path
// relative to the server root, headers, a blank line and a body)
// followed by a block "http response": the status line, the headers that
// must be present, and optionally, after a blank line, JSON that the
// response body must contain (jsonContains).
//
// Two conventions keep the examples readable and deterministic: the
// guide writes the service base as guideBase (go run ./cmd/matcare's
// default), read as the test server's base in expected headers and
// bodies; and "…" in an expected header value or JSON string stands for
// any run of characters (an id the server assigns, a timestamp).

// guideBase is the service base the guide's examples are written for.
const guideBase = "http://localhost:8080/fhir"

// wildcard in an expected header value or JSON string matches any run of
// characters, none included.
const wildcard = "…"

// matchText reports whether got matches want, in which each wildcard
// stands for any run of characters.
func matchText(got, want string) bool {
	parts := strings.Split(want, wildcard)
	if len(parts) == 1 {
		return got == want
	}
	first, last := parts[0], parts[len(parts)-1]
	if !strings.HasPrefix(got, first) {
		return false
	}
	got = got[len(first):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(got, p)
		if i < 0 {
			return false
		}
		got = got[i+len(p):]
	}
	return strings.HasSuffix(got, last)
}

// guideStep is one request of a guide and what its response must show.
type guideStep struct {
	line          int // of the request block, for messages
	method, path  string
	reqHeaders    http.Header
	reqBody       string
	status        int
	respHeaders   http.Header
	respContains  string
	responseGiven bool
}

// parseGuide reads the worked examples of a Markdown guide.
func parseGuide(text string) ([]guideStep, error) {
	var steps []guideStep
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	var block []string
	var kind string
	start := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		switch {
		case kind == "" && (line == "```http request" || line == "```http response"):
			kind, block, start = strings.TrimPrefix(line, "```http "), nil, n
		case kind != "" && line == "```":
			switch kind {
			case "request":
				st, err := parseRequest(block)
				if err != nil {
					return nil, fmt.Errorf("line %d: %w", start, err)
				}
				st.line = start
				steps = append(steps, st)
			case "response":
				if len(steps) == 0 || steps[len(steps)-1].responseGiven {
					return nil, fmt.Errorf("line %d: a response block without its request", start)
				}
				if err := parseResponse(block, &steps[len(steps)-1]); err != nil {
					return nil, fmt.Errorf("line %d: %w", start, err)
				}
			}
			kind = ""
		case kind != "":
			block = append(block, line)
		}
	}
	if kind != "" {
		return nil, fmt.Errorf("line %d: unterminated block", start)
	}
	for _, st := range steps {
		if !st.responseGiven {
			return nil, fmt.Errorf("line %d: a request without a response block", st.line)
		}
	}
	return steps, sc.Err()
}

// headerBlock splits lines into header lines and the body after the first
// blank line.
func headerBlock(lines []string) (http.Header, string, error) {
	h := http.Header{}
	for i, l := range lines {
		if strings.TrimSpace(l) == "" {
			return h, strings.Join(lines[i+1:], "\n"), nil
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			return nil, "", fmt.Errorf("%q is not a header line", l)
		}
		h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	return h, "", nil
}

func parseRequest(lines []string) (guideStep, error) {
	if len(lines) == 0 {
		return guideStep{}, fmt.Errorf("empty request")
	}
	f := strings.Fields(lines[0])
	if len(f) != 2 || !strings.HasPrefix(f[1], "/") {
		return guideStep{}, fmt.Errorf("request line %q: want METHOD /path", lines[0])
	}
	h, body, err := headerBlock(lines[1:])
	if err != nil {
		return guideStep{}, err
	}
	return guideStep{method: f[0], path: f[1], reqHeaders: h, reqBody: body}, nil
}

func parseResponse(lines []string, st *guideStep) error {
	if len(lines) == 0 {
		return fmt.Errorf("empty response")
	}
	f := strings.Fields(lines[0])
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/") {
		return fmt.Errorf("status line %q: want HTTP/1.1 201 Created", lines[0])
	}
	code, err := strconv.Atoi(f[1])
	if err != nil {
		return fmt.Errorf("status line %q: %w", lines[0], err)
	}
	h, body, err := headerBlock(lines[1:])
	if err != nil {
		return err
	}
	if strings.TrimSpace(body) != "" && !json.Valid([]byte(body)) {
		return fmt.Errorf("the expected body is not JSON")
	}
	st.status, st.respHeaders, st.respContains, st.responseGiven = code, h, body, true
	return nil
}

// jsonContains reports where got lacks what want states: every member of
// a wanted object must be in got's object with a containing value, every
// element of a wanted array must be contained by some element of got's
// array, and scalars must be equal (a wanted string with a wildcard must
// match). One exception makes a guide's outcomes complete: a wanted
// OperationOutcome lists every issue, so got must have exactly as many.
// "" means got contains want.
func jsonContains(got, want any, path string) string {
	switch w := want.(type) {
	case string:
		if g, ok := got.(string); ok && strings.Contains(w, wildcard) {
			if !matchText(g, w) {
				return fmt.Sprintf("%s: got %q, want %q", path, g, w)
			}
			return ""
		}
		if fmt.Sprint(got) != w {
			return fmt.Sprintf("%s: got %v, want %v", path, got, w)
		}
		return ""
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return path + ": want an object"
		}
		if w["resourceType"] == "OperationOutcome" {
			wi, _ := w["issue"].([]any)
			gi, _ := g["issue"].([]any)
			if _, listed := w["issue"]; listed && len(gi) != len(wi) {
				return fmt.Sprintf("%s.issue: %d issues, the guide lists %d", path, len(gi), len(wi))
			}
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				return path + "." + k + ": missing"
			}
			if d := jsonContains(gv, wv, path+"."+k); d != "" {
				return d
			}
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok {
			return path + ": want an array"
		}
		for i, wv := range w {
			found := false
			for _, gv := range g {
				if jsonContains(gv, wv, "") == "" {
					found = true
					break
				}
			}
			if !found {
				return fmt.Sprintf("%s[%d]: no element contains %s", path, i, mustJSONString(wv))
			}
		}
		return ""
	default:
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Sprintf("%s: got %v, want %v", path, got, want)
		}
		return ""
	}
}

func mustJSONString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// runGuide executes the steps against e, whose token is used unless a
// step sends its own Authorization.
func runGuide(t *testing.T, e *env, steps []guideStep) {
	t.Helper()
	for _, st := range steps {
		var hs []string
		for k, vs := range st.reqHeaders {
			hs = append(hs, k, strings.Join(vs, ", "))
		}
		res := e.do(st.method, e.srv.URL+st.path, st.reqBody, hs...)
		where := fmt.Sprintf("guide line %d: %s %s", st.line, st.method, st.path)
		if testing.Verbose() { // what a guide's author needs to write the expected response
			t.Logf("%s: %s %v\n%s", where, res.Status, res.Header, res.body)
		}
		if res.StatusCode != st.status {
			t.Fatalf("%s: status %d, the guide says %d: %s", where, res.StatusCode, st.status, res.body)
		}
		for k, vs := range st.respHeaders {
			want := strings.ReplaceAll(vs[0], guideBase, e.base)
			if _, present := res.Header[http.CanonicalHeaderKey(k)]; !present || !matchText(res.Header.Get(k), want) {
				t.Errorf("%s: header %s = %q, the guide says %q", where, k, res.Header.Get(k), want)
			}
		}
		if strings.TrimSpace(st.respContains) == "" {
			continue
		}
		var got, want any
		if err := json.Unmarshal(res.body, &got); err != nil {
			t.Fatalf("%s: the response is not JSON: %s", where, res.body)
		}
		if err := json.Unmarshal([]byte(strings.ReplaceAll(st.respContains, guideBase, e.base)), &want); err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		if d := jsonContains(got, want, "$"); d != "" {
			t.Errorf("%s: the response does not show what the guide says: %s\n%s", where, d, res.body)
		}
	}
}

func TestGuideParserAndMatcher(t *testing.T) {
	guide := "text\n```http request\nPUT /fhir/Patient/p1\nContent-Type: application/fhir+json\n\n{\"resourceType\":\"Patient\"}\n```\n" +
		"```http response\nHTTP/1.1 201 Created\nETag: W/\"1\"\n\n{\"resourceType\":\"Patient\"}\n```\n"
	steps, err := parseGuide(guide)
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 1 || steps[0].method != "PUT" || steps[0].path != "/fhir/Patient/p1" || steps[0].status != 201 ||
		steps[0].respHeaders.Get("ETag") != `W/"1"` || steps[0].reqBody != `{"resourceType":"Patient"}` {
		t.Fatalf("parsed %+v", steps)
	}
	for _, bad := range []string{
		"```http request\nPUT /x\n```\n",                                     // no response
		"```http response\nHTTP/1.1 200 OK\n```\n",                           // no request
		"```http request\nPUT x\n```\n```http response\nHTTP/1.1 200\n```\n", // relative path
		"```http request\nGET /x\n```\n```http response\nHTTP/1.1 200\n\n{bad\n```\n",
	} {
		if _, err := parseGuide(bad); err == nil {
			t.Errorf("parseGuide accepted %q", bad)
		}
	}
	for _, tt := range []struct {
		got, want string
		ok        bool
	}{
		{`W/"2"`, `W/"2"`, true},
		{`W/"2"`, `W/"1"`, false},
		{"http://h/fhir/Goal/x1/_history/1", "http://h/fhir/Goal/…/_history/1", true},
		{"http://h/fhir/Goal/x1/_history/12", "http://h/fhir/Goal/…/_history/1", false},
		{"abc", "…", true},
		{"", "…", true},
		{"abcabc", "a…c…c", true},
		{"abc", "a…bc…c", false},
		{"Mon, 02 Jan 2006", "…, … 2006", true},
	} {
		if got := matchText(tt.got, tt.want); got != tt.ok {
			t.Errorf("matchText(%q, %q) = %v", tt.got, tt.want, got)
		}
	}
	var doc any
	_ = json.Unmarshal([]byte(`{"a":1,"b":[{"c":"x","d":2},{"c":"y"}],"e":{"f":true},`+
		`"o":{"resourceType":"OperationOutcome","issue":[{"severity":"warning","code":"x"},{"severity":"information","code":"y"}]}}`), &doc)
	for _, tt := range []struct {
		want string
		ok   bool
	}{
		{`{"a":1}`, true},
		{`{"b":[{"c":"y"}],"e":{}}`, true},
		{`{"b":[{"c":"x","d":2},{"c":"y"}]}`, true},
		{`{"a":2}`, false},
		{`{"b":[{"c":"z"}]}`, false},
		{`{"e":{"f":false}}`, false},
		{`{"g":null}`, false},
		{`{"a":[1]}`, false},
		{`{"b":[{"c":"…"}]}`, true},
		{`{"b":[{"c":"x…"}]}`, true},
		{`{"b":[{"c":"…z"}]}`, false},
		{`{"a":"…"}`, false}, // a wildcard matches strings only
		{`{"o":{"resourceType":"OperationOutcome","issue":[{"severity":"warning"}]}}`, false}, // two issues, one listed
		{`{"o":{"resourceType":"OperationOutcome","issue":[{"severity":"warning"},{"code":"x"}]}}`, true},
		{`{"o":{"resourceType":"OperationOutcome"}}`, true}, // issues not listed: not counted
	} {
		var w any
		if err := json.Unmarshal([]byte(tt.want), &w); err != nil {
			t.Fatal(err)
		}
		if d := jsonContains(doc, w, "$"); (d == "") != tt.ok {
			t.Errorf("jsonContains(%s) = %q, want ok=%v", tt.want, d, tt.ok)
		}
	}
}
