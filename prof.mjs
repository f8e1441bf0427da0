import { summarize, outcomes, failures, cliffs, memoryRows, measureTable } from '/work/main/dist/analysis/tables.js';
import { flattenRow } from '/work/main/dist/analysis/flatten.js';
import { syntheticRow } from '/work/main/dist/analysis/synthetic.js';
const N = 1e6; const flat = new Array(N);
const S=[null,4,8,16,32,64];
for (let i=0;i<N;i++){ const ws=S[i%6]; flat[i]=flattenRow(syntheticRow({trialId:`b/r/${ws}/r${i}`, workingSetMiB: ws, end: i%7?'precopy':'offline', tmtMs: 1000+i%100, dtMs: 30+i%10, guestGapMs: i%3?50:null, memory:{configuredMiB:256,allocatedOnHostMiB:250,usedInGuestMiB:40,requestedMiB:ws??0,dirtiedMiB:null}}), {campaign:'b',hypervisor:['qemu','xen'][i%2],trials:[]}); }
global.gc?.();
let t=performance.now(); const lap=(n)=>{const x=performance.now(); console.log(n,((x-t)/1000).toFixed(2)); t=x;};
const mt = measureTable(flat); lap('measureTable');

summarize(flat); lap('summarize');
outcomes(flat); lap('outcomes'); failures(flat); lap('failures'); cliffs(flat); lap('cliffs'); memoryRows(flat); lap('memory');
