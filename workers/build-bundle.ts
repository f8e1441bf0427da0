/** `node dist/workers/build-bundle.js`: prebuilds the workflow bundle (run by `npm run build` and scripts/setup.sh). */
import { writePrebuiltBundle } from './prebuilt-bundle.js';
import { workflowsPath } from './worker.js';

console.log(`miglab: workflow bundle ${await writePrebuiltBundle(workflowsPath())}`);
