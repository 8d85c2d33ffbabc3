// Makes TLS clients in this test process trust a test CA, the in-process equivalent of
// starting the process with NODE_EXTRA_CA_CERTS (which is read only at start-up).
// Client libraries that call tls.connect without a `ca` option (xmpp.js) then verify
// the test server's certificate against the system roots plus this CA, as they would
// in a deployment.

import tls from 'node:tls';

const extra = new Set<string>();
let patched = false;

export function trustCa(caPem: string): void {
  extra.add(caPem);
  if (patched) return;
  patched = true;
  const original = tls.connect;
  const withCa = (options: tls.ConnectionOptions): tls.ConnectionOptions =>
    options.ca ? options : { ...options, ca: [...tls.rootCertificates, ...extra] };
  (tls as { connect: unknown }).connect = function connect(...args: unknown[]) {
    const i = args.findIndex((a) => typeof a === 'object' && a !== null);
    if (i >= 0) args[i] = withCa(args[i] as tls.ConnectionOptions);
    else args.push(withCa({}));
    return (original as (...a: unknown[]) => tls.TLSSocket)(...args);
  };
}
