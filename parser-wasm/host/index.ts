// Public entry point of the tokenizer host.

export { XmlStream } from './stream.ts';
export { DEFAULT_LIMITS, PREAUTH_LIMITS } from './limits.ts';
export { createTokenizer, sharedTokenizer, TokenizerInstance } from './wasm.ts';
export type { TokenizerBuild, TokenizerExports } from './wasm.ts';
export type * from './types.ts';
