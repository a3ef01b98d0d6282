#!/usr/bin/env node
// Entry point for `npx hacloud`: the compiled CLI lives in dist/ (built by `npm ci`).
import('../dist/src/cli/main.js').then((m) => m.main(process.argv.slice(2)));
