/**
 * The upload progress bar, on stderr so that stdout stays clean for `--id` and JSON. On a
 * terminal it redraws one line; elsewhere (CI logs) it prints a line at each quarter instead of
 * hundreds of carriage returns.
 */
export interface ProgressStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
}

const WIDTH = 30;

export function mib(bytes: number): string {
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export function progressBar(out: ProgressStream, label: string): { update(sent: number, total: number): void; done(total: number): void } {
  let lastQuarter = -1;
  let finished = false;
  const draw = (sent: number, total: number): void => {
    const ratio = total > 0 ? Math.min(1, sent / total) : 1;
    if (out.isTTY) {
      const filled = Math.round(ratio * WIDTH);
      out.write(`\r${label} [${'#'.repeat(filled)}${' '.repeat(WIDTH - filled)}] ${String(Math.round(ratio * 100)).padStart(3)}% ${mib(sent)}/${mib(total)}`);
      return;
    }
    const quarter = Math.floor(ratio * 4);
    if (quarter === lastQuarter) return;
    lastQuarter = quarter;
    out.write(`${label} ${quarter * 25}% of ${mib(total)}\n`);
  };
  return {
    update: (sent, total) => {
      if (!finished) draw(sent, total);
    },
    done: (total) => {
      if (finished) return;
      draw(total, total);
      finished = true;
      if (out.isTTY) out.write('\n');
    },
  };
}
