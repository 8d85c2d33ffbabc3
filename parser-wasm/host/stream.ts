// XmlStream: one XML stream (or a sequence of documents) fed with bytes as they arrive.
//
// feed() copies the bytes into the stream's window in WASM memory and runs the tokenizer,
// dispatching each event synchronously. Handlers may feed, reset or free other streams
// freely. On the same stream, feed() from inside a handler is queued and processed after
// the current chunk; reset() and free() stop processing of the rest of the current chunk
// (bytes that arrived together with `<starttls/>` must not survive the restart).

import * as C from '../shared/constants.ts';
import { DEFAULT_LIMITS } from './limits.ts';
import { conditionOf, messageOf } from './messages.ts';
import { RecordStanzaView } from './stanza-view.ts';
import { readHeader, readHeaderDeclarations } from './header.ts';
import { UnitReader, type NamespaceDeclaration, type UnitOwner } from './unit.ts';
import { sharedTokenizer, type TokenizerInstance } from './wasm.ts';
import type { ParserLimits, StreamHeader, XmlError, XmlStreamHandlers, XmlStreamMode, XmlStreamOptions } from './types.ts';

/** Larger inputs are fed in pieces of this size, bounding the window a stream can grow by at once. */
const MAX_PIECE = 65536;

const LIMIT_SLOTS: ReadonlyArray<[keyof ParserLimits, number]> = [
  ['maxStanzaBytes', C.LIMIT_STANZA_BYTES],
  ['maxStartTagBytes', C.LIMIT_START_TAG_BYTES],
  ['maxAttributes', C.LIMIT_ATTRIBUTES],
  ['maxDepth', C.LIMIT_DEPTH],
  ['maxElementsPerStanza', C.LIMIT_ELEMENTS],
  ['maxNameLength', C.LIMIT_NAME_LENGTH],
];

export class XmlStream implements UnitOwner {
  readonly mode: XmlStreamMode;
  /** @internal Bumped after every event; views from older events refuse to read. */
  generation = 0;
  /** @internal The stream header's namespace declarations, in the tokenizer's order. */
  headerDeclarations: NamespaceDeclaration[] = [];
  /** @internal The stream header's xml:lang, re-declared on spliced stanzas that have none. */
  headerLang: string | undefined;
  private readonly handlers: XmlStreamHandlers;
  private readonly instance: TokenizerInstance;
  private pointer: number;
  private currentLimits: ParserLimits;
  private streamHeader: StreamHeader | undefined;
  private failure: XmlError | undefined;
  private dispatching = false;
  private interrupted = false;
  private freeAfterDispatch = false;
  private queued: Uint8Array[] = [];
  /** One reader and one top-level view per stream, re-pointed at every event. */
  private readonly reader: UnitReader;
  private readonly stanzaView: RecordStanzaView;

  constructor(handlers: XmlStreamHandlers, options: XmlStreamOptions = {}, instance: TokenizerInstance = sharedTokenizer()) {
    this.handlers = handlers;
    this.instance = instance;
    this.mode = options.mode ?? 'stream';
    this.pointer = instance.exports.streamNew(this.mode === 'document' ? C.MODE_DOCUMENT : C.MODE_STREAM);
    this.reader = new UnitReader(this, instance, this.pointer);
    this.stanzaView = new RecordStanzaView(this.reader, 0, -1);
    this.currentLimits = { ...DEFAULT_LIMITS };
    this.setLimits(DEFAULT_LIMITS);
    if (options.limits) this.setLimits(options.limits);
  }

  get limits(): Readonly<ParserLimits> {
    return this.currentLimits;
  }

  /** The current stream header (stream mode), until reset(). */
  get header(): StreamHeader | undefined {
    return this.streamHeader;
  }

  /** The error that stopped this stream, if any. */
  get error(): XmlError | undefined {
    return this.failure;
  }

  /** Applies from the next tag on; a limit already crossed by the unit in progress fires then. */
  setLimits(partial: Partial<ParserLimits>): void {
    this.assertUsable();
    for (const [key, slot] of LIMIT_SLOTS) {
      const value = partial[key];
      if (value === undefined) continue;
      if (!Number.isInteger(value) || value < 0) throw new RangeError(`${key} must be a non-negative integer, got ${value}`);
      this.instance.exports.streamSetLimit(this.pointer, slot, Math.min(value, 0x7fffffff));
      // Read back: the tokenizer clamps to its ceilings (e.g. 2^30 stanza bytes).
      this.currentLimits[key] = this.instance.i32[(this.pointer >> 2) + C.S_LIMITS + slot];
    }
  }

  /** Bytes fed to every stream of this process (the meerkat_parser_bytes_total metric). */
  static bytesFed = 0;

  feed(bytes: Uint8Array): void {
    this.assertUsable();
    if (this.failure || bytes.length === 0) return;
    XmlStream.bytesFed += bytes.length;
    if (this.dispatching) {
      this.queued.push(bytes.slice());
      return;
    }
    this.feedNow(bytes);
    while (this.queued.length > 0 && !this.failure && this.pointer !== 0) this.feedNow(this.queued.shift()!);
  }

  /**
   * End of input: an element or UTF-8 sequence still open is not-well-formed. In document
   * mode the next bytes start a new document (WebSocket: call after each frame).
   */
  finish(): void {
    this.assertUsable();
    if (this.failure) return;
    if (this.dispatching) throw new Error('XmlStream.finish() cannot be called from its own handlers');
    const ev = this.instance.exports.streamFinish(this.pointer);
    if (ev === C.EV_ERROR) this.dispatch(ev);
  }

  /** Fresh tokenizer state (stream restart after STARTTLS or SASL). Limits are kept. */
  reset(): void {
    this.assertUsable();
    this.instance.exports.streamReset(this.pointer);
    this.streamHeader = undefined;
    this.headerDeclarations = [];
    this.headerLang = undefined;
    this.failure = undefined;
    this.queued = [];
    if (this.dispatching) this.interrupted = true;
  }

  /** Releases the stream's WASM memory. The object must not be used afterwards. */
  free(): void {
    if (this.pointer === 0) return;
    if (this.dispatching) {
      this.freeAfterDispatch = true;
      this.interrupted = true;
      return;
    }
    this.instance.exports.streamFree(this.pointer);
    this.pointer = 0;
  }

  private assertUsable(): void {
    if (this.pointer === 0 || this.freeAfterDispatch) throw new Error('XmlStream used after free()');
  }

  private feedNow(bytes: Uint8Array): void {
    const ex = this.instance.exports;
    // Bytes that live in this instance's memory (a `raw` view forwarded into another
    // stream) would be detached if reserving room grows memory: copy them out first.
    if (bytes.buffer === this.instance.memory.buffer) bytes = bytes.slice();
    for (let off = 0; off < bytes.length; off += MAX_PIECE) {
      const piece = off === 0 && bytes.length <= MAX_PIECE ? bytes : bytes.subarray(off, off + MAX_PIECE);
      const at = ex.streamReserve(this.pointer, piece.length);
      this.instance.u8.set(piece, at);
      for (;;) {
        const ev = ex.streamRun(this.pointer);
        if (ev === C.EV_NEED_MORE) break;
        if (!this.dispatch(ev)) return;
      }
    }
  }

  /** Hands one event to the handlers. Returns false when processing must stop. */
  private dispatch(ev: number): boolean {
    this.dispatching = true;
    this.interrupted = false;
    try {
      switch (ev) {
        case C.EV_ELEMENT: {
          this.reader.load();
          const view = this.stanzaView;
          view.reuse(this.generation);
          this.handlers.onStanza(view);
          break;
        }
        case C.EV_STREAM_OPEN: {
          const unit = this.reader;
          unit.load();
          this.headerDeclarations = readHeaderDeclarations(unit);
          const header = readHeader(unit);
          this.streamHeader = header;
          this.headerLang = header.attr('xml:lang');
          this.handlers.onStreamOpen(header);
          break;
        }
        case C.EV_STREAM_CLOSE:
          this.handlers.onStreamClose();
          break;
        default: {
          const s = this.pointer >> 2;
          const i32 = this.instance.i32;
          this.failure = {
            condition: conditionOf(i32[s + C.S_ERR_CODE]),
            offset: this.instance.f64[(this.pointer + C.S_ERR_OFFSET_BYTE) >> 3],
            message: messageOf(i32[s + C.S_ERR_WHY], this.currentLimits),
          };
          this.handlers.onError(this.failure);
          return false;
        }
      }
    } finally {
      this.generation++;
      this.dispatching = false;
      if (this.freeAfterDispatch) {
        this.freeAfterDispatch = false;
        this.free();
      }
    }
    return !this.interrupted;
  }
}
