//! First paint of the UI on localhost, measured in headless Chromium against the real `lethe
//! serve` (fake executor, one finished run): for `/` and `/runs/1`, the time from navigation
//! start to the first contentful paint and to the frame in which the page's data is on screen
//! (the run's row in the list; its forget quality on the run page), plus the wasm bundle as the
//! browser received it. Each page is loaded cold (a fresh browser profile, nothing cached) and
//! then warm (reloaded, the immutable bundle cached), `LETHE_PAINT_REPEATS` times (5).
//!
//! `cargo bench -p lethe-e2e --bench first_paint` (after `scripts/setup.sh`) prints a table and
//! writes `test-artifacts/first-paint-bench.json`. Speed is measured here, never asserted in
//! tests.
#![expect(clippy::print_stdout, reason = "a benchmark prints its table")]

use std::time::Duration;

use lethe_e2e::browser::Browser;
use lethe_e2e::http;
use lethe_e2e::pages::{fake_server, finished, models_dir};
use serde_json::{Value, json};
use shared::run::Created;

/// Waits in the page, frame by frame, until `css` holds text, then reports navigation timing.
const MEASURE: &str = r"
const [css, done] = [arguments[0], arguments[arguments.length - 1]];
const check = () => {
  const el = document.querySelector(css);
  if (el && el.textContent.trim() !== '' && el.textContent.trim() !== '–') {
    const paint = Object.fromEntries(performance.getEntriesByType('paint').map(e => [e.name, e.startTime]));
    const wasm = performance.getEntriesByType('resource').find(r => r.name.endsWith('.wasm'));
    done({
      first_contentful_paint_ms: paint['first-contentful-paint'] ?? null,
      data_rendered_ms: performance.now(),
      wasm_transfer_bytes: wasm ? wasm.transferSize : null,
      wasm_encoded_bytes: wasm ? wasm.encodedBodySize : null,
      wasm_decoded_bytes: wasm ? wasm.decodedBodySize : null,
    });
  } else {
    requestAnimationFrame(check);
  }
};
check();";

async fn measure(browser: &Browser, base: &str, path: &str, css: &str) -> anyhow::Result<Value> {
    browser.open(base, path).await?;
    Ok(browser
        .client
        .execute_async(MEASURE, vec![Value::from(css)])
        .await?)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let repeats: usize = std::env::var("LETHE_PAINT_REPEATS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let models = models_dir();
    let server = fake_server(models.path(), &[]).await?;
    let response = http::post_json(
        server.authority(),
        "/api/runs",
        r#"{"model": "tiny", "objective": {"method": "npo"}}"#,
    )
    .await?;
    let id = serde_json::from_slice::<Created>(&response.body)?.ids[0];
    finished(&server, id, None).await?;
    let run_page = format!("/runs/{id}");
    let pages = [
        ("/", format!("[data-testid=run-state-{id}]")),
        (
            run_page.as_str(),
            "[data-testid=forget-quality]".to_string(),
        ),
    ];
    let mut samples = Vec::new();
    for _ in 0..repeats {
        for (path, css) in &pages {
            let browser = Browser::start().await?;
            let cold = measure(&browser, &server.base_url, path, css).await?;
            tokio::time::sleep(Duration::from_millis(200)).await;
            let warm = measure(&browser, &server.base_url, path, css).await?;
            browser.close().await?;
            samples.push(json!({"path": path, "cold": cold, "warm": warm}));
        }
    }
    println!(
        "| page | load | first contentful paint (median ms) | data rendered (median ms) | wasm received (bytes) |"
    );
    println!("|---|---|---|---|---|");
    for (path, _) in &pages {
        for load in ["cold", "warm"] {
            let of = |key: &str| -> Vec<f64> {
                samples
                    .iter()
                    .filter(|s| s["path"] == *path)
                    .filter_map(|s| s[load][key].as_f64())
                    .collect()
            };
            let received = of("wasm_transfer_bytes").first().copied().unwrap_or(0.0);
            println!(
                "| {path} | {load} | {:.0} | {:.0} | {received:.0} |",
                median(&mut of("first_contentful_paint_ms")),
                median(&mut of("data_rendered_ms")),
            );
        }
    }
    std::fs::write(
        lethe_e2e::artifacts_dir().join("first-paint-bench.json"),
        serde_json::to_vec_pretty(&samples)?,
    )?;
    Ok(())
}
