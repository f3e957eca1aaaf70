//! The run page's websocket: it folds events into a [`LiveState`] signal, and on a dropped
//! connection or a sequence gap reconnects with backoff ([`backoff_ms`]), resyncing from the
//! server's snapshot. It stops once the run is in a terminal state or the page closes it.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;
use shared::live::ServerEvent;
use wasm_bindgen::JsCast as _;
use wasm_bindgen::closure::Closure;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use super::source::socket_url;
use crate::live::{LiveState, backoff_ms};

/// What the connection is doing, for the page's status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    /// Opening the first connection.
    Connecting,
    /// Receiving events.
    Live,
    /// Lost; trying again in `in_ms`.
    Reconnecting {
        /// Delay before the next attempt.
        in_ms: u32,
        /// Why the last one ended.
        reason: String,
    },
    /// The run ended; nothing more will come.
    Finished,
}

struct Inner {
    url: String,
    /// `lethe.bearer.<token>` on a team server.
    protocol: Option<String>,
    socket: Option<WebSocket>,
    on_message: Option<Closure<dyn FnMut(MessageEvent)>>,
    on_close: Option<Closure<dyn FnMut(CloseEvent)>>,
    failures: u32,
    stopped: bool,
}

/// A live connection owned by a page; [`LiveSocket::stop`] it when the page goes away.
#[derive(Clone)]
pub struct LiveSocket {
    inner: Rc<RefCell<Inner>>,
}

impl LiveSocket {
    /// Connects to `path` (`/api/runs/4/live`) on the page's host, offering `token` (a team
    /// server's API token) as the subprotocol the server accepts in place of a header.
    pub fn open(
        path: &str,
        token: Option<String>,
        state: RwSignal<LiveState>,
        connection: RwSignal<Connection>,
    ) -> Self {
        let location = web_sys::window().map(|w| w.location());
        let protocol = location
            .as_ref()
            .and_then(|l| l.protocol().ok())
            .unwrap_or_default();
        let host = location
            .as_ref()
            .and_then(|l| l.host().ok())
            .unwrap_or_default();
        let socket = Self {
            inner: Rc::new(RefCell::new(Inner {
                url: socket_url(&protocol, &host, path),
                protocol: token.map(|t| format!("{}{t}", shared::paths::WS_TOKEN_PROTOCOL)),
                socket: None,
                on_message: None,
                on_close: None,
                failures: 0,
                stopped: false,
            })),
        };
        socket.connect(state, connection);
        socket
    }

    /// Closes the socket and cancels any reconnect.
    pub fn stop(&self) {
        let mut inner = self.inner.borrow_mut();
        inner.stopped = true;
        if let Some(socket) = inner.socket.take() {
            socket.set_onmessage(None);
            socket.set_onclose(None);
            drop(socket.close());
        }
    }

    fn retry(&self, state: RwSignal<LiveState>, connection: RwSignal<Connection>, reason: String) {
        let delay = {
            let mut inner = self.inner.borrow_mut();
            if inner.stopped {
                return;
            }
            let delay = backoff_ms(inner.failures);
            inner.failures += 1;
            delay
        };
        connection.set(Connection::Reconnecting {
            in_ms: delay,
            reason,
        });
        let this = self.clone();
        set_timeout(
            move || this.connect(state, connection),
            Duration::from_millis(u64::from(delay)),
        );
    }

    fn connect(&self, state: RwSignal<LiveState>, connection: RwSignal<Connection>) {
        let (url, protocol) = {
            let inner = self.inner.borrow();
            if inner.stopped {
                return;
            }
            (inner.url.clone(), inner.protocol.clone())
        };
        let opened = match &protocol {
            Some(protocol) => WebSocket::new_with_str(&url, protocol),
            None => WebSocket::new(&url),
        };
        let socket = match opened {
            Ok(socket) => socket,
            Err(error) => {
                self.retry(state, connection, format!("{error:?}"));
                return;
            }
        };
        let this = self.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let Some(text) = event.data().as_string() else {
                return;
            };
            let Ok(event) = serde_json::from_str::<ServerEvent>(&text) else {
                return;
            };
            let is_snapshot = matches!(event, ServerEvent::Snapshot { .. });
            let applied = state.try_update(|live| live.apply(event));
            match applied {
                Some(Ok(())) if is_snapshot => {
                    this.inner.borrow_mut().failures = 0;
                    connection.set(Connection::Live);
                }
                Some(Ok(())) => {}
                // A gap: drop this connection; the close handler reconnects for a snapshot.
                Some(Err(_)) => {
                    if let Some(socket) = &this.inner.borrow().socket {
                        drop(socket.close());
                    }
                }
                None => this.stop(),
            }
        });
        let this = self.clone();
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
            let finished = state
                .try_with_untracked(|live| live.state().is_some_and(|s| s.is_terminal()))
                .unwrap_or(true);
            if finished {
                connection.set(Connection::Finished);
                this.stop();
                return;
            }
            let reason = if event.reason().is_empty() {
                format!("connection closed (code {})", event.code())
            } else {
                event.reason()
            };
            this.retry(state, connection, reason);
        });
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        let mut inner = self.inner.borrow_mut();
        inner.socket = Some(socket);
        inner.on_message = Some(on_message);
        inner.on_close = Some(on_close);
    }
}
