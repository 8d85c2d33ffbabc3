// Loads the tokenizer module. One instance per thread is shared by every stream; each
// stream is a small struct in its linear memory.
//
// Loading goes through @assemblyscript/loader (it supplies `abort` with readable messages);
// the per-chunk path calls the raw exports and writes into raw memory views, which skips
// the loader's argument-count wrapper on every call (see README, "Loader comparison").

import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { instantiateSync } from '@assemblyscript/loader';

export interface TokenizerExports {
  memory: WebAssembly.Memory;
  streamNew(mode: number): number;
  streamFree(stream: number): void;
  streamReset(stream: number): void;
  streamSetLimit(stream: number, which: number, value: number): void;
  streamReserve(stream: number, length: number): number;
  streamRun(stream: number): number;
  streamFinish(stream: number): number;
}

export type TokenizerBuild = 'release' | 'debug';

/**
 * Node's Buffer over linear memory, for its native Latin-1 slice (Bun, Deno and Node all
 * have `latin1Slice`; `toString('latin1', …)` is the documented spelling of the same).
 */
interface CharBuffer {
  readonly byteLength: number;
  latin1Slice?(start: number, end: number): string;
  toString(encoding: 'latin1', start: number, end: number): string;
}

function charView(buffer: ArrayBuffer): CharBuffer {
  return Buffer.from(buffer) as unknown as CharBuffer;
}

export class TokenizerInstance {
  readonly exports: TokenizerExports;
  readonly memory: WebAssembly.Memory;
  private bytes: Uint8Array;
  private words: Int32Array;
  private doubles: Float64Array;
  private chars: CharBuffer;

  constructor(exports: TokenizerExports) {
    this.exports = exports;
    this.memory = exports.memory;
    this.bytes = new Uint8Array(this.memory.buffer);
    this.words = new Int32Array(this.memory.buffer);
    this.doubles = new Float64Array(this.memory.buffer);
    this.chars = charView(this.memory.buffer as ArrayBuffer);
  }

  /**
   * Bytes [start, end) of linear memory as a string of one character per byte. Only for
   * bytes known to be ASCII (the tokenizer's FLAG_NON_ASCII is clear, or the caller
   * checked): then it equals UTF-8 decoding, as one native copy instead of TextDecoder's
   * work (≈ 2× faster on short values, and no subarray to allocate).
   */
  ascii(start: number, end: number): string {
    if (this.chars.byteLength === 0) this.refresh();
    const chars = this.chars;
    return chars.latin1Slice !== undefined ? chars.latin1Slice(start, end) : chars.toString('latin1', start, end);
  }

  /** Byte view of linear memory; re-created when growth detached the old buffer. */
  get u8(): Uint8Array {
    if (this.bytes.byteLength === 0) this.refresh();
    return this.bytes;
  }

  get i32(): Int32Array {
    if (this.words.byteLength === 0) this.refresh();
    return this.words;
  }

  get f64(): Float64Array {
    if (this.doubles.byteLength === 0) this.refresh();
    return this.doubles;
  }

  private refresh(): void {
    const buffer = this.memory.buffer;
    this.bytes = new Uint8Array(buffer);
    this.words = new Int32Array(buffer);
    this.doubles = new Float64Array(buffer);
    this.chars = charView(buffer as ArrayBuffer);
  }
}

function wasmBytes(build: TokenizerBuild): Uint8Array<ArrayBuffer> {
  const path = fileURLToPath(new URL(`../build/${build}.wasm`, import.meta.url).href);
  try {
    return readFileSync(path) as Uint8Array<ArrayBuffer>;
  } catch (cause) {
    throw new Error(`tokenizer module ${path} is missing: run \`npm run build:wasm\``, { cause });
  }
}

/** A new, independent instance (tests, benchmarks, workers). */
export function createTokenizer(build: TokenizerBuild = 'release'): TokenizerInstance {
  const module = new WebAssembly.Module(wasmBytes(build));
  const { instance } = instantiateSync<Record<string, unknown>>(module, {});
  // Raw exports, not the loader's wrappers: the hot path wants plain calls.
  return new TokenizerInstance(instance.exports as unknown as TokenizerExports);
}

let shared: TokenizerInstance | undefined;

/** The instance shared by all streams of this thread. */
export function sharedTokenizer(): TokenizerInstance {
  shared ??= createTokenizer();
  return shared;
}
