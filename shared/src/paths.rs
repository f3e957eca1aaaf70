//! Route templates, so neither the server nor the UI writes a path string by hand.

/// API route: server identity and backend.
pub const API_HEALTH: &str = "/api/health";
/// Prefix of every API route; unknown paths under it are JSON 404s, never the UI.
pub const API_PREFIX: &str = "/api";
/// URL prefix of the built wasm bundle (content-hashed file names, cached forever).
pub const BUNDLE_PREFIX: &str = "/pkg";

/// Client route: the runs list.
pub const PAGE_RUNS: &str = "/";
/// Client route: the new-run form.
pub const PAGE_NEW_RUN: &str = "/runs/new";
/// Client route: the compare page.
pub const PAGE_COMPARE: &str = "/compare";
/// Client route: the host's device pool.
pub const PAGE_HOST: &str = "/host";
/// Client route prefix of a read-only shared result (`/s/{slug}`).
pub const PAGE_SHARE_PREFIX: &str = "/s";
/// API route: the runs collection.
pub const API_RUNS: &str = "/api/runs";
/// API route: sweep submissions.
pub const API_SWEEPS: &str = "/api/sweeps";
/// API route: the model registry.
pub const API_MODELS: &str = "/api/models";
/// API route: the memory plan of a run spec on the server's device (`POST`).
pub const API_PLAN: &str = "/api/plan";

/// Browsers cannot set headers on a websocket, so the UI offers its API token as the
/// subprotocol `lethe.bearer.<token>`; the server accepts it like `Authorization: Bearer`.
pub const WS_TOKEN_PROTOCOL: &str = "lethe.bearer.";

/// Run artifact: the spec as submitted.
pub const ARTIFACT_SPEC: &str = "spec.json";
/// Run artifact: open-unlearning's per-item evaluation log.
pub const ARTIFACT_EVAL_LOG: &str = "eval/TOFU_EVAL.json";
/// Run artifact: the flat metric summary.
pub const ARTIFACT_EVAL_SUMMARY: &str = "eval/TOFU_SUMMARY.json";
/// Run artifact: the retain model's `TOFU_EVAL.json` that forget quality was computed against,
/// copied into the run so its KS picture survives the reference file.
pub const ARTIFACT_RETAIN_REF: &str = "eval/RETAIN_REF_EVAL.json";
/// Run artifact: the run's log, one line per message, ending with how the run ended.
pub const ARTIFACT_LOG: &str = "log.txt";
/// Run artifact: one step point per line, as the live view gets them.
pub const ARTIFACT_STEPS: &str = "steps.jsonl";
/// Run artifact: the headline metrics of a finished run.
pub const ARTIFACT_METRICS: &str = "metrics.json";
/// Run artifact: the unlearned model (HF layout).
pub const ARTIFACT_CHECKPOINT: &str = "checkpoint";
/// Run artifact: the evaluation's directory.
pub const ARTIFACT_EVAL: &str = "eval";
/// Run artifact: how a run executed by `lethe worker` ended.
pub const ARTIFACT_STATE: &str = "state.json";
/// Run artifact: the forgetting trajectory, one [`crate::run::TrajectoryPoint`] per line.
pub const ARTIFACT_EVALS: &str = "evals.jsonl";
/// Run artifact: the checkpoint the run kept and any early stop ([`crate::run::RunOutcome`]).
pub const ARTIFACT_OUTCOME: &str = "outcome.json";
/// Run artifact: the trained LoRA adapters in PEFT's format (`adapter_config.json`,
/// `adapter_model.safetensors`), beside the merged `checkpoint/`.
pub const ARTIFACT_ADAPTER: &str = "adapter";
/// Run artifact: the robustness attacks' directory (`attacks/<name>/TOFU_EVAL.json`, …).
pub const ARTIFACT_ATTACKS: &str = "attacks";
/// What an attack found ([`crate::run::AttackReport`]), in its directory under
/// [`ARTIFACT_ATTACKS`].
pub const ATTACK_REPORT: &str = "ATTACK.json";
/// The run's memory plan ([`crate::plan::PlanReport`]), written before training starts.
pub const ARTIFACT_PLAN: &str = "plan.json";

/// `/api/runs/{id}`: one run; its `/steps`, `/steps.csv`, `/live`, `/cancel` and
/// `/artifacts/{path}` hang below it.
pub fn api_run(id: i64) -> String {
    format!("{API_RUNS}/{id}")
}

/// `/api/share/{slug}`: one run read through its share slug; the read-only sub-routes of
/// [`api_run`] hang below it too.
pub fn api_share(slug: &str) -> String {
    format!("/api/share/{slug}")
}

/// `/runs/{id}`: a run's page (live while it runs, the result when done).
pub fn page_run(id: i64) -> String {
    format!("/runs/{id}")
}

/// `/s/{slug}`: the read-only shared result.
pub fn page_share(slug: &str) -> String {
    format!("{PAGE_SHARE_PREFIX}/{slug}")
}

/// `/compare?runs=1,2,3`: the compare page with a selection.
pub fn page_compare(ids: &[i64]) -> String {
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    format!("{PAGE_COMPARE}?runs={}", ids.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_built_from_their_templates() {
        assert_eq!(api_run(7), "/api/runs/7");
        assert_eq!(api_share("ab12"), "/api/share/ab12");
        assert_eq!(page_run(7), "/runs/7");
        assert_eq!(page_share("ab12"), "/s/ab12");
        assert_eq!(page_compare(&[3, 1]), "/compare?runs=3,1");
        assert_eq!(page_compare(&[]), "/compare?runs=");
    }
}
