/**
 * The paper's method as a bare shell loop, for the orchestration-overhead benchmark: per trial,
 * ssh to the source to start the VM, ping until the guest answers, ssh to the destination to start
 * the incoming VM, a 10 ms ping in the background, one ssh to the source that sets the cap and the
 * downtime limit over QMP (socat), starts the migration and polls it every 100 ms until it ends,
 * stop the ping, ssh to both hosts to stop the VMs. The same QEMU command line and settings as
 * miglab's trial, none of its bookkeeping.
 */
import type { BedInventory } from '../lab/bed.js';
import { qemuArgs, ramArg, tapName, vmFiles, type QemuVersion, type VmSpec } from '../activities/qemu/vm-spec.js';
import { TCG_DEFAULT, type GuestCpu } from '../activities/qemu/guest-cpu.js';
import { commandLine, quote } from '../activities/ssh/shell-quote.js';

export interface BareLoopOptions {
  bed: BedInventory;
  spec: VmSpec;
  src: string;
  dst: string;
  trials: number;
  maxBandwidth: number;
  downtimeLimitMs: number;
  probeIntervalMs: number;
  qemuVersion: QemuVersion | undefined;
  /** the accelerator and CPU model miglab's trials ran with (TCG and qemu64 unless said) */
  guest?: GuestCpu;
  /** folder for the loop's ping logs and migration results */
  outDir: string;
}

/** One line per trial on stdout: `trial <i> <total ms> <boot ms> <migrate ms> <query-migrate json>`. */
export function bareLoopScript(o: BareLoopOptions): string {
  const host = (name: string) => {
    const h = o.bed.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`bed ${o.bed.plan.bed} has no host ${name}`);
    return h;
  };
  const src = host(o.src), dst = host(o.dst);
  const ssh = (ip: string) =>
    commandLine(['ssh', '-F', '/dev/null', '-i', o.bed.privateKey, '-o', `UserKnownHostsFile=${o.bed.knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', `root@${ip}`]);
  const ram = ramArg(o.spec.memoryMiB, o.qemuVersion);
  const start = (h: typeof src, incoming: boolean) => {
    const f = vmFiles(h.runDir, o.spec.name);
    const tap = tapName(o.spec.name);
    const args = qemuArgs(o.spec, f, { incoming: false, ram, guest: o.guest ?? TCG_DEFAULT });
    if (incoming) args.push('-incoming', `tcp:${h.ip}:${o.spec.migrationPort}`);
    return [
      `mkdir -p ${quote(h.runDir)}`,
      `ip tuntap add dev ${quote(tap)} mode tap`,
      `ip link set dev ${quote(tap)} master ${quote(h.bridge)} up`,
      commandLine(['qemu-system-x86_64', ...args]),
    ].join(' && ');
  };
  const stop = (h: typeof src) => {
    const f = vmFiles(h.runDir, o.spec.name);
    return [
      `{ echo '{"execute":"qmp_capabilities"}'; echo '{"execute":"quit"}'; sleep 0.2; } | socat - UNIX-CONNECT:${quote(f.qmp)} >/dev/null 2>&1`,
      `p=$(cat ${quote(f.pid)} 2>/dev/null); for i in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; kill -9 "$p" 2>/dev/null`,
      `ip link del dev ${quote(tapName(o.spec.name))} 2>/dev/null`,
      `rm -f ${quote(f.qmp)} ${quote(f.pid)}`,
      'true',
    ].join('; ');
  };
  // Runs on the source: QMP serves one client at a time, and each exchange is one socat.
  const qmpSock = quote(vmFiles(src.runDir, o.spec.name).qmp);
  const migrate = [
    `qmp() { { echo '{"execute":"qmp_capabilities"}'; echo "$1"; sleep 0.05; } | socat - UNIX-CONNECT:${qmpSock}; }`,
    `qmp '{"execute":"migrate-set-parameters","arguments":{"max-bandwidth":${o.maxBandwidth},"downtime-limit":${o.downtimeLimitMs}}}' >/dev/null`,
    `qmp '{"execute":"migrate","arguments":{"uri":"tcp:${dst.ip}:${o.spec.migrationPort}"}}' >/dev/null`,
    `while :; do r=$(qmp '{"execute":"query-migrate"}' | grep '"return"' | tail -n 1); case "$r" in *'"completed"'*) echo "$r"; exit 0;; *'"failed"'*|*'"cancelled"'*) echo "$r"; exit 1;; esac; sleep 0.1; done`,
  ].join('\n');
  const guest = o.spec.guestCidr.split('/')[0]!;
  const via = o.bed.probeVia;
  return `#!/usr/bin/env bash
set -euo pipefail
now() { date +%s%3N; }
for i in $(seq 1 ${o.trials}); do
  t0=$(now)
  ${ssh(src.ip)} ${quote(start(src, false))}
  until ping -n -q -c 1 -W 1 -I ${quote(via)} ${guest} >/dev/null 2>&1; do sleep 0.2; done
  t1=$(now)
  ${ssh(dst.ip)} ${quote(start(dst, true))}
  ping -n -D -i ${(o.probeIntervalMs / 1000).toFixed(3)} -I ${quote(via)} ${guest} > ${quote(o.outDir)}/ping-$i.txt 2>&1 &
  probe=$!
  t2=$(now)
  result=$(${ssh(src.ip)} ${quote(migrate)})
  t3=$(now)
  kill -INT $probe; wait $probe || true
  ${ssh(src.ip)} ${quote(stop(src))}
  ${ssh(dst.ip)} ${quote(stop(dst))}
  t4=$(now)
  echo "trial $i $((t4 - t0)) $((t1 - t0)) $((t3 - t2)) $result"
done
`;
}

export interface BareTrial {
  index: number;
  totalMs: number;
  bootMs: number;
  migrateMs: number;
  qemuTotalMs: number;
  qemuDowntimeMs: number;
}

/** The loop's per-trial lines; a line that is not one (ssh noise) is skipped. */
export function parseBareLoop(stdout: string): BareTrial[] {
  const out: BareTrial[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^trial (\d+) (\d+) (\d+) (\d+) (\{.*\})$/.exec(line.trim());
    if (!m) continue;
    const q = (JSON.parse(m[5]!) as { return?: { 'total-time'?: number; downtime?: number } }).return ?? {};
    out.push({ index: Number(m[1]), totalMs: Number(m[2]), bootMs: Number(m[3]), migrateMs: Number(m[4]), qemuTotalMs: q['total-time'] ?? NaN, qemuDowntimeMs: q.downtime ?? NaN });
  }
  return out;
}
