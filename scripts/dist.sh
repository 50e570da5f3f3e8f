#!/usr/bin/env bash
# `make dist`: release archives for x86_64 Linux (issue 15).
#
#   dist/policyc-<version>-x86_64-linux.tar.gz    policyc, policy-loader, man pages, completions,
#                                                 README, LICENSE
#   dist/SHA256SUMS                               sha256sum -c compatible
#
# The binaries are linked statically (glibc's crt-static; libbpf, libelf and zlib from the
# policyc-kernel `static` feature), so they run on any x86_64 Linux without clang, libelf or
# libbpf installed. The script then checks what it built: ldd finds no shared library, and both
# binaries run `--version`, and policyc lints and tests policy-examples/ from another directory.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo=${CARGO:-cargo}
locked=()
[[ -f Cargo.lock ]] && locked=(--locked)
target=x86_64-unknown-linux-gnu
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
name="policyc-$version-x86_64-linux"
out=dist
stage="$out/$name"

# libbpf-sys links the system's libelf.a and libz.a (libelf-dev, zlib1g-dev) from here.
libdir=$(dirname "$(cc -print-file-name=libelf.a)")
export LIBBPF_SYS_LIBRARY_PATH="${LIBBPF_SYS_LIBRARY_PATH:-$libdir}"

echo "== cargo build --release --target $target (static)"
# --target keeps RUSTFLAGS off build scripts and proc macros, which must stay dynamic.
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
    "$cargo" build --release "${locked[@]}" --target "$target" \
    -p policyc -p policyc-loader --features policyc-kernel/static
bin="target/$target/release"

rm -rf "$stage" "$out/$name.tar.gz"
mkdir -p "$stage/bin" "$stage/share/man/man1" "$stage/share/completions"
cp "$bin/policyc" "$bin/policy-loader" "$stage/bin/"
cp README.md LICENSE "$stage/"
"$stage/bin/policyc" manpages "$stage/share/man/man1" >/dev/null
"$stage/bin/policy-loader" manpages "$stage/share/man/man1" >/dev/null
for shell in bash zsh fish; do
    "$stage/bin/policyc" completions "$shell" >"$stage/share/completions/policyc.$shell"
    "$stage/bin/policy-loader" completions "$shell" >"$stage/share/completions/policy-loader.$shell"
done

echo "== checking the archive's binaries"
for b in policyc policy-loader; do
    # A static(-pie) executable: ldd names no shared library ("statically linked").
    if ldd "$stage/bin/$b" 2>&1 | grep -q '=>'; then
        echo "-> FAILED: $b needs shared libraries:"
        ldd "$stage/bin/$b"
        exit 1
    fi
    echo "$b: $(ldd "$stage/bin/$b" 2>&1 | head -1 | xargs)"
    "$stage/bin/$b" --version
done
examples=$(realpath policy-examples)
(
    cd "$(mktemp -d)"
    "$OLDPWD/$stage/bin/policyc" lint --format concise "$examples/policies/"
    "$OLDPWD/$stage/bin/policyc" test "$examples/flowtests.yaml"
)

tar -C "$out" -czf "$out/$name.tar.gz" "$name"
(cd "$out" && sha256sum "$name.tar.gz" >SHA256SUMS)
rm -rf "$stage"
echo "== $out/$name.tar.gz"
cat "$out/SHA256SUMS"
