//! The SIMD loops behind [`super::product`], written against pulp's [`Simd`] so that one body
//! runs with AVX-512 (16 lanes) or AVX2+FMA (8 lanes), chosen at run time like gemm's kernels.
//!
//! Two layouts of the weight, both read in place:
//! - `[k, n]` (burn's `Linear` weight): each output row is a sum of weight rows scaled by the
//!   input (`axpy`). `RR` input rows × `CV` vectors of output columns stay in registers while the
//!   loop walks down the weight's rows, so each weight element is loaded once per row block.
//! - `[n, k]` (the tied embedding used as the head): each output is a dot product of an input row
//!   with a weight row; `RR` input rows × `T` weight rows of vector partial sums.

use pulp::{Simd, WithSimd};

/// Weight rows per band of [`Block::axpy`].
const DEPTH: usize = 16;

/// Weight rows per pass of [`Block::dot`] over every input row.
const DOT_COLUMNS: usize = 64;

/// How the weight is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Form {
    /// `[k, n]`, row-major: output column `j` is column `j`.
    KByN,
    /// `[n, k]`, row-major: output column `j` is row `j`.
    NByK,
}

/// One panel of the product: columns `cols` of `x · W` for every row of `x`.
pub(super) struct Panel<'a> {
    /// `[m, k]`, row-major.
    pub x: &'a [f32],
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub w: &'a [f32],
    pub form: Form,
    pub cols: std::ops::Range<usize>,
}

impl Panel<'_> {
    /// `[m, cols.len()]`, row-major; `None` on a processor without AVX2+FMA.
    pub(super) fn run(self) -> Option<Vec<f32>> {
        #[cfg(target_arch = "x86_64")]
        {
            if let Some(simd) = pulp::x86::V4::try_new() {
                return Some(<pulp::x86::V4 as Simd>::vectorize(simd, self));
            }
            if let Some(simd) = pulp::x86::V3::try_new() {
                return Some(<pulp::x86::V3 as Simd>::vectorize(simd, self));
            }
        }
        let _ = self;
        None
    }

    /// Whether [`Panel::run`] has an instruction set to run on here.
    pub(super) fn supported() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            pulp::x86::V3::try_new().is_some()
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }
}

impl WithSimd for Panel<'_> {
    type Output = Vec<f32>;

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> Vec<f32> {
        let lanes = size_of::<S::f32s>() / size_of::<f32>();
        let width = self.cols.len();
        let mut out = vec![0.0f32; self.m * width];
        // The dot form takes `DOT_COLUMNS` weight rows at a time past every input row, so that
        // they are read from memory once (from cache for the next row blocks). The axpy form's
        // row blocks each stream the whole panel: taking its bands past every row block instead
        // measured no faster up to 16 rows, within this machine's run-to-run noise.
        let chunk = match self.form {
            Form::KByN => width.max(1),
            Form::NByK => DOT_COLUMNS,
        };
        for start in self.cols.clone().step_by(chunk) {
            let cols = start..(start + chunk).min(self.cols.end);
            let mut row = 0;
            while row < self.m {
                let left = self.m - row;
                // Sixteen accumulators fit AVX-512's 32 registers with room to spare; AVX2 has 16.
                let rows = match left {
                    8.. if lanes >= 16 => 8,
                    4.. => 4,
                    2.. => 2,
                    _ => 1,
                };
                let block = Block {
                    x: &self.x[row * self.k..(row + rows) * self.k],
                    k: self.k,
                    n: self.n,
                    w: self.w,
                    cols: cols.clone(),
                    first: self.cols.start,
                    width,
                    out: &mut out[row * width..(row + rows) * width],
                };
                match (self.form, rows) {
                    (Form::KByN, 8) => block.axpy::<S, 8>(simd),
                    (Form::KByN, 4) => block.axpy::<S, 4>(simd),
                    (Form::KByN, 2) => block.axpy::<S, 2>(simd),
                    (Form::KByN, _) => block.axpy::<S, 1>(simd),
                    (Form::NByK, 8) => block.dot::<S, 8, 3>(simd),
                    (Form::NByK, 4) => block.dot::<S, 4, 4>(simd),
                    (Form::NByK, 2) => block.dot::<S, 2, 4>(simd),
                    (Form::NByK, _) => block.dot::<S, 1, 4>(simd),
                }
                row += rows;
            }
        }
        out
    }
}

/// `RR` rows of the input against a panel of the weight.
struct Block<'a> {
    /// `[RR, k]`.
    x: &'a [f32],
    k: usize,
    n: usize,
    w: &'a [f32],
    /// The columns to compute.
    cols: std::ops::Range<usize>,
    /// The panel's first column: column 0 of `out`.
    first: usize,
    /// The panel's width.
    width: usize,
    /// `[RR, width]`.
    out: &'a mut [f32],
}

impl Block<'_> {
    /// `out[r, j - first] = Σ_p x[r, p] · w[p, j]`, `w` `[k, n]`.
    #[inline(always)]
    fn axpy<S: Simd, const RR: usize>(mut self, simd: S) {
        let lanes = size_of::<S::f32s>() / size_of::<f32>();
        // x transposed to `[k, RR]`: one contiguous group of inputs per weight row.
        let mut xt = vec![0.0f32; self.k * RR];
        for (r, x) in self.x.chunks_exact(self.k).enumerate() {
            for (p, &value) in x.iter().enumerate() {
                xt[p * RR + r] = value;
            }
        }
        // A band of `DEPTH` weight rows at a time, every column of the panel across it: the band's
        // rows are read front to back side by side (streams the prefetcher follows), and the
        // partial sums wait in `out` between bands.
        let mut col = self.cols.start;
        for band in (0..self.k).step_by(DEPTH) {
            let band = band..(band + DEPTH).min(self.k);
            col = self.cols.start;
            // Wide blocks while they fit (enough independent chains to hide the FMA latency with
            // few rows, sixteen accumulators at most), then narrower ones, then the ragged edge.
            if RR <= 2 || (RR == 4 && lanes >= 16) {
                while col + 4 * lanes <= self.cols.end {
                    self.axpy_columns::<S, RR, 4>(simd, &xt, col, band.clone());
                    col += 4 * lanes;
                }
            }
            while col + 2 * lanes <= self.cols.end {
                self.axpy_columns::<S, RR, 2>(simd, &xt, col, band.clone());
                col += 2 * lanes;
            }
            while col + lanes <= self.cols.end {
                self.axpy_columns::<S, RR, 1>(simd, &xt, col, band.clone());
                col += lanes;
            }
        }
        for j in col..self.cols.end {
            for (r, x) in self.x.chunks_exact(self.k).enumerate() {
                let mut sum = 0.0f32;
                for (p, &xv) in x.iter().enumerate() {
                    sum = xv.mul_add(self.w[p * self.n + j], sum);
                }
                self.out[r * self.width + j - self.first] = sum;
            }
        }
    }

    /// Columns `col..col + CV·lanes` of [`Block::axpy`], adding the weight rows `band`.
    #[inline(always)]
    fn axpy_columns<S: Simd, const RR: usize, const CV: usize>(
        &mut self,
        simd: S,
        xt: &[f32],
        col: usize,
        band: std::ops::Range<usize>,
    ) {
        let lanes = size_of::<S::f32s>() / size_of::<f32>();
        let span = CV * lanes;
        let (width, at) = (self.width, col - self.first);
        let mut acc: [[S::f32s; CV]; RR] = std::array::from_fn(|r| {
            let (sums, _) = S::as_simd_f32s(&self.out[r * width + at..][..span]);
            std::array::from_fn(|v| sums[v])
        });
        let xt = &xt[band.start * RR..band.end * RR];
        let w = &self.w[band.start * self.n..band.end * self.n];
        for (xs, wrow) in xt.chunks_exact(RR).zip(w.chunks_exact(self.n)) {
            let (ws, _) = S::as_simd_f32s(&wrow[col..col + span]);
            for (acc, &xv) in acc.iter_mut().zip(xs) {
                let xv = simd.splat_f32s(xv);
                for (a, &wv) in acc.iter_mut().zip(ws) {
                    *a = simd.mul_add_f32s(xv, wv, *a);
                }
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            let (out, _) = S::as_mut_simd_f32s(&mut self.out[r * width + at..][..span]);
            out.copy_from_slice(acc);
        }
    }

    /// `out[r, j - cols.start] = Σ_p x[r, p] · w[j, p]`, `w` `[n, k]`: `T` weight rows at a time.
    #[inline(always)]
    fn dot<S: Simd, const RR: usize, const T: usize>(self, simd: S) {
        let lanes = size_of::<S::f32s>() / size_of::<f32>();
        let k = self.k;
        let full = k - k % lanes;
        let width = self.width;
        let mut j = self.cols.start;
        while j < self.cols.end {
            let take = (self.cols.end - j).min(T);
            // Past the panel's last column the block repeats that row; its sums are dropped.
            let wrows: [&[f32]; T] = std::array::from_fn(|t| {
                let row = j + t.min(take - 1);
                &self.w[row * k..(row + 1) * k]
            });
            let xrows: [&[f32]; RR] = std::array::from_fn(|r| &self.x[r * k..(r + 1) * k]);
            let mut acc = [[simd.splat_f32s(0.0); T]; RR];
            let mut p = 0;
            while p < full {
                let ws: [S::f32s; T] =
                    std::array::from_fn(|t| S::as_simd_f32s(&wrows[t][p..p + lanes]).0[0]);
                for (acc, x) in acc.iter_mut().zip(&xrows) {
                    let xv = S::as_simd_f32s(&x[p..p + lanes]).0[0];
                    for (a, &wv) in acc.iter_mut().zip(&ws) {
                        *a = simd.mul_add_f32s(xv, wv, *a);
                    }
                }
                p += lanes;
            }
            for (r, (acc, x)) in acc.iter().zip(&xrows).enumerate() {
                for (t, (&lanes, weights)) in acc.iter().zip(&wrows).enumerate().take(take) {
                    let mut sum = simd.reduce_sum_f32s(lanes);
                    for q in full..k {
                        sum = x[q].mul_add(weights[q], sum);
                    }
                    self.out[r * width + j + t - self.first] = sum;
                }
            }
            j += take;
        }
    }
}
