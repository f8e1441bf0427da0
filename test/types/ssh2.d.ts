/** The few parts of ssh2's server the pool's tests use (ssh2 ships no types; node-ssh wraps its client). */
declare module 'ssh2' {
  import type { EventEmitter } from 'node:events';
  import type { AddressInfo } from 'node:net';
  interface ExecChannel { write(data: string): void; exit(code: number): void; end(): void }
  interface Session extends EventEmitter { on(event: 'exec', f: (accept: () => ExecChannel, reject: () => void, info: { command: string }) => void): this }
  interface ServerClient extends EventEmitter {
    on(event: 'authentication', f: (ctx: { accept(): void }) => void): this;
    on(event: 'session', f: (accept: () => Session, reject: () => void) => void): this;
    on(event: 'ready' | 'close', f: () => void): this;
    on(event: 'error', f: (err: Error) => void): this;
    end(): void;
  }
  class Server extends EventEmitter {
    constructor(config: { hostKeys: string[]; ident?: string }, onClient: (client: ServerClient) => void);
    listen(port: number, host: string, cb: () => void): this;
    address(): AddressInfo | string | null;
    close(cb?: () => void): this;
  }
  const utils: { generateKeyPairSync(type: 'ed25519'): { private: string; public: string } };
  const ssh2: { Server: typeof Server; utils: typeof utils };
  export default ssh2;
  export type { Server };
}
