#!/usr/bin/env python3
"""Fail when modules of one crate depend on each other in a cycle (issue 12).

For every crate (a directory with Cargo.toml and src/), each .rs file is a module; a
reference `crate::a::b::c` (in `use` trees, grouped or not, and in paths inside code) or
`super::x` is an edge from the referring module to the deepest module the path names.
Parent/child references are not cycles (a parent declares its children, children use their
parent's items); every other edge is lifted to the two siblings below the modules' common
ancestor, and any strongly connected set of siblings is reported:

    scripts/module-cycles.py [crate-dir ...]     (default: every workspace member)

Test modules (`tests.rs`, `#[cfg(test)] mod tests`) are skipped: a test may reach across.
Exit 1 when a cycle exists, printing each with one example reference per edge.
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
USE_RE = re.compile(r"\buse\s+(crate|super|self)(::[^;]*);", re.S)
PATH_RE = re.compile(r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")


def strip_tests(text):
    """Drop `#[cfg(test)] mod x { ... }` blocks and comments."""
    text = re.sub(r"//[^\n]*", "", text)
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\((?:all\()?test\b[^\]]*\]\s*(pub(\([^)]*\))?\s+)?mod\s+\w+\s*\{", text):
        if m.start() < i:
            continue
        out.append(text[i : m.start()])
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j
    out.append(text[i:])
    return "".join(out)


def expand(prefix, tree):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e]."""
    tree = tree.strip()
    brace = tree.find("{")
    if brace < 0:
        return [prefix + tree.split(" as ")[0].strip()]
    head, body = tree[:brace], tree[brace + 1 : tree.rfind("}")]
    parts, depth, cur = [], 0, ""
    for ch in body:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += {"{": 1, "}": -1}.get(ch, 0)
        cur += ch
    parts.append(cur)
    out = []
    for p in parts:
        if p.strip():
            out += expand(prefix + head, p)
    return out


def module_of(src, path):
    rel = path.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


def crate_modules(src):
    mods = {}
    for f in sorted(src.rglob("*.rs")):
        if f.name == "tests.rs" or "tests" in f.relative_to(src).parts[:-1]:
            continue
        mods[module_of(src, f)] = f
    return mods


def resolve(mods, here, kind, rest):
    """The deepest known module named by `kind::rest` seen from module `here`."""
    segs = [s for s in rest.split("::") if s]
    if kind == "crate":
        base = ()
    else:  # super / self: a module's path is the same for `x.rs` and `x/mod.rs`
        base = here if kind == "self" else here[:-1]
        while segs and segs[0] in ("super", "self"):
            if segs.pop(0) == "super":
                base = base[:-1]
    best = None
    cur = base
    if cur in mods:
        best = cur
    for s in segs:
        cur = cur + (s,)
        if cur in mods:
            best = cur
        else:
            break
    return best


def edges_of(mods):
    edges = {}
    for mod, f in mods.items():
        text = strip_tests(f.read_text())
        refs = []
        for m in USE_RE.finditer(text):
            for p in expand("", m.group(2)[2:]):
                refs.append((m.group(1), p))
        for m in PATH_RE.finditer(text):
            refs.append((m.group(1), m.group(2)[2:]))
        for kind, rest in refs:
            target = resolve(mods, mod, kind, rest)
            if target is None or target == mod:
                continue
            n = 0
            while n < min(len(mod), len(target)) and mod[n] == target[n]:
                n += 1
            if n == len(mod) or n == len(target):
                continue  # ancestor / descendant
            a, b = mod[: n + 1], target[: n + 1]
            edges.setdefault((a, b), f"{'::'.join(mod)} -> {kind}::{rest}")
    return edges


def cycles(edges):
    graph = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def members():
    text = (ROOT / "Cargo.toml").read_text()
    body = re.search(r"members\s*=\s*\[([^\]]*)\]", text).group(1)
    return [ROOT / m for m in re.findall(r'"([^"]+)"', body)]


def main():
    crates = [Path(a).resolve() for a in sys.argv[1:]] or members()
    bad = 0
    for crate in crates:
        src = crate / "src"
        if not src.is_dir():
            continue
        edges = edges_of(crate_modules(src))
        for comp in cycles(edges):
            bad += 1
            names = ", ".join("::".join(c) for c in comp)
            print(f"{crate.relative_to(ROOT)}: module cycle between {names}")
            members_ = set(comp)
            for (a, b), why in sorted(edges.items()):
                if a in members_ and b in members_:
                    print(f"    {'::'.join(a)} -> {'::'.join(b)}   e.g. {why}")
    if bad:
        print(f"{bad} module cycle(s)")
        return 1
    print(f"no module cycles in {len(crates)} crate(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
