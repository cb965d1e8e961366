// Compiles every contracts/src/**/*.sol with solcjs (standard JSON, offline) and writes one
// artifact per contract to the output folder: {contractName, sourceName, abi, bytecode,
// deployedBytecode}. `@openzeppelin/...` imports resolve to node_modules.
// Usage: node contracts/compile.mjs [outDir]
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const solc = require("solc");

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const srcDir = path.join(here, "src");
const outDir = path.resolve(process.argv[2] ?? path.join(here, "build"));

function solFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return solFiles(p);
    return e.name.endsWith(".sol") ? [p] : [];
  });
}

const sources = {};
for (const file of solFiles(srcDir)) {
  sources[path.relative(srcDir, file)] = { content: fs.readFileSync(file, "utf8") };
}

function findImports(importPath) {
  for (const base of [srcDir, path.join(root, "node_modules")]) {
    const candidate = path.join(base, importPath);
    if (fs.existsSync(candidate)) return { contents: fs.readFileSync(candidate, "utf8") };
  }
  return { error: `import not found: ${importPath}` };
}

const input = {
  language: "Solidity",
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: "cancun",
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
  },
};

const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (output.errors ?? []).filter((e) => e.severity === "error");
for (const e of output.errors ?? []) process.stderr.write(e.formattedMessage + "\n");
if (errors.length) process.exit(1);

fs.mkdirSync(outDir, { recursive: true });
let count = 0;
for (const [sourceName, contracts] of Object.entries(output.contracts ?? {})) {
  if (!(sourceName in sources)) continue; // libraries pulled in by import are not ours to ship
  for (const [contractName, c] of Object.entries(contracts)) {
    const artifact = {
      contractName,
      sourceName,
      compiler: `solc ${solc.version()}`,
      abi: c.abi,
      bytecode: "0x" + c.evm.bytecode.object,
      deployedBytecode: "0x" + c.evm.deployedBytecode.object,
    };
    fs.writeFileSync(path.join(outDir, `${contractName}.json`), JSON.stringify(artifact, null, 1));
    count += 1;
  }
}
process.stdout.write(JSON.stringify({ compiler: solc.version(), contracts: count, outDir }) + "\n");
