//! VC issuance (api.md §8) and revocation (§9), with the lifecycle of §4:
//! `APPLIED ─create─► CREATED ─submit─► ISSUED ─revoke─► REVOKED`.
//!
//! A credential's record is one state row, `vc/<vcId>` (a [`VcRecord`] as JSON); every
//! transition is a compare-and-set on that row's text, in the same transaction as the events
//! it writes, so of two racing calls exactly one wins and the other gets 409. The duplicate
//! check of apply uses a second row, `application/<holder DID>/<SHA-256 of the sorted
//! templateIds>` → the vcId of the holder's latest application for that set.
//!
//! Decisions the spec leaves open (api.md OP-4 and ledger.md fix the rest):
//! - `signData` signs the canonical JSON (§2.8) of `data` after the structural aliases are
//!   applied (top-level `templateId` + `metadata` → one entry; `metadata` as `[{key, value}]`
//!   → an object), with the values exactly as sent (a JSON number stays a number).
//! - The credential's KERI SAID (the `i` of its `iss`/`rev`) is Blake3-256 over the canonical
//!   JSON of the issued VC without `proof`, so anyone holding the VC can find its TEL.
//! - The issuer's Ed25519 key at 8.3 and 9.2 is its key in force (after a rotation, the DID
//!   stays and the key changes, ledger.md).
//! - Under ledger.md the revocation blob is the raw `rev` event, which has no place for
//!   `remark`: the remark is kept with the record (and returned), not signed.
//! - The VC body is dropped from the record the first time a download finds the window
//!   passed (410 from then on; the status and hashes stay, OP-14).

use axum::extract::State;
use axum::Extension;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use zcred_crypto::zetrix::{Address, VerifyingKey};
use zcred_crypto::{bbs, jws, multibase, OsRng};
use zcred_ledger::{flows, Said};
use zcred_model::template::{Format, Supplier};
use zcred_model::{canonical, Did};
use zcred_store::{Expectation, StateUpdate, Write};

use crate::access::Caller;
use crate::agent::{self, Issuer};
use crate::attributes;
use crate::blobs;
use crate::body::{optional_string, optional_text, string, Body};
use crate::error::{ApiError, Envelope};
use crate::templates;
use crate::{AppState, Store};

/// Default download window (OP-14): 30 days.
const KEY_EXPIRY_DEFAULT: i64 = 2_592_000;
const KEY_EXPIRY_RANGE: std::ops::RangeInclusive<i64> = 60..=31_536_000;
const REVOKE: &str = "revoke";

/// A credential's record.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VcRecord {
    /// The vcId.
    pub vc_id: String,
    /// `APPLIED`, `CREATED`, `ISSUED`, `REVOKED`, or `PURGED` (an abandoned application's
    /// tombstone).
    pub status: String,
    /// The issuer DID.
    pub issuer: String,
    /// The holder DID.
    pub holder: String,
    /// The holder's key (`b001…`), which `signVcId` must verify under.
    pub holder_key: String,
    /// The templates, in application order.
    pub templates: Vec<String>,
    /// The apply index row this record holds.
    pub application: String,
    /// The holder's values per template: `[{templateId, metadata: {key: value}}]`.
    pub applied: Vec<Value>,
    /// The issuer's values per template (8.2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supplied: Vec<Value>,
    /// The VC without `proof` (8.2), member order as built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsigned: Option<Value>,
    /// The issued VC (8.3), until purged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vc: Option<Value>,
    /// The end of the download window, Unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_expiry: Option<i64>,
    /// The issuer key that signed (8.3), for `isIssuer` downloads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_key: Option<String>,
    /// The registry of its TEL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// The credential's SAID (its TEL's `i`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub said: Option<String>,
    /// The SAID of its `iss`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued: Option<String>,
    /// The anchoring `ixn` of the issuance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_tx: Option<String>,
    /// The anchoring `ixn` of the revocation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_tx: Option<String>,
    /// The revocation's remark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    /// Created, Unix ms.
    pub created: i64,
    /// The paths signed also as integer messages (api.md OP-11), in order; set at 8.2.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub integer_paths: Vec<String>,
}

/// The prefix of credential records.
pub const RECORD_PREFIX: &str = "vc/";

fn record_key(vc_id: &str) -> String {
    format!("{RECORD_PREFIX}{vc_id}")
}

/// An abandoned application's tombstone (OP-12): `PURGED`, without its values.
pub fn tombstone(record: &VcRecord) -> VcRecord {
    VcRecord {
        status: "PURGED".into(),
        applied: Vec::new(),
        supplied: Vec::new(),
        unsigned: None,
        vc: None,
        ..record.clone()
    }
}

/// A credential record without its body (past its download window, OP-14).
pub fn without_body(record: &VcRecord) -> VcRecord {
    VcRecord {
        vc: None,
        unsigned: None,
        ..record.clone()
    }
}

/// Replaces the record read as `text` with `next`, the same vcId (409 when it changed
/// meanwhile).
pub async fn replace<S: Store>(
    state: &AppState<S>,
    text: &str,
    next: &VcRecord,
) -> Result<(), ApiError> {
    commit(state, transition(text, next)?).await
}

/// A record with the exact text it was read as (for compare-and-set).
struct Stored {
    record: VcRecord,
    text: String,
}

impl Stored {
    /// The write that moves this record to `next` (compare-and-set on its text).
    fn transition(&self, next: &VcRecord) -> Result<Write, ApiError> {
        transition(&self.text, next)
    }
}

/// The write that moves the record read as `text` to `next` (compare-and-set on that text).
fn transition(text: &str, next: &VcRecord) -> Result<Write, ApiError> {
    let key = record_key(&next.vc_id);
    Ok(Write {
        states: vec![StateUpdate {
            key: key.clone(),
            value: serde_json::to_string(next).map_err(ApiError::internal)?,
        }],
        expect: vec![Expectation {
            key,
            value: Some(text.to_owned()),
        }],
        ..Write::default()
    })
}

async fn load<S: Store>(state: &AppState<S>, vc_id: &str) -> Result<Stored, ApiError> {
    let text = state
        .journal()
        .store()
        .state(&record_key(vc_id))
        .await
        .map_err(ApiError::unavailable)?
        .ok_or_else(|| ApiError::not_found(format!("no credential {vc_id}")))?;
    let record: VcRecord = serde_json::from_str(&text).map_err(ApiError::internal)?;
    if record.status == "PURGED" {
        return Err(ApiError::not_found(format!(
            "no credential {vc_id} (an abandoned application, purged)"
        )));
    }
    Ok(Stored { record, text })
}

/// A credential's status for a verifier (api.md §10.3): from its record's TEL in the ledger.
/// Unknown, purged or not yet issued: not recorded.
pub(crate) async fn status_of<S: Store>(
    state: &AppState<S>,
    vc_id: &str,
) -> Result<zcred_model::presentation::Status, ApiError> {
    use zcred_model::presentation::Status;
    let record = match load(state, vc_id).await {
        Ok(stored) => stored.record,
        Err(e) if e.status == axum::http::StatusCode::NOT_FOUND => return Ok(Status::NotRecorded),
        Err(e) => return Err(e),
    };
    let (Some(registry), Some(said)) = (record.registry, record.said) else {
        return Ok(Status::NotRecorded);
    };
    let found = state
        .journal()
        .credential(&registry, &said)
        .await
        .map_err(ApiError::unavailable)?
        .map(|c| {
            (
                c.status,
                c.revoked
                    .as_ref()
                    .map(|r| r.dt.chars().take(10).collect::<String>()),
            )
        });
    Ok(match found {
        None => Status::NotRecorded,
        Some((zcred_ledger::verify::Status::Revoked, date)) => {
            Status::Revoked(date.unwrap_or_default())
        }
        Some(_) => Status::Active,
    })
}

/// Records `write` under the journal (no events).
async fn commit<S: Store>(state: &AppState<S>, write: Write) -> Result<(), ApiError> {
    let task = state.clone();
    tokio::spawn(async move { task.journal().write(write).await })
        .await
        .map_err(|e| ApiError::internal(format!("the write task failed: {e}")))?
        .map(|_| ())
        .map_err(agent::journal_error)
}

fn did_field(body: &Map<String, Value>, name: &str) -> Result<Did, ApiError> {
    Did::parse(string(body, name)?)
        .map_err(|e| ApiError::invalid_format(format!("/{name}: {e}")).at(format!("/{name}")))
}

/// A member read under its canonical name or one alias (both at once → 400).
pub(crate) fn aliased<'a>(
    body: &Map<String, Value>,
    name: &'a str,
    alias: &'a str,
) -> Result<&'a str, ApiError> {
    match (body.contains_key(name), body.contains_key(alias)) {
        (true, true) => Err(ApiError::invalid_request(format!(
            "send {name} or its alias {alias}, not both"
        ))
        .at(format!("/{alias}"))),
        (false, true) => Ok(alias),
        _ => Ok(name),
    }
}

fn zetrix_key_field(body: &Map<String, Value>, name: &str) -> Result<VerifyingKey, ApiError> {
    VerifyingKey::from_zetrix(string(body, name)?)
        .map_err(|e| ApiError::invalid_format(format!("/{name}: {e}")).at(format!("/{name}")))
}

/// An attribute value as stored: strings as they are, numbers and booleans as their JSON text.
fn value_text(value: &Value, at: &str) -> Result<String, ApiError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(ApiError::invalid_format(format!(
            "{at} must be a string (numbers and booleans are accepted); null, objects and arrays are not values"
        ))
        .at(at)),
    }
}

/// One `data` entry: the template and its values, in the order sent.
struct Entry {
    template: Did,
    values: Vec<(String, String)>,
    /// The entry as signed (`{templateId, metadata: {…}}`, values as sent).
    signed: Value,
}

/// `metadata` as an object, `[{key, value}]`, or (8.2) a JSON string holding an object.
fn metadata(value: &Value, at: &str, string_form: bool) -> Result<Map<String, Value>, ApiError> {
    match value {
        Value::Object(m) => Ok(m.clone()),
        Value::Array(items) => {
            let mut out = Map::new();
            for (i, item) in items.iter().enumerate() {
                let here = format!("{at}/{i}");
                let (Some(Value::String(k)), Some(v)) = (item.get("key"), item.get("value")) else {
                    return Err(ApiError::invalid_format(format!(
                        "{here} must be {{\"key\": <string>, \"value\": <value>}}"
                    ))
                    .at(here));
                };
                if out.insert(k.clone(), v.clone()).is_some() {
                    return Err(ApiError::invalid_request(format!(
                        "{here}: key {k:?} appears twice"
                    ))
                    .at(here));
                }
            }
            Ok(out)
        }
        Value::String(text) if string_form => {
            match zcred_model::json::parse_strict(text.as_bytes()) {
                Ok(Value::Object(m)) => Ok(m),
                _ => Err(ApiError::invalid_format(format!(
                    "{at} is a string that does not hold a JSON object"
                ))
                .at(at)),
            }
        }
        _ => Err(ApiError::invalid_format(format!("{at} must be an object")).at(at)),
    }
}

/// The `data` entries (with the top-level `templateId` + `metadata` alias); `None` when absent
/// and `optional`.
fn entries(
    body: &Map<String, Value>,
    optional: bool,
    string_form: bool,
) -> Result<Vec<Entry>, ApiError> {
    let alias = body.contains_key("templateId") || body.contains_key("metadata");
    let data = body.get("data").filter(|v| !v.is_null());
    let raw: Vec<(String, &Value, &Value)> = match (data, alias) {
        (Some(_), true) => {
            return Err(ApiError::invalid_request(
                "send data, or the top-level templateId and metadata, not both",
            ))
        }
        (None, true) => {
            let t = body.get("templateId").unwrap_or(&Value::Null);
            let m = body
                .get("metadata")
                .ok_or_else(|| ApiError::missing("/metadata"))?;
            vec![("".to_owned(), t, m)]
        }
        (None, false) if optional => return Ok(vec![]),
        (None, false) => return Err(ApiError::missing("/data")),
        (Some(Value::Array(items)), false) => {
            let max = 10;
            if (!optional && items.is_empty()) || items.len() > max {
                return Err(ApiError::invalid_request(format!(
                    "/data must have 1 to {max} entries, found {}",
                    items.len()
                ))
                .at("/data"));
            }
            items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let at = format!("/data/{i}");
                    let Value::Object(item) = item else {
                        return Err(
                            ApiError::invalid_format(format!("{at} must be an object")).at(at)
                        );
                    };
                    let t = item.get("templateId").unwrap_or(&Value::Null);
                    let m = item
                        .get("metadata")
                        .ok_or_else(|| ApiError::missing(&format!("{at}/metadata")))?;
                    Ok((at, t, m))
                })
                .collect::<Result<_, ApiError>>()?
        }
        (Some(_), false) => {
            return Err(ApiError::invalid_format("/data must be an array").at("/data"))
        }
    };
    let mut out: Vec<Entry> = Vec::new();
    for (at, t, m) in raw {
        let t_at = format!("{at}/templateId");
        let template_text = match t {
            Value::String(s) if !s.is_empty() => s.as_str(),
            Value::Null => return Err(ApiError::missing(&t_at)),
            Value::String(_) => return Err(ApiError::missing(&t_at)),
            _ => return Err(ApiError::invalid_format(format!("{t_at} must be a string")).at(t_at)),
        };
        let template = Did::parse(template_text)
            .map_err(|e| ApiError::invalid_format(format!("{t_at}: {e}")).at(&t_at))?;
        if out.iter().any(|e| e.template == template) {
            return Err(ApiError::invalid_request(format!(
                "{t_at}: template {template} appears twice"
            ))
            .at(t_at));
        }
        let m_at = format!("{at}/metadata");
        let map = metadata(m, &m_at, string_form)?;
        let values = map
            .iter()
            .map(|(k, v)| Ok((k.clone(), value_text(v, &format!("{m_at}/{k}"))?)))
            .collect::<Result<Vec<_>, ApiError>>()?;
        out.push(Entry {
            template,
            values,
            signed: json!({ "templateId": template_text, "metadata": Value::Object(map) }),
        });
    }
    Ok(out)
}

/// A registered template's record.
struct TemplateInfo {
    id: String,
    issuer: String,
    name: String,
    subject: String,
    format: Vec<(String, Format, bool, Supplier)>,
    /// The keys marked `rangeProvable` (api.md OP-11).
    range_provable: Vec<String>,
}

async fn template_info<S: Store>(
    state: &AppState<S>,
    id: &str,
) -> Result<Option<TemplateInfo>, ApiError> {
    let Some(record) = templates::record(state, id).await? else {
        return Ok(None);
    };
    let text = |name: &str| {
        record
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| ApiError::internal(format!("a template record has no {name}")))
    };
    let attributes: Vec<zcred_model::template::Attribute> = serde_json::from_value(
        record
            .get("credentialFormat")
            .cloned()
            .unwrap_or(Value::Null),
    )
    .map_err(ApiError::internal)?;
    Ok(Some(TemplateInfo {
        id: id.to_owned(),
        issuer: text("issuerZid")?,
        name: text("templateName")?,
        subject: text("subjectKey")?,
        range_provable: attributes
            .iter()
            .filter(|a| a.range_provable)
            .map(|a| a.key.clone())
            .collect(),
        format: attributes
            .into_iter()
            .map(|a| (a.key, a.format, a.mandatory, a.supplier))
            .collect(),
    }))
}

/// Checks values against a template: every key must be one the `issuer` side (or not) may
/// supply, well-formed for its format.
fn check_values(
    info: &TemplateInfo,
    values: &[(String, String)],
    issuer_side: bool,
    at: &str,
) -> Result<(), ApiError> {
    for (key, value) in values {
        let here = format!("{at}/metadata/{key}");
        let Some((_, format, _, supplier)) = info.format.iter().find(|(k, ..)| k == key) else {
            return Err(ApiError::invalid_request(format!(
                "{key:?} is not an attribute of template {}",
                info.id
            ))
            .at(here));
        };
        if supplier.is_issuer() != issuer_side {
            let who = if issuer_side {
                "the holder supplies it at apply"
            } else {
                "the issuer supplies it at create"
            };
            return Err(ApiError::invalid_request(format!(
                "{key:?} of template {} is a {supplier:?} attribute: {who}",
                info.id
            ))
            .at(here));
        }
        format
            .check(value)
            .map_err(|want| ApiError::invalid_format(format!("{here} must be {want}")).at(&here))?;
        if info.range_provable.contains(key)
            && zcred_model::credential::integer_value(value).is_none()
        {
            return Err(ApiError::invalid_format(format!(
                "{here} must be an integer of 64 bits: the attribute is rangeProvable"
            ))
            .at(&here));
        }
    }
    Ok(())
}

fn application_key(holder: &Did, templates: &[String]) -> String {
    let mut sorted = templates.to_vec();
    sorted.sort();
    let digest = Sha256::digest(sorted.join("\n").as_bytes());
    format!("application/{holder}/{}", hex::encode(digest))
}

fn random_did() -> Did {
    use rand_core::RngCore;
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    Did::from_bytes(&bytes)
}

/// `POST /cred/v1/vc/apply` (8.1).
pub async fn apply<S: Store>(
    State(state): State<AppState<S>>,
    Body(body): Body,
) -> Result<Envelope, ApiError> {
    let entries = entries(&body, false, false)?;
    let signature = crate::body::signature(&body, "signData", "")?;
    let key_name = aliased(&body, "publicKey", "holderPublicKey")?;
    let holder_key = zetrix_key_field(&body, key_name)?;
    let holder = Did::of_key(&holder_key);

    let mut infos = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let info = template_info(&state, e.template.as_str())
            .await?
            .ok_or_else(|| {
                ApiError::not_found(format!("template {} is not registered", e.template))
                    .at(format!("/data/{i}/templateId"))
            })?;
        infos.push(info);
    }
    let issuer = infos[0].issuer.clone();
    for (i, (e, info)) in entries.iter().zip(&infos).enumerate() {
        let at = format!("/data/{i}");
        if info.issuer != issuer {
            return Err(ApiError::invalid_request(format!(
                "the templates have different issuers ({issuer} and {}); one application is for one issuer",
                info.issuer
            ))
            .at(format!("{at}/templateId")));
        }
        if infos[..i].iter().any(|o| o.subject == info.subject) {
            return Err(ApiError::invalid_request(format!(
                "two templates of this application have the subject key {:?}",
                info.subject
            ))
            .at(format!("{at}/templateId")));
        }
        check_values(info, &e.values, false, &at)?;
        for (key, _, mandatory, supplier) in &info.format {
            if *mandatory && !supplier.is_issuer() && !e.values.iter().any(|(k, _)| k == key) {
                return Err(ApiError::invalid_request(format!(
                    "the mandatory USER attribute {key:?} of template {} is missing",
                    info.id
                ))
                .at(format!("{at}/metadata")));
            }
        }
    }
    let templates: Vec<String> = entries.iter().map(|e| e.template.to_string()).collect();
    let index = application_key(&holder, &templates);
    let store = state.journal().store();
    let previous = store.state(&index).await.map_err(ApiError::unavailable)?;
    if let Some(vc_id) = &previous {
        match load(&state, vc_id).await {
            Ok(open) if matches!(open.record.status.as_str(), "APPLIED" | "CREATED") => {
                return Err(ApiError::duplicate(format!(
                    "holder {holder} already has an open application {vc_id} ({}) for these templates",
                    open.record.status
                )));
            }
            // Issued, revoked, or purged as abandoned (OP-12): a new application may start.
            Ok(_) => {}
            Err(e) if e.status == axum::http::StatusCode::NOT_FOUND => {}
            Err(e) => return Err(e),
        }
    }
    let signed = Value::Array(entries.iter().map(|e| e.signed.clone()).collect());
    holder_key
        .verify(canonical::to_string(&signed).as_bytes(), &signature)
        .map_err(|_| {
            ApiError::signature_mismatch(
                "signData does not verify under publicKey over the canonical JSON of data",
            )
            .at("/signData")
        })?;
    let vc_id = random_did();
    let record = VcRecord {
        vc_id: vc_id.to_string(),
        status: "APPLIED".into(),
        issuer,
        holder: holder.to_string(),
        holder_key: holder_key.to_zetrix(),
        templates,
        application: index.clone(),
        applied: entries
            .iter()
            .map(|e| pairs_json(e.template.as_str(), &e.values))
            .collect(),
        supplied: vec![],
        unsigned: None,
        vc: None,
        download_expiry: None,
        issuer_key: None,
        registry: None,
        said: None,
        issued: None,
        issued_tx: None,
        revoked_tx: None,
        remark: None,
        created: blobs::now_ms(),
        integer_paths: Vec::new(),
    };
    let key = record_key(vc_id.as_str());
    commit(
        &state,
        Write {
            states: vec![
                StateUpdate {
                    key: key.clone(),
                    value: serde_json::to_string(&record).map_err(ApiError::internal)?,
                },
                StateUpdate {
                    key: index.clone(),
                    value: vc_id.to_string(),
                },
            ],
            expect: vec![
                Expectation { key, value: None },
                Expectation {
                    key: index,
                    value: previous,
                },
            ],
            ..Write::default()
        },
    )
    .await
    .map_err(|e| {
        if e.status == axum::http::StatusCode::CONFLICT {
            ApiError::duplicate(format!(
                "holder {holder} applied for these templates concurrently; one application is open"
            ))
        } else {
            e
        }
    })?;
    Ok(Envelope(
        json!({ "vcId": vc_id.as_str(), "status": "APPLIED" }),
    ))
}

fn pairs_json(template: &str, values: &[(String, String)]) -> Value {
    let mut m = Map::new();
    for (k, v) in values {
        m.insert(k.clone(), json!(v));
    }
    json!({ "templateId": template, "metadata": Value::Object(m) })
}

fn pairs_of(entry: &Value) -> (String, Vec<(String, String)>) {
    let template = entry["templateId"].as_str().unwrap_or_default().to_owned();
    let values = entry["metadata"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    (template, values)
}

fn date_field(
    body: &Map<String, Value>,
    name: &str,
    alias: &str,
    required: bool,
) -> Result<Option<OffsetDateTime>, ApiError> {
    let name = aliased(body, name, alias)?;
    let text = if required {
        Some(string(body, name)?)
    } else {
        optional_string(body, name)?
    };
    text.map(|t| {
        zcred_model::time::parse(t)
            .map_err(|e| ApiError::invalid_format(format!("/{name}: {e}")).at(format!("/{name}")))
    })
    .transpose()
}

/// The issuer for a call on `record`: 403 unless the key is bound to the record's issuer and
/// the issuer is approved.
async fn record_issuer<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    record: &VcRecord,
) -> Result<Issuer, ApiError> {
    let did = Did::parse(&record.issuer).map_err(ApiError::internal)?;
    agent::issuer(state, caller, &did).await
}

fn not_in(record: &VcRecord, wanted: &str, hint: &str) -> ApiError {
    ApiError::invalid_state(format!(
        "credential {} is {}, not {wanted}{hint}",
        record.vc_id, record.status
    ))
}

/// The integer messages of `paths` (api.md OP-11), in order.
fn integer_messages(
    entries: &[(String, String)],
    paths: &[String],
) -> Result<Vec<bbs::Message>, ApiError> {
    zcred_model::credential::integer_messages(entries, paths)
        .map_err(|e| ApiError::invalid_request(e.to_string()))
}

/// `POST /cred/v1/vc/create` (8.2).
pub async fn create<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    Body(body): Body,
) -> Result<Envelope, ApiError> {
    let vc_id = did_field(&body, "vcId")?;
    let issued_at = date_field(&body, "issuanceDate", "issuanceData", true)?
        .ok_or_else(|| ApiError::missing("/issuanceDate"))?;
    let expires = date_field(&body, "expirationDate", "expiredDate", false)?;
    if expires.is_some_and(|e| e <= issued_at) {
        return Err(
            ApiError::invalid_request("expirationDate must be after issuanceDate")
                .at("/expirationDate"),
        );
    }
    let supplied = entries(&body, true, true)?;
    let stored = load(&state, vc_id.as_str()).await?;
    let record = &stored.record;
    let issuer = record_issuer(&state, &caller, record).await?;
    if record.status != "APPLIED" {
        return Err(not_in(record, "APPLIED", ""));
    }
    let mut infos = Vec::new();
    for id in &record.templates {
        infos.push(
            template_info(&state, id)
                .await?
                .ok_or_else(|| ApiError::internal(format!("template {id} vanished")))?,
        );
    }
    for (i, e) in supplied.iter().enumerate() {
        let at = format!("/data/{i}");
        let info = infos
            .iter()
            .find(|t| t.id == e.template.as_str())
            .ok_or_else(|| {
                ApiError::invalid_request(format!(
                    "template {} is not one of this application's templates",
                    e.template
                ))
                .at(format!("{at}/templateId"))
            })?;
        check_values(info, &e.values, true, &at)?;
    }
    // Merge: the holder's values in their order, then the issuer's in theirs.
    let mut subject = Map::new();
    subject.insert("id".into(), json!(record.holder));
    let mut supplied_json = Vec::new();
    for (info, applied) in infos.iter().zip(&record.applied) {
        let (_, mut values) = pairs_of(applied);
        if let Some((i, e)) = supplied
            .iter()
            .enumerate()
            .find(|(_, e)| e.template.as_str() == info.id)
        {
            for (k, v) in &e.values {
                if values.iter().any(|(held, _)| held == k) {
                    return Err(ApiError::invalid_request(format!(
                        "{k:?} of template {} has a value already",
                        info.id
                    ))
                    .at(format!("/data/{i}/metadata/{k}")));
                }
                values.push((k.clone(), v.clone()));
            }
            supplied_json.push(pairs_json(&info.id, &e.values));
        }
        for (key, _, mandatory, _) in &info.format {
            if *mandatory && !values.iter().any(|(k, _)| k == key) {
                return Err(ApiError::invalid_request(format!(
                    "the mandatory attribute {key:?} of template {} has no value",
                    info.id
                ))
                .at("/data"));
            }
        }
        let mut object = Map::new();
        for (k, v) in values {
            object.insert(k, json!(v));
        }
        subject.insert(info.subject.clone(), Value::Object(object));
    }
    let mut vc = Map::new();
    vc.insert("id".into(), json!(record.vc_id));
    let mut types = vec![json!("VerifiableCredential")];
    types.extend(infos.iter().map(|t| json!(t.name)));
    vc.insert("type".into(), Value::Array(types));
    vc.insert("issuer".into(), json!(issuer.did.as_str()));
    vc.insert(
        "issuanceDate".into(),
        json!(zcred_model::time::format_seconds(issued_at)),
    );
    if let Some(e) = expires {
        vc.insert(
            "expirationDate".into(),
            json!(zcred_model::time::format_seconds(e)),
        );
    }
    vc.insert("credentialSubject".into(), Value::Object(subject.clone()));
    let mut contexts = vec![
        json!("https://www.w3.org/2018/credentials/v1"),
        json!("https://w3id.org/security/bbs/v1"),
    ];
    contexts.extend(
        infos
            .iter()
            .map(|t| json!(templates::context_url(&state, &t.id))),
    );
    vc.insert("@context".into(), Value::Array(contexts));
    let unsigned = Value::Object(vc);
    let input = jws::signing_input(canonical::to_string(&unsigned).as_bytes());
    let entries = zcred_model::credential::subject_entries(&subject)
        .map_err(|e| ApiError::invalid_request(e.to_string()))?;
    let messages: Vec<String> = entries.iter().map(|(p, t)| format!("{p}: {t}")).collect();
    let integer_paths: Vec<String> = entries
        .iter()
        .map(|(path, _)| path)
        .filter(|path| {
            infos.iter().any(|info| {
                path.strip_prefix(info.subject.as_str())
                    .and_then(|rest| rest.strip_prefix('.'))
                    .is_some_and(|key| info.range_provable.iter().any(|k| k == key))
            })
        })
        .cloned()
        .collect();
    let scalars = integer_messages(&entries, &integer_paths)?;
    let next = VcRecord {
        status: "CREATED".into(),
        supplied: supplied_json,
        unsigned: Some(unsigned),
        integer_paths,
        ..record.clone()
    };
    commit(&state, stored.transition(&next)?).await?;
    let mut out = json!({
        "ed25519Blob": hex::encode(input.as_bytes()),
        "bbsBlsBase64": messages.iter().map(|m| multibase::base64(m.as_bytes())).collect::<Vec<_>>(),
    });
    if !scalars.is_empty() {
        out["bbsBlsScalars"] = json!(scalars
            .iter()
            .map(bbs::Message::to_scalar_hex)
            .collect::<Vec<_>>());
    }
    Ok(Envelope(out))
}

fn key_expiry(body: &Map<String, Value>) -> Result<i64, ApiError> {
    let bad = || {
        ApiError::invalid_format(format!(
            "/keyExpiry must be whole seconds from {} to {}",
            KEY_EXPIRY_RANGE.start(),
            KEY_EXPIRY_RANGE.end()
        ))
        .at("/keyExpiry")
    };
    let seconds = match body.get("keyExpiry") {
        None | Some(Value::Null) => return Ok(KEY_EXPIRY_DEFAULT),
        Some(Value::Number(n)) => n.as_i64().ok_or_else(bad)?,
        Some(Value::String(s)) => s.parse::<i64>().map_err(|_| bad())?,
        Some(_) => return Err(bad()),
    };
    if KEY_EXPIRY_RANGE.contains(&seconds) {
        Ok(seconds)
    } else {
        Err(bad())
    }
}

/// The caller's issuance quota (plan `issuances_per_day`, per key and UTC day): the counter
/// row, its value, and the count after `issuances` more. 429 when they do not fit.
async fn quota<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    now: OffsetDateTime,
    issuances: u64,
) -> Result<Option<(String, Option<String>, u64)>, ApiError> {
    let plan = crate::access::find_plan(state.journal().store(), &caller.plan)
        .await
        .map_err(ApiError::unavailable)?
        .ok_or_else(|| {
            ApiError::forbidden(format!(
                "this API key's plan {:?} no longer exists; ask the operator for a new key",
                caller.plan
            ))
        })?;
    if plan.issuances_per_day == u64::MAX {
        return Ok(None);
    }
    let key = format!("quota/{}/{}", caller.key_id, now.date());
    let held = state
        .journal()
        .store()
        .state(&key)
        .await
        .map_err(ApiError::unavailable)?;
    let used: u64 = held.as_deref().and_then(|t| t.parse().ok()).unwrap_or(0);
    if used.saturating_add(issuances) > plan.issuances_per_day {
        let midnight = now
            .date()
            .next_day()
            .map_or(now, |d| d.midnight().assume_utc());
        let wait = (midnight - now).whole_seconds().max(1) as u64;
        let batch = if issuances > 1 && used < plan.issuances_per_day {
            format!(
                " ({used} used today, {} left: fewer than this batch's {issuances})",
                plan.issuances_per_day - used
            )
        } else {
            String::new()
        };
        return Err(ApiError::quota_exceeded(
            format!(
                "the {} plan allows {} issuances per day{batch}; the quota resets at 00:00 UTC",
                plan.name, plan.issuances_per_day
            ),
            wait,
        ));
    }
    Ok(Some((key, held, used + issuances)))
}

/// A submit's request read and its record found in `CREATED` (8.3, before the quota).
struct Submitted {
    vc_id: Did,
    ed_key: VerifyingKey,
    ed_sig: zcred_crypto::zetrix::Signature,
    bbs_key_name: &'static str,
    bbs_key: bbs::PublicKey,
    bbs_sig_name: &'static str,
    bbs_sig: bbs::Signature,
    expiry: i64,
    stored: Stored,
    issuer: Issuer,
}

/// A submit checked up to its BBS+ signature: the credential as it will be issued.
struct Submission {
    stored: Stored,
    /// The record as issued, without its anchors yet.
    next: VcRecord,
    said: Said,
    vc: Value,
    download_expiry: i64,
    bbs_key: bbs::PublicKey,
    messages: Vec<bbs::Message>,
    bbs_sig: bbs::Signature,
    /// Where a refused BBS+ signature is reported, and over what it was checked.
    bbs_sig_name: &'static str,
    over: &'static str,
}

impl Submission {
    fn bbs_refused(&self) -> ApiError {
        ApiError::signature_mismatch(format!("bbsBlsSignData does not verify over {}", self.over))
            .at(format!("/{}", self.bbs_sig_name))
    }
}

/// Reads a submit body and finds its record, which must be `CREATED`.
async fn submitted<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    body: &Map<String, Value>,
) -> Result<Submitted, ApiError> {
    let vc_id = did_field(body, "vcId")?;
    let ed_key = zetrix_key_field(body, "ed25519PubKey")?;
    let ed_sig = crate::body::signature(body, "ed25519SignData", "")?;
    let bbs_key_name = aliased(body, "bbsBlsPubKey", "bbsB1sPubKey")?;
    let bbs_text = string(body, bbs_key_name)?;
    let bbs_key = bbs::PublicKey::from_multibase(bbs_text).map_err(|e| {
        ApiError::invalid_format(format!("/{bbs_key_name}: {e}")).at(format!("/{bbs_key_name}"))
    })?;
    let bbs_sig_name = aliased(body, "bbsBlsSignData", "bbsB1SignData")?;
    let bbs_sig = bbs::Signature::from_multibase(string(body, bbs_sig_name)?).map_err(|e| {
        ApiError::invalid_signature_format(format!("/{bbs_sig_name}: {e}"))
            .at(format!("/{bbs_sig_name}"))
    })?;
    let expiry = key_expiry(body)?;
    let stored = load(state, vc_id.as_str()).await?;
    let issuer = record_issuer(state, caller, &stored.record).await?;
    if stored.record.status != "CREATED" {
        let hint = if stored.record.status == "APPLIED" {
            "; call /cred/v1/vc/create first"
        } else {
            ""
        };
        return Err(not_in(&stored.record, "CREATED", hint));
    }
    Ok(Submitted {
        vc_id,
        ed_key,
        ed_sig,
        bbs_key_name,
        bbs_key,
        bbs_sig_name,
        bbs_sig,
        expiry,
        stored,
        issuer,
    })
}

/// Checks a submit's Ed25519 signature and BBS+ key (against `listed`, the issuer's DID
/// attributes) and builds the credential it issues; the BBS+ signature is left to the caller
/// (alone or in a batch).
fn submission(
    submitted: Submitted,
    listed: &[attributes::DidAttribute],
    now: OffsetDateTime,
) -> Result<Submission, ApiError> {
    let Submitted {
        vc_id: _,
        ed_key,
        ed_sig,
        bbs_key_name,
        bbs_key,
        bbs_sig_name,
        bbs_sig,
        expiry,
        stored,
        issuer,
    } = submitted;
    let record = stored.record.clone();
    if ed_key != issuer.key {
        return Err(ApiError::signature_mismatch(format!(
            "ed25519PubKey is not the key in force of issuer {}",
            issuer.did
        ))
        .at("/ed25519PubKey"));
    }
    let unsigned = record
        .unsigned
        .clone()
        .ok_or_else(|| ApiError::internal("a CREATED record has no credential"))?;
    let input = jws::signing_input(canonical::to_string(&unsigned).as_bytes());
    ed_key.verify(input.as_bytes(), &ed_sig).map_err(|_| {
        ApiError::signature_mismatch("ed25519SignData does not verify over ed25519Blob")
            .at("/ed25519SignData")
    })?;
    let bbs_multibase = bbs_key.to_multibase();
    let attribute = listed
        .iter()
        .find(|a| a.kind == attributes::BBS_TYPE && a.public_key == bbs_multibase)
        .ok_or_else(|| {
            ApiError::signature_mismatch(format!(
                "bbsBlsPubKey is not a BBS+ key of issuer {}'s DID document",
                issuer.did
            ))
            .at(format!("/{bbs_key_name}"))
        })?;
    if !attribute.valid_at(now) {
        return Err(ApiError::signature_mismatch(format!(
            "the BBS+ key #{} of issuer {} is not valid now",
            attribute.fragment, issuer.did
        ))
        .at(format!("/{bbs_key_name}")));
    }
    let subject = unsigned["credentialSubject"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let entries = zcred_model::credential::subject_entries(&subject).map_err(ApiError::internal)?;
    let mut messages = zcred_model::credential::hashed_messages(&entries);
    messages.extend(integer_messages(&entries, &record.integer_paths)?);
    let over = if record.integer_paths.is_empty() {
        "bbsBlsBase64"
    } else {
        "bbsBlsBase64 followed by bbsBlsScalars"
    };

    // The issued VC: proof before @context, as the seed shows it.
    let created = zcred_model::time::format_micros(now);
    let mut vc = unsigned.as_object().cloned().unwrap_or_default();
    let contexts = vc.remove("@context").unwrap_or(Value::Null);
    let mut bbs_proof = json!({
        "type": "BbsBlsSignature2020",
        "created": created,
        "proofPurpose": "assertionMethod",
        "proofValue": bbs_sig.to_multibase(),
        "verificationMethod": format!("{}#{}", issuer.did, attribute.fragment),
    });
    if !record.integer_paths.is_empty() {
        bbs_proof[zcred_model::credential::INTEGER_MESSAGES] = json!(record.integer_paths);
    }
    vc.insert(
        "proof".into(),
        json!([
            bbs_proof,
            {
                "type": "Ed25519Signature2020",
                "created": created,
                "proofPurpose": "assertionMethod",
                "verificationMethod": format!("{}#controllerKey", issuer.did),
                "jws": jws::encode(&input, &ed_sig),
            }
        ]),
    );
    vc.insert("@context".into(), contexts);
    let vc = Value::Object(vc);
    let said = Said::digest(canonical::to_string(&unsigned).as_bytes());
    let download_expiry = blobs::now_ms() + expiry * 1000;
    let next = VcRecord {
        status: "ISSUED".into(),
        vc: Some(vc.clone()),
        download_expiry: Some(download_expiry),
        issuer_key: Some(ed_key.to_zetrix()),
        registry: Some(issuer.registry.clone()),
        said: Some(said.to_string()),
        ..record
    };
    Ok(Submission {
        stored,
        next,
        said,
        vc,
        download_expiry,
        bbs_key,
        messages,
        bbs_sig,
        bbs_sig_name,
        over,
    })
}

/// The DID attributes of `issuer` (its BBS+ keys among them), from the ledger.
async fn issuer_attributes<S: Store>(
    state: &AppState<S>,
    issuer: &Issuer,
) -> Result<Vec<attributes::DidAttribute>, ApiError> {
    attributes::of(state, &issuer.prefix).await
}

/// Records the issuance of every `submissions` (one agent `ixn` per `iss`) and the quota
/// count, in one transaction; returns the `txHash` of each.
async fn issue_all<S: Store>(
    state: &AppState<S>,
    issuer: &Issuer,
    submissions: Vec<Submission>,
    counted: Option<(String, Option<String>, u64)>,
    now: OffsetDateTime,
) -> Result<Vec<String>, ApiError> {
    let registry = Said::parse(&issuer.registry).map_err(ApiError::internal)?;
    agent::anchored(state, issuer, None, move |_ledger, agent| {
        let mut messages = Vec::with_capacity(2 * submissions.len());
        let mut write = Write::default();
        let mut txs = Vec::with_capacity(submissions.len());
        for submission in &submissions {
            let iss =
                flows::issuance(&submission.said, &registry, now).map_err(ApiError::internal)?;
            let iss_said = iss.said().to_string();
            let (ixn, tel) = agent.anchor(iss).map_err(ApiError::internal)?;
            let tx = ixn
                .as_event()
                .map(|e| e.said().to_string())
                .unwrap_or_default();
            // The record names its anchors.
            let mut next = submission.next.clone();
            next.issued = Some(iss_said);
            next.issued_tx = Some(tx.clone());
            let transition = submission.stored.transition(&next)?;
            write.states.extend(transition.states);
            write.expect.extend(transition.expect);
            messages.extend([ixn, tel]);
            txs.push(tx);
        }
        if let Some((key, held, count)) = &counted {
            write.states.push(StateUpdate {
                key: key.clone(),
                value: count.to_string(),
            });
            write.expect.push(Expectation {
                key: key.clone(),
                value: held.clone(),
            });
        }
        Ok((messages, write, txs))
    })
    .await
}

/// `POST /cred/v1/vc/submit` (8.3).
pub async fn submit<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    Body(body): Body,
) -> Result<Envelope, ApiError> {
    let submitted = submitted(&state, &caller, &body).await?;
    let now = OffsetDateTime::now_utc();
    let counted = quota(&state, &caller, now, 1).await?;
    let (vc_id, issuer) = (submitted.vc_id.clone(), submitted.issuer.clone());
    let listed = issuer_attributes(&state, &issuer).await?;
    let submission = submission(submitted, &listed, now)?;
    let checked = state
        .bbs_verifier()
        .verify(
            submission.bbs_key.clone(),
            submission.messages.clone(),
            submission.bbs_sig.clone(),
        )
        .await
        .map_err(ApiError::internal)?;
    checked.map_err(|_| submission.bbs_refused())?;
    let answer = json!({ "vc": submission.vc, "downloadExpiryDate": submission.download_expiry });
    let txs = issue_all(&state, &issuer, vec![submission], counted, now).await?;
    tracing::info!(vc = %vc_id, tx = txs.first().map(String::as_str).unwrap_or_default(), "issued");
    state.metrics().count(crate::metrics::Counted::Issuance);
    Ok(Envelope(answer))
}

/// The most credentials one batch submit issues.
pub const BATCH_LIMIT: usize = 100;

/// An item's error, its field pointer and message under `/items/<index>`.
fn in_item(index: usize, mut e: ApiError) -> ApiError {
    let inner = e.message.field.take().unwrap_or_default();
    e.message.message = format!("items[{index}]: {}", e.message.message);
    e.at(format!("/items/{index}{inner}"))
}

/// `POST /zcred/v1/vc/submit/batch`: many 8.3 submits of one issuer, all or nothing. Each item
/// is checked as 8.3 checks it; the BBS+ signatures all go to the submits' checking queue at
/// once ([`crate::batch`]: checked together, a bad one found and named); the issuances are
/// recorded in one transaction, each `iss` with its own agent `ixn`.
pub async fn submit_batch<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    Body(body): Body,
) -> Result<Envelope, ApiError> {
    let items = body.get("items").and_then(Value::as_array).ok_or_else(|| {
        ApiError::invalid_request("items must be an array of 8.3 submit bodies").at("/items")
    })?;
    if items.is_empty() || items.len() > BATCH_LIMIT {
        return Err(ApiError::invalid_request(format!(
            "items must hold 1 to {BATCH_LIMIT} submits, not {}",
            items.len()
        ))
        .at("/items"));
    }
    let mut all = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Some(item) = item.as_object() else {
            return Err(in_item(
                i,
                ApiError::invalid_request("an item must be an object"),
            ));
        };
        let one = submitted(&state, &caller, item)
            .await
            .map_err(|e| in_item(i, e))?;
        if let Some(j) = all
            .iter()
            .position(|other: &Submitted| other.vc_id == one.vc_id)
        {
            return Err(in_item(
                i,
                ApiError::invalid_request(format!("vcId {} is item {j} already", one.vc_id))
                    .at("/vcId"),
            ));
        }
        if let Some(first) = all.first() {
            if first.issuer.did != one.issuer.did {
                return Err(in_item(
                    i,
                    ApiError::invalid_request(format!(
                        "a batch is one issuer's: item 0 is {}'s, this one {}'s",
                        first.issuer.did, one.issuer.did
                    ))
                    .at("/vcId"),
                ));
            }
        }
        all.push(one);
    }
    let issuer = all[0].issuer.clone();
    let now = OffsetDateTime::now_utc();
    let counted = quota(&state, &caller, now, all.len() as u64).await?;
    // One issuer: its DID attributes are read once for the whole batch.
    let listed = issuer_attributes(&state, &issuer).await?;
    let submissions = all
        .into_iter()
        .enumerate()
        .map(|(i, one)| submission(one, &listed, now).map_err(|e| in_item(i, e)))
        .collect::<Result<Vec<_>, _>>()?;
    let checks = submissions
        .iter()
        .map(|s| (s.bbs_key.clone(), s.messages.clone(), s.bbs_sig.clone()))
        .collect();
    let verdicts = state
        .bbs_verifier()
        .verify_all(checks)
        .await
        .map_err(ApiError::internal)?;
    if let Some(i) = verdicts.iter().position(Result::is_err) {
        return Err(in_item(i, submissions[i].bbs_refused()));
    }
    let answers: Vec<Value> = submissions
        .iter()
        .map(|s| json!({ "vc": s.vc, "downloadExpiryDate": s.download_expiry }))
        .collect();
    let count = submissions.len();
    let txs = issue_all(&state, &issuer, submissions, counted, now).await?;
    tracing::info!(issuer = %issuer.did, count, first_tx = txs.first().map(String::as_str).unwrap_or_default(), "issued a batch");
    for _ in 0..count {
        state.metrics().count(crate::metrics::Counted::Issuance);
    }
    Ok(Envelope(json!({ "vcs": answers })))
}

/// `POST /cred/v1/vc/download` (8.4).
pub async fn download<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    Body(body): Body,
) -> Result<Envelope, ApiError> {
    let vc_id = did_field(&body, "vcId")?;
    let signature = crate::body::signature(&body, "signVcId", "")?;
    let as_issuer = match body.get("isIssuer") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(ApiError::invalid_format("/isIssuer must be true or false").at("/isIssuer"))
        }
    };
    let stored = load(&state, vc_id.as_str()).await?;
    let record = &stored.record;
    if as_issuer && caller.issuer.as_deref() != Some(record.issuer.as_str()) {
        return Err(ApiError::forbidden(format!(
            "isIssuer downloads need a key bound to the credential's issuer {}",
            record.issuer
        )));
    }
    if record.status != "ISSUED" {
        return Err(not_in(record, "ISSUED", ""));
    }
    let expiry = record.download_expiry.unwrap_or(0);
    if blobs::now_ms() > expiry {
        if record.vc.is_some() {
            // Past the window: the body goes (OP-14); the record stays for the 410.
            let _ = commit(&state, stored.transition(&without_body(record))?).await;
        }
        return Err(ApiError::gone(format!(
            "the download window of {vc_id} closed at {expiry} (epoch ms)"
        )));
    }
    let key_text = if as_issuer {
        record.issuer_key.as_deref()
    } else {
        Some(record.holder_key.as_str())
    }
    .ok_or_else(|| ApiError::internal("an issued record has no keys"))?;
    let key = VerifyingKey::from_zetrix(key_text).map_err(ApiError::internal)?;
    // OP-4: over the exact text sent (a vcId sent in uppercase is signed in uppercase), while
    // the record is found by the DID's canonical form.
    let sent = string(&body, "vcId")?;
    key.verify(sent.as_bytes(), &signature).map_err(|_| {
        let whose = if as_issuer { "issuer" } else { "holder" };
        ApiError::signature_mismatch(format!(
            "signVcId does not verify under the {whose} key over the vcId"
        ))
        .at("/signVcId")
    })?;
    let vc = record
        .vc
        .clone()
        .ok_or_else(|| ApiError::gone(format!("the credential {vc_id} was purged")))?;
    Ok(Envelope(vc))
}

/// `POST /cred/v1/vc/revoke/create` (9.1).
pub async fn revoke_create<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    Body(body): Body,
) -> Result<Envelope, ApiError> {
    let vc_id = did_field(&body, "vcId")?;
    let remark = optional_text(&body, "remark", 256)?.map(str::to_owned);
    let address = Address::parse(string(&body, "issuerAddress")?).map_err(|e| {
        ApiError::invalid_format(format!("/issuerAddress: {e}")).at("/issuerAddress")
    })?;
    let stored = load(&state, vc_id.as_str()).await?;
    let record = &stored.record;
    let issuer = record_issuer(&state, &caller, record).await?;
    let original = issuer.did.key().map_err(ApiError::internal)?;
    if address != issuer.key.address() && address != original.address() {
        return Err(ApiError::forbidden(format!(
            "issuerAddress is not the address of the credential's issuer {}",
            issuer.did
        ))
        .at("/issuerAddress"));
    }
    if record.status != "ISSUED" {
        return Err(not_in(record, "ISSUED", ""));
    }
    let request = blobs::fingerprint(&body);
    if let Some(again) = blobs::waiting(
        &state,
        &caller,
        REVOKE,
        vc_id.as_str(),
        Some(record.issuer.as_str()),
        &request,
    )
    .await?
    {
        return Ok(again);
    }
    let (Some(said), Some(registry), Some(issued)) =
        (&record.said, &record.registry, &record.issued)
    else {
        return Err(ApiError::internal("an issued record has no TEL"));
    };
    let rev = flows::revocation(
        &Said::parse(said).map_err(ApiError::internal)?,
        &Said::parse(registry).map_err(ApiError::internal)?,
        &Said::parse(issued).map_err(ApiError::internal)?,
        OffsetDateTime::now_utc(),
    )
    .map_err(ApiError::internal)?;
    let mut payload = Map::new();
    payload.insert("vcId".into(), json!(vc_id.as_str()));
    if let Some(r) = remark {
        payload.insert("remark".into(), json!(r));
    }
    blobs::hand_out(
        state.journal().store(),
        &caller,
        REVOKE,
        vc_id.as_str(),
        rev.raw(),
        payload,
        Map::new(),
        Some(&request),
    )
    .await
}

/// `POST /cred/v1/vc/revoke/submit` (9.2).
pub async fn revoke_submit<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    Body(body): Body,
) -> Result<Envelope, ApiError> {
    let (signers, pending) =
        blobs::submitted(state.journal().store(), &caller, REVOKE, &body).await?;
    let vc_id = pending.text("vcId")?.to_owned();
    let remark = pending
        .payload
        .get("remark")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let stored = load(&state, &vc_id).await?;
    let record = stored.record.clone();
    let issuer = record_issuer(&state, &caller, &record).await?;
    if record.status != "ISSUED" {
        return Err(not_in(&record, "ISSUED", ""));
    }
    let signature = blobs::check_signers(&signers, &pending.bytes, &issuer.key)?;
    let rev = zcred_ledger::Event::parse(&pending.bytes).map_err(ApiError::internal)?;
    let issuer_prefix = zcred_ledger::Prefix::parse(&issuer.prefix).map_err(ApiError::internal)?;
    let next = VcRecord {
        status: "REVOKED".into(),
        remark,
        ..record
    };
    let tx = agent::anchored(&state, &issuer, Some(pending.id), move |ledger, agent| {
        let kel = ledger
            .key_state(issuer_prefix.as_str())
            .ok_or_else(|| ApiError::internal("the issuer has no KEL"))?;
        let (ixn, mut tel) = agent.anchor(rev.clone()).map_err(ApiError::internal)?;
        tel.attachments.endorsements.push(flows::endorsement(
            &issuer_prefix,
            kel.last_est_sn,
            &kel.last_est_said,
            signature,
        ));
        let tx = ixn
            .as_event()
            .map(|e| e.said().to_string())
            .unwrap_or_default();
        let mut next = next.clone();
        next.revoked_tx = Some(tx.clone());
        let write = stored.transition(&next)?;
        Ok((vec![ixn, tel], write, tx))
    })
    .await?;
    state.metrics().count(crate::metrics::Counted::Revocation);
    Ok(Envelope(json!({
        "txHash": tx,
        "vcId": vc_id,
        "status": "REVOKED",
    })))
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use crate::testing::{api_key, exchange, service};

    async fn revoke_create(remark: Value) -> (u16, Value) {
        let state = service().await;
        let key = api_key(&state).await;
        let body = json!({
            "vcId": format!("did:zid:{}", "cd".repeat(32)),
            "remark": remark,
            "issuerAddress": "ZTX3Ta7d4GyAXD41H2kFCTd2eXhDesM83rvC3",
        })
        .to_string();
        let head = format!(
            "POST /cred/v1/vc/revoke/create HTTP/1.1\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json"
        );
        let answer = exchange(state, &head, &body).await;
        (answer.status, serde_json::from_str(&answer.body).unwrap())
    }

    #[tokio::test]
    async fn an_empty_remark_is_no_remark() {
        // api.md §9.1: `remark` string (0–256): "" passes the shape checks, so the unknown
        // vcId decides (404), not a 400 for a "missing" remark.
        let (status, body) = revoke_create(json!("")).await;
        assert_eq!(status, 404, "{body}");
        let (status, body) = revoke_create(json!("r".repeat(257))).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["messages"][0]["field"], "/remark");
    }
}
