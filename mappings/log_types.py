"""The log types the pipeline registers, as the siem-pipeline binary lists them.

The registry in pipeline/src/log_types/mod.rs is the one list of log types; the generators of
mappings/ and dashboards/ ask the binary for it (`siem-pipeline log-types --json`) rather than
keep a list of their own. The binary is `--bin PATH`, else $SIEM_PIPELINE_BIN, else
`cargo run -q -p siem-pipeline` in the repository.

Standard library only.
"""

import json
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CARGO_RUN = ["cargo", "run", "-q", "-p", "siem-pipeline", "--"]


class LogTypesError(Exception):
    pass


def load(binary=None):
    """[{"name": ..., "namespace": ...}, ...] in registry order."""
    binary = binary or os.environ.get("SIEM_PIPELINE_BIN")
    command = ([str(binary)] if binary else CARGO_RUN) + ["log-types", "--json"]
    try:
        run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    except OSError as e:
        raise LogTypesError("cannot run %s: %s" % (" ".join(command), e))
    if run.returncode != 0:
        raise LogTypesError("%s exited with %d:\n%s" % (" ".join(command), run.returncode, run.stderr.strip()))
    try:
        log_types = json.loads(run.stdout)
    except ValueError as e:
        raise LogTypesError("%s printed no JSON: %s" % (" ".join(command), e))
    if not isinstance(log_types, list) or not log_types or not all(
            isinstance(t, dict) and isinstance(t.get("name"), str) for t in log_types):
        raise LogTypesError("%s: expected a non-empty array of objects with a name" % " ".join(command))
    return log_types


def names(binary=None):
    return [t["name"] for t in load(binary)]
