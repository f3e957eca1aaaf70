//! The runs list's filter, sort and page, kept in the page's address (`/?state=running&page=2`)
//! so a filtered list is a link, and turned into the `GET /api/runs` query (tested natively).

/// Runs per page.
pub const PAGE_SIZE: u64 = 50;

/// Sort orders the server knows, with labels.
pub const SORTS: [(&str, &str); 3] = [
    ("created", "newest first"),
    ("oldest", "oldest first"),
    ("name", "by name"),
];

/// What the list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunsQuery {
    /// Only this state (wire name).
    pub state: String,
    /// Only this method (wire name).
    pub method: String,
    /// Only this model id.
    pub model: String,
    /// Only runs with this tag.
    pub tag: String,
    /// Sort order (`created` when empty).
    pub sort: String,
    /// 0-based page.
    pub page: u64,
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl RunsQuery {
    /// The query from the page address's parameters.
    pub fn from_params(get: impl Fn(&str) -> Option<String>) -> Self {
        Self {
            state: get("state").unwrap_or_default(),
            method: get("method").unwrap_or_default(),
            model: get("model").unwrap_or_default(),
            tag: get("tag").unwrap_or_default(),
            sort: get("sort").unwrap_or_default(),
            page: get("page").and_then(|p| p.parse().ok()).unwrap_or(0),
        }
    }

    fn pairs(&self) -> Vec<(&'static str, String)> {
        [
            ("state", &self.state),
            ("method", &self.method),
            ("model", &self.model),
            ("tag", &self.tag),
            ("sort", &self.sort),
        ]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k, v.trim().to_string()))
        .collect()
    }

    /// The `GET /api/runs` query string.
    pub fn api(&self) -> String {
        let mut parts: Vec<String> = self
            .pairs()
            .into_iter()
            .map(|(k, v)| format!("{k}={}", encode(&v)))
            .collect();
        parts.push(format!("offset={}", self.page * PAGE_SIZE));
        parts.push(format!("limit={PAGE_SIZE}"));
        parts.join("&")
    }

    /// The page address (`/` plus only the non-default parameters).
    pub fn address(&self) -> String {
        let mut parts: Vec<String> = self
            .pairs()
            .into_iter()
            .map(|(k, v)| format!("{k}={}", encode(&v)))
            .collect();
        if self.page > 0 {
            parts.push(format!("page={}", self.page));
        }
        if parts.is_empty() {
            "/".into()
        } else {
            format!("/?{}", parts.join("&"))
        }
    }

    /// Pages needed for `total` runs (at least one).
    pub fn pages(total: u64) -> u64 {
        total.div_ceil(PAGE_SIZE).max(1)
    }

    /// `51–100 of 130`.
    pub fn range(&self, shown: usize, total: u64) -> String {
        if shown == 0 {
            return format!("0 of {total}");
        }
        let first = self.page * PAGE_SIZE + 1;
        format!("{first}–{} of {total}", first + shown as u64 - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_become_api_and_address_queries() {
        let q = RunsQuery {
            state: "running".into(),
            model: "Llama 3/8B".into(),
            page: 2,
            ..RunsQuery::default()
        };
        assert_eq!(
            q.api(),
            "state=running&model=Llama%203%2F8B&offset=100&limit=50"
        );
        assert_eq!(q.address(), "/?state=running&model=Llama%203%2F8B&page=2");
        assert_eq!(RunsQuery::default().address(), "/");
        assert_eq!(RunsQuery::default().api(), "offset=0&limit=50");
    }

    #[test]
    fn the_address_reads_back_and_pages_count_up() {
        let q = RunsQuery::from_params(|k| match k {
            "method" => Some("npo".into()),
            "page" => Some("x".into()),
            _ => None,
        });
        assert_eq!(q.method, "npo");
        assert_eq!(q.page, 0, "a bad page number is the first page");
        assert_eq!(RunsQuery::pages(0), 1);
        assert_eq!(RunsQuery::pages(101), 3);
        let second = RunsQuery {
            page: 1,
            ..RunsQuery::default()
        };
        assert_eq!(second.range(30, 80), "51–80 of 80");
        assert_eq!(second.range(0, 0), "0 of 0");
    }
}
