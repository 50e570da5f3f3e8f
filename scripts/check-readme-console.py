#!/usr/bin/env python3
"""`make test`: every ```console block of README.md and docs/*.md run against the built policyc.

Each `$ COMMAND` line (with `\\` continuations) is run with `sh -c` from a scratch directory
that links the repository's `policy-examples/` and `testsuite/`, with the built `policyc` first
on PATH, standard error merged into standard output. The lines after it, up to the next `$ `
line, are its expected output: compared exactly (trailing spaces ignored), except that a line
`...` matches any number of lines. A block that cannot run here (root, a kernel, clang, a node
state) is preceded by the line `<!-- console: not checked (REASON) -->`; every other block is
checked, so the README cannot drift from what the tools print.

Usage: scripts/check-readme-console.py [--update] [POLICYC] (default target/debug/policyc);
--update writes what the commands print into the blocks (review the diff before committing).
"""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
SKIP = re.compile(r"<!-- console: not checked \(.+\) -->")


def blocks(path):
    """(line number, [lines]) of each checked console block."""
    lines = open(path, encoding="utf-8").read().split("\n")
    out, i = [], 0
    while i < len(lines):
        fence = lines[i].strip()
        if fence == "```console":
            indent = len(lines[i]) - len(lines[i].lstrip())
            skipped = i > 0 and SKIP.search(lines[i - 1] or "") is not None
            start, body = i + 1, []
            i += 1
            while i < len(lines) and lines[i].strip() != "```":
                body.append(lines[i][indent:])
                i += 1
            if not skipped:
                out.append((start, body))
        i += 1
    return out


def commands(body):
    """(command, expected lines) pairs of a block."""
    out, i = [], 0
    while i < len(body):
        if not body[i].startswith("$ "):
            i += 1
            continue
        command = body[i][2:]
        while command.endswith("\\") and i + 1 < len(body):
            i += 1
            command = command[:-1] + " " + body[i].strip()
        i += 1
        expected = []
        while i < len(body) and not body[i].startswith("$ "):
            expected.append(body[i])
            i += 1
        out.append((command, expected))
    return out


def matches(expected, actual):
    """Exact lines, `...` matching any number of lines."""
    if not expected:
        return not actual
    if expected[0] == "...":
        return any(matches(expected[1:], actual[k:]) for k in range(len(actual) + 1))
    return bool(actual) and expected[0] == actual[0] and matches(expected[1:], actual[1:])


def main():
    args = sys.argv[1:]
    update = "--update" in args
    args = [a for a in args if a != "--update"]
    policyc = os.path.abspath(args[0] if args else os.path.join(ROOT, "target/debug/policyc"))
    bindir = tempfile.mkdtemp()
    os.symlink(policyc, os.path.join(bindir, "policyc"))
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ["PATH"], NO_COLOR="1", COLUMNS="100")
    files = [os.path.join(ROOT, "README.md")] + sorted(
        os.path.join(ROOT, "docs", f) for f in os.listdir(os.path.join(ROOT, "docs")) if f.endswith(".md")
    )
    failures, checked = 0, 0
    for path in files:
        replacements = []
        for line, body in blocks(path):
            new_body = []
            with tempfile.TemporaryDirectory() as work:
                for d in ("policy-examples", "testsuite"):
                    os.symlink(os.path.join(ROOT, d), os.path.join(work, d))
                for command, expected in commands(body):
                    checked += 1
                    new_body.append("$ " + command)
                    run = subprocess.run(["sh", "-c", command + " 2>&1"], cwd=work, env=env,
                                         stdout=subprocess.PIPE, text=True)
                    actual = [l.rstrip() for l in run.stdout.rstrip("\n").split("\n")] if run.stdout else []
                    want = [l.rstrip() for l in expected]
                    while want and want[-1] == "":
                        want.pop()
                    new_body.extend(actual)
                    if not matches(want, actual):
                        failures += 1
                        rel = os.path.relpath(path, ROOT)
                        print(f"{rel}:{line}: `$ {command}` printed:\n" + "\n".join(actual)
                              + "\n--- the block says:\n" + "\n".join(want) + "\n")
            replacements.append((line, len(body), new_body))
        if update and failures:
            lines = open(path, encoding="utf-8").read().split("\n")
            for line, length, new_body in reversed(replacements):
                indent = " " * (len(lines[line - 1]) - len(lines[line - 1].lstrip()))
                lines[line:line + length] = [(indent + l) if l else l for l in new_body]
            open(path, "w", encoding="utf-8").write("\n".join(lines))
    print(f"{checked} console commands checked, {failures} differ")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
