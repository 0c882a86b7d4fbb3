#!/usr/bin/env bash
# Static checks of the deployment artifacts under deploy/ (not deploy/local/):
#   - cfn-lint on deploy/cloudformation/*.yaml
#   - promtool check config / check rules on deploy/prometheus/
#   - the task role's IAM actions are exactly the expected least-privilege set
#   - ECS task definitions (JSON + CloudFormation): stopTimeout > 25 s, health
#     check runs the binary, read-only root fs with a writable /tmp, non-root user
#   - JSON/YAML of the other artifacts parse
# Installs what is missing: cfn-lint into <repo>/.local-stack/venv-tools (pip),
# promtool from Debian's `prometheus` package (apt, as root).
# Last line: "N passed, N failed". Exit status non-zero on any failure.
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO"
VENV="$REPO/.local-stack/venv-tools"
PASSED=0
FAILED=0

pass() { PASSED=$((PASSED + 1)); echo "PASS: $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL: $*"; }

# ---------------------------------------------------------------- tools
ensure_venv() {
    if [[ ! -x "$VENV/bin/python" ]]; then
        echo "== creating $VENV"
        python3 -m venv "$VENV" || return 1
    fi
    local need=()
    [[ -x "$VENV/bin/cfn-lint" ]] || need+=("cfn-lint")
    "$VENV/bin/python" -c 'import yaml' 2>/dev/null || need+=("PyYAML")
    if ((${#need[@]})); then
        echo "== pip install ${need[*]} into $VENV"
        "$VENV/bin/pip" install --quiet --disable-pip-version-check "${need[@]}" || return 1
    fi
}

ensure_promtool() {
    command -v promtool >/dev/null 2>&1 && return 0
    if [[ $(id -u) -ne 0 ]]; then
        echo "promtool missing and not root: install Debian's prometheus package" >&2
        return 1
    fi
    echo "== apt-get install prometheus (for promtool)"
    # Keep the package's postinst from starting a prometheus daemon.
    local created_policy=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 0755 /usr/sbin/policy-rc.d
        created_policy=1
    fi
    local rc=0
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q --no-install-recommends prometheus >/tmp/siem-check-apt.log 2>&1; then
        apt-get update -q >>/tmp/siem-check-apt.log 2>&1
        apt-get install -y -q --no-install-recommends prometheus >>/tmp/siem-check-apt.log 2>&1 || rc=1
    fi
    ((created_policy)) && rm -f /usr/sbin/policy-rc.d
    # If a daemon was started anyway (no init system honouring policy-rc.d),
    # stop exactly that process by its PID.
    local pid
    for pid in $(pgrep -x prometheus 2>/dev/null); do
        if [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == /usr/bin/prometheus ]]; then
            echo "== stopping prometheus daemon started by the package (pid $pid)"
            kill "$pid" 2>/dev/null || true
        fi
    done
    if ((rc)) || ! command -v promtool >/dev/null 2>&1; then
        echo "apt-get install prometheus failed; see /tmp/siem-check-apt.log" >&2
        tail -n 20 /tmp/siem-check-apt.log >&2
        return 1
    fi
}

# ---------------------------------------------------------------- cfn-lint
if ensure_venv; then
    pass "tools venv ($VENV) with cfn-lint and PyYAML"
    shopt -s nullglob
    templates=(deploy/cloudformation/*.yaml)
    shopt -u nullglob
    if ((${#templates[@]} == 0)); then
        fail "no templates in deploy/cloudformation/"
    elif out=$("$VENV/bin/cfn-lint" "${templates[@]}" 2>&1); then
        pass "cfn-lint ${templates[*]}"
    else
        rc=$?
        # cfn-lint exit code is a bit mask: 2 = error, 4 = warning, 8 = informational.
        echo "$out"
        if (( rc & 2 )) || (( rc & 1 )); then
            fail "cfn-lint ${templates[*]} reported errors (exit $rc)"
        else
            pass "cfn-lint ${templates[*]} (warnings only, exit $rc)"
        fi
    fi
    PY="$VENV/bin/python"
else
    fail "could not set up $VENV (python3 -m venv / pip install cfn-lint PyYAML)"
    PY=""
fi

# ---------------------------------------------------------------- promtool
if ensure_promtool; then
    if out=$(promtool check config deploy/prometheus/prometheus.yml 2>&1); then
        pass "promtool check config deploy/prometheus/prometheus.yml"
    else
        echo "$out"; fail "promtool check config deploy/prometheus/prometheus.yml"
    fi
    if out=$(promtool check rules deploy/prometheus/alerts.yml 2>&1); then
        pass "promtool check rules deploy/prometheus/alerts.yml ($(grep -o 'SUCCESS: [0-9]* rules' <<<"$out" || true))"
    else
        echo "$out"; fail "promtool check rules deploy/prometheus/alerts.yml"
    fi
else
    fail "promtool unavailable"
fi

# ---------------------------------------------------------------- python checks
if [[ -n "$PY" ]]; then
    out=$("$PY" - "$REPO" <<'PYEOF'
import json, re, sys
from pathlib import Path
import yaml

repo = Path(sys.argv[1])
results = []  # (ok, message)

def check(ok, msg):
    results.append((bool(ok), msg))

# --- a YAML loader that tolerates CloudFormation short-form tags -----------
class CfnLoader(yaml.SafeLoader):
    pass

def _multi(loader, suffix, node):
    name = "Ref" if suffix == "Ref" else "Fn::" + suffix
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}

CfnLoader.add_multi_constructor("!", _multi)

EXPECTED_TASK_ACTIONS = {
    "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes",
    "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject",
    "kms:Decrypt", "kms:GenerateDataKey",
    "sts:AssumeRole",
    "es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut",
}

def branches(value):
    """Yield the concrete alternatives of a value, expanding Fn::If."""
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        _, a, b = value["Fn::If"]
        yield from branches(a)
        yield from branches(b)
    elif value == {"Ref": "AWS::NoValue"}:
        return
    else:
        yield value

def statements(doc):
    for st in doc.get("Statement", []):
        yield from branches(st)

def as_list(v):
    return v if isinstance(v, list) else [v]

def iter_resources(resources):
    """Yield (logical_id, resource), descending into Fn::ForEach blocks."""
    for key, value in resources.items():
        if key.startswith("Fn::ForEach::"):
            _, _, body = value
            yield from iter_resources(body)
        else:
            yield key, value

def refs_role(value, role_id):
    return value == {"Ref": role_id} or value == role_id

for tpl_path in sorted((repo / "deploy/cloudformation").glob("*.yaml")):
    rel = tpl_path.relative_to(repo)
    tpl = yaml.load(tpl_path.read_text(), Loader=CfnLoader)
    res = dict(iter_resources(tpl.get("Resources", {})))

    if tpl_path.name == "log-archive-reader-role.yaml":
        # The role another account creates: read-only, trusting one principal
        # with an external id.
        role = res["ReaderRole"]["Properties"]
        trust = role["AssumeRolePolicyDocument"]["Statement"]
        check(len(trust) == 1 and "sts:ExternalId" in trust[0].get("Condition", {}).get("StringEquals", {}),
              f"{rel}: the reader role trusts one principal, with an external id")
        acts = {a for p in role["Policies"] for st in statements(p["PolicyDocument"])
                for a in as_list(st.get("Action", []))}
        check(acts == {"s3:ListBucket", "s3:GetObject", "s3:GetObjectVersion", "kms:Decrypt"},
              f"{rel}: the reader role only lists, reads and decrypts ({sorted(acts)})")
        continue

    # Which role does the task definition use as task role?
    task_defs = {k: v for k, v in res.items() if v.get("Type") == "AWS::ECS::TaskDefinition"}
    check(task_defs, f"{rel}: has an AWS::ECS::TaskDefinition")
    for td_id, td in task_defs.items():
        props = td["Properties"]
        tra = props.get("TaskRoleArn", {})
        role_id = tra.get("Fn::GetAtt", [None])[0] if isinstance(tra, dict) else None
        check(role_id in res, f"{rel}: {td_id}.TaskRoleArn is a role of this template ({role_id})")
        if role_id not in res:
            continue
        docs = []
        for pol in as_list(res[role_id]["Properties"].get("Policies", [])):
            for p in branches(pol):
                docs.append((f"{role_id}/{p.get('PolicyName')}", p["PolicyDocument"]))
        for pid, p in res.items():
            if p.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"):
                pp = p["Properties"]
                attached = pp.get("Roles", []) if "Roles" in pp else [pp.get("RoleName")]
                if any(refs_role(r, role_id) for r in attached):
                    docs.append((pid, pp["PolicyDocument"]))
        mp = res[role_id]["Properties"].get("ManagedPolicyArns", [])
        check(not mp, f"{rel}: task role {role_id} has no AWS managed policies attached ({mp})")
        actions, wild, denies = set(), [], []
        for name, doc in docs:
            for st in statements(doc):
                if "NotAction" in st:
                    wild.append(f"{name}: NotAction")
                for a in as_list(st.get("Action", [])):
                    if not isinstance(a, str):
                        wild.append(f"{name}: non-literal action {a!r}")
                        continue
                    if "*" in a or "?" in a:
                        wild.append(f"{name}: {a}")
                    if st.get("Effect") == "Allow":
                        actions.add(a)
                    else:
                        denies.append(a)
        check(not wild, f"{rel}: no wildcard actions in task role policies {wild or ''}".rstrip())
        missing = EXPECTED_TASK_ACTIONS - actions
        extra = actions - EXPECTED_TASK_ACTIONS
        check(not missing and not extra,
              f"{rel}: task role allows exactly the {len(EXPECTED_TASK_ACTIONS)} expected actions"
              + (f" (missing {sorted(missing)}, unexpected {sorted(extra)})" if missing or extra else ""))
        # Resource scoping: no bare "*" resources.
        star_res = [name for name, doc in docs for st in statements(doc)
                    if any(r == "*" for r in as_list(st.get("Resource", [])))]
        check(not star_res, f"{rel}: no Resource \"*\" in task role policies {star_res or ''}".rstrip())
        for c in props.get("ContainerDefinitions", []):
            cname = c.get("Name")
            st = c.get("StopTimeout")
            grace = next((int(e.get("Value")) for e in c.get("Environment", [])
                          if e.get("Name") == "SIEM_PIPELINE_SHUTDOWN_GRACE_SECS"), 25)
            check(isinstance(st, int) and st > grace + 5,
                  f"{rel}: {cname} StopTimeout {st} > shutdown grace {grace} + 5 s of final calls")
            hc = c.get("HealthCheck", {}).get("Command", [])
            check(hc[:2] == ["CMD", "/usr/local/bin/siem-pipeline"] and "healthcheck" in hc,
                  f"{rel}: {cname} HealthCheck runs the binary: {hc}")
            check(c.get("ReadonlyRootFilesystem") is True, f"{rel}: {cname} ReadonlyRootFilesystem")
            volumes = {v.get("Name") for v in props.get("Volumes", [])}
            check(any(m.get("ContainerPath") == "/tmp" and m.get("SourceVolume") in volumes and not m.get("ReadOnly")
                      for m in c.get("MountPoints", [])), f"{rel}: {cname} has a writable /tmp volume")
            check(str(c.get("User", "0")).split(":")[0] not in ("0", "root"), f"{rel}: {cname} User non-root ({c.get('User')})")

    for rid, rule in ((k, v) for k, v in res.items() if v.get("Type") == "AWS::Events::Rule"):
        key_filter = rule["Properties"].get("EventPattern", {}).get("detail", {}).get("object", {}).get("key", [])
        check(any(isinstance(f, dict) and f.get("anything-but", {}).get("prefix") == {"Ref": "DeadLetterPrefix"}
                  for f in key_filter),
              f"{rel}: {rid} does not match the dead-letter prefix")

    queues = {k: v for k, v in res.items() if v.get("Type") == "AWS::SQS::Queue"}
    for qid, q in queues.items():
        rp = q["Properties"].get("RedrivePolicy")
        if rp:
            check(rp.get("maxReceiveCount") == 5, f"{rel}: {qid} redrive maxReceiveCount 5")
            check(q["Properties"].get("VisibilityTimeout") == 300, f"{rel}: {qid} VisibilityTimeout 300")

# --- ECS task definition JSON ----------------------------------------------
td_path = repo / "deploy/ecs/task-definition.json"
try:
    td = json.loads(td_path.read_text())
    check(True, f"{td_path.relative_to(repo)} parses")
    for c in td["containerDefinitions"]:
        cname = c.get("name")
        st = c.get("stopTimeout")
        grace = next((int(e.get("value")) for e in c.get("environment", [])
                      if e.get("name") == "SIEM_PIPELINE_SHUTDOWN_GRACE_SECS"), 25)
        check(isinstance(st, int) and st > grace + 5,
              f"task-definition.json: {cname} stopTimeout {st} > shutdown grace {grace} + 5 s of final calls")
        hc = c.get("healthCheck", {}).get("command", [])
        check(hc[:2] == ["CMD", "/usr/local/bin/siem-pipeline"] and "healthcheck" in hc,
              f"task-definition.json: {cname} healthCheck runs the binary: {hc}")
        check(c.get("readonlyRootFilesystem") is True, f"task-definition.json: {cname} readonlyRootFilesystem")
        volumes = {v.get("name") for v in td.get("volumes", [])}
        check(any(m.get("containerPath") == "/tmp" and m.get("sourceVolume") in volumes and not m.get("readOnly")
                  for m in c.get("mountPoints", [])), f"task-definition.json: {cname} has a writable /tmp volume")
        check(str(c.get("user", "0")).split(":")[0] not in ("0", "root"), f"task-definition.json: {cname} user non-root")
        labels = c.get("dockerLabels", {})
        check(labels.get("PROMETHEUS_EXPORTER_PORT") == "9464" and labels.get("PROMETHEUS_EXPORTER_PATH") == "/metrics",
              f"task-definition.json: {cname} Prometheus dockerLabels")
        # Every SIEM_* variable must name a config key, or the binary refuses to start.
        keys = {
            "aws": {"region", "endpoint_url", "s3_force_path_style"},
            "sqs": {"queue_url", "wait_time_secs", "max_messages", "receivers", "exit_after_empty_receives",
                    "visibility_timeout_secs", "max_visibility_extension_secs"},
            "s3": {"max_concurrent_objects"},
            "opensearch": {"url", "index_prefix", "index_rotation", "request_timeout_secs", "username", "password"},
            "bulk": {"max_bytes", "max_documents", "flush_interval_ms", "concurrency", "max_retries", "max_backoff_ms"},
            "metrics": {"listen"},
            "pipeline": {"channel_capacity", "shutdown_grace_secs", "max_bytes_in_flight", "max_record_bytes",
                         "max_object_bytes", "max_parquet_bytes", "max_decompression_ratio",
                         "max_event_age_days", "max_event_future_hours"},
            "dead_letter": {"s3_url", "directory"},
        }
        names = [e["name"] for e in c.get("environment", []) + c.get("secrets", [])]
        bad = []
        for n in names:
            if not n.startswith("SIEM_"):
                continue
            rest = n[5:].lower()
            if n == "SIEM_CONFIG":
                continue
            if not any(rest.startswith(s + "_") and rest[len(s) + 1:] in k for s, k in keys.items()):
                bad.append(n)
        check(not bad, f"task-definition.json: every SIEM_* variable names a config key {bad or ''}".rstrip())
except Exception as e:  # noqa: BLE001
    check(False, f"{td_path.relative_to(repo)}: {e}")

# --- compose file parses -----------------------------------------------------
cp = repo / "deploy/compose/docker-compose.yml"
try:
    compose = yaml.safe_load(cp.read_text())
    svcs = compose.get("services", {})
    check({"opensearch", "pipeline"} <= set(svcs), f"{cp.relative_to(repo)} parses, services: {sorted(svcs)}")
    build = svcs.get("pipeline", {}).get("build", {})
    check(build.get("dockerfile") == "deploy/docker/Dockerfile" and build.get("context") == "../..",
          f"{cp.relative_to(repo)}: pipeline built from deploy/docker/Dockerfile with context ../..")
except Exception as e:  # noqa: BLE001
    check(False, f"{cp.relative_to(repo)}: {e}")

for ok, msg in results:
    print(("PASS: " if ok else "FAIL: ") + msg)
PYEOF
)
    rc=$?
    echo "$out"
    PASSED=$((PASSED + $(grep -c '^PASS: ' <<<"$out")))
    FAILED=$((FAILED + $(grep -c '^FAIL: ' <<<"$out")))
    if ((rc != 0)); then fail "python checks crashed (exit $rc)"; fi
else
    fail "python checks skipped: no tools venv"
fi

# ---------------------------------------------------------------- Dockerfile sanity
df=deploy/docker/Dockerfile
if [[ -f $df ]] \
    && grep -q '^FROM \${RUST_IMAGE} AS builder' "$df" && grep -q '^ARG RUST_IMAGE=rust:1.95-bookworm' "$df" \
    && grep -q '^ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot' "$df" \
    && grep -q 'cargo build --release --locked -p siem-pipeline' "$df" \
    && grep -q '^HEALTHCHECK .*' "$df" && grep -q 'CMD \["/usr/local/bin/siem-pipeline", "healthcheck"\]' "$df" \
    && grep -q '^ENTRYPOINT \["/usr/local/bin/siem-pipeline"\]' "$df" \
    && grep -q '^USER 65532' "$df" && grep -q '^EXPOSE 9464' "$df" \
    && [[ -f deploy/docker/Dockerfile.dockerignore && -f deploy/docker/config.toml ]]; then
    pass "$df has builder/runtime stages, healthcheck, entrypoint, non-root user"
else
    fail "$df is missing an expected instruction (see tests/deploy/check.sh)"
fi

echo "${PASSED} passed, ${FAILED} failed"
((FAILED == 0))
