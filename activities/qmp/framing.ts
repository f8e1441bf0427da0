import { StringDecoder } from 'node:string_decoder';

/**
 * QMP wire framing: one JSON object per line (QEMU ends lines with CRLF). Chunks from a stream may
 * split a line or hold several; the decoder buffers until a whole line is there.
 */
export type QmpGreeting = { QMP: { version: { qemu: { major: number; minor: number; micro: number }; package?: string }; capabilities: string[] } };
export type QmpReturn = { return: unknown; id?: string };
export type QmpErrorReply = { error: { class: string; desc: string }; id?: string };
export type QmpEvent = { event: string; data?: Record<string, unknown>; timestamp: { seconds: number; microseconds: number } };
export type QmpMessage = QmpGreeting | QmpReturn | QmpErrorReply | QmpEvent;

export class QmpProtocolError extends Error {
  override readonly name = 'QmpProtocolError';
}

/** Longest line accepted; QMP replies are small, a runaway line means a broken peer. */
const MAX_LINE = 16 * 1024 * 1024;

export class QmpDecoder {
  private buf = '';
  // Holds back the bytes of a multi-byte character split across chunks.
  private readonly utf8 = new StringDecoder('utf8');

  /** Feeds a chunk; returns the messages completed by it, in order. */
  push(chunk: Buffer | string): QmpMessage[] {
    this.buf += typeof chunk === 'string' ? chunk : this.utf8.write(chunk);
    const out: QmpMessage[] = [];
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (line) out.push(classify(line));
    }
    if (this.buf.length > MAX_LINE) throw new QmpProtocolError(`QMP line longer than ${MAX_LINE} bytes`);
    return out;
  }

  /** Bytes received after the last complete line. */
  get pending(): number {
    return this.buf.length;
  }
}

function classify(line: string): QmpMessage {
  let msg: unknown;
  try {
    msg = JSON.parse(line);
  } catch {
    throw new QmpProtocolError(`QMP sent a line that is not JSON: ${line.slice(0, 200)}`);
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
    throw new QmpProtocolError(`QMP sent a JSON value that is not an object: ${line.slice(0, 200)}`);
  }
  const o = msg as Record<string, unknown>;
  if ('QMP' in o || 'return' in o || 'event' in o) return o as QmpMessage;
  if ('error' in o && typeof o.error === 'object' && o.error !== null) return o as QmpErrorReply;
  throw new QmpProtocolError(`QMP sent an object of unknown kind: ${line.slice(0, 200)}`);
}

export function encodeCommand(execute: string, args: Record<string, unknown> | undefined, id: string): string {
  return JSON.stringify(args === undefined ? { execute, id } : { execute, arguments: args, id }) + '\n';
}
