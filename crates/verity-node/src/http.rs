//! The HTTP server's protections: how long a client may take to send a request, how
//! many connections, requests and event streams it may hold, and the accept loop that
//! enforces them (HTTP/1.1 on hyper, one task per connection).
//!
//! | Bound | Default | When exceeded |
//! |---|---|---|
//! | request head (line and headers) read | [`HEADER_READ_TIMEOUT`] | connection closed (hyper's `header_read_timeout`; also bounds an idle keep-alive connection) |
//! | request body read, whole body | [`BODY_READ_TIMEOUT`] | 408 `body_timeout`, connection closed |
//! | request body size (`Content-Length` first) | `REQUEST_BYTES_MAX` | 413 `payload_too_large`, connection closed |
//! | whole request, handler included | [`REQUEST_TIMEOUT`] | 503 `request_timeout` + Retry-After |
//! | open connections | [`CONNECTIONS_MAX`] | 503 `too_many_connections` written once, connection closed |
//! | requests being handled at once | [`REQUESTS_IN_FLIGHT_MAX`] | 503 `overloaded` + Retry-After |
//! | `/v1/events` subscribers | [`EVENT_SUBSCRIBERS_MAX`] | 503 `too_many_subscribers` + Retry-After |
//!
//! The timeouts are this crate's own middleware rather than tower-http's `TimeoutLayer`
//! and `RequestBodyTimeoutLayer`: those answer an empty 408 where every error of this
//! API is JSON `{code, message}`, and tower-http's body timeout restarts at every frame,
//! so a client dripping a byte at a time never trips it; here the whole body must
//! arrive within [`BODY_READ_TIMEOUT`]. Every bound is a field of [`HttpLimits`], so
//! tests run them in milliseconds.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use verity_types::limits::REQUEST_BYTES_MAX;

use crate::api::{ErrorCode, HttpError, COMMIT_WAIT_MAX};

/// Longest a client may take to send a request's line and headers, from the moment
/// the server starts reading them (the connection's start, or the end of the previous
/// response on a kept-alive connection).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a client may take to send a whole request body (at most
/// `REQUEST_BYTES_MAX`, 17 MiB: about 600 KB/s at the slowest).
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest a request may take from its headers to its response, the handler included.
/// Above [`COMMIT_WAIT_MAX`], so a submitter waiting for its commit is answered by the
/// handler (`pending`) rather than by this timeout.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Most open HTTP connections. Below the common default of 1,024 open files per
/// process, which the store's files share.
pub const CONNECTIONS_MAX: usize = 512;
/// Most requests handled at once (an event stream counts only until it starts).
pub const REQUESTS_IN_FLIGHT_MAX: usize = 256;
/// Most open `/v1/events` streams.
pub const EVENT_SUBSCRIBERS_MAX: usize = 128;

const _: () = assert!(REQUEST_TIMEOUT.as_secs() >= COMMIT_WAIT_MAX.as_secs() + 10);
const _: () = assert!(BODY_READ_TIMEOUT.as_secs() < REQUEST_TIMEOUT.as_secs());
const _: () = assert!(REQUESTS_IN_FLIGHT_MAX <= CONNECTIONS_MAX);
const _: () = assert!(EVENT_SUBSCRIBERS_MAX < CONNECTIONS_MAX);

/// The HTTP server's bounds (see the module table). `Default` is the named constants.
#[derive(Clone, Debug)]
pub struct HttpLimits {
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub request_timeout: Duration,
    pub connections_max: usize,
    pub requests_in_flight_max: usize,
    pub event_subscribers_max: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            header_read_timeout: HEADER_READ_TIMEOUT,
            body_read_timeout: BODY_READ_TIMEOUT,
            request_timeout: REQUEST_TIMEOUT,
            connections_max: CONNECTIONS_MAX,
            requests_in_flight_max: REQUESTS_IN_FLIGHT_MAX,
            event_subscribers_max: EVENT_SUBSCRIBERS_MAX,
        }
    }
}

/// Slots for `/v1/events` streams: a stream holds one for as long as it is open.
#[derive(Clone)]
pub struct EventSlots(Arc<Semaphore>);

impl EventSlots {
    pub fn new(max: usize) -> Self {
        EventSlots(Arc::new(Semaphore::new(max)))
    }

    /// A slot, or `too_many_subscribers` when all are taken.
    pub fn take(&self) -> Result<OwnedSemaphorePermit, HttpError> {
        self.0.clone().try_acquire_owned().map_err(|_| {
            HttpError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::TooManySubscribers,
                "the node serves as many event streams as it allows; retry later",
            )
        })
    }
}

/// What the per-request middleware needs.
#[derive(Clone)]
struct RequestGuard {
    in_flight: Arc<Semaphore>,
    body_read_timeout: Duration,
    request_timeout: Duration,
}

/// Wraps `router` in the per-request bounds of `limits` (requests in flight, whole
/// request timeout, body size and read timeout). The connection-level bounds are
/// [`serve`]'s.
pub fn guard(router: Router, limits: &HttpLimits) -> Router {
    let state = RequestGuard {
        in_flight: Arc::new(Semaphore::new(limits.requests_in_flight_max)),
        body_read_timeout: limits.body_read_timeout,
        request_timeout: limits.request_timeout,
    };
    // The last layer added runs first: a request takes an in-flight slot, then starts
    // the whole-request clock, then its body is read within its own deadline.
    router
        .layer(axum::middleware::from_fn_with_state(state.clone(), read_body))
        .layer(axum::middleware::from_fn_with_state(state.clone(), time_request))
        .layer(axum::middleware::from_fn_with_state(state, limit_in_flight))
}

async fn limit_in_flight(State(g): State<RequestGuard>, req: Request, next: Next) -> Response {
    let Ok(_permit) = g.in_flight.try_acquire() else {
        return HttpError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Overloaded,
            "the node is handling as many requests as it allows; retry later",
        )
        .into_response();
    };
    next.run(req).await
}

async fn time_request(State(g): State<RequestGuard>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(g.request_timeout, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => closing(HttpError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::RequestTimeout,
            format!("the request took longer than {} ms", g.request_timeout.as_millis()),
        )),
    }
}

/// Reads the whole body (size first, then within the deadline) before the handler
/// runs, so that no handler ever waits on a slow client.
async fn read_body(State(g): State<RequestGuard>, req: Request, next: Next) -> Response {
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > REQUEST_BYTES_MAX as u64) {
        return closing(too_large());
    }
    let (parts, body) = req.into_parts();
    let bytes = match tokio::time::timeout(g.body_read_timeout, collect(body, REQUEST_BYTES_MAX)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(BodyError::TooLarge)) => return closing(too_large()),
        Ok(Err(BodyError::Read(e))) => {
            return closing(HttpError::bad_request(
                ErrorCode::InvalidBody,
                format!("reading the request body failed: {e}"),
            ))
        }
        Err(_) => {
            return closing(HttpError::new(
                StatusCode::REQUEST_TIMEOUT,
                ErrorCode::BodyTimeout,
                format!("the request body did not arrive within {} ms", g.body_read_timeout.as_millis()),
            ))
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

enum BodyError {
    TooLarge,
    Read(axum::Error),
}

/// The whole body, refusing it as soon as it exceeds `max` bytes (a chunked body
/// declares no length).
async fn collect(body: Body, max: usize) -> Result<Vec<u8>, BodyError> {
    use futures::StreamExt;
    let mut stream = body.into_data_stream();
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(BodyError::Read)?;
        if out.len() + chunk.len() > max {
            return Err(BodyError::TooLarge);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

fn too_large() -> HttpError {
    HttpError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::PayloadTooLarge,
        format!("request body above {REQUEST_BYTES_MAX} bytes"),
    )
}

/// An error response after which the connection is closed: the rest of the request is
/// not read.
fn closing(e: HttpError) -> Response {
    let mut resp = e.into_response();
    resp.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// What a connection over [`HttpLimits::connections_max`] is told before it is closed.
const TOO_MANY_CONNECTIONS: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: 90\r\n\r\n\
{\"code\":\"too_many_connections\",\"message\":\"the node has as many connections as it allows\"}";

/// Serves `app` on `listener` until `stop` completes, then shuts down gracefully:
/// stops accepting, lets each connection finish its request in flight, and returns
/// once every connection has closed. Each connection is HTTP/1.1 with
/// [`HttpLimits::header_read_timeout`]; at most [`HttpLimits::connections_max`] are open
/// at once. `app` should already be wrapped by [`guard`] (the router of
/// [`crate::api::router_with`] is).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: &HttpLimits,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let max = limits.connections_max;
    let connections = Arc::new(Semaphore::new(max));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    let (closing_tx, closing_rx) = tokio::sync::watch::channel(false);
    let mut stop = std::pin::pin!(stop);
    loop {
        let accepted = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors, or a connection reset before it was accepted:
                // wait a moment instead of spinning, as axum's own loop does.
                tracing::debug!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            // One attempt to tell the client why, without waiting on it.
            let _ = stream.try_write(TOO_MANY_CONNECTIONS);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let conn = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let mut closing = closing_rx.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => return,
                _ = closing.wait_for(|c| *c) => {}
            }
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        });
    }
    drop(listener);
    closing_tx.send_replace(true);
    // Every connection task holds a permit until it ends.
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    let _ = connections.acquire_many(all).await;
    Ok(())
}
