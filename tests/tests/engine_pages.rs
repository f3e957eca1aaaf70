//! The run pages with the real engine in headless Chromium against the real `lethe serve`: the
//! tiny Llama fixture trains from the form, and the result page shows what the run measured.

use std::path::PathBuf;
use std::time::Duration;

use lethe_e2e::browser::Browser;
use lethe_e2e::pages::{field, open_form};
use lethe_e2e::server::LetheServer;

fn shared_dir() -> Option<PathBuf> {
    let dir = lethe_e2e::repo_root().join("../shared");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: {} is absent", dir.display());
        None
    }
}

/// The real engine: the tiny Llama fixture unlearns 4 TOFU rows from the form, and the result
/// page shows forget quality against a real retain model's truth ratios.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_trains_from_the_form_and_the_result_shows_the_ks_picture() -> anyhow::Result<()>
{
    let Some(shared) = shared_dir() else {
        return Ok(());
    };
    let work = tempfile::tempdir()?;
    let tofu = work.path().join("tofu");
    std::fs::create_dir_all(&tofu)?;
    for split in [
        "forget01",
        "retain99",
        "forget01_perturbed",
        "holdout01",
        "retain_perturbed",
        "real_authors_perturbed",
        "world_facts_perturbed",
    ] {
        let text = std::fs::read_to_string(shared.join(format!("data/tofu/{split}.jsonl")))?;
        let rows: Vec<&str> = text.lines().take(4).collect();
        std::fs::write(tofu.join(format!("{split}.jsonl")), rows.join("\n"))?;
    }
    let reference = shared.join("data/reference_eval/open-unlearning-format");
    let retain = reference.join("tofu_Llama-2-7b-chat-hf_retain99/TOFU_EVAL.json");
    let fixtures = shared.join("fixtures");
    let server = LetheServer::start_with(&[
        "--model-root".as_ref(),
        fixtures.as_os_str(),
        "--tofu-dir".as_ref(),
        tofu.as_os_str(),
        "--data-root".as_ref(),
        reference.as_os_str(),
    ])
    .await?;
    let browser = Browser::start().await?;
    open_form(&browser, &server, "tiny-llama").await?;
    browser.click("[data-testid=preset-baldro-dv-npo]").await?;
    browser.select(&field("model"), "tiny-llama").await?;
    for (name, value) in [
        ("trainer.lr", "1e-3"),
        ("trainer.epochs", "2"),
        ("trainer.batch_size", "2"),
        ("trainer.grad_accum", "1"),
        ("eval.batch_size", "4"),
        ("eval.max_new_tokens", "8"),
    ] {
        browser.fill(&field(name), value).await?;
    }
    browser
        .fill(&field("eval.retain_ref"), retain.to_str().unwrap())
        .await?;
    browser
        .wait_for_text("[data-testid=form-problems]", str::is_empty)
        .await?;
    // The form plans the run on the server's device as the settings change.
    let line = "[data-testid=memory-plan-line]";
    let small = browser
        .wait_for_text(line, |t| t.contains("fits") && t.contains(" on cpu"))
        .await?;
    browser.fill(&field("trainer.batch_size"), "64").await?;
    let large = browser
        .wait_for_text(line, |t| t.contains("fits") && t != small)
        .await?;
    let peak = |text: &str| -> f64 {
        let number = text.split("peak ").nth(1).unwrap_or_default();
        let value: f64 = number
            .split(' ')
            .next()
            .unwrap_or_default()
            .parse()
            .unwrap_or(0.0);
        if number.contains(" GiB on") {
            value * 1024.0
        } else {
            value
        }
    };
    assert!(peak(&large) > peak(&small), "{small} → {large}");
    let painted = browser.painted(line).await?;
    assert!(
        painted.len() == 1 && painted[0].width > 0.0 && painted[0].hit,
        "{painted:?}"
    );
    browser.screenshot("engine-form-memory-plan").await?;
    browser.fill(&field("trainer.batch_size"), "2").await?;
    browser.wait_for_text(line, |t| t == small).await?;
    browser.click("[data-testid=submit-run]").await?;
    browser
        .wait_for_path(|p| p.starts_with("/runs/") && p != "/runs/new")
        .await?;
    browser
        .wait_for_text_within(
            "[data-testid=run-state]",
            |t| t == "succeeded" || t == "failed",
            Duration::from_secs(600),
        )
        .await?;
    let state = browser.text("[data-testid=run-state]").await?;
    let error = match browser.count("[data-testid=run-error]").await? {
        0 => String::new(),
        _ => browser.text("[data-testid=run-error]").await?,
    };
    assert_eq!(state, "succeeded", "{error}");
    let fq = browser
        .wait_for_text("[data-testid=forget-quality]", |t| t != "–")
        .await?;
    assert!(
        fq.parse::<f64>().is_ok(),
        "forget quality is a number: {fq}"
    );
    let legend = browser.text("[data-testid=truth-ratio-histogram]").await?;
    assert!(
        legend.contains("this run (4 items)") && legend.contains("retain reference (40 items)"),
        "{legend}"
    );
    // 2 epochs × 4 forget items, one DV weight each.
    assert_eq!(
        browser.count("[data-testid=chart-per-sample] rect").await?,
        8
    );
    assert_eq!(browser.count("[data-testid=chart-weights] rect").await?, 8);
    assert!(browser.count("[data-testid=rouge-row]").await? >= 4);
    // The memory plan against the measured peak (on cpu, the resident high-water mark).
    let planned = browser.text("[data-testid=memory-planned]").await?;
    let measured = browser.text("[data-testid=memory-measured]").await?;
    let ratio: f64 = browser.text("[data-testid=memory-ratio]").await?.parse()?;
    assert!(
        planned.ends_with(" on cpu") && planned.contains("iB"),
        "{planned}"
    );
    assert!(measured.contains("iB"), "measured on cpu: {measured}");
    // The tiny model is all process overhead, which the plan puts at 300 MiB: only the
    // calibration (docs/TRAINING.md) pins the ratio, on real models.
    assert!(ratio.is_finite() && ratio > 0.0, "plan / measured {ratio}");
    for painted in browser.painted("[data-testid=memory-plan] td").await? {
        assert!(painted.width > 0.0 && painted.hit, "{painted:?}");
    }
    browser.screenshot("engine-result").await?;
    browser
        .screenshot_at("[data-testid=truth-ratio-histogram]", "engine-truth-ratios")
        .await?;
    browser
        .screenshot_at("[data-testid=chart-loss]", "engine-training")
        .await?;
    browser.close().await
}
