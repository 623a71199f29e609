// A small progress bar for the CLI, drawn on stderr only when it is a terminal (logs and pipes stay clean).
export class ProgressBar {
  constructor({ label = '', total = 0, stream = process.stderr, unit = '', force = false } = {}) {
    this.label = label; this.total = total; this.stream = stream; this.unit = unit;
    this.enabled = force || !!stream.isTTY;
    this.value = 0; this.start = Date.now(); this.last = 0;
  }
  update(value, total = this.total) {
    this.value = value; this.total = total;
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 80 && value < total) return;
    this.last = now;
    const width = 28;
    const frac = total > 0 ? Math.min(1, value / total) : 0;
    const filled = Math.round(frac * width);
    const secs = (now - this.start) / 1000;
    const fmt = this.unit === 'B' ? (n) => `${(n / 1048576).toFixed(1)} MiB` : (n) => String(n);
    const eta = frac > 0 && frac < 1 ? ` eta ${Math.ceil((secs / frac) * (1 - frac))}s` : '';
    this.stream.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${fmt(value)}/${fmt(total)} ${(frac * 100).toFixed(0)}%${eta}\x1b[K`);
  }
  done() {
    if (this.enabled) this.stream.write('\n');
    this.enabled = false;
  }
}
