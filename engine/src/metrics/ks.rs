//! Forget quality's two-sample Kolmogorov–Smirnov test (spec §5.5): FQ is the p-value of
//! `scipy.stats.ks_2samp(x, y)` (two-sided, method "auto") between the unlearned model's and the
//! retain model's per-item truth ratios.
//!
//! This is a port of scipy 1.14.1 that keeps its floating-point operation order:
//! * `ks_2samp`: D from the ECDFs over the pooled values (`np.searchsorted(side="right")`);
//!   "auto" is exact when `max(n1, n2) <= 10000`. The exact path rounds D to `h / lcm(n1, n2)`
//!   (scipy also reports this rounded D) and evaluates `_compute_prob_outside_square` for equal
//!   sizes or the pythran `_compute_outer_prob_inside_method` (Viehmann's recursion for 1 − p)
//!   otherwise. If that p is not in [0, 1], scipy warns and switches to "asymp", as here. This
//!   happens for equal sizes and small h, where the Horner loop can return 1 + 2⁻⁵² (n = 30,
//!   h = 1; n = 69, h = 2; ...).
//! * "asymp" is `kstwo.sf(D, round_half_even(n1·n2 / (n1 + n2)))`, i.e. `_ksstats._kolmogn`
//!   with its Ruben–Gambino, Durbin (Marsaglia–Tsang–Wang), Pomeranz and Pelz–Good branches,
//!   and `scipy.special.smirnov` (xsf's double-double sums) for large D.
//!
//! Where numpy silently promotes to `long double` (the tails of Durbin and Pomeranz, after
//! rescaling by 2¹²⁸), this port uses double-double arithmetic. BLAS and SIMD summation orders
//! are not reproduced, so the asymptotic p-values agree to about 1e-12 relative (the Pomeranz
//! branch, where sf = 1 − cdf cancels) and mostly to the last bit; the exact ones to the last bit.

use std::f64::consts::{LN_2, PI};

/// The outcome of a two-sided two-sample KS test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KsResult {
    /// The KS statistic D; on the exact path scipy's rounded `h / lcm(n1, n2)`.
    pub statistic: f64,
    /// The two-sided p-value, clipped to [0, 1].
    pub pvalue: f64,
    /// Whether the exact distribution was used.
    pub exact: bool,
}

/// Sample sizes up to which "auto" tries the exact distribution.
const MAX_AUTO_N: usize = 10_000;

/// `scipy.stats.ks_2samp(x, y)` (two-sided, method "auto"). Returns None if either sample is
/// empty or contains NaN.
#[must_use]
pub fn ks_2samp(x: &[f64], y: &[f64]) -> Option<KsResult> {
    if x.is_empty() || y.is_empty() || x.iter().chain(y).any(|v| v.is_nan()) {
        return None;
    }
    let mut a = x.to_vec();
    let mut b = y.to_vec();
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let d = ecdf_statistic(&a, &b);
    let (n1, n2) = (i64::try_from(a.len()).ok()?, i64::try_from(b.len()).ok()?);
    if a.len().max(b.len()) > MAX_AUTO_N {
        return Some(asymptotic(d, n1, n2));
    }
    // `_attempt_exact_2kssamp`.
    let g = gcd(n1, n2);
    let lcm = (n1 / g) * n2;
    let h = trunc_i64((d * f_i(lcm)).round_ties_even());
    let d = f_i(h) / f_i(lcm);
    if h == 0 {
        return Some(KsResult {
            statistic: d,
            pvalue: 1.0,
            exact: true,
        });
    }
    let prob = if n1 == n2 {
        prob_outside_square(n1, h)
    } else {
        outer_prob_inside(n1, n2, g, h)
    };
    if (0.0..=1.0).contains(&prob) {
        return Some(KsResult {
            statistic: d,
            pvalue: prob,
            exact: true,
        });
    }
    // "Exact calculation unsuccessful. Switching to method=asymp", with the rounded D.
    Some(asymptotic(d, n1, n2))
}

/// `kstwo.sf(d, n)`: the survival function of the one-sample two-sided KS statistic.
#[must_use]
pub fn kstwo_sf(d: f64, n: usize) -> f64 {
    i64::try_from(n).map_or(f64::NAN, |n| kstwo_sf_i(d, n))
}

/// `rv_continuous.sf` for `kstwo`: support `(0.5 / n, 1)`, NaN for a bad n or d.
fn kstwo_sf_i(d: f64, n: i64) -> f64 {
    if n < 1 || d.is_nan() {
        return f64::NAN;
    }
    if d <= 0.5 / f_i(n) {
        return 1.0;
    }
    if d >= 1.0 {
        return 0.0;
    }
    kolmogn_sf(n, d)
}

/// `max(max(cdf1 - cdf2), clip(-min(cdf1 - cdf2), 0, 1))` over the pooled values of the sorted
/// samples, the ECDFs counting values `<= v` like `np.searchsorted(side="right")`.
fn ecdf_statistic(a: &[f64], b: &[f64]) -> f64 {
    let (n1, n2) = (f_u(a.len()), f_u(b.len()));
    let (mut max_s, mut min_s) = (f64::NEG_INFINITY, f64::INFINITY);
    for &v in a.iter().chain(b) {
        let c1 = f_u(a.partition_point(|&t| t <= v));
        let c2 = f_u(b.partition_point(|&t| t <= v));
        let diff = c1 / n1 - c2 / n2;
        max_s = max_s.max(diff);
        min_s = min_s.min(diff);
    }
    let min_s = (-min_s).clamp(0.0, 1.0);
    if min_s > max_s { min_s } else { max_s }
}

/// The "asymp" method: `kstwo.sf(d, round(m·n / (m + n)))`, clipped.
fn asymptotic(d: f64, n1: i64, n2: i64) -> KsResult {
    let (m, n) = (f_i(n1.max(n2)), f_i(n1.min(n2)));
    let en = (m * n / (m + n)).round_ties_even();
    let p = kstwo_sf_i(d, trunc_i64(en));
    KsResult {
        statistic: d,
        pvalue: p.clamp(0.0, 1.0),
        exact: false,
    }
}

fn gcd(mut a: i64, mut b: i64) -> i64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// `_compute_prob_outside_square(n, h)`: `Pr(D_{n,n} >= h/n)` as the Horner form of the
/// alternating binomial series.
fn prob_outside_square(n: i64, h: i64) -> f64 {
    let mut p = 0.0;
    let mut k = n / h;
    while k >= 0 {
        let mut p1 = 1.0;
        for j in 0..h {
            p1 = f_i(n - k * h - j) * p1 / f_i(n + k * h + j + 1);
        }
        p = p1 * (1.0 - p);
        k -= 1;
    }
    2.0 * p
}

/// `_compute_outer_prob_inside_method(m, n, g, h)` (scipy's pythran kernel): the proportion of
/// lattice paths from (0, 0) to (m, n) that leave `|x/m - y/n| < h / lcm(m, n)`, by Viehmann's
/// recursion for 1 − p over a sliding window of one column. Integer floor/ceil replace the
/// float `np.floor((ng*i - h) / mg)`: both are exact here, as `|ng*i ± h| < 2^53 / mg`.
fn outer_prob_inside(m: i64, n: i64, g: i64, h: i64) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (mg, ng) = (m / g, n / g);
    let ceil_div = |a: i64, b: i64| -((-a).div_euclid(b));
    let mut minj = 0;
    let mut maxj = ceil_div(h, mg).min(n + 1);
    let mut curlen = maxj - minj;
    let Ok(len_a) = usize::try_from((2 * maxj + 2).min(n + 1)) else {
        return f64::NAN;
    };
    let mut a = vec![1.0; len_a];
    for e in a.iter_mut().take(usize::try_from(maxj).unwrap_or(0)) {
        *e = 0.0;
    }
    for i in 1..=m {
        let (lastminj, lastlen) = (minj, curlen);
        minj = ((ng * i - h).div_euclid(mg) + 1).max(0).min(n);
        maxj = ceil_div(ng * i + h, mg).min(n + 1);
        if maxj <= minj {
            return 1.0;
        }
        let mut val = if minj == 0 { 0.0 } else { 1.0 };
        for jj in 0..maxj - minj {
            let j = jj + minj;
            let (Some(&prev), Ok(dst)) = (index(&a, jj + minj - lastminj), usize::try_from(jj))
            else {
                return f64::NAN;
            };
            val = (prev * f_i(i) + val * f_i(j)) / f_i(i + j);
            let Some(slot) = a.get_mut(dst) else {
                return f64::NAN;
            };
            *slot = val;
        }
        curlen = maxj - minj;
        if lastlen > curlen {
            let from = usize::try_from(curlen).unwrap_or(len_a).min(len_a);
            let to = usize::try_from(curlen + (lastlen - curlen))
                .unwrap_or(len_a)
                .min(len_a);
            a[from..to].fill(1.0);
        }
    }
    index(&a, maxj - minj - 1).copied().unwrap_or(f64::NAN)
}

fn index(v: &[f64], i: i64) -> Option<&f64> {
    usize::try_from(i).ok().and_then(|i| v.get(i))
}

// ---------------------------------------------------------------------------------------------
// `scipy.stats._ksstats._kolmogn(n, x, cdf=False)`.

/// 2^128 and 2^-128, the rescaling constants `_EP128` and `_EM128`.
const EP128: f64 = f64::from_bits((1023 + 128) << 52);
const EM128: f64 = f64::from_bits((1023 - 128) << 52);
/// `_STIRLING_COEFFS`: B_{2j} / (2j) / (2j − 1) for j = 8, …, 1.
const STIRLING_COEFFS: [f64; 8] = [
    -2.955_065_359_477_124_2e-2,
    6.410_256_410_256_41e-3,
    -1.917_526_917_526_917_6e-3,
    8.417_508_417_508_417e-4,
    -5.952_380_952_380_953e-4,
    7.936_507_936_507_937e-4,
    -2.777_777_777_777_778e-3,
    8.333_333_333_333_333e-2,
];

/// `_kolmogn(n, x, cdf=False)`, following Simard and L'Ecuyer's choice of method.
fn kolmogn_sf(n: i64, x: f64) -> f64 {
    if x >= 1.0 {
        return 0.0;
    }
    if x <= 0.0 {
        return 1.0;
    }
    let nf = f_i(n);
    let t = nf * x;
    if t <= 1.0 {
        // Ruben–Gambino: 1/2n <= x <= 1/n.
        if t <= 0.5 {
            return 1.0;
        }
        let prob = if n <= 140 {
            (1..=n)
                .map(|i| f_i(i) * (1.0 / nf) * (2.0 * t - 1.0))
                .product::<f64>()
        } else {
            (log_nfactorial_div_n_pow_n(nf) + nf * (2.0 * t - 1.0).ln()).exp()
        };
        return (1.0 - prob).clamp(0.0, 1.0);
    }
    if t >= f_i(n - 1) {
        return (2.0 * (1.0 - x).powf(nf)).clamp(0.0, 1.0);
    }
    if x >= 0.5 {
        return (2.0 * smirnov_sf(n, x)).clamp(0.0, 1.0);
    }
    let nxsquared = t * x;
    if n <= 140 {
        if nxsquared <= 0.754_693 {
            return sf_from_cdf(kolmogn_dmtw_cdf(n, x));
        }
        if nxsquared <= 4.0 {
            return sf_from_cdf(kolmogn_pomeranz_cdf(n, x));
        }
        return (2.0 * smirnov_sf(n, x)).clamp(0.0, 1.0);
    }
    if nxsquared >= 370.0 {
        return 0.0;
    }
    if nxsquared >= 2.2 {
        return (2.0 * smirnov_sf(n, x)).clamp(0.0, 1.0);
    }
    let cdf = if nxsquared >= 18.0 {
        Dd::new(1.0)
    } else if n <= 100_000 && nf * x.powf(1.5) <= 1.4 {
        kolmogn_dmtw_cdf(n, x)
    } else {
        Dd::new(kolmogn_pelz_good_cdf(nf, x))
    };
    sf_from_cdf(cdf)
}

/// `1 - cdf` evaluated in the precision numpy had (long double after a rescale), then clipped.
fn sf_from_cdf(cdf: Dd) -> f64 {
    Dd::f_sub(1.0, cdf).hi.clamp(0.0, 1.0)
}

/// `_log_nfactorial_div_n_pow_n`: log(n! / n^n) by Stirling's series.
fn log_nfactorial_div_n_pow_n(n: f64) -> f64 {
    let rn = 1.0 / n;
    let poly = STIRLING_COEFFS.iter().fold(0.0, |y, &c| y * (rn / n) + c);
    n.ln() / 2.0 - n + (2.0 * PI).ln() / 2.0 + rn * poly
}

/// Clips a cdf held in extended precision to [0, 1] (`_select_and_clip_prob`).
fn clip_dd(p: Dd) -> Dd {
    if p.hi > 1.0 || (p.hi == 1.0 && p.lo > 0.0) {
        Dd::new(1.0)
    } else if p.hi < 0.0 || (p.hi == 0.0 && p.lo < 0.0) {
        Dd::new(0.0)
    } else {
        p
    }
}

/// The running product `p` of `_kolmogn_DMTW` and `_kolmogn_Pomeranz`: a float64 until its first
/// rescale by 2^±128 with numpy's long-double constants promotes it; double-double after that.
struct Tail {
    p: Dd,
    extended: bool,
    expnt: i64,
}

impl Tail {
    fn new(p: f64) -> Self {
        Self {
            p: Dd::new(p),
            extended: false,
            expnt: 0,
        }
    }
    fn rescale(&mut self, factor: f64, expnt_step: i64) {
        self.p = self.p.mul_pwr2(factor);
        self.extended = true;
        self.expnt += expnt_step;
    }
    fn mul(&mut self, a: f64) {
        self.p = if self.extended {
            self.p.mul_f(a)
        } else {
            Dd::new(self.p.hi * a)
        };
    }
    fn div(&mut self, a: f64) {
        self.p = if self.extended {
            self.p.div_f(a)
        } else {
            Dd::new(self.p.hi / a)
        };
    }
    /// `np.ldexp(p, expnt)` if `expnt != 0`, then `_select_and_clip_prob(p, 1 - p, cdf=True)`.
    fn finish(self) -> Dd {
        let p = if self.expnt == 0 {
            self.p
        } else {
            self.p.ldexp(self.expnt)
        };
        clip_dd(p)
    }
}

/// `_kolmogn_DMTW(n, d, cdf=True)`: Durbin's matrix, the (k, k) entry of `H^n · n!/n^n`.
fn kolmogn_dmtw_cdf(n: i64, d: f64) -> Dd {
    if d >= 1.0 {
        return Dd::new(1.0);
    }
    let nf = f_i(n);
    let nd = nf * d;
    if nd <= 0.5 {
        return Dd::new(0.0);
    }
    let kf = nd.ceil();
    let h = kf - nd;
    let Ok(k) = usize::try_from(trunc_i64(kf)) else {
        return Dd::new(f64::NAN);
    };
    let m = 2 * k - 1;
    let mf = f_u(m);
    let mut v: Vec<f64> = (1..=m).map(|j| 1.0 - h.powf(f_u(j))).collect();
    let mut w = vec![0.0; m];
    let mut fac = 1.0;
    for j in 1..=m {
        w[j - 1] = fac;
        fac /= f_u(j);
        v[j - 1] *= fac;
    }
    let base = 2.0 * h - 1.0;
    let first = if 0.0 > base { 0.0 } else { base.powf(mf) };
    let tt = first - 2.0 * h.powf(mf);
    v[m - 1] = (1.0 + tt) * fac;

    let mut hm = vec![0.0; m * m];
    for i in 1..m {
        for r in (i - 1)..m {
            hm[r * m + i] = w[r + 1 - i];
        }
    }
    for r in 0..m {
        hm[r * m] = v[r];
    }
    for c in 0..m {
        hm[(m - 1) * m + c] = v[m - 1 - c];
    }

    let kk = (k - 1) * m + (k - 1);
    let mut hpwr: Vec<f64> = (0..m * m)
        .map(|i| if i % (m + 1) == 0 { 1.0 } else { 0.0 })
        .collect();
    let (mut nn, mut expnt, mut hexpnt) = (n, 0_i64, 0_i64);
    while nn > 0 {
        if nn % 2 == 1 {
            hpwr = matmul(&hpwr, &hm, m);
            expnt += hexpnt;
        }
        hm = matmul(&hm, &hm, m);
        hexpnt *= 2;
        if hm[kk].abs() > EP128 {
            for e in &mut hm {
                *e /= EP128;
            }
            hexpnt += 128;
        }
        nn /= 2;
    }

    let mut tail = Tail::new(hpwr[kk]);
    tail.expnt = expnt;
    for i in 1..=n {
        tail.mul(f_i(i));
        tail.div(nf);
        if tail.p.hi.abs() < EM128 {
            tail.rescale(EP128, -128);
        }
    }
    tail.finish()
}

/// Row-major `a · b` for `m × m` matrices.
fn matmul(a: &[f64], b: &[f64], m: usize) -> Vec<f64> {
    let mut c = vec![0.0; m * m];
    for i in 0..m {
        for k in 0..m {
            let aik = a[i * m + k];
            for j in 0..m {
                c[i * m + j] += aik * b[k * m + j];
            }
        }
    }
    c
}

/// `_pomeranz_compute_j1j2`: the non-zero window of row i.
fn pomeranz_j1j2(i: i64, n: i64, ll: i64, ceilf: i64, roundf: i64) -> (i64, i64) {
    let (j1, j2) = if i == 0 {
        (-ll - ceilf - 1, ll + ceilf - 1)
    } else {
        let (ip1div2, ip1mod2) = ((i + 1) / 2, (i + 1) % 2);
        if ip1mod2 == 0 {
            if ip1div2 == n + 1 {
                (n - ll - ceilf - 1, n + ll + ceilf - 1)
            } else {
                (ip1div2 - 1 - ll - roundf - 1, ip1div2 + ll - 1 + ceilf - 1)
            }
        } else {
            (ip1div2 - 1 - ll - 1, ip1div2 + ll + roundf - 1)
        }
    };
    ((j1 + 2).max(0), j2.min(n))
}

/// `_kolmogn_Pomeranz(n, x, cdf=True)`: Pomeranz's recursion, two rows of Poisson convolutions.
fn kolmogn_pomeranz_cdf(n: i64, x: f64) -> Dd {
    let nf = f_i(n);
    let t = nf * x;
    let llf = t.floor();
    let ll = trunc_i64(llf);
    let f = t - llf;
    let g = if 1.0 - f < f { 1.0 - f } else { f };
    let ceilf = i64::from(f > 0.0);
    let roundf = i64::from(f > 0.5);
    let Ok(npwrs) = usize::try_from(2 * (ll + 1)) else {
        return Dd::new(f64::NAN);
    };
    let (g_over_n, two_g_over_n, one_minus_two_g_over_n) =
        (g / nf, 2.0 * g / nf, (1.0 - 2.0 * g) / nf);
    let mut gpower = vec![1.0; npwrs];
    let mut twogpower = vec![1.0; npwrs];
    let mut onem2gpower = vec![1.0; npwrs];
    for m in 1..npwrs {
        gpower[m] = gpower[m - 1] * g_over_n / f_u(m);
        twogpower[m] = twogpower[m - 1] * two_g_over_n / f_u(m);
        onem2gpower[m] = onem2gpower[m - 1] * one_minus_two_g_over_n / f_u(m);
    }

    let mut v0 = vec![0.0; npwrs];
    let mut v1 = vec![0.0; npwrs];
    v1[0] = 1.0;
    let (mut v0s, mut v1s) = (0_i64, 0_i64);
    let mut expnt = 0_i64;
    let (mut j1, _) = pomeranz_j1j2(0, n, ll, ceilf, roundf);
    for i in 1..2 * n + 2 {
        let k1 = j1;
        std::mem::swap(&mut v0, &mut v1);
        std::mem::swap(&mut v0s, &mut v1s);
        v1.fill(0.0);
        let j2;
        (j1, j2) = pomeranz_j1j2(i, n, ll, ceilf, roundf);
        let pwrs = if i == 1 || i == 2 * n + 1 {
            &gpower
        } else if i % 2 == 1 {
            &twogpower
        } else {
            &onem2gpower
        };
        let ln2 = j2 - k1 + 1;
        if ln2 > 0 {
            // np.convolve(V0[k1 - V0s:][:ln2], pwrs[:ln2])[j1 - k1:][:j2 - j1 + 1]
            let (Ok(start), Ok(len), Ok(conv_start), Ok(conv_len)) = (
                usize::try_from(k1 - v0s),
                usize::try_from(ln2),
                usize::try_from(j1 - k1),
                usize::try_from(j2 - j1 + 1),
            ) else {
                return Dd::new(f64::NAN);
            };
            let (Some(a), Some(b)) = (v0.get(start..start + len), pwrs.get(..len)) else {
                return Dd::new(f64::NAN);
            };
            for (idx, out) in v1.iter_mut().take(conv_len).enumerate() {
                let kpos = conv_start + idx;
                let lo = (kpos + 1).saturating_sub(len);
                *out = (lo..=kpos.min(len - 1)).map(|q| a[q] * b[kpos - q]).sum();
            }
            let vmax = v1.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if 0.0 < vmax && vmax < EM128 {
                for e in &mut v1 {
                    *e *= EP128;
                }
                expnt -= 128;
            }
            v1s = v0s + j1 - k1;
        }
    }

    let Some(&ans) = index(&v1, n - v1s) else {
        return Dd::new(f64::NAN);
    };
    let mut tail = Tail::new(ans);
    tail.expnt = expnt;
    for m in 1..=n {
        if tail.p.hi.abs() > EP128 {
            tail.rescale(EM128, 128);
        }
        tail.mul(f_i(m));
    }
    tail.finish()
}

/// `_kolmogn_PelzGood(n, x, cdf=True)`: the Pelz–Good transform of the Li-Chien/Korolyuk
/// expansion, for small z = sqrt(n)·x.
fn kolmogn_pelz_good_cdf(n: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let pi2 = PI.powf(2.0);
    let pi4 = PI.powf(4.0);
    let pi6 = PI.powf(6.0);
    let sqrt2pi = (2.0 * PI).sqrt();
    let z = n.sqrt() * x;
    let (zsquared, zthree, zfour, zsix) = (z.powf(2.0), z.powf(3.0), z.powf(4.0), z.powf(6.0));

    let qlog = -pi2 / 8.0 / zsquared;
    if qlog < -708.0 {
        return 0.0;
    }
    let q = qlog.exp();

    let k1a = -zsquared;
    let k1b = pi2 / 4.0;
    let k2a = 6.0 * zsix + 2.0 * zfour;
    let k2b = (2.0 * zfour - 5.0 * zsquared) * pi2 / 4.0;
    let k2c = pi4 * (1.0 - 2.0 * zsquared) / 16.0;
    let k3d = pi6 * (5.0 - 30.0 * zsquared) / 64.0;
    let k3c = pi4 * (-60.0 * zsquared + 212.0 * zfour) / 16.0;
    let k3b = pi2 * (135.0 * zfour - 96.0 * zsix) / 4.0;
    let k3a = -30.0 * zsix - 90.0 * z.powf(8.0);

    let mut kk = [0.0_f64; 4];
    let maxk = trunc_i64((16.0 * z / PI).ceil());
    for k in (1..=maxk).rev() {
        let m = 2 * k - 1;
        let (msquared, mfour, msix) = (f_i(m * m), f_i(m * m * m * m), f_i(m * m * m * m * m * m));
        let qpower = q.powf(f_i(8 * k));
        let coeffs = [
            1.0,
            k1a + k1b * msquared,
            k2a + k2b * msquared + k2c * mfour,
            k3a + k3b * msquared + k3c * mfour + k3d * msix,
        ];
        for (acc, c) in kk.iter_mut().zip(coeffs) {
            *acc *= qpower;
            *acc += c;
        }
    }
    let denominators = [z, 6.0 * zfour, 72.0 * z.powf(7.0), 6480.0 * z.powf(10.0)];
    for (acc, den) in kk.iter_mut().zip(denominators) {
        *acc *= q;
        *acc *= sqrt2pi;
        *acc /= den;
    }

    let q = (-pi2 / 2.0 / zsquared).exp();
    let sqrt3z = 3.0_f64.sqrt() * z;
    let ks: Vec<i64> = (1..=maxk).rev().collect();
    let qpwers: Vec<f64> = ks.iter().map(|&k| q.powf(f_i(k * k))).collect();
    let k2terms: Vec<f64> = ks
        .iter()
        .zip(&qpwers)
        .map(|(&k, &qp)| f_i(k * k) * qp)
        .collect();
    let k2extra = numpy_sum(&k2terms) * (pi2 * sqrt2pi / (-36.0 * zthree));
    kk[2] += k2extra;
    let k3terms: Vec<f64> = ks
        .iter()
        .zip(&qpwers)
        .map(|(&k, &qp)| {
            let kspi = PI * f_i(k);
            (sqrt3z + kspi) * (sqrt3z - kspi) * f_i(k * k) * qp
        })
        .collect();
    let k3extra = numpy_sum(&k3terms) * (pi2 * sqrt2pi / (216.0 * zsix));
    kk[3] += k3extra;
    for (i, acc) in kk.iter_mut().enumerate() {
        *acc /= n.powf(f_u(i) / 2.0);
    }
    kk.iter().sum()
}

/// `np.sum` of a short float64 array: numpy's pairwise summation (8 accumulators from 8 items).
fn numpy_sum(a: &[f64]) -> f64 {
    if a.len() < 8 {
        return a.iter().fold(0.0, |s, &v| s + v);
    }
    if a.len() > 128 {
        let half = a.len() / 2;
        let half = half - half % 8;
        return numpy_sum(&a[..half]) + numpy_sum(&a[half..]);
    }
    let mut r = [0.0; 8];
    r.copy_from_slice(&a[..8]);
    let whole = a.len() - a.len() % 8;
    for chunk in a[8..whole].chunks_exact(8) {
        for (acc, &v) in r.iter_mut().zip(chunk) {
            *acc += v;
        }
    }
    let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for &v in &a[whole..] {
        res += v;
    }
    res
}

// ---------------------------------------------------------------------------------------------
// `scipy.special.smirnov(n, x)`: xsf's `cephes/kolmogorov.h`, survival function only.

/// `MINLOG` of xsf's `cephes/const.h`: log(2^-1075).
const MINLOG: f64 = -7.451_332_191_019_412e2;
/// `SM_MAX_EXPONENT`: keeps both halves of a double-double normalised.
const SM_MAX_EXPONENT: i64 = 960;
/// `SMIRNOV_MAX_COMPUTE_N`: above it, an asymptotic formula.
const SMIRNOV_MAX_COMPUTE_N: i64 = 1_000_000;

/// `smirnov(n, x)`: `Pr(D_n^+ >= x)`, the one-sided KS survival function (Birnbaum–Tingey sum).
fn smirnov_sf(n: i64, x: f64) -> f64 {
    if !(n > 0 && (0.0..=1.0).contains(&x)) {
        return f64::NAN;
    }
    if n == 1 {
        return 1.0 - x;
    }
    if x == 0.0 {
        return 1.0;
    }
    if x == 1.0 {
        return 0.0;
    }
    let nf = f_i(n);
    let (alpha, nxfl) = mod_nx(nf, x);
    let mut n1mxfl = n - nxfl - i64::from(alpha != 0.0);
    let mut n1mxceil = n - nxfl;
    if alpha == 0.0 {
        n1mxfl -= 1;
        n1mxceil += 1;
    }
    if nxfl == 0 || (nxfl == 1 && alpha == 0.0) {
        let t = pow_d(Dd::new(1.0).add_f(x), n - 1).hi;
        return 1.0 - x * t;
    }
    if f_i(-2 * n) * x * x < MINLOG {
        return 0.0;
    }
    if nxfl >= n - 1 {
        return pow_d(Dd::new(1.0).add_f(-x), n).hi;
    }
    if n > SMIRNOV_MAX_COMPUTE_N {
        let logp = -(6.0 * nf * x + 1.0).powf(2.0) / 18.0 / nf;
        return if logp < -LN_2 {
            logp.exp()
        } else {
            1.0 - -logp.exp_m1()
        };
    }
    let n_upper_terms = n - n1mxceil + 1;
    let use_upper =
        (n_upper_terms <= 1 && x < 0.5) || (n >= 10 && n_upper_terms <= 3 && x <= 0.5 / nf.sqrt());
    let (start, step, n_terms) = if use_upper {
        (n, -1, n_upper_terms)
    } else {
        (0, 1, n1mxfl + 1)
    };
    let vmid = n / 2;
    let mut aj = if use_upper {
        pow4_d(1.0, x, 1.0, 0.0, n - 1)
    } else {
        pow4_d(1.0, -x, 1.0, 0.0, n).div_f(x)
    };
    let mut aj_sum = Dd::new(0.0).add(aj);
    let (mut cman, mut cexpt) = (Dd::new(1.0), 0_i64);
    update_binomial(&mut cman, &mut cexpt, n, 0);
    for j in 1..n_terms {
        let v = start + j * step;
        aj = compute_av(n, x, v, cman, cexpt);
        if aj.hi.is_finite() && !aj.is_zero() {
            aj_sum = aj_sum.add(aj);
        }
        if !aj.is_zero() {
            if f_i(4 * (n_terms - j)) * aj.hi.abs() < f64::EPSILON * aj_sum.hi && j != n_terms - 1 {
                break;
            }
        } else if j > vmid {
            break;
        }
        update_binomial(&mut cman, &mut cexpt, n, j);
    }
    let prob = aj_sum.mul_f(x).hi;
    let sf = if step < 0 { 1.0 - prob } else { prob };
    sf.clamp(0.0, 1.0)
}

/// `modNX`: `floor(n·x)` and its remainder alpha, exactly.
fn mod_nx(nf: f64, x: f64) -> (f64, i64) {
    let nxd = Dd::new(x).mul_f(nf);
    let nxfloord = nxd.floor();
    let mut alpha = nxd.sub(nxfloord).hi;
    let mut nxfloor = trunc_i64(nxfloord.hi);
    if alpha == 1.0 {
        nxfloor += 1;
        alpha = 0.0;
    }
    (alpha, nxfloor)
}

/// `updateBinomial`: C(n, j+1) = C(n, j)·(n − j)/(j + 1) as (mantissa, exponent).
fn update_binomial(cman: &mut Dd, cexpt: &mut i64, n: i64, j: i64) {
    let rat = Dd::new(f_i(n - j)).div_f(f_i(j) + 1.0);
    let (man, expt) = cman.mul(rat).frexp();
    *cexpt += expt;
    *cman = man;
}

/// `computeAv`: `C(n, v) (1 − x − v/n)^(n−v) (x + v/n)^(v−1)`.
fn compute_av(n: i64, x: f64, v: i64, cman: Dd, cexpt: i64) -> Dd {
    let nf = f_i(n);
    let t2x = Dd::new(f_i(n - v)).div_f(nf).add_f(-x);
    let (t2, t2e) = pow2_scaled_d(t2x, n - v);
    let t1x = Dd::new(f_i(v)).div_f(nf).add_f(x);
    let (t1, t1e) = pow2_scaled_d(t1x, v - 1);
    t1.mul(t2).mul(cman).ldexp(cexpt + t1e + t2e)
}

/// `pow_D`: a^m, `pow()` of the high part corrected for the low part.
fn pow_d(a: Dd, m: i64) -> Dd {
    if m <= 0 {
        if m == 0 {
            return Dd::new(1.0);
        }
        return Dd::new(1.0).div(pow_d(a, -m));
    }
    if a.is_zero() {
        return Dd::new(0.0);
    }
    let mf = f_i(m);
    let ans = a.hi.powf(mf);
    let r = a.lo / a.hi;
    let mut adj = mf * r;
    if adj.abs() > 1e-8 {
        if adj.abs() < 1e-4 {
            adj += (mf * r) * (f_i(m - 1) / 2.0 * r);
        } else {
            adj = (mf * r.ln_1p()).exp_m1();
        }
    }
    Dd::new(ans).add_f(ans * adj)
}

/// `pow4_D`: ((a + b) / (c + d))^m.
fn pow4_d(a: f64, b: f64, c: f64, d: f64, m: i64) -> Dd {
    if m <= 0 {
        if m == 0 {
            return Dd::new(1.0);
        }
        return pow4_d(c, d, a, b, -m);
    }
    let num = Dd::new(a).add_f(b);
    let den = Dd::new(c).add_f(d);
    if num.is_zero() {
        return Dd::new(if den.is_zero() { f64::NAN } else { 0.0 });
    }
    if den.is_zero() {
        let negative = num.hi < 0.0 || (num.hi == 0.0 && num.lo < 0.0);
        return Dd::new(if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    pow_d(num.div(den), m)
}

/// `pow2Scaled_D`: a^m as (significand in [0.5, 1), exponent), split to stay normalised.
fn pow2_scaled_d(a: Dd, m: i64) -> (Dd, i64) {
    if m <= 0 {
        if m == 0 {
            return (Dd::new(1.0), 0);
        }
        let (ans, e1) = pow2_scaled_d(a, -m);
        let (ans, e2) = Dd::new(1.0).div(ans).frexp();
        return (ans, -e1 + e2);
    }
    let (y, ye) = a.frexp();
    if m == 1 {
        return (y, ye);
    }
    let mf = f_i(m);
    let mut max_expt = SM_MAX_EXPONENT;
    if mf * (y.hi - 1.0) / y.hi < f_i(-SM_MAX_EXPONENT) * LN_2 {
        let lg2y = y.hi.ln() / LN_2;
        if mf * lg2y <= f_i(-SM_MAX_EXPONENT) {
            max_expt = trunc_i64(next_power_of_2(f_i(-SM_MAX_EXPONENT) / lg2y + 1.0) / 2.0);
        }
    }
    if m <= max_expt {
        let (ans, ans_e) = pow_d(y, m).frexp();
        return (ans, ans_e + m * ye);
    }
    let (q, r) = (m / max_expt, m % max_expt);
    let (y2r, y2r_e) = pow2_scaled_d(y, r);
    let (y2m, y2m_e) = pow2_scaled_d(y, max_expt);
    let (y2mq, y2mq_e) = pow2_scaled_d(y2m, q);
    let (ans, ans_e) = y2r.mul(y2mq).frexp();
    (ans, ans_e + (y2mq_e + y2m_e * q) + y2r_e + m * ye)
}

/// `nextPowerOf2` of kolmogorov.h (despite the name, x·(1 + 2^-52) kept integral when it is).
fn next_power_of_2(x: f64) -> f64 {
    let q = ldexp(x, 1 - 53);
    let l = (q + x).abs();
    if l == 0.0 {
        return x.abs();
    }
    let lint = f_i(trunc_i64(l));
    if lint == l { lint } else { l }
}

// ---------------------------------------------------------------------------------------------
// Double-double arithmetic: xsf's `cephes/dd_real.h` (from the qd library), operation for
// operation. It also stands in for numpy's long double in the Durbin and Pomeranz tails.

/// `hi + lo` with `|lo| <= ulp(hi) / 2`.
#[derive(Debug, Clone, Copy)]
struct Dd {
    hi: f64,
    lo: f64,
}

fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let c = s - a;
    let d = b - c;
    let e = s - c;
    (s, (a - e) + d)
}

fn quick_two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let c = s - a;
    (s, b - c)
}

fn two_prod(a: f64, b: f64) -> (f64, f64) {
    let p = a * b;
    (p, a.mul_add(b, -p))
}

impl Dd {
    const fn new(hi: f64) -> Self {
        Self { hi, lo: 0.0 }
    }
    fn is_zero(self) -> bool {
        self.hi == 0.0 && self.lo == 0.0
    }
    fn neg(self) -> Self {
        Self {
            hi: -self.hi,
            lo: -self.lo,
        }
    }
    /// IEEE-style sum (Briggs and Kahan).
    fn add(self, o: Self) -> Self {
        let (s1, s2) = two_sum(self.hi, o.hi);
        let (t1, t2) = two_sum(self.lo, o.lo);
        let (s1, s2) = quick_two_sum(s1, s2 + t1);
        let (hi, lo) = quick_two_sum(s1, s2 + t2);
        Self { hi, lo }
    }
    fn add_f(self, b: f64) -> Self {
        let (s1, s2) = two_sum(self.hi, b);
        let (hi, lo) = quick_two_sum(s1, s2 + self.lo);
        Self { hi, lo }
    }
    fn sub(self, o: Self) -> Self {
        self.add(o.neg())
    }
    /// `a - b` for a double a.
    fn f_sub(a: f64, b: Self) -> Self {
        let (s1, s2) = two_sum(a, -b.hi);
        let (hi, lo) = quick_two_sum(s1, s2 - b.lo);
        Self { hi, lo }
    }
    fn mul(self, o: Self) -> Self {
        let (p1, p2) = two_prod(self.hi, o.hi);
        let (hi, lo) = quick_two_sum(p1, p2 + (self.hi * o.lo + self.lo * o.hi));
        Self { hi, lo }
    }
    fn mul_f(self, b: f64) -> Self {
        let (p1, e1) = two_prod(self.hi, b);
        let (p2, e2) = two_prod(self.lo, b);
        let (hi, lo) = quick_two_sum(p1, e2 + p2 + e1);
        Self { hi, lo }
    }
    fn mul_pwr2(self, b: f64) -> Self {
        Self {
            hi: self.hi * b,
            lo: self.lo * b,
        }
    }
    fn div(self, o: Self) -> Self {
        let q1 = self.hi / o.hi;
        let r = self.sub(o.mul_f(q1));
        let q2 = r.hi / o.hi;
        let r = r.sub(o.mul_f(q2));
        let q3 = r.hi / o.hi;
        let (q1, q2) = quick_two_sum(q1, q2);
        Self { hi: q1, lo: q2 }.add_f(q3)
    }
    fn div_f(self, b: f64) -> Self {
        self.div(Self::new(b))
    }
    fn floor(self) -> Self {
        let hi = self.hi.floor();
        if hi == self.hi {
            let (hi, lo) = quick_two_sum(hi, self.lo.floor());
            return Self { hi, lo };
        }
        Self::new(hi)
    }
    fn ldexp(self, e: i64) -> Self {
        Self {
            hi: ldexp(self.hi, e),
            lo: ldexp(self.lo, e),
        }
    }
    /// (b, l) with `0.5 <= |b.hi| < 1` (or `|b.hi| == 1` against the sign of b.lo) and b·2^l = self.
    fn frexp(self) -> (Self, i64) {
        let (mut man, mut exponent) = frexp(self.hi);
        let mut b1 = ldexp(self.lo, -exponent);
        if man.abs() == 0.5 && man * b1 < 0.0 {
            man *= 2.0;
            b1 *= 2.0;
            exponent -= 1;
        }
        (Self { hi: man, lo: b1 }, exponent)
    }
}

/// C's `frexp`: `x = m · 2^e` with `0.5 <= |m| < 1`.
fn frexp(x: f64) -> (f64, i64) {
    if x == 0.0 || !x.is_finite() {
        return (x, 0);
    }
    let bits = x.to_bits();
    let biased = i64::try_from((bits >> 52) & 0x7ff).unwrap_or(0);
    if biased == 0 {
        let (m, e) = frexp(x * 18_014_398_509_481_984.0); // 2^54: normalise a subnormal
        return (m, e - 54);
    }
    (
        f64::from_bits((bits & !(0x7ff_u64 << 52)) | (1022_u64 << 52)),
        biased - 1022,
    )
}

/// C's `ldexp` (musl's `scalbn`: one rounding, also into the subnormals).
fn ldexp(x: f64, e: i64) -> f64 {
    const P1023: f64 = f64::from_bits((1023 + 1023) << 52);
    const M1022_P53: f64 = f64::from_bits((1023 - 1022 + 53) << 52); // 2^-1022 · 2^53
    let mut y = x;
    let mut n = e.clamp(-3000, 3000);
    if n > 1023 {
        y *= P1023;
        n -= 1023;
        if n > 1023 {
            y *= P1023;
            n = (n - 1023).min(1023);
        }
    } else if n < -1022 {
        y *= M1022_P53;
        n += 1022 - 53;
        if n < -1022 {
            y *= M1022_P53;
            n = (n + 1022 - 53).max(-1022);
        }
    }
    y * f64::from_bits(u64::try_from(0x3ff + n).unwrap_or(0) << 52)
}

#[expect(
    clippy::cast_precision_loss,
    reason = "sample sizes and counts stay far below 2^53"
)]
fn f_u(v: usize) -> f64 {
    v as f64
}

#[expect(
    clippy::cast_precision_loss,
    reason = "lattice indices and sizes stay far below 2^53"
)]
fn f_i(v: i64) -> f64 {
    v as f64
}

/// `int(v)` of an integral float (or C's truncating cast).
#[expect(
    clippy::cast_possible_truncation,
    reason = "callers pass small integral values"
)]
fn trunc_i64(v: f64) -> i64 {
    v as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel_err(got: f64, want: f64) -> f64 {
        if got == want {
            0.0
        } else {
            (got - want).abs() / want.abs()
        }
    }

    fn arange(start: i64, n: i64) -> Vec<f64> {
        (start..start + n).map(f_i).collect()
    }

    /// Spec §5.5's test vectors: x = 0..n, y = h..n+h, so D = h/n.
    #[test]
    fn spec_vectors() {
        let vectors = [
            (40, 1, 0.999_999_999_999_999_7),
            (40, 5, 0.918_805_221_412_116_7),
            (40, 14, 0.014_301_548_047_706_46),
            (40, 15, 0.006_760_732_303_569_208),
            (40, 17, 0.001_270_814_348_528_162_4),
            (200, 74, 1.427_569_962_153_297_8e-12),
            (200, 78, 5.867_301_628_028_83e-14),
            (400, 140, 3.905_471_357_108_337_8e-22),
            (400, 149, 4.346_199_600_129_006e-25),
            (400, 156, 1.585_318_521_208_402e-27),
        ];
        for (n, h, want) in vectors {
            let r = ks_2samp(&arange(0, n), &arange(h, n)).unwrap();
            assert_eq!(r.statistic, f_i(h) / f_i(n), "n={n} h={h}");
            assert!(r.exact);
            assert!(
                rel_err(r.pvalue, want) <= 1e-12,
                "n={n} h={h}: {} vs {want}",
                r.pvalue
            );
        }
    }

    /// (kind, n, seed, levels, loc, repeat); see `scripts/reference/ks_cases.py`.
    type Spec = (u8, usize, u64, u32, f64, usize);

    /// splitmix64 samples, mirrored bit for bit by `sample()` in `ks_cases.py`.
    fn sample((kind, n, seed, levels, loc, repeat): Spec) -> Vec<f64> {
        let block: Vec<f64> = if kind == 2 {
            (0..n)
                .map(|i| loc + f64::from(u32::try_from(i).unwrap()))
                .collect()
        } else {
            let mut state = seed;
            (0..n)
                .map(|_| {
                    state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                    let mut z = state;
                    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                    let hi = u32::try_from((z ^ (z >> 31)) >> 32).unwrap();
                    if kind == 0 {
                        loc + f64::from(hi) / 4_294_967_296.0
                    } else {
                        loc + f64::from(hi % levels)
                    }
                })
                .collect()
        };
        block.repeat(repeat)
    }

    // Generated by scripts/reference/ks_cases.py with scipy 1.14.1, numpy 2.2.6.
    // (name, x spec, y spec, statistic, pvalue, exact); spec = (kind, n, seed, levels, loc, repeat).
    #[rustfmt::skip]
    const KS_CASES: &[(&str, Spec, Spec, f64, f64, bool)] = &[
        ("unequal 40 v 37", (0, 40, 1, 0, 0.0, 1), (0, 37, 2, 0, 0.1, 1), 0.17094594594594595, 0.5497094845169063, true),
        ("unequal 200 v 150, shifted", (0, 200, 3, 0, 0.0, 1), (0, 150, 4, 0, 0.3, 1), 0.36, 2.3240691055706123e-10, true),
        ("unequal 7 v 300", (0, 7, 5, 0, 0.2, 1), (0, 300, 6, 0, 0.0, 1), 0.30333333333333334, 0.4670801777541341, true),
        ("unequal 400 v 399", (0, 400, 7, 0, 0.0, 1), (0, 399, 8, 0, 0.08, 1), 0.15177944862155388, 0.0001568064064688358, true),
        ("unequal 10 v 10000", (0, 10, 9, 0, 0.3, 1), (0, 10000, 10, 0, 0.0, 1), 0.5511, 0.002233935802307475, true),
        ("unequal 10000 v 9999 (lcm ~1e8)", (0, 10000, 11, 0, 0.0, 1), (0, 9999, 12, 0, 0.02, 1), 0.034172377237723775, 1.606680421518652e-05, true),
        ("ties 60 v 45", (1, 60, 13, 5, 0.0, 1), (1, 45, 14, 5, 0.0, 1), 0.15555555555555556, 0.5198788293233328, true),
        ("ties 100 v 80, shifted", (1, 100, 15, 10, 0.0, 1), (1, 80, 16, 10, 1.0, 1), 0.125, 0.45570461991783856, true),
        ("ties 50 v 50", (1, 50, 17, 4, 0.0, 1), (1, 50, 18, 4, 0.0, 1), 0.2, 0.2719135601522248, true),
        ("identical 50 v 50", (0, 50, 19, 0, 0.0, 1), (0, 50, 19, 0, 0.0, 1), 0.0, 1.0, true),
        ("same ecdf 30 v 60", (0, 30, 20, 0, 0.0, 1), (0, 30, 20, 0, 0.0, 2), 0.0, 1.0, true),
        ("separated 30 v 45", (0, 30, 21, 0, 0.0, 1), (0, 45, 22, 0, 2.0, 1), 1.0, 2.5579391420987706e-21, true),
        ("separated 25 v 25", (0, 25, 23, 0, 5.0, 1), (0, 25, 24, 0, 0.0, 1), 1.0, 1.582145720489723e-14, true),
        ("equal 69, h = 2: exact gives p > 1, falls back", (2, 69, 0, 0, 0.0, 1), (2, 69, 0, 0, 2.0, 1), 0.028985507246376812, 0.9999999999999908, false),
        ("equal 30, h = 1: exact gives p > 1, falls back", (2, 30, 0, 0, 0.5, 1), (2, 30, 0, 0, 0.0, 1), 0.03333333333333333, 1.0, false),
        ("asymp 10001 v 500", (0, 10001, 25, 0, 0.0, 1), (0, 500, 26, 0, 0.1, 1), 0.12555364463553642, 5.334182591112508e-07, false),
        ("asymp 12000 v 11000", (0, 12000, 27, 0, 0.0, 1), (0, 11000, 28, 0, 0.03, 1), 0.0456439393939394, 7.909512843718213e-11, false),
        ("asymp 10001 v 10001 (en = 5000.5)", (0, 10001, 29, 0, 0.0, 1), (0, 10001, 30, 0, 0.004, 1), 0.0166983301669833, 0.12165066985604178, false),
    ];

    #[test]
    fn matches_scipy_ks_2samp() {
        for &(name, xs, ys, d, p, exact) in KS_CASES {
            let (x, y) = (sample(xs), sample(ys));
            let r = ks_2samp(&x, &y).unwrap();
            assert_eq!(r.exact, exact, "{name}");
            assert!(
                rel_err(r.statistic, d) <= 1e-15,
                "{name}: D {} vs {d}",
                r.statistic
            );
            // Bit-identical today (exact and asymptotic); 1e-12 leaves room for another libm.
            assert!(
                rel_err(r.pvalue, p) <= 1e-12,
                "{name}: p {} vs {p}",
                r.pvalue
            );
            let swapped = ks_2samp(&y, &x).unwrap();
            assert_eq!(swapped.statistic, r.statistic, "{name}");
            assert!(rel_err(swapped.pvalue, r.pvalue) <= 1e-12, "{name}");
        }
    }

    // (d, n, scipy.stats.kstwo.sf(d, n)), one case per branch of `_kolmogn`.
    #[rustfmt::skip]
    const KSTWO_CASES: &[(f64, usize, f64)] = &[
        (0.04, 10, 1.0),
        (0.08, 10, 0.9999978058034054),
        (0.004, 200, 1.0),
        (0.95, 10, 1.9531250000000172e-13),
        (0.6, 20, 2.0483011649719853e-07),
        (0.1, 50, 0.6623112704658186),
        (0.05, 100, 0.9532159710635725),
        (0.2, 50, 0.03143877776953241),
        (0.1, 140, 0.11353657290090946),
        (0.35, 50, 5.573523514803185e-06),
        (0.05, 1000, 0.013012074781090332),
        (0.01, 1000, 0.9999496745370611),
        (0.03, 1000, 0.3226902143914636),
        (0.002, 200000, 0.39995085369038097),
        (0.0012, 2000000, 0.006297183259583361),
        (0.006, 100000, 0.0014871489301131564),
        (0.3, 5000, 0.0),
        (0.0141, 5000, 0.2706711249884427),
        (0.5, 3, 0.3333333333333333),
        (0.02, 400, 0.9962957072474701),
        (0.165, 140, 0.0008458071085063383),
    ];

    #[test]
    fn kstwo_sf_matches_scipy() {
        for &(d, n, want) in KSTWO_CASES {
            let got = kstwo_sf(d, n);
            assert!(
                rel_err(got, want) <= 1e-10,
                "kstwo.sf({d}, {n}) = {got}, scipy {want}"
            );
        }
        assert!(kstwo_sf(0.1, 0).is_nan());
        assert!(kstwo_sf(f64::NAN, 10).is_nan());
        assert_eq!(kstwo_sf(1.0, 10), 0.0);
    }

    // (n, d, scipy.special.smirnov(n, d))
    #[rustfmt::skip]
    const SMIRNOV_CASES: &[(i64, f64, f64)] = &[
        (5, 0.1, 0.85359),
        (10, 0.1, 0.7642052309),
        (10, 0.95, 9.765625000000086e-14),
        (20, 0.3, 0.021533604376327058),
        (100, 0.04, 0.707480642336499),
        (400, 0.02, 0.7166402294554718),
        (1000, 0.05, 0.006506037390545166),
        (100000, 0.06, 1.0981011893e-313),
        (100000, 0.07, 0.0),
        (2000000, 0.0012, 0.0031485916297916807),
    ];

    #[test]
    fn smirnov_matches_scipy() {
        for &(n, d, want) in SMIRNOV_CASES {
            let got = smirnov_sf(n, d);
            // The subnormal case resolves only ~1e-10 of its value.
            assert!(
                rel_err(got, want) <= 1e-10,
                "smirnov({n}, {d}) = {got}, scipy {want}"
            );
        }
    }

    #[test]
    fn rejects_empty_and_nan() {
        assert_eq!(ks_2samp(&[], &[1.0]), None);
        assert_eq!(ks_2samp(&[1.0], &[]), None);
        assert_eq!(ks_2samp(&[1.0, f64::NAN], &[1.0]), None);
    }

    #[test]
    fn double_double_helpers() {
        assert_eq!(frexp(8.0), (0.5, 4));
        assert_eq!(frexp(f64::MIN_POSITIVE / 4.0), (0.5, -1023));
        assert_eq!(ldexp(0.5, -1073), 5e-324);
        assert_eq!(ldexp(1.0, 1023), 2.0_f64.powi(1023));
        assert_eq!(ldexp(3.0, -1060), f64::from_bits(3 << 14)); // 3 · 2^14 · 2^-1074
        assert_eq!(EP128 * EM128, 1.0);
        assert_eq!(EP128, 2.0_f64.powi(128));
        let third = Dd::new(1.0).div_f(3.0);
        assert!((third.mul_f(3.0).add_f(-1.0)).hi.abs() < 1e-30);
        assert_eq!(numpy_sum(&[1.0, 1e16, -1e16, 1.0]), 1.0);
    }
}
