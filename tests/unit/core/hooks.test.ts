import { describe, expect, test } from 'bun:test';
import { ANY_HOST, Hooks, STOP } from '../../../server/core/hooks.ts';
import { Logger } from '../../../server/log.ts';
import { parseJid } from '../../../server/jid.ts';
import { packet } from './fakes.ts';

function hooksWithLog(): { hooks: Hooks; logs: Array<Record<string, unknown>> } {
  const logs: Array<Record<string, unknown>> = [];
  const hooks = new Hooks(new Logger('info', (line) => logs.push(JSON.parse(line) as Record<string, unknown>)));
  return { hooks, logs };
}

const args = () => ({ host: 'example.com', from: parseJid('a@example.com/r'), node: '', features: [] as string[] });

describe('hooks', () => {
  test('run in ascending priority, ties in the order added', () => {
    const { hooks } = hooksWithLog();
    hooks.add('disco_local_features', 'example.com', (a) => { a.features.push('p50-first'); });
    hooks.add('disco_local_features', 'example.com', (a) => { a.features.push('p10'); }, 10);
    hooks.add('disco_local_features', 'example.com', (a) => { a.features.push('p50-second'); });
    hooks.add('disco_local_features', 'example.com', (a) => { a.features.push('p90'); }, 90);
    const a = args();
    expect(hooks.run('disco_local_features', 'example.com', a)).toBe(true);
    expect(a.features).toEqual(['p10', 'p50-first', 'p50-second', 'p90']);
  });

  test('handlers for ANY_HOST interleave by priority; other hosts are not run', () => {
    const { hooks } = hooksWithLog();
    hooks.add('disco_local_features', 'example.com', (a) => { a.features.push('host-20'); }, 20);
    hooks.add('disco_local_features', ANY_HOST, (a) => { a.features.push('any-10'); }, 10);
    hooks.add('disco_local_features', ANY_HOST, (a) => { a.features.push('any-30'); }, 30);
    hooks.add('disco_local_features', 'other.com', (a) => { a.features.push('other'); }, 15);
    const a = args();
    hooks.run('disco_local_features', 'example.com', a);
    expect(a.features).toEqual(['any-10', 'host-20', 'any-30']);
    expect(hooks.count('disco_local_features', 'example.com')).toBe(3);
  });

  test('STOP ends the chain and run reports it', () => {
    const { hooks } = hooksWithLog();
    const seen: string[] = [];
    hooks.add('filter_local_packet', 'example.com', () => { seen.push('a'); }, 10);
    hooks.add('filter_local_packet', 'example.com', () => { seen.push('b'); return STOP; }, 20);
    hooks.add('filter_local_packet', 'example.com', () => { seen.push('c'); }, 30);
    const p = packet("<message from='a@example.com/r' to='b@example.com'/>");
    expect(hooks.run('filter_local_packet', 'example.com', { packet: p })).toBe(false);
    expect(seen).toEqual(['a', 'b']);
  });

  test('a throwing handler is logged and the next one still runs', () => {
    const { hooks, logs } = hooksWithLog();
    const seen: string[] = [];
    hooks.add('disco_local_features', 'example.com', () => { throw new Error('boom'); }, 10);
    hooks.add('disco_local_features', 'example.com', () => { seen.push('after'); }, 20);
    expect(hooks.run('disco_local_features', 'example.com', args())).toBe(true);
    expect(seen).toEqual(['after']);
    expect(logs).toHaveLength(1);
    expect(logs[0].what).toBe('hook_handler_failed');
    expect(logs[0].hook).toBe('disco_local_features');
  });

  test('a promise returned into a synchronous hook is reported, not awaited', async () => {
    const { hooks, logs } = hooksWithLog();
    hooks.add('disco_local_features', 'example.com', (async () => { throw new Error('late'); }) as unknown as () => void);
    expect(hooks.run('disco_local_features', 'example.com', args())).toBe(true);
    await Promise.resolve();
    await Promise.resolve();
    expect(logs.map((l) => l.what)).toEqual(['hook_handler_async_in_sync_hook', 'hook_handler_failed']);
  });

  test('removal takes effect for later runs, not the one in progress', () => {
    const { hooks } = hooksWithLog();
    const seen: string[] = [];
    let removeB = () => {};
    hooks.add('disco_local_features', 'example.com', () => { seen.push('a'); removeB(); }, 10);
    removeB = hooks.add('disco_local_features', 'example.com', () => { seen.push('b'); }, 20);
    hooks.run('disco_local_features', 'example.com', args());
    hooks.run('disco_local_features', 'example.com', args());
    expect(seen).toEqual(['a', 'b', 'a']);
    removeB(); // removing twice is harmless
    expect(hooks.count('disco_local_features', 'example.com')).toBe(1);
  });

  test('async hooks await each handler in order; STOP and throws behave the same', async () => {
    const { hooks, logs } = hooksWithLog();
    const seen: string[] = [];
    hooks.add('remove_user', 'example.com', async () => { await Bun.sleep(2); seen.push('slow-10'); }, 10);
    hooks.add('remove_user', 'example.com', () => { seen.push('sync-20'); throw new Error('x'); }, 20);
    hooks.add('remove_user', 'example.com', async () => { seen.push('stop-30'); return STOP as typeof STOP; }, 30);
    hooks.add('remove_user', 'example.com', () => { seen.push('never'); }, 40);
    expect(await hooks.runAsync('remove_user', 'example.com', { jid: parseJid('a@example.com') })).toBe(false);
    expect(seen).toEqual(['slow-10', 'sync-20', 'stop-30']);
    expect(logs).toHaveLength(1);
  });

  test('a hook with no handlers completes', () => {
    const { hooks } = hooksWithLog();
    expect(hooks.run('session_opened', 'example.com', { session: undefined as never })).toBe(true);
  });
});
