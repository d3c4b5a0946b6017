#!/usr/bin/env python3
"""Writes searchparameters.json: the official R4 SearchParameter definitions
matcare's search table is checked against (TestTableMatchesOfficialDefinitions).

Usage: python3 gen_searchparameters.py PACKAGE_DIR > searchparameters.json
where PACKAGE_DIR is the extracted npm package hl7.fhir.r4.examples@4.0.1
(its "package" folder, holding SearchParameter-*.json).

Selection rule:
  * url starts with http://hl7.org/fhir/SearchParameter/ and experimental is
    not true: the core parameters. This drops the spec's examples
    (SearchParameter/example, example-extension) and the extension-defined
    parameters (patient-extensions-*, questionnaireresponse-extensions-*),
    which the package marks experimental;
  * a base among matcare's types (TYPES) or, for base Resource, one of
    RESOURCE_PARAMS (_content, _query, _filter are not offered);
  * a multi-base definition keeps only our types in base, and its
    expression only the |-separated parts that start with one of them.
Output: one entry per definition and type, sorted by (base, code).
"""
import glob
import json
import os
import sys

TYPES = ["AuditEvent", "CarePlan", "CareTeam", "CodeSystem", "Goal", "Observation", "Organization", "Patient",
         "Practitioner", "Questionnaire", "QuestionnaireResponse", "RelatedPerson", "StructureDefinition", "ValueSet"]
RESOURCE_PARAMS = {"_id", "_lastUpdated", "_tag", "_profile", "_security", "_source"}
CORE = "http://hl7.org/fhir/SearchParameter/"


def split_union(expr):
    """Splits a FHIRPath expression at top-level '|'."""
    parts, depth, cur, quote = [], 0, "", False
    for c in expr:
        if c == "'":
            quote = not quote
        elif not quote and c == "(":
            depth += 1
        elif not quote and c == ")":
            depth -= 1
        if c == "|" and depth == 0 and not quote:
            parts.append(cur.strip())
            cur = ""
            continue
        cur += c
    parts.append(cur.strip())
    return parts


def restrict(expr, typ):
    keep = [p for p in split_union(expr) if p.lstrip("(").startswith(typ + ".")]
    return " | ".join(keep)


def describe(d, base):
    """The description's line for base (multi-base ones list each type)."""
    lines = [l.strip() for l in d.get("description", "").splitlines() if l.strip()]
    if len(d.get("base", [])) > 1:
        for l in lines:
            if l.startswith("* [" + base + "]("):
                return l.split("): ", 1)[-1]
    return lines[0] if lines else ""


def main(pkg):
    defs = []
    by_url = {}
    for f in sorted(glob.glob(os.path.join(pkg, "SearchParameter-*.json"))):
        with open(f, encoding="utf-8") as fh:
            d = json.load(fh)
        by_url[d.get("url")] = d
    for url, d in sorted(by_url.items()):
        if not url or not url.startswith(CORE) or d.get("experimental") is True:
            continue
        for base in d.get("base", []):
            if base == "Resource":
                if d["code"] not in RESOURCE_PARAMS:
                    continue
                expr = d.get("expression", "")
            elif base in TYPES:
                expr = d.get("expression", "")
                if len(d["base"]) > 1:
                    expr = restrict(expr, base)
            else:
                continue
            e = {
                "url": url,
                "code": d["code"],
                "base": base,
                "type": d["type"],
                "expression": expr,
                "description": describe(d, base),
            }
            if d.get("target"):
                e["target"] = sorted(d["target"])
            if d.get("component"):
                e["component"] = [
                    {"code": by_url[c["definition"]]["code"], "expression": c.get("expression", "")}
                    for c in d["component"]
                ]
            defs.append(e)
    defs.sort(key=lambda e: (e["base"], e["code"]))
    json.dump(defs, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/npm/x/hl7.fhir.r4.examples-4.0.1/package")
