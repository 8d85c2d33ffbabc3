// Reports a helper process (a slixmpp script) prints as JSON lines on stdout, read as they
// arrive: next() waits for the first report that matches and was not taken yet, and fails
// as soon as the process has exited (or reported one of the `fatal` events) without it.

import type { ChildProcess } from 'node:child_process';

export interface Report {
  event: string;
  [field: string]: unknown;
}

export class JsonLines {
  private readonly lines: Report[] = [];
  private waiters: Array<() => void> = [];

  constructor(proc: ChildProcess, private readonly fatal: readonly string[] = []) {
    let partial = '';
    proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      partial += chunk;
      const parts = partial.split('\n');
      partial = parts.pop()!;
      for (const line of parts) if (line.trim()) this.lines.push(JSON.parse(line) as Report);
      this.wake();
    });
    proc.on('exit', () => {
      this.lines.push({ event: 'exit' });
      this.wake();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  async next(match: string | ((r: Report) => boolean), timeoutMs = 15_000): Promise<Report> {
    const test = typeof match === 'string' ? (r: Report) => r.event === match : match;
    const what = typeof match === 'string' ? match : 'the expected report';
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.lines.findIndex(test);
      if (i >= 0) return this.lines.splice(i, 1)[0]!;
      if (this.lines.some((r) => r.event === 'exit' || this.fatal.includes(r.event))) {
        throw new Error(`the process ended before ${what}: ${JSON.stringify(this.lines)}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(this.lines)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }
}
