/** The Debian disk guest (lab/debian-guest/build.sh) as the bed runs it: its files, and a VM spec booting it. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { statePaths } from '../lib/paths.js';
import { UserError } from '../lib/errors.js';
import type { DiskStorage, VmSpec } from '../activities/qemu/vm-spec.js';
import { bootKernel } from './boot-kernel.js';

export interface DebianGuestImage {
  /** the root filesystem (ext4 in a qcow2), never written: each VM writes to its own overlay */
  disk: string;
  /** the image's own kernel and initramfs, booted directly with root=/dev/vda */
  kernel: string;
  initrd: string;
  /** every package and version that went in, the build's time and size */
  manifest: string;
}

export function debianGuestImage(dir = statePaths().debianGuest): DebianGuestImage {
  return { disk: join(dir, 'disk.qcow2'), kernel: bootKernel(dir), initrd: join(dir, 'initrd.img'), manifest: join(dir, 'manifest') };
}

/** The image, or a UserError saying how to build it. */
export function requireDebianGuest(dir?: string): DebianGuestImage {
  const image = debianGuestImage(dir);
  if (!existsSync(image.manifest)) {
    throw new UserError(`the Debian guest image is not built (${image.manifest} is missing)`, 'run scripts/setup.sh (it builds it with lab/debian-guest/build.sh)');
  }
  return image;
}

/**
 * A bed VM spec (its name, addresses, memory) that boots the Debian guest from its disk instead
 * of the lab initramfs. Shared storage keeps each VM's overlay in `overlayDir` (a folder every
 * host sees); local storage gives each host its own copy, which moves with the VM.
 */
export function debianVmSpec(base: VmSpec, image: DebianGuestImage, storage: DiskStorage, overlayDir?: string): VmSpec {
  return {
    ...base,
    kernel: image.kernel,
    initrd: image.initrd,
    disk: { image: image.disk, format: 'qcow2', storage, root: true, ...(overlayDir ? { overlayDir } : {}) },
  };
}
