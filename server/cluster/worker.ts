// Joins one worker process to the other workers of its node: announces the sessions bound
// here, keeps the directory of theirs, and gives the router a way to reach them.
//
//   worker i listens on <data_dir>/workers/w<i>.sock and dials every other worker's socket.
//   Its own dialled link (outbound) carries what i says: hello, its sessions, stanzas for
//   sessions over there. What another worker dialled (inbound) carries what that one says.
//   When a worker's inbound link closes, all its directory entries go with it.
//   Stanzas may also go back over the inbound link: a worker learns another's sessions
//   from its inbound link, possibly before its own dial to that worker has succeeded.
//
// Two workers binding the same full JID at once: each sees the other's announcement, and the
// one bound later (then the higher worker number) keeps it; the other is closed with
// <conflict/>, as RFC 6120 §7.7.2.2's override policy does within one process.

import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Core } from '../core/node.ts';
import { ANY_HOST } from '../core/hooks.ts';
import { Packet } from '../core/packet.ts';
import type { AudienceOptions, ForwardedCopy, PeerSessions } from '../core/router.ts';
import type { Session } from '../core/sessions.ts';
import { StanzaError, StreamError } from '../errors.ts';
import { parseJid, tryParseJid, type Jid } from '../jid.ts';
import type { Logger } from '../log.ts';
import type { Runtime, TcpListener } from '../runtime/types.ts';
import { WorkerDirectory, type DirectoryEntry } from './directory.ts';
import { WorkerLink } from './link.ts';
import { decodeFrame, encodeAudience, encodeControl, encodeStanza, FRAME_AUDIENCE, FRAME_DOWN, FRAME_HELLO, FRAME_NOTICE, FRAME_STANZA, FRAME_UP, type Frame } from './frames.ts';
import { RawStanzaView } from './raw-stanza.ts';

export interface WorkerIdentity {
  /** 0 .. count-1 */
  index: number;
  count: number;
}

export interface JoinOptions extends WorkerIdentity {
  core: Core;
  runtime: Runtime;
  dataDir: string;
  log: Logger;
  /** Time between attempts to dial a worker that is not (yet) listening. */
  redialMs?: number;
}

export interface WorkerGroup {
  readonly directory: WorkerDirectory;
  /** Workers whose link to us and ours to them are both up. */
  connectedPeers(): number[];
  stop(): Promise<void>;
}

const CONNECT_TIMEOUT_MS = 2000;
const ANNOUNCE_PRIORITY = 1;

export function workerSocketPath(dataDir: string, index: number): string {
  return join(resolve(dataDir), 'workers', `w${index}.sock`);
}

export async function joinWorkers(o: JoinOptions): Promise<WorkerGroup> {
  const { core, runtime, log, index } = o;
  if (runtime.listenUnix === undefined || runtime.connectUnix === undefined) throw new Error(`runtime ${runtime.name} has no unix-domain sockets for worker links`);
  const listenUnix = runtime.listenUnix.bind(runtime);
  const connectUnix = runtime.connectUnix.bind(runtime);
  const redialMs = o.redialMs ?? 200;
  const incarnation = randomBytes(8).toString('hex');
  const directory = new WorkerDirectory();
  const boundAt = new WeakMap<Session, number>();
  const outbound = new Map<number, WorkerLink>();
  const inbound = new Map<number, WorkerLink>();
  const metrics = core.metrics;
  let stopping = false;

  metrics.describe('worker_stanzas_forwarded_total', 'Stanzas this worker handed to another worker of the node.');
  metrics.describe('worker_stanzas_received_total', 'Stanzas other workers of the node handed to this one.');
  metrics.describe('worker_forward_failures_total', 'Stanzas that could not be handed to another worker (link down or too far behind).');
  metrics.describe('worker_notice_failures_total', 'Notices (a cached list changed, an account was removed) that could not be handed to another worker.');
  metrics.gauge('worker_peer_sessions', () => [...directory.counts().values()].reduce((a, b) => a + b, 0));

  // --- what we say: our sessions
  const announce = (session: Session): Uint8Array => encodeControl({
    type: FRAME_UP,
    jid: session.jid.toString(),
    priority: session.priority,
    available: session.available,
    since: boundAt.get(session) ?? Date.now(),
  });
  const broadcast = (frame: Uint8Array): void => {
    for (const link of outbound.values()) link.send(frame);
  };
  // First of their hooks: the announcement goes out on the link before any stanza a module
  // sends because of the same change (a presence broadcast), so the other workers have the
  // new state when those stanzas arrive.
  const removeHooks = [
    core.hooks.add('session_opened', ANY_HOST, ({ session }) => {
      boundAt.set(session, Date.now());
      broadcast(announce(session));
    }, ANNOUNCE_PRIORITY),
    core.hooks.add('user_available', ANY_HOST, ({ session }) => broadcast(announce(session)), ANNOUNCE_PRIORITY),
    core.hooks.add('unset_presence', ANY_HOST, ({ session }) => broadcast(announce(session)), ANNOUNCE_PRIORITY),
    core.hooks.add('session_closed', ANY_HOST, ({ session }) => broadcast(encodeControl({ type: FRAME_DOWN, jid: session.jid.toString() })), ANNOUNCE_PRIORITY),
  ];

  // --- stanzas to sessions of other workers
  const forward = (entry: DirectoryEntry, packet: Packet, copy: ForwardedCopy): void => {
    const link = outbound.get(entry.worker) ?? inbound.get(entry.worker);
    let sent = false;
    if (link !== undefined) {
      const from = packet.from.toString();
      const to = packet.to.toString();
      const frame = encodeStanza({
        hops: packet.hops,
        copy,
        kind: packet.kind,
        target: entry.jid.toString(),
        from,
        to,
        stanzaType: packet.type,
        id: packet.id,
      }, packet.bytesFor({ from, to }));
      sent = link.send(frame);
    }
    if (sent) {
      metrics.inc('worker_stanzas_forwarded_total');
      return;
    }
    metrics.inc('worker_forward_failures_total');
    log.warn('worker_forward_failed', { peer: entry.worker, to: entry.jid.toString(), kind: packet.kind, linked: link !== undefined });
    // A copy that was one of several: the others were sent. A sole copy comes back as an error.
    if (copy === 'sole') core.router.bounce(packet, new StanzaError('service-unavailable', { text: 'the recipient\'s worker process is not reachable' }));
  };
  // One frame per worker holding sessions of the account (other than those left out); the
  // audience is evaluated there. Each is a copy for several resources: a worker that cannot
  // be reached is logged and counted, and the stanza is not bounced (others got it, or it
  // was a notification such as a roster push whose change is stored).
  const forwardToAudience = (user: Jid, audience: string, packet: Packet, options: AudienceOptions): void => {
    const except = options.except ?? [];
    const workers = new Set<number>();
    for (const entry of directory.resources(user)) {
      if (!except.some((j) => j.equals(entry.jid))) workers.add(entry.worker);
    }
    if (workers.size === 0) return;
    const from = packet.from.toString();
    const to = packet.to.toString();
    const frame = encodeAudience({
      hops: packet.hops,
      kind: packet.kind,
      user: user.bare().toString(),
      audience,
      from,
      to,
      stanzaType: packet.type,
      id: packet.id,
      except: except.map((j) => j.toString()),
      keepTo: options.keepTo === true,
    }, packet.bytesFor({ from, to }));
    for (const worker of workers) {
      const link = outbound.get(worker) ?? inbound.get(worker);
      if (link !== undefined && link.send(frame)) {
        metrics.inc('worker_stanzas_forwarded_total');
        continue;
      }
      metrics.inc('worker_forward_failures_total');
      log.warn('worker_forward_failed', { peer: worker, to: user.toString(), audience, kind: packet.kind, linked: link !== undefined });
    }
  };
  const peers: PeerSessions = {
    resources: (bare) => directory.resources(bare),
    get: (full) => directory.get(full),
    forward: (session, packet, copy) => forward(session as DirectoryEntry, packet, copy),
    forwardToAudience,
  };
  core.router.setPeerSessions(peers);

  // Notices go to every other worker, on whichever link to it is up.
  core.notices.setTransport((host, topic, data) => {
    const frame = encodeControl({ type: FRAME_NOTICE, host, topic, data });
    for (let j = 0; j < o.count; j++) {
      if (j === index) continue;
      const link = outbound.get(j) ?? inbound.get(j);
      if (link !== undefined && link.send(frame)) continue;
      metrics.inc('worker_notice_failures_total');
      log.warn('worker_notice_failed', { peer: j, host, topic, linked: link !== undefined });
    }
  });

  // --- what the others say
  const received = (peer: { worker: number | undefined }, link: WorkerLink, body: Uint8Array): void => {
    let frame: Frame;
    try {
      frame = decodeFrame(body);
    } catch (err) {
      log.warn('worker_link_bad_frame', { peer: peer.worker, error: err });
      link.close();
      if (peer.worker !== undefined && inbound.get(peer.worker) === link) {
        inbound.delete(peer.worker);
        directory.dropWorker(peer.worker);
      }
      return;
    }
    if (frame.type === FRAME_HELLO) {
      if (!Number.isInteger(frame.worker) || frame.worker < 0 || frame.worker >= o.count || frame.worker === index) {
        log.warn('worker_link_refused', { worker: frame.worker });
        link.close();
        return;
      }
      peer.worker = frame.worker;
      const older = inbound.get(frame.worker);
      inbound.set(frame.worker, link);
      older?.close();
      const dropped = directory.dropWorker(frame.worker);
      log.info('worker_link_up', { peer: frame.worker, incarnation: frame.incarnation, dropped });
      // It is up (again): dial it now rather than at the next retry.
      if (!outbound.has(frame.worker)) dialNow(frame.worker);
      return;
    }
    const worker = peer.worker;
    if (worker === undefined) {
      link.close();
      return;
    }
    switch (frame.type) {
      case FRAME_UP:
        if (directory.up(worker, frame.jid, frame.priority, frame.available, frame.since)) resolveConflict(worker, frame.jid, frame.since);
        return;
      case FRAME_DOWN:
        directory.down(worker, frame.jid);
        return;
      case FRAME_NOTICE:
        core.notices.receive(frame.host, frame.topic, frame.data);
        return;
      case FRAME_STANZA: {
        const from = tryParseJid(frame.from);
        const to = tryParseJid(frame.to);
        const target = tryParseJid(frame.target);
        if (from === undefined || to === undefined || target === undefined) return;
        metrics.inc('worker_stanzas_received_total');
        const view = new RawStanzaView(frame.kind, frame.bytes, { from: frame.from, to: frame.to, type: frame.stanzaType, id: frame.id });
        const packet = Packet.fromView(view, from, to);
        // Crossing to another worker is one routing step.
        packet.hops = frame.hops + 1;
        try {
          core.router.routeFromPeer(packet, target, frame.copy);
        } catch (err) {
          log.warn('worker_stanza_failed', { peer: worker, to: frame.target, error: err });
        }
        return;
      }
      case FRAME_AUDIENCE: {
        const from = tryParseJid(frame.from);
        const to = tryParseJid(frame.to);
        const user = tryParseJid(frame.user);
        const except: Jid[] = [];
        for (const text of frame.except) {
          const jid = tryParseJid(text);
          if (jid !== undefined) except.push(jid);
        }
        if (from === undefined || to === undefined || user === undefined || user.local === '') return;
        metrics.inc('worker_stanzas_received_total');
        const view = new RawStanzaView(frame.kind, frame.bytes, { from: frame.from, to: frame.to, type: frame.stanzaType, id: frame.id });
        const packet = Packet.fromView(view, from, to);
        packet.hops = frame.hops + 1;
        try {
          core.router.routeAudienceFromPeer(packet, user.bare(), frame.audience, { except, keepTo: frame.keepTo });
        } catch (err) {
          log.warn('worker_stanza_failed', { peer: worker, to: frame.user, audience: frame.audience, error: err });
        }
        return;
      }
    }
  };

  const resolveConflict = (worker: number, jidText: string, since: number): void => {
    const local = core.sessions.get(parseJid(jidText));
    if (local === undefined) return;
    const mine = boundAt.get(local) ?? 0;
    if (since > mine || (since === mine && worker > index)) {
      core.sessions.remove(local, 'replaced');
      local.close(new StreamError('conflict', { text: 'Replaced by new connection' }));
    }
  };

  const socketPath = workerSocketPath(o.dataDir, index);
  await mkdir(join(resolve(o.dataDir), 'workers'), { recursive: true, mode: 0o700 });
  await rm(socketPath, { force: true });
  const listener: TcpListener = await listenUnix(socketPath, (conn) => {
    const peer: { worker: number | undefined } = { worker: undefined };
    const link: WorkerLink = new WorkerLink(conn, {
      frame: (body) => received(peer, link, body),
      closed: () => {
        const w = peer.worker;
        if (w === undefined || inbound.get(w) !== link) return;
        inbound.delete(w);
        const dropped = directory.dropWorker(w);
        log.info('worker_link_down', { peer: w, dropped });
      },
    });
  });

  // --- dialling the others
  const retry = new Map<number, ReturnType<typeof setTimeout>>();
  const dialling = new Set<number>();
  const dial = (peerIndex: number): void => {
    if (stopping || dialling.has(peerIndex) || outbound.has(peerIndex)) return;
    dialling.add(peerIndex);
    let settled = false;
    const giveUp = setTimeout(() => {
      if (settled) return;
      settled = true;
      dialling.delete(peerIndex);
      later(peerIndex);
    }, CONNECT_TIMEOUT_MS);
    connectUnix(workerSocketPath(o.dataDir, peerIndex)).then((conn) => {
      if (settled || stopping) {
        conn.destroy();
        return;
      }
      settled = true;
      clearTimeout(giveUp);
      dialling.delete(peerIndex);
      const peer = { worker: peerIndex as number | undefined };
      const link: WorkerLink = new WorkerLink(conn, {
        // Only stanzas come back this way (see the top of this file).
        frame: (body) => received(peer, link, body),
        closed: () => {
          if (outbound.get(peerIndex) === link) outbound.delete(peerIndex);
          later(peerIndex);
        },
      });
      outbound.set(peerIndex, link);
      link.send(encodeControl({ type: FRAME_HELLO, worker: index, incarnation }));
      for (const session of core.sessions.all()) link.send(announce(session));
    }, () => {
      if (settled) return;
      settled = true;
      clearTimeout(giveUp);
      dialling.delete(peerIndex);
      later(peerIndex);
    });
  };
  const later = (peerIndex: number): void => {
    if (stopping || retry.has(peerIndex)) return;
    retry.set(peerIndex, setTimeout(() => {
      retry.delete(peerIndex);
      dial(peerIndex);
    }, redialMs));
  };
  function dialNow(peerIndex: number): void {
    const t = retry.get(peerIndex);
    if (t !== undefined) clearTimeout(t);
    retry.delete(peerIndex);
    dial(peerIndex);
  }
  for (let j = 0; j < o.count; j++) if (j !== index) dial(j);

  return {
    directory,
    connectedPeers: () => [...outbound.keys()].filter((j) => inbound.has(j)).sort((a, b) => a - b),
    async stop() {
      stopping = true;
      for (const t of retry.values()) clearTimeout(t);
      retry.clear();
      core.router.setPeerSessions(undefined);
      core.notices.setTransport(undefined);
      for (const remove of removeHooks) remove();
      listener.stop();
      for (const link of outbound.values()) link.close();
      for (const link of inbound.values()) link.close();
      outbound.clear();
      inbound.clear();
      await rm(socketPath, { force: true });
    },
  };
}
