//! The one way the server runs blocking work — every store call, gunzipping a large gRPC
//! body, the alert manager's store work — off tokio's async workers: [`run`] on tokio's
//! blocking pool, with [`TaskFailed`] when the work panicked or the runtime is shutting
//! down. The typed helpers of the handlers (`AppState::blocking`, the OTLP and alerting
//! ones) are this function plus their own error mapping.

/// A task that did not finish — blocking work of [`run`], or a task the server spawned: it
/// panicked, or the runtime shut down first. The `JoinError` is its source.
#[derive(Debug, thiserror::Error)]
#[error("a task failed")]
pub struct TaskFailed(#[source] tokio::task::JoinError);

impl TaskFailed {
    /// The message with its cause, for answers that carry one line of text.
    pub(crate) fn with_cause(&self) -> String {
        format!("{self}: {}", self.0)
    }
}

impl From<tokio::task::JoinError> for TaskFailed {
    fn from(e: tokio::task::JoinError) -> Self {
        TaskFailed(e)
    }
}

/// Runs `f` on tokio's blocking pool and waits for its result. Must be called within a tokio
/// runtime.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let sum = heimsight_server::blocking::run(|| (1..=10).sum::<u32>()).await.unwrap();
/// assert_eq!(sum, 55);
/// # }
/// ```
pub async fn run<T, F>(f: F) -> Result<T, TaskFailed>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    Ok(tokio::task::spawn_blocking(f).await?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_in_the_work_is_an_error_not_a_crash() {
        let e = run(|| -> u8 { panic!("boom") }).await.unwrap_err();
        assert_eq!(e.to_string(), "a task failed");
        let source = std::error::Error::source(&e).unwrap().to_string();
        assert!(source.contains("panicked"), "{source}");
        assert_eq!(e.with_cause(), format!("a task failed: {source}"));
    }
}
