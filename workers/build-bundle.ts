/** `node dist/workers/build-bundle.js`: prebuilds the workflow bundle (run by `npm run build` and scripts/setup.sh). */
import { dirname } from 'node:path';
import { writePrebuiltBundle } from './prebuilt-bundle.js';
import { sandboxImportProblems } from './sandbox-imports.js';
import { workflowsPath } from './worker.js';

// Code the workflow sandbox loads imports nothing from outside it: fail the build, not a campaign.
const problems = sandboxImportProblems(dirname(workflowsPath()));
if (problems.length) {
  console.error(`miglab: workflow code imports what the sandbox must not load (see workflows/README.md):\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`miglab: workflow bundle ${await writePrebuiltBundle(workflowsPath())}`);
