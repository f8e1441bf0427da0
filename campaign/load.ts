/**
 * Reads a campaign file and checks it before anything starts. Every problem names
 * file:line:col, the field, what was wrong and how to fix it; all problems are reported at once.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve, dirname } from 'node:path';
import { LineCounter, parseDocument, isMap, isNode, isScalar, visit, type Document } from 'yaml';
import type { z } from 'zod';
import { UserError } from '../lib/errors.js';
import { campaignSchema, type CampaignSpec } from './spec.js';
import { pathProblems } from './paths.js';
import { crossCheck, type SpecProblem } from './validate.js';
import { withPreset } from './preset-apply.js';

export interface LoadedCampaign {
  spec: CampaignSpec;
  file: string;
  /** a path in the file, resolved against the file's folder */
  resolvePath(p: string): string;
  /** problems found after the file was read (e.g. a level a host cannot honour), placed in the file */
  refuse(problems: readonly SpecProblem[]): CampaignSpecError;
}

export class CampaignSpecError extends UserError {
  constructor(readonly file: string, readonly problems: readonly { where: string; field: string; message: string; fix?: string }[]) {
    super(
      `${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}, nothing was started:\n` +
        problems.map((p) => `  ${p.where}: ${p.field ? `${p.field}: ` : ''}${p.message}${p.fix ? `\n    fix: ${p.fix}` : ''}`).join('\n'),
      'correct the campaign file at the places listed, then run again',
    );
  }
}

type Path = readonly (string | number)[];

const fieldName = (path: Path) => path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');

/** The position of the deepest node on the path that exists in the document. */
function positionOf(doc: Document, lc: LineCounter, file: string, path: Path, atKey: boolean): string {
  if (atKey && path.length > 0) {
    // An unknown field: point at its name rather than its value.
    const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
    if (isMap(parent)) {
      const pair = parent.items.find((it) => isScalar(it.key) && it.key.value === path[path.length - 1]);
      if (pair && isNode(pair.key) && pair.key.range) {
        const { line, col } = lc.linePos(pair.key.range[0]);
        return `${file}:${line}:${col}`;
      }
    }
  }
  // A level a preset brought has no node of its own: the preset is the place.
  if (path[0] === 'factors' && path.length > 1 && !doc.hasIn(path.slice(0, 2)) && doc.has('preset')) return positionOf(doc, lc, file, ['preset'], false);
  // A missing field has no node: the mapping that lacks it is the place to point at.
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) {
      const { line, col } = lc.linePos(node.range[0]);
      return `${file}:${line}:${col}`;
    }
  }
  return `${file}:1:1`;
}

/** Where the document's first alias is (the likely culprit of a refusal), else its start. */
function firstAliasAt(doc: Document, lc: LineCounter, file: string): string {
  let at: number | undefined;
  visit(doc, { Alias: (_k, node) => { at ??= node.range?.[0]; return at === undefined ? undefined : visit.BREAK; } });
  const { line, col } = lc.linePos(at ?? 0);
  return `${file}:${line}:${col}`;
}

function zodProblems(error: z.ZodError): SpecProblem[] {
  return error.issues.map((issue) => {
    const path = issue.path.filter((k): k is string | number => typeof k !== 'symbol');
    let message = issue.message;
    let fix: string | undefined;
    if (issue.code === 'unrecognized_keys') {
      message = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
      fix = 'remove it, or check its spelling against the documented fields';
      return { path: [...path, issue.keys[0]!], message, fix, atKey: true };
    }
    if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) {
      message = `missing (expected ${issue.expected})`;
      fix = `add ${String(path[path.length - 1])}`;
    } else if (issue.code === 'invalid_union' && 'discriminator' in issue) {
      fix = `use one of the documented kinds`;
    }
    return { path, message, fix };
  });
}

/**
 * Parses and checks a campaign. With `resolvePath` (where its relative paths point), the files it
 * names are checked too (see paths.ts).
 */
export function parseCampaign(text: string, file: string, opts: { resolvePath?: (p: string) => string } = {}): CampaignSpec {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new CampaignSpecError(
      file,
      doc.errors.map((e) => {
        const { line, col } = lc.linePos(e.pos[0]);
        return { where: `${file}:${line}:${col}`, field: '', message: `YAML syntax: ${e.message.split('\n')[0]}`, fix: 'fix the YAML syntax at this place (indentation, a missing colon or quote)' };
      }),
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS();
  } catch (err) {
    // the parser refuses e.g. an alias bomb (aliases that expand beyond reason) while building values
    throw new CampaignSpecError(file, [{ where: firstAliasAt(doc, lc, file), field: '', message: `YAML refused: ${(err as Error).message}`, fix: 'write the values out instead of through nested aliases (*name)' }]);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new CampaignSpecError(file, [{ where: `${file}:1:1`, field: '', message: 'the file is not a mapping of campaign fields', fix: 'start from campaigns/paper.yaml' }]);
  }
  const parsed = campaignSchema.safeParse(raw);
  // a preset is its factors, added to the file's own
  const preset = parsed.success ? withPreset(parsed.data) : undefined;
  const problems: SpecProblem[] = preset
    ? [...preset.problems, ...(preset.problems.length ? [] : crossCheck(preset.spec)), ...(opts.resolvePath ? pathProblems(preset.spec, opts.resolvePath) : [])]
    : zodProblems((parsed as { error: z.ZodError }).error);
  if (problems.length > 0) throw placedError(doc, lc, file, problems);
  return preset!.spec;
}

function placedError(doc: Document, lc: LineCounter, file: string, problems: readonly SpecProblem[]): CampaignSpecError {
  return new CampaignSpecError(
    file,
    problems.map((p) => ({ where: positionOf(doc, lc, file, p.path, !!p.atKey), field: fieldName(p.path), message: p.message, ...(p.fix ? { fix: p.fix } : {}) })),
  );
}

/** Problems found in a campaign after it was read, each at its place in the file's text. */
export function refuseIn(text: string, file: string, problems: readonly SpecProblem[]): CampaignSpecError {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  return placedError(doc, lc, file, problems);
}

export async function loadCampaign(file: string): Promise<LoadedCampaign> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read campaign file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'check the path; campaigns/paper.yaml is the paper\'s campaign');
  }
  const base = dirname(resolve(file));
  const resolvePath = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const spec = parseCampaign(text, file, { resolvePath });
  return { spec, file, resolvePath, refuse: (problems) => refuseIn(text, file, problems) };
}
