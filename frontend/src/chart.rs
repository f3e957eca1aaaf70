//! Pure chart geometry (tested natively): scales from data to SVG pixels, tick placement,
//! histograms and polyline paths. The SVG components in `components::charts` only draw what
//! these functions compute.

/// A map from a data interval onto a pixel interval, linear or base-10 logarithmic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    /// Data minimum (for log scales, the minimum's log10).
    lo: f64,
    /// Data maximum (for log scales, the maximum's log10).
    hi: f64,
    /// Pixel of `lo`.
    from: f64,
    /// Pixel of `hi`.
    to: f64,
    log: bool,
}

/// Smallest positive value a log axis shows; forget quality reaches 1e-21 and exact zeros.
pub const LOG_FLOOR: f64 = 1e-30;

impl Scale {
    /// A linear scale of `[lo, hi]` onto `[from, to]`; a degenerate domain is widened by ±0.5 (or
    /// ±10 %) so a constant series still draws as a line in the middle.
    pub fn linear(lo: f64, hi: f64, from: f64, to: f64) -> Self {
        let (lo, hi) = widen(lo, hi);
        Self {
            lo,
            hi,
            from,
            to,
            log: false,
        }
    }

    /// A log10 scale of `[lo, hi]` (both clamped to ≥ [`LOG_FLOOR`]) onto `[from, to]`, its ends
    /// rounded out to whole decades.
    pub fn log10(lo: f64, hi: f64, from: f64, to: f64) -> Self {
        let lo = lo.max(LOG_FLOOR).log10().floor();
        let hi = hi.max(LOG_FLOOR).log10().ceil();
        let hi = if hi <= lo { lo + 1.0 } else { hi };
        Self {
            lo,
            hi,
            from,
            to,
            log: true,
        }
    }

    /// The pixel of `value` (values outside the domain extrapolate; log scales clamp at the
    /// floor).
    pub fn px(&self, value: f64) -> f64 {
        let v = if self.log {
            value.max(LOG_FLOOR).log10()
        } else {
            value
        };
        self.from + (v - self.lo) / (self.hi - self.lo) * (self.to - self.from)
    }

    /// Tick values: whole decades on a log scale (at most about `target`, skipping evenly), and
    /// 1-2-5 steps on a linear one.
    pub fn ticks(&self, target: usize) -> Vec<f64> {
        if self.log {
            #[expect(
                clippy::cast_possible_truncation,
                reason = "decade exponents are small"
            )]
            let (lo, hi) = (self.lo as i32, self.hi as i32);
            let decades = usize::try_from(hi - lo).unwrap_or(0) + 1;
            let stride = decades.div_ceil(target.max(2)).max(1);
            // Stride down from the top decade, so 1 (FQ's best value) is always a tick.
            let mut ticks: Vec<f64> = (lo..=hi)
                .rev()
                .step_by(stride)
                .map(|e| 10_f64.powi(e))
                .collect();
            ticks.reverse();
            ticks
        } else {
            nice_ticks(self.lo, self.hi, target)
        }
    }
}

fn widen(lo: f64, hi: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    if hi > lo {
        (lo, hi)
    } else {
        let pad = if lo == 0.0 { 0.5 } else { lo.abs() * 0.1 };
        (lo - pad, lo + pad)
    }
}

/// Tick values inside `[lo, hi]` with a 1, 2 or 5 × 10^k step, about `target` of them.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    let (lo, hi) = widen(lo, hi);
    #[expect(clippy::cast_precision_loss, reason = "tick counts are tiny")]
    let raw = (hi - lo) / target.max(1) as f64;
    #[expect(
        clippy::cast_possible_truncation,
        reason = "decade exponents are small"
    )]
    let exponent = raw.log10().floor() as i32;
    let magnitude = 10_f64.powi(exponent);
    // The 1-2-5 step nearest the raw step.
    let multiple = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .min_by(|a, b| {
            (a * magnitude - raw)
                .abs()
                .total_cmp(&(b * magnitude - raw).abs())
        })
        .unwrap_or(1.0);
    let step = multiple * magnitude;
    // k × multiple is a whole number; dividing it by an exact power of ten (rather than
    // multiplying by 0.1) keeps 3 × 0.2 at 0.6 instead of 0.6000000000000001.
    let at = |k: f64| {
        if exponent < 0 {
            k * multiple / 10_f64.powi(-exponent)
        } else {
            k * multiple * magnitude
        }
    };
    let first = (lo / step - 1e-9).ceil();
    let last = (hi / step + 1e-9).floor();
    let mut ticks = Vec::new();
    let mut k = first;
    while k <= last + 1e-9 {
        ticks.push(at(k) + 0.0);
        k += 1.0;
    }
    ticks
}

/// A tick label: `1e-5` style for decades, otherwise the shortest of 4 significant digits.
pub fn tick_label(value: f64, log: bool) -> String {
    if log {
        return format!("1e{}", value.log10().round());
    }
    if value == 0.0 {
        return "0".into();
    }
    if value.abs() >= 1e4 || value.abs() < 1e-3 {
        // Two significant digits: neighbouring ticks of a narrow range (1.8e-5, 1.9e-5) differ.
        return format!("{value:.1e}").replace(".0e", "e");
    }
    let text = format!("{value:.4}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Minimum and maximum of the finite values, or `None` when there are none.
pub fn extent(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// Counts of `values` in `bins` equal-width bins over `[lo, hi]`; the last bin is closed,
/// values outside the range and non-finite values are left out.
pub fn histogram(values: &[f64], lo: f64, hi: f64, bins: usize) -> Vec<usize> {
    let mut counts = vec![0; bins];
    if bins == 0 || hi <= lo {
        return counts;
    }
    #[expect(clippy::cast_precision_loss, reason = "bin counts are small")]
    let width = (hi - lo) / bins as f64;
    for v in values.iter().copied().filter(|v| v.is_finite()) {
        if v < lo || v > hi {
            continue;
        }
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "v ≥ lo, so the quotient is a small non-negative number"
        )]
        let bin = (((v - lo) / width) as usize).min(bins - 1);
        counts[bin] += 1;
    }
    counts
}

/// An SVG `points` attribute for `(x, y)` pairs already in pixels, skipping non-finite points.
pub fn polyline(points: impl IntoIterator<Item = (f64, f64)>) -> String {
    points
        .into_iter()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .map(|(x, y)| format!("{x:.1},{y:.1}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A heat-map cell's opacity for `value` in `[lo, hi]`: 0.08 (low) to 1 (high), so the
/// lowest value still shows as a cell.
pub fn shade(value: f64, lo: f64, hi: f64) -> f64 {
    if !(value.is_finite() && hi > lo) {
        return 0.5;
    }
    0.08 + 0.92 * ((value - lo) / (hi - lo)).clamp(0.0, 1.0)
}

/// Seconds as `42s`, `3m 05s`, `1h 02m`.
pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "–".into();
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "non-negative seconds"
    )]
    let s = seconds.round() as u64;
    match s {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {:02}s", s / 60, s % 60),
        s => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_scales_map_ends_to_pixels_and_flip_for_y() {
        let x = Scale::linear(0.0, 10.0, 40.0, 440.0);
        assert_eq!(x.px(0.0), 40.0);
        assert_eq!(x.px(10.0), 440.0);
        assert_eq!(x.px(2.5), 140.0);
        let y = Scale::linear(0.0, 1.0, 200.0, 10.0);
        assert_eq!(y.px(1.0), 10.0);
        assert_eq!(y.px(0.5), 105.0);
        let flat = Scale::linear(3.0, 3.0, 0.0, 100.0);
        assert!((flat.px(3.0) - 50.0).abs() < 1e-9);
    }

    #[test]
    fn log_scales_round_out_to_decades_and_clamp_zero() {
        let x = Scale::log10(3e-21, 0.6, 0.0, 210.0);
        assert_eq!(x.px(1e-21), 0.0);
        assert_eq!(x.px(1.0), 210.0);
        assert!((x.px(1e-10) - 110.0).abs() < 1e-9);
        assert_eq!(x.px(0.0), x.px(LOG_FLOOR));
        let ticks = x.ticks(6);
        assert_eq!(ticks.last(), Some(&1.0));
        assert!(ticks.len() <= 7, "{ticks:?}");
        assert_eq!(tick_label(1e-5, true), "1e-5");
    }

    #[test]
    fn nice_ticks_use_round_steps() {
        assert_eq!(nice_ticks(0.0, 1.0, 5), [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        assert_eq!(nice_ticks(0.0, 0.3, 3), [0.0, 0.1, 0.2, 0.3]);
        assert_eq!(nice_ticks(3.0, 97.0, 4), [20.0, 40.0, 60.0, 80.0]);
        assert_eq!(tick_label(0.30000000000000004, false), "0.3");
        assert_eq!(tick_label(2e-5, false), "2e-5");
        assert_eq!(tick_label(1.9e-5, false), "1.9e-5");
        assert_eq!(tick_label(40.0, false), "40");
    }

    #[test]
    fn histograms_bin_inclusively_and_drop_outliers() {
        let values = [0.0, 0.1, 0.5, 0.99, 1.0, 1.5, f64::NAN];
        assert_eq!(histogram(&values, 0.0, 1.0, 2), [2, 3]);
        assert_eq!(histogram(&values, 0.0, 1.0, 0), Vec::<usize>::new());
        assert_eq!(extent([2.0, f64::NAN, -1.0]), Some((-1.0, 2.0)));
        assert_eq!(extent([f64::NAN]), None);
    }

    #[test]
    fn polylines_skip_gaps_and_durations_read_naturally() {
        assert_eq!(
            polyline([(0.0, 1.0), (f64::NAN, 2.0), (2.04, 3.0)]),
            "0.0,1.0 2.0,3.0"
        );
        assert_eq!(duration(42.4), "42s");
        assert_eq!(duration(185.0), "3m 05s");
        assert_eq!(duration(3720.0), "1h 02m");
        assert_eq!(duration(f64::INFINITY), "–");
        assert!((shade(1.0, 1.0, 3.0) - 0.08).abs() < 1e-12);
        assert!((shade(3.0, 1.0, 3.0) - 1.0).abs() < 1e-12);
        assert_eq!(shade(2.0, 2.0, 2.0), 0.5);
    }
}
