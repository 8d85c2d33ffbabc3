// The JavaScript peers measured in the runner's own process (Bun). node-expat is not
// here: it only loads under Node and is measured in a child process.

import type { ParserAdapter } from '../adapter.ts';
import { htmlparser2 } from './htmlparser2.ts';
import { ltx } from './ltx.ts';
import { saxJs } from './sax.ts';
import { saxWasm } from './sax-wasm.ts';
import { saxes } from './saxes.ts';
import { txml } from './txml.ts';
import { xmppXml } from './xmpp-xml.ts';

export const PEERS: readonly ParserAdapter[] = [ltx, xmppXml, saxes, saxJs, htmlparser2, saxWasm, txml];
