// How meerkatctl ends: exit statuses, and one printer for plain lines or --json.

export const EXIT = { ok: 0, failed: 1, usage: 2, config: 3 } as const;

export interface Output {
  /** Prints lines on stdout (or the value as JSON) and returns EXIT.ok. */
  success(value: unknown, lines: readonly string[]): number;
  /** Prints lines on stderr (or the value as JSON on stdout) and returns `code`. */
  failure(value: unknown, lines: readonly string[], code: number): number;
}
