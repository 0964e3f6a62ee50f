import { expect } from 'vitest';
import { RunpodError } from '../../src/runpod/errors.js';

/** The RunpodError `promise` rejects with; fails the test when it resolves or rejects with anything else. */
export async function runpodError(promise: Promise<unknown>): Promise<RunpodError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RunpodError);
  return error as RunpodError;
}
