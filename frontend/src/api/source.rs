//! Where a run page reads from: the owner's `/api/runs/{id}` routes, or the read-only
//! `/api/share/{slug}` mirror of them (tested natively).

use shared::paths;

/// A run, as the page addresses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunSource {
    /// By id, with the caller's access (cancel, share link, metrics CSV).
    Run(i64),
    /// By share slug, read-only and without a token.
    Share(String),
}

impl RunSource {
    /// The run's API route.
    pub fn api(&self) -> String {
        match self {
            Self::Run(id) => paths::api_run(*id),
            Self::Share(slug) => paths::api_share(slug),
        }
    }

    /// An artifact's URL (`eval/TOFU_EVAL.json`).
    pub fn artifact(&self, path: &str) -> String {
        format!("{}/artifacts/{path}", self.api())
    }

    /// The live socket's path.
    pub fn live(&self) -> String {
        format!("{}/live", self.api())
    }

    /// The steps as CSV.
    pub fn steps_csv(&self) -> String {
        format!("{}/steps.csv", self.api())
    }

    /// Whether the page may change the run (cancel) and show its share link.
    pub fn is_owner(&self) -> bool {
        matches!(self, Self::Run(_))
    }
}

/// `ws://host/path` or `wss://host/path` for a page served over `protocol` (`http:`/`https:`).
pub fn socket_url(protocol: &str, host: &str, path: &str) -> String {
    let scheme = if protocol == "https:" { "wss" } else { "ws" };
    format!("{scheme}://{host}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_runs_mirror_the_owner_routes() {
        let own = RunSource::Run(4);
        let shared = RunSource::Share("9f0c".into());
        assert_eq!(
            own.artifact("eval/TOFU_EVAL.json"),
            "/api/runs/4/artifacts/eval/TOFU_EVAL.json"
        );
        assert_eq!(shared.live(), "/api/share/9f0c/live");
        assert_eq!(shared.steps_csv(), "/api/share/9f0c/steps.csv");
        assert!(own.is_owner() && !shared.is_owner());
        assert_eq!(socket_url("https:", "lab:8080", "/x"), "wss://lab:8080/x");
        assert_eq!(
            socket_url("http:", "127.0.0.1:3000", "/x"),
            "ws://127.0.0.1:3000/x"
        );
    }
}
