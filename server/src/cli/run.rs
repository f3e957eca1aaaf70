//! `lethe run <spec.json>`: submit a RunSpec (or SweepSpec) to a running server and follow it, or,
//! without `--server`, execute it in this process with the same queue and database a server
//! uses (`--data-dir`), so the run shows up when the server starts.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use anyhow::Context as _;
use shared::error::{ErrorBody, FieldError};
use shared::run::{Created, RunDetail, RunSpec, RunState};
use shared::sweep::SweepSpec;

use super::progress::Progress;
use crate::auth::Caller;
use crate::config::RunArgs;
use crate::routes::runs::parse_body;

fn fields_message(fields: &[FieldError]) -> String {
    fields
        .iter()
        .map(|f| format!("\n  {}: {}", f.field, f.message))
        .collect()
}

/// The specs in the file, validated.
fn read_specs(args: &RunArgs) -> anyhow::Result<(Vec<RunSpec>, Option<SweepSpec>)> {
    let text = std::fs::read(&args.spec).with_context(|| format!("{}", args.spec.display()))?;
    let invalid = |e: crate::error::ApiError| match e {
        crate::error::ApiError::Unprocessable { fields, .. } => anyhow::anyhow!(
            "{} is not a valid {}:{}",
            args.spec.display(),
            if args.sweep { "SweepSpec" } else { "RunSpec" },
            fields_message(&fields)
        ),
        other => anyhow::anyhow!("{}: {other}", args.spec.display()),
    };
    if args.sweep {
        let sweep: SweepSpec = parse_body(&text).map_err(invalid)?;
        let errors = sweep.validate();
        if !errors.is_empty() {
            anyhow::bail!("{}:{}", args.spec.display(), fields_message(&errors));
        }
        Ok((sweep.expand(), Some(sweep)))
    } else {
        let spec: RunSpec = parse_body(&text).map_err(invalid)?;
        let errors = spec.validate();
        if !errors.is_empty() {
            anyhow::bail!("{}:{}", args.spec.display(), fields_message(&errors));
        }
        Ok((vec![spec], None))
    }
}

/// Follows runs to their end with a progress bar per run; the final details.
fn follow(
    ids: &[i64],
    mut poll: impl FnMut(i64) -> anyhow::Result<(RunDetail, usize, usize)>,
) -> anyhow::Result<Vec<RunDetail>> {
    let mut out = Vec::new();
    for id in ids {
        let mut bar: Option<Progress> = None;
        loop {
            let (run, done, total) = poll(*id)?;
            if total > 0 {
                let b = bar.get_or_insert_with(|| Progress::new("run", total));
                b.update(done, &format!("run {id} {}", run.summary.state.as_str()));
            }
            if run.summary.state.is_terminal() {
                if let Some(b) = &bar {
                    b.finish();
                }
                out.push(run);
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    Ok(out)
}

fn report(runs: &[RunDetail], out: &mut impl Write) -> anyhow::Result<()> {
    let mut failed = Vec::new();
    for run in runs {
        let line: BTreeMap<&str, serde_json::Value> = BTreeMap::from([
            ("id", serde_json::json!(run.summary.id)),
            ("state", serde_json::json!(run.summary.state)),
            ("metrics", serde_json::json!(run.summary.metrics)),
            ("error", serde_json::json!(run.error)),
        ]);
        writeln!(out, "{}", serde_json::to_string(&line)?)?;
        if run.summary.state != RunState::Succeeded {
            failed.push(run.summary.id);
        }
    }
    if !failed.is_empty() {
        anyhow::bail!("runs {failed:?} did not succeed");
    }
    Ok(())
}

fn remote(args: &RunArgs, server: &str, out: &mut impl Write) -> anyhow::Result<()> {
    let (_, sweep) = read_specs(args)?;
    let base = server.trim_end_matches('/');
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .build();
    let auth = args.token.as_ref().map(|t| format!("Bearer {t}"));
    let request = |method: &str, path: &str| {
        let r = agent.request(method, &format!("{base}{path}"));
        match &auth {
            Some(a) => r.set("Authorization", a),
            None => r,
        }
    };
    let body = std::fs::read_to_string(&args.spec)?;
    let path = if sweep.is_some() {
        "/api/sweeps"
    } else {
        "/api/runs"
    };
    let created: Created = match request("POST", path)
        .set("Content-Type", "application/json")
        .send_string(&body)
    {
        Ok(response) => serde_json::from_str(&response.into_string()?)?,
        Err(ureq::Error::Status(code, response)) => {
            let text = response.into_string().unwrap_or_default();
            let detail = serde_json::from_str::<ErrorBody>(&text)
                .map(|e| format!("{}{}", e.message, fields_message(&e.fields)))
                .unwrap_or(text);
            anyhow::bail!("{base} refused the spec ({code}): {detail}");
        }
        Err(error) => return Err(error).with_context(|| format!("submitting to {base}")),
    };
    eprintln!("submitted runs {:?} to {base}", created.ids);
    if args.detach {
        writeln!(out, "{}", serde_json::to_string(&created)?)?;
        return Ok(());
    }
    let runs = follow(&created.ids, |id| {
        let run: RunDetail = serde_json::from_str(
            &request("GET", &format!("/api/runs/{id}"))
                .call()?
                .into_string()?,
        )?;
        let steps: Vec<shared::live::StepPoint> = serde_json::from_str(
            &request("GET", &format!("/api/runs/{id}/steps"))
                .call()?
                .into_string()?,
        )?;
        let total = steps.last().map_or(0, |s| s.total_steps);
        Ok((run, steps.len(), total))
    })?;
    report(&runs, out)
}

/// Runs `lethe run`.
pub async fn run(args: RunArgs, out: &mut (impl Write + Send)) -> anyhow::Result<()> {
    if let Some(server) = args.server.clone() {
        return tokio::task::block_in_place(|| remote(&args, &server, out));
    }
    let (specs, sweep) = read_specs(&args)?;
    let (parts, executor) = crate::engine_parts(&args.local).await?;
    let state = crate::start(parts, executor).await?;
    for (i, spec) in specs.iter().enumerate() {
        let prefix = if sweep.is_some() {
            format!("runs.{i}.")
        } else {
            String::new()
        };
        if let Err(crate::error::ApiError::Unprocessable { fields, .. }) =
            crate::routes::runs::check_on_server(&state, spec, &prefix)
        {
            let problems: Vec<String> = fields
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect();
            anyhow::bail!(
                "{}; add model directories with --model-root and data with --data-root",
                problems.join("; ")
            );
        }
    }
    let caller = Caller {
        name: std::env::var("USER").unwrap_or_else(|_| "local".into()),
    };
    let sweep_row = sweep
        .map(|s| Ok::<_, anyhow::Error>((s.name.clone(), serde_json::to_string(&s)?)))
        .transpose()?;
    let created = crate::routes::runs::enqueue(&state, specs, &caller, sweep_row)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    eprintln!(
        "queued runs {:?} in {}",
        created.ids,
        args.local.places.data_dir.display()
    );
    let runs = tokio::task::block_in_place(|| {
        let handle = tokio::runtime::Handle::current();
        follow(&created.ids, |id| {
            let run = handle
                .block_on(crate::routes::runs::load_or_404(&state, id))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let steps = state
                .hub
                .get(id)
                .map(|l| l.steps())
                .unwrap_or_else(|| crate::jobs::read_steps(&state.data_dir, id));
            let total = steps.last().map_or(0, |s| s.total_steps);
            Ok((run, steps.len(), total))
        })
    })?;
    state.queue.shutdown(crate::SHUTDOWN_GRACE).await;
    report(&runs, out)
}
