//! Request bodies: at most [`BODY_LIMIT`] bytes (413 above), strict JSON (400 for a duplicate
//! member or nesting past 32 levels, with the member's pointer), and typed field readers that
//! name the member at fault.

use axum::extract::{FromRequest, Request};
use serde_json::{Map, Value};
use zcred_model::json::parse_strict;

use crate::error::ApiError;

/// The largest body accepted (api.md §1.1).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// A JSON object body.
#[derive(Debug)]
pub struct Body(pub Map<String, Value>);

/// How long a request's body may take to arrive (set per request by the service from its
/// settings; a slow sender is cut off instead of holding a connection).
#[derive(Debug, Clone, Copy)]
pub struct BodyDeadline(pub std::time::Duration);

/// The body deadline a request carries ([`BodyDeadline`]), 30 s when none was set.
pub fn deadline_of(extensions: &axum::http::Extensions) -> std::time::Duration {
    extensions
        .get::<BodyDeadline>()
        .map_or(std::time::Duration::from_secs(30), |d| d.0)
}

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<Body, ApiError> {
        let within = deadline_of(req.extensions());
        let bytes = read_limited(req.into_body(), BODY_LIMIT, within).await?;
        // No body at all reads as `{}`: a missing member is then named as such.
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body(Map::new()));
        }
        match parse_strict(&bytes) {
            Ok(Value::Object(map)) => Ok(Body(map)),
            Ok(_) => Err(ApiError::invalid_request("the body must be a JSON object")),
            Err(e) => {
                let refused = ApiError::invalid_request(e.to_string());
                Err(match e.pointer() {
                    Some(pointer) => refused.at(pointer),
                    None => refused,
                })
            }
        }
    }
}

/// The whole body, at most `limit` bytes (413 above), arrived `within` the deadline (400
/// after it: a body sent a byte at a time does not hold the connection).
pub async fn read_limited(
    body: axum::body::Body,
    limit: usize,
    within: std::time::Duration,
) -> Result<axum::body::Bytes, ApiError> {
    let read = tokio::time::timeout(within, axum::body::to_bytes(body, limit))
        .await
        .map_err(|_| {
            ApiError::invalid_request(format!(
                "the request body did not arrive within {} s",
                within.as_secs()
            ))
        })?;
    read.map_err(|e| {
        if e.into_inner().is::<http_body_util::LengthLimitError>() {
            ApiError::too_large(limit)
        } else {
            ApiError::invalid_request("the request body could not be read")
        }
    })
}

/// An optional member of whole seconds in `range`, `default` when absent or null.
pub fn optional_seconds(
    body: &Map<String, Value>,
    name: &str,
    range: std::ops::RangeInclusive<i64>,
    default: i64,
) -> Result<i64, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v.as_i64().filter(|s| range.contains(s)).ok_or_else(|| {
            ApiError::invalid_format(format!(
                "/{name} must be whole seconds from {} to {}",
                range.start(),
                range.end()
            ))
            .at(format!("/{name}"))
        }),
    }
}

/// A required string member.
pub fn string<'a>(body: &'a Map<String, Value>, name: &str) -> Result<&'a str, ApiError> {
    let pointer = format!("/{name}");
    match body.get(name) {
        None | Some(Value::Null) => Err(ApiError::missing(&pointer)),
        Some(Value::String(s)) if s.is_empty() => Err(ApiError::missing(&pointer)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(ApiError::invalid_format(format!("{pointer} must be a string")).at(pointer)),
    }
}

/// An optional string member.
pub fn optional_string<'a>(
    body: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => string(body, name).map(Some),
    }
}

/// An optional free-text member of at most `max` characters. Its length starts at 0 (api.md
/// §7.1, §9.1 `remark`), so an empty string is no text, like an absent member or null.
pub fn optional_text<'a>(
    body: &'a Map<String, Value>,
    name: &str,
    max: usize,
) -> Result<Option<&'a str>, ApiError> {
    let text = match body.get(name) {
        Some(Value::String(s)) if s.is_empty() => None,
        _ => optional_string(body, name)?,
    };
    if text.is_some_and(|t| t.chars().count() > max) {
        return Err(
            ApiError::invalid_request(format!("/{name} is longer than {max} characters"))
                .at(format!("/{name}")),
        );
    }
    Ok(text)
}

/// A required array member with `min..=max` entries.
pub fn array<'a>(
    body: &'a Map<String, Value>,
    name: &str,
    min: usize,
    max: usize,
) -> Result<&'a [Value], ApiError> {
    let pointer = format!("/{name}");
    match body.get(name) {
        None | Some(Value::Null) => Err(ApiError::missing(&pointer)),
        Some(Value::Array(items)) if (min..=max).contains(&items.len()) => Ok(items),
        Some(Value::Array(items)) => Err(ApiError::invalid_request(format!(
            "{pointer} must have {min} to {max} entries, found {}",
            items.len()
        ))
        .at(pointer)),
        Some(_) => Err(ApiError::invalid_format(format!("{pointer} must be an array")).at(pointer)),
    }
}

/// A required hex Ed25519 signature member `name` of `map`, named in errors as `{at}/{name}`:
/// missing or empty → 400 `MISSING_FIELD`; not a string, a wrong length or not hex → 400
/// `INVALID_SIGNATURE_FORMAT` (api.md §2.4).
pub fn signature(
    map: &Map<String, Value>,
    name: &str,
    at: &str,
) -> Result<zcred_crypto::zetrix::Signature, ApiError> {
    let pointer = format!("{at}/{name}");
    let text = match map.get(name) {
        Some(Value::String(s)) if !s.is_empty() => s,
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return Err(ApiError::missing(&pointer))
        }
        Some(_) => {
            return Err(ApiError::invalid_signature_format(format!(
                "{pointer} must be a hex string"
            ))
            .at(pointer))
        }
    };
    zcred_crypto::zetrix::Signature::from_hex(text)
        .map_err(|e| ApiError::invalid_signature_format(format!("{pointer}: {e}")).at(pointer))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    #[test]
    fn free_text_may_be_empty() {
        let read = |v: Value| {
            optional_text(&body(json!({ "remark": v })), "remark", 4).map(|t| t.map(str::to_owned))
        };
        assert_eq!(read(json!("")).unwrap(), None);
        assert_eq!(read(Value::Null).unwrap(), None);
        assert_eq!(optional_text(&Map::new(), "remark", 4).unwrap(), None);
        assert_eq!(read(json!("four")).unwrap().as_deref(), Some("four"));
        assert_eq!(
            read(json!("ünï")).unwrap().as_deref(),
            Some("ünï"),
            "characters, not bytes"
        );
        let long = read(json!("fives")).unwrap_err();
        assert_eq!(long.status, 400);
        assert_eq!(long.message.field.as_deref(), Some("/remark"));
        let typed = read(json!(4)).unwrap_err();
        assert_eq!(typed.message.code, "INVALID_FORMAT");
        // A required string stays required: empty is missing.
        let missing = string(&body(json!({ "name": "" })), "name").unwrap_err();
        assert_eq!(missing.message.code, "MISSING_FIELD");
    }
}
