//! SQLite persistence: runs, sweeps and API tokens in one file (`data_dir/lethe.db`, WAL mode).
//!
//! One connection behind a mutex, used from `spawn_blocking` ([`Db::call`]), so the async runtime
//! never waits on disk. Every change is one transaction; migrations are numbered SQL scripts
//! applied in order and recorded in `PRAGMA user_version`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use rusqlite::{Connection, OptionalExtension as _, Row, params};
use shared::run::{Method, RunDetail, RunSpec, RunState, RunSummary, Split};

mod lifecycle;
mod tokens;

pub use lifecycle::{
    cancel_queued, claim, fail_queued, finish_run, queued_needs, recover, running_placed,
    set_environment, set_placement,
};
pub use tokens::{TokenRow, has_tokens, insert_token, list_tokens, revoke_token, token_by_hash};

/// Schema versions, applied in order; never edit one that has shipped, add the next.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE sweeps (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        spec TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL
    );
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN
            ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted')),
        spec TEXT NOT NULL,
        model TEXT NOT NULL,
        method TEXT NOT NULL,
        wrapper TEXT NOT NULL,
        split TEXT NOT NULL,
        tags TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        started_at_ms INTEGER,
        finished_at_ms INTEGER,
        sweep_id INTEGER REFERENCES sweeps(id) ON DELETE SET NULL,
        error TEXT,
        metrics TEXT NOT NULL DEFAULT '{}',
        environment TEXT NOT NULL DEFAULT '{}',
        share_slug TEXT NOT NULL UNIQUE
    );
    CREATE INDEX runs_by_state ON runs (state, id);
    CREATE TABLE tokens (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        hash TEXT NOT NULL UNIQUE,
        admin INTEGER NOT NULL,
        created_at_ms INTEGER NOT NULL,
        revoked INTEGER NOT NULL DEFAULT 0
    );",
    "ALTER TABLE runs ADD COLUMN placement TEXT;",
];

/// The database handle; cheap to clone.
#[derive(Debug, Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
    path: Arc<PathBuf>,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Filters and page of `GET /api/runs`.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    /// Only runs in this state.
    pub state: Option<RunState>,
    /// Only this model.
    pub model: Option<String>,
    /// Only this method.
    pub method: Option<Method>,
    /// Only runs with this tag.
    pub tag: Option<String>,
    /// Only this sweep's runs.
    pub sweep: Option<i64>,
    /// Sort: `created` (newest first, the default), `oldest`, `name`.
    pub sort: Option<String>,
    /// Page offset.
    pub offset: u64,
    /// Page size.
    pub limit: u64,
}

/// A new run to insert.
#[derive(Debug, Clone)]
pub struct NewRun {
    /// The validated spec.
    pub spec: RunSpec,
    /// Who submitted it.
    pub created_by: String,
    /// The share slug.
    pub share_slug: String,
    /// Its sweep.
    pub sweep_id: Option<i64>,
}

const RUN_COLUMNS: &str = "id, name, state, model, method, wrapper, split, tags, created_by, \
    created_at_ms, started_at_ms, finished_at_ms, sweep_id, metrics, spec, error, share_slug, \
    environment, placement";

fn parse_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> rusqlite::Result<T> {
    serde_json::from_str(text).map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("{what}: {error}").into(),
        )
    })
}

fn conversion(what: &str, text: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("{what}: unexpected `{text}`").into(),
    )
}

fn tags_column(tags: &[String]) -> String {
    if tags.is_empty() {
        String::new()
    } else {
        format!(",{},", tags.join(","))
    }
}

fn summary_from(row: &Row<'_>) -> rusqlite::Result<RunSummary> {
    let state: String = row.get(2)?;
    let method: String = row.get(4)?;
    let split: String = row.get(6)?;
    let tags: String = row.get(7)?;
    let metrics: String = row.get(13)?;
    Ok(RunSummary {
        id: row.get(0)?,
        name: row.get(1)?,
        state: RunState::parse(&state).ok_or_else(|| conversion("state", &state))?,
        model: row.get(3)?,
        method: Method::parse(&method).ok_or_else(|| conversion("method", &method))?,
        wrapper: row.get(5)?,
        split: Split::ALL
            .into_iter()
            .find(|s| s.as_str() == split)
            .ok_or_else(|| conversion("split", &split))?,
        tags: tags
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect(),
        created_by: row.get(8)?,
        created_at_ms: row.get(9)?,
        started_at_ms: row.get(10)?,
        finished_at_ms: row.get(11)?,
        sweep_id: row.get(12)?,
        metrics: parse_json(&metrics, "metrics")?,
    })
}

fn detail_from(row: &Row<'_>) -> rusqlite::Result<RunDetail> {
    let spec: String = row.get(14)?;
    let environment: String = row.get(17)?;
    Ok(RunDetail {
        summary: summary_from(row)?,
        spec: parse_json(&spec, "spec")?,
        error: row.get(15)?,
        share_slug: Some(row.get(16)?),
        artifacts: Vec::new(),
        environment: parse_json(&environment, "environment")?,
        placement: row
            .get::<_, Option<String>>(18)?
            .map(|text| parse_json(&text, "placement"))
            .transpose()?,
    })
}

impl Db {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let mut conn =
            Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let version: usize = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if version > MIGRATIONS.len() {
            anyhow::bail!(
                "{} has schema version {version}, newer than this lethe knows ({}); use a newer lethe",
                path.display(),
                MIGRATIONS.len()
            );
        }
        for (index, migration) in MIGRATIONS.iter().enumerate().skip(version) {
            let tx = conn.transaction()?;
            tx.execute_batch(migration)
                .with_context(|| format!("migration {}", index + 1))?;
            tx.pragma_update(None, "user_version", index + 1)?;
            tx.commit()?;
        }
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            path: Arc::new(path.to_path_buf()),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the connection on a blocking thread.
    pub async fn call<T, F>(&self, f: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> anyhow::Result<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| anyhow::anyhow!("database lock poisoned"))?;
            f(&mut guard)
        })
        .await
        .context("database task")?
    }

    /// Runs `f` on the connection on this thread (CLI commands, start-up, executor threads).
    pub fn call_blocking<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let mut guard = self
            .conn
            .lock()
            .map_err(|_| anyhow::anyhow!("database lock poisoned"))?;
        f(&mut guard)
    }
}

/// Inserts runs (and their sweep) in one transaction; returns the ids in order.
pub fn insert_runs(
    conn: &mut Connection,
    runs: &[NewRun],
    sweep: Option<(&str, &str, &str)>,
) -> anyhow::Result<(Vec<i64>, Option<i64>)> {
    let tx = conn.transaction()?;
    let now = now_ms();
    let sweep_id = match sweep {
        Some((name, spec, created_by)) => {
            tx.execute(
                "INSERT INTO sweeps (name, spec, created_by, created_at_ms) VALUES (?1, ?2, ?3, ?4)",
                params![name, spec, created_by, now],
            )?;
            Some(tx.last_insert_rowid())
        }
        None => None,
    };
    let mut ids = Vec::with_capacity(runs.len());
    {
        let mut insert = tx.prepare(
            "INSERT INTO runs (name, state, spec, model, method, wrapper, split, tags, created_by,
                created_at_ms, sweep_id, share_slug)
             VALUES (?1, 'queued', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        for run in runs {
            let spec = &run.spec;
            insert.execute(params![
                spec.display_name(),
                serde_json::to_string(spec)?,
                spec.model,
                spec.objective.method.as_str(),
                spec.wrapper.as_str(),
                spec.data.split.as_str(),
                tags_column(&spec.tags),
                run.created_by,
                now,
                sweep_id.or(run.sweep_id),
                run.share_slug,
            ])?;
            ids.push(tx.last_insert_rowid());
        }
    }
    tx.commit()?;
    Ok((ids, sweep_id))
}

/// One run by id.
pub fn get_run(conn: &Connection, id: i64) -> anyhow::Result<Option<RunDetail>> {
    Ok(conn
        .query_row(
            &format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1"),
            [id],
            detail_from,
        )
        .optional()?)
}

/// Every run in `state`, oldest first.
pub fn runs_in_state(conn: &Connection, state: RunState) -> anyhow::Result<Vec<RunDetail>> {
    let mut statement = conn.prepare(&format!(
        "SELECT {RUN_COLUMNS} FROM runs WHERE state = ?1 ORDER BY id"
    ))?;
    Ok(statement
        .query_map([state.as_str()], detail_from)?
        .collect::<Result<Vec<_>, _>>()?)
}

/// One run by share slug.
pub fn get_run_by_slug(conn: &Connection, slug: &str) -> anyhow::Result<Option<RunDetail>> {
    Ok(conn
        .query_row(
            &format!("SELECT {RUN_COLUMNS} FROM runs WHERE share_slug = ?1"),
            [slug],
            detail_from,
        )
        .optional()?)
}

/// A filtered page of runs and the filter's total.
pub fn list_runs(conn: &Connection, filter: &RunFilter) -> anyhow::Result<(Vec<RunSummary>, u64)> {
    let mut clauses = Vec::new();
    let mut values: Vec<rusqlite::types::Value> = Vec::new();
    if let Some(state) = filter.state {
        clauses.push("state = ?");
        values.push(state.as_str().to_string().into());
    }
    if let Some(model) = &filter.model {
        clauses.push("model = ?");
        values.push(model.clone().into());
    }
    if let Some(method) = filter.method {
        clauses.push("method = ?");
        values.push(method.as_str().to_string().into());
    }
    if let Some(tag) = &filter.tag {
        clauses.push("instr(tags, ?) > 0");
        values.push(format!(",{tag},").into());
    }
    if let Some(sweep) = filter.sweep {
        clauses.push("sweep_id = ?");
        values.push(sweep.into());
    }
    let wher = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let order = match filter.sort.as_deref() {
        Some("oldest") => "id ASC",
        Some("name") => "name ASC, id DESC",
        _ => "id DESC",
    };
    let total: i64 = conn.query_row(
        &format!("SELECT count(*) FROM runs {wher}"),
        rusqlite::params_from_iter(values.iter()),
        |row| row.get(0),
    )?;
    let mut page_values = values;
    page_values.push(i64::try_from(filter.limit).unwrap_or(i64::MAX).into());
    page_values.push(i64::try_from(filter.offset).unwrap_or(i64::MAX).into());
    let mut statement = conn.prepare(&format!(
        "SELECT {RUN_COLUMNS} FROM runs {wher} ORDER BY {order} LIMIT ? OFFSET ?"
    ))?;
    let runs = statement
        .query_map(rusqlite::params_from_iter(page_values.iter()), summary_from)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((runs, u64::try_from(total).unwrap_or(0)))
}

/// Deletes a run that is not running; false if it is running or absent.
pub fn delete_run(conn: &mut Connection, id: i64) -> anyhow::Result<bool> {
    Ok(conn.execute(
        "DELETE FROM runs WHERE id = ?1 AND state != 'running'",
        [id],
    )? == 1)
}

/// `PRAGMA integrity_check`: "ok" or the problems.
pub fn integrity_check(conn: &Connection) -> anyhow::Result<String> {
    Ok(conn.query_row("PRAGMA integrity_check", [], |row| row.get(0))?)
}

/// A stored sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepRow {
    /// Label.
    pub name: String,
    /// The SweepSpec as JSON.
    pub spec: String,
    /// Submitter.
    pub created_by: String,
    /// Submission time.
    pub created_at_ms: i64,
    /// Its runs, in grid order.
    pub run_ids: Vec<i64>,
}

/// A sweep and its run ids.
pub fn get_sweep(conn: &Connection, id: i64) -> anyhow::Result<Option<SweepRow>> {
    let sweep: Option<(String, String, String, i64)> = conn
        .query_row(
            "SELECT name, spec, created_by, created_at_ms FROM sweeps WHERE id = ?1",
            [id],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )
        .optional()?;
    let Some((name, spec, created_by, created_at_ms)) = sweep else {
        return Ok(None);
    };
    let mut statement = conn.prepare("SELECT id FROM runs WHERE sweep_id = ?1 ORDER BY id")?;
    let ids = statement
        .query_map([id], |row| row.get(0))?
        .collect::<Result<Vec<i64>, _>>()?;
    Ok(Some(SweepRow {
        name,
        spec,
        created_by,
        created_at_ms,
        run_ids: ids,
    }))
}
