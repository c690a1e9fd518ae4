/** Timers whose schedule a rack's parser refuses, each as `timer <name>: <why>`. */
export function scheduleProblems(timers: readonly { readonly name: string; readonly schedule: string }[], parse: (schedule: string) => unknown): string[] {
  const out: string[] = [];
  for (const t of timers) {
    try {
      parse(t.schedule);
    } catch (e) {
      out.push(`timer ${t.name}: ${(e as Error).message}`);
    }
  }
  return out;
}
