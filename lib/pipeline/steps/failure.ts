/**
 * What a caught error says. In the local runner a Catch's `Cause` is the error's message; when a
 * Lambda task fails on AWS, Step Functions puts the Lambda runtime's error document in `Cause`
 * (`{"errorType": …, "errorMessage": …, "trace": […]}`). Steps that report a failure read the
 * message the same way on both racks.
 */
export interface CaughtFailure {
  readonly Error: string;
  readonly Cause: string;
}

export function failureMessage(failure: CaughtFailure | undefined): string | undefined {
  if (!failure) return undefined;
  const cause = failure.Cause;
  if (!cause.startsWith('{')) return cause;
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    return typeof parsed.errorMessage === 'string' ? parsed.errorMessage : cause;
  } catch {
    return cause;
  }
}
