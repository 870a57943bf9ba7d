//! Serves the API until SIGINT or SIGTERM, then shuts down gracefully: stop accepting
//! connections, let the producer commit what is pending, close the store.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use crate::api::router_with;
use crate::core::{NodeCore, NodeOptions};
use crate::error::NodeError;

/// Default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7420";

/// Waits for SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Runs a node from a data directory until a shutdown signal. `on_ready` is called
/// with the bound address once the server listens.
pub async fn run(
    dir: &Path,
    listen: SocketAddr,
    options: NodeOptions,
    on_ready: impl FnOnce(SocketAddr, &NodeCore),
) -> Result<(), NodeError> {
    run_until(dir, listen, options, on_ready, shutdown_signal()).await
}

/// Runs a node until `stop` completes (a signal, or an embedding program's own
/// shutdown), then shuts down as gracefully as on a signal.
pub async fn run_until(
    dir: &Path,
    listen: SocketAddr,
    options: NodeOptions,
    on_ready: impl FnOnce(SocketAddr, &NodeCore),
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    let http = options.http.clone();
    let core = NodeCore::open(dir, options)?;
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    on_ready(addr, &core);
    let app = router_with(core.clone(), &http);
    let closing = core.clone();
    crate::http::serve(listener, app, &http, async move {
        stop.await;
        // End event streams first, or graceful shutdown would wait on them forever.
        closing.begin_shutdown();
    })
    .await?;
    let c: Arc<NodeCore> = core;
    tokio::task::spawn_blocking(move || c.shutdown()).await.map_err(|e| NodeError::DataDir(e.to_string()))?;
    Ok(())
}
