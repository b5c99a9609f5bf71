//! Template APIs (api.md §7). A template is recorded as an ACDC v1 issued by the issuer
//! (`i` = the issuer's KEL prefix, `s` = the SAID of zcred's template schema, `a` = the
//! template), endorsed with the issuer's signature (`-F`, tied to its establishment event) and
//! anchored by one seal `{"d": <ACDC SAID>}` in an `ixn` of the issuer's agent (`-I` triple on
//! the ACDC). The blob of 7.1 is the ACDC's exact bytes; `txHash` is the SAID of the agent's
//! anchoring `ixn`. The ACDC, its endorsement and its anchor are in every export, so a template
//! verifies offline with `zcred ledger verify`.
//!
//! `templateId` = `did:zid:` + hex(SHA-256(issuerZid "\n" templateName "\n" version)) (OP-5),
//! so a second template with the same three is 409. The record (`template/<templateId>`) is
//! also served at `GET /getAccountMetaData?address=<registry>&key=template__<templateId>`,
//! the URL that VC `@context`s name (OP-9; public, as DID resolution is).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Extension;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;
use zcred_crypto::zetrix::{Signature, SigningKey};
use zcred_ledger::acdc::{self, Acdc};
use zcred_ledger::cesr::Attachments;
use zcred_ledger::{flows, Message, Payload, Prefix, Said};
use zcred_model::template::{subject_key, Attribute, Format, Supplier, Template};
use zcred_model::Did;
use zcred_store::{Expectation, StateUpdate, Write};
use zeroize::Zeroizing;

use crate::access::Caller;
use crate::agent::{self, Issuer};
use crate::blobs;
use crate::body::{array, optional_text, string, Body};
use crate::error::{ApiError, Envelope};
use crate::{AppState, Store};

const KIND: &str = "template";

/// The JSON Schema of a template ACDC's `a` block, with its SAID in `$id`.
pub fn schema() -> &'static (String, Map<String, Value>) {
    static SCHEMA: OnceLock<(String, Map<String, Value>)> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let Value::Object(mut schema) = json!({
            "$id": "",
            "$schema": "http://json-schema.org/draft-07/schema#",
            "title": "zcred credential template",
            "type": "object",
            "properties": {
                "a": {
                    "type": "object",
                    "required": ["d", "dt", "templateId", "issuerZid", "templateName", "subjectKey", "version", "credentialFormat"],
                    "properties": {
                        "d": {"type": "string"},
                        "dt": {"type": "string", "format": "date-time"},
                        "templateId": {"type": "string"},
                        "issuerZid": {"type": "string"},
                        "templateName": {"type": "string"},
                        "subjectKey": {"type": "string"},
                        "version": {"type": "string"},
                        "remark": {"type": "string"},
                        "credentialFormat": {"type": "array"}
                    }
                }
            }
        }) else {
            unreachable!("a JSON object literal")
        };
        let said = acdc::saidify_schema(&mut schema).unwrap_or_default();
        (said, schema)
    })
}

/// `templateId` of api.md OP-5.
pub fn template_id(issuer: &Did, name: &str, version: &str) -> String {
    let digest = Sha256::digest(format!("{issuer}\n{name}\n{version}").as_bytes());
    format!("did:zid:{}", hex::encode(digest))
}

fn attribute_at(entry: &Value, at: &str) -> Result<Attribute, ApiError> {
    let Value::Object(entry) = entry else {
        return Err(ApiError::invalid_format(format!("{at} must be an object")).at(at));
    };
    let text = |name: &str| -> Result<&str, ApiError> {
        let pointer = format!("{at}/{name}");
        match entry.get(name) {
            None | Some(Value::Null) => Err(ApiError::missing(&pointer)),
            Some(Value::String(s)) if s.is_empty() => Err(ApiError::missing(&pointer)),
            Some(Value::String(s)) => Ok(s),
            Some(_) => {
                Err(ApiError::invalid_format(format!("{pointer} must be a string")).at(pointer))
            }
        }
    };
    let attribute = text("attribute")?.to_owned();
    let key = text("key")?.to_owned();
    let format = text("format")?;
    let format = Format::parse(format).ok_or_else(|| {
        ApiError::invalid_format(format!(
            "{at}/format must be STRING, NUMBER, DATE or IMAGE (or an image/… MIME type), found {format:?}"
        ))
        .at(format!("{at}/format"))
    })?;
    let mandatory = match entry.get("mandatory") {
        Some(Value::Bool(b)) => *b,
        None | Some(Value::Null) => return Err(ApiError::missing(&format!("{at}/mandatory"))),
        Some(_) => {
            return Err(
                ApiError::invalid_format(format!("{at}/mandatory must be true or false"))
                    .at(format!("{at}/mandatory")),
            )
        }
    };
    let supplier = match entry.get("type") {
        Some(Value::Number(_)) => {
            return Err(ApiError::invalid_format(format!(
            "{at}/type must be USER, FIXED or APPLICATION; numeric codes have no defined meaning"
        ))
            .at(format!("{at}/type")))
        }
        _ => {
            let t = text("type")?;
            Supplier::parse(t).ok_or_else(|| {
                ApiError::invalid_format(format!(
                    "{at}/type must be USER, FIXED or APPLICATION, found {t:?}"
                ))
                .at(format!("{at}/type"))
            })?
        }
    };
    let range_provable = match entry.get("rangeProvable") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(ApiError::invalid_format(format!(
                "{at}/rangeProvable must be true or false"
            ))
            .at(format!("{at}/rangeProvable")))
        }
    };
    if range_provable && format != Format::Number {
        return Err(ApiError::invalid_request(format!(
            "{at}/rangeProvable: only NUMBER attributes can be range-provable"
        ))
        .at(format!("{at}/rangeProvable")));
    }
    Ok(Attribute {
        attribute,
        key,
        format,
        mandatory,
        supplier,
        range_provable,
    })
}

/// The `issuerZid` member, or its alias `issuerZID` (api.md §12 #1).
fn issuer_zid(body: &Map<String, Value>) -> Result<Did, ApiError> {
    let (name, text) = match (
        body.contains_key("issuerZid"),
        body.contains_key("issuerZID"),
    ) {
        (false, true) => ("issuerZID", string(body, "issuerZID")?),
        (true, true) if body.get("issuerZid") != body.get("issuerZID") => {
            return Err(ApiError::invalid_request(
                "issuerZid and its alias issuerZID differ; send one",
            )
            .at("/issuerZID"))
        }
        _ => ("issuerZid", string(body, "issuerZid")?),
    };
    Did::parse(text)
        .map_err(|e| ApiError::invalid_format(format!("/{name}: {e}")).at(format!("/{name}")))
}

/// Reads and checks a template definition (api.md §3, §7.1); returns it with its subject key.
pub fn parse(body: &Map<String, Value>) -> Result<(Template, String), ApiError> {
    let template_name = string(body, "templateName")?.to_owned();
    let issuer_zid = issuer_zid(body)?;
    let credential_format = array(body, "credentialFormat", 1, 100)?
        .iter()
        .enumerate()
        .map(|(i, e)| attribute_at(e, &format!("/credentialFormat/{i}")))
        .collect::<Result<Vec<_>, _>>()?;
    let version = string(body, "version")?.to_owned();
    let remark = optional_text(body, "remark", 1024)?.map(str::to_owned);
    let template = Template {
        template_name,
        issuer_zid,
        credential_format,
        version,
        remark,
    };
    let key = template
        .validate()
        .map_err(|e| ApiError::invalid_request(e.to_string()).at(e.member()))?;
    debug_assert_eq!(subject_key(&template.template_name).ok(), Some(key.clone()));
    Ok((template, key))
}

/// The template ACDC (see the module docs).
fn build_acdc(
    template: &Template,
    subject: &str,
    id: &str,
    issuer_prefix: &str,
) -> Result<Acdc, ApiError> {
    let mut a = Map::new();
    a.insert("d".into(), json!(""));
    a.insert(
        "dt".into(),
        json!(zcred_model::time::format_micros(
            time::OffsetDateTime::now_utc()
        )),
    );
    a.insert("templateId".into(), json!(id));
    a.insert("issuerZid".into(), json!(template.issuer_zid.as_str()));
    a.insert("templateName".into(), json!(template.template_name));
    a.insert("subjectKey".into(), json!(subject));
    a.insert("version".into(), json!(template.version));
    if let Some(remark) = &template.remark {
        a.insert("remark".into(), json!(remark));
    }
    a.insert(
        "credentialFormat".into(),
        serde_json::to_value(&template.credential_format).map_err(ApiError::internal)?,
    );
    let mut members = Map::new();
    members.insert("i".into(), json!(issuer_prefix));
    members.insert("s".into(), json!(schema().0));
    members.insert("a".into(), Value::Object(a));
    Acdc::build(members).map_err(ApiError::internal)
}

fn record_key(id: &str) -> String {
    format!("template/{id}")
}

/// The record of template `id`, if registered.
pub async fn record<S: Store>(
    state: &AppState<S>,
    id: &str,
) -> Result<Option<Map<String, Value>>, ApiError> {
    state
        .journal()
        .store()
        .state(&record_key(id))
        .await
        .map_err(ApiError::unavailable)?
        .map(|text| agent::row(&text))
        .transpose()
}

/// Checks the request and the issuer; returns what registration needs.
async fn prepare<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    body: &Map<String, Value>,
) -> Result<(Issuer, String, Acdc), ApiError> {
    let (template, subject) = parse(body)?;
    let issuer = agent::issuer(state, caller, &template.issuer_zid).await?;
    let id = template_id(
        &template.issuer_zid,
        &template.template_name,
        &template.version,
    );
    if record(state, &id).await?.is_some() {
        return Err(ApiError::duplicate(format!(
            "template {id} ({} version {}) is registered already",
            template.template_name, template.version
        )));
    }
    let acdc = build_acdc(&template, &subject, &id, &issuer.prefix)?;
    Ok((issuer, id, acdc))
}

/// `POST /cred/tds/template/blob/create` (7.1).
pub async fn blob_create<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    Body(body): Body,
) -> Result<Envelope, ApiError> {
    let (issuer, id, acdc) = prepare(&state, &caller, &body).await?;
    let request = blobs::fingerprint(&body);
    if let Some(again) = blobs::waiting(
        &state,
        &caller,
        KIND,
        &id,
        Some(issuer.did.as_str()),
        &request,
    )
    .await?
    {
        return Ok(again);
    }
    let mut payload = Map::new();
    payload.insert("did".into(), json!(issuer.did.as_str()));
    payload.insert("templateId".into(), json!(id));
    blobs::hand_out(
        state.journal().store(),
        &caller,
        KIND,
        &id,
        acdc.raw(),
        payload,
        Map::new(),
        Some(&request),
    )
    .await
}

/// Records the endorsed template ACDC with its agent anchor and its record, using up `blob`.
async fn register<S: Store>(
    state: &AppState<S>,
    issuer: &Issuer,
    id: String,
    acdc: Acdc,
    signature: Signature,
    blob: Option<String>,
) -> Result<Envelope, ApiError> {
    let issuer_prefix = Prefix::parse(&issuer.prefix).map_err(ApiError::internal)?;
    let members = acdc.members().get("a").cloned().unwrap_or(Value::Null);
    let key = record_key(&id);
    let template_id = id.clone();
    let tx = agent::anchored(state, issuer, blob, move |ledger, agent| {
        let kel = ledger
            .key_state(issuer_prefix.as_str())
            .ok_or_else(|| ApiError::internal("the issuer has no KEL"))?;
        let est_said = Said::parse(kel.last_est_said.as_str()).map_err(ApiError::internal)?;
        let mut seal = Map::new();
        seal.insert("d".into(), json!(acdc.said()));
        let ixn = agent.interact(&[seal]).map_err(ApiError::internal)?;
        let (sn, said) = ixn
            .as_event()
            .map(|e| (e.sn(), e.said().to_string()))
            .ok_or_else(|| ApiError::internal("an ixn that is not an event"))?;
        let endorsed = Message {
            payload: Payload::Acdc(acdc.clone()),
            attachments: Attachments {
                endorsements: vec![flows::endorsement(
                    &issuer_prefix,
                    kel.last_est_sn,
                    &est_said,
                    signature,
                )],
                source_triples: vec![(agent.prefix().to_string(), sn, said.clone())],
                ..Attachments::default()
            },
        };
        let mut row = match &members {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        };
        row.remove("d");
        row.insert("said".into(), json!(acdc.said()));
        row.insert("txHash".into(), json!(said));
        row.insert("status".into(), json!("ACTIVE"));
        let write = Write {
            messages: vec![endorsed],
            states: vec![StateUpdate {
                key: key.clone(),
                value: Value::Object(row).to_string(),
            }],
            expect: vec![Expectation {
                key: key.clone(),
                value: None,
            }],
            consume_blob: None,
        };
        Ok((vec![ixn], write, said))
    })
    .await?;
    Ok(Envelope(json!({ "templateId": template_id, "txHash": tx })))
}

/// `POST /cred/tds/template/submit` (7.3).
pub async fn submit<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    Body(body): Body,
) -> Result<Envelope, ApiError> {
    let (signers, pending) =
        blobs::submitted(state.journal().store(), &caller, KIND, &body).await?;
    let did = Did::parse(pending.text("did")?).map_err(ApiError::internal)?;
    let id = pending.text("templateId")?.to_owned();
    let issuer = agent::issuer(&state, &caller, &did).await?;
    if record(&state, &id).await?.is_some() {
        return Err(ApiError::duplicate(format!(
            "template {id} is registered already"
        )));
    }
    let signature = blobs::check_signers(&signers, &pending.bytes, &issuer.key)?;
    let acdc = Acdc::parse(&pending.bytes).map_err(ApiError::internal)?;
    register(&state, &issuer, id, acdc, signature, Some(pending.id)).await
}

/// `POST /cred/tds/template/create` (7.2): one call that signs with the issuer's private key
/// on the server. Disabled unless the operator enables it (OP-10): 403 `FEATURE_DISABLED`.
pub async fn create<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    Body(mut body): Body,
) -> Result<Envelope, ApiError> {
    // The private key leaves the parsed body first, into zeroizing memory.
    let private = match body.remove("issuerPrivateKey") {
        Some(Value::String(s)) if !s.is_empty() => Zeroizing::new(s),
        Some(Value::String(_)) | Some(Value::Null) | None => {
            return Err(ApiError::missing("/issuerPrivateKey"))
        }
        Some(_) => {
            return Err(
                ApiError::invalid_format("/issuerPrivateKey must be a string")
                    .at("/issuerPrivateKey"),
            )
        }
    };
    let (template, _) = parse(&body)?;
    let key = SigningKey::from_zetrix(&private).map_err(|e| {
        ApiError::invalid_format(format!("/issuerPrivateKey: {e}")).at("/issuerPrivateKey")
    })?;
    drop(private);
    if !state.settings().allow_server_side_signing {
        return Err(ApiError::feature_disabled(
            "server-side signing is disabled on this service (it would take the issuer's private key); use /cred/tds/template/blob/create and /cred/tds/template/submit",
        ));
    }
    if Did::of_key(&key.verifying_key()) != template.issuer_zid {
        return Err(ApiError::forbidden(
            "issuerPrivateKey is not the key of issuerZid",
        ));
    }
    let (issuer, id, acdc) = prepare(&state, &caller, &body).await?;
    if blobs::waiting(&state, &caller, KIND, &id, None, "")
        .await?
        .is_some()
    {
        return Err(ApiError::invalid_state(format!(
            "a blob of yours for template {id} is pending: submit it, or create again after it expires"
        )));
    }
    if key.verifying_key() != issuer.key {
        return Err(ApiError::forbidden(
            "issuerPrivateKey is not the issuer's key in force (it was rotated)",
        ));
    }
    let signature = key.sign(acdc.raw());
    drop(key);
    register(&state, &issuer, id, acdc, signature, None).await
}

/// The query of the template-context URL.
#[derive(Debug, serde::Deserialize)]
pub struct ContextQuery {
    /// The template registry (a deployment setting).
    #[serde(default)]
    address: String,
    /// `template__<templateId>`.
    #[serde(default)]
    key: String,
}

/// `GET /getAccountMetaData?address=…&key=template__<templateId>` (OP-9): the template record.
pub async fn context<S: Store>(
    State(state): State<AppState<S>>,
    query: Result<Query<ContextQuery>, QueryRejection>,
) -> Result<Envelope, ApiError> {
    // A query that does not deserialize (a parameter given twice) is a 400 in the envelope,
    // not axum's plain-text rejection.
    let Query(query) = query.map_err(|e| ApiError::invalid_request(e.body_text()))?;
    if query.address != state.settings().template_registry {
        return Err(ApiError::not_found(format!(
            "no template registry {:?} here",
            query.address
        )));
    }
    let id = query.key.strip_prefix("template__").ok_or_else(|| {
        ApiError::invalid_request("key must be template__<templateId>").at("/key")
    })?;
    let record = record(&state, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("template {id} is not registered here")))?;
    Ok(Envelope(Value::Object(record)))
}

/// The template-context URL of template `id` (api.md §2.10).
pub fn context_url<S>(state: &AppState<S>, id: &str) -> String {
    let s = state.settings();
    format!(
        "{}/getAccountMetaData?address={}&key=template__{id}",
        s.ledger_base, s.template_registry
    )
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::testing::{exchange, service};

    fn definition(remark: Value) -> Map<String, Value> {
        let mut body = json!({
            "templateName": "DrivingLicense",
            "issuerZid": format!("did:zid:{}", "ab".repeat(32)),
            "credentialFormat": [
                {"attribute": "Name", "format": "STRING", "key": "name", "mandatory": true, "type": "USER"}
            ],
            "version": "1.0.0",
        });
        body["remark"] = remark;
        match body {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    #[test]
    fn a_remark_is_0_to_1024_characters() {
        // api.md §7.1: `remark` string (0–1024), optional. Empty is no remark.
        let (template, _) = parse(&definition(json!(""))).unwrap();
        assert_eq!(template.remark, None);
        let (template, _) = parse(&definition(Value::Null)).unwrap();
        assert_eq!(template.remark, None);
        let (template, _) = parse(&definition(json!("r".repeat(1024)))).unwrap();
        assert_eq!(template.remark.as_deref().map(str::len), Some(1024));
        let refused = parse(&definition(json!("r".repeat(1025)))).unwrap_err();
        assert_eq!(refused.status, 400);
        assert_eq!(refused.message.field.as_deref(), Some("/remark"));
        let refused = parse(&definition(json!(7))).unwrap_err();
        assert_eq!(refused.message.code, "INVALID_FORMAT");
    }

    #[tokio::test]
    async fn a_query_that_does_not_deserialize_is_a_400_in_the_envelope() {
        let answer = exchange(
            service().await,
            "GET /getAccountMetaData?address=a&address=b&key=template__x HTTP/1.1",
            "",
        )
        .await;
        assert_eq!(answer.status, 400, "{answer:?}");
        assert_eq!(answer.content_type, "application/json");
        let body: Value = serde_json::from_str(&answer.body).unwrap();
        assert!(body["object"].is_null());
        assert_eq!(body["messages"][0]["code"], "INVALID_REQUEST");
    }

    #[tokio::test]
    async fn an_unknown_template_context_is_still_a_404() {
        let answer = exchange(
            service().await,
            "GET /getAccountMetaData?address=zcred-templates&key=template__did:zid:00 HTTP/1.1",
            "",
        )
        .await;
        assert_eq!(answer.status, 404, "{answer:?}");
        assert_eq!(answer.content_type, "application/json");
    }
}
