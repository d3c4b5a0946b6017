package repository

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/fhir/search"
)

// indexVersion changes whenever what indexFields holds for a body changes
// (the parameter table, extraction, the encodings below): documents with
// another version are re-indexed when a Store opens.
const indexVersion = 2

// indexFields are the search values stored beside a resource's JSON, one
// map per kind of comparison, keyed by parameter name. Every field is a
// flat array of scalars, because FerretDB v1 cannot match inside arrays
// of documents ($elemMatch); where one condition needs two fields of the
// same value (a date range inside a range), the query is a superset and
// package search's Matches decides on the resource itself.
type indexFields struct {
	// X holds what equality and prefix conditions compare: token forms
	// (see tokenForms), references ("Type/id", or a foreign URL as
	// written), normalised strings and URIs.
	X map[string][]string `bson:"x,omitempty"`
	// XE are strings as written (:exact); XT token texts (:text,
	// normalised); XF identifier types with their values (:of-type,
	// "system|code|value"); XI a reference's identifier (:identifier,
	// token forms).
	XE map[string][]string `bson:"xe,omitempty"`
	XT map[string][]string `bson:"xt,omitempty"`
	XF map[string][]string `bson:"xf,omitempty"`
	XI map[string][]string `bson:"xi,omitempty"`
	// XC are the canonical (and other absolute) references written
	// without a |version: a chain through them reaches every version of
	// the target, while one written with a version reaches that version
	// only (X holds both forms of a versioned canonical).
	XC map[string][]string `bson:"xc,omitempty"`
	// XL and XH are the starts and ends of date ranges, XN numbers (of
	// number and quantity parameters).
	XL map[string][]time.Time `bson:"xl,omitempty"`
	XH map[string][]time.Time `bson:"xh,omitempty"`
	XN map[string][]float64   `bson:"xn,omitempty"`
	// XO is one sort key per sortable parameter the resource has a value
	// of (see sortKey): its presence also answers :missing. M names the
	// other parameters with values. (Every stored value costs FerretDB a
	// decode on every scan, so absent parameters store nothing.)
	XO map[string]string `bson:"xo,omitempty"`
	M  []string          `bson:"m,omitempty"`
	SV int               `bson:"sv"`
}

// indexOf returns the search fields of body, a resource of typ; a
// resource of a type the table does not know, or a deleted one, has none.
// References to base (this server's own URL) are indexed as relative.
func indexOf(typ string, body []byte, base string) (indexFields, error) {
	f := indexFields{SV: indexVersion}
	if len(body) == 0 || search.Params(typ) == nil {
		return f, nil
	}
	idx, err := search.Extract(typ, body)
	if err != nil {
		return f, err
	}
	localRefs(idx, base)
	add := func(m *map[string][]string, name string, v ...string) {
		if *m == nil {
			*m = map[string][]string{}
		}
		for _, s := range v {
			if !slices.Contains((*m)[name], s) {
				(*m)[name] = append((*m)[name], s)
			}
		}
	}
	for _, p := range search.Params(typ) {
		vs := idx[p.Name]
		if len(vs) == 0 {
			continue
		}
		if k := sortKey(p.Kind, vs); sortable(p) && k != "" {
			if f.XO == nil {
				f.XO = map[string]string{}
			}
			f.XO[p.Name] = k
		} else {
			f.M = append(f.M, p.Name)
		}
		for _, v := range vs {
			switch p.Kind {
			case search.Token:
				add(&f.X, p.Name, tokenForms(v.System, v.Code)...)
				if v.Text != "" {
					add(&f.XT, p.Name, v.Text)
				}
				for _, t := range v.OfType {
					add(&f.XF, p.Name, t.System+"|"+t.Code+"|"+v.Code)
				}
			case search.Reference:
				if v.Identifier {
					add(&f.XI, p.Name, tokenForms(v.System, v.Code)...)
				} else if v.Ref != "" {
					add(&f.X, p.Name, v.Ref)
					if unversionedCanonical(v.Ref, vs) {
						add(&f.XC, p.Name, v.Ref)
					}
				}
			case search.String, search.Special:
				if v.Text != "" {
					add(&f.X, p.Name, v.Text)
				}
				if v.Exact != "" {
					add(&f.XE, p.Name, v.Exact)
				}
			case search.URI:
				add(&f.X, p.Name, v.URI)
			case search.Date:
				if f.XL == nil {
					f.XL, f.XH = map[string][]time.Time{}, map[string][]time.Time{}
				}
				// Stored times have millisecond precision: widen outwards so
				// that the stored range contains the true one.
				f.XL[p.Name] = append(f.XL[p.Name], v.Lo.Truncate(time.Millisecond))
				f.XH[p.Name] = append(f.XH[p.Name], ceilMilli(v.Hi))
			case search.Number, search.Quantity:
				if f.XN == nil {
					f.XN = map[string][]float64{}
				}
				if !math.IsNaN(v.Float) && !math.IsInf(v.Float, 0) {
					f.XN[p.Name] = append(f.XN[p.Name], v.Float)
				}
			}
		}
	}
	return f, nil
}

// unversionedCanonical reports whether ref, one of the values vs of a
// reference parameter, is an absolute reference that was written without
// a |version (and is not the versionless form Extract adds beside a
// versioned canonical).
func unversionedCanonical(ref string, vs []search.Value) bool {
	if strings.Contains(ref, "|") || !strings.Contains(ref, "://") && !strings.HasPrefix(ref, "urn:") {
		return false
	}
	for _, v := range vs {
		if strings.HasPrefix(v.Ref, ref+"|") {
			return false
		}
	}
	return true
}

// localRefs rewrites, in place, absolute references to this server's base
// URL as the relative references they are.
func localRefs(idx search.Index, base string) {
	if base == "" {
		return
	}
	prefix := strings.TrimSuffix(base, "/") + "/"
	for _, vs := range idx {
		for i := range vs {
			if rest, ok := strings.CutPrefix(vs[i].Ref, prefix); ok && isTypeID(rest) {
				vs[i].Ref = rest
			}
		}
	}
}

// isTypeID reports whether s is "Type/id".
func isTypeID(s string) bool {
	t, id, ok := strings.Cut(s, "/")
	return ok && t != "" && t[0] >= 'A' && t[0] <= 'Z' && fhir.ValidID(id)
}

// tokenForms are the strings a token is indexed by, one per form of
// token search that matches it: "code" (any system), "system|code",
// "system|" (any code), and "|code" for a code without a system.
func tokenForms(system, code string) []string {
	var out []string
	if code != "" {
		out = append(out, code)
		if system == "" {
			out = append(out, "|"+code)
		}
	}
	if system != "" {
		if code != "" {
			out = append(out, system+"|"+code)
		}
		out = append(out, system+"|")
	}
	return out
}

// sortable reports whether _sort may name p (package search refuses
// composite and special parameters).
func sortable(p search.Param) bool {
	return p.Supported() && p.Kind != search.Composite && p.Kind != search.Special && p.Computed == ""
}

// sortKey is the string a resource sorts by for a parameter: its least
// value, encoded so that strings compare as the values do; "" for none,
// which sorts before every value.
func sortKey(k search.Kind, vs []search.Value) string {
	var keys []string
	for _, v := range vs {
		var s string
		switch k {
		case search.String:
			s = v.Text
		case search.Token:
			s = v.Code
		case search.Reference:
			s = v.Ref
		case search.URI:
			s = v.URI
		case search.Date:
			s = timeKey(v.Lo)
		case search.Number, search.Quantity:
			s = floatKey(v.Float)
		}
		if s != "" {
			keys = append(keys, s)
		}
	}
	if len(keys) == 0 {
		return ""
	}
	return slices.Min(keys)
}

// timeKey encodes t as a fixed-width string that sorts as t does.
func timeKey(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

// floatKey encodes f as 16 hex digits that sort as f does.
func floatKey(f float64) string {
	b := math.Float64bits(f)
	if f >= 0 {
		b ^= 1 << 63
	} else {
		b = ^b
	}
	return fmt.Sprintf("%016x", b)
}

func ceilMilli(t time.Time) time.Time {
	if r := t.Truncate(time.Millisecond); !r.Equal(t) {
		return r.Add(time.Millisecond)
	}
	return t
}

// currentOf is the current document for history entry h, with its search
// fields.
func (s *Store) currentOf(typ string, h historyDoc) currentDoc {
	return s.withIndex(typ, h.current())
}

// withIndex returns c with the search fields of its body. A body that
// cannot be indexed (it was validated when written, so this means a table
// change made it unreadable) is stored without them and logged: it stays
// readable by id but no search finds it.
func (s *Store) withIndex(typ string, c currentDoc) currentDoc {
	c.Index = indexFields{SV: indexVersion}
	if c.Deleted {
		return c
	}
	f, err := indexOf(typ, body(c.Body), s.opts.BaseURL)
	if err != nil {
		s.log.Warn("resource not indexed for search", "type", typ, "id", c.ID, "err", err)
		return c
	}
	c.Index = f
	return c
}

// reindex brings the search fields of every current document written by
// an older version of the index up to date. It runs when a Store opens,
// before it serves; a document rewritten meanwhile by another process is
// left to that writer (the replace is filtered on its version).
func (s *Store) reindex(ctx context.Context) (int, error) {
	n := 0
	stale := bson.D{{Key: "sv", Value: bson.D{{Key: "$ne", Value: indexVersion}}}}
	for _, typ := range fhir.TypeNames() {
		cur, err := s.current(typ).Find(ctx, stale)
		if err != nil {
			return n, s.storageErr("reindex", err)
		}
		var docs []currentDoc
		if err := cur.All(ctx, &docs); err != nil {
			return n, s.storageErr("reindex", err)
		}
		for _, d := range docs {
			c := s.withIndex(typ, d)
			if _, err := s.current(typ).ReplaceOne(ctx, bson.D{{Key: "_id", Value: d.ID}, {Key: "v", Value: d.V}}, c); err != nil {
				return n, s.storageErr("reindex", err)
			}
			n++
		}
	}
	coll := s.db.Collection(auditCollection)
	cur, err := coll.Find(ctx, stale)
	if err != nil {
		return n, s.storageErr("reindex audit", err)
	}
	var docs []auditDoc
	if err := cur.All(ctx, &docs); err != nil {
		return n, s.storageErr("reindex audit", err)
	}
	for _, d := range docs {
		d.LU, d.Index = d.Recorded, s.auditIndex(d.Body)
		if _, err := coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: d.ID}}, d); err != nil {
			return n, s.storageErr("reindex audit", err)
		}
		n++
	}
	return n, nil
}

// auditIndex is the search index of an audit record's AuditEvent.
func (s *Store) auditIndex(body string) indexFields {
	f, err := indexOf(auditCollection, []byte(body), s.opts.BaseURL)
	if err != nil {
		s.log.Warn("audit record not indexed for search", "err", err)
	}
	return f
}

// parseTimeKey inverts timeKey.
func parseTimeKey(s string) (time.Time, error) {
	return time.Parse("2006-01-02T15:04:05.000000000Z", s)
}
