//! The run pages in headless Chromium against the real `lethe serve`: the new-run form with its
//! instant and server-side validation, the live page following a run to its result, the
//! read-only share page without a token, the sweep builder and the compare page. The fake
//! executor makes most of them deterministic (20 steps of 100 ms, forget quality = lr × 1000);
//! the last test trains the tiny Llama fixture with the real engine.
#![expect(clippy::unwrap_used, reason = "test setup")]

use std::path::{Path, PathBuf};
use std::time::Duration;

use lethe_e2e::browser::Browser;
use lethe_e2e::http;
use lethe_e2e::server::{LetheServer, lethe_binary};
use shared::run::{Created, RunDetail, RunState};

fn models_dir() -> tempfile::TempDir {
    let models = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(models.path().join("tiny")).unwrap();
    std::fs::write(models.path().join("tiny/config.json"), "{}").unwrap();
    models
}

async fn fake_server(models: &Path, extra: &[&str]) -> anyhow::Result<LetheServer> {
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "--fake-executor".as_ref(),
        "--model-root".as_ref(),
        models.as_os_str(),
    ];
    args.extend(extra.iter().map(|a| std::ffi::OsStr::new(*a)));
    LetheServer::start_with(&args).await
}

/// Polls `GET /api/runs/{id}` until the run is in a terminal state.
async fn finished(server: &LetheServer, id: i64, token: Option<&str>) -> anyhow::Result<RunDetail> {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth
        .as_deref()
        .map(|a| vec![("Authorization", a)])
        .unwrap_or_default();
    for _ in 0..600 {
        let response = http::get(server.authority(), &format!("/api/runs/{id}"), &headers).await?;
        let run: RunDetail = serde_json::from_slice(&response.body)?;
        if run.summary.state.is_terminal() {
            return Ok(run);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("run {id} did not finish within a minute")
}

/// Opens the new-run form and waits until the registry's `model` is offered.
async fn open_form(browser: &Browser, server: &LetheServer, model: &str) -> anyhow::Result<()> {
    browser.open(&server.base_url, "/runs/new").await?;
    browser
        .wait_for_text(&field("model"), |t| t.contains(model))
        .await?;
    Ok(())
}

fn field(name: &str) -> String {
    format!(r#"[data-testid="field-{name}"]"#)
}

fn error(name: &str) -> String {
    format!(r#"[data-testid="error-{name}"]"#)
}

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
    browser.find("[data-testid=page-run]").await?;
    assert_eq!(
        browser
            .find("[data-testid=run-objective]")
            .await?
            .text()
            .await?,
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
    let legend = browser
        .find("[data-testid=truth-ratio-histogram]")
        .await?
        .text()
        .await?;
    assert!(
        legend.contains("this run (20 items)") && legend.contains("retain reference (20 items)"),
        "{legend}"
    );
    browser.find("[data-testid=chart-loss] polyline").await?;
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
    assert!(
        browser
            .find("[data-testid=log-tail]")
            .await?
            .text()
            .await?
            .contains("fake run of")
    );
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
    let made = tokio::process::Command::new(lethe_binary()?)
        .args(["token", "create", "--name", "alice", "--data-dir"])
        .arg(&server.data_dir)
        .output()
        .await?;
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let token = String::from_utf8(made.stdout)?.trim().to_string();
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
        browser
            .find("[data-testid=run-objective]")
            .await?
            .text()
            .await?,
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_builder_counts_its_grid_and_the_compare_page_lays_runs_out() -> anyhow::Result<()>
{
    let models = models_dir();
    let server = fake_server(models.path(), &[]).await?;
    let browser = Browser::start().await?;
    open_form(&browser, &server, "tiny").await?;
    browser.click("[data-testid=preset-seed-study]").await?;
    browser
        .wait_for_text("[data-testid=sweep-count]", |t| {
            t == "This grid makes 27 runs."
        })
        .await?;
    for unchecked in [
        "sweep-split-forget05",
        "sweep-split-forget10",
        "sweep-method-wga",
        "sweep-method-tnpo",
        "sweep-wrapper-g",
    ] {
        browser.click(&format!("[data-testid={unchecked}]")).await?;
    }
    browser
        .wait_for_text("[data-testid=sweep-count]", |t| {
            t == "This grid makes 2 runs."
        })
        .await?;
    browser.fill("[data-testid=sweep-lrs]", "1e-5, x").await?;
    browser
        .wait_for_text(&error("grid.lrs"), |t| t.contains("`x` is not a number"))
        .await?;
    browser
        .fill("[data-testid=sweep-lrs]", "1e-5, 4e-5")
        .await?;
    browser
        .wait_for_text("[data-testid=submit-run]", |t| t == "Start sweep (4 runs)")
        .await?;
    browser.screenshot("new-sweep").await?;
    let (scroll, viewport) = browser.phone_widths().await?;
    assert!(
        scroll <= viewport,
        "the form scrolls sideways on a phone: {scroll} > {viewport}"
    );
    browser.screenshot("new-sweep-phone").await?;
    browser.client.set_window_size(1280, 800).await?;
    browser.click("[data-testid=submit-run]").await?;
    let path = browser
        .wait_for_path(|p| p.starts_with("/compare?runs="))
        .await?;
    let ids: Vec<i64> = path
        .trim_start_matches("/compare?runs=")
        .replace("%2C", ",")
        .split(',')
        .filter_map(|s| s.parse().ok())
        .collect();
    assert_eq!(ids.len(), 4, "{path}");
    for id in &ids {
        assert_eq!(
            finished(&server, *id, None).await?.summary.state,
            RunState::Succeeded
        );
    }
    browser.client.refresh().await?;
    let table = browser
        .find("[data-testid=compare-table]")
        .await?
        .text()
        .await?;
    assert!(
        table.contains("BalDRO-DV + NPO") && table.contains("tiny"),
        "{table}"
    );
    // Plain and DV rows, two learning rates each: FQ 0.010 and 0.040.
    let first = browser
        .wait_for_text(&format!("[data-testid=compare-cell-{}]", ids[0]), |t| {
            t.contains("0.010")
        })
        .await?;
    assert!(first.contains("0.500"), "MU of the fake: {first}");
    assert_eq!(
        browser
            .count("[data-testid=compare-scatter] circle")
            .await?,
        4
    );
    browser.screenshot("compare").await?;

    // Unpicking a run rewrites the shareable address.
    browser
        .click(&format!("[data-testid=pick-run-{}]", ids[0]))
        .await?;
    let rest: Vec<String> = ids[1..].iter().map(i64::to_string).collect();
    let expected = format!("/compare?runs={}", rest.join("%2C"));
    let plain = format!("/compare?runs={}", rest.join(","));
    browser
        .wait_for_path(|p| p == expected || p == plain)
        .await?;
    browser
        .wait_for_text("[data-testid=compare-table]", |t| {
            !t.contains(&format!("#{} ", ids[0]))
        })
        .await?;

    // The runs list filters from its address: the sweep's tag, then a state none has.
    browser.open(&server.base_url, "/?tag=seed-study").await?;
    browser
        .wait_for_text("[data-testid=page-range]", |t| t == "1–4 of 4")
        .await?;
    browser
        .select("[data-testid=filter-state]", "failed")
        .await?;
    browser.find("[data-testid=runs-empty]").await?;
    browser
        .wait_for_path(|p| p == "/?state=failed&tag=seed-study")
        .await?;
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
    let state = browser
        .find("[data-testid=run-state]")
        .await?
        .text()
        .await?;
    let error = match browser.count("[data-testid=run-error]").await? {
        0 => String::new(),
        _ => {
            browser
                .find("[data-testid=run-error]")
                .await?
                .text()
                .await?
        }
    };
    assert_eq!(state, "succeeded", "{error}");
    let fq = browser
        .wait_for_text("[data-testid=forget-quality]", |t| t != "–")
        .await?;
    assert!(
        fq.parse::<f64>().is_ok(),
        "forget quality is a number: {fq}"
    );
    let legend = browser
        .find("[data-testid=truth-ratio-histogram]")
        .await?
        .text()
        .await?;
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
    browser.screenshot("engine-result").await?;
    browser
        .screenshot_at("[data-testid=truth-ratio-histogram]", "engine-truth-ratios")
        .await?;
    browser
        .screenshot_at("[data-testid=chart-loss]", "engine-training")
        .await?;
    browser.close().await
}
