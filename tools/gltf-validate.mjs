#!/usr/bin/env node
// Run the Khronos glTF-Validator on glTF/GLB files and print a compact JSON report.
//
//   node tools/gltf-validate.mjs [--full] FILE.glb [FILE2.glb ...]
//
// Prints one JSON object per file ({uri, validatorVersion, numErrors, numWarnings, numInfos, numHints,
// messages: [{code, severity, message, pointer|offset}], info}), or the validator's whole report
// with --full; several files give a JSON array. Exit status: 0 when no file has an error, 1 when any
// has, 2 for usage errors or a file the validator cannot read at all.
// Install the validator first: npm install --prefix tools
import fs from "node:fs";
import path from "node:path";
import { validateBytes, version } from "gltf-validator";

const SEVERITY = ["error", "warning", "info", "hint"];

function compact(report) {
  const issues = report.issues;
  return {
    uri: report.uri,
    validatorVersion: report.validatorVersion,
    numErrors: issues.numErrors,
    numWarnings: issues.numWarnings,
    numInfos: issues.numInfos,
    numHints: issues.numHints,
    truncated: issues.truncated,
    messages: issues.messages.map((m) => ({ ...m, severity: SEVERITY[m.severity] ?? m.severity })),
    info: report.info,
  };
}

async function validate(file, full) {
  const data = new Uint8Array(fs.readFileSync(file));
  const report = await validateBytes(data, {
    uri: file,
    maxIssues: 0, // report every issue
    writeTimestamp: false,
    externalResourceFunction: (uri) =>
      fs.promises
        .readFile(path.resolve(path.dirname(file), decodeURIComponent(uri)))
        .then((buf) => new Uint8Array(buf)),
  });
  return full ? report : compact(report);
}

async function main(argv) {
  const full = argv.includes("--full");
  const files = argv.filter((a) => a !== "--full");
  if (files.length === 0 || files.some((a) => a.startsWith("-"))) {
    console.error(`usage: node tools/gltf-validate.mjs [--full] FILE.glb ... (glTF-Validator ${version()})`);
    return 2;
  }
  const reports = [];
  for (const file of files) {
    try {
      reports.push(await validate(file, full));
    } catch (err) {
      console.error(`${file}: cannot validate: ${err}`);
      return 2;
    }
  }
  console.log(JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 2));
  return reports.some((r) => r.issues?.numErrors ?? r.numErrors) ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
