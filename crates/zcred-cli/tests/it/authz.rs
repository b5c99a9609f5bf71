//! The authorization matrix (api.md §1.2, §1.4): every route of the served `/openapi.json`,
//! called by every kind of caller, gets exactly the status its row below gives, and that status
//! is one the document lists for the route. A route without a row fails the test, and so does a
//! row without a route, so a new endpoint cannot ship without its line here.
//!
//! The callers: no key; an unknown key; the operator's admin token sent as an API key; another
//! (approved) issuer's key; the integrator's key, bound to no issuer (holders' and verifiers'
//! calls, and onboarding relayed for an issuer); and the key bound to the issuer the call is
//! about. Every call is built afresh for each caller (a new blob, application, credential or
//! issuer), so what one caller's success changes is never what the next caller sees.
//!
//! Who may do what:
//! - another issuer's key can never create, issue, revoke or download-as-issuer the target
//!   issuer's templates and credentials, nor onboard, rotate or add attributes for its DID
//!   (403). Onboarding steps are proven by the DID's own signatures, so the integrator may relay
//!   them; issuer steps (templates, issuance, revocation, and approving a new anchoring agent)
//!   need the issuer's own key (403 for the integrator too);
//! - holder and verifier calls (apply, download, presentations) take any key: their authority
//!   is the holder's signature in the body (§1.2);
//! - DID documents and template contexts are public by design: there is no private resolution
//!   to refuse;
//! - the operator's routes take only the admin token, and the admin token is not an API key.
//!
//! The same run is the every-endpoint secrets check: the server's whole output is captured, and
//! neither it nor any answer may hold an API key, the admin token, an issuer's private key, a
//! BBS+ secret key, a seed, or (for the log) a holder's value, sealed or not. Each POST route is
//! also sent a body whose every member is a recognisable marker: none may reach the log, and no
//! error message may repeat the value of a member that carries a secret.

use std::cell::{Cell, RefCell};

use serde_json::{json, Value};
use zcred_crypto::zetrix::SigningKey;
use zcred_crypto::{bbs, multibase, OsRng};
use zcred_server::routes::{Kind, ROUTES};

use crate::commands::{api_key, scratch};
use crate::lifecycle::{
    accepted, application, approve, created, onboard, register, signers, template, Issuer,
};
use crate::presentation::vp_signed;
use crate::serve::Server;

/// The callers, in the order of a row's statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    NoKey,
    UnknownKey,
    AdminToken,
    OtherIssuer,
    Integrator,
    Issuer,
}

const ROLES: [Role; 6] = [
    Role::NoKey,
    Role::UnknownKey,
    Role::AdminToken,
    Role::OtherIssuer,
    Role::Integrator,
    Role::Issuer,
];

/// Any API key; holders' and verifiers' calls.
const ANY_KEY: [u16; 6] = [401, 401, 401, 200, 200, 200];
/// The issuer's own key only.
const ISSUER_ONLY: [u16; 6] = [401, 401, 401, 403, 403, 200];
/// The DID's own key, or a key bound to no issuer relaying the DID's signatures.
const OWN_OR_RELAYED: [u16; 6] = [401, 401, 401, 403, 200, 200];
/// A submit of a blob the issuer's key made (another key's blob does not exist for it), or that
/// the relaying integrator made.
const OWN_OR_RELAYED_BLOB: [u16; 6] = [401, 401, 401, 404, 200, 200];
/// A submit of a blob the issuer's key made.
const ISSUER_BLOB: [u16; 6] = [401, 401, 401, 404, 404, 200];
/// The operator's token only.
const ADMIN: [u16; 6] = [401, 401, 200, 401, 401, 401];
/// Anyone.
const PUBLIC: [u16; 6] = [200; 6];

/// An API key that was never issued, in the real format.
const UNKNOWN_KEY: &str = "zk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// What the matrix runs against: a server (every output line captured), the integrator's key,
/// the target issuer `a` with a template, the other issuer `b`, and what was sent that must
/// never come back out.
struct World {
    server: Server,
    si: String,
    admin: String,
    a: Issuer,
    b: Issuer,
    template: String,
    count: Cell<usize>,
    /// Never in the log nor in an answer: API keys, the admin token, private keys, seeds.
    secrets: RefCell<Vec<String>>,
    /// Never in the log (answers may hold them by design): holders' values, new API keys.
    private: RefCell<Vec<String>>,
}

impl World {
    fn next(&self) -> usize {
        self.count.set(self.count.get() + 1);
        self.count.get()
    }

    fn secret(&self, value: impl Into<String>) {
        self.secrets.borrow_mut().push(value.into());
    }

    fn private(&self, value: impl Into<String>) {
        self.private.borrow_mut().push(value.into());
    }

    /// A key of the unlimited plan bound to `did` (which need not be registered yet).
    fn key_for(&self, did: &str) -> String {
        let made = accepted(
            &self.server,
            &self.admin,
            "/zcred/v1/admin/keys/create",
            &json!({ "plan": "unlimited", "issuer": did }),
        );
        let key = made["apiKey"].as_str().unwrap().to_owned();
        self.secret(key.clone());
        key
    }

    /// A new approved issuer, onboarded through the integrator, with a key of its own.
    fn issuer(&self) -> Issuer {
        let mut issuer = onboard(&self.server, &self.si, &self.admin);
        approve(&self.server, &self.admin, &issuer.did);
        issuer.api_key = self.key_for(&issuer.did);
        self.secret(issuer.key.to_zetrix().to_string());
        self.secret(issuer.next.to_zetrix().to_string());
        self.secret(issuer.bbs.secret().to_multibase().to_string());
        issuer
    }

    /// A new key pair whose DID the integrator has incepted; a key bound to that DID.
    fn incepted(&self) -> (SigningKey, String, String) {
        let (key, body) = inception_body(self);
        let blob = accepted(
            &self.server,
            &self.si,
            "/zcred/v1/issuer/inception/create",
            &body,
        );
        accepted(
            &self.server,
            &self.si,
            "/zcred/v1/issuer/inception/submit",
            &signers(&blob, &key),
        );
        let did = key.verifying_key().did();
        let bound = self.key_for(&did);
        (key, did, bound)
    }

    /// A holder's application to `a`'s template, with a recognisable value.
    fn application(&self) -> (SigningKey, Value) {
        let holder = SigningKey::generate(&mut OsRng);
        let name = format!("Holder-Value-{}-{}", self.next(), random_hex(6));
        self.private(name.clone());
        let body = application(
            &holder,
            json!([{ "templateId": self.template, "metadata": { "name": name, "age": "41" } }]),
        );
        (holder, body)
    }

    /// A credential of `a`, issued: the holder, its vcId and the VC.
    fn issued(&self) -> (SigningKey, String, Value) {
        let (holder, vc_id, submit) = created(&self.server, &self.si, &self.a, &self.template, 0);
        let done = accepted(&self.server, &self.a.api_key, "/cred/v1/vc/submit", &submit);
        (holder, vc_id, done["vc"].clone())
    }

    /// An unsigned presentation of a new credential of `a`, made with the key `maker`, and its
    /// holder.
    fn vp_blob(&self, maker: &str) -> (SigningKey, Value) {
        let (holder, _, vc) = self.issued();
        let blob = accepted(
            &self.server,
            maker,
            "/cred/v1/vp/create",
            &json!({ "vc": vc }),
        );
        (holder, blob)
    }
}

/// `n` (at most 32) random bytes, as hex.
fn random_hex(n: usize) -> String {
    let bytes = SigningKey::generate(&mut OsRng).verifying_key().to_bytes();
    hex::encode(&bytes[..n])
}

/// One call: method, path (with its query), body (`Null` for a GET), and the key of the issuer
/// it is about.
struct Call {
    method: &'static str,
    path: String,
    body: Value,
    issuer_key: String,
}

fn get(path: impl Into<String>, w: &World) -> Call {
    Call {
        method: "GET",
        path: path.into(),
        body: Value::Null,
        issuer_key: w.a.api_key.clone(),
    }
}

fn post(path: &str, body: Value, issuer_key: &str) -> Call {
    Call {
        method: "POST",
        path: path.to_owned(),
        body,
        issuer_key: issuer_key.to_owned(),
    }
}

/// A new key pair's inception request (with a new next key); the key.
fn inception_body(w: &World) -> (SigningKey, Value) {
    let key = SigningKey::generate(&mut OsRng);
    let next = SigningKey::generate(&mut OsRng);
    w.secret(key.to_zetrix().to_string());
    let body = json!({
        "publicKey": key.verifying_key().to_zetrix(),
        "nextPublicKey": next.verifying_key().to_zetrix(),
    });
    (key, body)
}

fn download_body(signer: &SigningKey, vc_id: &str) -> Value {
    json!({ "vcId": vc_id, "signVcId": signer.sign(vc_id.as_bytes()).to_hex() })
}

// The calls, one per route (two for download: as holder, and as issuer).

fn health(w: &World, _role: Role) -> Call {
    get("/health", w)
}
fn livez(w: &World, _role: Role) -> Call {
    get("/livez", w)
}
fn readyz(w: &World, _role: Role) -> Call {
    get("/readyz", w)
}
fn metrics(w: &World, _role: Role) -> Call {
    get("/metrics", w)
}
fn openapi(w: &World, _role: Role) -> Call {
    get("/openapi.json", w)
}
fn docs(w: &World, _role: Role) -> Call {
    get("/docs", w)
}
fn resolve(w: &World, _role: Role) -> Call {
    get(format!("/1.0/identifiers/{}", w.a.did), w)
}
fn context(w: &World, _role: Role) -> Call {
    get(
        format!(
            "/getAccountMetaData?address=zcred-templates&key=template__{}",
            w.template
        ),
        w,
    )
}
fn enc_keys(w: &World, _role: Role) -> Call {
    get("/cred/v1/enc/keys", w)
}

fn bbs_create(w: &World, _role: Role) -> Call {
    let seed = random_hex(32);
    w.secret(seed.clone());
    post("/cred/bbs/create", json!({ "seed": seed }), &w.a.api_key)
}

fn bbs_sign(w: &World, _role: Role) -> Call {
    let pair = bbs::KeyPair::new(bbs::SecretKey::generate(&mut OsRng));
    let secret = pair.secret().to_multibase().to_string();
    w.secret(secret.clone());
    let body = json!({
        "publicKeyMultibase": pair.public().to_multibase(),
        "privateKeyMultibase": secret,
        "data": [multibase::base64(b"a message")],
    });
    post("/cred/bbs/vc/sign", body, &w.a.api_key)
}

fn inception_create(w: &World, _role: Role) -> Call {
    let (key, body) = inception_body(w);
    let bound = w.key_for(&key.verifying_key().did());
    post("/zcred/v1/issuer/inception/create", body, &bound)
}

fn inception_submit(w: &World, role: Role) -> Call {
    let (key, body) = inception_body(w);
    let bound = w.key_for(&key.verifying_key().did());
    let body = submit_of(
        w,
        role,
        RELAYERS,
        &bound,
        "/zcred/v1/issuer/inception/create",
        &body,
        &key,
    );
    post("/zcred/v1/issuer/inception/submit", body, &bound)
}

fn delegation_create(w: &World, _role: Role) -> Call {
    let (_, did, bound) = w.incepted();
    post(
        "/zcred/v1/issuer/delegation/create",
        json!({ "did": did }),
        &bound,
    )
}

fn delegation_submit(w: &World, role: Role) -> Call {
    let (key, did, bound) = w.incepted();
    let body = submit_of(
        w,
        role,
        RELAYERS,
        &bound,
        "/zcred/v1/issuer/delegation/create",
        &json!({ "did": did }),
        &key,
    );
    post("/zcred/v1/issuer/delegation/submit", body, &bound)
}

fn attributes_body(issuer: &Issuer) -> Value {
    let pair = bbs::KeyPair::new(bbs::SecretKey::generate(&mut OsRng));
    json!({ "did": issuer.did, "bbsPublicKey": pair.public().to_multibase() })
}

fn attributes_create(w: &World, _role: Role) -> Call {
    let x = w.issuer();
    post(
        "/zcred/v1/issuer/attributes/create",
        attributes_body(&x),
        &x.api_key,
    )
}

fn attributes_submit(w: &World, role: Role) -> Call {
    let x = w.issuer();
    let body = submit_of(
        w,
        role,
        RELAYERS,
        &x.api_key,
        "/zcred/v1/issuer/attributes/create",
        &attributes_body(&x),
        &x.key,
    );
    post("/zcred/v1/issuer/attributes/submit", body, &x.api_key)
}

fn rotation_body(x: &Issuer) -> Value {
    json!({ "did": x.did, "publicKey": x.next.verifying_key().to_zetrix() })
}

fn rotation_create(w: &World, _role: Role) -> Call {
    let x = w.issuer();
    post(
        "/zcred/v1/issuer/rotation/create",
        rotation_body(&x),
        &x.api_key,
    )
}

fn rotation_submit(w: &World, role: Role) -> Call {
    let x = w.issuer();
    let body = submit_of(
        w,
        role,
        RELAYERS,
        &x.api_key,
        "/zcred/v1/issuer/rotation/create",
        &rotation_body(&x),
        &x.next,
    );
    post("/zcred/v1/issuer/rotation/submit", body, &x.api_key)
}

fn agent_rotation_create(w: &World, _role: Role) -> Call {
    let x = w.issuer();
    post(
        "/zcred/v1/issuer/agent/rotation/create",
        json!({ "did": x.did }),
        &x.api_key,
    )
}

fn agent_rotation_submit(w: &World, role: Role) -> Call {
    let x = w.issuer();
    let body = submit_of(
        w,
        role,
        &[Role::Issuer],
        &x.api_key,
        "/zcred/v1/issuer/agent/rotation/create",
        &json!({ "did": x.did }),
        &x.key,
    );
    post("/zcred/v1/issuer/agent/rotation/submit", body, &x.api_key)
}

fn template_name(w: &World) -> String {
    format!("Matrix Licence {}", w.next())
}

fn template_blob_create(w: &World, _role: Role) -> Call {
    post(
        "/cred/tds/template/blob/create",
        template(&w.a, &template_name(w)),
        &w.a.api_key,
    )
}

fn template_create(w: &World, _role: Role) -> Call {
    let mut body = template(&w.a, &template_name(w));
    body["issuerPrivateKey"] = json!(*w.a.key.to_zetrix());
    post("/cred/tds/template/create", body, &w.a.api_key)
}

fn template_submit(w: &World, role: Role) -> Call {
    let body = submit_of(
        w,
        role,
        &[Role::Issuer],
        &w.a.api_key,
        "/cred/tds/template/blob/create",
        &template(&w.a, &template_name(w)),
        &w.a.key,
    );
    post("/cred/tds/template/submit", body, &w.a.api_key)
}

fn apply(w: &World, _role: Role) -> Call {
    let (_, body) = w.application();
    post("/cred/v1/vc/apply", body, &w.a.api_key)
}

fn vc_create(w: &World, _role: Role) -> Call {
    let (_, body) = w.application();
    let applied = accepted(&w.server, &w.si, "/cred/v1/vc/apply", &body);
    let id_no = format!("Issuer-Value-{}", random_hex(6));
    w.private(id_no.clone());
    let body = json!({
        "vcId": applied["vcId"], "issuanceDate": "2025-01-01", "expirationDate": "2030-01-01",
        "data": [{ "templateId": w.template, "metadata": { "idNo": id_no } }]
    });
    post("/cred/v1/vc/create", body, &w.a.api_key)
}

fn vc_submit(w: &World, _role: Role) -> Call {
    let (_, _, submit) = created(&w.server, &w.si, &w.a, &w.template, w.next());
    post("/cred/v1/vc/submit", submit, &w.a.api_key)
}

fn vc_submit_batch(w: &World, _role: Role) -> Call {
    let (_, _, submit) = created(&w.server, &w.si, &w.a, &w.template, w.next());
    post(
        "/zcred/v1/vc/submit/batch",
        json!({ "items": [submit] }),
        &w.a.api_key,
    )
}

fn download(w: &World, _role: Role) -> Call {
    let (holder, vc_id, _) = w.issued();
    post(
        "/cred/v1/vc/download",
        download_body(&holder, &vc_id),
        &w.a.api_key,
    )
}

fn download_as_issuer(w: &World, _role: Role) -> Call {
    let (_, vc_id, _) = w.issued();
    let mut body = download_body(&w.a.key, &vc_id);
    body["isIssuer"] = json!(true);
    post("/cred/v1/vc/download", body, &w.a.api_key)
}

fn revoke_body(w: &World, vc_id: &str) -> Value {
    json!({ "vcId": vc_id, "issuerAddress": w.a.key.verifying_key().address().to_string() })
}

fn revoke_create(w: &World, _role: Role) -> Call {
    let (_, vc_id, _) = w.issued();
    post(
        "/cred/v1/vc/revoke/create",
        revoke_body(w, &vc_id),
        &w.a.api_key,
    )
}

fn revoke_submit(w: &World, role: Role) -> Call {
    let (_, vc_id, _) = w.issued();
    let body = submit_of(
        w,
        role,
        &[Role::Issuer],
        &w.a.api_key,
        "/cred/v1/vc/revoke/create",
        &revoke_body(w, &vc_id),
        &w.a.key,
    );
    post("/cred/v1/vc/revoke/submit", body, &w.a.api_key)
}

fn vp_challenge(w: &World, _role: Role) -> Call {
    post("/cred/v1/vp/challenge", json!({}), &w.a.api_key)
}

fn vp_create(w: &World, _role: Role) -> Call {
    let (_, _, vc) = w.issued();
    post("/cred/v1/vp/create", json!({ "vc": vc }), &w.a.api_key)
}

fn vp_submit(w: &World, role: Role) -> Call {
    let (holder, blob) = w.vp_blob(&w.maker(role, KEYS, &w.a.api_key));
    post(
        "/cred/v1/vp/submit",
        vp_signed(&blob, &holder, &holder),
        &w.a.api_key,
    )
}

fn vp_verify(w: &World, _role: Role) -> Call {
    let (holder, blob) = w.vp_blob(&w.si);
    let vp = accepted(
        &w.server,
        &w.si,
        "/cred/v1/vp/submit",
        &vp_signed(&blob, &holder, &holder),
    );
    post(
        "/cred/v1/vp/verify",
        json!({ "vpObject": vp["vpObject"] }),
        &w.a.api_key,
    )
}

fn enc_rotate(w: &World, _role: Role) -> Call {
    post(
        "/zcred/v1/admin/enc/rotate",
        json!({ "graceSeconds": 3600 }),
        &w.a.api_key,
    )
}

fn issuers_approve(w: &World, _role: Role) -> Call {
    post(
        "/zcred/v1/admin/issuers/approve",
        json!({ "did": w.b.did }),
        &w.a.api_key,
    )
}

fn sweep(w: &World, _role: Role) -> Call {
    post("/zcred/v1/admin/sweep", json!({}), &w.a.api_key)
}

fn plans_set(w: &World, _role: Role) -> Call {
    post(
        "/zcred/v1/admin/plans/set",
        json!({ "name": "matrix", "issuancesPerDay": 10, "requestsPerSecond": 10 }),
        &w.a.api_key,
    )
}

fn keys_create(w: &World, _role: Role) -> Call {
    post(
        "/zcred/v1/admin/keys/create",
        json!({ "plan": "free" }),
        &w.a.api_key,
    )
}

/// One row: a route (`METHOD path`, as `/openapi.json` names it), a variant's name when the
/// route has more than one row, the status for each role, and the call. `sealed`: the call is
/// the plain route's, sent sealed to the route (an `/enc/` twin).
struct Row {
    route: &'static str,
    variant: &'static str,
    expect: [u16; 6],
    build: fn(&World, Role) -> Call,
    sealed: bool,
}

const fn row(route: &'static str, expect: [u16; 6], build: fn(&World, Role) -> Call) -> Row {
    Row {
        route,
        variant: "",
        expect,
        build,
        sealed: false,
    }
}

const fn sealed(route: &'static str, expect: [u16; 6], build: fn(&World, Role) -> Call) -> Row {
    Row {
        route,
        variant: "",
        expect,
        build,
        sealed: true,
    }
}

const MATRIX: &[Row] = &[
    row("GET /health", ANY_KEY, health),
    row("GET /livez", PUBLIC, livez),
    row("GET /readyz", PUBLIC, readyz),
    row("GET /metrics", ADMIN, metrics),
    row("GET /openapi.json", PUBLIC, openapi),
    row("GET /docs", PUBLIC, docs),
    row("GET /1.0/identifiers/{did}", PUBLIC, resolve),
    row("GET /getAccountMetaData", PUBLIC, context),
    row("GET /cred/v1/enc/keys", ANY_KEY, enc_keys),
    row("POST /cred/bbs/create", ANY_KEY, bbs_create),
    row("POST /cred/bbs/vc/sign", ANY_KEY, bbs_sign),
    row(
        "POST /zcred/v1/issuer/inception/create",
        OWN_OR_RELAYED,
        inception_create,
    ),
    row(
        "POST /zcred/v1/issuer/inception/submit",
        OWN_OR_RELAYED_BLOB,
        inception_submit,
    ),
    row(
        "POST /zcred/v1/issuer/delegation/create",
        OWN_OR_RELAYED,
        delegation_create,
    ),
    row(
        "POST /zcred/v1/issuer/delegation/submit",
        OWN_OR_RELAYED_BLOB,
        delegation_submit,
    ),
    row(
        "POST /zcred/v1/issuer/attributes/create",
        OWN_OR_RELAYED,
        attributes_create,
    ),
    row(
        "POST /zcred/v1/issuer/attributes/submit",
        OWN_OR_RELAYED_BLOB,
        attributes_submit,
    ),
    row(
        "POST /zcred/v1/issuer/rotation/create",
        OWN_OR_RELAYED,
        rotation_create,
    ),
    row(
        "POST /zcred/v1/issuer/rotation/submit",
        OWN_OR_RELAYED_BLOB,
        rotation_submit,
    ),
    row(
        "POST /zcred/v1/issuer/agent/rotation/create",
        ISSUER_ONLY,
        agent_rotation_create,
    ),
    row(
        "POST /zcred/v1/issuer/agent/rotation/submit",
        ISSUER_BLOB,
        agent_rotation_submit,
    ),
    row(
        "POST /cred/tds/template/blob/create",
        ISSUER_ONLY,
        template_blob_create,
    ),
    row(
        "POST /cred/tds/template/create",
        ISSUER_ONLY,
        template_create,
    ),
    row(
        "POST /cred/tds/template/submit",
        ISSUER_BLOB,
        template_submit,
    ),
    row("POST /cred/v1/vc/apply", ANY_KEY, apply),
    row("POST /cred/v1/vc/create", ISSUER_ONLY, vc_create),
    row("POST /cred/v1/vc/submit", ISSUER_ONLY, vc_submit),
    row(
        "POST /zcred/v1/vc/submit/batch",
        ISSUER_ONLY,
        vc_submit_batch,
    ),
    row("POST /cred/v1/vc/download", ANY_KEY, download),
    Row {
        route: "POST /cred/v1/vc/download",
        variant: "isIssuer",
        expect: ISSUER_ONLY,
        build: download_as_issuer,
        sealed: false,
    },
    row("POST /cred/v1/vc/revoke/create", ISSUER_ONLY, revoke_create),
    row("POST /cred/v1/vc/revoke/submit", ISSUER_BLOB, revoke_submit),
    row("POST /cred/v1/vp/challenge", ANY_KEY, vp_challenge),
    row("POST /cred/v1/vp/create", ANY_KEY, vp_create),
    row("POST /cred/v1/vp/submit", ANY_KEY, vp_submit),
    row("POST /cred/v1/vp/verify", ANY_KEY, vp_verify),
    sealed("POST /cred/v1/vc/enc/apply", ANY_KEY, apply),
    sealed("POST /cred/v1/vc/enc/create", ISSUER_ONLY, vc_create),
    sealed("POST /cred/v1/vc/enc/submit", ISSUER_ONLY, vc_submit),
    sealed("POST /cred/v1/vc/enc/download", ANY_KEY, download),
    sealed("POST /cred/v1/vp/enc/create", ANY_KEY, vp_create),
    sealed("POST /cred/v1/vp/enc/submit", ANY_KEY, vp_submit),
    sealed("POST /cred/v1/vp/enc/verify", ANY_KEY, vp_verify),
    row("POST /zcred/v1/admin/enc/rotate", ADMIN, enc_rotate),
    row(
        "POST /zcred/v1/admin/issuers/approve",
        ADMIN,
        issuers_approve,
    ),
    row("POST /zcred/v1/admin/sweep", ADMIN, sweep),
    row("POST /zcred/v1/admin/plans/set", ADMIN, plans_set),
    row("POST /zcred/v1/admin/keys/create", ADMIN, keys_create),
];

/// The callers that may relay an issuer's onboarding (the DID's signatures are the authority).
const RELAYERS: &[Role] = &[Role::Integrator, Role::Issuer];
/// Every caller with an API key.
const KEYS: &[Role] = &[Role::OtherIssuer, Role::Integrator, Role::Issuer];

/// The body of a submit: a blob made at `create` with `body` (by `role`'s key when it may make
/// one, else by `owner`, see [`World::maker`]), signed by `signer`.
fn submit_of(
    w: &World,
    role: Role,
    may: &[Role],
    owner: &str,
    create: &str,
    body: &Value,
    signer: &SigningKey,
) -> Value {
    let blob = accepted(&w.server, &w.maker(role, may, owner), create, body);
    signers(&blob, signer)
}

impl World {
    /// The key that makes the blob a submit then sends: `role`'s own when it may make one
    /// (`may`), else `owner`'s. Blobs belong to the key that made them (api.md §1.5), so a
    /// caller sent another key's blob is told it does not exist (404), whoever it is.
    fn maker(&self, role: Role, may: &[Role], owner: &str) -> String {
        match self.key(role, owner) {
            Some(key) if may.contains(&role) => key,
            _ => owner.to_owned(),
        }
    }

    /// The key `role` calls with, when the call is about the issuer whose key is `issuer_key`.
    fn key(&self, role: Role, issuer_key: &str) -> Option<String> {
        match role {
            Role::NoKey => None,
            Role::UnknownKey => Some(UNKNOWN_KEY.to_owned()),
            Role::AdminToken => Some(self.admin.clone()),
            Role::OtherIssuer => Some(self.b.api_key.clone()),
            Role::Integrator => Some(self.si.clone()),
            Role::Issuer => Some(issuer_key.to_owned()),
        }
    }

    /// Sends `call` as `role`: to `sealed_to` (an `/enc/` twin) sealed, or as it is.
    fn send(&self, role: Role, call: &Call, sealed_to: Option<&str>) -> (u16, Value) {
        let key = self.key(role, &call.issuer_key);
        match sealed_to {
            Some(path) => self
                .server
                .post_sealed_by(path, &self.si, key.as_deref(), &call.body),
            None if call.method == "GET" => {
                self.server.call("GET", &call.path, key.as_deref(), b"")
            }
            None => self.server.call(
                "POST",
                &call.path,
                key.as_deref(),
                call.body.to_string().as_bytes(),
            ),
        }
    }
}

/// The matrix on SQLite, with the server's output captured for the secrets check.
#[test]
fn authorization_matrix_on_sqlite() {
    let dir = scratch("authz");
    let data = dir.display().to_string();
    let si = api_key(&["--data-dir", &data]);
    let token_file = scratch("authz-token");
    let admin = format!("admin-token-{}", random_hex(16));
    std::fs::write(&token_file, &admin).unwrap();
    let token = token_file.display().to_string();
    let log = scratch("authz-log");
    let server = Server::start_logged(
        &[
            "--data-dir",
            &data,
            "--admin-token-file",
            &token,
            "--allow-server-side-signing",
        ],
        &log,
    );
    let mut a = onboard(&server, &si, &admin);
    let mut b = onboard(&server, &si, &admin);
    for issuer in [&mut a, &mut b] {
        approve(&server, &admin, &issuer.did);
        let key = accepted(
            &server,
            &admin,
            "/zcred/v1/admin/keys/create",
            &json!({ "plan": "unlimited", "issuer": issuer.did }),
        );
        issuer.api_key = key["apiKey"].as_str().unwrap().to_owned();
    }
    let template = register(&server, &a, "MatrixLicence");
    let w = World {
        server,
        si: si.clone(),
        admin: admin.clone(),
        template,
        count: Cell::new(0),
        secrets: RefCell::new(vec![si, admin]),
        private: RefCell::new(Vec::new()),
        a,
        b,
    };
    for issuer in [&w.a, &w.b] {
        w.secret(issuer.api_key.clone());
        w.secret(issuer.key.to_zetrix().to_string());
        w.secret(issuer.next.to_zetrix().to_string());
        w.secret(issuer.bbs.secret().to_multibase().to_string());
    }

    // Every route has a row, and every row a route; every status a row expects is documented.
    let (status, doc) = w.server.call("GET", "/openapi.json", None, b"");
    assert_eq!(status, 200);
    let mut documented = Vec::new();
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let route = format!("{} {path}", method.to_ascii_uppercase());
            let statuses: Vec<u16> = operation["responses"]
                .as_object()
                .unwrap()
                .keys()
                .map(|s| s.parse().unwrap())
                .collect();
            documented.push((route, statuses));
        }
    }
    let missing: Vec<&str> = documented
        .iter()
        .map(|(route, _)| route.as_str())
        .filter(|route| !MATRIX.iter().any(|row| row.route == *route))
        .collect();
    assert!(
        missing.is_empty(),
        "routes of /openapi.json without a row in the authorization matrix: {missing:?}"
    );
    for row in MATRIX {
        let (_, statuses) = documented
            .iter()
            .find(|(route, _)| route == row.route)
            .unwrap_or_else(|| panic!("{} has a row but is not in /openapi.json", row.route));
        for status in row.expect {
            assert!(
                statuses.contains(&status),
                "{} {}: {status} is not documented ({statuses:?})",
                row.route,
                row.variant
            );
        }
    }

    // Every row, every role.
    let mut wrong = Vec::new();
    for row in MATRIX {
        let (_, path) = row.route.split_once(' ').unwrap();
        for (role, expected) in ROLES.iter().zip(row.expect) {
            let call = (row.build)(&w, *role);
            let (status, answer) = w.send(*role, &call, row.sealed.then_some(path));
            if status != expected {
                wrong.push(format!(
                    "{} {} as {role:?}: {status}, not {expected}: {answer}",
                    row.route, row.variant
                ));
            }
            let text = answer.to_string();
            for secret in w.secrets.borrow().iter() {
                assert!(
                    !text.contains(secret.as_str()),
                    "{} as {role:?}: the answer holds a secret that was sent: {text}",
                    row.route
                );
            }
            if call.path == "/zcred/v1/admin/keys/create" && status == 200 {
                w.private(answer["object"]["apiKey"].as_str().unwrap());
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the authorization matrix does not hold:\n{}",
        wrong.join("\n")
    );

    markers_never_logged(&w);

    // Nothing that was sent as a secret, and no holder's value, reached the server's output.
    let server = w.server;
    drop(server);
    let written = std::fs::read_to_string(&log).unwrap();
    assert!(
        written.contains("/cred/v1/vc/enc/download"),
        "the log holds the request lines"
    );
    for secret in w.secrets.borrow().iter().chain(w.private.borrow().iter()) {
        assert!(
            !written.contains(secret.as_str()),
            "a secret or a holder's value is in the server's output"
        );
    }
    assert!(
        !written.contains(MARKER),
        "a request body's value is in the server's output"
    );
    let _ = std::fs::remove_file(&log);
    let _ = std::fs::remove_dir_all(&dir);
}

/// What the marker bodies are made of.
const MARKER: &str = "Marker-Value-";

/// The members that carry a secret: their values may not come back in an error message.
const SECRET_MEMBERS: &[&str] = &["issuerPrivateKey", "seed", "privateKeyMultibase"];

/// Each POST route (with the issuer's key, or the admin token), sent a body whose every
/// documented member holds a marker of its type (a string, a list of one, an object holding
/// one): no 5xx, and no error message repeats a secret member's value. (The log is checked for
/// the markers by the caller.)
fn markers_never_logged(w: &World) {
    for route in ROUTES
        .iter()
        .filter(|r| r.method == "POST" && r.twin.is_none())
    {
        let mut body = serde_json::Map::new();
        for field in route.body {
            let marker = format!("{MARKER}{}", field.name);
            let value = match field.kind {
                Kind::Str => json!(marker),
                Kind::Int => json!(7),
                Kind::Bool => json!(true),
                Kind::Obj | Kind::Values => json!({ "key": marker }),
                Kind::Objects => json!([{ "key": marker }]),
                Kind::Strings => json!([marker]),
            };
            body.insert(field.name.to_owned(), value);
        }
        let key = match route.access {
            zcred_server::routes::Access::Admin => &w.admin,
            _ => &w.a.api_key,
        };
        let (status, answer) = w.server.call(
            "POST",
            route.path,
            Some(key),
            Value::Object(body).to_string().as_bytes(),
        );
        assert!(
            status < 500,
            "{} with markers: {status} {answer}",
            route.path
        );
        for name in SECRET_MEMBERS {
            let marker = format!("{MARKER}{name}");
            assert!(
                !answer.to_string().contains(&marker),
                "{}: the answer repeats the value of {name}: {answer}",
                route.path
            );
        }
    }
}
