// Parses PowerShell files with the tree-sitter-powershell grammar (its prebuilt wasm,
// loaded by web-tree-sitter, so nothing is compiled) and lists every ERROR and MISSING
// node. Exits 1 when a file has one, 2 on a usage or load error.
//
// Usage: node --liftoff-only ps_parse.mjs --modules DIR FILE...
//   DIR contains node_modules/web-tree-sitter and node_modules/tree-sitter-powershell
//   (tests/deploy/run.sh installs them there). --liftoff-only keeps V8 from spending
//   about 10 s of CPU at exit optimizing the 1 MB grammar (node 20).

import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

function usage(message) {
  console.error(`ps_parse: ${message}\nusage: node ps_parse.mjs --modules DIR FILE...`);
  process.exit(2);
}

const args = process.argv.slice(2);
if (args[0] !== "--modules" || args.length < 3) {
  usage("expected --modules DIR and at least one file");
}
const modules = path.resolve(args[1], "node_modules");
const files = args.slice(2);

const treeSitterPath = path.join(modules, "web-tree-sitter", "web-tree-sitter.js");
const grammarPath = path.join(modules, "tree-sitter-powershell", "tree-sitter-powershell.wasm");
for (const file of files) {
  if (!fs.existsSync(file)) {
    usage(`${file} not found`);
  }
}
for (const required of [treeSitterPath, grammarPath]) {
  if (!fs.existsSync(required)) {
    usage(`${required} not found; install web-tree-sitter and tree-sitter-powershell into ${args[1]}`);
  }
}

const { Parser, Language } = await import(pathToFileURL(treeSitterPath).href);
await Parser.init();
const parser = new Parser();
parser.setLanguage(await Language.load(grammarPath));

// Returns "LINE:COLUMN ERROR|MISSING <text>" for every bad node below node, and
// "LINE:COLUMN VARIABLE" for `$name:` not followed by a name: PowerShell rejects that
// ("Variable reference is not valid"), but the grammar reads it as `$name` and a colon.
function problems(node, source) {
  const found = [];
  const stack = [node];
  while (stack.length > 0) {
    const current = stack.pop();
    if (current.type === "ERROR" || current.isMissing) {
      const where = `${current.startPosition.row + 1}:${current.startPosition.column + 1}`;
      const kind = current.isMissing ? `MISSING ${current.type}` : "ERROR";
      const text = current.text.split("\n")[0].slice(0, 60);
      found.push(`${where} ${kind} near ${JSON.stringify(text)}`);
    }
    if (current.type === "variable" && !current.text.startsWith("${") &&
        source.slice(current.startIndex, current.endIndex) === current.text &&
        /^:(?![A-Za-z0-9_?])/.test(source.slice(current.endIndex, current.endIndex + 2))) {
      const where = `${current.startPosition.row + 1}:${current.startPosition.column + 1}`;
      found.push(`${where} VARIABLE ${current.text} followed by ':'; write \${name} or $(${current.text})`);
    }
    for (let i = current.childCount - 1; i >= 0; i--) {
      stack.push(current.child(i));
    }
  }
  return found;
}

let failed = 0;
for (const file of files) {
  const source = fs.readFileSync(file, "utf8");
  const tree = parser.parse(source);
  const found = problems(tree.rootNode, source);
  if (found.length > 0) {
    failed++;
    for (const problem of found) {
      console.log(`${file}:${problem}`);
    }
  }
  tree.delete();
}
console.log(`ps_parse: ${files.length - failed} of ${files.length} files parse without errors`);
process.exit(failed > 0 ? 1 : 0);
