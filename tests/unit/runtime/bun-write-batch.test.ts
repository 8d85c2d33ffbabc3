// Bun connections gather the writes of one task into one socket write; what is gathered
// counts as queued (the c2s outbound bound sees it) and is never lost or reordered.

import { expect, test } from 'bun:test';
import net from 'node:net';
import { bunRuntime } from '../../../server/runtime/bun.ts';
import type { TcpConnection } from '../../../server/runtime/types.ts';

test('writes in one task leave together, in order, and count as queued until then', async () => {
  let server!: TcpConnection;
  const accepted = new Promise<void>((resolve) => {
    void bunRuntime.listenTcp({ hostname: '127.0.0.1', port: 0 }, (conn) => {
      server = conn;
      conn.attach({ data: () => {}, drain: () => {}, close: () => {} });
      resolve();
    }).then((l) => {
      listener = l;
      client = net.connect(l.port, '127.0.0.1');
      client.on('data', (d) => { received += d.toString(); });
    });
  });
  let listener: { stop(): void } | undefined;
  let client!: net.Socket;
  let received = '';
  await accepted;

  const view = new TextEncoder().encode('<b/>');
  server.write('<a/>');
  server.write(view);
  view.fill(0x20); // the caller reuses its buffer at once: what was written must not change
  expect(server.write('<c/>')).toBe(12);
  expect(server.queuedBytes).toBe(12);
  await Promise.resolve();
  expect(server.queuedBytes).toBe(0);
  const deadline = Date.now() + 2000;
  while (received.length < 12 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  expect(received).toBe('<a/><b/><c/>');

  server.write('<d/>');
  server.end(); // end() sends what was gathered first
  const closed = new Promise<void>((r) => client.on('close', () => r()));
  await closed;
  expect(received).toBe('<a/><b/><c/><d/>');
  listener?.stop();
});
