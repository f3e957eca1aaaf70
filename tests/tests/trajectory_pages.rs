//! The forgetting trajectory in headless Chromium against the real `lethe serve` and the real
//! engine on a reduced `demo`: a run set up in the form's *While training* fieldset draws its
//! path through the forget quality × model utility plane live, labelled by step, with the kept
//! checkpoint marked on top and named in the result; its *Robustness attacks* (relearning and
//! 4-bit weights) fill the result's Robustness table; the compare page overlays two runs' paths
//! and shows how much forget probability each attack recovered.

use std::time::Duration;

use lethe_e2e::browser::{Browser, Painted};
use lethe_e2e::pages::{SVG_NS, field, finished, submit};
use lethe_e2e::server::{LetheServer, lethe};
use shared::run::RunState;

/// The longest a run of the reduced demo may take here.
const RUN_LIMIT: Duration = Duration::from_secs(300);

fn all_painted(marks: &[Painted], what: &str) {
    assert!(!marks.is_empty(), "no {what}");
    for mark in marks {
        assert!(mark.visible(), "a {what} is not painted: {mark:?}");
        assert_eq!(mark.namespace.as_deref(), Some(SVG_NS), "{what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_page_draws_the_trajectory_and_the_compare_page_overlays_two() -> anyhow::Result<()>
{
    let work = tempfile::tempdir()?;
    let built = work.path().join("built");
    lethe(&[
        &"demo",
        &"build",
        &"--authors",
        &"20",
        &"--questions",
        &"4",
        &"--epochs",
        &"8",
        &"--splits",
        &"forget01",
        &"--data-dir",
        &built,
    ])
    .await?;
    let server = LetheServer::start_with(&[
        "--model-root".as_ref(),
        built.join("models").as_os_str(),
        "--tofu-dir".as_ref(),
        built.join("tofu-generated-20x4").as_os_str(),
    ])
    .await?;

    let browser = Browser::start().await?;
    browser.open(&server.base_url, "/runs/new").await?;
    browser
        .wait_for_text(&field("model"), |t| t.contains("demo"))
        .await?;
    browser
        .select(&field("objective.method"), "grad_ascent")
        .await?;
    for (name, value) in [
        ("trainer.lr", "0.05"),
        ("trainer.epochs", "3"),
        ("trainer.batch_size", "2"),
        ("trainer.grad_accum", "1"),
        ("trainer.warmup_epochs", "0"),
        ("eval.batch_size", "8"),
        ("eval.max_new_tokens", "16"),
    ] {
        browser.fill(&field(name), value).await?;
    }
    // LoRA: its settings appear when it is on, and a bad rank is named under its field.
    browser.click(&field("trainer.lora")).await?;
    let rank = browser.find(&field("trainer.lora.rank")).await?;
    assert_eq!(rank.prop("value").await?.as_deref(), Some("8"));
    browser.fill(&field("trainer.lora.rank"), "0").await?;
    browser
        .wait_for_text(r#"[data-testid="error-trainer.lora.rank"]"#, |t| {
            t.contains("1 to 4096")
        })
        .await?;
    // Drawn, not only in the DOM: the rank box and its error have a box a click lands on.
    for css in [
        field("trainer.lora.rank"),
        r#"[data-testid="error-trainer.lora.rank"]"#.to_string(),
    ] {
        let painted = browser.painted(&css).await?;
        assert!(
            painted.len() == 1
                && painted[0].width > 0.0
                && painted[0].height > 0.0
                && painted[0].hit,
            "{css} is not painted: {painted:?}"
        );
    }
    browser.screenshot("new-run-lora").await?;
    browser.click(&field("trainer.lora")).await?;
    assert_eq!(browser.count(&field("trainer.lora.rank")).await?, 0);
    // Keeping the best checkpoint needs the evaluations during training: the form says so.
    browser.select(&field("eval.during"), "epochs").await?;
    browser.fill(&field("eval.during.every"), "0").await?;
    browser
        .wait_for_text(r#"[data-testid="error-eval.during.every"]"#, |t| {
            t.contains("> 0")
        })
        .await?;
    browser.fill(&field("eval.during.every"), "1").await?;
    browser.fill(&field("eval.during.items"), "24").await?;
    browser
        .select(&field("eval.select"), "best_forget_quality")
        .await?;
    browser.click(&field("attacks.relearn")).await?;
    browser.fill(&field("attacks.0.steps"), "20").await?;
    browser.fill(&field("attacks.0.lr"), "0.01").await?;
    browser.click(&field("attacks.quantize-4")).await?;
    browser
        .wait_for_text("[data-testid=form-problems]", str::is_empty)
        .await?;
    browser.screenshot("trajectory-form").await?;
    browser.click("[data-testid=submit-run]").await?;
    let path = browser
        .wait_for_path(|p| p.starts_with("/runs/") && p != "/runs/new")
        .await?;
    let first: i64 = path.trim_start_matches("/runs/").parse()?;
    let state = browser
        .wait_for_text_within(
            "[data-testid=run-state]",
            |t| t == "succeeded" || t == "failed",
            RUN_LIMIT,
        )
        .await?;
    assert_eq!(state, "succeeded");
    let run = finished(&server, first, None).await?;
    assert_eq!(run.spec.eval.during.map(|d| d.items), Some(24));
    let kept = run.summary.metrics["selected_step"];
    let text = browser
        .wait_for_text("[data-testid=outcome-selected]", |t| !t.is_empty())
        .await?;
    assert!(
        text.starts_with(&format!("Kept the checkpoint of step {kept}")),
        "{text}"
    );
    // Step 0 and three epochs of 2 steps: four points, each labelled by its step and painted
    // (the kept one under the kept mark).
    assert_eq!(
        browser
            .count("[data-testid=chart-trajectory] circle.marker")
            .await?,
        4
    );
    let markers = browser
        .painted("[data-testid=chart-trajectory] circle.marker:not(.kept)")
        .await?;
    assert_eq!(markers.len(), 3, "{markers:?}");
    all_painted(&markers, "trajectory point");
    let labels = browser
        .text("[data-testid=chart-trajectory] g.trajectory")
        .await?;
    for step in ["0", "2", "4", "6"] {
        assert!(labels.contains(step), "step {step} is labelled: {labels}");
    }
    let selected = browser
        .painted("[data-testid=chart-trajectory] [data-testid=trajectory-selected]")
        .await?;
    assert_eq!(selected.len(), 1);
    all_painted(&selected, "kept checkpoint's mark");
    browser
        .screenshot_at("[data-testid=chart-trajectory]", "trajectory-run")
        .await?;
    // The attacks the form set up: one painted row each, with the share recovered.
    assert_eq!(run.spec.attacks.len(), 2, "{:?}", run.spec.attacks);
    for attack in ["relearn", "quantize-4"] {
        let row = browser
            .painted(&format!("[data-testid=attack-{attack}-recovered]"))
            .await?;
        assert!(row.len() == 1 && row[0].visible(), "{attack}: {row:?}");
        let share = browser
            .text(&format!("[data-testid=attack-{attack}-recovered]"))
            .await?;
        assert!(share.ends_with('%'), "{attack}: {share}");
    }
    let recovered = run.summary.metrics["attack_relearn_prob_recovered"];
    assert_eq!(
        browser
            .text("[data-testid=attack-relearn-recovered]")
            .await?,
        format!("{:.0}%", (recovered * 100.0).round() + 0.0)
    );
    browser
        .screenshot_at("[data-testid=robustness]", "robustness")
        .await?;

    // A second run through the API: NPO, evaluated every epoch, keeping the best balance.
    let second = submit(
        &server,
        r#"{"model": "demo", "objective": {"method": "npo"},
            "trainer": {"lr": 5e-3, "epochs": 3, "batch_size": 2, "grad_accum": 1,
                "warmup_epochs": 0},
            "eval": {"batch_size": 8, "max_new_tokens": 16,
                "during": {"every": {"epochs": 1}, "items": 24}, "select": "best_balance"}}"#,
    )
    .await?;
    let done = finished(&server, second, None).await?;
    assert_eq!(done.summary.state, RunState::Succeeded, "{:?}", done.error);
    browser
        .open(&server.base_url, &format!("/compare?runs={first},{second}"))
        .await?;
    browser.find("[data-testid=compare-trajectories]").await?;
    assert_eq!(
        browser
            .count("[data-testid=compare-trajectories] [data-testid=trajectory-path]")
            .await?,
        2
    );
    assert_eq!(
        browser
            .count("[data-testid=compare-trajectories] circle.marker")
            .await?,
        8,
        "two paths of four points"
    );
    browser
        .screenshot_at("[data-testid=compare-trajectories]", "trajectory-compare")
        .await?;
    // Two runs' points can coincide (both start from the same model), so each point is
    // checked for a mark of the plot painted at its centre: its own, or one drawn over it.
    let marks = browser
        .client
        .execute(
            r"return [...document.querySelectorAll('[data-testid=compare-trajectories] circle.marker')]
                 .map(c => {
                   c.scrollIntoView({block: 'center'});
                   const r = c.getBoundingClientRect();
                   const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
                   return [r.width, hit ? hit.tagName + '.' + hit.getAttribute('class') : 'nothing'];
                 });",
            vec![],
        )
        .await?;
    let marks = marks.as_array().cloned().unwrap_or_default();
    assert_eq!(marks.len(), 8, "two paths of four points: {marks:?}");
    for mark in &marks {
        let (width, hit) = (
            mark[0].as_f64().unwrap_or(0.0),
            mark[1].as_str().unwrap_or(""),
        );
        assert!(
            width > 0.0 && (hit.starts_with("circle.marker") || hit.starts_with("circle.selected")),
            "a compared trajectory point is not painted: {mark}"
        );
    }
    let selected = browser
        .painted("[data-testid=compare-trajectories] [data-testid=trajectory-selected]")
        .await?;
    assert_eq!(selected.len(), 2);
    all_painted(&selected, "compared kept checkpoint");
    let cell = browser
        .text(&format!("[data-testid=compare-recovered-{first}]"))
        .await?;
    assert!(
        cell.contains("relearn") && cell.contains("quantize-4"),
        "{cell}"
    );
    let legend = browser
        .text("[data-testid=compare-trajectories] .legend")
        .await?;
    assert!(
        legend.contains(&format!("#{first} GradAscent")) && legend.contains("kept step"),
        "{legend}"
    );
    browser.close().await
}
