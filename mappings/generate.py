#!/usr/bin/env python3
"""Generate the ECS component template for OpenSearch from the ECS field reference.

Usage:
    python3 mappings/generate.py [--ecs PATH] [--bin PATH] [--check] [--counts]

Reads the ECS 8.17 field reference (default: <repo>/../shared/ecs/ecs-8.17.0-fields.json,
resolved relative to this script) and mappings/ecs-fields.txt (the ECS fields the pipeline may
emit), and writes mappings/component_templates/ecs.json.

    --check   regenerate in memory and exit 1 if the committed ecs.json differs (for CI)
    --counts  also print the field count of every log type's index template, composed with the
              component templates it lists (the numbers in README.md)

Every run also checks that mappings/index_templates/ holds one template per log type the pipeline
registers, and none other: the list comes from `siem-pipeline log-types --json` (see log_types.py;
--bin PATH or $SIEM_PIPELINE_BIN names the binary, otherwise it is run with cargo).

Standard library only.
"""

import argparse
import difflib
import json
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ beside the templates
import log_types  # noqa: E402  (mappings/log_types.py)

HERE = Path(__file__).resolve().parent          # <repo>/mappings
REPO = HERE.parent                              # <repo>
DEFAULT_ECS = REPO.parent / "shared" / "ecs" / "ecs-8.17.0-fields.json"
FIELDS_FILE = HERE / "ecs-fields.txt"
OUTPUT = HERE / "component_templates" / "ecs.json"
INDEX_TEMPLATES = HERE / "index_templates"
COMPONENT_TEMPLATES = HERE / "component_templates"

# Bump whenever the generated output changes (installers compare template versions).
TEMPLATE_VERSION = 2

KEYWORD_IGNORE_ABOVE = 1024
DEFAULT_SCALING_FACTOR = 1000

# ECS (Elasticsearch) type -> OpenSearch 2.19 type.
TYPE_MAP = {
    "keyword": "keyword",
    "constant_keyword": "keyword",  # no constant_keyword in OpenSearch 2.19 core
    "wildcard": "wildcard",         # OpenSearch 2.15+
    "match_only_text": "match_only_text",  # OpenSearch 2.12+
    "text": "text",
    "flattened": "flat_object",
    "long": "long",
    "integer": "integer",
    "short": "short",
    "byte": "byte",
    "float": "float",
    "double": "double",
    "half_float": "half_float",
    "scaled_float": "scaled_float",  # mapper-extras module
    "unsigned_long": "unsigned_long",
    "date": "date",
    "date_nanos": "date_nanos",
    "ip": "ip",
    "boolean": "boolean",
    "geo_point": "geo_point",
    "object": "object",
    "nested": "nested",
}

# Per-field additions on top of the translated type.
OVERRIDES = {
    # Kept verbatim in _source for reprocessing / forensics, never searched.
    "event.original": {"index": False, "doc_values": False},
    # labels.* are free-form keys (set by the pipeline only); map them on the fly as keyword,
    # see DYNAMIC_TEMPLATES. Everything else is dynamic:false (component_templates/settings.json).
    "labels": {"dynamic": True},
}

# ECS says labels values are keywords. One template per JSON scalar type, because a
# match_mapping_type of "*" would also match a JSON object and turn it into a keyword.
DYNAMIC_TEMPLATES = [
    {
        "ecs_labels_%s" % json_type: {
            "path_match": "labels.*",
            "match_mapping_type": json_type,
            "mapping": {"type": "keyword", "ignore_above": KEYWORD_IGNORE_ABOVE},
        }
    }
    for json_type in ("string", "long", "double", "boolean")
]


class GenerateError(Exception):
    pass


def load_reference(path):
    try:
        with open(path, encoding="utf-8") as fh:
            ref = json.load(fh)
    except OSError as e:
        raise GenerateError("cannot read ECS reference %s: %s (use --ecs PATH)" % (path, e))
    if not isinstance(ref, dict) or not isinstance(ref.get("fields"), dict):
        raise GenerateError("%s: expected an object with a `fields` dict" % path)
    return ref


def load_field_list(path):
    """Returns the field names in file order; rejects duplicates."""
    names, seen = [], {}
    with open(path, encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, 1):
            line = raw.split("#", 1)[0].strip()  # no ECS field name contains `#`
            if not line:
                continue
            if line in seen:
                raise GenerateError("%s:%d: duplicate field %s (first on line %d)"
                                    % (path, lineno, line, seen[line]))
            seen[line] = lineno
            names.append((lineno, line))
    return names


def translate(name, spec):
    ecs_type = spec.get("type")
    if ecs_type not in TYPE_MAP:
        raise GenerateError("%s: ECS type %r has no OpenSearch translation" % (name, ecs_type))
    os_type = TYPE_MAP[ecs_type]
    m = {"type": os_type}
    if os_type == "keyword":
        m["ignore_above"] = KEYWORD_IGNORE_ABOVE
    elif os_type == "wildcard":
        # OpenSearch's wildcard defaults to doc_values:false (no terms aggregation / sort);
        # Elasticsearch's wildcard, which ECS assumes, aggregates. Keep that parity.
        m["doc_values"] = True
    elif os_type == "scaled_float":
        m["scaling_factor"] = spec.get("scaling_factor") or DEFAULT_SCALING_FACTOR
    multi = spec.get("multi_fields") or {}
    if multi:
        sub = {}
        for mf_name, mf_type in sorted(multi.items()):
            if isinstance(mf_type, dict):  # tolerate {name: {type: ...}} as well
                mf_type = mf_type.get("type")
            sub[mf_name] = translate("%s.%s" % (name, mf_name), {"type": mf_type})
        m["fields"] = sub
    m.update(OVERRIDES.get(name, {}))
    return m


def build_properties(names, fields, fields_path):
    unknown = ["%s:%d: %s" % (fields_path, ln, n) for ln, n in names if n not in fields]
    if unknown:
        raise GenerateError("fields not in the ECS reference:\n  " + "\n  ".join(unknown))

    root = {}
    for lineno, name in names:
        parts = name.split(".")
        props = root
        for i, part in enumerate(parts[:-1]):
            prefix = ".".join(parts[: i + 1])
            node = props.get(part)
            if node is None:
                node = {}
                ref = fields.get(prefix)
                if ref is not None:
                    if ref["type"] == "nested":
                        node["type"] = "nested"
                    elif ref["type"] != "object":
                        raise GenerateError("%s:%d: %s is under %s, which ECS types as %s"
                                            % (fields_path, lineno, name, prefix, ref["type"]))
                props[part] = node
            props = node.setdefault("properties", {})
        leaf = parts[-1]
        mapping = translate(name, fields[name])
        if leaf in props:
            # an object/nested field listed after some of its children
            existing = props[leaf]
            if mapping["type"] not in ("object", "nested"):
                raise GenerateError("%s:%d: %s has sub-fields but ECS types it as %s"
                                    % (fields_path, lineno, name, mapping["type"]))
            existing.update(mapping)
        else:
            props[leaf] = mapping
    return root


def generate(ecs_path):
    ref = load_reference(ecs_path)
    names = load_field_list(FIELDS_FILE)
    properties = build_properties(names, ref["fields"], FIELDS_FILE.relative_to(REPO))
    mappings = {"properties": properties}
    if "labels" in properties:
        mappings["dynamic_templates"] = DYNAMIC_TEMPLATES
    body = {
        "template": {"mappings": mappings},
        "version": TEMPLATE_VERSION,
        "_meta": {
            "ecs_version": ref.get("ecs_version", "8.17.0"),
            "generated_by": "mappings/generate.py",
        },
    }
    return render(body)


def render(obj):
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------------------------
# field counts (README)

def count_fields(properties):
    """(leaf fields incl. multi-fields, object/nested fields) of a properties tree."""
    leaves = objects = 0
    for m in properties.values():
        if "properties" in m or m.get("type") in ("object", "nested"):
            objects += 1
            sub_l, sub_o = count_fields(m.get("properties", {}))
            leaves += sub_l
            objects += sub_o
        else:
            leaves += 1
        leaves += len(m.get("fields", {}))
    return leaves, objects


def merge_properties(dst, src):
    for k, v in src.items():
        if k in dst and "properties" in v and "properties" in dst[k]:
            merge_properties(dst[k]["properties"], v["properties"])
            for kk, vv in v.items():
                if kk != "properties":
                    dst[k][kk] = vv
        else:
            dst[k] = json.loads(json.dumps(v))


def composed_properties(index_template, components):
    props = {}
    for ref in index_template.get("composed_of", []):
        name = ref.split("-", 1)[1] if ref.startswith("{prefix}-") else ref
        comp = components.get(name)
        if comp is None:
            raise GenerateError("unknown component template %s" % ref)
        merge_properties(props, comp["template"].get("mappings", {}).get("properties", {}))
    merge_properties(props, index_template.get("template", {}).get("mappings", {}).get("properties", {}))
    return props


def check_index_templates(names):
    """Fails unless index_templates/ holds exactly one <name>.json per registered log type."""
    on_disk = sorted(p.stem for p in INDEX_TEMPLATES.glob("*.json"))
    problems = ["log type %s has no index template %s/%s.json" % (n, INDEX_TEMPLATES.relative_to(REPO), n)
                for n in names if n not in on_disk]
    problems += ["%s/%s.json belongs to no registered log type" % (INDEX_TEMPLATES.relative_to(REPO), n)
                 for n in on_disk if n not in names]
    if problems:
        raise GenerateError("\n  ".join(["index templates and log types differ:"] + problems))


def print_counts(ecs_body, names):
    components = {}
    for p in sorted(COMPONENT_TEMPLATES.glob("*.json")):
        components[p.stem] = json.loads(p.read_text(encoding="utf-8"))
    components["ecs"] = json.loads(ecs_body)
    for name in sorted(components):
        l, o = count_fields(components[name]["template"].get("mappings", {}).get("properties", {}))
        print("component %-22s leaf fields %4d  objects %3d" % (name, l, o))
    for name in names:
        it = json.loads((INDEX_TEMPLATES / ("%s.json" % name)).read_text(encoding="utf-8"))
        l, o = count_fields(composed_properties(it, components))
        print("index     %-22s leaf fields %4d  objects %3d  total_fields %4d"
              % (name, l, o, l + o))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ecs", type=Path, default=DEFAULT_ECS,
                    help="ECS field reference JSON (default: %(default)s)")
    ap.add_argument("--bin", type=Path, default=None,
                    help="the siem-pipeline binary that lists the log types (default: $SIEM_PIPELINE_BIN, "
                         "else cargo run)")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 if %s is not up to date" % OUTPUT.relative_to(REPO))
    ap.add_argument("--counts", action="store_true",
                    help="print field counts of the component and index templates")
    args = ap.parse_args(argv)

    try:
        body = generate(args.ecs)
        names = log_types.names(args.bin)
        check_index_templates(names)
    except (GenerateError, log_types.LogTypesError) as e:
        print("generate.py: error: %s" % e, file=sys.stderr)
        return 2

    rel = OUTPUT.relative_to(REPO)
    if args.check:
        try:
            current = OUTPUT.read_text(encoding="utf-8")
        except OSError:
            current = ""
        if current != body:
            sys.stderr.writelines(difflib.unified_diff(
                current.splitlines(True), body.splitlines(True),
                fromfile="%s (committed)" % rel, tofile="%s (generated)" % rel, n=2))
            print("generate.py: %s is out of date; run python3 mappings/generate.py" % rel,
                  file=sys.stderr)
            return 1
        print("%s is up to date" % rel)
    else:
        OUTPUT.parent.mkdir(parents=True, exist_ok=True)
        OUTPUT.write_text(body, encoding="utf-8")
        print("wrote %s" % rel)
    if args.counts:
        try:
            print_counts(body, names)
        except (GenerateError, OSError, ValueError, KeyError) as e:
            print("generate.py: error: %s" % e, file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
