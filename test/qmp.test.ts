import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QmpClient, QmpCommandError } from '../activities/qmp/client.js';
import { QmpDecoder, QmpProtocolError, encodeCommand } from '../activities/qmp/framing.js';

const GREETING = '{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}}\r\n';

describe('QMP framing', () => {
  it('reassembles lines split across chunks and splits several in one chunk', () => {
    const d = new QmpDecoder();
    const text = GREETING + '{"return": {}, "id": "miglab-1"}\r\n{"event": "STOP", "timestamp": {"seconds": 1, "microseconds": 2}}\r\n';
    const out = [];
    for (let i = 0; i < text.length; i += 7) out.push(...d.push(Buffer.from(text.slice(i, i + 7))));
    expect(out.map((m) => Object.keys(m)[0])).toEqual(['QMP', 'return', 'event']);
    expect(d.pending).toBe(0);
  });

  it('keeps multi-byte UTF-8 intact when a chunk boundary falls inside a character', () => {
    const d = new QmpDecoder();
    const bytes = Buffer.from('{"return": "grüße", "id": "x"}\n', 'utf8');
    const cut = bytes.indexOf(0xc3) + 1; // inside the two-byte ü
    const out = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut))];
    expect(out).toEqual([{ return: 'grüße', id: 'x' }]);
  });

  it('rejects lines that are not QMP objects', () => {
    expect(() => new QmpDecoder().push('not json\n')).toThrow(QmpProtocolError);
    expect(() => new QmpDecoder().push('[1,2]\n')).toThrow(/not an object/);
    expect(() => new QmpDecoder().push('{"hello": 1}\n')).toThrow(/unknown kind/);
  });

  it('encodes commands with and without arguments, one line each', () => {
    expect(encodeCommand('query-status', undefined, 'a')).toBe('{"execute":"query-status","id":"a"}\n');
    expect(encodeCommand('migrate', { uri: 'tcp:198.18.0.11:4444' }, 'b')).toBe('{"execute":"migrate","arguments":{"uri":"tcp:198.18.0.11:4444"},"id":"b"}\n');
  });
});

/** A scripted QMP peer on a Unix socket: answers out of order and slips events in between. */
function fakeQmp(path: string): Server {
  return createServer((sock: Socket) => {
    sock.write(GREETING);
    let buf = '';
    const held: { id: string }[] = [];
    sock.on('data', (chunk) => {
      buf += chunk.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const raw of lines.map((l) => JSON.parse(l) as { execute: string; id: string; arguments?: Record<string, unknown> })) {
        if (raw.execute === 'qmp_capabilities') sock.write(JSON.stringify({ return: {}, id: raw.id }) + '\r\n');
        else if (raw.execute === 'slow') held.push({ id: raw.id });
        else if (raw.execute === 'echo') {
          sock.write('{"event": "MIGRATION", "data": {"status": "active"}, "timestamp": {"seconds": 0, "microseconds": 0}}\r\n');
          sock.write(JSON.stringify({ return: raw.arguments, id: raw.id }) + '\r\n');
          // the held reply arrives only after a later command's reply
          for (const h of held.splice(0)) sock.write(JSON.stringify({ return: 'slow-done', id: h.id }) + '\r\n');
        } else sock.write(JSON.stringify({ error: { class: 'CommandNotFound', desc: `The command ${raw.execute} has not been found` }, id: raw.id }) + '\r\n');
      }
    });
  }).listen(path);
}

describe('QMP client', () => {
  const dir = mkdtempSync(join(tmpdir(), 'miglab-qmp-'));
  let server: Server;
  beforeAll(() => {
    server = fakeQmp(join(dir, 'fake.sock'));
  });
  afterAll(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('matches replies to commands by id, whatever their order, and delivers events', async () => {
    const qmp = await QmpClient.connect(createConnection(join(dir, 'fake.sock')));
    expect(qmp.greeting?.QMP.version.qemu.major).toBe(7);
    const events: string[] = [];
    qmp.onEvent('MIGRATION', (e) => events.push(String(e.data?.status)));
    const slow = qmp.execute('slow');
    const echo = await qmp.execute('echo', { a: 1 });
    expect(echo).toEqual({ a: 1 });
    expect(await slow).toBe('slow-done');
    expect(events).toEqual(['active']);
    qmp.close();
  });

  it('turns QMP errors into QmpCommandError with class and description', async () => {
    const qmp = await QmpClient.connect(createConnection(join(dir, 'fake.sock')));
    const err = await qmp.execute('nope').catch((e) => e);
    expect(err).toBeInstanceOf(QmpCommandError);
    expect(err).toMatchObject({ command: 'nope', errorClass: 'CommandNotFound' });
    qmp.close();
  });

  it('fails pending commands when the connection drops, instead of hanging', async () => {
    const qmp = await QmpClient.connect(createConnection(join(dir, 'fake.sock')));
    const pending = qmp.execute('slow');
    qmp.close();
    await expect(pending).rejects.toThrow(/closed/);
    await expect(qmp.execute('echo')).rejects.toThrow(/closed/);
  });

  it('times out a command with no reply', async () => {
    const qmp = await QmpClient.connect(createConnection(join(dir, 'fake.sock')));
    await expect(qmp.execute('slow', undefined, { timeoutMs: 100 })).rejects.toThrow(/no reply within 100 ms/);
    qmp.close();
  });

  it('drops a reply that arrives after its command timed out, and goes on working', async () => {
    const qmp = await QmpClient.connect(createConnection(join(dir, 'fake.sock')));
    await expect(qmp.execute('slow', undefined, { timeoutMs: 100 })).rejects.toThrow(/no reply within 100 ms/);
    // the next command's reply comes with the late one for 'slow' right behind it
    expect(await qmp.execute('echo', { b: 2 })).toEqual({ b: 2 });
    await new Promise((r) => setTimeout(r, 50));
    expect(await qmp.execute('echo', { c: 3 })).toEqual({ c: 3 });
    qmp.close();
  });

  it('still refuses a reply whose id it never sent: the stream is out of step', async () => {
    const sock = createConnection(join(dir, 'fake.sock'));
    const qmp = await QmpClient.connect(sock);
    const pending = qmp.execute('slow');
    // a reply to an id this client never used, as if another client shared the socket
    sock.emit('data', Buffer.from('{"return": {}, "id": "someone-else-1"}\r\n'));
    await expect(pending).rejects.toThrow(/unknown id "someone-else-1"/);
    qmp.close();
  });
});

describe('QMP client against a real QEMU', () => {
  const dir = mkdtempSync(join(tmpdir(), 'miglab-qemu-'));
  const sock = join(dir, 'qmp.sock');
  let qemu: ChildProcess;
  beforeAll(async () => {
    qemu = spawn('qemu-system-x86_64', ['-machine', 'none', '-nodefaults', '-display', 'none', '-qmp', `unix:${sock},server=on,wait=off`], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
  });
  afterAll(() => {
    qemu.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('negotiates capabilities and reads status and migration parameters', async () => {
    const qmp = await QmpClient.connect(createConnection(sock));
    const status = await qmp.execute<{ status: string }>('query-status');
    expect(status.status).toBe('running');
    const params = await qmp.execute<Record<string, unknown>>('query-migrate-parameters');
    expect(params['downtime-limit']).toBe(300); // QEMU's default, as the paper's setting assumes
    await qmp.execute('migrate-set-parameters', { 'downtime-limit': 500 });
    expect((await qmp.execute<Record<string, unknown>>('query-migrate-parameters'))['downtime-limit']).toBe(500);
    await expect(qmp.execute('migrate-set-parameters', { 'downtime-limit': -1 })).rejects.toBeInstanceOf(QmpCommandError);
    qmp.close();
  });
});
