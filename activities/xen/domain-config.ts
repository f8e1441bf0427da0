/**
 * A VM as an xl domain configuration (xl.cfg(5)). The lab guest boots as a PVH domain: Debian's
 * Xen is built without shadow paging, and a PV guest's live migration needs it (log-dirty mode
 * fails with EOPNOTSUPP), while PVH tracks dirty pages with the CPU's nested paging.
 */
import type { VmSpec } from '../qemu/vm-spec.js';

export interface XenDomainOptions {
  /** the bridge in dom0 that the VM's interface joins */
  bridge: string;
  /** a hotplug script for the interface; undefined: xl's default (vif-bridge) */
  vifScript?: string | undefined;
  /**
   * CPU features to hide from the guest (xl's `cpuid` list). On the bed: rdtscp, whose
   * intercept QEMU's emulated SVM reports without an instruction length, so Xen crashes the guest.
   */
  hideCpuid?: readonly string[];
}

const str = (s: string) => `"${s.replace(/["\\]/g, '\\$&')}"`;

export function domainConfig(spec: VmSpec, o: XenDomainOptions): string {
  const vif = [`mac=${spec.mac}`, `bridge=${o.bridge}`, ...(o.vifScript ? [`script=${o.vifScript}`] : [])].join(',');
  const lines = [
    `# miglab VM ${spec.name}${spec.owner ? ` (trial ${spec.owner})` : ''}`,
    `name = ${str(spec.name)}`,
    'type = "pvh"',
    `kernel = ${str(spec.kernel)}`,
    `ramdisk = ${str(spec.initrd)}`,
    `memory = ${spec.memoryMiB}`,
    `vcpus = ${spec.vcpus}`,
    `extra = ${str(`console=hvc0 quiet panic=-1 miglab.name=${spec.name} miglab.ip=${spec.guestCidr}`)}`,
    `vif = [ ${str(vif)} ]`,
  ];
  if (o.hideCpuid?.length) lines.push(`cpuid = ${str(['host', ...o.hideCpuid.map((f) => `${f}=0`)].join(','))}`);
  return lines.join('\n') + '\n';
}
