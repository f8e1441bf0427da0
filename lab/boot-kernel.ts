import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The kernel a bed guest boots from an image folder: the uncompressed PVH kernel the image build
 * wrote (`vmlinux`, booted by QEMU's -kernel with no firmware loader and no decompression: under
 * TCG about 4 s less a boot), else the image's compressed `vmlinuz`. Xen's guests keep `vmlinuz`.
 */
export function bootKernel(imageDir: string): string {
  const pvh = join(imageDir, 'vmlinux');
  return existsSync(pvh) ? pvh : join(imageDir, 'vmlinuz');
}
