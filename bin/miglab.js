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
// The command is done; the process ends when nothing holds it. Should something still hold it (an
// activity attempt a stopped worker abandoned, stuck on a host that went away, cannot be stopped
// from outside), say what and exit rather than hang: unref'd, this timer fires only then.
setTimeout(() => {
  process.stderr.write(`miglab: note: still held 10 s after finishing (${process.getActiveResourcesInfo().join(', ')}): exiting\n`);
  process.exit();
}, 10_000).unref();
