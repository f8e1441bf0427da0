/** Vega-lite specs to SVG in Node: vega-lite compiles, a headless vega View renders; no browser. */
import type { VlSpec } from './figures.js';

export async function renderSvg(spec: VlSpec): Promise<string> {
  // Both packages are ESM only; importing them lazily keeps `miglab` start-up light.
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  const compiled = vl.compile(spec as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
