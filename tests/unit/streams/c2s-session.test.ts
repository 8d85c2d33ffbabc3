import { expect, test } from 'bun:test';
import { C2sSession } from '../../../server/streams/c2s-session.ts';
import type { SessionOwner } from '../../../server/streams/c2s-env.ts';
import { parseJid } from '../../../server/jid.ts';

test('a c2s session is hibernated exactly while its owner is stream management\'s stand-in', () => {
  const written: string[] = [];
  const stream: SessionOwner = { deliver: (p) => written.push(String(p)), closeWith: () => {} };
  const standIn: SessionOwner = { deliver: () => {}, closeWith: () => {}, hibernating: true };
  const session = new C2sSession(parseJid('alice@localhost/phone'), stream, 'tcp');
  expect(session.hibernated).toBe(false);
  session.attach(standIn);
  expect(session.hibernated).toBe(true);
  session.attach(stream);
  expect(session.hibernated).toBe(false);
});
