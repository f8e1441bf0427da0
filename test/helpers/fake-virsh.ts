/**
 * What the fake-virsh tests of the libvirt backend share (a scripted SSH pool stands for virsh on
 * two hosts; no libvirt here): the hosts, the VM, the move's parameters, the backend over a pool,
 * and virsh's answers as the pool returns them.
 */
import { LibvirtBackend } from '../../activities/libvirt/backend.js';
import type { QemuHost } from '../../activities/qemu/backend.js';
import type { VmSpec } from '../../activities/qemu/vm-spec.js';
import type { RemoteResult, SshPool, SshTarget } from '../../activities/ssh/pool.js';

const ssh = (host: string): SshTarget => ({ host, port: 22, user: 'root', privateKeyPath: '/k', knownHostsPath: '/kh' });
/** hosta (198.18.0.1) and hostb (198.18.0.2) */
export const hosts: QemuHost[] = ['hosta', 'hostb'].map((name, i) => ({ name, ip: `198.18.0.${i + 1}`, bridge: 'br0', runDir: `/run/miglab/${name}`, ssh: ssh(name) }));
export const vmSpec = (owner: string): VmSpec => ({ name: 'mvm0', memoryMiB: 256, vcpus: 1, kernel: '/k', initrd: '/i', guestCidr: '198.18.0.100/24', mac: '52:54:00:12:00:64', migrationPort: 49152, owner });
export const params = { maxBandwidth: 112 * 2 ** 20, downtimeLimitMs: 300, autoConverge: null };

export const ok = (stdout = ''): RemoteResult => ({ stdout, stderr: '', code: 0 });
export const failed = (stderr = ''): RemoteResult => ({ stdout: '', stderr, code: 1 });
/** `virsh dumpxml` of mvm0 on hosta: the console the backend rewrites for the destination */
export const DUMPXML = `<domain><serial type='file'><source path='/run/miglab/hosta/mvm0.console.log'/></serial></domain>`;

export const backendWith = (pool: SshPool) => new LibvirtBackend({ pool, hosts, peerUri: (d) => `qemu+ssh://${d.ip}/system`, pollIntervalMs: 1 });
