/**
 * Where a campaign's VMs run: how to reach each host and the guests on it. A bed's inventory is
 * one kind of site; a campaign's own hosts (`hosts:` in its file) are another.
 */
import type { QemuHost } from '../activities/qemu/backend.js';

export interface Site {
  hosts: readonly QemuHost[];
  /** the guest's SSH private key and the known_hosts file that lists the guest's host key */
  privateKey: string;
  knownHosts: string;
  /** the interface pings to a guest leave by (a bed's controller veth); undefined: the routing table's choice */
  probeVia: string | undefined;
  /** the controller's own address that load clients connect from (a bed's controller veth's); undefined: the routing table's choice */
  clientAddress?: string | undefined;
}
