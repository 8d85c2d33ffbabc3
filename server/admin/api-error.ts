// Errors of the admin HTTP API as values with one renderer: a status, a stable code and a
// message, rendered as { "error": { code, message, problems? } }.

import type { ArgProblem } from './args.ts';
import type { FailureKind } from './command.ts';

const STATUS: Record<FailureKind, number> = { invalid: 400, not_found: 404, conflict: 409, unavailable: 503 };

export class ApiError {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly message: string,
    readonly problems?: readonly ArgProblem[],
    readonly headers: Record<string, string> = {},
  ) {}

  static fromFailure(kind: FailureKind | 'invalid_arguments', message: string, problems?: readonly ArgProblem[]): ApiError {
    return new ApiError(kind === 'invalid_arguments' ? 400 : STATUS[kind], kind, message, problems);
  }

  toResponse(): Response {
    const error: Record<string, unknown> = { code: this.code, message: this.message };
    if (this.problems) error.problems = this.problems;
    return new Response(JSON.stringify({ error }), {
      status: this.status,
      headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...this.headers },
    });
  }
}

export const notFound = (): ApiError => new ApiError(404, 'not_found', 'no such route');
