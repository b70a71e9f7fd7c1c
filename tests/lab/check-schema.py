#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check-schema.py SOURCE_DIR - docs/lab-manifest.schema.json is a valid JSON
Schema, every example in docs/lab-examples/ meets it, and it refuses a few
manifests that snapvm refuses too (tests/unit/test-lab-manifest.c checks
snapvm's side, including that it loads the same examples). Skips (exit 77)
without python3-jsonschema."""
import json
import pathlib
import sys

try:
    import jsonschema
except ImportError:
    print("skipped: python3-jsonschema is not installed")
    sys.exit(77)

src = pathlib.Path(sys.argv[1])
schema = json.loads((src / "docs" / "lab-manifest.schema.json").read_text())
validator_cls = jsonschema.Draft202012Validator
validator_cls.check_schema(schema)
validator = validator_cls(schema)

examples = sorted((src / "docs" / "lab-examples").glob("*.json"))
if not examples:
    sys.exit("no examples in docs/lab-examples")
for path in examples:
    errors = list(validator.iter_errors(json.loads(path.read_text())))
    if errors:
        sys.exit(f"{path}: {errors[0].message} at {errors[0].json_path}")
    print(f"ok {path.name}")

GOOD = {"experiment": "e", "workloads": [{"name": "a", "program": "p"}],
        "matrix": {"arch": ["x86_64"], "checkpoint_at": [1]}}
BAD = {
    "unknown top-level key": dict(GOOD, typo=1),
    "negative point": dict(GOOD, matrix={"arch": ["x86_64"], "checkpoint_at": [-2]}),
    "program and image": dict(GOOD, workloads=[{"name": "a", "program": "p", "image": "i",
                                                "command": ["x"]}]),
    "unknown arch": dict(GOOD, matrix={"arch": ["mips"], "checkpoint_at": [1]}),
    "relative output": dict(GOOD, workloads=[{"name": "a", "program": "p",
                                              "outputs": ["rel"]}]),
    "an output path with ':'": dict(GOOD, workloads=[{"name": "a", "program": "p",
                                                       "outputs": ["/a:b"]}]),
    "zero reference runs": dict(GOOD, reference_runs=0),
}
if list(validator.iter_errors(GOOD)):
    sys.exit("the minimal good manifest is refused")
for what, manifest in BAD.items():
    if not list(validator.iter_errors(manifest)):
        sys.exit(f"the schema accepts a manifest with {what}")
    print(f"ok refuses {what}")
