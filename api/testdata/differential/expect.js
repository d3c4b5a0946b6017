#!/usr/bin/env node
// Computes expected.json: for each query of queries.json, the sorted ids of
// the dataset.json resources it matches. Values are extracted by fhirpath.js
// evaluating the official R4 SearchParameter expressions
// (fhir/search/testdata/searchparameters.json); the matching rules are the
// ones README.md states. Nothing here shares code with matcare's Go search.
//
// Usage: npm ci && node expect.js   (writes expected.json next to this file)
'use strict';

const fs = require('fs');
const path = require('path');
const fhirpath = require('fhirpath');
const r4 = require('fhirpath/fhir-context/r4');

const here = __dirname;
const readJSON = f => JSON.parse(fs.readFileSync(path.join(here, f), 'utf8'));
const params = readJSON('../../../fhir/search/testdata/searchparameters.json');
const dataset = readJSON('dataset.json');
const queries = readJSON('queries.json');

const TYPES = ['CarePlan', 'Goal', 'Patient', 'Questionnaire', 'QuestionnaireResponse'];

// ------------------------------------------------------------------ stored form
// The server stamps meta.versionId, meta.lastUpdated and, except on shared
// types (Questionnaire), the writer's health-board security label, dropping
// any label of that system the client sent (fhir/tenancy.go). The dataset is
// loaded by a board A writer. lastUpdated is the load time, unknown here: the
// resources are evaluated with two stand-ins far apart, and every query must
// give the same answer with both (so _lastUpdated queries use bounds outside
// [2025, 2099]).
const BOARD_SYSTEM = 'http://matcare.example/fhir/CodeSystem/health-board';
const BOARD = {system: BOARD_SYSTEM, code: 'S08000031', display: 'NHS Greater Glasgow and Clyde'};
const LOAD_TIMES = ['2025-01-01T00:00:00.000Z', '2099-12-31T23:59:59.999Z'];

function stored(r, lastUpdated) {
  const c = JSON.parse(JSON.stringify(r));
  const meta = {...(c.meta || {}), versionId: '1', lastUpdated};
  const sec = (meta.security || []).filter(l => l.system !== BOARD_SYSTEM);
  if (c.resourceType !== 'Questionnaire') sec.push(BOARD);
  if (sec.length) meta.security = sec; else delete meta.security;
  c.meta = meta;
  return c;
}

// ------------------------------------------------------------------ parameters
const paramIndex = new Map(); // "Type.code" -> definition
for (const p of params) {
  if (p.base === 'Resource') {
    for (const t of TYPES) paramIndex.set(t + '.' + p.code, {...p, expression: p.expression.replace(/^Resource\./, t + '.')});
  } else {
    paramIndex.set(p.base + '.' + p.code, p);
  }
}
function param(type, code) {
  const p = paramIndex.get(type + '.' + code);
  if (!p) throw new Error(`unknown parameter ${type}.${code}`);
  if (code === 'phonetic') throw new Error('phonetic has no defined algorithm here');
  return p;
}

// fhirpath.js (like the FHIRPath spec) raises an error when the left side of
// "as" holds more than one item, which the official expressions
// "(Goal.target.due as date)" and "(Questionnaire.useContext.value as X)"
// do on a resource with several targets or contexts. Only then, the
// expression is evaluated again with every "(X as T)" written "X.ofType(T)":
// identical on zero or one item, and on more it keeps every item of type T,
// which is what the parameter means. Each such fallback is reported.
const fallbacks = new Map(); // "Type.code" -> [official, rewritten, Set of resources]
const ofTypeForm = e => e.replace(/\(([A-Za-z.]+) as ([A-Za-z]+)\)/g, '$1.ofType($2)');

// ------------------------------------------------------------------ fhirpath
// resolve() (in "X.where(resolve() is Patient)") fetches the reference from
// fhirServerUrl; fetch is answered from the dataset, and a reference to a
// resource not in it resolves to a bare resource of the type the reference
// names ({resourceType, id}), so "is Patient" tests the reference's type.
const SERVER = 'http://dataset.invalid/fhir';
let current = null; // id -> stored resource, for the stand-in being evaluated
globalThis.fetch = async url => {
  const m = new RegExp('^' + SERVER + '/([A-Za-z]+)/([A-Za-z0-9.-]+)$').exec(String(url));
  if (!m) throw new Error('unexpected fetch ' + url);
  const r = current.get(m[1] + '/' + m[2]) || {resourceType: m[1], id: m[2]};
  return new Response(JSON.stringify(r), {status: 200, headers: {'Content-Type': 'application/fhir+json'}});
};

const compiled = new Map();
function compile(expr) {
  if (!compiled.has(expr)) {
    compiled.set(expr, fhirpath.compile(expr, r4, {resolveInternalTypes: false, async: 'always', fhirServerUrl: SERVER}));
  }
  return compiled.get(expr);
}

// A value is {type, data}: the FHIR type fhirpath.js reports and the JSON.
function asValue(n) {
  if (n && n.constructor && n.constructor.name === 'ResourceNode') {
    let type = n.fhirNodeDataType;
    const d = n.data;
    if (type === 'System.String') type = 'string';
    if (type === 'System.Boolean') type = 'boolean';
    return {type, data: d, node: n};
  }
  if (typeof n === 'boolean') return {type: 'boolean', data: n};
  if (typeof n === 'string') return {type: 'string', data: n};
  throw new Error('unexpected fhirpath result ' + JSON.stringify(n));
}

const valueCache = new Map();
async function values(res, p) {
  const key = res.resourceType + '/' + res.id + '\u0000' + p.base + '.' + p.code;
  if (!valueCache.has(key)) {
    let out;
    try {
      out = await compile(p.expression)(res);
    } catch (e) {
      const alt = ofTypeForm(p.expression);
      if (!/Expected singleton on left side of 'as'/.test(e.message) || alt === p.expression) throw e;
      const k = p.base + '.' + p.code;
      if (!fallbacks.has(k)) fallbacks.set(k, [p.expression, alt, new Set()]);
      fallbacks.get(k)[2].add(res.resourceType + '/' + res.id);
      out = await compile(alt)(res);
    }
    valueCache.set(key, out.map(asValue));
  }
  return valueCache.get(key);
}
async function componentValues(v, expr) {
  const out = await fhirpath.evaluate(v.node, expr, null, r4, {resolveInternalTypes: false, async: 'always'});
  return out.map(asValue);
}

// ------------------------------------------------------------------ strings
const norm = s => s.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();
function stringParts(v) {
  const d = v.data;
  switch (v.type) {
    case 'string': case 'markdown': return [d];
    case 'HumanName': return [d.text, d.family, ...(d.given || []), ...(d.prefix || []), ...(d.suffix || [])].filter(x => x != null);
    case 'Address': return [d.text, ...(d.line || []), d.city, d.district, d.state, d.postalCode, d.country].filter(x => x != null);
  }
  throw new Error('string search on ' + v.type);
}
function matchString(v, s, mod) {
  return stringParts(v).some(part => {
    if (mod === 'exact') return part === s;
    if (mod === 'contains') return norm(part).includes(norm(s));
    if (mod === '') return norm(part).startsWith(norm(s));
    throw new Error('string modifier ' + mod);
  });
}

// ------------------------------------------------------------------ tokens
// Each token value as {system, code, texts}; system undefined = none.
function tokens(v) {
  const d = v.data;
  switch (v.type) {
    case 'code': case 'string': case 'uri': case 'id':
      return [{system: undefined, code: String(d), texts: []}];
    case 'boolean':
      return [{system: undefined, code: String(d), texts: []}];
    case 'Coding':
      return [{system: d.system, code: d.code, texts: d.display != null ? [d.display] : []}];
    case 'CodeableConcept': {
      const texts = [d.text, ...(d.coding || []).map(c => c.display)].filter(x => x != null);
      const cs = (d.coding || []).map(c => ({system: c.system, code: c.code, texts}));
      return cs.length ? cs : [{system: undefined, code: undefined, texts}];
    }
    case 'Identifier':
      return [{system: d.system, code: d.value, texts: d.type && d.type.text != null ? [d.type.text] : [], identifier: d}];
    case 'ContactPoint':
      return [{system: undefined, code: d.value, texts: []}];
  }
  throw new Error('token search on ' + v.type);
}
function tokenMatches(t, s) {
  const i = s.indexOf('|');
  if (i < 0) return t.code !== undefined && t.code === s;
  const sys = s.slice(0, i), code = s.slice(i + 1);
  if (sys === '') return t.system === undefined && t.code === code;
  if (code === '') return t.system === sys;
  return t.system === sys && t.code === code;
}
function matchToken(v, s, mod) {
  const ts = tokens(v);
  if (mod === '') return ts.some(t => tokenMatches(t, s));
  if (mod === 'text') return ts.some(t => t.texts.some(x => norm(x).startsWith(norm(s))));
  if (mod === 'of-type') {
    const [tsys, tcode, value] = s.split('|');
    if (value === undefined) throw new Error('of-type needs system|code|value: ' + s);
    return ts.some(t => t.identifier && t.identifier.value === value &&
      ((t.identifier.type && t.identifier.type.coding) || []).some(c => c.system === tsys && c.code === tcode));
  }
  throw new Error('token modifier ' + mod);
}

// ------------------------------------------------------------------ dates
const DATE_RE = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;
// dateRange returns [lo, hi) in ms since the epoch; no zone = UTC.
function dateRange(s) {
  const m = DATE_RE.exec(s);
  if (!m) throw new Error('bad date ' + s);
  const [, y, mo, d, hh, mi, ss, frac, zone] = m;
  let off = 0;
  if (zone && zone !== 'Z') off = (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60000;
  const Y = Number(y);
  if (mo === undefined) return [Date.UTC(Y, 0, 1), Date.UTC(Y + 1, 0, 1)];
  const M = Number(mo) - 1;
  if (d === undefined) return [Date.UTC(Y, M, 1), Date.UTC(Y, M + 1, 1)];
  const D = Number(d);
  if (hh === undefined) return [Date.UTC(Y, M, D), Date.UTC(Y, M, D + 1)];
  let ms = 0, width = 60000;
  if (ss !== undefined) width = 1000;
  if (frac !== undefined) {
    if (frac.length > 4) throw new Error('sub-millisecond precision not handled: ' + s);
    ms = Number(frac.slice(1).padEnd(3, '0'));
    width = 10 ** (4 - frac.length);
  }
  const lo = Date.UTC(Y, M, D, Number(hh), Number(mi), Number(ss || 0), ms) - off;
  return [lo, lo + width];
}
function valueRange(v) {
  switch (v.type) {
    case 'date': case 'dateTime': case 'instant':
      return dateRange(String(v.data));
    case 'Period': {
      const p = v.data;
      return [p.start != null ? dateRange(p.start)[0] : -Infinity, p.end != null ? dateRange(p.end)[1] : Infinity];
    }
  }
  throw new Error('date search on ' + v.type);
}
const PREFIXES = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'];
function prefixOf(s) {
  const p = s.slice(0, 2);
  return PREFIXES.includes(p) && !/^\d/.test(p) ? [p, s.slice(2)] : ['eq', s];
}
const DAY = 86400000;
function matchDate(v, s) {
  const [prefix, rest] = prefixOf(s);
  const [lo, hi] = valueRange(v);
  const [slo, shi] = dateRange(rest);
  const eq = lo >= slo && hi <= shi;
  switch (prefix) {
    case 'eq': return eq;
    case 'ne': return !eq;
    case 'gt': return hi > shi;
    case 'lt': return lo < slo;
    case 'ge': return hi > slo;
    case 'le': return lo < shi;
    case 'sa': return lo >= shi;
    case 'eb': return hi <= slo;
    case 'ap': {
      const w = Math.max(shi - slo, DAY);
      return lo < shi + w && hi > slo - w;
    }
  }
}

// ------------------------------------------------------------------ numbers
// Decimals as BigInt multiples of 10^-SCALE.
const SCALE = 9;
function decimal(s) {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(s);
  if (!m || (m[3] || '').length >= SCALE) throw new Error('bad number ' + s);
  const digits = (m[3] || '').length;
  const v = BigInt(m[2] + (m[3] || '').padEnd(SCALE, '0')) * (m[1] ? -1n : 1n);
  return {v, half: 10n ** BigInt(SCALE - digits) / 2n};
}
function matchNumber(x, s) {
  const [prefix, rest] = prefixOf(s);
  const {v: val, half} = decimal(rest);
  const v = decimal(String(x)).v;
  const eq = v >= val - half && v < val + half;
  switch (prefix) {
    case 'eq': return eq;
    case 'ne': return !eq;
    case 'gt': return v > val;
    case 'ge': return v >= val;
    case 'lt': return v < val;
    case 'le': return v <= val;
  }
  throw new Error('number prefix ' + prefix);
}
function matchQuantity(v, s) {
  if (v.type !== 'Quantity') throw new Error('quantity search on ' + v.type);
  const q = v.data;
  const [num, sys, code] = s.split('|');
  if (q.value == null || !matchNumber(q.value, num)) return false;
  if (sys === undefined) return true;
  if (sys === '') return q.code === code || q.unit === code;
  return q.system === sys && q.code === code;
}

// ------------------------------------------------------------------ references
// A reference value as {type, id} (a literal relative reference) plus its
// identifier, or {canonical, version} for a canonical.
function refOf(v) {
  if (v.type === 'Reference') {
    const d = v.data;
    let type, id;
    const m = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9.-]{1,64})$/.exec(d.reference || '');
    if (d.reference != null && !m) throw new Error('only relative references are handled: ' + d.reference);
    if (m) [, type, id] = m;
    return {type, id, identifier: d.identifier};
  }
  if (v.type === 'canonical') {
    const [url, version] = String(v.data).split('|');
    return {canonical: url, version};
  }
  throw new Error('reference search on ' + v.type);
}
function matchReference(v, s, mod) {
  const r = refOf(v);
  if (mod === 'identifier') return r.identifier ? tokens({type: 'Identifier', data: r.identifier}).some(t => tokenMatches(t, s)) : false;
  if (r.canonical !== undefined) {
    if (mod !== '') throw new Error('modifier on a canonical');
    const [url, version] = s.split('|');
    return r.canonical === url && (version === undefined || r.version === version);
  }
  if (r.id === undefined) return false;
  if (mod !== '') return r.type === mod && r.id === s; // :Type
  if (s.includes('/')) return r.type + '/' + r.id === s;
  return r.id === s;
}
// refersTo: whether reference value v points at resource t.
function refersTo(v, t) {
  const r = refOf(v);
  if (r.canonical !== undefined) return t.url === r.canonical && (r.version === undefined || t.version === r.version);
  return r.type === t.resourceType && r.id === t.id;
}

function matchUri(v, s, mod) {
  if (mod !== '') throw new Error('uri modifier ' + mod);
  return String(v.data) === s;
}

// ------------------------------------------------------------------ search
let byType; // type -> stored resources of the stand-in being evaluated

// key: "code[:modifier]", "ref[:Type].chain...", or "_has:Type:ref:key".
async function matchingIDs(type, key, value) {
  const set = new Set();
  for (const r of byType.get(type)) if (await matches(r, key, value)) set.add(r.id);
  return set;
}

async function matches(res, key, value) {
  const type = res.resourceType;
  if (key.startsWith('_has:')) {
    const [, other, ref, ...rest] = key.split(':');
    const inner = await matchingIDs(other, rest.join(':'), value);
    const p = param(other, ref);
    for (const o of byType.get(other)) {
      if (!inner.has(o.id)) continue;
      for (const v of await values(o, p)) if (refersTo(v, res)) return true;
    }
    return false;
  }
  const dot = key.indexOf('.');
  if (dot >= 0) {
    const [code, target] = key.slice(0, dot).split(':');
    const rest = key.slice(dot + 1);
    const p = param(type, code);
    if (p.type !== 'reference') throw new Error('chain on a ' + p.type + ' parameter');
    const restCode = rest.split(/[:.]/)[0];
    const targets = target ? [target] : p.target.filter(t => TYPES.includes(t) && paramIndex.has(t + '.' + restCode));
    if (!targets.length) throw new Error('no target type for ' + key);
    const vs = await values(res, p);
    for (const t of targets) {
      const inner = await matchingIDs(t, rest, value);
      for (const o of byType.get(t)) if (inner.has(o.id) && vs.some(v => refersTo(v, o))) return true;
    }
    return false;
  }
  const [code, mod = ''] = key.split(':');
  const p = param(type, code);
  if (mod === 'missing') {
    if (value !== 'true' && value !== 'false') throw new Error('bad :missing value ' + value);
    let vs = await values(res, p);
    // As HAPI: a Reference with neither a reference nor an identifier
    // (display only) indexes nothing, so it counts as missing.
    if (p.type === 'reference') vs = vs.filter(v => { const d = v && v.data !== undefined ? v.data : v; return typeof d !== 'object' || d === null || d.reference || d.identifier; });
    return (vs.length === 0) === (value === 'true');
  }
  // Values of one parameter are ORed.
  for (const s of value.split(',')) {
    if (await matchOne(res, p, s, mod)) return true;
  }
  return false;
}

async function matchOne(res, p, s, mod) {
  const vs = await values(res, p);
  switch (p.type) {
    case 'token':
      if (mod === 'not') return !vs.some(v => matchToken(v, s, ''));
      return vs.some(v => matchToken(v, s, mod));
    case 'string': return vs.some(v => matchString(v, s, mod));
    case 'date': if (mod) throw new Error('date modifier'); return vs.some(v => matchDate(v, s));
    case 'quantity': if (mod) throw new Error('quantity modifier'); return vs.some(v => matchQuantity(v, s));
    case 'number': if (mod) throw new Error('number modifier'); return vs.some(v => matchNumber(v.data, s));
    case 'reference': return vs.some(v => matchReference(v, s, mod));
    case 'uri': return vs.some(v => matchUri(v, s, mod));
    case 'composite': {
      if (mod) throw new Error('composite modifier');
      const parts = s.split('$');
      if (parts.length !== p.component.length) throw new Error('composite value needs ' + p.component.length + ' parts: ' + s);
      for (const v of vs) {
        let all = true;
        for (let i = 0; i < parts.length && all; i++) {
          const c = p.component[i];
          const cp = param(p.base, c.code);
          const cvs = await componentValues(v, c.expression);
          const one = {token: matchToken, quantity: matchQuantity, date: matchDate, string: matchString}[cp.type];
          if (!one) throw new Error('composite component of type ' + cp.type);
          all = cvs.some(cv => one(cv, parts[i], ''));
        }
        if (all) return true;
      }
      return false;
    }
  }
  throw new Error('parameter type ' + p.type);
}

// A query is "Type?k=v&k=v": split at "&" and the first "=", nothing
// decoded (queries.json holds them unencoded; the Go test encodes them).
function parseQuery(q) {
  const [type, qs] = q.split('?');
  if (!TYPES.includes(type) || !qs) throw new Error('bad query ' + q);
  return {type, pairs: qs.split('&').map(kv => { const i = kv.indexOf('='); return [kv.slice(0, i), kv.slice(i + 1)]; })};
}

async function run(lastUpdated) {
  const all = dataset.map(r => stored(r, lastUpdated));
  current = new Map(all.map(r => [r.resourceType + '/' + r.id, r]));
  byType = new Map(TYPES.map(t => [t, all.filter(r => r.resourceType === t)]));
  valueCache.clear();
  const out = [];
  for (const q of queries) {
    const {type, pairs} = parseQuery(q);
    let ids = null;
    for (const [k, v] of pairs) { // parameters are ANDed
      const set = await matchingIDs(type, k, v);
      ids = ids ? ids.filter(id => set.has(id)) : [...set];
    }
    out.push({query: q, ids: ids.sort()});
  }
  return out;
}

function checkDataset() {
  const seen = new Set();
  for (const r of dataset) {
    if (!TYPES.includes(r.resourceType)) throw new Error('dataset type ' + r.resourceType);
    if (!/^[a-z0-9-]{1,64}$/.test(r.id)) throw new Error('dataset id ' + r.id);
    const k = r.resourceType + '/' + r.id;
    if (seen.has(k)) throw new Error('duplicate ' + k);
    seen.add(k);
  }
  const qs = new Set();
  for (const q of queries) { if (qs.has(q)) throw new Error('duplicate query ' + q); qs.add(q); }
}

(async () => {
  checkDataset();
  const [a, b] = [await run(LOAD_TIMES[0]), await run(LOAD_TIMES[1])];
  for (let i = 0; i < a.length; i++) {
    if (a[i].ids.join() !== b[i].ids.join()) throw new Error('depends on the load time: ' + a[i].query);
  }
  const text = '[\n' + a.map(e => ' ' + JSON.stringify(e)).join(',\n') + '\n]\n';
  fs.writeFileSync(path.join(here, 'expected.json'), text);
  const empty = a.filter(e => e.ids.length === 0).length;
  console.log(`${dataset.length} resources, ${a.length} queries (${empty} with no match) -> expected.json`);
  for (const [k, [from, to, rs]] of fallbacks) console.log(`${k}: fhirpath.js rejects "${from}" on ${[...rs].sort().join(', ')}; evaluated "${to}" there`);
})().catch(e => { console.error(e); process.exit(1); });
