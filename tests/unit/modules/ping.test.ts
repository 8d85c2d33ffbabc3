import { describe, expect, test } from 'bun:test';
import { modPing } from '../../../modules/mod_ping.ts';
import type { ModuleDefinition } from '../../../server/core/registry.ts';
import { errorCondition, imHarness } from './im-harness.ts';

const mods = [modPing as ModuleDefinition<unknown>];
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('mod_ping (XEP-0199)', () => {
  test('answers a ping to the server and a ping without to', async () => {
    const h = await imHarness(mods);
    const alice = h.connect('alice@example.com/phone');
    expect((await h.iq(alice, "<iq type='get' id='p1' to='example.com'><ping xmlns='urn:xmpp:ping'/></iq>")).attrs.type).toBe('result');
    expect((await h.iq(alice, "<iq type='get' id='p2'><ping xmlns='urn:xmpp:ping'/></iq>")).attrs.type).toBe('result');
    expect(errorCondition(await h.iq(alice, "<iq type='set' id='p3' to='example.com'><ping xmlns='urn:xmpp:ping'/></iq>"))).toBe('bad-request');
  });

  test('a client that does not answer server pings is closed with connection-timeout', async () => {
    const h = await imHarness(mods, { modules: { mod_ping: { ping_interval: '30ms', ping_req_timeout: '40ms' } } });
    const alice = h.connect('alice@example.com/phone');
    for (let i = 0; i < 40 && !alice.closed; i++) await wait(10);
    expect(alice.wire.some((w) => w.includes("urn:xmpp:ping"))).toBe(true);
    expect(alice.closed).toBe(true);
    expect(alice.closedWith?.condition).toBe('connection-timeout');
  });

  test('a client that answers stays open, and only one ping is outstanding at a time', async () => {
    const h = await imHarness(mods, { modules: { mod_ping: { ping_interval: '20ms', ping_req_timeout: '5s' } } });
    const alice = h.connect('alice@example.com/phone');
    const silent = h.connect('bob@example.com/laptop');
    let answered = 0;
    for (let i = 0; i < 15; i++) {
      await wait(10);
      for (const w of alice.wire.splice(0)) {
        const id = /id='([^']+)'/.exec(w)?.[1];
        if (!w.includes('urn:xmpp:ping') || id === undefined) continue;
        h.send(alice, `<iq type='result' id='${id}' to='example.com'/>`);
        answered++;
      }
    }
    expect(answered).toBeGreaterThan(1);
    expect(alice.closed).toBe(false);
    // bob never answers and his ping has not timed out yet: still exactly one ping sent.
    expect(silent.wire.filter((w) => w.includes('urn:xmpp:ping')).length).toBe(1);
    expect(silent.closed).toBe(false);
  });
});
