/**
 * Activities for driving one VM on the bed: plain async functions made by a factory that
 * receives its dependencies (SSH pool, hypervisor backend, bed inventory).
 */
import { activityContext } from './cancellation.js';
import { ApplicationFailure } from '@temporalio/common';
import type { Site } from '../lab/site.js';
import { guestAddress, guestSsh, pingOnce, waitForPing } from '../lab/guest.js';
import type { HypervisorBackend, MigrationParams, MigrationProgress, MigrationResult, VmState } from './backend.js';
import type { VmSpec } from './qemu/vm-spec.js';
import { HostKeyError, HostUnreachableError, type SshPool } from './ssh/pool.js';

export interface LabActivityDeps {
  pool: SshPool;
  backend: HypervisorBackend;
  /** where the VMs run: a bed, or a campaign's own hosts */
  inventory: Site;
}

export interface GuestCheck {
  ping: boolean;
  hostname: string;
  uptimeS: number;
}

/** Host-key failures are configuration errors: retrying cannot fix them. */
function nonRetryable<T>(p: Promise<T>): Promise<T> {
  return p.catch((err) => {
    if (err instanceof HostKeyError) throw ApplicationFailure.nonRetryable(err.message, 'HostKeyError');
    throw err;
  });
}

/** Reports progress to Temporal; a no-op when called outside an activity (e.g. from a test). */
export function heartbeat(details?: unknown): void {
  activityContext()?.heartbeat(details);
}

export function createLabActivities({ pool, backend, inventory }: LabActivityDeps) {
  return {
    async startVm(input: { host: string; spec: VmSpec }): Promise<void> {
      await nonRetryable(backend.startVm(input.host, input.spec));
    },

    async vmState(input: { host: string; vm: string }): Promise<VmState> {
      return nonRetryable(backend.vmState(input.host, input.vm));
    },

    /**
     * Waits until the guest answers ping, heartbeating meanwhile; returns how long that took (the
     * boot time). Then until its SSH server takes a login: a systemd guest answers ping a few
     * seconds before sshd listens, and the trial's next steps log in.
     */
    async waitForGuest(input: { spec: VmSpec; timeoutMs: number }): Promise<number> {
      const ip = guestAddress(input.spec);
      const started = Date.now();
      let bootMs: number;
      try {
        bootMs = await waitForPing(ip, input.timeoutMs, inventory.probeVia, (elapsedMs) => heartbeat({ waitingFor: ip, elapsedMs }));
      } catch {
        throw ApplicationFailure.retryable(`guest ${input.spec.name} (${ip}) did not answer ping within ${input.timeoutMs} ms`, 'GuestUnreachable');
      }
      const guest = guestSsh(inventory, input.spec);
      for (;;) {
        try {
          await nonRetryable(pool.exec(guest, ['true']));
          return bootMs;
        } catch (err) {
          if (!(err instanceof HostUnreachableError)) throw err;
          pool.drop(guest);
          const elapsedMs = Date.now() - started;
          if (elapsedMs > input.timeoutMs) throw ApplicationFailure.retryable(`guest ${input.spec.name} (${ip}) answered ping but took no SSH login within ${input.timeoutMs} ms: ${err.message}`, 'GuestUnreachable');
          heartbeat({ waitingFor: `${ip}:22`, elapsedMs });
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    },

    /** Asks the guest who it is over SSH, as a user would check their VM. */
    async checkGuest(input: { spec: VmSpec }): Promise<GuestCheck> {
      const ping = await pingOnce(guestAddress(input.spec), inventory.probeVia);
      const r = await nonRetryable(pool.exec(guestSsh(inventory, input.spec), ['cat', '/proc/sys/kernel/hostname', '/proc/uptime']));
      const [hostname = '', uptime = '0'] = r.stdout.split('\n');
      return { ping, hostname: hostname.trim(), uptimeS: Number(uptime.split(' ')[0]) };
    },

    async migrateVm(input: { src: string; dst: string; spec: VmSpec; params: MigrationParams }): Promise<MigrationResult> {
      // Heartbeat details carry the latest poll only; raw series do not belong in history.
      return nonRetryable(
        backend.migrate(input.src, input.dst, input.spec, input.params, { onProgress: (p: MigrationProgress) => heartbeat(p) }),
      );
    },

    async stopVm(input: { host: string; vm: string }): Promise<void> {
      await nonRetryable(backend.stopVm(input.host, input.vm));
    },
  };
}

export type LabActivities = ReturnType<typeof createLabActivities>;
