/**
 * The root of Slipway's typed errors. Every error a user can meet carries a stable `code` and
 * the context needed to act on it; messages never include secret values.
 */
export class SlipwayError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly context: Readonly<Record<string, unknown>> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}
