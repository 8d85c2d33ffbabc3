// XEP-0156 discovery: where a web client finds our BOSH and WebSocket endpoints, in the
// XRD (host-meta) and JSON (host-meta.json) forms. The URLs follow the address the client
// used to reach us, so one document serves every domain on this listener.

import { escapeAttribute } from '../xml/escape.ts';

const REL_BOSH = 'urn:xmpp:alt-connections:xbosh';
const REL_WEBSOCKET = 'urn:xmpp:alt-connections:websocket';

export interface AltConnections {
  bosh: string | undefined;
  websocket: string | undefined;
}

export function altConnections(requestUrl: URL, secure: boolean, boshPath: string | undefined, websocketPath: string | undefined): AltConnections {
  const host = requestUrl.host;
  return {
    bosh: boshPath === undefined ? undefined : `${secure ? 'https' : 'http'}://${host}${boshPath}`,
    websocket: websocketPath === undefined ? undefined : `${secure ? 'wss' : 'ws'}://${host}${websocketPath}`,
  };
}

function links(alt: AltConnections): Array<{ rel: string; href: string }> {
  const out: Array<{ rel: string; href: string }> = [];
  if (alt.bosh !== undefined) out.push({ rel: REL_BOSH, href: alt.bosh });
  if (alt.websocket !== undefined) out.push({ rel: REL_WEBSOCKET, href: alt.websocket });
  return out;
}

export function hostMetaXml(alt: AltConnections): string {
  let s = `<?xml version='1.0' encoding='utf-8'?>\n<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>\n`;
  for (const l of links(alt)) s += `  <Link rel='${l.rel}' href='${escapeAttribute(l.href)}'/>\n`;
  return s + '</XRD>\n';
}

export function hostMetaJson(alt: AltConnections): string {
  return JSON.stringify({ links: links(alt) });
}
