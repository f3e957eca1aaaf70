#!/usr/bin/env python3
"""Reference values for `engine/src/metrics/ks.rs` (spec §5.5, forget quality).

Prints the Rust test tables of `mod tests` in `ks.rs` (indented, ready to paste):
  * KS_CASES: `scipy.stats.ks_2samp(x, y)` (two-sided, method "auto") on deterministic samples,
  * KSTWO_CASES: `scipy.stats.kstwo.sf(d, n)`, one case per branch of `_ksstats._kolmogn`,
  * SMIRNOV_CASES: `scipy.special.smirnov(n, d)` (used by `kolmogn` for large d).

Pinned: scipy 1.14.1 (numpy 2.2.6, CPython 3.11). Run:
    python -m venv /tmp/scipy114 && /tmp/scipy114/bin/pip install scipy==1.14.1
    /tmp/scipy114/bin/python scripts/reference/ks_cases.py

The samples come from splitmix64, mirrored bit for bit by `sample()` in the Rust tests:
a value is `loc + hi32 / 2^32` (kind 0, continuous), `loc + (hi32 % levels)` (kind 1, ties),
or `loc + i` (kind 2, an arange), where hi32 is the top half of the i-th splitmix64 output.
The whole block of n values is repeated `repeat` times.
"""

import warnings

import numpy as np
import scipy
from scipy import special, stats

assert scipy.__version__ == "1.14.1", scipy.__version__

MASK = (1 << 64) - 1


def splitmix64(seed, count):
    state = seed & MASK
    for _ in range(count):
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        yield z ^ (z >> 31)


def sample(kind, n, seed, levels, loc, repeat):
    """Mirror of `tests::sample` in ks.rs."""
    if kind == 2:
        block = [loc + float(i) for i in range(n)]
    else:
        block = []
        for z in splitmix64(seed, n):
            hi32 = z >> 32
            if kind == 0:
                block.append(loc + hi32 / 4294967296.0)
            else:
                block.append(loc + float(hi32 % levels))
    return np.array(block * repeat, dtype=np.float64)


# (name, x spec, y spec); a spec is (kind, n, seed, levels, loc, repeat).
CASES = [
    ("unequal 40 v 37", (0, 40, 1, 0, 0.0, 1), (0, 37, 2, 0, 0.1, 1)),
    ("unequal 200 v 150, shifted", (0, 200, 3, 0, 0.0, 1), (0, 150, 4, 0, 0.3, 1)),
    ("unequal 7 v 300", (0, 7, 5, 0, 0.2, 1), (0, 300, 6, 0, 0.0, 1)),
    ("unequal 400 v 399", (0, 400, 7, 0, 0.0, 1), (0, 399, 8, 0, 0.08, 1)),
    ("unequal 10 v 10000", (0, 10, 9, 0, 0.3, 1), (0, 10000, 10, 0, 0.0, 1)),
    ("unequal 10000 v 9999 (lcm ~1e8)", (0, 10000, 11, 0, 0.0, 1), (0, 9999, 12, 0, 0.02, 1)),
    ("ties 60 v 45", (1, 60, 13, 5, 0.0, 1), (1, 45, 14, 5, 0.0, 1)),
    ("ties 100 v 80, shifted", (1, 100, 15, 10, 0.0, 1), (1, 80, 16, 10, 1.0, 1)),
    ("ties 50 v 50", (1, 50, 17, 4, 0.0, 1), (1, 50, 18, 4, 0.0, 1)),
    ("identical 50 v 50", (0, 50, 19, 0, 0.0, 1), (0, 50, 19, 0, 0.0, 1)),
    ("same ecdf 30 v 60", (0, 30, 20, 0, 0.0, 1), (0, 30, 20, 0, 0.0, 2)),
    ("separated 30 v 45", (0, 30, 21, 0, 0.0, 1), (0, 45, 22, 0, 2.0, 1)),
    ("separated 25 v 25", (0, 25, 23, 0, 5.0, 1), (0, 25, 24, 0, 0.0, 1)),
    ("equal 69, h = 2: exact gives p > 1, falls back", (2, 69, 0, 0, 0.0, 1), (2, 69, 0, 0, 2.0, 1)),
    ("equal 30, h = 1: exact gives p > 1, falls back", (2, 30, 0, 0, 0.5, 1), (2, 30, 0, 0, 0.0, 1)),
    ("asymp 10001 v 500", (0, 10001, 25, 0, 0.0, 1), (0, 500, 26, 0, 0.1, 1)),
    ("asymp 12000 v 11000", (0, 12000, 27, 0, 0.0, 1), (0, 11000, 28, 0, 0.03, 1)),
    ("asymp 10001 v 10001 (en = 5000.5)", (0, 10001, 29, 0, 0.0, 1), (0, 10001, 30, 0, 0.004, 1)),
]

# (d, n): each hits one branch of _kolmogn(n, d, cdf=False).
KSTWO = [
    (0.04, 10),  # d <= 0.5/n: support edge
    (0.08, 10),  # t <= 1, n <= 140: Ruben-Gambino product
    (0.004, 200),  # t <= 1, n > 140: Stirling form
    (0.95, 10),  # t >= n - 1
    (0.6, 20),  # d >= 0.5: 2 smirnov
    (0.1, 50),  # n <= 140, n d^2 <= 0.754693: Durbin matrix (MTW)
    (0.05, 100),  # same, bigger matrix
    (0.2, 50),  # n <= 140, n d^2 <= 4: Pomeranz
    (0.1, 140),  # Pomeranz at n = 140
    (0.35, 50),  # n <= 140, n d^2 > 4: 2 smirnov
    (0.05, 1000),  # n > 140, n d^2 >= 2.2: 2 smirnov
    (0.01, 1000),  # n > 140, n d^1.5 <= 1.4: Durbin with long-double tail
    (0.03, 1000),  # n > 140: Pelz-Good
    (0.002, 200000),  # n > 100000: Pelz-Good
    (0.0012, 2000000),  # smirnov with n > 1e6 (its asymptotic branch)
    (0.006, 100000),  # smirnov lower sum, many terms
    (0.3, 5000),  # n d^2 >= 370: 0
    (0.0141, 5000),  # Pelz-Good near the 2.2 switch
    (0.5, 3),  # d >= 0.5 at small n
    (0.02, 400),  # n > 140 Durbin
    (0.165, 140),  # Pomeranz near its upper switch (small sf)
]

SMIRNOV = [
    (5, 0.1),  # x <= 1/n
    (10, 0.1),  # x = 1/n exactly
    (10, 0.95),  # x >= 1 - 1/n
    (20, 0.3),
    (100, 0.04),  # upper sum (few terms, x <= 0.5/sqrt(n))
    (400, 0.02),  # upper sum
    (1000, 0.05),
    (100000, 0.06),  # -2 n x^2 < -708 but > MINLOG = -745.13: subnormal result
    (100000, 0.07),  # below MINLOG: 0
    (2000000, 0.0012),  # n > 1e6
]


def rs_float(v):
    r = repr(float(v))
    if r in ("inf", "nan"):
        raise ValueError(r)
    if "e" not in r and "." not in r:
        r += ".0"
    return r


def ks_case(x, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = stats.ks_2samp(x, y)
    exact = max(len(x), len(y)) <= 10000 and not any(
        "Exact calculation unsuccessful" in str(w.message) for w in caught
    )
    return float(res.statistic), float(res.pvalue), exact


def spec_rs(s):
    kind, n, seed, levels, loc, repeat = s
    return f"({kind}, {n}, {seed}, {levels}, {rs_float(loc)}, {repeat})"


def main():
    lines = [
        f"// Generated by scripts/reference/ks_cases.py with scipy {scipy.__version__}, "
        f"numpy {np.__version__}.",
        "// (name, x spec, y spec, statistic, pvalue, exact); spec = (kind, n, seed, levels, loc, repeat).",
        "#[rustfmt::skip]",
        "const KS_CASES: &[(&str, Spec, Spec, f64, f64, bool)] = &[",
    ]
    for name, xs, ys in CASES:
        d, p, exact = ks_case(sample(*xs), sample(*ys))
        lines.append(f"    (\"{name}\", {spec_rs(xs)}, {spec_rs(ys)}, {rs_float(d)}, {rs_float(p)}, "
                     f"{str(exact).lower()}),")
    lines += ["];", "", "// (d, n, scipy.stats.kstwo.sf(d, n)), one case per branch of `_kolmogn`.",
              "#[rustfmt::skip]", "const KSTWO_CASES: &[(f64, usize, f64)] = &["]
    for d, n in KSTWO:
        lines.append(f"    ({rs_float(d)}, {n}, {rs_float(stats.kstwo.sf(d, n))}),")
    lines += ["];", "", "// (n, d, scipy.special.smirnov(n, d))", "#[rustfmt::skip]",
              "const SMIRNOV_CASES: &[(i64, f64, f64)] = &["]
    for n, d in SMIRNOV:
        lines.append(f"    ({n}, {rs_float(d)}, {rs_float(special.smirnov(n, d))}),")
    lines.append("];")
    # Indented for pasting into `mod tests` of engine/src/metrics/ks.rs.
    print("\n".join(("    " + line) if line else "" for line in lines))

if __name__ == "__main__":
    main()
