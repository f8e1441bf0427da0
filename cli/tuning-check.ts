/**
 * Before a campaign starts: can every host that will run it honour every tuning level? Each
 * level is set alone, then each combination of them, on the host's own QEMU without a machine; a
 * level it refuses ("Parameter 'multifd-compression' does not accept value 'zstd'": built without
 * zstd) is a problem at that level's place in the file.
 */
import type { CampaignSpec } from '../campaign/spec.js';
import type { SpecProblem } from '../campaign/validate.js';
import { tuningProbeRefusals, tuningProbeScript, type TuningCheck } from '../activities/qemu/migration-tuning.js';
import { migrationWith } from '../workflows/campaign.js';
import { combinationsOf, levelsLabel, planOf, type Levels } from '../workflows/campaign-plan.js';
import type { SshPool, SshTarget } from '../activities/ssh/pool.js';

const TUNING_KEYS = ['xbzrle', 'multifd', 'autoConverge', 'postcopy', 'pauseBeforeSwitchover'] as const;

/** A level that turns a setting on (off and false leave it at QEMU's default). */
const isOn = (level: unknown): boolean => level !== undefined && level !== 'off' && level !== false;

interface PlacedCheck extends TuningCheck {
  path: (string | number)[];
}

/** The checks a campaign needs: each tuning level alone, then each distinct combination of them. */
export function tuningChecks(spec: CampaignSpec): PlacedCheck[] {
  const postcopy = spec.ladder.some((s) => s.step === 'postcopy');
  const base = { maxBandwidth: 0, downtimeLimitMs: 0, completionTimeoutSPerGiB: 0, stallIterations: 0 };
  const check = (levels: Levels, path: (string | number)[]): PlacedCheck => {
    const tuning = migrationWith(base, levels).tuning!;
    return { label: levelsLabel(levels), tuning, postcopy: postcopy || !!tuning.postcopy, path };
  };
  const out: PlacedCheck[] = [];
  for (const key of TUNING_KEYS) {
    (spec.factors?.[key] as Levels[typeof key][] | undefined)?.forEach((level, j) => {
      if (isOn(level)) out.push(check({ [key]: level }, ['factors', key, j]));
    });
  }
  const seen = new Set<string>();
  combinationsOf(planOf(spec)).forEach((c, i) => {
    if (!c) return;
    const tuning: Levels = Object.fromEntries(TUNING_KEYS.filter((k) => isOn(c[k])).map((k) => [k, c[k]]));
    const label = levelsLabel(tuning);
    // one level alone is checked above (a factor's) or here (a combination's)
    if (Object.keys(tuning).length === 0 || seen.has(label) || (spec.factors && Object.keys(tuning).length < 2)) return;
    seen.add(label);
    out.push(check(tuning, spec.combinations ? ['combinations', i] : ['factors']));
  });
  return out;
}

/** Asks each host's QEMU; the problems found, at the place in the file of the level refused. */
export async function checkTuningOnHosts(spec: CampaignSpec, hosts: readonly { name: string; ssh: SshTarget }[], pool: SshPool, qemu = 'qemu-system-x86_64'): Promise<SpecProblem[]> {
  const checks = tuningChecks(spec);
  if (checks.length === 0) return [];
  const problems: SpecProblem[] = [];
  await Promise.all(
    hosts.map(async (h) => {
      const r = await pool.execShell(h.ssh, tuningProbeScript(qemu, checks), { allowFailure: true });
      let refused;
      try {
        refused = tuningProbeRefusals(checks, r.stdout);
      } catch (err) {
        problems.push({ path: ['factors'], message: `host ${h.name}: its QEMU could not be asked about the migration settings (${(err as Error).message}; ${r.stderr.trim().slice(0, 200)})`, fix: `check that ${qemu} runs on ${h.name}` });
        return;
      }
      for (const x of refused) {
        const c = checks.find((k) => k.label === x.label)!;
        problems.push({ path: c.path, message: `host ${h.name}'s QEMU cannot migrate with ${x.label}: ${x.reason}`, fix: 'remove this level, or run the campaign on hosts whose QEMU has it (a compression QEMU was built without, or settings it cannot combine)' });
      }
    }),
  );
  return problems;
}
