// The training curve of a head as a self-contained SVG: loss (left) and accuracy (right) per epoch, training and
// validation. Pure string building (no DOM, no dependency), so the CLI writes it and a page can show it as is.

const W = 360, H = 240, PAD = { l: 48, r: 12, t: 28, b: 36 };
const COLORS = { train: '#1f77b4', val: '#d62728' };

const fmt = (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** One panel: series [{ name, points: [[epoch, value]] }] on shared axes, at x offset `ox`. */
function panel(ox, title, series, { lo, hi, epochs }) {
  const pw = W - PAD.l - PAD.r, ph = H - PAD.t - PAD.b;
  const x = (e) => ox + PAD.l + (epochs > 1 ? ((e - 1) / (epochs - 1)) * pw : pw / 2);
  const y = (v) => PAD.t + (hi > lo ? (1 - (v - lo) / (hi - lo)) : 0.5) * ph;
  const out = [`<text x="${ox + PAD.l + pw / 2}" y="16" text-anchor="middle" font-weight="bold">${esc(title)}</text>`,
    `<rect x="${ox + PAD.l}" y="${PAD.t}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`];
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    out.push(`<text x="${ox + PAD.l - 4}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${fmt(v)}</text>`);
    if (i > 0 && i < 4) out.push(`<line x1="${ox + PAD.l}" x2="${ox + PAD.l + pw}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#eee"/>`);
  }
  out.push(`<text x="${ox + PAD.l}" y="${H - PAD.b + 16}" text-anchor="middle">1</text>`,
    `<text x="${ox + PAD.l + pw}" y="${H - PAD.b + 16}" text-anchor="middle">${epochs}</text>`,
    `<text x="${ox + PAD.l + pw / 2}" y="${H - 6}" text-anchor="middle">epoch</text>`);
  for (const s of series) {
    if (!s.points.length) continue;
    const d = s.points.map(([e, v], i) => `${i ? 'L' : 'M'}${x(e).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${COLORS[s.name]}" stroke-width="1.5"><title>${s.name}</title></path>`);
  }
  return out.join('\n');
}

/**
 * history: [{ epoch, trainLoss, trainAcc, valLoss?, valAcc? }] (trainHead's) → SVG text. Validation lines are
 * drawn when the records have them.
 */
export function curveSvg(history, { title = 'head training' } = {}) {
  const epochs = history.length ? history.at(-1).epoch : 1;
  const pts = (key) => history.filter((r) => Number.isFinite(r[key])).map((r) => [r.epoch, r[key]]);
  const losses = [...pts('trainLoss'), ...pts('valLoss')].map(([, v]) => v);
  const hiLoss = losses.length ? Math.max(...losses) : 1;
  const loss = panel(0, 'loss', [{ name: 'train', points: pts('trainLoss') }, { name: 'val', points: pts('valLoss') }], { lo: 0, hi: hiLoss > 0 ? hiLoss : 1, epochs });
  const acc = panel(W, 'accuracy', [{ name: 'train', points: pts('trainAcc') }, { name: 'val', points: pts('valAcc') }], { lo: 0, hi: 1, epochs });
  const legend = [['train', 'training'], ['val', 'validation']].map(([k, label], i) =>
    `<line x1="${2 * W - 190 + i * 95}" x2="${2 * W - 172 + i * 95}" y1="${H + 12}" y2="${H + 12}" stroke="${COLORS[k]}" stroke-width="2"/>` +
    `<text x="${2 * W - 168 + i * 95}" y="${H + 16}">${label}</text>`).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H + 24}" viewBox="0 0 ${2 * W} ${H + 24}" ` +
    `font-family="sans-serif" font-size="11">\n<title>${esc(title)}</title>\n<rect width="100%" height="100%" fill="white"/>\n` +
    `${loss}\n${acc}\n${legend}\n</svg>\n`;
}
