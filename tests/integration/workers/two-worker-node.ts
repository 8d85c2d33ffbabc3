// A node with [general] workers = 2 started as a process (`bun server/main.ts`): the
// supervisor and two workers on one plain-TCP c2s port on loopback, accounts created in its
// storage first. Clients log in with SCRAM-SHA-1; which worker took each session is read
// from the workers' log lines (every line names its worker).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../server/config/load.ts';
import { openStorage } from '../../../server/storage/open.ts';
import { deriveCredentials } from '../../../server/auth/credentials.ts';
import { freePort } from '../../helpers/ports.ts';
import { RawClient, STREAM_OPEN } from '../../helpers/raw-client.ts';
import { b64, ScramClient, unb64 } from '../c2s/scram-client.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;
const PASSWORD = 'secret';

export interface Client {
  raw: RawClient;
  jid: string;
  worker: number;
}

export class TwoWorkerNode {
  /** Everything the supervisor and the workers printed. */
  output = '';
  readonly exited: Promise<number | null>;
  private barriers = 0;

  private constructor(
    readonly process: ChildProcess,
    readonly port: number,
    private readonly dir: string,
  ) {
    process.stdout!.on('data', (d: Buffer) => { this.output += d.toString(); });
    process.stderr!.on('data', (d: Buffer) => { this.output += d.toString(); });
    this.exited = new Promise((resolve) => process.once('exit', (code) => resolve(code)));
  }

  /** Creates the accounts (password "secret"), starts the node and waits until it runs. */
  static async start(users: readonly string[]): Promise<TwoWorkerNode> {
    const dir = await mkdtemp(join(tmpdir(), 'meerkat-workers-'));
    const port = await freePort();
    const toml = `[general]
hosts = ["localhost"]
data_dir = ${JSON.stringify(join(dir, 'data'))}
workers = 2

[[listen.c2s]]
port = ${port}
ip_address = "127.0.0.1"
tls = "none"
`;
    const path = join(dir, 'meerkat.toml');
    await writeFile(path, toml);
    const storage = await openStorage(parseConfig(toml, path, {}, { baseDir: dir }).storage);
    const credentials = await deriveCredentials(PASSWORD, { iterations: 4096, hashes: ['SHA-1'] });
    for (const u of users) await storage.users.create('localhost', u, credentials);
    await storage.close();
    const child = spawn(process.execPath, [join(ROOT, 'server/main.ts'), '--config', path], { stdio: ['ignore', 'pipe', 'pipe'] });
    const node = new TwoWorkerNode(child, port, dir);
    await node.until('the node is running', () => node.output.includes('Meerkat is running'), 30_000);
    return node;
  }

  async until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${this.output.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** The worker that logged c2s_session_bound for this JID (the last time). */
  workerOf(jid: string): number | undefined {
    let found: number | undefined;
    for (const line of this.output.split('\n')) {
      if (!line.includes('"c2s_session_bound"') || !line.includes(`"jid":"${jid}"`)) continue;
      found = (JSON.parse(line) as { worker: number }).worker;
    }
    return found;
  }

  workerPids(): number[] {
    const m = /with 2 workers \(pids (\d+), (\d+)\)/.exec(this.output);
    if (!m) throw new Error('no banner');
    return [Number(m[1]), Number(m[2])];
  }

  /** SCRAM-SHA-1, bind, (initial presence), a ping round trip; resolves once the log names its worker. */
  async login(user: string, resource: string, priority = 0, sendPresence = true): Promise<Client> {
    const raw = await RawClient.connect(this.port);
    raw.send(STREAM_OPEN());
    await raw.waitFor('</stream:features>');
    const scram = new ScramClient({ hash: 'SHA-1', username: user, password: PASSWORD });
    raw.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>${b64(scram.first())}</auth>`);
    const challenge = /<challenge[^>]*>([^<]*)<\/challenge>/.exec(await raw.waitFor('</challenge>'))![1];
    raw.send(`<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>${b64(scram.final(unb64(challenge)))}</response>`);
    await raw.waitFor('<success');
    raw.clear();
    raw.send(STREAM_OPEN());
    await raw.waitFor('</stream:features>');
    raw.send(`<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${resource}</resource></bind></iq>`);
    await raw.waitFor('</jid>');
    const jid = `${user}@localhost/${resource}`;
    if (sendPresence) raw.send(`<presence><priority>${priority}</priority></presence>`);
    raw.send("<iq type='get' id='sync'><ping xmlns='urn:xmpp:ping'/></iq>");
    await raw.waitFor("id='sync'");
    raw.clear();
    await this.until(`${jid} bound in the log`, () => this.workerOf(jid) !== undefined);
    return { raw, jid, worker: this.workerOf(jid)! };
  }

  /**
   * Waits until every session announcement sent so far has reached the other worker. The
   * directory is updated asynchronously (as in any cluster); a headline from a client on one
   * worker to one on the other travels on the same ordered link after those announcements.
   * Headlines to a resource that is not found are ignored (RFC 6121), so retries leave
   * nothing behind, and they carry no <body/>.
   */
  async barrier(a: Client, b: Client): Promise<void> {
    for (;;) {
      const n = ++this.barriers;
      a.raw.send(`<message type='headline' to='${b.jid}'><subject>barrier-${n}</subject></message>`);
      b.raw.send(`<message type='headline' to='${a.jid}'><subject>barrier-${n}</subject></message>`);
      try {
        await b.raw.waitFor(`barrier-${n}<`, 500);
        await a.raw.waitFor(`barrier-${n}<`, 500);
        return;
      } catch {
        if (n > 40) throw new Error('the workers never saw each other\'s sessions');
      }
    }
  }

  /** SIGTERM and wait, unless it already ended; then the data directory goes. */
  async stop(): Promise<void> {
    if (this.process.exitCode === null && this.process.signalCode === null) {
      this.process.kill('SIGTERM');
      await this.exited;
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  /** SIGKILL the supervisor and both workers (a test that failed midway), then clean up. */
  async kill(): Promise<void> {
    if (this.process.exitCode === null && this.process.signalCode === null) {
      this.process.kill('SIGKILL');
      for (const pid of this.workerPids()) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
