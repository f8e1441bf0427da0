/** `miglab smoke`: the bed's smoke migration as a Temporal workflow, from bed up to bed down. */
import { createLabActivities } from '../activities/lab-activities.js';
import { labDown, labUp } from '../lab/bed.js';
import { labVmSpec } from '../lab/guest.js';
import { workflowUiUrl, type TemporalTarget } from '../server/connection.js';
import { SMOKE_TASK_QUEUE, WorkflowType } from '../workflows/names.js';
import { withBedWorker } from './bed-worker.js';
import type { SmokeInput, SmokeResult } from '../workflows/smoke.js';

export interface SmokeOptions {
  bed: string;
  subnet: string;
  memoryMiB: number;
  keepBed: boolean;
  log: (line: string) => void;
  /** which Temporal server; by default the one envconfig names, else the embedded one */
  temporal?: TemporalTarget;
}

export async function runSmoke(o: SmokeOptions): Promise<{ workflowId: string; result: SmokeResult; auditUrl: string | undefined }> {
  const log = o.log;
  log(`bed ${o.bed}: up`);
  const inventory = await labUp({ bed: o.bed, subnet: o.subnet }, (l) => log(`  ${l}`));
  try {
    return await withBedWorker(
      { inventory, temporal: o.temporal, log },
      ({ pool, backend }) => createLabActivities({ pool, backend, inventory }),
      async ({ session, worker }) => {
        const [src, dst] = inventory.hosts;
        if (!src || !dst) throw new Error('the smoke migration needs two bed hosts');
        const input: SmokeInput = {
          spec: labVmSpec(inventory, 0, { name: 'smoke', memoryMiB: o.memoryMiB }),
          src: src.name,
          dst: dst.name,
          // about 1 GbE, QEMU's default downtime limit: the paper's setting
          params: { maxBandwidth: 112 * 1024 * 1024, downtimeLimitMs: 300 },
          bootTimeoutMs: 120_000,
        };
        const workflowId = `smoke-${o.bed}-${new Date().toISOString().replace(/[:.]/g, '')}`;
        log(`workflow ${workflowId}: boot ${input.spec.name} (${input.spec.memoryMiB} MiB) on ${src.name}, migrate to ${dst.name}`);
        const result = await worker.runUntil(
          session.client.workflow.execute(WorkflowType.smoke, { taskQueue: SMOKE_TASK_QUEUE, workflowId, args: [input] }) as Promise<SmokeResult>,
        );
        return { workflowId, result, auditUrl: workflowUiUrl(session, workflowId) };
      },
    );
  } finally {
    if (!o.keepBed) {
      const down = await labDown(o.bed);
      log(`bed ${o.bed}: down (${down.namespaces.length} namespaces removed)`);
    }
  }
}

export function formatSmoke(r: SmokeResult): string {
  const m = r.migration;
  const lines = [`guest booted and answered ping after ${(r.bootMs / 1000).toFixed(1)} s; hostname ${r.before.hostname}`];
  if (m.status === 'completed') {
    lines.push(
      `live migration completed: total ${m.totalTimeMs} ms, downtime ${m.downtimeMs} ms (QEMU-reported), ` +
        `${(m.transferredBytes / 2 ** 20).toFixed(1)} MiB transferred in ${m.iterations} iterations`,
    );
  } else {
    lines.push(`live migration ${m.status}: ${m.error}`);
  }
  if (r.after) lines.push(`after the move: ping ${r.after.ping ? 'ok' : 'FAILED'}, ssh ok, hostname ${r.after.hostname}, uptime ${r.after.uptimeS.toFixed(1)} s`);
  return lines.join('\n');
}
