#!/usr/bin/env node
// storage-conformance: the suite's one command line. In a clone of the suite it
// runs the TypeScript sources as they are (Node >= 22.18 strips the types); in
// an installed package (under node_modules, where Node strips no types) it runs
// the JavaScript compiled into dist/ when the package was packed (npm prepack).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `error: storage-conformance needs Node.js 22.18 or newer (this is ${process.version}); install Node.js 24 (https://nodejs.org), or run it through npx with a newer node on PATH\n`,
  );
  process.exit(2);
}

const here = fileURLToPath(new URL(".", import.meta.url));
const compiled = new URL("../dist/src/cli/main.js", import.meta.url);
const installed = here.split("/").includes("node_modules");
let entry;
if (installed && existsSync(fileURLToPath(compiled))) entry = compiled;
else if (!installed) entry = new URL("../src/cli/main.ts", import.meta.url);
else {
  process.stderr.write(
    "error: this copy of storage-conformance has no dist/ (it was installed without being packed); install it from a tarball made by npm pack, or from a git URL (npm builds dist/ then)\n",
  );
  process.exit(2);
}
const { main } = await import(entry.href);
// Exits at once, as a command line should (an idle keep-alive socket must not hold it); stdout and stderr are synchronous for files and pipes.
process.exit(await main(process.argv.slice(2)));
