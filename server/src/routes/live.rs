//! `GET /api/runs/{id}/live` (and `/api/share/{slug}/live`): the websocket of one run. First a
//! snapshot, then every later event in order; a viewer that falls behind gets a fresh snapshot;
//! after the terminal state the server closes the socket (code 1000). A run that already ended
//! gets its final snapshot and the close.

use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use shared::live::{ServerEvent, Snapshot};
use shared::run::RunDetail;
use tokio::sync::broadcast::error::RecvError;

use super::runs::load_or_404;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::jobs::run_log::{RunLog, TAIL_LINES};
use crate::jobs::{read_steps, read_trajectory, run_dir};
use crate::live::RunLive;
use crate::state::AppState;

/// `GET /api/runs/{id}/live`.
pub async fn live(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    _caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = super::runs::run_id(&id)?;
    load_or_404(&state, id).await?;
    // A browser that sent its token as a subprotocol needs it echoed, or it drops the socket.
    let ws = match crate::auth::socket_protocol(&headers) {
        Some(protocol) => ws.protocols([protocol]),
        None => ws,
    };
    Ok(upgrade(ws, state, id, false))
}

/// The socket for run `id`; `shared` hides the share slug in snapshots.
pub fn upgrade(ws: WebSocketUpgrade, state: AppState, id: i64, shared: bool) -> Response {
    ws.on_upgrade(move |socket| async move {
        if let Err(error) = stream(socket, &state, id, shared).await {
            tracing::debug!(run = id, %error, "live socket ended");
        }
    })
}

fn strip(mut event: ServerEvent, shared: bool) -> ServerEvent {
    if shared && let ServerEvent::Snapshot { snapshot, .. } = &mut event {
        snapshot.run.share_slug = None;
    }
    event
}

async fn send(socket: &mut WebSocket, event: &ServerEvent) -> Result<(), axum::Error> {
    let text = serde_json::to_string(event).unwrap_or_default();
    socket.send(Message::Text(text.into())).await
}

async fn close(socket: &mut WebSocket, reason: &str) -> Result<(), axum::Error> {
    socket
        .send(Message::Close(Some(CloseFrame {
            code: 1000,
            reason: reason.to_string().into(),
        })))
        .await
}

fn terminal(event: &ServerEvent) -> bool {
    match event {
        ServerEvent::Snapshot { snapshot, .. } => snapshot.run.summary.state.is_terminal(),
        ServerEvent::State { state, .. } => state.is_terminal(),
        _ => false,
    }
}

async fn stream(
    mut socket: WebSocket,
    state: &AppState,
    id: i64,
    shared: bool,
) -> Result<(), axum::Error> {
    let Some(live) = state.hub.get(id) else {
        return ended(&mut socket, state, id, shared).await;
    };
    follow(&mut socket, &live, shared, state.hub.stopping()).await
}

/// A run that is not active: its stored state, steps and log, then close.
async fn ended(
    socket: &mut WebSocket,
    state: &AppState,
    id: i64,
    shared: bool,
) -> Result<(), axum::Error> {
    let Ok(run): Result<RunDetail, _> = load_or_404(state, id).await else {
        return close(socket, "run deleted").await;
    };
    let snapshot = ServerEvent::Snapshot {
        seq: 0,
        snapshot: Box::new(Snapshot {
            run,
            steps: read_steps(&state.data_dir, id),
            eval: None,
            trajectory: read_trajectory(&state.data_dir, id),
            log: RunLog::new(&run_dir(&state.data_dir, id)).tail(TAIL_LINES),
        }),
    };
    send(socket, &strip(snapshot, shared)).await?;
    close(socket, "run ended").await
}

async fn follow(
    socket: &mut WebSocket,
    live: &Arc<RunLive>,
    shared: bool,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) -> Result<(), axum::Error> {
    let (snapshot, mut rx) = live.subscribe();
    let mut last = snapshot.seq();
    let done = terminal(&snapshot);
    send(socket, &strip(snapshot, shared)).await?;
    if done {
        return close(socket, "run ended").await;
    }
    loop {
        tokio::select! {
            event = rx.recv() => match event {
                Ok(event) => {
                    if event.seq() <= last {
                        continue;
                    }
                    last = event.seq();
                    let done = terminal(&event);
                    send(socket, &event).await?;
                    if done {
                        return close(socket, "run ended").await;
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    // Too slow for the channel: start over from a fresh snapshot.
                    let (snapshot, fresh) = live.subscribe();
                    rx = fresh;
                    last = snapshot.seq();
                    let done = terminal(&snapshot);
                    send(socket, &strip(snapshot, shared)).await?;
                    if done {
                        return close(socket, "run ended").await;
                    }
                }
                Err(RecvError::Closed) => return close(socket, "server shutting down").await,
            },
            () = async { drop(stopping.wait_for(|stop| *stop).await); } => {
                return close(socket, "server shutting down").await;
            }
            incoming = socket.recv() => match incoming {
                None | Some(Err(_) | Ok(Message::Close(_))) => return Ok(()),
                Some(Ok(_)) => {}
            },
        }
    }
}
