import { expect, test } from 'bun:test';
import { PendingWrites } from '../../../server/core/pending-writes.ts';

test('afterSettled runs at once with nothing pending, else after every write tracked before it', async () => {
  const writes = new PendingWrites();
  const order: string[] = [];
  writes.afterSettled(() => order.push('immediately'));
  expect(order).toEqual(['immediately']);

  let finishA!: () => void;
  let failB!: (e: Error) => void;
  writes.track(new Promise<void>((r) => { finishA = r; }));
  writes.track(new Promise<void>((_, j) => { failB = j; }));
  writes.afterSettled(() => order.push('after a and b'));
  finishA();
  await Promise.resolve();
  expect(order).toEqual(['immediately']);
  failB(new Error('storage down')); // a failed write settles too: the ack is not held forever
  await new Promise((r) => setTimeout(r, 0));
  expect(order).toEqual(['immediately', 'after a and b']);
  expect(writes.size).toBe(0);
});
