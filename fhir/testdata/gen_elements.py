#!/usr/bin/env python3
"""Writes elements.json: the top-level elements of matcare's resource types as
the official R4 StructureDefinitions define them, which the _summary/_elements
table in fhir/subset.go is checked against (TestSubsetTableMatchesDefinitions).

Usage: python3 gen_elements.py PACKAGE_DIR > elements.json
where PACKAGE_DIR is the extracted npm package hl7.fhir.r4.examples@4.0.1
(its "package" folder, holding StructureDefinition-<Type>.json with snapshots;
hl7.fhir.r4.core@4.0.1 holds the same files).

Selection rule: for each type in TYPES, the snapshot elements whose path is
<Type>.<name> (top level, no slices), in definition order, each with
  name    the element name as defined ("start[x]" for a choice),
  min     ElementDefinition.min,
  summary ElementDefinition.isSummary (absent = false),
  types   the type codes (for a choice: the JSON suffixes come from them).
"""
import json
import os
import sys

TYPES = ["AuditEvent", "CarePlan", "CareTeam", "CodeSystem", "Goal", "Observation", "Organization", "Patient",
         "Practitioner", "Questionnaire", "QuestionnaireResponse", "RelatedPerson", "StructureDefinition", "ValueSet"]


def main(pkg):
    out = {}
    for typ in TYPES:
        with open(os.path.join(pkg, "StructureDefinition-%s.json" % typ), encoding="utf-8") as fh:
            sd = json.load(fh)
        if sd.get("fhirVersion") != "4.0.1" or sd.get("url") != "http://hl7.org/fhir/StructureDefinition/" + typ:
            sys.exit("%s: not the R4 4.0.1 core definition" % typ)
        elems = []
        for e in sd["snapshot"]["element"]:
            path = e["path"]
            if "sliceName" in e or not path.startswith(typ + ".") or "." in path[len(typ) + 1:]:
                continue
            elems.append({
                "name": path[len(typ) + 1:],
                "min": e.get("min", 0),
                "summary": bool(e.get("isSummary", False)),
                "types": [t["code"] for t in e.get("type", [])],
            })
        out[typ] = elems
    # One element a line, for readable diffs.
    w = sys.stdout.write
    w('{"source": "hl7.fhir.r4.examples@4.0.1 StructureDefinition-<Type>.json snapshot",\n "types": {\n')
    for i, typ in enumerate(TYPES):
        w('  %s: [\n' % json.dumps(typ))
        w(",\n".join("   " + json.dumps(e) for e in out[typ]))
        w("\n  ]%s\n" % ("," if i < len(TYPES) - 1 else ""))
    w(" }\n}\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
