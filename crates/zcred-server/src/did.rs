//! `GET /1.0/identifiers/{did}`: the DID document of an issuer, from its KEL, in the Universal
//! Resolver's envelope (`didDocument`, `didResolutionMetadata`, `didDocumentMetadata`). Public:
//! no API key. The DID stays after a rotation; `#controllerKey` is the current key.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use zcred_ledger::Key;
use zcred_model::Did;

use crate::{AppState, Store};

fn failure(status: StatusCode, error: &str, message: String) -> Response {
    let body = json!({
        "@context": "https://w3id.org/did-resolution/v1",
        "didDocument": Value::Null,
        "didResolutionMetadata": { "error": error, "message": message },
        "didDocumentMetadata": {},
    });
    (status, Json(body)).into_response()
}

/// The handler.
pub async fn resolve<S: Store>(
    State(state): State<AppState<S>>,
    did: Result<Path<String>, PathRejection>,
) -> Response {
    // A path segment that does not decode (percent-encoded bytes that are not UTF-8) is a bad
    // DID like any other: the resolver's envelope, not axum's plain-text rejection.
    let did = match did {
        Ok(Path(did)) => did,
        Err(e) => return failure(StatusCode::BAD_REQUEST, "invalidDid", e.body_text()),
    };
    let did = match Did::parse(&did) {
        Ok(did) => did,
        Err(e) => return failure(StatusCode::BAD_REQUEST, "invalidDid", e.to_string()),
    };
    let Ok(original) = did.key() else {
        return failure(
            StatusCode::BAD_REQUEST,
            "invalidDid",
            "the DID does not name an Ed25519 key".into(),
        );
    };
    let prefix = Key::new(&original, true).to_string();
    // One read of the whole (issuer-sized) log: keys and attributes as of the same event.
    let events = match state.journal().kel_events(&prefix).await {
        Ok(events) => events,
        Err(e) => {
            let e = crate::error::ApiError::unavailable(e);
            return failure(
                e.status,
                "internalError",
                "the service's storage is unavailable".into(),
            );
        }
    };
    let Some(keys) = crate::attributes::keys_in_force(&events) else {
        return failure(
            StatusCode::NOT_FOUND,
            "notFound",
            format!("{did} is not registered here"),
        );
    };
    let id = did.as_str();
    let (Some(head), Some(establishment)) = (
        events.last(),
        events.iter().rev().find(|e| {
            matches!(
                e.body(),
                zcred_ledger::Body::Inception(_) | zcred_ledger::Body::Rotation(_)
            )
        }),
    ) else {
        return failure(
            StatusCode::NOT_FOUND,
            "notFound",
            format!("{did} is not registered here"),
        );
    };
    let methods: Vec<Value> = keys
        .iter()
        .filter_map(|k| k.verifying_key().ok())
        .map(|k| {
            json!({
                "id": format!("{id}#controllerKey"),
                "type": "Ed25519VerificationKey2020",
                "controller": id,
                "publicKeyMultibase": k.to_multibase(),
            })
        })
        .collect();
    let key_ref = json!([format!("{id}#controllerKey")]);
    let attributes = crate::attributes::list(&events);
    let mut methods = methods;
    let mut assertion = vec![json!(format!("{id}#controllerKey"))];
    let mut agreement = Vec::new();
    for a in &attributes {
        methods.push(a.method(id));
        let reference = json!(format!("{id}#{}", a.fragment));
        if a.kind == crate::attributes::BBS_TYPE {
            assertion.push(reference);
        } else {
            agreement.push(reference);
        }
    }
    let status = match crate::admin::issuer_status(state.journal(), &did).await {
        Ok(status) => status.as_str(),
        Err(e) => {
            return failure(
                e.status,
                "internalError",
                "the service's storage is unavailable".into(),
            )
        }
    };
    Json(json!({
        "@context": "https://w3id.org/did-resolution/v1",
        "didDocument": {
            "@context": [
                "https://www.w3.org/ns/did/v1",
                "https://w3id.org/security/suites/ed25519-2020/v1",
                "https://w3id.org/security/bbs/v1",
                "https://w3id.org/security/suites/x25519-2020/v1"
            ],
            "id": id,
            "verificationMethod": methods,
            "authentication": key_ref,
            "assertionMethod": assertion,
            "keyAgreement": agreement,
        },
        "didResolutionMetadata": { "contentType": "application/did+ld+json" },
        "didDocumentMetadata": {
            "keriPrefix": prefix,
            "sn": head.sn(),
            "versionId": head.said().to_string(),
            "establishment": { "sn": establishment.sn(), "said": establishment.said().to_string() },
            "zcredIssuerStatus": status,
        },
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use crate::testing::{exchange, service};

    async fn resolve(path: &str) -> (u16, String, Value) {
        let head = format!("GET /1.0/identifiers/{path} HTTP/1.1");
        let answer = exchange(service().await, &head, "").await;
        let body = serde_json::from_str(&answer.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {answer:?}"));
        (answer.status, answer.content_type, body)
    }

    #[tokio::test]
    async fn a_did_that_does_not_decode_is_a_bad_did_in_the_resolver_envelope() {
        // %FF is not UTF-8: axum's own rejection would be a text/plain 400.
        let (status, content_type, body) = resolve("%FF").await;
        assert_eq!(status, 400);
        assert_eq!(content_type, "application/json");
        assert_eq!(body["didResolutionMetadata"]["error"], "invalidDid");
        assert!(body["didDocument"].is_null(), "{body}");
        assert_eq!(body["didDocumentMetadata"], serde_json::json!({}));
    }

    #[tokio::test]
    async fn bad_and_unknown_dids_keep_their_answers() {
        let (status, _, body) = resolve("did:zid:xyz").await;
        assert_eq!(status, 400);
        assert_eq!(body["didResolutionMetadata"]["error"], "invalidDid");
        let unknown = format!("did:zid:{}", "1".repeat(64));
        let (status, _, body) = resolve(&unknown).await;
        assert!(status == 400 || status == 404, "{status} {body}");
        assert!(body["didDocument"].is_null());
    }
}
