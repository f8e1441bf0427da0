/**
 * The report as a small document model, rendered twice: Markdown (figures as linked SVG files)
 * and self-contained HTML (figures inline). Building it once keeps the two from drifting apart.
 */

export type Block =
  | { kind: 'text'; text: string }
  | { kind: 'list'; items: string[] }
  | { kind: 'table'; headers: string[]; rows: string[][]; align?: ('l' | 'r')[] }
  | { kind: 'figure'; id: string; title: string; caption: string; svg: string };

export interface Section {
  title: string;
  blocks: Block[];
}

export interface Doc {
  title: string;
  sections: Section[];
}

const mdCell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function toMarkdown(doc: Doc, figureDir: string): string {
  const out = [`# ${doc.title}`, ''];
  for (const s of doc.sections) {
    out.push(`## ${s.title}`, '');
    for (const b of s.blocks) {
      if (b.kind === 'text') out.push(b.text, '');
      else if (b.kind === 'list') out.push(...b.items.map((i) => `- ${i}`), '');
      else if (b.kind === 'table') {
        out.push(`| ${b.headers.map(mdCell).join(' | ')} |`, `|${b.headers.map((_, i) => (b.align?.[i] === 'r' ? '---:' : ':---')).join('|')}|`);
        out.push(...b.rows.map((r) => `| ${r.map(mdCell).join(' | ')} |`), '');
      } else out.push(`### ${b.title}`, '', `![${b.title}](${figureDir}/${b.id}.svg)`, '', `*${b.caption}*`, '');
    }
  }
  return out.join('\n');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function toHtml(doc: Doc): string {
  const body: string[] = [`<h1>${esc(doc.title)}</h1>`];
  for (const s of doc.sections) {
    body.push(`<h2>${esc(s.title)}</h2>`);
    for (const b of s.blocks) {
      if (b.kind === 'text') body.push(`<p>${esc(b.text)}</p>`);
      else if (b.kind === 'list') body.push(`<ul>${b.items.map((i) => `<li>${esc(i)}</li>`).join('')}</ul>`);
      else if (b.kind === 'table') {
        const cls = (i: number) => (b.align?.[i] === 'r' ? ' class="r"' : '');
        body.push(
          `<table><thead><tr>${b.headers.map((h, i) => `<th${cls(i)}>${esc(h)}</th>`).join('')}</tr></thead><tbody>` +
            b.rows.map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${esc(c)}</td>`).join('')}</tr>`).join('') +
            '</tbody></table>',
        );
      } else body.push(`<figure id="${esc(b.id)}"><h3>${esc(b.title)}</h3>${b.svg}<figcaption>${esc(b.caption)}</figcaption></figure>`);
    }
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(doc.title)}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:1rem 0;font-size:.85rem}th,td{border-bottom:1px solid #ddd;padding:.25rem .5rem;text-align:left}
th.r,td.r{text-align:right;font-variant-numeric:tabular-nums}figure{margin:2rem 0}figcaption{font-size:.85rem;color:#555;max-width:48rem}
</style></head><body>
${body.join('\n')}
</body></html>
`;
}
