// Where a load's time goes, for profiling (load()'s `trace` option; the page's ?trace, tools/bench/bench_page.mjs
// --phases). Marks are moments on the performance clock (performance.now(), ms) when a phase ended; spans are
// per-chunk steps that overlap each other, so each keeps its summed time, its count and the first start and last
// end. Without a trace object every call is one branch.
const now = () => performance.now();

export class LoadTrace {
  #t;
  /** @param {{marks?:object, spans?:object}|undefined} target  filled in place (the caller's object) */
  constructor(target) {
    this.#t = target && typeof target === 'object' ? target : null;
    if (this.#t) {
      this.#t.marks ??= {};
      this.#t.spans ??= {};
    }
  }

  get on() { return this.#t !== null; }

  mark(name) { if (this.#t) this.#t.marks[name] = now(); }

  /** Start a span; → a function that ends it. */
  begin(name) {
    if (!this.#t) return () => {};
    const t0 = now();
    return () => {
      const t1 = now();
      const s = (this.#t.spans[name] ??= { ms: 0, count: 0, first: t0, last: t1 });
      s.ms += t1 - t0;
      s.count += 1;
      s.first = Math.min(s.first, t0);
      s.last = Math.max(s.last, t1);
    };
  }

  /** fn() (sync or async) timed as one span. */
  time(name, fn) {
    if (!this.#t) return fn();
    const end = this.begin(name);
    let r;
    try { r = fn(); } catch (e) { end(); throw e; }
    if (r && typeof r.then === 'function') return r.finally(end);
    end();
    return r;
  }
}
