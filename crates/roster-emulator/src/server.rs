//! The accept loop: one hyper HTTP/1.1 connection per socket, each of which can be
//! closed on demand (to inject a dropped connection) or drained on shutdown.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::http::ConnectionKiller;

/// How long connections may take to finish their requests once shutdown begins.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Accepts connections until `shutdown` turns true, then lets open connections finish.
pub(crate) async fn serve(listener: TcpListener, router: Router, mut shutdown: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(serve_connection(stream, router.clone(), shutdown.clone()));
                }
                Err(error) => {
                    // Out of file descriptors and the like: wait a little instead of spinning.
                    tracing::warn!(%error, "emulator cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = shutdown.changed() => break,
        }
    }
    drop(listener);
    let drained =
        tokio::time::timeout(DRAIN_TIMEOUT, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!("emulator connections did not finish in time; closing them");
        connections.abort_all();
        while connections.join_next().await.is_some() {}
    }
}

async fn serve_connection(stream: TcpStream, router: Router, mut shutdown: watch::Receiver<bool>) {
    let _ = stream.set_nodelay(true);
    let killer = Arc::new(Notify::new());
    let service = hyper::service::service_fn({
        let killer = killer.clone();
        move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectionKiller(killer.clone()));
            let router = router.clone();
            async move {
                Ok::<_, Infallible>(
                    router.oneshot(request.map(Body::new)).await.unwrap_or_else(|e| match e {}),
                )
            }
        }
    });
    let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let mut draining = *shutdown.borrow();
    if draining {
        connection.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%error, "emulator connection ended with an error");
                }
                break;
            }
            _ = killer.notified() => {
                // Returning drops the connection, and with it the socket: the client
                // sees the connection closed without an answer.
                tracing::debug!("emulator dropping a connection on purpose");
                break;
            }
            _ = shutdown.changed(), if !draining => {
                draining = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}
