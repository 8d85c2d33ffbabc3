// The Hono environment of our app: what the runtime passes as the second argument of fetch.

import type { HttpRequestInfo } from '../runtime/types.ts';

export type HttpBindings = { Bindings: HttpRequestInfo | undefined };
