//! The live websocket over a real port with the fake executor: ordered events from snapshot to
//! the final state and a clean close; a client too slow for the channel gets a fresh snapshot
//! instead of a gap; 100 viewers of one run all see it end.
#![expect(
    clippy::unwrap_used,
    reason = "fixture helpers panic on setup failure, like the tests"
)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use server::auth::AuthMode;
use server::jobs::fake::FakeExecutor;
use shared::live::ServerEvent;
use shared::run::{Created, RunState};
use tokio_tungstenite::tungstenite::Message;

async fn serve(fake: FakeExecutor) -> (SocketAddr, server::AppState, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    std::fs::create_dir_all(models.join("tiny")).unwrap();
    std::fs::write(models.join("tiny/config.json"), "{}").unwrap();
    let parts = server::Parts {
        data_dir: dir.path().join("data"),
        static_dir: dir.path().join("public"),
        devices: vec![engine::DeviceInfo {
            device: "cpu".into(),
            backend: "flex",
            adapter: "test".into(),
        }],
        registry: server::models::ModelRegistry {
            roots: vec![models],
            hf_cache: None,
            default_data: None,
        },
        auth: AuthMode::Off,
        concurrency: 1,
        requeue_interrupted: false,
        data_roots: vec![],
        device_memory: None,
    };
    let state = server::start(parts, Arc::new(fake)).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = server::app(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, state, dir)
}

/// Submits a run through the router state (the HTTP path is covered by runs_api.rs).
async fn submit(state: &server::AppState) -> i64 {
    let spec = shared::run::RunSpec::new("tiny", shared::run::Method::Npo);
    let caller = server::auth::Caller {
        name: "test".into(),
    };
    let Created { ids, .. } = server::routes::runs::enqueue(state, vec![spec], &caller, None)
        .await
        .unwrap();
    ids[0]
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(addr: SocketAddr, id: i64) -> Socket {
    // The slow-viewer test's resync snapshot holds 600 steps of 64 KB.
    let mut config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default();
    config.max_message_size = None;
    config.max_frame_size = None;
    let (socket, _) = tokio_tungstenite::connect_async_with_config(
        format!("ws://{addr}/api/runs/{id}/live"),
        Some(config),
        false,
    )
    .await
    .unwrap();
    socket
}

/// Every event until the server closes the socket, and whether it closed with code 1000.
async fn drain(mut socket: Socket) -> (Vec<ServerEvent>, bool) {
    let mut events = Vec::new();
    while let Some(message) = tokio::time::timeout(Duration::from_secs(60), socket.next())
        .await
        .unwrap()
    {
        match message.unwrap() {
            Message::Text(text) => events.push(serde_json::from_str(&text).unwrap()),
            Message::Close(frame) => {
                return (events, frame.is_some_and(|f| u16::from(f.code) == 1000));
            }
            _ => {}
        }
    }
    (events, false)
}

/// Sequence numbers rise by one between deltas; a snapshot may jump ahead (a resync).
fn check_order(events: &[ServerEvent]) -> usize {
    assert!(
        matches!(events[0], ServerEvent::Snapshot { .. }),
        "{:?}",
        events[0]
    );
    let mut snapshots = 0;
    let mut last = 0;
    for event in events {
        match event {
            ServerEvent::Snapshot { seq, .. } => {
                assert!(*seq >= last, "snapshot went back: {seq} < {last}");
                snapshots += 1;
                last = *seq;
            }
            other => {
                assert_eq!(other.seq(), last + 1, "gap before {other:?}");
                last = other.seq();
            }
        }
    }
    snapshots
}

fn final_state(events: &[ServerEvent]) -> RunState {
    match events.last().unwrap() {
        ServerEvent::State { state, .. } => *state,
        ServerEvent::Snapshot { snapshot, .. } => snapshot.run.summary.state,
        other => panic!("ended with {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_sees_snapshot_then_every_step_in_order_then_the_close() {
    let fake = FakeExecutor {
        steps: 10,
        step_delay: Duration::from_millis(30),
        ..FakeExecutor::default()
    };
    let (addr, state, _dir) = serve(fake).await;
    let id = submit(&state).await;
    let socket = connect(addr, id).await;
    let (events, clean) = drain(socket).await;
    assert!(clean, "the server did not close with 1000");
    assert_eq!(check_order(&events), 1);
    assert_eq!(final_state(&events), RunState::Succeeded);
    let ServerEvent::Snapshot { snapshot, .. } = &events[0] else {
        unreachable!()
    };
    let mut steps: Vec<usize> = snapshot.steps.iter().map(|s| s.step).collect();
    steps.extend(events.iter().filter_map(|e| match e {
        ServerEvent::Step { point, .. } => Some(point.step),
        _ => None,
    }));
    assert_eq!(steps, (1..=10).collect::<Vec<_>>());
    assert!(events.iter().any(|e| matches!(e, ServerEvent::Metrics { metrics, .. } if metrics.contains_key("forget_quality"))));
    assert!(events.iter().any(|e| matches!(e, ServerEvent::Eval { .. })));
    // After the end, a new viewer gets the stored result and the close.
    let (events, clean) = drain(connect(addr, id).await).await;
    assert!(clean);
    assert_eq!(events.len(), 1);
    let ServerEvent::Snapshot { snapshot, .. } = &events[0] else {
        panic!("{:?}", events[0])
    };
    assert_eq!(snapshot.run.summary.state, RunState::Succeeded);
    assert_eq!(snapshot.steps.len(), 10);
    assert_eq!(
        snapshot.log,
        ["fake run of npo-forget01", "succeeded"],
        "the log outlives the run"
    );
}

/// A failed run's log ends with its cause, live and for a viewer who comes later; the file is
/// one of the run's artifacts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_keeps_its_log_and_cause() {
    let fake = FakeExecutor {
        fail_at: Some(2),
        ..FakeExecutor::default()
    };
    let (addr, state, _dir) = serve(fake).await;
    let id = submit(&state).await;
    let (events, _) = drain(connect(addr, id).await).await;
    assert_eq!(final_state(&events), RunState::Failed);
    let live_lines: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Log { line, .. } => Some(line.as_str()),
            ServerEvent::Snapshot { snapshot, .. } => snapshot.log.last().map(String::as_str),
            _ => None,
        })
        .collect();
    assert_eq!(
        live_lines.last(),
        Some(&"failed: injected failure at step 2")
    );
    let (events, _) = drain(connect(addr, id).await).await;
    let ServerEvent::Snapshot { snapshot, .. } = &events[0] else {
        panic!("{:?}", events[0])
    };
    assert_eq!(
        snapshot.log,
        [
            "fake run of npo-forget01",
            "failed: injected failure at step 2"
        ]
    );
    assert!(
        snapshot
            .run
            .artifacts
            .iter()
            .any(|a| a == shared::paths::ARTIFACT_LOG),
        "{:?}",
        snapshot.run.artifacts
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_viewer_is_resynchronised_with_a_snapshot() {
    // 600 steps of 64 KB each, with no pause: far more than the channel (256 events) and the
    // socket buffers hold while the viewer sleeps.
    let fake = FakeExecutor {
        steps: 600,
        step_delay: Duration::from_millis(1),
        per_sample: 4096,
        fail_at: None,
    };
    let (addr, state, _dir) = serve(fake).await;
    // Hold the queue with nothing to view yet: connect, then submit.
    let id = {
        let spec = shared::run::RunSpec::new("tiny", shared::run::Method::Npo);
        let caller = server::auth::Caller { name: "t".into() };
        server::routes::runs::enqueue(&state, vec![spec], &caller, None)
            .await
            .unwrap()
            .ids[0]
    };
    let socket = connect(addr, id).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (events, clean) = drain(socket).await;
    assert!(clean);
    let snapshots = check_order(&events);
    assert!(
        snapshots >= 2,
        "expected a resync snapshot, got {snapshots} in {} events",
        events.len()
    );
    assert_eq!(final_state(&events), RunState::Succeeded);
    // The last snapshot plus the deltas after it hold every step.
    let last = events
        .iter()
        .rposition(|e| matches!(e, ServerEvent::Snapshot { .. }))
        .unwrap();
    let ServerEvent::Snapshot { snapshot, .. } = &events[last] else {
        unreachable!()
    };
    let after = events[last..]
        .iter()
        .filter(|e| matches!(e, ServerEvent::Step { .. }))
        .count();
    assert_eq!(snapshot.steps.len() + after, 600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_viewers_all_see_the_final_state() {
    let fake = FakeExecutor {
        steps: 20,
        step_delay: Duration::from_millis(50),
        ..FakeExecutor::default()
    };
    let (addr, state, _dir) = serve(fake).await;
    let id = submit(&state).await;
    let mut viewers = Vec::new();
    for _ in 0..100 {
        let socket = connect(addr, id).await;
        viewers.push(tokio::spawn(drain(socket)));
    }
    for viewer in viewers {
        let (events, clean) = viewer.await.unwrap();
        assert!(clean);
        check_order(&events);
        assert_eq!(final_state(&events), RunState::Succeeded);
    }
}
