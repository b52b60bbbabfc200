/**
 * Small statistics for comparing runs: exact quantiles of a sample and the one-sided Mann-Whitney U test (exact
 * distribution for small samples without ties, normal approximation with tie correction otherwise).
 *
 * @module
 */

/** The `q` quantile (0..1) of a sample by linear interpolation between order statistics; NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** The median of a sample; NaN when empty. */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Result of {@linkcode mannWhitneyGreater}. */
export interface MannWhitneyResult {
  /** U statistic of the second sample (how often a value of `b` beats a value of `a`; ties count half). */
  u: number;
  /** One-sided p-value for "values of `b` tend to be greater than values of `a`". */
  p: number;
  method: "exact" | "normal";
}

/** Midranks (1-based) of the pooled sample. */
function ranks(pooled: number[]): { ranks: number[]; tieTerm: number } {
  const order = pooled.map((v, i) => [v, i] as const).sort((x, y) => x[0] - y[0]);
  const out = new Array<number>(pooled.length);
  let tieTerm = 0;
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[order[k][1]] = rank;
    const t = j - i + 1;
    tieTerm += t * t * t - t;
    i = j + 1;
  }
  return { ranks: out, tieTerm };
}

/** Counts of rank-sum arrangements: `ways[u]` = number of orderings where sample 2 has U = u. */
function exactUDistribution(m: number, n: number): number[] {
  // f[i][j][u]: arrangements of i values of a and j values of b with U_b = u; built up one value at a time.
  let prev: number[][] = [];
  for (let j = 0; j <= n; j++) prev.push([1]);
  for (let i = 1; i <= m; i++) {
    const cur: number[][] = [[1]];
    for (let j = 1; j <= n; j++) {
      // The largest value is either from a (adds nothing to U_b) or from b (beats all i values of a).
      const fromA = prev[j];
      const fromB = cur[j - 1];
      const size = i * j + 1;
      const row = new Array<number>(size).fill(0);
      for (let u = 0; u < fromA.length; u++) row[u] += fromA[u];
      for (let u = 0; u < fromB.length; u++) row[u + i] += fromB[u];
      cur.push(row);
    }
    prev = cur;
  }
  return prev[n];
}

function normalUpperTail(z: number): number {
  // Abramowitz-Stegun 7.1.26 via erfc; accurate to ~1e-7, plenty for a significance decision.
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erfc = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) *
    Math.exp(-x * x);
  return z >= 0 ? erfc / 2 : 1 - erfc / 2;
}

/**
 * One-sided Mann-Whitney U test that `b` is stochastically greater than `a`. Works on any two non-empty samples;
 * with empty input the p-value is 1 (no evidence).
 */
export function mannWhitneyGreater(a: readonly number[], b: readonly number[]): MannWhitneyResult {
  const m = a.length;
  const n = b.length;
  if (m === 0 || n === 0) return { u: 0, p: 1, method: "exact" };
  const { ranks: r, tieTerm } = ranks([...a, ...b]);
  let rankSumB = 0;
  for (let k = m; k < m + n; k++) rankSumB += r[k];
  const u = rankSumB - (n * (n + 1)) / 2;
  if (tieTerm === 0 && m * n <= 2500) {
    const ways = exactUDistribution(m, n);
    let total = 0;
    let tail = 0;
    for (let k = 0; k < ways.length; k++) {
      total += ways[k];
      if (k >= u) tail += ways[k];
    }
    return { u, p: tail / total, method: "exact" };
  }
  const mean = (m * n) / 2;
  const variance = (m * n / 12) * ((m + n + 1) - tieTerm / ((m + n) * (m + n - 1)));
  if (variance <= 0) return { u, p: 1, method: "normal" };
  const z = (u - mean - 0.5) / Math.sqrt(variance);
  return { u, p: normalUpperTail(z), method: "normal" };
}
