//! The body extractor of POST/PUT endpoints: checks the content type, enforces the size
//! limit, and turns every failure into an [`ApiError`].

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;

use crate::api_error::ApiError;
use crate::state::AppState;

/// A request body declared as `application/json`, as raw bytes (decoding is the caller's).
#[derive(Debug)]
pub(crate) struct JsonBody(pub(crate) Bytes);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        check_content_type(req.headers().get(CONTENT_TYPE).map(|v| v.as_bytes()))?;
        match Bytes::from_request(req, state).await {
            Ok(b) => Ok(JsonBody(b)),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::PayloadTooLarge {
                    limit: state.config.max_body_bytes,
                })
            }
            Err(e) => Err(ApiError::bad_request(format!(
                "could not read the request body: {}",
                e.body_text()
            ))),
        }
    }
}

fn check_content_type(value: Option<&[u8]>) -> Result<(), ApiError> {
    let Some(value) = value else {
        return Err(ApiError::UnsupportedMediaType(
            "missing Content-Type header; send the body as application/json \
             (curl: -H 'Content-Type: application/json')"
                .into(),
        ));
    };
    let text = String::from_utf8_lossy(value);
    let essence = text
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
    {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(format!(
            "unsupported Content-Type {text:?}; send the body as application/json"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_json_with_parameters() {
        assert!(check_content_type(Some(b"application/json")).is_ok());
        assert!(check_content_type(Some(b"Application/JSON; charset=utf-8")).is_ok());
        assert!(check_content_type(Some(b"application/vnd.api+json")).is_ok());
        assert!(check_content_type(Some(b"text/plain")).is_err());
        assert!(check_content_type(Some(b"application/x-www-form-urlencoded")).is_err());
        assert!(check_content_type(None).is_err());
    }
}
