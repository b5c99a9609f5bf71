//! The `http_api` target's service: the real axum app (`zcred_server::app`) over the in-memory
//! store, driven in-process (no socket) on a current-thread tokio runtime.
//!
//! Set up once per process: an admin token, an API key (plan `unlimited`, bound to the fixture's
//! issuer) made through the admin API, and, through the API itself, the issuer onboarded
//! (inception, agent delegation, operator approval, BBS+ key as a DID attribute), a template,
//! one credential issued and one applied for. Issuer-only endpoints thus get past the key and
//! onboarding checks, and a fuzz body can name the fixture's template and credentials by the
//! placeholders [`TEMPLATE_ID`], [`ISSUED_VC_ID`] and [`APPLIED_VC_ID`] (their values change
//! from run to run).

use std::sync::OnceLock;

use axum::body::{Body, Bytes};
use axum::http::{header, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use tower::ServiceExt as _;
use zcred_crypto::enc::{self, Channel, ServerPublicKey};
use zcred_crypto::{bbs, multibase, OsRng};
use zcred_server::routes::{Access, Route, ROUTES};
use zcred_server::{AppState, Settings};
use zcred_store::{Journal, MemoryStore};

use crate::fixtures::{did_of, holder_key, issuer_bbs, issuer_key, issuer_next_key};

/// Replaced in fuzz bodies by the fixture's template id.
pub const TEMPLATE_ID: &str = "@TEMPLATE_ID@";
/// Replaced in fuzz bodies by the id of the fixture's issued credential.
pub const ISSUED_VC_ID: &str = "@ISSUED_VC_ID@";
/// Replaced in fuzz bodies by the id of the fixture's applied-for (not yet created) credential.
pub const APPLIED_VC_ID: &str = "@APPLIED_VC_ID@";

/// The operator's admin token of the fixture.
pub const ADMIN_TOKEN: &str = "zcred-fuzz-admin-token";

/// The one POST route left out: a key rotation generates an RSA key per call (seconds).
const SKIPPED: &[&str] = &["/zcred/v1/admin/enc/rotate"];

/// The routes the `http_api` target picks from with its first byte, in [`ROUTES`] order.
pub fn fuzzed_routes() -> Vec<&'static Route> {
    ROUTES
        .iter()
        .filter(|r| r.method == "POST" && !SKIPPED.contains(&r.path))
        .collect()
}

/// An answer: status and body.
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The body as sent (sealed for a 2xx of an `/enc/` twin).
    pub body: Bytes,
    /// For a sealed request, the channel that opens a 2xx answer.
    pub channel: Option<Channel>,
}

/// The service with its fixture.
pub struct Api {
    runtime: tokio::runtime::Runtime,
    router: Router,
    state: AppState<MemoryStore>,
    api_key: String,
    enc_key: ServerPublicKey,
    /// The fixture's template id.
    pub template_id: String,
    /// The fixture's issued credential id.
    pub issued_vc_id: String,
    /// The fixture's applied-for credential id.
    pub applied_vc_id: String,
    /// The issued credential as downloaded.
    pub issued_vc: Value,
    /// The request bodies of the setup, by path, with the fixture's ids as placeholders.
    pub transcript: Vec<(&'static str, String)>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("template_id", &self.template_id)
            .finish_non_exhaustive()
    }
}

fn route(path: &str) -> &'static Route {
    ROUTES
        .iter()
        .find(|r| r.path == path)
        .unwrap_or_else(|| panic!("no route {path} in zcred_server::routes::ROUTES"))
}

fn now_ms() -> u64 {
    u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
        .expect("the clock is after 1970")
}

impl Api {
    /// The process's service, set up on first use.
    pub fn get() -> &'static Api {
        static API: OnceLock<Api> = OnceLock::new();
        API.get_or_init(Api::start)
    }

    /// A fresh service with its fixture. Panics when a setup step is not answered 200.
    pub fn start() -> Api {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let state = runtime.block_on(async {
            let journal = Journal::new(MemoryStore::new(), zcred_ledger::Options::default());
            let settings = Settings {
                // Smaller than the default 3072 bits: the `/enc/` key is made on first use,
                // and every sealed request is one RSA decryption.
                enc_rsa_bits: 2048,
                ..Settings::default()
            };
            AppState::configured(
                journal,
                zcred_server::keys::MasterKey::generate(),
                Some(zcred_server::admin::token_digest(ADMIN_TOKEN)),
                settings,
            )
        });
        let router = zcred_server::app(state.clone());
        let mut setup = Setup {
            runtime: &runtime,
            router: &router,
            api_key: String::new(),
            transcript: Vec::new(),
        };
        let ids = setup.run();
        let api_key = setup.api_key.clone();
        let mut transcript = setup.transcript;
        let keys = setup_call(
            &runtime,
            &router,
            "GET",
            "/cred/v1/enc/keys",
            &api_key,
            None,
        );
        let enc_key = ServerPublicKey::from_parts(
            keys["keyId"].as_str().unwrap_or_default(),
            keys["rsaPublicKey"].as_str().unwrap_or_default(),
            keys["x25519PublicKey"].as_str().unwrap_or_default(),
        )
        .expect("the service's /enc/ key parses");
        for (_, body) in &mut transcript {
            *body = body
                .replace(&ids.template_id, TEMPLATE_ID)
                .replace(&ids.issued_vc_id, ISSUED_VC_ID)
                .replace(&ids.applied_vc_id, APPLIED_VC_ID);
        }
        Api {
            runtime,
            router,
            state,
            api_key,
            enc_key,
            template_id: ids.template_id,
            issued_vc_id: ids.issued_vc_id,
            applied_vc_id: ids.applied_vc_id,
            issued_vc: ids.issued_vc,
            transcript,
        }
    }

    /// The service's ledger as one CESR stream (`zcred_store::export`).
    pub fn export(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.runtime
            .block_on(zcred_store::export(self.state.journal().store(), &mut out))
            .expect("the in-memory store exports");
        out
    }

    /// Puts the fixture's ids in place of their placeholders.
    pub fn substitute(&self, body: &[u8]) -> Vec<u8> {
        let mut out = body.to_vec();
        for (placeholder, value) in [
            (TEMPLATE_ID, &self.template_id),
            (ISSUED_VC_ID, &self.issued_vc_id),
            (APPLIED_VC_ID, &self.applied_vc_id),
        ] {
            out = replace(&out, placeholder.as_bytes(), value.as_bytes());
        }
        out
    }

    /// POSTs `body` to `route` with the credentials the route takes. `/enc/` twins get the body
    /// sealed with the service's key when `seal` is set, and as it is otherwise.
    pub fn post(&self, route: &Route, body: &[u8], seal: bool) -> Answer {
        let mut request = Request::builder().method("POST").uri(route.path);
        let credential = match route.access {
            Access::Admin => ADMIN_TOKEN,
            Access::Key | Access::Public => self.api_key.as_str(),
        };
        request = request.header(header::AUTHORIZATION, format!("Bearer {credential}"));
        let (request, channel) = if route.twin.is_some() && seal {
            let (sealed, channel) = self
                .enc_key
                .seal_request(route.path, body, now_ms())
                .expect("sealing a request");
            let request = request
                .header(header::CONTENT_TYPE, "text/plain")
                .header(enc::KEY_ID_HEADER, sealed.key_id)
                .header(enc::SECRET_KEY_HEADER, sealed.secret_key)
                .body(Body::from(sealed.body))
                .expect("a request");
            (request, Some(channel))
        } else {
            let request = request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_vec()))
                .expect("a request");
            (request, None)
        };
        let (status, body) = self.runtime.block_on(send(&self.router, request));
        Answer {
            status,
            body,
            channel,
        }
    }
}

fn replace(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

async fn send(router: &Router, request: Request<Body>) -> (StatusCode, Bytes) {
    let response = router
        .clone()
        .oneshot(request)
        .await
        .unwrap_or_else(|e| match e {});
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("the answer's body reads");
    (status, body)
}

/// One setup call; panics unless it is answered 200. Returns the envelope's `object`.
fn setup_call(
    runtime: &tokio::runtime::Runtime,
    router: &Router,
    method: &str,
    path: &str,
    credential: &str,
    body: Option<&Value>,
) -> Value {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {credential}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.map(Value::to_string).unwrap_or_default()))
        .expect("a request");
    let (status, answer) = runtime.block_on(send(router, request));
    let answer: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
    assert_eq!(
        status,
        StatusCode::OK,
        "fuzz fixture setup: {method} {path} {}: {answer}",
        body.map(Value::to_string).unwrap_or_default()
    );
    answer["object"].clone()
}

struct Setup<'a> {
    runtime: &'a tokio::runtime::Runtime,
    router: &'a Router,
    api_key: String,
    transcript: Vec<(&'static str, String)>,
}

struct Ids {
    template_id: String,
    issued_vc_id: String,
    applied_vc_id: String,
    issued_vc: Value,
}

impl Setup<'_> {
    fn post(&mut self, path: &str, body: Value) -> Value {
        let route = route(path);
        let credential = if route.access == Access::Admin {
            ADMIN_TOKEN.to_owned()
        } else {
            self.api_key.clone()
        };
        self.transcript.push((route.path, body.to_string()));
        setup_call(
            self.runtime,
            self.router,
            "POST",
            path,
            &credential,
            Some(&body),
        )
    }

    /// Signs the blob of a create answer and submits it to `submit`.
    fn sign_and_submit(&mut self, created: &Value, submit: &str) -> Value {
        let key = issuer_key();
        let blob = hex::decode(created["blob"].as_str().unwrap_or_default()).expect("a hex blob");
        let body = json!({
            "blobId": created["blobId"],
            "signerList": [{
                "signBlob": key.sign(&blob).to_hex(),
                "publicKey": key.verifying_key().to_zetrix(),
            }],
        });
        self.post(submit, body)
    }

    fn run(&mut self) -> Ids {
        let issuer = issuer_key();
        let did = did_of(&issuer).to_string();
        let made = self.post(
            "/zcred/v1/admin/keys/create",
            json!({ "plan": "unlimited", "issuer": did }),
        );
        self.api_key = made["apiKey"].as_str().expect("an API key").to_owned();

        let created = self.post(
            "/zcred/v1/issuer/inception/create",
            json!({
                "publicKey": issuer.verifying_key().to_zetrix(),
                "nextPublicKey": issuer_next_key().verifying_key().to_zetrix(),
            }),
        );
        self.sign_and_submit(&created, "/zcred/v1/issuer/inception/submit");
        let created = self.post("/zcred/v1/issuer/delegation/create", json!({ "did": did }));
        self.sign_and_submit(&created, "/zcred/v1/issuer/delegation/submit");
        self.post("/zcred/v1/admin/issuers/approve", json!({ "did": did }));
        let created = self.post(
            "/zcred/v1/issuer/attributes/create",
            json!({
                "did": did,
                "bbsPublicKey": issuer_bbs().public().to_multibase(),
                "x25519PublicKey": multibase::base64url(&[7u8; 32]),
            }),
        );
        self.sign_and_submit(&created, "/zcred/v1/issuer/attributes/submit");

        let created = self.post(
            "/cred/tds/template/blob/create",
            json!({
                "templateName": "Person Profile",
                "issuerZid": did,
                "credentialFormat": [
                    {"attribute": "Name", "format": "STRING", "key": "name", "mandatory": true, "type": "USER"},
                    {"attribute": "Age", "format": "NUMBER", "key": "age", "mandatory": true, "type": "USER", "rangeProvable": true},
                    {"attribute": "Gender", "format": "STRING", "key": "gender", "mandatory": false, "type": "USER"},
                    {"attribute": "Class", "format": "STRING", "key": "class", "mandatory": true, "type": "FIXED"},
                    {"attribute": "Height", "format": "NUMBER", "key": "height", "mandatory": false, "type": "APPLICATION"}
                ],
                "version": "1.0.0",
                "remark": "fuzz fixture",
            }),
        );
        let done = self.sign_and_submit(&created, "/cred/tds/template/submit");
        let template_id = done["templateId"]
            .as_str()
            .expect("a template id")
            .to_owned();

        let issued_vc_id = self.apply(&template_id, "Ali bin Abu");
        let created = self.post(
            "/cred/v1/vc/create",
            json!({
                "vcId": issued_vc_id,
                "issuanceDate": "2025-01-01T00:00:00Z",
                "expirationDate": "2035-01-01T00:00:00Z",
                "data": [{ "templateId": template_id, "metadata": { "class": "B2", "height": "170" } }],
            }),
        );
        self.submit_issuance(&issued_vc_id, &created);
        // A second application once the first is issued (one open application per holder).
        let applied_vc_id = self.apply(&template_id, "Siti binti Ahmad");
        let holder = holder_key();
        let issued_vc = self.post(
            "/cred/v1/vc/download",
            json!({
                "vcId": issued_vc_id,
                "signVcId": holder.sign(issued_vc_id.as_bytes()).to_hex(),
                "isIssuer": false,
            }),
        );
        let issued_vc = issued_vc.get("vc").cloned().unwrap_or(issued_vc);
        self.post("/cred/v1/vp/challenge", json!({}));
        Ids {
            template_id,
            issued_vc_id,
            applied_vc_id,
            issued_vc,
        }
    }

    /// 8.1 by the fixture's holder; returns the vcId.
    fn apply(&mut self, template_id: &str, name: &str) -> String {
        let holder = holder_key();
        let data = json!([{
            "templateId": template_id,
            "metadata": { "name": name, "age": "30", "gender": "Female" },
        }]);
        let signature = holder.sign(zcred_model::canonical::to_string(&data).as_bytes());
        let applied = self.post(
            "/cred/v1/vc/apply",
            json!({
                "data": data,
                "signData": signature.to_hex(),
                "publicKey": holder.verifying_key().to_zetrix(),
            }),
        );
        applied["vcId"].as_str().expect("a vcId").to_owned()
    }

    /// 8.3: both signatures over what 8.2 answered.
    fn submit_issuance(&mut self, vc_id: &str, created: &Value) {
        let key = issuer_key();
        let input = hex::decode(created["ed25519Blob"].as_str().unwrap_or_default())
            .expect("a hex ed25519Blob");
        let mut messages: Vec<bbs::Message> = created["bbsBlsBase64"]
            .as_array()
            .expect("bbsBlsBase64")
            .iter()
            .map(|m| {
                bbs::Message::hashed(
                    &multibase::from_base64(m.as_str().unwrap_or_default()).expect("base64"),
                )
            })
            .collect();
        for s in created["bbsBlsScalars"].as_array().into_iter().flatten() {
            messages.push(
                bbs::Message::from_scalar_hex(s.as_str().unwrap_or_default()).expect("a scalar"),
            );
        }
        let signature = issuer_bbs()
            .sign_messages(&messages, &mut OsRng)
            .expect("BBS+ signing");
        self.post(
            "/cred/v1/vc/submit",
            json!({
                "vcId": vc_id,
                "ed25519PubKey": key.verifying_key().to_zetrix(),
                "ed25519SignData": key.sign(&input).to_hex(),
                "bbsBlsPubKey": issuer_bbs().public().to_multibase(),
                "bbsBlsSignData": signature.to_multibase(),
            }),
        );
    }
}
