package api_test

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// page is one searchset page: its match entries in order and its links.
type page struct {
	url       string
	ids       []string
	resources []map[string]any
	links     map[string]string
	total     any
}

// getPage reads one page of a search (path relative to the base, or a
// link's absolute URL).
func getPage(t *testing.T, e *env, path string) page {
	t.Helper()
	r := e.do("GET", path, "")
	wantStatus(t, r, http.StatusOK)
	b := r.json(t)
	p := page{url: path, links: map[string]string{}, total: b["total"]}
	for _, x := range asSlice(b["entry"]) {
		en := x.(map[string]any)
		if s, _ := en["search"].(map[string]any); s["mode"] == "match" {
			res := en["resource"].(map[string]any)
			p.ids = append(p.ids, res["id"].(string))
			p.resources = append(p.resources, res)
		}
	}
	for _, l := range asSlice(b["link"]) {
		lm := l.(map[string]any)
		rel := lm["relation"].(string)
		if _, dup := p.links[rel]; dup {
			t.Errorf("%s: two %q links", path, rel)
		}
		p.links[rel] = lm["url"].(string)
	}
	return p
}

// try sends a request without failing the test, for goroutines other
// than the test's own.
func try(e *env, method, path, body string) (int, []byte, error) {
	req, err := http.NewRequest(method, e.base+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// pagingGoal is a Goal with the given status, target date ("" for none)
// and description.
func pagingGoal(id, status, due, desc string) string {
	target := ""
	if due != "" {
		target = `,"target":[{"dueDate":"` + due + `"}]`
	}
	return `{"resourceType":"Goal","id":"` + id + `","lifecycleStatus":"` + status + `","description":{"text":"` + desc +
		`"},"subject":{"reference":"Patient/p1"}` + target + `}`
}

// parallel runs f(i) for i in [0, n) on workers goroutines and fails the
// test with the first error.
func parallel(t *testing.T, n, workers int, f func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	var first atomic.Pointer[error]
	next := atomic.Int64{}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					first.CompareAndSwap(nil, &err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := first.Load(); err != nil {
		t.Fatal(*err)
	}
}

// TestSearchPagingUnderWrites walks Goal?lifecycle-status=active seven
// at a time, over 1,000 matches, while another client creates, updates,
// cancels and deletes goals. Keyset paging guarantees, whatever the
// writes: every match that was not written during the walk appears
// exactly once; every entry matched when its page was read, and none had
// stopped matching (or been deleted) before its page was asked for; the
// entries come in strictly increasing sort order across pages (keys as
// read); and no id appears twice unless a write moved it forward in the
// order (in the walk by target date, where the writer changes dates).
//
// Each page scans the collection on the embedded server, so the walks
// over 1,000 matches take minutes: they run with MATCARE_TEST_FULL=1 (as
// CI does, in a step of its own); otherwise there are 150 matches.
func TestSearchPagingUnderWrites(t *testing.T) {
	matching, other := 1000, 100
	if os.Getenv("MATCARE_TEST_FULL") != "1" {
		matching, other = 150, 30
	}
	e := newEnv(t)
	writer := e.as(fullScope, boardA, "sub", "paging-writer")
	rng := rand.New(rand.NewPCG(1, 2))

	// due is the target date of a goal: none for one in seven, otherwise
	// one of 1,500 days (so many goals share one).
	dueOf := map[string]string{}
	due := func(n int) string {
		if n%7 == 0 {
			return ""
		}
		return time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, (n*37)%1500).Format(time.DateOnly)
	}
	ids := make([]string, matching+other)
	for i := range ids {
		ids[i] = fmt.Sprintf("m%04d", i)
		if i >= matching {
			ids[i] = fmt.Sprintf("n%04d", i)
		}
		dueOf[ids[i]] = due(i)
	}
	rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	start := time.Now()
	parallel(t, len(ids), 4, func(i int) error {
		id := ids[i]
		status := "active"
		if id[0] == 'n' {
			status = []string{"cancelled", "completed", "proposed"}[i%3]
		}
		code, body, err := try(e, "PUT", "/Goal/"+id, pagingGoal(id, status, dueOf[id], "goal "+id))
		if err == nil && code != http.StatusCreated {
			err = fmt.Errorf("PUT %s: %d %s", id, code, body)
		}
		return err
	})
	t.Logf("loaded %d goals in %v", len(ids), time.Since(start))

	// The model of the data: the matching ids, written by the writer
	// goroutine under mu while a walk runs.
	var mu sync.Mutex
	active := map[string]bool{}
	for _, id := range ids {
		if id[0] == 'm' {
			active[id] = true
		}
	}

	for wi, tt := range []struct {
		name, sort string
		key        func(res map[string]any) []string // sort key as read; last element the id
		desc       []bool
		// move: the writer also changes target dates, moving goals in
		// the order (a goal moved forward may be seen twice).
		move bool
	}{
		{"default", "", func(r map[string]any) []string { return []string{r["id"].(string)} }, []bool{false}, false},
		{"-_lastUpdated", "-_lastUpdated", func(r map[string]any) []string {
			return []string{r["meta"].(map[string]any)["lastUpdated"].(string), r["id"].(string)}
		}, []bool{true, false}, false},
		{"target-date,-_id", "target-date,-_id", func(r map[string]any) []string {
			return []string{dueAsRead(r), r["id"].(string)}
		}, []bool{false, true}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.t, writer.t = t, t
			mu.Lock()
			atStart := map[string]bool{}
			var pool []string
			for id := range active {
				atStart[id] = true
				pool = append(pool, id)
			}
			mu.Unlock()
			slices.Sort(pool)

			var (
				touched = map[string]bool{} // every id the writer wrote
				created = map[string]bool{}
				moved   = map[string]bool{} // whose sort key the writer changed
				goneAt  = map[string]int64{}
				seq     atomic.Int64 // counts the writes that ended a match
				ops     = map[string]int{}
				signal  = make(chan struct{}, 1)
				done    = make(chan struct{})
			)
			// The writer makes three writes each time the reader has read a
			// page, while the reader reads the next one.
			go func() {
				defer close(done)
				n := 0
				for range signal {
					for range 3 {
						op := rng.IntN(100)
						mu.Lock()
						if len(pool) == 0 {
							op = 0
						}
						var id, body, method = "", "", "PUT"
						switch {
						case op < 25:
							id = fmt.Sprintf("w%d-%03d", wi, n)
							n++
							dueOf[id] = due(rng.IntN(3000))
							body, ops["create"] = pagingGoal(id, "active", dueOf[id], "new"), ops["create"]+1
							created[id], active[id] = true, true
							pool = append(pool, id)
						case op < 60:
							id = pool[rng.IntN(len(pool))]
							if tt.move && rng.IntN(2) == 0 {
								dueOf[id] = due(rng.IntN(3000))
								moved[id] = true
								ops["move"]++
							} else {
								ops["describe"]++
							}
							body = pagingGoal(id, "active", dueOf[id], fmt.Sprintf("Révisé %d", rng.IntN(1000)))
						case op < 80:
							k := rng.IntN(len(pool))
							id = pool[k]
							pool = slices.Delete(pool, k, k+1)
							delete(active, id)
							body, ops["cancel"] = pagingGoal(id, "cancelled", dueOf[id], "cancelled"), ops["cancel"]+1
						default:
							k := rng.IntN(len(pool))
							id = pool[k]
							pool = slices.Delete(pool, k, k+1)
							delete(active, id)
							method, ops["delete"] = "DELETE", ops["delete"]+1
						}
						touched[id] = true
						mu.Unlock()
						code, b, err := try(writer, method, "/Goal/"+id, body)
						if err != nil || code >= 300 {
							t.Errorf("writer: %s %s: %d %s %v", method, id, code, b, err)
							continue
						}
						if method == "DELETE" || strings.Contains(body, `"cancelled"`) {
							mu.Lock()
							goneAt[id] = seq.Add(1)
							mu.Unlock()
						}
					}
				}
			}()

			start := time.Now()
			seen := map[string]int{}
			var prev []string
			pages := 0
			next := "/Goal?lifecycle-status=active&_count=7"
			if tt.sort != "" {
				next += "&_sort=" + tt.sort
			}
			for next != "" {
				if pages++; pages > 1000 {
					t.Fatal("more than 1,000 pages")
				}
				before := seq.Load()
				p := getPage(t, e, next)
				select {
				case signal <- struct{}{}:
				default:
				}
				if len(p.ids) > 7 || len(p.ids) == 0 {
					t.Errorf("page %d has %d entries", pages, len(p.ids))
				}
				mu.Lock()
				for i, id := range p.ids {
					res := p.resources[i]
					seen[id]++
					if s := res["lifecycleStatus"]; s != "active" {
						t.Errorf("page %d: %s has lifecycleStatus %v", pages, id, s)
					}
					if at, ok := goneAt[id]; ok && at <= before {
						t.Errorf("page %d: %s had stopped matching before the page was asked for", pages, id)
					}
					if !atStart[id] && !created[id] {
						t.Errorf("page %d: %s never matched", pages, id)
					}
					k := tt.key(res)
					if prev != nil && !keyLess(prev, k, tt.desc) {
						t.Errorf("page %d: %v comes after %v", pages, k, prev)
					}
					prev = k
				}
				mu.Unlock()
				next = p.links["next"]
			}
			close(signal)
			<-done
			elapsed := time.Since(start)

			missing, twice := 0, 0
			for id := range atStart {
				if !touched[id] && seen[id] != 1 {
					missing++
					if missing <= 10 {
						t.Errorf("untouched match %s seen %d times", id, seen[id])
					}
				}
			}
			for id, n := range seen {
				if n > 1 && !moved[id] {
					twice++
					t.Errorf("%s seen %d times", id, n)
				}
			}
			untouched := 0
			for id := range atStart {
				if !touched[id] {
					untouched++
				}
			}
			if untouched < matching/2 || len(touched) < matching/10 {
				t.Errorf("the walk proves little: %d untouched matches, %d written", untouched, len(touched))
			}
			t.Logf("%d pages, %d distinct entries in %v; %d matches at the start, %d untouched; writes %v; %d untouched missing or repeated",
				pages, len(seen), elapsed, len(atStart), untouched, ops, missing)
		})
	}
}

// dueAsRead is the target-date sort key of a goal as read: its due date,
// "" when it has none.
func dueAsRead(r map[string]any) string {
	for _, x := range asSlice(r["target"]) {
		if d, ok := x.(map[string]any)["dueDate"].(string); ok {
			return d
		}
	}
	return ""
}

// keyLess reports whether key a sorts strictly before b, key by key
// (desc[i] for descending keys).
func keyLess(a, b []string, desc []bool) bool {
	for i := range a {
		if c := cmp.Compare(a[i], b[i]); c != 0 {
			return (c < 0) != desc[i]
		}
	}
	return false
}

// orderGoal is one goal of TestSearchPagingOrder's data.
type orderGoal struct {
	id, status, achievement, subject, due, start string
	categories                                   []string
	lastUpdated                                  string
	body                                         string
}

// sortKey is g's key for a search parameter, as the test defines the
// order: a date's earliest instant, a token's least code, a reference as
// written; "" when g has no value (first ascending, last descending).
func (g orderGoal) sortKey(param string) string {
	switch param {
	case "_id":
		return g.id
	case "_lastUpdated":
		return g.lastUpdated
	case "lifecycle-status":
		return g.status
	case "achievement-status":
		return g.achievement
	case "category":
		if len(g.categories) == 0 {
			return ""
		}
		return slices.Min(g.categories)
	case "subject":
		return g.subject
	case "patient":
		if strings.HasPrefix(g.subject, "Patient/") {
			return g.subject
		}
		return ""
	case "target-date":
		return padDate(g.due)
	case "start-date":
		return padDate(g.start)
	}
	panic("no sort key for " + param)
}

// padDate is the first day of a partial date.
func padDate(d string) string {
	switch len(d) {
	case 4:
		return d + "-01-01"
	case 7:
		return d + "-01"
	}
	return d
}

// expectedOrder sorts goals as _sort=spec should: key by key, then by
// id ascending unless _id is one of the keys (which ends the order).
func expectedOrder(goals []orderGoal, spec string) []string {
	type key struct {
		param string
		desc  bool
	}
	var keys []key
	for _, k := range strings.Split(spec, ",") {
		if k == "" {
			continue
		}
		p, desc := strings.CutPrefix(k, "-")
		keys = append(keys, key{p, desc})
		if p == "_id" {
			break
		}
	}
	if len(keys) == 0 || keys[len(keys)-1].param != "_id" {
		keys = append(keys, key{"_id", false})
	}
	sorted := slices.Clone(goals)
	slices.SortStableFunc(sorted, func(a, b orderGoal) int {
		for _, k := range keys {
			if c := cmp.Compare(a.sortKey(k.param), b.sortKey(k.param)); c != 0 {
				if k.desc {
					return -c
				}
				return c
			}
		}
		return 0
	})
	var out []string
	for _, g := range sorted {
		out = append(out, g.id)
	}
	return out
}

// orderData makes TestSearchPagingOrder's goals: ids of every FHIR id
// character class, statuses, optional achievement statuses, categories
// (none, one or two codes, cased and accented), subjects (patients and a
// group), full and partial target and start dates, some missing.
func orderData(rng *rand.Rand) []orderGoal {
	const chars = "-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	statuses := []string{"active", "active", "completed", "on-hold", "proposed", "cancelled"}
	achievements := []string{"in-progress", "improving", "achieved", "not-achieved"}
	cats := []string{"dietary", "Dietary", "behavioral", "éducation", "Zeta", "physiotherapy", "ÉDUCATION"}
	descs := []string{"Marcher 5 km", "marcher", "Réduire l'HbA1c", "RÉDUIRE", "Ægir", "zèbre", "Zebra"}
	date := func() string {
		d := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rng.IntN(800)).Format(time.DateOnly)
		switch rng.IntN(5) {
		case 0:
			return d[:4]
		case 1:
			return d[:7]
		}
		return d
	}
	seen := map[string]bool{}
	var goals []orderGoal
	for i := 0; len(goals) < 60; i++ {
		var id strings.Builder
		for range 1 + rng.IntN(6) {
			id.WriteByte(chars[rng.IntN(len(chars))])
		}
		if seen[id.String()] {
			continue
		}
		seen[id.String()] = true
		g := orderGoal{id: id.String(), status: statuses[i%len(statuses)], subject: fmt.Sprintf("Patient/p%d", i%7)}
		if i%4 != 0 {
			g.achievement = achievements[rng.IntN(len(achievements))]
		}
		switch {
		case i%5 == 0:
		case i%9 == 0:
			g.categories = []string{cats[rng.IntN(len(cats))], cats[rng.IntN(len(cats))]}
		default:
			g.categories = []string{cats[rng.IntN(len(cats))]}
		}
		if i%11 == 0 {
			g.subject = "Group/grp1"
		}
		if i%6 != 0 {
			g.due = date()
		}
		if i%3 != 0 {
			g.start = date()
		}
		m := map[string]any{"resourceType": "Goal", "id": g.id, "lifecycleStatus": g.status,
			"description": map[string]any{"text": descs[i%len(descs)]}, "subject": map[string]any{"reference": g.subject}}
		if g.achievement != "" {
			m["achievementStatus"] = map[string]any{"coding": []any{map[string]any{
				"system": "http://terminology.hl7.org/CodeSystem/goal-achievement", "code": g.achievement}}}
		}
		var cc []any
		for _, c := range g.categories {
			cc = append(cc, map[string]any{"coding": []any{map[string]any{"system": "http://example.org/cat", "code": c}}, "text": strings.ToUpper(c)})
		}
		if cc != nil {
			m["category"] = cc
		}
		if g.due != "" {
			m["target"] = []any{map[string]any{"dueDate": g.due}}
		}
		if g.start != "" {
			m["startDate"] = g.start
		}
		b, _ := json.Marshal(m)
		g.body = string(b)
		goals = append(goals, g)
	}
	return goals
}

// TestSearchPagingOrder checks, for sort orders and page sizes, that the
// pages following next make up the single-page result, that previous
// from the last page gives them back in reverse, the first and self
// links, and the single page's order against one computed here. With
// -short or the race detector it pages 7 at a time only (and 1 and 3 in
// the default order), unfiltered.
func TestSearchPagingOrder(t *testing.T) {
	e := newEnv(t)
	rng := rand.New(rand.NewPCG(3, 4))
	goals := orderData(rng)
	rng.Shuffle(len(goals), func(i, j int) { goals[i], goals[j] = goals[j], goals[i] })
	for i := range goals { // one at a time: lastUpdated follows this order, not the ids'
		r := e.do("PUT", "/Goal/"+goals[i].id, goals[i].body)
		wantStatus(t, r, http.StatusCreated)
		lu, _ := r.json(t)["meta"].(map[string]any)["lastUpdated"].(string)
		tm, err := time.Parse(time.RFC3339Nano, lu)
		if err != nil {
			t.Fatalf("lastUpdated %q: %v", lu, err)
		}
		goals[i].lastUpdated = tm.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	// Another board's goals are never found.
	b := e.as(fullScope, boardB)
	for i := range 3 {
		wantStatus(t, b.do("PUT", fmt.Sprintf("/Goal/other-%d", i), pagingGoal(fmt.Sprintf("other-%d", i), "active", "", "B")), http.StatusCreated)
	}
	active := slices.DeleteFunc(slices.Clone(goals), func(g orderGoal) bool { return g.status != "active" && g.status != "completed" })

	specs := []string{"", "-_id", "_lastUpdated", "-_lastUpdated", "target-date", "-target-date",
		"patient", "-subject", "category", "-category", "achievement-status,-target-date", "lifecycle-status,start-date,-_id",
		"-start-date,patient", "target-date,_id,category"}
	onePerPage := []string{"", "target-date,_id,category"}
	for _, filter := range []struct {
		name, query string
		goals       []orderGoal
	}{{"all", "", goals}, {"active or completed", "lifecycle-status=active,completed", active}} {
		for _, spec := range specs {
			want := expectedOrder(filter.goals, spec)
			q := url.Values{}
			if filter.query != "" {
				k, v, _ := strings.Cut(filter.query, "=")
				q.Set(k, v)
			}
			if spec != "" {
				q.Set("_sort", spec)
			}
			for _, count := range []int{1, 3, 7, 1000} {
				// A page a request: _count=1 for a few orders only, and
				// the filtered search with larger pages.
				if count == 1 && (filter.name != "all" || !slices.Contains(onePerPage, spec)) ||
					count == 3 && filter.name != "all" {
					continue
				}
				if (testing.Short() || raceEnabled) && (count < 7 && spec != "" || filter.name != "all") {
					continue // each request scans; the race detector slows that fivefold
				}
				t.Run(fmt.Sprintf("%s/_sort=%s/_count=%d", filter.name, spec, count), func(t *testing.T) {
					e.t = t
					q := cloneValues(q)
					q.Set("_count", fmt.Sprint(count))
					checkPaging(t, e, q, want, count)
				})
			}
		}
	}
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = slices.Clone(v)
	}
	return out
}

// checkPaging walks the search q both ways and compares with want.
func checkPaging(t *testing.T, e *env, q url.Values, want []string, count int) {
	t.Helper()
	path := "/Goal?" + q.Encode()
	var pages []page
	for next := path; next != ""; {
		p := getPage(t, e, next)
		checkSelf(t, e, p, next)
		if len(pages) > len(want) {
			t.Fatal("more pages than matches")
		}
		pages = append(pages, p)
		next = p.links["next"]
	}
	var all []string
	for i, p := range pages {
		all = append(all, p.ids...)
		if i < len(pages)-1 && len(p.ids) != count {
			t.Errorf("page %d has %d entries, want %d", i+1, len(p.ids), count)
		}
		if _, ok := p.links["previous"]; ok != (i > 0) {
			t.Errorf("page %d: previous link %v", i+1, ok)
		}
		if f, ok := p.links["first"]; !ok || !sameQuery(t, f, e.base+path) {
			t.Errorf("page %d: first link %q, want the search without _cursor", i+1, f)
		}
	}
	if !slices.Equal(all, want) {
		t.Fatalf("pages give\n%v\nwant\n%v", all, want)
	}
	if want := (len(want) + count - 1) / count; len(pages) != max(want, 1) {
		t.Errorf("%d pages, want %d", len(pages), want)
	}
	if len(pages) == 1 {
		if fmt.Sprint(pages[0].total) != fmt.Sprint(len(want)) {
			t.Errorf("total = %v, want %d", pages[0].total, len(want))
		}
		return
	}
	if first := getPage(t, e, pages[len(pages)-1].links["first"]); !slices.Equal(first.ids, pages[0].ids) {
		t.Errorf("first link gives %v, want %v", first.ids, pages[0].ids)
	}
	// Back from the last page.
	i := len(pages) - 1
	for prev := pages[i].links["previous"]; prev != ""; {
		i--
		if i < 0 {
			t.Fatal("previous links go past the first page")
		}
		p := getPage(t, e, prev)
		checkSelf(t, e, p, prev)
		if !slices.Equal(p.ids, pages[i].ids) {
			t.Errorf("previous to page %d gives %v, want %v", i+1, p.ids, pages[i].ids)
		}
		// From a page reached backwards, next goes forwards again.
		if n := p.links["next"]; n == "" {
			t.Errorf("page %d reached by previous has no next link", i+1)
		} else if i == len(pages)-2 || i == 0 {
			if got := getPage(t, e, n); !slices.Equal(got.ids, pages[i+1].ids) {
				t.Errorf("next from page %d reached by previous gives %v, want %v", i+1, got.ids, pages[i+1].ids)
			}
		}
		prev = p.links["previous"]
	}
	if i != 0 {
		t.Errorf("previous links stop at page %d", i+1)
	}
}

// checkSelf: a page's self link is the URL asked for.
func checkSelf(t *testing.T, e *env, p page, asked string) {
	t.Helper()
	if !strings.HasPrefix(asked, "http") {
		asked = e.base + asked
	}
	if !sameQuery(t, p.links["self"], asked) {
		t.Errorf("self link %q, asked for %q", p.links["self"], asked)
	}
}

// sameQuery reports whether two URLs have the same path and the same
// parameters apart from _cursor, and, when want has one, the same _cursor.
func sameQuery(t *testing.T, got, want string) bool {
	t.Helper()
	g, err1 := url.Parse(got)
	w, err2 := url.Parse(want)
	if err1 != nil || err2 != nil {
		return false
	}
	if g.Scheme+g.Host+g.Path != w.Scheme+w.Host+w.Path {
		return false
	}
	gq, wq := g.Query(), w.Query()
	return fmt.Sprint(gq) == fmt.Sprint(wq)
}

// TestSearchPagingBadCursor: a page token that is not one, or is one of
// another order, is a 400 naming _cursor, never a 500 or a wrong page.
func TestSearchPagingBadCursor(t *testing.T) {
	e := newEnv(t)
	for _, id := range []string{"a", "b", "c", "d"} {
		wantStatus(t, e.do("PUT", "/Goal/"+id, pagingGoal(id, "active", "2024-0"+string(rune('1'+id[0]-'a')), id)), http.StatusCreated)
	}
	cursorOf := func(path string) string {
		p := getPage(t, e, path)
		u, err := url.Parse(p.links["next"])
		if err != nil || u.Query().Get("_cursor") == "" {
			t.Fatalf("%s: no next link: %v", path, p.links)
		}
		return u.Query().Get("_cursor")
	}
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	byDate := cursorOf("/Goal?_sort=target-date&_count=1")
	byLU := cursorOf("/Goal?_sort=_lastUpdated&_count=1")
	byID := cursorOf("/Goal?_count=1")
	byDescDate := cursorOf("/Goal?_sort=-target-date&_count=1")
	for _, tt := range []struct{ name, query string }{
		{"not base64", "_cursor=%21%21%21"},
		{"not JSON", "_cursor=" + b64("hello")},
		{"wrong JSON", "_cursor=" + b64(`{"k":[1,2],"i":3}`)},
		{"JSON array", "_cursor=" + b64(`[]`)},
		{"standard base64", "_cursor=" + base64.StdEncoding.EncodeToString([]byte(`{"i":"a"}`)) + "%2B%2F"},
		{"too many keys", "_cursor=" + b64(`{"k":["a","b","c"],"t":"Goal","i":"a"}`)},
		{"bad time", "_sort=_lastUpdated&_cursor=" + b64(`{"k":["yesterday"],"t":"Goal","i":"a"}`)},
		{"by date, default order", "_cursor=" + byDate},
		{"by date, two keys", "_sort=target-date,_lastUpdated&_cursor=" + byDate},
		{"default order, by date", "_sort=target-date&_cursor=" + byID},
		{"by _lastUpdated, by date", "_sort=target-date&_cursor=" + byLU},
		{"by date, by _lastUpdated", "_sort=_lastUpdated&_cursor=" + byDate},
		{"by date, by category", "_sort=category&_cursor=" + byDate},
		{"by date, descending", "_sort=-target-date&_cursor=" + byDate},
		{"descending, by date", "_sort=target-date&_cursor=" + byDescDate},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			r := e.do("GET", "/Goal?_count=1&"+tt.query, "")
			wantStatus(t, r, http.StatusBadRequest)
			is := issue(t, r)
			if fmt.Sprint(is["expression"]) != "[_cursor]" || !strings.Contains(fmt.Sprint(is["diagnostics"]), "_cursor") &&
				!strings.Contains(fmt.Sprint(is["diagnostics"]), "page token") {
				t.Errorf("issue does not name _cursor: %v", is)
			}
			// POST _search too.
			r = e.do("POST", "/Goal/_search", "_count=1&"+tt.query, "Content-Type", "application/x-www-form-urlencoded")
			wantStatus(t, r, http.StatusBadRequest)
		})
	}
	// A cursor still works on the search it came from.
	if p := getPage(t, e, "/Goal?_sort=target-date&_count=1&_cursor="+byDate); !slices.Equal(p.ids, []string{"b"}) {
		t.Errorf("the date cursor gives %v, want [b]", p.ids)
	}
}
