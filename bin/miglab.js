#!/usr/bin/env node
// Runs the compiled CLI; `npm run build` (or scripts/setup.sh) produces dist/.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('error: miglab is not built (dist/ is missing)\n  fix: run `bash scripts/setup.sh` or `npm run build`\n');
  process.exit(2);
}
const { main } = await import(entry.href);
await main(process.argv);
