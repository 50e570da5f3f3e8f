#!/usr/bin/env bash
# The body of the policyc GitHub Action (action.yml); `make test` runs it on policy-examples/
# with a fake GITHUB_* environment (scripts/check-github-action.sh).
#
# Inputs (environment):
#   POLICYC             policyc binary (default: policyc on PATH)
#   POLICYC_POLICIES    policy paths, space-separated (default .)
#   POLICYC_INVENTORY   inventory (needed for test and diff)
#   POLICYC_FLOWTESTS   FlowTests paths, space-separated (empty: no tests)
#   POLICYC_BASE        base of the diff: a git revision or a directory (default on pull requests:
#                       origin/$POLICYC_BASE_REF)
#   POLICYC_HEAD        head of the diff (default: POLICYC_POLICIES in the working tree)
#   POLICYC_COMMENT     true: post the diff as the sticky pull-request comment
#   POLICYC_FAIL_LEVEL  error | warning
#   POLICYC_OUT         where reports go (default: $RUNNER_TEMP/policyc or ./policyc-reports)
#   POLICYC_DRY_RUN     1: never call the GitHub API; write what would be sent to
#                       $POLICYC_OUT/comment-plan.txt instead
#   GITHUB_*            as set by Actions: GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, GITHUB_REPOSITORY,
#                       GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_API_URL; GH_TOKEN for the API
#
# Outputs ($GITHUB_OUTPUT): sarif, junit, diff-markdown, diff-json, lint-exit, test-exit.
# Exit status: 1 when lint or the flow tests failed (the diff never fails the job), 2 on a usage
# error.
set -uo pipefail

policyc=${POLICYC:-policyc}
read -r -a policies <<<"${POLICYC_POLICIES:-.}"
read -r -a flowtests <<<"${POLICYC_FLOWTESTS:-}"
inventory=${POLICYC_INVENTORY:-}
fail_level=${POLICYC_FAIL_LEVEL:-error}
out=${POLICYC_OUT:-${RUNNER_TEMP:-.}/policyc-reports}
marker='<!-- policyc:diff -->'
mkdir -p "$out"

output() { [[ -n ${GITHUB_OUTPUT:-} ]] && echo "$1=$2" >>"$GITHUB_OUTPUT"; }
summary() { [[ -n ${GITHUB_STEP_SUMMARY:-} ]] && cat >>"$GITHUB_STEP_SUMMARY"; }

inventory_args=()
[[ -n $inventory ]] && inventory_args=(--inventory "$inventory")

# --- lint: SARIF for code scanning, annotations for the job -----------------------------------
echo "::group::policyc lint ${policies[*]}"
"$policyc" lint "${policies[@]}" "${inventory_args[@]}" --fail-level "$fail_level" \
    --format sarif --output "$out/policyc.sarif"
lint_exit=$?
"$policyc" lint "${policies[@]}" "${inventory_args[@]}" --fail-level "$fail_level" --format github
echo "::endgroup::"
if [[ $lint_exit -eq 2 ]]; then
    echo "::error::policyc lint could not run (exit 2); see the log"
    exit 2
fi
output sarif "$out/policyc.sarif"
output lint-exit "$lint_exit"

# --- flow tests: JUnit for test reporters, annotations at each failing test -------------------
test_exit=0
if ((${#flowtests[@]} > 0)); then
    echo "::group::policyc test ${flowtests[*]}"
    "$policyc" test --format junit "${flowtests[@]}" >"$out/policyc-junit.xml"
    test_exit=$?
    "$policyc" test --format github "${flowtests[@]}"
    echo "::endgroup::"
    output junit "$out/policyc-junit.xml"
    output test-exit "$test_exit"
fi

# --- diff: on pull requests (or with an explicit base) -----------------------------------------
base=${POLICYC_BASE:-}
if [[ -z $base && ${GITHUB_EVENT_NAME:-} == pull_request* && -n ${POLICYC_BASE_REF:-} ]]; then
    base="origin/$POLICYC_BASE_REF"
fi
if [[ -n $base ]]; then
    if [[ -z $inventory ]]; then
        echo "::error::the diff needs an inventory (input \`inventory\`)"
        exit 2
    fi
    diff_args=(diff --inventory "$inventory" --base "$base")
    if [[ -n ${POLICYC_HEAD:-} ]]; then
        diff_args+=(--head "$POLICYC_HEAD")
    elif [[ -d $base ]]; then
        diff_args+=(--head "${policies[0]}")
    else
        diff_args+=(--paths "${policies[@]}")
    fi
    echo "::group::policyc ${diff_args[*]}"
    "$policyc" "${diff_args[@]}" --format markdown --output "$out/policyc-diff.md"
    diff_exit=$?
    "$policyc" "${diff_args[@]}" --format json --output "$out/policyc-diff.json"
    echo "::endgroup::"
    if [[ $diff_exit -eq 2 || ! -s $out/policyc-diff.md ]]; then
        echo "::error::policyc diff could not run (exit $diff_exit); see the log"
        exit 2
    fi
    output diff-markdown "$out/policyc-diff.md"
    output diff-json "$out/policyc-diff.json"
    summary <"$out/policyc-diff.md"

    if [[ ${POLICYC_COMMENT:-true} == true && ${GITHUB_EVENT_NAME:-} == pull_request* ]]; then
        "$(dirname "$0")/github-sticky-comment.sh" "$out/policyc-diff.md" "$marker" "$out/comment-plan.txt" || exit 2
    fi
fi

if [[ $lint_exit -ne 0 || $test_exit -ne 0 ]]; then
    echo "policyc: lint exit $lint_exit, flow tests exit $test_exit"
    exit 1
fi
exit 0
