//! The run pages in headless Chromium against the real `lethe serve`: the new-run form with its
//! instant and server-side validation, the live page following a run to its result, the
//! read-only share page without a token, the sweep builder and the compare page. The fake
//! executor makes most of them deterministic (20 steps of 100 ms, forget quality = lr × 1000);
//! the last test trains the tiny Llama fixture with the real engine.

use std::path::PathBuf;
use std::time::Duration;

use lethe_e2e::browser::Browser;
use lethe_e2e::http;
use lethe_e2e::pages::{error, fake_server, field, finished, models_dir, open_form};
use lethe_e2e::server::{LetheServer, lethe};
use shared::run::{Created, RunState};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_from_the_form_goes_live_to_its_result_and_share_page() -> anyhow::Result<()> {
    let models = models_dir();
    let roots = tempfile::tempdir()?;
    let server = fake_server(
        models.path(),
        &["--data-root", roots.path().to_str().unwrap()],
    )
    .await?;
    let browser = Browser::start().await?;
    open_form(&browser, &server, "tiny").await?;
    browser.click("[data-testid=preset-baldro-dv-npo]").await?;
    browser.find(&field("wrapper.tau")).await?;

    // The memory switches are painted (a click at each centre lands on it) and reach the spec.
    for css in [
        field("trainer.reference_mode"),
        field("trainer.optimizer_offload"),
        field("trainer.gradient_checkpointing"),
    ] {
        let painted = browser.painted(&css).await?;
        assert!(
            painted.len() == 1 && painted[0].visible(),
            "{css}: {painted:?}"
        );
    }
    browser
        .select(&field("trainer.reference_mode"), "cached")
        .await?;
    browser.click(&field("trainer.optimizer_offload")).await?;
    browser.screenshot("new-run-memory-switches").await?;

    // Instant validation: the same rules as the server, as the user types.
    browser.fill(&field("trainer.lr"), "abc").await?;
    browser
        .wait_for_text(&error("trainer.lr"), |t| {
            t.contains("`abc` is not a number")
        })
        .await?;
    let submit = browser.find("[data-testid=submit-run]").await?;
    assert!(
        submit.attr("disabled").await?.is_some(),
        "submit waits for a valid form"
    );
    browser.fill(&field("trainer.lr"), "-1").await?;
    browser
        .wait_for_text(&error("trainer.lr"), |t| t.contains("must be a number > 0"))
        .await?;
    browser.fill(&field("trainer.lr"), "0.00002").await?;
    browser
        .wait_for_text(&error("trainer.lr"), str::is_empty)
        .await?;
    let typed = browser
        .find(&field("trainer.lr"))
        .await?
        .prop("value")
        .await?;
    assert_eq!(
        typed.as_deref(),
        Some("0.00002"),
        "typing is never rewritten"
    );

    // Only the server knows its data roots: its 422 shows next to the field.
    browser
        .fill(&field("eval.retain_ref"), "/etc/hostname")
        .await?;
    browser.click("[data-testid=submit-run]").await?;
    let message = browser
        .wait_for_text(&error("eval.retain_ref"), |t| !t.is_empty())
        .await?;
    assert!(message.contains("data roots"), "{message}");
    browser.screenshot("new-run-server-422").await?;
    browser.fill(&field("eval.retain_ref"), " ").await?;
    browser
        .wait_for_text(&error("eval.retain_ref"), str::is_empty)
        .await?;

    browser.click("[data-testid=submit-run]").await?;
    let path = browser
        .wait_for_path(|p| p.starts_with("/runs/") && p != "/runs/new")
        .await?;
    let id: i64 = path.trim_start_matches("/runs/").parse()?;
    let detail: shared::run::RunDetail = serde_json::from_slice(
        &http::get(server.authority(), &format!("/api/runs/{id}"), &[])
            .await?
            .body,
    )?;
    assert_eq!(
        detail.spec.trainer.reference_mode,
        shared::run::ReferenceMode::Cached
    );
    assert!(detail.spec.trainer.optimizer_offload);
    browser.find("[data-testid=page-run]").await?;
    assert_eq!(
        browser.text("[data-testid=run-objective]").await?,
        "BalDRO-DV + NPO"
    );
    browser
        .wait_for_text("[data-testid=progress-text]", |t| t.starts_with("step "))
        .await?;
    browser.screenshot("run-live").await?;
    browser
        .wait_for_text("[data-testid=run-state]", |t| t == "succeeded")
        .await?;
    // The fake's forget quality is lr × 1000.
    browser
        .wait_for_text("[data-testid=forget-quality]", |t| t == "0.020")
        .await?;
    assert_eq!(
        browser.count("[data-testid=mu-table] tbody tr").await?,
        9,
        "the nine model-utility inputs"
    );
    let legend = browser.text("[data-testid=truth-ratio-histogram]").await?;
    assert!(
        legend.contains("this run (20 items)") && legend.contains("retain reference (20 items)"),
        "{legend}"
    );
    // Total and forget share an axis; the retain term (half the fake's loss) has its own.
    assert_eq!(browser.count("[data-testid=chart-loss] polyline").await?, 2);
    browser
        .find("[data-testid=chart-retain-loss] polyline")
        .await?;
    let grid_note = browser.text("[data-testid=per-sample-note]").await?;
    assert!(
        grid_note.contains("20 optimizer steps drew 80 samples of 4 forget items, 20 passes"),
        "{grid_note}"
    );
    assert_eq!(
        browser.count("[data-testid=chart-per-sample] rect").await?,
        4 * 20,
        "4 forget items × 20 epochs"
    );
    browser.find("[data-testid=chart-weights] rect").await?;
    browser
        .fill("[data-testid=rouge-search]", "kuwait 14")
        .await?;
    browser
        .wait_for_text("[data-testid=rouge-count]", |t| t == "1 of 1 generation")
        .await?;
    let log = browser
        .wait_for_text("[data-testid=log-tail]", |t| t.ends_with("succeeded"))
        .await?;
    assert!(log.contains("fake run of"), "{log}");
    let eval = browser.find("[data-testid=download-eval]").await?;
    assert_eq!(
        eval.attr("href").await?.as_deref(),
        Some(format!("/api/runs/{id}/artifacts/eval/TOFU_EVAL.json").as_str())
    );
    browser.screenshot("run-result").await?;
    browser
        .screenshot_at("[data-testid=chart-per-sample]", "run-per-sample")
        .await?;
    let (scroll, viewport) = browser.phone_widths().await?;
    assert!(
        scroll <= viewport,
        "the result page scrolls sideways on a phone: {scroll} > {viewport}"
    );
    browser.screenshot("run-result-phone").await?;
    browser.client.set_window_size(1280, 800).await?;

    let share = browser
        .find("[data-testid=share-link]")
        .await?
        .attr("href")
        .await?
        .unwrap();
    assert!(share.starts_with("/s/"), "{share}");
    browser.open(&server.base_url, &share).await?;
    browser.find("[data-testid=page-share]").await?;
    browser
        .wait_for_text("[data-testid=forget-quality]", |t| t == "0.020")
        .await?;
    assert_eq!(browser.count("[data-testid=cancel-run]").await?, 0);
    assert_eq!(browser.count("[data-testid=share-link]").await?, 0);
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_result_opens_without_a_token_on_a_team_server() -> anyhow::Result<()> {
    let models = models_dir();
    let server = fake_server(models.path(), &["--auth", "tokens"]).await?;
    let made = lethe(&[
        &"token",
        &"create",
        &"--name",
        &"alice",
        &"--data-dir",
        &server.data_dir,
    ])
    .await?;
    let token = made.trim().to_string();
    let auth = format!("Bearer {token}");
    let spec = r#"{"model": "tiny", "objective": {"method": "wga"}, "wrapper": {"kind": "g", "ratio": 0.5}, "trainer": {"lr": 3e-5}}"#;
    let response = http::post_json_with(
        server.authority(),
        "/api/runs",
        spec,
        &[("Authorization", &auth)],
    )
    .await?;
    assert_eq!(
        response.status,
        201,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    let id = serde_json::from_slice::<Created>(&response.body)?.ids[0];
    let run = finished(&server, id, Some(&token)).await?;
    assert_eq!(run.summary.state, RunState::Succeeded);
    let slug = run.share_slug.unwrap();

    let browser = Browser::start().await?;
    browser
        .open(&server.base_url, &format!("/s/{slug}"))
        .await?;
    browser
        .wait_for_text("[data-testid=run-state]", |t| t == "succeeded")
        .await?;
    assert_eq!(
        browser.text("[data-testid=run-objective]").await?,
        "BalDRO-G + WGA"
    );
    browser
        .wait_for_text("[data-testid=forget-quality]", |t| t == "0.030")
        .await?;
    // BalDRO-G keeps half of the 4 samples each step.
    browser.find("[data-testid=chart-kept] polyline").await?;
    assert_eq!(browser.count("[data-testid=chart-weights]").await?, 0);
    browser.screenshot("share-team-server").await?;

    // Without the token, everything else on a team server stays closed.
    browser.open(&server.base_url, "/").await?;
    let denied = browser
        .wait_for_text("[data-testid=runs-error]", |t| !t.is_empty())
        .await?;
    assert!(denied.contains("token"), "{denied}");

    // The token pasted into the footer opens the rest: the list, and the live socket (which
    // carries it as a subprotocol, browsers having no websocket headers).
    browser.click("[data-testid=token-control] summary").await?;
    browser.fill("[data-testid=token-input]", &token).await?;
    browser.click("[data-testid=token-save]").await?;
    browser
        .wait_for_text(&format!("[data-testid=run-state-{id}]"), |t| {
            t == "succeeded"
        })
        .await?;
    browser
        .open(&server.base_url, &format!("/runs/{id}"))
        .await?;
    browser
        .wait_for_text("[data-testid=run-state]", |t| t == "succeeded")
        .await?;
    browser
        .wait_for_text("[data-testid=connection]", |t| t == "Finished")
        .await?;
    browser.find("[data-testid=share-link]").await?;
    browser.close().await
}

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
