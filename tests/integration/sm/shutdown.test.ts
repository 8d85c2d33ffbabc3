// Server shutdown with a hibernating stream-management session: what its buffer holds
// (stanzas the client never acknowledged, and stanzas that arrived while it was away)
// must be in offline storage when the node has stopped — not lost with the process.

import { expect, test } from 'bun:test';
import { rm } from 'node:fs/promises';
import { startTestServer } from '../../helpers/test-server.ts';
import { openStorage } from '../../../server/storage/open.ts';
import { parseStoredElement } from '../../../modules/stored-xml.ts';
import { login } from '../c2s/wire.ts';
import { sendNumbered, smLogin, waitForBodies } from './sm-wire.ts';

test('stopping the node moves a hibernating session\'s buffer to offline storage before storage closes', async () => {
  const ts = await startTestServer({
    users: { 'alice@localhost': 'alice-pw', 'bob@localhost': 'bob-pw' },
    toml: `
[modules.mod_stream_management]
resume_timeout = "600s"
ack_request_delay = "60s"
[modules.mod_offline]
`,
  });
  const alice = await smLogin(ts, 'alice', 'alice-pw', 'phone');
  const { wire: bob } = await login(ts, 'bob', 'bob-pw', 'desk');
  const seen = sendNumbered(bob, alice.jid, 'before', 0, 3);
  expect(await waitForBodies(alice.wire, 3)).toEqual(seen);
  // Alice's connection drops without acknowledging anything: the session hibernates.
  alice.wire.close();
  await new Promise((r) => setTimeout(r, 100));
  const away = sendNumbered(bob, alice.jid, 'away', 0, 2);
  await new Promise((r) => setTimeout(r, 100));
  bob.close();

  await ts.server.stop('test shutdown');

  const storage = await openStorage(ts.server.config.storage);
  try {
    const stored = await storage.offline.popAll('localhost', 'alice');
    const storedBodies = stored.map((m) => parseStoredElement(m.stanza)?.getChildText('body'));
    expect(storedBodies).toEqual([...seen, ...away]);
  } finally {
    await storage.close();
    await rm(ts.dataDir, { recursive: true, force: true });
  }
});
