// Structured logging: one JSON line per event, with an event name in `what`.
// Stanza bodies belong at debug level only, passwords never.

export type LogLevel = 'debug' | 'info' | 'warning' | 'error' | 'none';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warning: 30, error: 40, none: 100 };

export type LogContext = Record<string, unknown>;
export type LogSink = (line: string) => void;

export class Logger {
  private threshold: number;
  private sink: LogSink;
  private readonly base: LogContext;

  constructor(level: LogLevel = 'info', sink: LogSink = defaultSink, base: LogContext = {}) {
    this.threshold = ORDER[level];
    this.sink = sink;
    this.base = base;
  }

  get level(): LogLevel {
    for (const [name, n] of Object.entries(ORDER)) if (n === this.threshold) return name as LogLevel;
    return 'info';
  }

  setLevel(level: LogLevel): void {
    this.threshold = ORDER[level];
  }

  setSink(sink: LogSink): void {
    this.sink = sink;
  }

  enabled(level: LogLevel): boolean {
    return ORDER[level] >= this.threshold;
  }

  /** A logger that adds fixed context (e.g. { host }) to every line and shares level and sink. */
  child(base: LogContext): Logger {
    const parent = this;
    const child = new Logger('info', (line) => parent.sink(line), { ...this.base, ...base });
    // The child follows the parent's level at call time.
    child.enabled = (level: LogLevel) => parent.enabled(level);
    return child;
  }

  debug(what: string, ctx?: LogContext): void { this.write('debug', what, ctx); }
  info(what: string, ctx?: LogContext): void { this.write('info', what, ctx); }
  warn(what: string, ctx?: LogContext): void { this.write('warning', what, ctx); }
  error(what: string, ctx?: LogContext): void { this.write('error', what, ctx); }

  private write(level: LogLevel, what: string, ctx?: LogContext): void {
    if (!this.enabled(level)) return;
    const record: LogContext = { time: new Date().toISOString(), level, what, ...this.base };
    if (ctx) for (const key in ctx) record[key] = normalize(ctx[key]);
    let line: string;
    try {
      line = JSON.stringify(record);
    } catch {
      line = JSON.stringify({ time: record.time, level, what, note: 'context not serializable' });
    }
    this.sink(line);
  }
}

function normalize(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  if (typeof value === 'bigint') return value.toString();
  return value;
}

function defaultSink(line: string): void {
  process.stderr.write(line + '\n');
}

/** The process-wide logger. Tests may swap its sink to capture lines. */
export const logger = new Logger((process.env.MEERKAT_LOG_LEVEL as LogLevel | undefined) ?? 'info');
