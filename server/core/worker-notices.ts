// Notices between the workers of one node: "alice's block list changed", "the account bob
// was removed". Each worker runs the same modules, and some keep per-account state in memory
// (a cached block list, archive preferences) or hold sessions of an account another worker
// just removed. A module publishes a notice after the change is stored; every *other* worker
// runs its handlers for the same host and topic (drop the cached copy, close the sessions).
//
// With one process there is nobody to tell: publish does nothing. Between workers a notice
// is one control frame on the worker links (server/cluster/worker.ts), in order with the
// stanzas sent before it. A worker that is not linked at the moment misses it; it has no
// state to correct when it starts (again), because it starts with empty caches.

import type { Logger } from '../log.ts';

export type NoticeHandler = (data: string) => void;

/** How notices leave this process (set by a worker of a multi-process node). */
export type NoticeTransport = (host: string, topic: string, data: string) => void;

export class WorkerNotices {
  private transport: NoticeTransport | undefined;
  private readonly handlers = new Map<string, Map<string, readonly NoticeHandler[]>>();
  private readonly log: Logger;

  constructor(log: Logger) {
    this.log = log;
  }

  setTransport(transport: NoticeTransport | undefined): void {
    this.transport = transport;
  }

  /** Tells every other worker of the node; nothing happens in this process. */
  publish(host: string, topic: string, data: string): void {
    this.transport?.(host, topic, data);
  }

  /** Runs `handler` for notices of this host and topic from other workers; returns the removal. */
  subscribe(host: string, topic: string, handler: NoticeHandler): () => void {
    let topics = this.handlers.get(host);
    if (topics === undefined) this.handlers.set(host, (topics = new Map()));
    topics.set(topic, [...(topics.get(topic) ?? []), handler]);
    return () => {
      const list = topics.get(topic);
      if (list === undefined) return;
      const next = list.filter((h) => h !== handler);
      if (next.length === 0) topics.delete(topic);
      else topics.set(topic, next);
    };
  }

  /** A notice another worker published. A handler that throws is logged; the others still run. */
  receive(host: string, topic: string, data: string): void {
    for (const handler of this.handlers.get(host)?.get(topic) ?? []) {
      try {
        handler(data);
      } catch (err) {
        this.log.warn('worker_notice_handler_failed', { host, topic, error: err });
      }
    }
  }
}
