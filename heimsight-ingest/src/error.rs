//! Errors of `heimsight-ingest`.

/// Errors of `heimsight-ingest`.
///
/// These concern a request body as a whole; problems of single items in a batch are not
/// errors but [`ItemError`](crate::json::ItemError)s in the returned
/// [`Batch`](crate::json::Batch), so that the valid items can still be stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The body is empty (or only whitespace).
    #[error("the request body is empty; expected a JSON object or an array of objects")]
    EmptyBody,
    /// The body is not valid UTF-8.
    #[error("the request body is not valid UTF-8 (invalid byte sequence at byte offset {offset})")]
    InvalidUtf8 {
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },
    /// The body is not well-formed JSON.
    #[error("malformed JSON at line {line}, column {column}: {reason}")]
    MalformedJson {
        /// Line of the problem, starting at 1.
        line: usize,
        /// Column of the problem, starting at 1.
        column: usize,
        /// What the JSON parser found wrong.
        reason: String,
    },
    /// The body is JSON, but neither an object nor an array.
    #[error("expected a JSON object or an array of objects, found {found}")]
    WrongTopLevel {
        /// The JSON type that was found (`a string`, `a number`, …).
        found: &'static str,
    },
    /// The body is not a valid protobuf encoding of the expected message.
    #[error("malformed protobuf: the body is not a valid {what}: {reason}")]
    MalformedProtobuf {
        /// The message that was expected.
        what: &'static str,
        /// What the decoder found wrong.
        reason: String,
    },
    /// The body is not valid Snappy (block format), or would decompress to more than allowed.
    #[error("malformed snappy: {reason}")]
    MalformedSnappy {
        /// What the decompressor found wrong.
        reason: String,
    },
    /// Storing the accepted items failed.
    #[error("storing the accepted items failed: {0}")]
    Store(#[from] heimsight_store::Error),
}

impl Error {
    /// True when the sender made a mistake (the body is at fault), false for server-side
    /// failures.
    pub fn is_client_error(&self) -> bool {
        match self {
            Error::Store(e) => e.is_client_error(),
            _ => true,
        }
    }
}

/// Result type of `heimsight-ingest`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
