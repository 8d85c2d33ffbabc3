// Per-stream struct access and the growable vectors a stream holds only while a unit
// (stanza, header, document root) is partially received. Vectors are pooled per instance:
// a stream that ends a feed with nothing pending hands its buffers back, so an idle
// stream owns nothing but its struct (and its header block).

import {
  S_BASE_BYTE, V_PTR, V_LEN, V_CAP, VEC_COUNT, S_BUF, STREAM_STRUCT_BYTES,
} from '../shared/constants';

// @ts-ignore: decorator
@inline export function get(s: usize, field: i32): i32 {
  return load<i32>(s + (<usize>field << 2));
}

// @ts-ignore: decorator
@inline export function set(s: usize, field: i32, value: i32): void {
  store<i32>(s + (<usize>field << 2), value);
}

// @ts-ignore: decorator
@inline export function getBase(s: usize): f64 {
  return load<f64>(s + S_BASE_BYTE);
}

// @ts-ignore: decorator
@inline export function setBase(s: usize, v: f64): void {
  store<f64>(s + S_BASE_BYTE, v);
}

/** Largest buffer kept in the instance pool; bigger ones are freed when released. */
const POOL_MAX_CAP: i32 = 131072;
/** One pooled buffer per vector kind (ptr, cap). */
const pool: usize = heap.alloc(VEC_COUNT * 8);
memory.fill(pool, 0, VEC_COUNT * 8);

export function structAlloc(): usize {
  const s = heap.alloc(STREAM_STRUCT_BYTES);
  memory.fill(s, 0, STREAM_STRUCT_BYTES);
  return s;
}

/** Ensures vector `v` (a struct slot like S_REC) can take `extra` more bytes; returns its ptr. */
export function vecReserve(s: usize, v: i32, extra: i32): usize {
  const len = get(s, v + V_LEN);
  const cap = get(s, v + V_CAP);
  // Bounds-checked: callers keep sizes under 2^30, so len + extra cannot wrap.
  const need = len + extra;
  if (need <= cap) return <usize>get(s, v + V_PTR);
  if (cap == 0) {
    const kind = (v - S_BUF) / 3;
    const slot = pool + (<usize>kind << 3);
    const pooled = load<i32>(slot);
    const pooledCap = load<i32>(slot, 4);
    if (pooled != 0 && pooledCap >= need) {
      store<i32>(slot, 0);
      store<i32>(slot, 0, 4);
      set(s, v + V_PTR, pooled);
      set(s, v + V_CAP, pooledCap);
      return <usize>pooled;
    }
  }
  let newCap = cap < 256 ? 256 : cap;
  // Doubling stops at 2^30 so the i32 capacity can never wrap.
  while (newCap < need) newCap = newCap >= 0x40000000 ? need : newCap << 1;
  let ptr = get(s, v + V_PTR);
  ptr = ptr == 0 ? <i32>heap.alloc(<usize>newCap) : <i32>heap.realloc(<usize>ptr, <usize>newCap);
  set(s, v + V_PTR, ptr);
  set(s, v + V_CAP, newCap);
  return <usize>ptr;
}

/** Gives a vector's buffer back to the pool (or frees it) and empties the slot. */
export function vecRelease(s: usize, v: i32): void {
  const ptr = get(s, v + V_PTR);
  set(s, v + V_LEN, 0);
  if (ptr == 0) return;
  const cap = get(s, v + V_CAP);
  const kind = (v - S_BUF) / 3;
  const slot = pool + (<usize>kind << 3);
  if (cap <= POOL_MAX_CAP && load<i32>(slot) == 0) {
    store<i32>(slot, ptr);
    store<i32>(slot, cap, 4);
  } else {
    heap.free(<usize>ptr);
  }
  set(s, v + V_PTR, 0);
  set(s, v + V_CAP, 0);
}

export function releaseAllVecs(s: usize): void {
  for (let k = 0; k < VEC_COUNT; k++) vecRelease(s, S_BUF + k * 3);
}
