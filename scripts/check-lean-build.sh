#!/usr/bin/env bash
# Issue 12 acceptance, run by `make test`: the CI half of policyc.
#  1. `policyc --no-default-features` pulls no libbpf/libelf crate and not the loader or the
#     kernel layer (cargo tree, normal and build dependencies).
#  2. That binary lints, tests, explains and diffs policy-examples/ with exactly the output
#     (stdout, stderr, exit status) of the full binary.
#  3. It refuses `build` and `test --datapath` by name, exit 2.
# Exit status: 0 when every check passed, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."

cargo=${CARGO:-cargo}
locked=()
[[ -f Cargo.lock ]] && locked=(--locked)
examples=policy-examples
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=()

echo "== cargo tree -p policyc --no-default-features -e normal,build"
tree=$("$cargo" tree "${locked[@]}" -p policyc --no-default-features -e normal,build --prefix none)
forbidden=$(grep -E '^(libbpf-rs|libbpf-sys|libbpf-cargo|libelf|libz-sys|policyc-loader|policyc-kernel) ' <<<"$tree" | sort -u)
if [[ -n $forbidden ]]; then
    echo "-> FAILED: the lean policyc depends on:"
    echo "$forbidden"
    failures+=("lean dependency tree")
fi

# The full binary is the workspace build's (`make test` builds it first); it is set aside while
# the lean one is built in the same target dir, then put back, so no third build of the
# policyc crates is needed.
if [[ ! -x target/debug/policyc ]]; then
    echo "== cargo build -p policyc"
    "$cargo" build -q "${locked[@]}" -p policyc || exit 1
fi
cp target/debug/policyc "$work/policyc-full"
echo "== cargo build -p policyc --no-default-features"
"$cargo" build -q "${locked[@]}" -p policyc --no-default-features || exit 1
cp target/debug/policyc "$work/policyc-lean"
# --remove-destination: target/debug/policyc is a hard link into deps/; writing through it would
# overwrite the lean artifact cargo keeps there.
cp --remove-destination "$work/policyc-full" target/debug/policyc

# The diff's head: the examples without one policy (a change that closes flows).
mkdir -p "$work/head"
cp -r "$examples/policies/." "$work/head/"
rm "$work/head/shop/api.yaml"

same() {
    local what=$1
    shift
    local bin
    for bin in lean full; do
        "$work/policyc-$bin" "$@" >"$work/$bin.out" 2>"$work/$bin.err"
        echo "exit $?" >>"$work/$bin.out"
    done
    if cmp -s "$work/lean.out" "$work/full.out" && cmp -s "$work/lean.err" "$work/full.err"; then
        echo "   same output: policyc $what ($(wc -l <"$work/full.out") lines)"
    else
        echo "-> FAILED: policyc $what differs between the lean and the full binary"
        diff -u "$work/full.out" "$work/lean.out" | head -20
        diff -u "$work/full.err" "$work/lean.err" | head -20
        failures+=("$what")
    fi
}

echo "== lean vs full on $examples/"
same "lint" lint --format concise "$examples/policies/"
same "lint (broken)" lint --format json "$examples/broken/"
same "test" test "$examples/flowtests.yaml"
same "test --format junit" test --format junit "$examples/flowtests.yaml"
same "explain" explain --inventory "$examples/inventory.yaml" --from shop/frontend --to payments/payments-api --port 8443 "$examples/policies/"
same "diff" diff --inventory "$examples/inventory.yaml" --base "$examples/policies" --head "$work/head" --format markdown

refuses() {
    local what=$1
    shift
    "$work/policyc-lean" "$@" >/dev/null 2>"$work/refusal.err"
    local rc=$?
    if [[ $rc -eq 2 ]] && grep -q "built without the \`bpf\` feature" "$work/refusal.err"; then
        echo "   refused: policyc $what"
    else
        echo "-> FAILED: the lean policyc $what: exit $rc, $(cat "$work/refusal.err")"
        failures+=("lean $what")
    fi
}
refuses "build" build --inventory "$examples/inventory.yaml" -o "$work/out" "$examples/policies/"
refuses "test --datapath" test --datapath "$examples/flowtests.yaml"

if ((${#failures[@]} > 0)); then
    echo "check-lean-build: ${#failures[@]} check(s) failed:"
    printf '  - %s\n' "${failures[@]}"
    exit 1
fi
echo "check-lean-build: the lean policyc has no BPF dependency and answers like the full one"
