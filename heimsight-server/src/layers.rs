//! The tower layers in front of every route group, exported so that an application puts them
//! in front of its own routes the same way, or assembles the groups differently.
//!
//! | layer | what it does |
//! |---|---|
//! | [`RequestTracingLayer`] | a `tracing` span per request (method, path, status, latency) and a safety net that turns a panicking handler into a 500 |
//! | [`BodyLimitLayer`] | request bodies over `max_body_bytes` get 413 with the API's JSON error |
//! | [`IngestBudgetLayer`] | POST/PUT bodies are read against the server's [`IngestBudget`]: 429 with `Retry-After` when it is in use |
//! | [`AccessLayer`] | asks an [`AccessControl`] whether a request may reach its [`RouteGroup`] |
//!
//! The route groups of [`HeimsightServer`](crate::HeimsightServer) come with these layers
//! already in place (access control only when the builder was given one).
//!
//! ```
//! use std::sync::Arc;
//!
//! use axum::Router;
//! use axum::routing::get;
//! use heimsight_server::layers::{BodyLimitLayer, RequestTracingLayer};
//!
//! // An application's own routes, traced and limited like Heimsight's.
//! let app: Router = Router::new()
//!     .route("/hello", get(|| async { "hi" }))
//!     .layer(BodyLimitLayer::new(1 << 20))
//!     .layer(RequestTracingLayer::new());
//! # let _ = app;
//! ```

use std::any::Any;
use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;
use tower::layer::util::Stack;
use tower::{Layer, Service};
use tower_http::catch_panic::{CatchPanic, CatchPanicLayer};
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::limit::{RequestBodyLimit, RequestBodyLimitLayer};
use tower_http::trace::{DefaultMakeSpan, DefaultOnRequest, DefaultOnResponse, Trace, TraceLayer};

use crate::api_error::ApiError;
use crate::budget::IngestBudget;

/// The groups of routes a [`HeimsightServer`](crate::HeimsightServer) offers; an
/// [`AccessControl`] decides per group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RouteGroup {
    /// Writing telemetry: `POST /api/v1/{logs,traces,metrics}`, OTLP/HTTP `/v1/*` and the
    /// OTLP/gRPC services.
    Ingest,
    /// Reading: `GET /api/v1/{logs,traces,metrics,…}`, `/api/v1/query`, `/health`, stats.
    Read,
    /// Changing the server's settings and state: retention, dashboards, alert rules,
    /// silences, notification channels.
    Admin,
    /// The web UI (reads, and changes through its forms).
    Ui,
}

impl RouteGroup {
    /// The group's name: `ingest`, `read`, `admin`, `ui`.
    pub fn as_str(self) -> &'static str {
        match self {
            RouteGroup::Ingest => "ingest",
            RouteGroup::Read => "read",
            RouteGroup::Admin => "admin",
            RouteGroup::Ui => "ui",
        }
    }
}

impl fmt::Display for RouteGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Decides whether a request may reach a route group: the place where authentication and
/// authorization plug in (give one to
/// [`HeimsightServerBuilder::access_control`](crate::HeimsightServerBuilder::access_control)).
/// It sees the request's method, URI and headers, never its body; an `Err` is the answer
/// (typically [`ApiError::Unauthorized`] or [`ApiError::Forbidden`]).
///
/// Closures `Fn(RouteGroup, &Parts) -> Result<(), ApiError>` are access controls:
///
/// ```
/// use heimsight_server::ApiError;
/// use heimsight_server::layers::{AccessControl, RouteGroup};
///
/// // Reading is open, everything else needs the admin token.
/// let control = |group: RouteGroup, req: &axum::http::request::Parts| {
///     let token = req.headers.get("authorization").and_then(|v| v.to_str().ok());
///     match (group, token) {
///         (RouteGroup::Read, _) | (_, Some("Bearer s3cret")) => Ok(()),
///         (_, None) => Err(ApiError::Unauthorized("send a bearer token".into())),
///         _ => Err(ApiError::Forbidden(format!("this token may not use {group}"))),
///     }
/// };
/// let req = axum::http::Request::get("/api/v1/logs").body(()).unwrap().into_parts().0;
/// assert!(control.check(RouteGroup::Read, &req).is_ok());
/// assert!(control.check(RouteGroup::Admin, &req).is_err());
/// ```
pub trait AccessControl: Send + Sync + 'static {
    /// `Ok` to let the request through, or the error to answer it with.
    fn check(&self, group: RouteGroup, request: &Parts) -> Result<(), ApiError>;
}

impl<F> AccessControl for F
where
    F: Fn(RouteGroup, &Parts) -> Result<(), ApiError> + Send + Sync + 'static,
{
    fn check(&self, group: RouteGroup, request: &Parts) -> Result<(), ApiError> {
        self(group, request)
    }
}

/// Asks an [`AccessControl`] about every request, for one [`RouteGroup`].
#[derive(Clone)]
pub struct AccessLayer {
    group: RouteGroup,
    control: Arc<dyn AccessControl>,
}

impl AccessLayer {
    /// Requests to `group` go through `control`.
    pub fn new(group: RouteGroup, control: Arc<dyn AccessControl>) -> AccessLayer {
        AccessLayer { group, control }
    }
}

impl fmt::Debug for AccessLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessLayer")
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for AccessLayer {
    type Service = Access<S>;

    fn layer(&self, inner: S) -> Access<S> {
        Access {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of [`AccessLayer`].
#[derive(Clone, Debug)]
pub struct Access<S> {
    inner: S,
    layer: AccessLayer,
}

impl<S> Service<Request> for Access<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let (parts, body) = req.into_parts();
        if let Err(e) = self.layer.control.check(self.layer.group, &parts) {
            return Box::pin(async move { Ok(e.into_response()) });
        }
        let req = Request::from_parts(parts, body);
        let fut = self.inner.call(req);
        Box::pin(fut)
    }
}

/// Reads the body of every POST and PUT against the ingest budget (and `max_body_bytes`)
/// before the handler runs, and holds the budget until the handler has answered: when the
/// budget is in use the request gets 429 with `Retry-After` at once, never waiting. Other
/// methods pass through.
#[derive(Debug, Clone)]
pub struct IngestBudgetLayer {
    budget: IngestBudget,
    max_body_bytes: usize,
}

impl IngestBudgetLayer {
    /// Bodies reserve bytes of `budget`; larger than `max_body_bytes` is 413.
    pub fn new(budget: IngestBudget, max_body_bytes: usize) -> IngestBudgetLayer {
        IngestBudgetLayer {
            budget,
            max_body_bytes,
        }
    }
}

impl<S> Layer<S> for IngestBudgetLayer {
    type Service = Budgeted<S>;

    fn layer(&self, inner: S) -> Budgeted<S> {
        Budgeted {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of [`IngestBudgetLayer`].
#[derive(Debug, Clone)]
pub struct Budgeted<S> {
    inner: S,
    layer: IngestBudgetLayer,
}

impl<S> Service<Request> for Budgeted<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // The service that was made ready answers this request; the clone waits for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if req.method() != Method::POST && req.method() != Method::PUT {
            return Box::pin(inner.call(req));
        }
        let layer = self.layer.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let declared = crate::budget::declared_length(&parts.headers);
            match crate::budget::read_body(body, &layer.budget, layer.max_body_bytes, declared)
                .await
            {
                Ok((bytes, permit)) => {
                    let res = inner
                        .call(Request::from_parts(parts, Body::from(bytes)))
                        .await;
                    drop(permit);
                    res
                }
                Err(e) => Ok(ApiError::from(e).into_response()),
            }
        })
    }
}

/// Limits request bodies to `max_body_bytes`: a larger declared `Content-Length` is answered
/// at once, a longer body fails while it is read (axum's extractors see the limit too), both
/// with 413 and the API's JSON error.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimitLayer {
    limit: usize,
}

impl BodyLimitLayer {
    /// Bodies of at most `limit` bytes.
    pub fn new(limit: usize) -> BodyLimitLayer {
        BodyLimitLayer { limit }
    }
}

impl<S> Layer<S> for BodyLimitLayer
where
    DefaultBodyLimit: Layer<S>,
{
    type Service = JsonPayloadTooLarge<RequestBodyLimit<<DefaultBodyLimit as Layer<S>>::Service>>;

    fn layer(&self, inner: S) -> Self::Service {
        let limited = RequestBodyLimitLayer::new(self.limit)
            .layer(DefaultBodyLimit::max(self.limit).layer(inner));
        JsonPayloadTooLarge {
            inner: limited,
            limit: self.limit,
        }
    }
}

/// Part of [`BodyLimitLayer`]: `RequestBodyLimit` answers declared lengths over the limit
/// itself, in plain text; this gives those answers the API's JSON shape.
#[derive(Debug, Clone)]
pub struct JsonPayloadTooLarge<S> {
    inner: S,
    limit: usize,
}

impl<S, B> Service<Request> for JsonPayloadTooLarge<S>
where
    S: Service<Request, Response = axum::http::Response<B>, Error = Infallible>,
    S::Future: Send + 'static,
    B: axum::body::HttpBody<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let limit = self.limit;
        let fut = self.inner.call(req);
        Box::pin(async move {
            let res = fut.await?.map(Body::new);
            let is_json = res
                .headers()
                .get(CONTENT_TYPE)
                .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
            if res.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
                Ok(ApiError::PayloadTooLarge { limit }.into_response())
            } else {
                Ok(res)
            }
        })
    }
}

/// How a panicking handler is answered.
type PanicHandler = fn(Box<dyn Any + Send + 'static>) -> Response;

type TracingStack = Stack<
    CatchPanicLayer<PanicHandler>,
    TraceLayer<
        SharedClassifier<ServerErrorsAsFailures>,
        DefaultMakeSpan,
        DefaultOnRequest,
        DefaultOnResponse,
    >,
>;

/// A `tracing` span at INFO for every request (method, URI, then status and latency), and a
/// safety net inside it: a handler that panics is answered with a 500 and the API's JSON
/// error instead of a dropped connection.
#[derive(Debug, Clone)]
pub struct RequestTracingLayer {
    stack: TracingStack,
}

impl RequestTracingLayer {
    /// The layer.
    pub fn new() -> RequestTracingLayer {
        RequestTracingLayer {
            stack: Stack::new(
                CatchPanicLayer::custom(panic_response as PanicHandler),
                TraceLayer::new_for_http()
                    .make_span_with(DefaultMakeSpan::new().level(tracing::Level::INFO))
                    .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
            ),
        }
    }
}

impl Default for RequestTracingLayer {
    fn default() -> Self {
        RequestTracingLayer::new()
    }
}

impl<S> Layer<S> for RequestTracingLayer {
    type Service = Trace<
        CatchPanic<S, PanicHandler>,
        SharedClassifier<ServerErrorsAsFailures>,
        DefaultMakeSpan,
        DefaultOnRequest,
        DefaultOnResponse,
    >;

    fn layer(&self, inner: S) -> Self::Service {
        self.stack.layer(inner)
    }
}

/// The safety net: a panic in a handler becomes a 500 instead of a dropped connection.
fn panic_response(err: Box<dyn Any + Send + 'static>) -> Response {
    let detail = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    ApiError::Internal(format!("internal error: {detail}")).into_response()
}
