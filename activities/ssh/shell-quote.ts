/** POSIX shell quoting: every argument becomes one word, whatever characters it holds. */
export function quote(arg: string | number): string {
  const s = String(arg);
  if (s !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Builds a command line from a program and its arguments, each quoted. */
export function commandLine(argv: readonly (string | number)[]): string {
  return argv.map(quote).join(' ');
}
