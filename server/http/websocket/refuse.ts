// Ending a WebSocket on which no stream runs yet (refused by the guard, or cut before its
// first frame chose a stream): RFC 7395 framing all the same — our <open/>, the stream
// error, <close/>, then the close frame — so a client learns why, as it would on TCP.

import { randomBytes } from 'node:crypto';
import type { StreamErrorCondition } from '../../errors.ts';
import { NS_FRAMING } from '../../ns.ts';
import type { WebSocketConnection } from '../../runtime/types.ts';
import { streamErrorXml, websocketOpen } from '../../streams/header.ts';

export function refuseWebSocket(conn: WebSocketConnection, from: string | undefined, condition: StreamErrorCondition, text: string): void {
  conn.send(websocketOpen({ id: randomBytes(12).toString('base64url'), from, lang: 'en' }));
  conn.send(streamErrorXml(condition, text, 'websocket'));
  conn.send(`<close xmlns='${NS_FRAMING}'/>`);
  conn.close(1000);
}
