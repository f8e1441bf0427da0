/** The `miglab` command. */
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { versionLine } from '../lib/version.js';
import { completionScript } from './completion.js';
import { ExitCode, UserError } from '../lib/errors.js';
import { DEFAULT_BED, labDown, labStatus, labUp } from '../lab/bed.js';
import { labProblems } from '../lab/prereqs.js';
import { devServerStatus, ensureDevServer, stopDevServer } from '../server/dev-server.js';
import { formatSmoke, runSmoke } from './smoke.js';
import { runCampaign, serveCampaign, startCampaign, summaryTable } from './run.js';
import { CONTROLLER_NAME } from '../workers/worker.js';
import { newFailureLines } from './attempt-failures.js';
import { report } from './report.js';
import { verifyCampaign, verifyProblems, type CampaignState } from './verify.js';
import { campaignStatus, cancelCampaign, listCampaigns, listTrials, pauseCampaign, resumeCampaign, waitingHint, watchCampaign } from './control.js';
import { connectTemporal } from '../server/connection.js';
import { prepareServer } from '../server/prepare.js';
import { logSdkTo } from '../server/runtime.js';
import { stateDir } from '../lib/paths.js';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';

/** Where a campaign stands on the Temporal server, for verify; a server that cannot say is a reason, not an error. */
async function campaignStateOf(file: string): Promise<CampaignState> {
  try {
    const s = await withClient((client) => campaignStatus(client, file));
    return { state: s.state as Exclude<CampaignState['state'], 'unknown'> };
  } catch (err) {
    return { state: 'unknown', reason: err instanceof UserError ? err.message : `the Temporal server could not be asked: ${(err as Error).message}` };
  }
}

/** Runs `fn` with a client of the configured Temporal server, closing it afterwards. */
async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  // these commands ask about campaigns: they never start a server of their own
  const session = await connectTemporal(undefined, () => {}, { start: false });
  try {
    return await fn(session.client);
  } finally {
    await session.close();
  }
}
import { loadCampaign } from '../campaign/load.js';
import { checkCampaignHosts, formatHostsCheck } from './hosts-check.js';
import { SshPool } from '../activities/ssh/pool.js';
import { siteToInspect } from './site.js';
import { measuredCliffText } from '../analysis/tables.js';
import { campaignPlan, expandTrials } from '../campaign/trials.js';
import { combinationsOf } from '../workflows/campaign-plan.js';
import { formatPrediction, predictCampaign } from './predict.js';
import { advise, checkAdvice, formatAdvice, writeVerifyCampaign } from './advise.js';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

/** An option's number: positive (or zero when allowed), else a usage error naming the option. */
const positiveNumber = (option: string, zeroOk = false) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || (n === 0 && !zeroOk)) throw new UserError(`${option} must be a ${zeroOk ? 'non-negative' : 'positive'} number, got '${v}'`, `e.g. ${option} ${zeroOk ? '0.5' : '100'}`);
  return n;
};
const say = (line: string) => process.stderr.write(`${line}\n`);
const print = (v: unknown, json: boolean, text: () => string) => process.stdout.write(json ? JSON.stringify(v, null, 2) + '\n' : text() + '\n');
/** The SDK's own log goes to a file under the state dir (the terminal shows progress); says where. */
function logSdk(command: string): string {
  const path = join(stateDir(), 'logs', `${command}-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);
  logSdkTo(path);
  say(`miglab: the Temporal SDK's log: ${path}`);
  return path;
}
/** --controller: a name the Web UI and `ls --steps` can show plainly. */
const controllerName = (v: string) => {
  if (!CONTROLLER_NAME.test(v)) throw new UserError(`--controller must be a plain name (letters, digits, '.', '_', '-'; at most 63), got '${v}'`, 'e.g. --controller lab-east');
  return v;
};
/** A command's help ends with examples a user can copy. */
const examples = (...lines: string[]) => `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}`;

export function buildProgram(): Command {
  const program = new Command('miglab')
    .description('Durable VM live-migration experiment campaigns on real hosts')
    // usage errors exit 2 (see main), help and --version 0
    .exitOverride()
    .version(versionLine(), '-V, --version', 'print the version and the git commit, then exit')
    .showHelpAfterError()
    .addHelpText(
      'after',
      `
Examples:
  miglab lab up                 bring up the two-host test bed (network namespaces + sshd)
  miglab lab up --xen           the same, plus a Xen host (Xen 4.17 + dom0 under QEMU) on each
  miglab smoke                  boot a guest on hosta, migrate it live to hostb, check it, tear down
  miglab check campaigns/paper.yaml   validate a campaign file, list its trials
  miglab run campaigns/paper.yaml     run it on the bed (resumes a partly recorded one)
  miglab start campaigns/paper.yaml   start it for workers elsewhere (\`miglab worker\` on each controller)
  miglab report campaigns/paper.yaml  tables, figures and CSV of what is recorded
  miglab server status --json   is the embedded Temporal server running?
  miglab lab down               remove the bed: namespaces, bridges, VMs, sshd

Exit codes: 0 ok, 1 a run or check failed, 2 bad input or missing prerequisite,
3 a server or host could not be reached, 130 interrupted.`,
    );

  const lab = program.command('lab').description('the local test bed').addHelpText('after', examples('miglab lab up', 'miglab lab status', 'miglab lab down'));
  lab
    .command('up')
    .description('create the bed (idempotent)')
    .option('--bed <name>', 'bed name', DEFAULT_BED.bed)
    .option('--subnet <cidr>', 'bed subnet, inside 198.18.0.0/15', DEFAULT_BED.subnet)
    .option('--hosts <names>', 'comma-separated host names', DEFAULT_BED.hosts.join(','))
    .option('--libvirt', 'also run a libvirtd on every host (each in its own mount namespace)')
    .option('--xen [hosts]', 'also boot a Xen host (QEMU TCG machine with Xen and a dom0) on every host, or on the comma-separated hosts named (the others run QEMU guests beside them); about 30 s')
    .option('--json', 'print the bed inventory as JSON')
    .addHelpText('after', examples('miglab lab up', 'miglab lab up --libvirt --xen', 'miglab lab up --hosts hosta,hostb,hostc,hostd --xen hosta,hostb', 'miglab lab up --bed mine --subnet 198.18.4.0/24 --hosts a,b,c --json'))
    .action(async (o) => {
      const xen = typeof o.xen === 'string' ? o.xen.split(',') : !!o.xen;
      const inv = await labUp({ bed: o.bed, subnet: o.subnet, hosts: String(o.hosts).split(','), libvirt: !!o.libvirt, xen }, say);
      print(inv, !!o.json, () =>
        [
          `bed ${inv.plan.bed} is up: controller ${inv.plan.controllerIp}`,
          ...inv.hosts.map((h) => `  ${h.name}  ${h.ip}  (ssh root@${h.ip}, netns ${h.netns})`),
          ...(inv.xen?.hosts ?? []).map((h) => `  ${h.name}  Xen dom0 ${h.ip}  (ssh root@${h.ip})`),
        ].join('\n'),
      );
    });
  lab
    .command('down')
    .description('remove everything the bed created, also after a crash mid-up')
    .option('--bed <name>', 'bed name', DEFAULT_BED.bed)
    .option('--json', 'JSON output')
    .addHelpText('after', examples('miglab lab down', 'miglab lab down --bed smoke --json'))
    .action(async (o) => {
      const r = await labDown(o.bed);
      print({ bed: o.bed, ...r }, !!o.json, () => `bed ${o.bed}: removed ${r.namespaces.length} namespaces, ended ${r.processes} processes`);
    });
  lab
    .command('status')
    .description('is the bed up? its namespaces and their processes (exit 1 when down)')
    .option('--bed <name>', 'bed name', DEFAULT_BED.bed)
    .option('--json', 'JSON output')
    .addHelpText('after', examples('miglab lab status', 'miglab lab status --bed smoke --json'))
    .action(async (o) => {
      const s = await labStatus(o.bed);
      print(s, !!o.json, () => `bed ${s.bed}: ${s.up ? 'up' : 'down'}${s.namespaces.map((n) => `\n  ${n}: ${s.processes[n]} processes`).join('')}`);
      if (!s.up) process.exitCode = ExitCode.Failed;
    });
  lab
    .command('doctor')
    .description('check the prerequisites of the bed (exit 2 when one is missing)')
    .option('--json', 'JSON output')
    .addHelpText('after', examples('miglab lab doctor', 'miglab lab doctor --json'))
    .action((o) => {
      const problems = labProblems();
      print({ ok: problems.length === 0, problems }, !!o.json, () =>
        [...problems.map((p) => `- ${p.what}\n  fix: ${p.fix}`), problems.length === 0 ? 'all prerequisites present' : `${problems.length} problem(s)`].join('\n'),
      );
      if (problems.length) process.exitCode = ExitCode.Usage;
    });

  const server = program.command('server').description('the embedded Temporal dev server (and `prepare` for your own)').addHelpText('after', examples('miglab server start', 'miglab server status --json', 'miglab server stop'));
  server
    .command('start')
    .description('start it unless one is already serving')
    .option('--json', 'JSON output')
    .addHelpText('after', examples('miglab server start', 'MIGLAB_TEMPORAL_PORT=17233 MIGLAB_TEMPORAL_UI_PORT=18233 miglab server start --json'))
    .action(async (o) => {
      const h = await ensureDevServer(undefined, say);
      print(h, !!o.json, () => `Temporal ${h.how} at ${h.address}, Web UI ${h.uiUrl}`);
    });
  server
    .command('stop')
    .description('stop it, if miglab started it')
    .option('--json', 'JSON output')
    .addHelpText('after', examples('miglab server stop', 'miglab server stop --json'))
    .action(async (o) => {
      const outcome = await stopDevServer();
      print({ outcome }, !!o.json, () => `Temporal dev server: ${outcome}`);
    });
  server
    .command('status')
    .description('is the embedded server serving, and did miglab start it? (exit 3 when not serving)')
    .option('--json', 'JSON output')
    .addHelpText('after', examples('miglab server status', 'miglab server status --json'))
    .action(async (o) => {
      const s = await devServerStatus();
      print(s, !!o.json, () => `Temporal at ${s.address}: ${s.serving ? 'serving' : 'not serving'}${s.startedByMiglab ? ` (started by miglab, pid ${s.pid})` : ''}; UI ${s.uiUrl}; db ${s.dbFile}`);
      if (!s.serving) process.exitCode = ExitCode.Unavailable;
    });

  server
    .command('prepare')
    .description('make your own server (TEMPORAL_ADDRESS / profile) ready: wait for it, register the namespace if missing, add miglab\'s search attributes')
    .option('--wait <seconds>', 'how long to wait for the server to answer', positiveNumber('--wait'), 30)
    .option('--json', 'JSON output')
    .addHelpText('after', examples('miglab server prepare', 'miglab server prepare --wait 120 --json') + '\nThe server is the one TEMPORAL_ADDRESS (and TEMPORAL_TLS*, TEMPORAL_API_KEY) or TEMPORAL_PROFILE names, e.g. after `. .miglab/cluster/env`.')
    .action(async (o) => {
      const r = await prepareServer({ waitS: o.wait as number, log: say });
      print(r, !!o.json, () => `Temporal ${r.serverVersion ?? ''} at ${r.address}: namespace ${r.namespace}${r.namespaceCreated ? ' registered' : ' present'}; search attributes ${r.searchAttributesAdded.length ? `added: ${r.searchAttributesAdded.join(', ')}` : 'present'}`);
    });

  program
    .command('check')
    .description('validate a campaign file and list the trials it expands into; starts nothing')
    .argument('<campaign.yaml>')
    .option('--json', 'print the trials as JSON')
    .addHelpText('after', examples('miglab check campaigns/paper.yaml', 'miglab check campaigns/paper.yaml --json | jq \'.trials | length\''))
    .action(async (file: string, o) => {
      const { spec } = await loadCampaign(file);
      const trials = expandTrials(spec);
      print({ campaign: spec.campaign, trials }, !!o.json, () => {
        const per = spec.scenarios.map((s) => `${s.name}: ${trials.filter((t) => t.scenario === s.name).length}`).join(', ');
        const plan = campaignPlan(spec);
        const combos = combinationsOf(plan);
        const varied = combos[0] === undefined ? '' : `; ${combos.length} combinations of ${spec.factors ? `${Object.keys(spec.factors).length} factor${Object.keys(spec.factors).length === 1 ? '' : 's'}${spec.preset ? ` (preset ${spec.preset})` : ''}` : 'listed levels'}`;
        const order = plan.order.kind === 'random' ? `; random order, seed ${plan.order.seed}, blocked by repetition` : '';
        // pairs of several kinds: which pair runs which
        const kinds = spec.pairs?.some((p) => p[2] && p[2] !== spec.hypervisor) ? `; pairs ${spec.pairs.map((p) => `${p[0]}→${p[1]} (${p[2] ?? spec.hypervisor})`).join(', ')}` : '';
        return `${file}: campaign ${spec.campaign} is valid: ${trials.length} trials (${per}${varied}${order}${kinds})`;
      });
    });

  program
    .command('predict')
    .description("every trial's migration as the precopy model predicts it (verdict, passes, TMT, DT, MD); runs nothing")
    .argument('<campaign.yaml>')
    .option('--results <dir>', "take the model's inputs from this results folder (default: the campaign's own, when it has rows)")
    .option('--guest-base <MiB>', "the guest's memory in use without a workload", positiveNumber('--guest-base'))
    .option('--idle-dirty <MiB/s>', "the idle guest's own dirty rate", positiveNumber('--idle-dirty', true))
    .option('--write-rate <MiB/s>', 'how fast a flat-out (rate: max) workload writes pages', positiveNumber('--write-rate'))
    .option('--bandwidth <MiB/s>', 'the rate the hosts reach, when it is not the cap (required for Xen)', positiveNumber('--bandwidth'))
    .option('--json', 'print the inputs and every trial\'s prediction as JSON')
    .addHelpText('after', examples('miglab predict campaigns/paper.yaml', 'miglab predict campaigns/paper.yaml --write-rate 300 --idle-dirty 0.5', 'miglab predict campaigns/paper-xen.yaml --bandwidth 0.8 --json | jq \'.trials[0].prediction\'') + '\nInputs not given come from the campaign\'s recorded trials (medians of what they measured before migrating), else from assumptions the output names.')
    .action(async (file: string, o) => {
      const p = await predictCampaign(file, { results: o.results, guestBaseMiB: o.guestBase, idleDirtyMiBps: o.idleDirty, writeRateMiBps: o.writeRate, bandwidthMiBps: o.bandwidth });
      print(p, !!o.json, () => formatPrediction(p));
    });

  program
    .command('advise')
    .description('the settings (bandwidth cap, downtime limit, mode) the precopy model expects to meet a bound, for a campaign\'s VM and one workload')
    .argument('<campaign.yaml>')
    .option('--working-set <MiB>', 'the workload\'s working set (leave out for the idle guest)', positiveNumber('--working-set'))
    .option('--rate <MiB/s|max>', 'how fast it writes', 'max')
    .option('--pattern <seq|random>', 'how it writes', 'seq')
    .option('--max-downtime <ms>', 'the downtime the setting must stay within', positiveNumber('--max-downtime'))
    .option('--max-total <s>', 'the total migration time it must stay within', positiveNumber('--max-total'))
    .option('--results <dir>', "take the model's inputs from this results folder (default: the campaign's own)")
    .option('--verify [repetitions]', 'then run the best setting as a small campaign (written beside the file) and check it; default 3 trials')
    .option('--bed-subnet <cidr>', 'with --verify: subnet for the bed when the run brings it up (inside 198.18.0.0/15)')
    .option('--json', 'print the advice (and the check) as JSON')
    .addHelpText('after', examples('miglab advise campaigns/paper.yaml --working-set 48 --max-downtime 500', 'miglab advise campaigns/paper.yaml --working-set 64 --max-downtime 300 --max-total 5 --json', 'miglab advise campaigns/paper.yaml --working-set 48 --max-downtime 500 --verify 3') + '\nExit: 0 when a setting meets the bound (and with --verify, every trial met it by the hypervisor\'s downtime), 1 otherwise.')
    .action(async (file: string, o) => {
      if (o.rate !== 'max' && !(Number(o.rate) > 0)) throw new UserError(`--rate must be max or a positive number, got '${o.rate}'`, 'e.g. --rate max or --rate 40');
      if (o.pattern !== 'seq' && o.pattern !== 'random') throw new UserError(`--pattern must be seq or random, got '${o.pattern}'`, 'e.g. --pattern seq');
      const opts = { workingSetMiB: o.workingSet ?? null, rate: o.rate === 'max' ? ('max' as const) : Number(o.rate), pattern: o.pattern as 'seq' | 'random', maxDowntimeMs: o.maxDowntime, maxTotalS: o.maxTotal, results: o.results };
      const a = await advise(file, opts);
      const meets = a.candidates.some((c) => c.meets);
      if (!o.verify) {
        print(a, !!o.json, () => formatAdvice(a));
        if (!meets) process.exitCode = ExitCode.Failed;
        return;
      }
      if (!o.json) say(formatAdvice(a));
      const repetitions = o.verify === true ? 3 : Number(o.verify);
      if (!Number.isInteger(repetitions) || repetitions < 1) throw new UserError(`--verify takes a number of trials, got '${o.verify}'`, 'e.g. --verify 3');
      const original = parseYaml(readFileSync(file, 'utf8')) as Record<string, unknown>;
      const verifyFile = writeVerifyCampaign(file, original, a, opts, repetitions);
      say(`verify: running ${verifyFile}`);
      logSdk('advise');
      let said = -1;
      const r = await runCampaign({
        file: verifyFile,
        ...(o.bedSubnet ? { bedSubnet: o.bedSubnet as string } : {}),
        ...(o.controller ? { controller: o.controller as string } : {}),
        log: say,
        progress: (p, s) => {
          if (p.recorded !== said) say(`  ${s.toFixed(0)} s: ${p.recorded}/${p.total} trials recorded`);
          said = p.recorded;
        },
      });
      const check = checkAdvice(verifyFile, r.rows, a.bound);
      print({ advice: a, verify: check }, !!o.json, () =>
        [...check.trials.map((t) => `  ${t.trialId}: ${t.outcome}, TMT ${t.tmtMs ?? '–'} ms, DT hypervisor ${t.dtHypervisorMs ?? '–'} ms, probe ${t.dtProbeMs?.toFixed(0) ?? '–'} ms`), `within the bound: ${check.metByHypervisorDt} of ${check.trials.length} by the hypervisor's downtime (what the model predicts), ${check.metByProbeDt} by the probe's`].join('\n'),
      );
      if (check.metByHypervisorDt < check.trials.length) process.exitCode = ExitCode.Failed;
    });

  program
    .command('run')
    .description('run a campaign on the local bed (resumes one already running or partly recorded)')
    .argument('<campaign.yaml>')
    .option('--json', 'print the trial rows as JSON at the end')
    .option('--bed-subnet <cidr>', 'subnet for the bed when this run brings it up (inside 198.18.0.0/15)')
    .option('--controller <name>', "this controller's name on every step it runs (Web UI, `ls --trials --steps`); default MIGLAB_CONTROLLER, else the host name", controllerName)
    .addHelpText('after', examples('miglab run campaigns/paper.yaml', 'miglab run campaigns/paper.yaml --json > rows.json', 'miglab run my-campaign.yaml --bed-subnet 198.18.8.0/24') + '\nExit: 0 when every trial was recorded and none failed, 1 otherwise, 130 when interrupted (the campaign goes on in the server: run it again to attach).')
    .action(async (file: string, o) => {
      const tty = process.stderr.isTTY;
      const sdkLog = logSdk('run');
      let last = '';
      let lastSaidAt = 0;
      let firstRecorded: number | undefined;
      const failuresSaid = new Set<string>();
      const r = await runCampaign({
        file,
        ...(o.bedSubnet ? { bedSubnet: o.bedSubnet as string } : {}),
        ...(o.controller ? { controller: o.controller as string } : {}),
        log: say,
        progress: (p, s, steps) => {
          firstRecorded ??= p.recorded; // trials recorded before this run say nothing about its pace
          const doneNow = p.recorded - firstRecorded;
          const eta = doneNow > 0 ? ` / ~${((s / doneNow) * (p.total - p.recorded)).toFixed(0)} s left` : '';
          const bar = p.total ? '#'.repeat(Math.round((p.recorded / p.total) * 30)).padEnd(30, '.') : '';
          // the running trials, each with its step and, while migrating, the share of memory sent
          const now = p.runningNow.map((id) => {
            const st = steps.find((x) => x.trialId === id);
            const moved = st?.remaining !== null && st?.remaining !== undefined ? ` ${Math.round((1 - st.remaining) * 100)}% sent, pass ${st.pass}` : '';
            return st ? `${id} ${st.step}${moved}` : id;
          });
          // a step that failed and is being retried: one line per failed attempt, the details in the SDK log
          for (const line of newFailureLines(steps, failuresSaid, sdkLog)) {
            if (tty) process.stderr.write('\n');
            say(line);
          }
          const counts = `${p.recorded}/${p.total} trials  ${p.outcomes.converged} converged, ${p.outcomes.offline} offline, ${p.outcomes.failed} failed${p.paused ? '  PAUSED' : ''}`;
          const state = `${counts}  ${now.join(' ')}`;
          // A log gets a line per step, and while a step runs on, one every 30 s: not one per poll.
          const coarse = `${counts}  ${p.runningNow.map((id) => `${id} ${steps.find((x) => x.trialId === id)?.step ?? ''}`.trim()).join(' ')}`;
          if (tty) {
            const line = `[${bar}] ${s.toFixed(0)} s${eta}  ${state}`;
            process.stderr.write(`\r${line.slice(0, (process.stderr.columns ?? 120) - 1).padEnd((process.stderr.columns ?? 120) - 1)}`);
          } else if (coarse !== last || s - lastSaidAt >= 30) {
            say(`[${bar}] ${s.toFixed(0)} s${eta}  ${state}`);
            lastSaidAt = s;
          }
          last = coarse;
        },
      });
      if (tty) process.stderr.write('\n');
      const unrecorded = r.progress.unrecorded ?? [];
      print(r.rows, !!o.json, () =>
        [
          summaryTable(r.rows),
          ...(unrecorded.length ? [`not recorded (their trial workflows ended without a row; run the campaign again to run them): ${unrecorded.join(' ')}`] : []),
          `results: ${r.resultsDir}${r.auditUrl ? `\naudit: ${r.auditUrl}` : ''}`,
        ].join('\n'),
      );
      if (r.progress.outcomes.failed > 0 || unrecorded.length > 0) process.exitCode = ExitCode.Failed;
    });

  program
    .command('start')
    .description('start a campaign (or find it running) and return: workers on each controller serve it (`miglab worker`), `miglab watch` follows it')
    .argument('<campaign.yaml>')
    .option('--bed-subnet <cidr>', 'subnet for the bed when this brings it up (inside 198.18.0.0/15)')
    .option('--json', 'JSON output')
    .addHelpText('after', examples('miglab start campaigns/two-pairs.yaml', 'miglab worker campaigns/two-pairs.yaml --pairs hosta:hostb --controller east &', 'miglab watch two-pairs') + '\nExit: 0 when the campaign was started or is running already.')
    .action(async (file: string, o) => {
      const r = await startCampaign({ file, ...(o.bedSubnet ? { bedSubnet: o.bedSubnet as string } : {}), log: say });
      print(r, !!o.json, () =>
        [
          `campaign ${r.started ? 'started' : 'already running'}: ${r.workflowId} on task queue ${r.taskQueue}`,
          `pairs' queues: ${r.pairQueues.join(', ')}`,
          `serve it: miglab worker ${file} [--pairs src:dst,...] on each controller; follow it: miglab watch ${file}`,
          `results: ${r.resultsDir}${r.auditUrl ? `\naudit: ${r.auditUrl}` : ''}`,
        ].join('\n'),
      );
    });

  program
    .command('status')
    .description("a campaign's state and progress on the Temporal server")
    .argument('<campaign>', 'campaign name or campaign file')
    .option('--json', 'JSON output')
    .addHelpText('after', examples('miglab status paper', 'miglab status campaigns/paper.yaml --json') + '\nExit: 0 while running or completed, 1 when cancelled, terminated or failed.')
    .action(async (c: string, o) => {
      const s = await withClient((client) => campaignStatus(client, c));
      print(s, !!o.json, () => {
        const p = s.progress;
        const nums = p ? `: ${p.recorded}/${p.total} trials recorded, ${p.outcomes.converged} converged, ${p.outcomes.offline} offline, ${p.outcomes.failed} failed${p.paused ? ', PAUSED' : ''}${p.runningNow.length ? `; running ${p.runningNow.join(' ')}` : ''}` : '';
        const waiting = waitingHint(c, s);
        const idle = waiting ? `\n  ${waiting}` : '';
        return `campaign ${s.campaign} ${s.state.toLowerCase()} (started ${s.startedAt}${s.closedAt ? `, closed ${s.closedAt}` : ''})${nums}${idle}`;
      });
      if (s.state !== 'RUNNING' && s.state !== 'COMPLETED') process.exitCode = ExitCode.Failed;
    });
  program
    .command('worker')
    .description("run a campaign's worker in this process until Ctrl-C (for a campaign started elsewhere, or to let `cancel` tear VMs down)")
    .argument('<campaign.yaml>')
    .option('--bed-subnet <cidr>', 'subnet for the bed if this brings it up')
    .option('--pairs <src:dst,...>', "serve only these pairs' trials (the ones this controller reaches); every pair by default")
    .option('--controller <name>', "this controller's name on every step it runs (Web UI, `ls --trials --steps`); default MIGLAB_CONTROLLER, else the host name", controllerName)
    .addHelpText('after', '\nExamples:\n  miglab worker campaigns/paper.yaml &\n  miglab worker campaigns/two-pairs.yaml --pairs hostc:hostd --controller lab-east\n  miglab cancel paper')
    .action(async (file: string, o) => {
      logSdk('worker');
      await serveCampaign({ file, ...(o.bedSubnet ? { bedSubnet: o.bedSubnet as string } : {}), ...(o.pairs ? { pairs: String(o.pairs).split(',').map((p) => p.trim()).filter(Boolean) } : {}), ...(o.controller ? { controller: o.controller as string } : {}), log: say });
      say('worker stopped');
      process.exitCode = ExitCode.Ok; // a signal is how a worker is meant to end
    });
  program
    .command('watch')
    .description("follow a running campaign's progress until it closes (its worker runs elsewhere, e.g. in `miglab run`)")
    .argument('<campaign>', 'campaign name or campaign file')
    .option('--interval <seconds>', 'how often to ask', (v) => Number(v), 2)
    .option('--json', 'one JSON line per change')
    .addHelpText('after', '\nExamples:\n  miglab watch paper\n  miglab watch campaigns/paper.yaml --interval 5 --json\nExit: 0 when the campaign completed with no failed trial, 1 otherwise.')
    .action(async (c: string, o) => {
      const final = await withClient((client) =>
        watchCampaign(client, c, (s) => {
          const p = s.progress;
          if (o.json) return void process.stdout.write(`${JSON.stringify(s)}\n`);
          const bar = p && p.total ? '#'.repeat(Math.round((p.recorded / p.total) * 30)).padEnd(30, '.') : ''.padEnd(30, '.');
          const waiting = waitingHint(c, s);
          say(`[${bar}] ${s.state.toLowerCase()}${p ? `  ${p.recorded}/${p.total} trials  ${p.outcomes.converged} converged, ${p.outcomes.offline} offline, ${p.outcomes.failed} failed${p.paused ? '  PAUSED' : ''}  ${p.runningNow.join(' ')}` : ''}${waiting ? `  ${waiting}` : ''}`);
        }, Math.max(0.2, o.interval) * 1000),
      );
      if (final.state !== 'COMPLETED' || (final.progress?.outcomes.failed ?? 0) > 0) process.exitCode = ExitCode.Failed;
    });
  program
    .command('ls')
    .description('the campaigns the Temporal server knows, newest first; with --trials, their trials filtered by search attributes')
    .option('--trials', 'list trials instead of campaigns')
    .option('--campaign <name>', 'trials of this campaign')
    .option('--scenario <name>', 'trials of this scenario')
    .option('--hypervisor <name>', 'trials on this hypervisor')
    .option('--outcome <kind>', 'converged, offline or failed')
    .option('--working-set <MiB>', 'trials at this working-set size', (v) => Number(v))
    .option('--steps', "with --trials: each trial's steps, and the controller (worker identity) that ran each")
    .option('--json', 'JSON output')
    .addHelpText('after', '\nExamples:\n  miglab ls\n  miglab ls --trials --campaign paper --outcome failed\n  miglab ls --trials --scenario dirty-ramp --working-set 40 --json\n  miglab ls --trials --campaign two-pairs --steps')
    .action(async (o) => {
      if (o.trials) {
        const t = await withClient((client) => listTrials(client, { campaign: o.campaign, scenario: o.scenario, hypervisor: o.hypervisor, outcome: o.outcome, workingSetMiB: o.workingSet }, { steps: !!o.steps }));
        const stepLines = (x: (typeof t)[number]) => (x.steps ?? []).map((st) => `    ${st.step.padEnd(22)} ${(st.attempt > 1 ? `attempt ${st.attempt}` : '').padEnd(10)} ${st.controller ?? '(not started)'}${st.state === 'running' ? '  (running)' : ''}`);
        print(t, !!o.json, () => (t.length ? t.flatMap((x) => [`${x.state.padEnd(11)} ${(x.outcome ?? '-').padEnd(9)} ${x.workflowId}`, ...stepLines(x)]).join('\n') : 'no trials match'));
        return;
      }
      const l = await withClient(listCampaigns);
      print(l, !!o.json, () => (l.length ? l.map((c) => `${c.state.padEnd(11)} ${c.startedAt}  ${c.campaign}`).join('\n') : 'no campaigns'));
    });
  program
    .command('pause')
    .description('let running trials finish, start no new one until `resume`')
    .argument('<campaign>', 'campaign name or campaign file')
    .option('--json', 'JSON output')
    .addHelpText('after', examples('miglab pause paper', 'miglab pause campaigns/paper.yaml --json'))
    .action(async (c: string, o) => {
      const campaign = await withClient((client) => pauseCampaign(client, c));
      print({ campaign, paused: true }, !!o.json, () => `campaign ${campaign}: pause requested (running trials finish first)`);
    });
  program
    .command('resume')
    .description('start trials again after `pause`')
    .argument('<campaign>', 'campaign name or campaign file')
    .option('--json', 'JSON output')
    .addHelpText('after', examples('miglab resume paper', 'miglab resume campaigns/paper.yaml --json'))
    .action(async (c: string, o) => {
      const campaign = await withClient((client) => resumeCampaign(client, c));
      print({ campaign, paused: false }, !!o.json, () => `campaign ${campaign}: resumed`);
    });
  program
    .command('cancel')
    .description('cancel a campaign: running trials tear their VMs down, recorded trials stay')
    .argument('<campaign>', 'campaign name or campaign file')
    .option('--wait <s>', 'how long to wait for the teardown to finish', '120')
    .option('--json', 'JSON output')
    .addHelpText('after', examples('miglab cancel paper', 'miglab cancel campaigns/paper.yaml --wait 300 --json') + '\nExit: 0 once the campaign closed, 1 when it was still closing at the end of the wait.')
    .action(async (c: string, o) => {
      const r = await withClient((client) => cancelCampaign(client, c, Number(o.wait) * 1000));
      print(r, !!o.json, () =>
        r.closed ? `campaign ${r.campaign}: ${r.state.toLowerCase()}` : `campaign ${r.campaign}: cancel requested, still closing after ${o.wait} s; the worker in \`miglab run\` does the teardown: is one running?`,
      );
      if (!r.closed) process.exitCode = ExitCode.Failed;
    });

  const hosts = program.command('hosts').description("a campaign's hosts").addHelpText('after', examples('miglab hosts check mylab.yaml'));
  hosts
    .command('check')
    .description('ask each host of a campaign what a run needs: SSH and host key, hypervisor version, accelerator, guest image, bridge, memory; per pair accelerators, CPU flags and shared storage')
    .argument('<campaign.yaml>')
    .option('--json', 'JSON output')
    .addHelpText('after', examples('miglab hosts check mylab.yaml', 'miglab hosts check campaigns/paper.yaml --json') + '\nExit: 0 when the hosts can run the campaign, 1 when a problem is listed (each with its fix). Starts nothing.')
    .action(async (file: string, o) => {
      const loaded = await loadCampaign(file);
      const pool = new SshPool();
      try {
        const r = await checkCampaignHosts(loaded.spec, await siteToInspect(loaded), pool);
        print(r, !!o.json, () => formatHostsCheck(r));
        if (r.problems) process.exitCode = ExitCode.Failed;
      } finally {
        await pool.closeAll();
      }
    });

  program
    .command('verify')
    .description('is the campaign whole? lost or duplicated trials, half-written rows, orphan VMs, a VM running on two hosts')
    .argument('<campaign.yaml>')
    .option('--json', 'JSON output')
    .addHelpText('after', examples('miglab verify campaigns/paper.yaml', 'miglab verify campaigns/paper.yaml --json') + '\nExit: 0 when the campaign is whole, 1 when anything is listed as a problem.')
    .action(async (file: string, o) => {
      const r = await verifyCampaign({ file, campaign: await campaignStateOf(file) });
      const list = (label: string, ids: string[]) => (ids.length <= 12 ? ids.map((id) => `  ${label}: ${id}`) : [`  ${label}: ${ids.slice(0, 12).join(' ')} … (${ids.length} in all; --json lists every one)`]);
      print(r, !!o.json, () =>
        [
          `campaign ${r.campaign} (${r.campaignState.toLowerCase()} on the Temporal server): ${r.recorded}/${r.expected} trials recorded` +
            [
              r.pending.length ? `${r.pending.length} still to record (the campaign runs)` : '',
              r.notRun.length ? `${r.notRun.length} not run (the campaign was ${r.campaignState.toLowerCase()})` : '',
              `${r.lost.length} lost`,
              r.unaccounted.length ? `${r.unaccounted.length} unrecorded, lost or not run: unknown` : '',
              `${r.duplicated.length} duplicated, ${r.halfWritten.length} half-written, ${r.orphans.length} orphan VMs, ${r.splitBrain.length} split-brain`,
            ].filter(Boolean).map((x, i) => (i === 0 ? `; ${x}` : `, ${x}`)).join(''),
          ...list('lost', r.lost),
          ...list('unaccounted', r.unaccounted),
          ...list('not run', r.notRun),
          ...r.duplicated.map((id) => `  duplicated: ${id} (a second, different row is kept in duplicates/)`),
          ...r.halfWritten.map((f) => `  half-written: ${f}`),
          ...r.orphans.map((v) => `  orphan: ${v.vm} on ${v.host} (${v.state}${v.owner ? `, started for ${v.owner}` : ''})`),
          ...r.splitBrain.map((v) => `  split brain: ${v.vm} running on ${v.hosts.join(' and ')}`),
          ...r.notChecked.map((n) => `  not checked: ${n.what}: ${n.why}`),
        ].join('\n'),
      );
      if (verifyProblems(r) > 0) process.exitCode = ExitCode.Failed;
    });

  program
    .command('report')
    .description('tables, figures and CSV of recorded trials (a finished or still running campaign); reads the results store only')
    .argument('<source...>', 'campaign files or results directories; several are reported side by side')
    .option('--out <dir>', 'where to write the report (default: <results>/report)')
    .option('--results <dir>', "read this results directory instead of the campaign file's `results:`")
    .option('--json', 'print what was written and the cliff as JSON')
    .addHelpText('after', `
Examples:
  miglab report campaigns/paper.yaml
  miglab report .miglab/results/paper .miglab/results/paper-libvirt --out /tmp/kvm-vs-libvirt`)
    .action(async (sources: string[], o) => {
      const r = await report({ sources, out: o.out, results: o.results });
      const summary = {
        outDir: r.outDir,
        files: r.files,
        campaigns: r.campaigns.map((c) => ({ campaign: c.manifest.campaign, hypervisor: c.manifest.hypervisor, recorded: c.rows.length, expected: c.manifest.trials.length })),
        cliffs: r.data.cliffs.map((full) => {
          const { perSize: _p, ...c } = full;
          return { ...c, measured: measuredCliffText(full) };
        }),
      };
      print(summary, !!o.json, () =>
        [
          ...summary.campaigns.map((c) => `${c.campaign} (${c.hypervisor}): ${c.recorded} of ${c.expected} trials recorded${c.recorded < c.expected ? ' (incomplete)' : ''}`),
          ...summary.cliffs.map((c) => `cliff ${c.hypervisor} ${c.scenario}: predicted ${c.predictedMiB === null ? 'none (no cap or downtime limit applied)' : `${c.predictedMiB.toFixed(1)} MiB`}, measured ${c.measured}`),
          `report: ${join(r.outDir, 'report.html')} (also report.md, ${r.files.filter((f) => f.endsWith('.csv') || f.endsWith('.arrow')).join(', ')}, ${r.figures.length} figures)`,
        ].join('\n'),
      );
    });

  program
    .command('smoke')
    .description("the bed's smoke migration: bed up, boot, migrate live over QMP-over-SSH, check, bed down")
    .option('--bed <name>', 'bed name', 'smoke')
    .option('--subnet <cidr>', 'bed subnet', '198.18.1.0/24')
    .option('--memory <MiB>', 'guest memory', '256')
    .option('--keep-bed', 'leave the bed up afterwards')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', examples('miglab smoke', 'miglab smoke --keep-bed --json'))
    .action(async (o) => {
      logSdk('smoke');
      const r = await runSmoke({ bed: o.bed, subnet: o.subnet, memoryMiB: Number(o.memory), keepBed: !!o.keepBed, log: say });
      print(r, !!o.json, () => formatSmoke(r.result) + (r.auditUrl ? `\naudit: ${r.auditUrl}` : ''));
      const ok = r.result.migration.status === 'completed' && r.result.after?.ping === true;
      if (!ok) process.exitCode = ExitCode.Failed;
    });

  program
    .command('completion')
    .description('print a shell completion script')
    .argument('<shell>', 'bash or zsh')
    .addHelpText('after', examples('miglab completion bash > /etc/bash_completion.d/miglab', 'source <(miglab completion bash)', 'miglab completion zsh > "${fpath[1]}/_miglab"'))
    .action((shell: string) => {
      process.stdout.write(completionScript(program, shell));
    });

  return program;
}

/**
 * SIGINT and SIGTERM alike: the first asks miglab to stop (a running worker is shut down by the
 * Temporal SDK, which listens for both; one not yet started stops as soon as it starts), and if
 * the process has not ended SHUTDOWN_FORCE_TIME and a margin later, it exits 130 anyway. A second
 * signal ends it at once.
 */
function handleInterrupts(): void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(ExitCode.Interrupted);
    signalled = true;
    say(`miglab: ${signal}: stopping (send it again to stop at once)`);
    process.exitCode = ExitCode.Interrupted;
    setTimeout(() => {
      say(`miglab: still not stopped ${FORCE_EXIT_S} s after ${signal}: exiting`);
      process.exit(ExitCode.Interrupted);
    }, FORCE_EXIT_S * 1000).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
/** the worker's own forced shutdown (30 s) and a margin for the cleanup after it */
const FORCE_EXIT_S = 45;

export async function main(argv: string[]): Promise<void> {
  handleInterrupts();
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has printed the message (or the help, or the version)
      process.exitCode = ['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(err.code) ? ExitCode.Ok : ExitCode.Usage;
    } else if (err instanceof UserError) {
      say(err.format());
      process.exitCode = err.exitCode;
    } else if (err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure) {
      // `miglab cancel` from elsewhere while this run watched: not a crash
      say('miglab: the campaign was cancelled; its recorded trials stay in its results (`miglab report` reads them)');
      process.exitCode = ExitCode.Interrupted;
    } else {
      say(`miglab: unexpected error: ${(err as Error).stack ?? String(err)}`);
      process.exitCode = ExitCode.Failed;
    }
  }
}
