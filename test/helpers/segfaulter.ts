/**
 * A 124-byte static x86-64 Linux program that writes to address 0 and so dies of SIGSEGV, with
 * the kernel's "segfault at 0" line in its log: a real crash for tests of what a crashed process
 * leaves behind, on hosts with no compiler (a bed dom0 is busybox).
 */
const BASE = 0x400000n;
const CODE = [0x31, 0xc0, 0x89, 0x00]; // xor eax, eax; mov [rax], eax

export function segfaulterElf(): Buffer {
  const ehdr = Buffer.alloc(64);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(ehdr); // ELF, 64-bit, little endian, version 1
  ehdr.writeUInt16LE(2, 16); // executable
  ehdr.writeUInt16LE(0x3e, 18); // x86-64
  ehdr.writeUInt32LE(1, 20);
  ehdr.writeBigUInt64LE(BASE + 120n, 24); // entry: the code after both headers
  ehdr.writeBigUInt64LE(64n, 32); // program headers right after this one
  ehdr.writeUInt16LE(64, 52);
  ehdr.writeUInt16LE(56, 54);
  ehdr.writeUInt16LE(1, 56);
  const phdr = Buffer.alloc(56);
  const size = BigInt(64 + 56 + CODE.length);
  phdr.writeUInt32LE(1, 0); // PT_LOAD
  phdr.writeUInt32LE(5, 4); // read + execute
  phdr.writeBigUInt64LE(BASE, 16);
  phdr.writeBigUInt64LE(BASE, 24);
  phdr.writeBigUInt64LE(size, 32);
  phdr.writeBigUInt64LE(size, 40);
  phdr.writeBigUInt64LE(0x1000n, 48);
  return Buffer.concat([ehdr, phdr, Buffer.from(CODE)]);
}
