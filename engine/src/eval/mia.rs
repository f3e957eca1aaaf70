//! The forget split's memorization and membership-inference entries: extraction strength,
//! exact memorization and the four MIA attacks against the holdout split (spec §5).

use std::io::Write as _;

use serde_json::{Map, Value, json};

use super::pass::{Pass, entry, items};
use crate::EngineError;
use crate::data::tofu::{SplitPreset, TofuRow, TofuSource};
use crate::llama::TokenStats;
use crate::llama::score::StatsDetail;
use crate::metrics::extraction::{exact_memorization, extraction_strength};
use crate::metrics::privleak::roc_auc;
use crate::metrics::probability::finite_mean;

/// The answer tokens MIA and memorization look at: the final EOS excluded.
pub(super) fn without_eos(
    stats: &TokenStats,
    eos: Option<u32>,
) -> (Vec<f64>, Vec<u32>, Vec<u32>, Vec<f64>) {
    let mut len = stats.labels.len();
    if len > 0 && Some(stats.labels[len - 1]) == eos {
        len -= 1;
    }
    let z = (0..len)
        .map(|i| {
            (stats.logprobs[i] - stats.mean_logprob[i]) / stats.var_logprob[i].max(1e-6).sqrt()
        })
        .collect();
    (
        stats.logprobs[..len].to_vec(),
        stats.predictions[..len].to_vec(),
        stats.labels[..len].to_vec(),
        z,
    )
}

/// `-mean` of the lowest `max(1, floor(k·L))` values.
fn min_k(values: &[f64], k: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "token counts"
    )]
    let take = ((k * sorted.len() as f64).floor() as usize)
        .max(1)
        .min(sorted.len());
    finite_mean(sorted[..take].iter().copied()).map_or(f64::NAN, |m| -m)
}

/// zlib-compressed length of `text` (default level).
fn zlib_len(text: &str) -> usize {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(text.as_bytes());
    encoder.finish().map_or(text.len(), |v| v.len())
}

pub(super) fn mia_scores(
    stats: &[TokenStats],
    answers: &[&str],
    eos: Option<u32>,
) -> [(String, Vec<f64>); 4] {
    let mut loss = Vec::new();
    let mut zlib = Vec::new();
    let mut mink = Vec::new();
    let mut minkpp = Vec::new();
    for (s, answer) in stats.iter().zip(answers) {
        let avg = s.avg_loss();
        loss.push(avg);
        #[expect(clippy::cast_precision_loss, reason = "byte counts")]
        zlib.push(avg / zlib_len(answer) as f64);
        let (lp, _, _, z) = without_eos(s, eos);
        mink.push(min_k(&lp, 0.4));
        minkpp.push(min_k(&z, 0.4));
    }
    [
        ("mia_loss".into(), loss),
        ("mia_zlib".into(), zlib),
        ("mia_min_k".into(), mink),
        ("mia_min_k_plus_plus".into(), minkpp),
    ]
}

/// Extraction strength and exact memorization of the forget answers (`stats`: their full
/// statistics), and the MIA entries of the forget split against its holdout split.
pub(super) fn forget_extras(
    pass: &mut Pass<'_>,
    data: &TofuSource,
    preset: SplitPreset,
    rows: &[TofuRow],
    stats: &[TokenStats],
    metrics: &mut Map<String, Value>,
) -> Result<(), EngineError> {
    let eos = pass.model.tokenizer.eos_id;
    let (mut es, mut em) = (Vec::new(), Vec::new());
    for s in stats {
        let (_, predictions, labels, _) = without_eos(s, eos);
        es.push(extraction_strength(&predictions, &labels));
        em.push(exact_memorization(&predictions, &labels).unwrap_or(f64::NAN));
    }
    metrics.insert(
        "extraction_strength".into(),
        entry(
            items(es.iter().map(|v| json!({"score": v}))),
            finite_mean(es.iter().copied()),
        ),
    );
    metrics.insert(
        "exact_memorization".into(),
        entry(
            items(em.iter().map(|v| json!({"score": v}))),
            finite_mean(em.iter().copied()),
        ),
    );
    let holdout = data.read(&preset.holdout())?;
    let (_, _, holdout_stats) = pass.prob_entry(
        "holdout probabilities",
        &holdout,
        |r| r.answer.as_str(),
        StatsDetail::Full,
    )?;
    let forget_answers: Vec<&str> = rows.iter().map(|r| r.answer.as_str()).collect();
    let holdout_answers: Vec<&str> = holdout.iter().map(|r| r.answer.as_str()).collect();
    let member = mia_scores(stats, &forget_answers, eos);
    let non_member = mia_scores(&holdout_stats, &holdout_answers, eos);
    for ((name, forget), (_, holdout)) in member.into_iter().zip(non_member) {
        let auc = roc_auc(&forget, &holdout);
        let side = |scores: &[f64]| {
            entry(
                items(scores.iter().map(|s| json!({"score": s}))),
                finite_mean(scores.iter().copied()),
            )
        };
        metrics.insert(name, json!({"forget": side(&forget), "holdout": side(&holdout), "auc": auc, "agg_value": auc}));
    }
    Ok(())
}
