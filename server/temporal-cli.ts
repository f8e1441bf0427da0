/** Finds the Temporal CLI: MIGLAB_TEMPORAL_CLI, else `temporal` on PATH, else the one setup built. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../lib/errors.js';
import { statePaths } from '../lib/paths.js';
import { findExecutable } from '../lab/prereqs.js';

export function temporalCli(): string {
  const explicit = process.env.MIGLAB_TEMPORAL_CLI;
  if (explicit) {
    if (!existsSync(explicit)) {
      throw new UserError(`MIGLAB_TEMPORAL_CLI=${explicit} does not exist`, 'point it at a temporal binary, or unset it to use the one setup builds');
    }
    return explicit;
  }
  const found = findExecutable('temporal') ?? (existsSync(join(statePaths().bin, 'temporal')) ? join(statePaths().bin, 'temporal') : undefined);
  if (!found) {
    throw new UserError('the Temporal CLI is not installed', 'run `bash scripts/setup.sh` (it builds it with go install), or set MIGLAB_TEMPORAL_CLI');
  }
  return found;
}
