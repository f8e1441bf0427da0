/**
 * One backend per host, for a campaign whose pairs run different hypervisors side by side (QEMU
 * pairs beside libvirt pairs): every call goes to the backend of the host it names (a migration,
 * to its source's; both ends of a pair run the same kind).
 */
import type { HypervisorBackend, MigrationParams, MigrationWatch } from './backend.js';
import type { VmSpec } from './qemu/vm-spec.js';

export class RoutedBackend implements HypervisorBackend {
  constructor(private readonly of: (host: string) => HypervisorBackend) {}

  startVm(host: string, spec: VmSpec, opts?: { incoming?: boolean }) {
    return this.of(host).startVm(host, spec, opts);
  }
  vmState(host: string, vm: string) {
    return this.of(host).vmState(host, vm);
  }
  migrate(src: string, dst: string, spec: VmSpec, params: MigrationParams, watch?: MigrationWatch) {
    return this.of(src).migrate(src, dst, spec, params, watch);
  }
  migrateOffline(src: string, dst: string, spec: VmSpec, params: MigrationParams, watch?: MigrationWatch) {
    return this.of(src).migrateOffline(src, dst, spec, params, watch);
  }
  stopVm(host: string, vm: string, opts?: { owner?: string }) {
    return this.of(host).stopVm(host, vm, opts);
  }
  measureDirtyRate(host: string, vm: string, seconds?: number) {
    return this.of(host).measureDirtyRate(host, vm, seconds);
  }
  listVms(host: string) {
    return this.of(host).listVms(host);
  }
  allocatedMiB(host: string, vm: string) {
    return this.of(host).allocatedMiB(host, vm);
  }
  nonZeroMiB(host: string, vm: string, memoryMiB: number) {
    return this.of(host).nonZeroMiB(host, vm, memoryMiB);
  }
  consoleFile(host: string, vm: string) {
    return this.of(host).consoleFile(host, vm);
  }
  describeHost(host: string) {
    return this.of(host).describeHost(host);
  }
  async checkHealth(host: string) {
    await this.of(host).checkHealth?.(host);
  }
}
