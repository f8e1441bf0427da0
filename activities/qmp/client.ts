/**
 * A QMP client over any byte stream: a local socket, or (as miglab uses it) a Unix socket on a
 * remote host reached through SSH. Replies are matched to commands by id; events go to listeners.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { QmpDecoder, QmpProtocolError, encodeCommand, type QmpEvent, type QmpGreeting, type QmpMessage } from './framing.js';

export class QmpCommandError extends Error {
  override readonly name = 'QmpCommandError';
  constructor(readonly command: string, readonly errorClass: string, readonly desc: string) {
    super(`QMP ${command} failed: ${errorClass}: ${desc}`);
  }
}

interface Pending {
  command: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class QmpClient {
  private readonly decoder = new QmpDecoder();
  private readonly pending = new Map<string, Pending>();
  /** ids whose command timed out: their late replies are dropped, not taken for a stream out of step */
  private readonly expired = new Set<string>();
  private readonly emitter = new EventEmitter();
  private nextId = 1;
  private closed: Error | undefined;
  private greetingWaiter: { resolve: (g: QmpGreeting) => void; reject: (e: Error) => void } | undefined;
  greeting: QmpGreeting | undefined;

  private constructor(private readonly stream: Duplex) {
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('error', (err: Error) => this.fail(err));
    stream.on('close', () => this.fail(new Error('QMP connection closed')));
    stream.on('end', () => this.fail(new Error('QMP connection closed by QEMU')));
  }

  /** Reads the greeting and leaves capabilities negotiation mode. */
  static async connect(stream: Duplex, opts: { timeoutMs?: number } = {}): Promise<QmpClient> {
    const client = new QmpClient(stream);
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const greeting = await new Promise<QmpGreeting>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no QMP greeting within ${timeoutMs} ms`)), timeoutMs);
      client.greetingWaiter = {
        resolve: (g) => (clearTimeout(timer), resolve(g)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
    }).catch((err) => {
      client.close();
      throw err;
    });
    client.greeting = greeting;
    await client.execute('qmp_capabilities');
    return client;
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>, opts: { timeoutMs?: number } = {}): Promise<T> {
    if (this.closed) return Promise.reject(this.closed);
    const id = `miglab-${this.nextId++}`;
    const timeoutMs = opts.timeoutMs ?? 30_000;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.expired.add(id);
        reject(new Error(`QMP ${command}: no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject, timer });
      this.stream.write(encodeCommand(command, args, id));
    });
  }

  /** Subscribes to an asynchronous event (e.g. MIGRATION, STOP, RESUME); returns an unsubscribe. */
  onEvent(name: string, listener: (event: QmpEvent) => void): () => void {
    this.emitter.on(name, listener);
    return () => this.emitter.off(name, listener);
  }

  close(): void {
    this.fail(new Error('QMP client closed'));
    this.stream.destroy();
  }

  private onData(chunk: Buffer): void {
    let messages: QmpMessage[];
    try {
      messages = this.decoder.push(chunk);
    } catch (err) {
      this.fail(err as Error);
      this.stream.destroy();
      return;
    }
    for (const msg of messages) this.dispatch(msg);
  }

  private dispatch(msg: QmpMessage): void {
    if ('QMP' in msg) {
      this.greetingWaiter?.resolve(msg);
      this.greetingWaiter = undefined;
      return;
    }
    if ('event' in msg) {
      this.emitter.emit(msg.event, msg);
      return;
    }
    const id = msg.id;
    if (id !== undefined && this.expired.delete(id)) return; // a late reply: its caller has given up
    const waiter = id === undefined ? undefined : this.pending.get(id);
    if (!waiter || id === undefined) {
      // A reply we did not ask for: the stream is out of step, nothing after it can be trusted.
      this.fail(new QmpProtocolError(`QMP reply with unknown id ${JSON.stringify(id)}`));
      return;
    }
    this.pending.delete(id);
    clearTimeout(waiter.timer);
    if ('error' in msg) waiter.reject(new QmpCommandError(waiter.command, msg.error.class, msg.error.desc));
    else waiter.resolve(msg.return);
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.closed = err;
    this.greetingWaiter?.reject(err);
    this.greetingWaiter = undefined;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new Error(`QMP ${p.command}: ${err.message}`));
      this.pending.delete(id);
    }
  }
}
