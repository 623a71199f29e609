// Progress of one load: bytes over all chunks, and where they came from.
const STREAM_REPORT_MS = 50;   // byte-level reports during downloads at most this often; chunk ends always

export class LoadProgress {
  #on; #got; #sizes; #total; #sum = 0; #loaded = 0; #cached = 0; #downloaded = 0; #last = 0;

  /** @param {number[]} sizes  bytes of each chunk;  @param {(p:object)=>void} [onProgress] */
  constructor(sizes, onProgress) {
    this.#on = onProgress;
    this.#sizes = sizes;
    this.#got = new Float64Array(sizes.length);
    this.#total = sizes.reduce((a, b) => a + b, 0);
    this.#emit(true);
  }

  get cachedBytes() { return this.#cached; }
  get downloadedBytes() { return this.#downloaded; }

  /** n bytes of chunk i arrived from 'cache' or 'network' (negative: thrown away, e.g. a bad copy). */
  add(i, n, from) {
    this.#got[i] += n;
    this.#sum += n;
    if (from === 'cache') this.#cached += n;
    else if (from === 'network') this.#downloaded += n;
    this.#emit(from === 'cache');
  }

  /** Chunk i is in the engine (a source that reports no bytes of its own counts it whole here). */
  complete(i) {
    const rest = this.#sizes[i] - this.#got[i];
    if (rest > 0) { this.#got[i] += rest; this.#sum += rest; }
    this.#emit(true);
  }

  #emit(force) {
    if (!this.#on) return;
    const now = Date.now();
    if (!force && now - this.#last < STREAM_REPORT_MS) return;
    this.#last = now;
    // One monotone sequence: bytes thrown away are not taken back from `loaded`.
    this.#loaded = Math.min(this.#total, Math.max(this.#loaded, this.#sum));
    this.#on({ loaded: this.#loaded, total: this.#total, cachedBytes: this.#cached, downloadedBytes: this.#downloaded });
  }
}
