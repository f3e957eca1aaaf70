//! A run's life in the queue: claimed onto devices, ended, cancelled while queued, and
//! recovered after a restart.

use std::collections::BTreeMap;

use anyhow::Context as _;
use rusqlite::{Connection, OptionalExtension as _, params};
use shared::run::{Placement, RunSpec, RunState};

use super::now_ms;

/// The queued runs, oldest first, with how many devices each asks for (`trainer.devices`).
pub fn queued_needs(conn: &Connection) -> anyhow::Result<Vec<(i64, usize)>> {
    let mut statement =
        conn.prepare("SELECT id, spec FROM runs WHERE state = 'queued' ORDER BY id")?;
    let rows = statement
        .query_map([], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows
        .into_iter()
        .map(|(id, spec)| {
            let devices = serde_json::from_str::<RunSpec>(&spec).map_or(1, |s| s.trainer.devices);
            (id, devices)
        })
        .collect())
}

/// Atomically moves queued run `id` to `running` at `placement`; its spec, or `None` when it
/// was no longer queued (cancelled or claimed meanwhile).
pub fn claim(
    conn: &mut Connection,
    id: i64,
    placement: &Placement,
) -> anyhow::Result<Option<RunSpec>> {
    let claimed: Option<String> = conn
        .query_row(
            "UPDATE runs SET state = 'running', started_at_ms = ?2, placement = ?3
             WHERE id = ?1 AND state = 'queued'
             RETURNING spec",
            params![id, now_ms(), serde_json::to_string(placement)?],
            |row| row.get(0),
        )
        .optional()?;
    claimed
        .map(|spec| serde_json::from_str(&spec).context("stored spec"))
        .transpose()
}

/// Fails queued run `id` with `error` without running it; false if it was not queued.
pub fn fail_queued(conn: &mut Connection, id: i64, error: &str) -> anyhow::Result<bool> {
    Ok(conn.execute(
        "UPDATE runs SET state = 'failed', error = ?2, finished_at_ms = ?3
         WHERE id = ?1 AND state = 'queued'",
        params![id, error, now_ms()],
    )? == 1)
}

/// Ends a running run: `state` with `error` and `metrics`; false if it was not running.
pub fn finish_run(
    conn: &mut Connection,
    id: i64,
    state: RunState,
    error: Option<&str>,
    metrics: &BTreeMap<String, f64>,
) -> anyhow::Result<bool> {
    let changed = conn.execute(
        "UPDATE runs SET state = ?2, error = ?3, metrics = ?4, finished_at_ms = ?5
         WHERE id = ?1 AND state = 'running'",
        params![
            id,
            state.as_str(),
            error,
            serde_json::to_string(metrics)?,
            now_ms()
        ],
    )?;
    Ok(changed == 1)
}

/// Records the software and hardware a run executes on.
pub fn set_environment(
    conn: &mut Connection,
    id: i64,
    environment: &BTreeMap<String, String>,
) -> anyhow::Result<()> {
    conn.execute(
        "UPDATE runs SET environment = ?2 WHERE id = ?1",
        params![id, serde_json::to_string(environment)?],
    )?;
    Ok(())
}

/// Cancels a queued run in place; whether it did, and the run's state after the attempt
/// (`None` for no such run).
pub fn cancel_queued(conn: &mut Connection, id: i64) -> anyhow::Result<Option<(bool, RunState)>> {
    let changed = conn.execute(
        "UPDATE runs SET state = 'cancelled', finished_at_ms = ?2
         WHERE id = ?1 AND state = 'queued'",
        params![id, now_ms()],
    )?;
    let state: Option<String> = conn
        .query_row("SELECT state FROM runs WHERE id = ?1", [id], |row| {
            row.get(0)
        })
        .optional()?;
    Ok(state
        .and_then(|s| RunState::parse(&s))
        .map(|state| (changed == 1, state)))
}

/// Records where running run `id` is now (a cluster job's id and state).
pub fn set_placement(conn: &mut Connection, id: i64, placement: &Placement) -> anyhow::Result<()> {
    conn.execute(
        "UPDATE runs SET placement = ?2 WHERE id = ?1 AND state = 'running'",
        params![id, serde_json::to_string(placement)?],
    )?;
    Ok(())
}

/// The running runs with their specs and placements (at start-up: those a cluster still runs).
pub fn running_placed(conn: &Connection) -> anyhow::Result<Vec<(i64, RunSpec, Placement)>> {
    Ok(super::runs_in_state(conn, RunState::Running)?
        .into_iter()
        .filter_map(|run| Some((run.summary.id, run.spec, run.placement?)))
        .collect())
}

/// At start-up: runs left `running` by a previous process become `interrupted`, or `queued`
/// again when `requeue`; those placed on executor `keep` (a cluster, where they go on without
/// the server) stay `running`. Returns the ids of the runs it changed.
pub fn recover(
    conn: &mut Connection,
    requeue: bool,
    keep: Option<&str>,
) -> anyhow::Result<Vec<i64>> {
    let tx = conn.transaction()?;
    let stale = "state = 'running' AND coalesce(json_extract(placement, '$.executor'), '') \
                 IS NOT coalesce(?1, '-')";
    let ids = {
        let mut statement = tx.prepare(&format!("SELECT id FROM runs WHERE {stale}"))?;
        statement
            .query_map([keep], |row| row.get(0))?
            .collect::<Result<Vec<i64>, _>>()?
    };
    if requeue {
        tx.execute(
            &format!("UPDATE runs SET state = 'queued', started_at_ms = NULL WHERE {stale}"),
            [keep],
        )?;
    } else {
        tx.execute(
            &format!(
                "UPDATE runs SET state = 'interrupted', finished_at_ms = ?2,
                    error = 'the server stopped while this run was running' WHERE {stale}"
            ),
            params![keep, now_ms()],
        )?;
    }
    tx.commit()?;
    Ok(ids)
}
