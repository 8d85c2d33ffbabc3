// Exports of the tokenizer module. The host talks to it with integers only: stream
// pointers, byte counts, event codes; everything else it reads from linear memory.

import {
  S_MODE, S_LIMITS, LIMIT_COUNT, LIMIT_STANZA_BYTES, LIMIT_NAME_LENGTH, LIMIT_ATTRIBUTES,
  MAX_STANZA_BYTES_CEILING, MAX_NAME_LENGTH_CEILING, MAX_ATTRIBUTES_CEILING, S_BUF, V_LEN, MODE_DOCUMENT,
} from '../shared/constants';
import { get, set, structAlloc, vecReserve } from './memory';
import { initState, releaseStream, run, finish } from './tokenizer';

export function streamNew(mode: i32): usize {
  const s = structAlloc();
  set(s, S_MODE, mode == MODE_DOCUMENT ? MODE_DOCUMENT : 0);
  for (let i = 0; i < LIMIT_COUNT; i++) set(s, S_LIMITS + i, 0x7fffffff);
  streamSetLimit(s, LIMIT_STANZA_BYTES, MAX_STANZA_BYTES_CEILING);
  streamSetLimit(s, LIMIT_NAME_LENGTH, MAX_NAME_LENGTH_CEILING);
  streamSetLimit(s, LIMIT_ATTRIBUTES, MAX_ATTRIBUTES_CEILING);
  initState(s);
  return s;
}

export function streamFree(s: usize): void {
  releaseStream(s);
  heap.free(s);
}

/** Fresh state for a stream restart (after STARTTLS or SASL); limits and mode are kept. */
export function streamReset(s: usize): void {
  releaseStream(s);
  initState(s);
}

export function streamSetLimit(s: usize, which: i32, value: i32): void {
  if (which < 0 || which >= LIMIT_COUNT) return;
  if (value < 0) value = 0;
  if (which == LIMIT_STANZA_BYTES && value > MAX_STANZA_BYTES_CEILING) value = MAX_STANZA_BYTES_CEILING;
  if (which == LIMIT_NAME_LENGTH && value > MAX_NAME_LENGTH_CEILING) value = MAX_NAME_LENGTH_CEILING;
  if (which == LIMIT_ATTRIBUTES && value > MAX_ATTRIBUTES_CEILING) value = MAX_ATTRIBUTES_CEILING;
  if (value > MAX_STANZA_BYTES_CEILING) value = MAX_STANZA_BYTES_CEILING;
  set(s, S_LIMITS + which, value);
}

/**
 * Makes room for `n` more input bytes and counts them as fed; returns where the host
 * must copy them. The host then calls streamRun. `n` must stay small (the host splits).
 */
export function streamReserve(s: usize, n: i32): usize {
  const ptr = vecReserve(s, S_BUF, n);
  const len = get(s, S_BUF + V_LEN);
  set(s, S_BUF + V_LEN, len + n);
  return ptr + <usize>len;
}

export function streamRun(s: usize): i32 {
  return run(s);
}

export function streamFinish(s: usize): i32 {
  return finish(s);
}
