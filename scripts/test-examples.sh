#!/usr/bin/env bash
# The data checks of `make test`: the example policies lint clean, every deliberately broken file
# is caught, and the flow tests pass (policy-examples/, the KNP truth tables and the Cilium
# conformance suite); the example flow tests, the fidelity fixtures and the conformance suite also
# run through the compiled BPF programs (`policyc test --datapath`), the examples with the template
# datapath and with the `--specialize` objects.
# Exit status: 0 when every check passed, 1 otherwise.
set -uo pipefail

examples=${1:-policy-examples}
policyc=${POLICYC:-target/debug/policyc}
failures=()

check() {
    local want=$1 what=$2
    shift 2
    echo "== policyc $*"
    "$policyc" "$@"
    local rc=$?
    if [[ $rc -ne $want ]]; then
        echo "-> FAILED: $what (exit $rc, expected $want)"
        failures+=("$what")
    fi
}

check 0 "lint of $examples/policies/" lint --format concise "$examples/policies/"

echo "== policyc lint --format concise $examples/broken/"
broken_report=$("$policyc" lint --format concise "$examples/broken/" 2>&1)
rc=$?
echo "$broken_report"
if [[ $rc -ne 1 ]]; then
    echo "-> FAILED: lint of $examples/broken/ (exit $rc, expected 1)"
    failures+=("lint of $examples/broken/")
fi
for file in "$examples"/broken/*.yaml; do
    if ! grep -qF "$file:" <<<"$broken_report"; then
        echo "-> FAILED: no finding for $file"
        failures+=("$file not caught")
    fi
done

check 0 "flow tests of $examples" test "$examples/flowtests.yaml"
check 0 "KNP truth tables" test testsuite/fixtures/knp-truth/
# Verdict tables ported from Cilium's own policy unit tests (testsuite/fixtures/cilium-conformance/;
# the flows policyc still gets wrong are in cilium-conformance-pending/, not run here).
check 0 "Cilium conformance flow tests" test testsuite/fixtures/cilium-conformance/
# The conformance fixtures are generated: the committed files must be what the generator writes
# (python3 with PyYAML, as scripts/check-github-action.sh).
echo "== testsuite/fixtures/cilium-conformance/generate.py --check"
if ! python3 testsuite/fixtures/cilium-conformance/generate.py --check; then
    echo "-> FAILED: Cilium conformance fixtures are stale"
    failures+=("Cilium conformance fixtures are stale")
fi

# Needs root (BPF_PROG_TEST_RUN): CI and the project machines run as root, so this never skips.
check 0 "datapath flow tests of $examples" test --datapath "$examples/flowtests.yaml"
# The Cilium fidelity fixtures (testsuite/fixtures/fidelity/) through the oracle and the kernel.
check 0 "datapath fidelity flow tests" test --datapath testsuite/fixtures/fidelity/
# The Cilium conformance suite through the kernel too (about 1900 cases, ~3 minutes).
check 0 "datapath Cilium conformance flow tests" test --datapath testsuite/fixtures/cilium-conformance/
# The same cases through the --specialize objects (generated C, compiled with clang; cached).
check 0 "specialized datapath flow tests of $examples" test --datapath --specialize "$examples/flowtests.yaml"

if ((${#failures[@]} > 0)); then
    echo "test-examples: ${#failures[@]} check(s) failed:"
    printf '  - %s\n' "${failures[@]}"
    exit 1
fi
echo "test-examples: all checks passed"
