// A TCP relay between a cluster's link listener and its peers, which the test can cut.

import net from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** Destroys every relayed connection; new ones are still accepted. */
  cut(): void;
  /** Stops accepting and cuts: the far side becomes unreachable. */
  close(): void;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect({ host: '127.0.0.1', port: targetPort });
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cut = (): void => {
    for (const s of [...sockets]) s.destroy();
  };
  return {
    port: (server.address() as net.AddressInfo).port,
    cut,
    close: () => {
      server.close();
      cut();
    },
  };
}
