import { describe, expect, test } from 'bun:test';
import { AuthFailureBudget, DEFAULT_AUTH_FAILURE_LIMIT } from '../../../server/auth/sasl/index.ts';

describe('AuthFailureBudget', () => {
  test('three failures by default, then the stream closes with policy-violation', () => {
    const budget = new AuthFailureBudget();
    expect(budget.limit).toBe(DEFAULT_AUTH_FAILURE_LIMIT);
    expect(budget.limit).toBe(3);
    expect(budget.recordFailure()).toEqual({ action: 'retry', remaining: 2 });
    expect(budget.recordFailure()).toEqual({ action: 'retry', remaining: 1 });
    expect(budget.exhausted).toBe(false);
    expect(budget.recordFailure()).toEqual({ action: 'close-stream', condition: 'policy-violation' });
    expect(budget.exhausted).toBe(true);
    expect(budget.remaining).toBe(0);
    expect(budget.failureCount).toBe(3);
  });

  test('a custom limit of one closes on the first failure', () => {
    const budget = new AuthFailureBudget(1);
    expect(budget.remaining).toBe(1);
    expect(budget.recordFailure().action).toBe('close-stream');
  });

  test('keeps saying close-stream if the caller records more', () => {
    const budget = new AuthFailureBudget(1);
    budget.recordFailure();
    expect(budget.recordFailure().action).toBe('close-stream');
    expect(budget.remaining).toBe(0);
  });

  test('refuses a limit that is not a positive integer', () => {
    expect(() => new AuthFailureBudget(0)).toThrow(RangeError);
    expect(() => new AuthFailureBudget(2.5)).toThrow(RangeError);
  });
});
