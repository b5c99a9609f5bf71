//! Client commands that drive a running server through the whole flow (issue 4 item 8):
//! `issuer onboard | issue | rotate | revoke`, `template create`, `holder apply | download`.
//!
//! Keys live in a local key file (JSON, mode 0600, rewritten atomically):
//! `{"issuer": {"did", "privateKey", "nextPrivateKey", "bbsPrivateKey"}, "holder": {"privateKey"}}`
//! (`pendingNextPrivateKey` while a rotation is under way).
//! Every signature is made here; the server never sees a private key. Plain `http://` only
//! (run the service behind a TLS proxy for anything but loopback).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use clap::{Args, Subcommand};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::{json, Map, Value};
use zcred_crypto::enc::ServerPublicKey;
use zcred_crypto::zetrix::{SigningKey, VerifyingKey};
use zcred_crypto::{bbs, multibase, OsRng};
use zcred_model::Did;
use zeroize::Zeroizing;

use crate::{bad, runtime, Failure, Output};

/// Where the server is and which API key to call it with.
#[derive(Args, Clone)]
pub struct Connection {
    /// The server's base URL (`http://host:port`).
    #[arg(long, env = "ZCRED_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// The API key (`zk_…`).
    #[arg(long, env = "ZCRED_API_KEY")]
    api_key: String,
    /// The local key file (created with mode 0600 when missing).
    #[arg(long, env = "ZCRED_KEYS", default_value = "zcred-keys.json")]
    keys: PathBuf,
    /// Call the end-to-end encrypted `/enc/` twin of every endpoint that has one (api.md §6,
    /// zcred-enc-v1); the others have no twin and are called as they are.
    #[arg(long, env = "ZCRED_ENCRYPTED")]
    encrypted: bool,
    /// The server's `/enc/` keys, fetched once per command.
    #[arg(skip)]
    enc_key: Arc<OnceLock<ServerPublicKey>>,
    /// Idle HTTP/1.1 connections to the server, kept alive for the next call.
    #[arg(skip)]
    idle: Arc<Mutex<Vec<Sender>>>,
}

/// One HTTP/1.1 connection's request side.
type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// The most idle connections a [`Connection`] keeps.
const MAX_IDLE: usize = 32;

impl Connection {
    /// A connection to `server` (`http://host:port`) with `api_key` and the key file `keys`.
    pub(crate) fn new(server: &str, api_key: &str, keys: &Path, encrypted: bool) -> Connection {
        Connection {
            server: server.to_owned(),
            api_key: api_key.to_owned(),
            keys: keys.to_owned(),
            encrypted,
            enc_key: Arc::default(),
            idle: Arc::default(),
        }
    }

    /// The API key it calls with.
    pub(crate) fn api_key(&self) -> &str {
        &self.api_key
    }
}

/// `zcred issuer …`.
#[derive(Subcommand)]
pub enum IssuerCommand {
    /// Register the key file's issuer: KEL inception, delegation of the service's anchoring
    /// agent, and its BBS+ key as a DID attribute (each signed here). Makes the issuer keys
    /// in the key file when it has none. Prints {"did", "agent", "registry", "status"}.
    Onboard {
        #[command(flatten)]
        conn: Connection,
    },
    /// Approve an application: create the credential, sign it here (Ed25519 and BBS+), submit.
    /// Prints {"vc", "downloadExpiryDate"}.
    Issue {
        /// The vcId from `holder apply`.
        vc_id: String,
        /// Issuance date (YYYY-MM-DD or RFC 3339; default today).
        #[arg(long)]
        issuance_date: Option<String>,
        /// Expiration date.
        #[arg(long)]
        expiration_date: Option<String>,
        /// The issuer's values: a JSON array `[{"templateId", "metadata": {…}}]`.
        #[arg(long)]
        data: Option<String>,
        #[command(flatten)]
        conn: Connection,
    },
    /// Rotate the issuer's key: the key file's next key becomes current and a fresh next key is
    /// committed to (the rotation is signed here with the new key). With `--agent`, rotate the
    /// service's anchoring agent instead (its keys never leave the server; the issuer signs the
    /// approval here). Prints {"did", "sn", "txHash", …}.
    Rotate {
        /// Rotate the service's anchoring agent for this issuer, not the issuer's own key.
        #[arg(long)]
        agent: bool,
        #[command(flatten)]
        conn: Connection,
    },
    /// Revoke an issued credential (revoke blob signed here). Prints {"txHash","vcId","status"}.
    Revoke {
        /// The vcId.
        vc_id: String,
        /// The reason.
        #[arg(long)]
        remark: Option<String>,
        #[command(flatten)]
        conn: Connection,
    },
}

/// `zcred template …`.
#[derive(Subcommand)]
pub enum TemplateCommand {
    /// Register a template (api.md §7.1 + §7.3, signed here). `issuerZid` is filled in from
    /// the key file. Prints {"templateId", "txHash"}.
    Create {
        /// The template definition (JSON: templateName, credentialFormat, version, remark).
        file: PathBuf,
        #[command(flatten)]
        conn: Connection,
    },
}

/// `zcred holder …`.
#[derive(Subcommand)]
pub enum HolderCommand {
    /// Apply for a credential (signData made here with the key file's holder key, which is
    /// made when missing). Prints {"vcId", "status"}.
    Apply {
        /// The template.
        #[arg(long)]
        template: String,
        /// The holder's values, a JSON object.
        #[arg(long)]
        data: String,
        #[command(flatten)]
        conn: Connection,
    },
    /// Download an issued credential (signVcId made here). Prints the VC.
    Download {
        /// The vcId.
        vc_id: String,
        #[command(flatten)]
        conn: Connection,
    },
}

/// The key file.
struct KeyFile {
    path: PathBuf,
    doc: Map<String, Value>,
}

impl KeyFile {
    fn open(path: &Path) -> Result<KeyFile, Failure> {
        let doc = match std::fs::read(path) {
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(Value::Object(doc)) => doc,
                _ => return Err(bad(format!("{}: not a zcred key file", path.display()))),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Map::new(),
            Err(e) => return Err(bad(format!("{}: {e}", path.display()))),
        };
        Ok(KeyFile {
            path: path.to_owned(),
            doc,
        })
    }

    fn get(&self, role: &str, name: &str) -> Option<Zeroizing<String>> {
        self.doc
            .get(role)?
            .get(name)?
            .as_str()
            .map(|s| Zeroizing::new(s.to_owned()))
    }

    fn signing_key(&self, role: &str, name: &str) -> Result<SigningKey, Failure> {
        let text = self.get(role, name).ok_or_else(|| {
            bad(format!(
                "{} has no {role} key; run `zcred {} first`",
                self.path.display(),
                if role == "issuer" {
                    "issuer onboard"
                } else {
                    "holder apply"
                }
            ))
        })?;
        SigningKey::from_zetrix(&text)
            .map_err(|e| bad(format!("{}: {role}.{name}: {e}", self.path.display())))
    }

    /// Adds `role` with fresh keys and writes the file (mode 0600) when the role is missing.
    fn ensure(&mut self, role: &str) -> Result<(), Failure> {
        if self.doc.contains_key(role) {
            return Ok(());
        }
        let new = || Zeroizing::new(SigningKey::generate(&mut OsRng).to_zetrix().to_string());
        let mut keys = Map::new();
        keys.insert("privateKey".into(), json!(*new()));
        if role == "issuer" {
            keys.insert("nextPrivateKey".into(), json!(*new()));
            let bbs_key = bbs::SecretKey::generate(&mut OsRng);
            keys.insert("bbsPrivateKey".into(), json!(*bbs_key.to_multibase()));
        }
        self.doc.insert(role.into(), Value::Object(keys));
        self.save()
    }

    /// Sets `role.name` and writes the file.
    fn set(&mut self, role: &str, name: &str, value: &str) -> Result<(), Failure> {
        let Some(Value::Object(keys)) = self.doc.get_mut(role) else {
            return Err(bad(format!("{} has no {role}", self.path.display())));
        };
        keys.insert(name.into(), json!(value));
        self.save()
    }

    /// Removes `role.name` and writes the file.
    fn remove(&mut self, role: &str, name: &str) -> Result<(), Failure> {
        if let Some(Value::Object(keys)) = self.doc.get_mut(role) {
            keys.remove(name);
        }
        self.save()
    }

    fn save(&self) -> Result<(), Failure> {
        let text = Zeroizing::new(
            serde_json::to_string_pretty(&self.doc).map_err(|e| bad(format!("key file: {e}")))?,
        );
        let tmp = self.path.with_extension("tmp");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let _ = std::fs::remove_file(&tmp);
        let mut file = options
            .open(&tmp)
            .map_err(|e| bad(format!("{}: {e}", tmp.display())))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| bad(format!("{}: {e}", tmp.display())))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| bad(format!("{}: {e}", self.path.display())))
    }
}

/// One call: POST (or GET when `body` is `None`) to the server; returns `object`, or fails
/// with the server's first message. With `--encrypted`, a POST to an endpoint that has an
/// `/enc/` twin goes to the twin, sealed (zcred-enc-v1), and its answer is opened.
pub(crate) async fn call(
    conn: &Connection,
    path: &str,
    body: Option<&Value>,
) -> Result<Value, Failure> {
    let twin = conn
        .encrypted
        .then(|| {
            zcred_server::routes::ROUTES
                .iter()
                .find(|r| r.twin == Some(path))
        })
        .flatten();
    let (Some(twin), Some(body)) = (twin, body) else {
        let plain = body.map(|b| b.to_string()).unwrap_or_default();
        let (status, answer) = send(conn, path, body.map(|_| plain.as_str()), &[]).await?;
        return object_of(path, status, &answer);
    };
    let key = server_key(conn).await?;
    let now = u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| bad("the clock is before 1970"))?;
    let plain = Zeroizing::new(body.to_string());
    let (sealed, channel) = key
        .seal_request(twin.path, plain.as_bytes(), now)
        .map_err(|e| bad(format!("sealing the request to {}: {e}", twin.path)))?;
    let headers = [
        (zcred_crypto::enc::KEY_ID_HEADER, sealed.key_id.as_str()),
        (
            zcred_crypto::enc::SECRET_KEY_HEADER,
            sealed.secret_key.as_str(),
        ),
    ];
    let (status, answer) = send(conn, twin.path, Some(&sealed.body), &headers).await?;
    if !status.is_success() {
        // Errors come in the clear (encryption.md "Response").
        return object_of(twin.path, status, &answer);
    }
    let text = std::str::from_utf8(&answer)
        .map_err(|_| bad(format!("{}: the encrypted answer is not text", twin.path)))?;
    let opened = channel.open(text).map_err(|e| {
        bad(format!(
            "{}: the encrypted answer does not open: {e}",
            twin.path
        ))
    })?;
    object_of(twin.path, status, &opened)
}

/// The server's `/enc/` public keys (`GET /cred/v1/enc/keys`), fetched once.
async fn server_key(conn: &Connection) -> Result<ServerPublicKey, Failure> {
    if let Some(key) = conn.enc_key.get() {
        return Ok(key.clone());
    }
    let path = "/cred/v1/enc/keys";
    let (status, answer) = send(conn, path, None, &[]).await?;
    let keys = object_of(path, status, &answer)?;
    let text = |name: &str| keys[name].as_str().unwrap_or_default().to_owned();
    let key = ServerPublicKey::from_parts(
        &text("keyId"),
        &text("rsaPublicKey"),
        &text("x25519PublicKey"),
    )
    .map_err(|e| bad(format!("{path}: {e}")))?;
    Ok(conn.enc_key.get_or_init(|| key).clone())
}

/// `object` of an answer in the envelope, or the failure its first message names.
fn object_of(path: &str, status: hyper::StatusCode, answer: &[u8]) -> Result<Value, Failure> {
    let json: Value = serde_json::from_slice(answer)
        .map_err(|_| bad(format!("{path}: HTTP {status} without a JSON body")))?;
    if !status.is_success() {
        let m = &json["messages"][0];
        return Err(Failure {
            message: format!(
                "{path}: HTTP {} {}: {}",
                status.as_u16(),
                m["code"].as_str().unwrap_or(""),
                m["message"].as_str().unwrap_or("")
            ),
            code: 1,
        });
    }
    Ok(json["object"].clone())
}

/// One HTTP/1.1 exchange: POST `body` (JSON, or the envelope's text when `headers` are
/// given) or GET when `body` is `None`. Returns the status and the body's bytes.
async fn send(
    conn: &Connection,
    path: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> Result<(hyper::StatusCode, Bytes), Failure> {
    let authority = conn
        .server
        .strip_prefix("http://")
        .ok_or_else(|| bad("--server must be an http:// URL (use a TLS proxy for https)"))?
        .trim_end_matches('/');
    let mut sender = sender(conn, authority).await?;
    let mut request = hyper::Request::builder()
        .method(if body.is_some() { "POST" } else { "GET" })
        .uri(path)
        .header("host", authority)
        .header("authorization", format!("Bearer {}", conn.api_key))
        .header(
            "content-type",
            if headers.is_empty() {
                "application/json"
            } else {
                "text/plain"
            },
        );
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(Bytes::from(body.unwrap_or_default().to_owned())))
        .map_err(|e| bad(format!("request: {e}")))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| bad(format!("calling {path}: {e}")))?;
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| bad(format!("reading the answer of {path}: {e}")))?
        .to_bytes();
    // The answer was read whole: the connection can carry the next call.
    if let Ok(mut idle) = conn.idle.lock() {
        if idle.len() < MAX_IDLE {
            idle.push(sender);
        }
    }
    Ok((status, bytes))
}

/// An idle connection to the server that is still open, or a new one.
async fn sender(conn: &Connection, authority: &str) -> Result<Sender, Failure> {
    loop {
        let Some(mut reused) = conn.idle.lock().ok().and_then(|mut idle| idle.pop()) else {
            break;
        };
        if !reused.is_closed() && reused.ready().await.is_ok() {
            return Ok(reused);
        }
    }
    let stream = tokio::net::TcpStream::connect(authority)
        .await
        .map_err(|e| bad(format!("connecting to {}: {e}", conn.server)))?;
    // Requests are small and answered at once: send them without Nagle's delay.
    let _ = stream.set_nodelay(true);
    let (sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| bad(format!("HTTP with {}: {e}", conn.server)))?;
    tokio::spawn(connection);
    Ok(sender)
}

/// Hex-decodes a blob, signs it and submits `{blobId, signerList}` to `submit`.
async fn sign_blob(
    conn: &Connection,
    key: &SigningKey,
    created: &Value,
    submit: &str,
) -> Result<Value, Failure> {
    let blob = hex::decode(created["blob"].as_str().unwrap_or_default())
        .map_err(|_| bad("the server sent a blob that is not hex"))?;
    let signature = key.sign(&blob);
    call(
        conn,
        submit,
        Some(&json!({
            "blobId": created["blobId"],
            "signerList": [{ "signBlob": signature.to_hex(), "publicKey": key.verifying_key().to_zetrix() }],
        })),
    )
    .await
}

fn did_of(key: &SigningKey) -> String {
    Did::of_key(&key.verifying_key()).to_string()
}

/// The issuer's DID: the one the key file recorded at onboarding (it stays after a rotation),
/// or that of its first key.
fn issuer_did(file: &KeyFile) -> Result<String, Failure> {
    match file.get("issuer", "did") {
        Some(did) => Ok(did.to_string()),
        None => Ok(did_of(&file.signing_key("issuer", "privateKey")?)),
    }
}

async fn rotate(conn: &Connection, agent: bool) -> Result<Value, Failure> {
    let mut file = KeyFile::open(&conn.keys)?;
    let did = issuer_did(&file)?;
    let key = file.signing_key("issuer", "privateKey")?;
    if agent {
        let created = call(
            conn,
            "/zcred/v1/issuer/agent/rotation/create",
            Some(&json!({ "did": did })),
        )
        .await?;
        return sign_blob(
            conn,
            &key,
            &created,
            "/zcred/v1/issuer/agent/rotation/submit",
        )
        .await;
    }
    file.set("issuer", "did", &did)?;
    let next = file.signing_key("issuer", "nextPrivateKey")?;
    // The fresh next key is written to the key file before the rotation is sent, so that a
    // rotation that lands while this process dies is finished by running the command again.
    if file.get("issuer", "pendingNextPrivateKey").is_none() {
        let fresh = SigningKey::generate(&mut OsRng);
        file.set("issuer", "pendingNextPrivateKey", &fresh.to_zetrix())?;
    }
    let pending = file.signing_key("issuer", "pendingNextPrivateKey")?;
    let document = call(conn, &format!("/1.0/identifiers/{did}"), None).await?;
    let landed = document
        .to_string()
        .contains(&next.verifying_key().to_multibase());
    let answer = if landed {
        json!({ "did": did, "publicKey": next.verifying_key().to_zetrix(), "finished": true })
    } else {
        let created = call(
            conn,
            "/zcred/v1/issuer/rotation/create",
            Some(&json!({
                "did": did,
                "publicKey": next.verifying_key().to_zetrix(),
                "nextPublicKey": pending.verifying_key().to_zetrix(),
            })),
        )
        .await?;
        sign_blob(conn, &next, &created, "/zcred/v1/issuer/rotation/submit").await?
    };
    file.set("issuer", "privateKey", &next.to_zetrix())?;
    file.set("issuer", "nextPrivateKey", &pending.to_zetrix())?;
    file.remove("issuer", "pendingNextPrivateKey")?;
    Ok(answer)
}

pub(crate) async fn onboard(conn: &Connection) -> Result<Value, Failure> {
    let mut file = KeyFile::open(&conn.keys)?;
    file.ensure("issuer")?;
    let key = file.signing_key("issuer", "privateKey")?;
    let next = file.signing_key("issuer", "nextPrivateKey")?;
    let did = issuer_did(&file)?;
    file.set("issuer", "did", &did)?;
    if resolve(conn, &did).await?.is_none() {
        let created = call(
            conn,
            "/zcred/v1/issuer/inception/create",
            Some(&json!({
                "publicKey": key.verifying_key().to_zetrix(),
                "nextPublicKey": next.verifying_key().to_zetrix(),
            })),
        )
        .await?;
        sign_blob(conn, &key, &created, "/zcred/v1/issuer/inception/submit").await?;
    }
    let delegated = match call(
        conn,
        "/zcred/v1/issuer/delegation/create",
        Some(&json!({ "did": did })),
    )
    .await
    {
        Ok(created) => {
            Some(sign_blob(conn, &key, &created, "/zcred/v1/issuer/delegation/submit").await?)
        }
        Err(e) if e.message.contains("has delegated its agent") => None,
        Err(e) => return Err(e),
    };
    let bbs_text = file
        .get("issuer", "bbsPrivateKey")
        .ok_or_else(|| bad("the key file's issuer has no bbsPrivateKey"))?;
    let bbs_key = bbs::SecretKey::from_multibase(&bbs_text)
        .map_err(|e| bad(format!("bbsPrivateKey: {e}")))?;
    let bbs_public = bbs_key.public_key().to_multibase();
    // The DID document (a Universal Resolver answer, not the API's envelope) lists the key
    // when an earlier run anchored it: anchoring it again would only move its window.
    let document = resolve(conn, &did)
        .await?
        .ok_or_else(|| bad(format!("{did} does not resolve after its inception")))?;
    let listed = document["verificationMethod"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|m| m["publicKeyMultibase"] == bbs_public.as_str());
    if !listed {
        let created = call(
            conn,
            "/zcred/v1/issuer/attributes/create",
            Some(&json!({ "did": did, "bbsPublicKey": bbs_public })),
        )
        .await?;
        sign_blob(conn, &key, &created, "/zcred/v1/issuer/attributes/submit").await?;
    }
    Ok(json!({
        "did": did,
        "publicKey": key.verifying_key().to_zetrix(),
        "bbsPublicKey": bbs_public,
        "agent": delegated.as_ref().map(|d| d["agent"].clone()),
        "registry": delegated.as_ref().map(|d| d["registry"].clone()),
        "status": delegated.as_ref().map_or(json!("REGISTERED"), |d| d["status"].clone()),
        "keys": conn.keys,
    }))
}

/// The DID document of `did` from the server's resolver (`GET /1.0/identifiers/{did}`, the
/// Universal Resolver's answer), `None` when the server does not know it.
async fn resolve(conn: &Connection, did: &str) -> Result<Option<Value>, Failure> {
    let path = format!("/1.0/identifiers/{did}");
    let (status, answer) = send(conn, &path, None, &[]).await?;
    if status == hyper::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    let json: Value = serde_json::from_slice(&answer)
        .map_err(|_| bad(format!("{path}: HTTP {status} without a JSON body")))?;
    if !status.is_success() {
        return Err(bad(format!(
            "{path}: HTTP {}: {}",
            status.as_u16(),
            json["didResolutionMetadata"]["error"]
        )));
    }
    Ok(Some(json["didDocument"].clone()))
}

pub(crate) async fn template_create(conn: &Connection, file: &Path) -> Result<Value, Failure> {
    let keys = KeyFile::open(&conn.keys)?;
    let key = keys.signing_key("issuer", "privateKey")?;
    let text = std::fs::read(file).map_err(|e| bad(format!("{}: {e}", file.display())))?;
    let Ok(Value::Object(mut template)) = serde_json::from_slice::<Value>(&text) else {
        return Err(bad(format!("{}: not a JSON object", file.display())));
    };
    template.insert("issuerZid".into(), json!(issuer_did(&keys)?));
    let created = call(
        conn,
        "/cred/tds/template/blob/create",
        Some(&Value::Object(template)),
    )
    .await?;
    sign_blob(conn, &key, &created, "/cred/tds/template/submit").await
}

fn json_arg(text: &str, what: &str) -> Result<Value, Failure> {
    serde_json::from_str(text).map_err(|e| bad(format!("--{what}: not JSON: {e}")))
}

pub(crate) async fn apply(conn: &Connection, template: &str, data: &str) -> Result<Value, Failure> {
    let mut file = KeyFile::open(&conn.keys)?;
    file.ensure("holder")?;
    let key = file.signing_key("holder", "privateKey")?;
    let data = json!([{ "templateId": template, "metadata": json_arg(data, "data")? }]);
    apply_as(conn, &key, data).await
}

/// 8.1 for `holder` with the `data` array, `signData` made here (api.md OP-4: over the
/// canonical JSON of `data`).
pub(crate) async fn apply_as(
    conn: &Connection,
    holder: &SigningKey,
    data: Value,
) -> Result<Value, Failure> {
    let signature = holder.sign(zcred_model::canonical::to_string(&data).as_bytes());
    call(
        conn,
        "/cred/v1/vc/apply",
        Some(&json!({
            "data": data,
            "signData": signature.to_hex(),
            "publicKey": holder.verifying_key().to_zetrix(),
        })),
    )
    .await
}

pub(crate) async fn issue(
    conn: &Connection,
    vc_id: &str,
    issuance: Option<&str>,
    expiration: Option<&str>,
    data: Option<&str>,
) -> Result<Value, Failure> {
    let (key, pair) = issuer_keys(conn)?;
    let today = zcred_model::time::format_seconds(time::OffsetDateTime::now_utc());
    let mut request = json!({
        "vcId": vc_id,
        "issuanceDate": issuance.map_or(today, str::to_owned),
    });
    if let Some(e) = expiration {
        request["expirationDate"] = json!(e);
    }
    if let Some(d) = data {
        request["data"] = json_arg(d, "data")?;
    }
    issue_with(conn, &key, &pair, &request).await
}

/// The holder's Ed25519 key from the key file.
pub(crate) fn holder_key(conn: &Connection) -> Result<SigningKey, Failure> {
    KeyFile::open(&conn.keys)?.signing_key("holder", "privateKey")
}

/// The issuer's Ed25519 and BBS+ keys from the key file.
pub(crate) fn issuer_keys(conn: &Connection) -> Result<(SigningKey, bbs::KeyPair), Failure> {
    let keys = KeyFile::open(&conn.keys)?;
    let key = keys.signing_key("issuer", "privateKey")?;
    let bbs_text = keys
        .get("issuer", "bbsPrivateKey")
        .ok_or_else(|| bad("the key file's issuer has no bbsPrivateKey"))?;
    let pair = bbs::KeyPair::new(
        bbs::SecretKey::from_multibase(&bbs_text)
            .map_err(|e| bad(format!("bbsPrivateKey: {e}")))?,
    );
    Ok((key, pair))
}

/// 8.2 with `request`, both signatures made here, 8.3.
pub(crate) async fn issue_with(
    conn: &Connection,
    key: &SigningKey,
    pair: &bbs::KeyPair,
    request: &Value,
) -> Result<Value, Failure> {
    let vc_id = request["vcId"].as_str().unwrap_or_default();
    let created = call(conn, "/cred/v1/vc/create", Some(request)).await?;
    let input = hex::decode(created["ed25519Blob"].as_str().unwrap_or_default())
        .map_err(|_| bad("the server sent an ed25519Blob that is not hex"))?;
    let messages = created["bbsBlsBase64"]
        .as_array()
        .ok_or_else(|| bad("the server sent no bbsBlsBase64"))?
        .iter()
        .map(|m| multibase::from_base64(m.as_str().unwrap_or_default()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| bad("the server sent a message that is not base64"))?;
    let mut messages = bbs::Message::hash_all(&messages);
    // Range-provable attributes (api.md OP-11): their integer messages follow, as scalars.
    if let Some(scalars) = created.get("bbsBlsScalars").and_then(Value::as_array) {
        for s in scalars {
            let scalar = s
                .as_str()
                .and_then(|t| bbs::Message::from_scalar_hex(t).ok())
                .ok_or_else(|| bad("the server sent a bbsBlsScalars entry that is not a scalar"))?;
            messages.push(scalar);
        }
    }
    let bbs_signature = pair
        .sign_messages(&messages, &mut OsRng)
        .map_err(|e| bad(format!("BBS+ signing: {e}")))?;
    call(
        conn,
        "/cred/v1/vc/submit",
        Some(&json!({
            "vcId": vc_id,
            "ed25519PubKey": key.verifying_key().to_zetrix(),
            "ed25519SignData": key.sign(&input).to_hex(),
            "bbsBlsPubKey": pair.public().to_multibase(),
            "bbsBlsSignData": bbs_signature.to_multibase(),
        })),
    )
    .await
}

pub(crate) async fn download(conn: &Connection, vc_id: &str) -> Result<Value, Failure> {
    let keys = KeyFile::open(&conn.keys)?;
    let key = keys.signing_key("holder", "privateKey")?;
    call(
        conn,
        "/cred/v1/vc/download",
        Some(&json!({ "vcId": vc_id, "signVcId": key.sign(vc_id.as_bytes()).to_hex(), "isIssuer": false })),
    )
    .await
}

async fn revoke(conn: &Connection, vc_id: &str, remark: Option<&str>) -> Result<Value, Failure> {
    let keys = KeyFile::open(&conn.keys)?;
    let key = keys.signing_key("issuer", "privateKey")?;
    let address = VerifyingKey::address(&key.verifying_key()).to_string();
    let mut request = json!({ "vcId": vc_id, "issuerAddress": address });
    if let Some(r) = remark {
        request["remark"] = json!(r);
    }
    let created = call(conn, "/cred/v1/vc/revoke/create", Some(&request)).await?;
    sign_blob(conn, &key, &created, "/cred/v1/vc/revoke/submit").await
}

/// Runs an `issuer` command.
pub fn issuer(cmd: IssuerCommand) -> Result<Output, Failure> {
    let rt = runtime()?;
    rt.block_on(async {
        match cmd {
            IssuerCommand::Onboard { conn } => onboard(&conn).await,
            IssuerCommand::Issue {
                vc_id,
                issuance_date,
                expiration_date,
                data,
                conn,
            } => {
                issue(
                    &conn,
                    &vc_id,
                    issuance_date.as_deref(),
                    expiration_date.as_deref(),
                    data.as_deref(),
                )
                .await
            }
            IssuerCommand::Rotate { agent, conn } => rotate(&conn, agent).await,
            IssuerCommand::Revoke {
                vc_id,
                remark,
                conn,
            } => revoke(&conn, &vc_id, remark.as_deref()).await,
        }
    })
    .map(Output::from)
}

/// Runs a `template` command.
pub fn template(cmd: TemplateCommand) -> Result<Output, Failure> {
    let TemplateCommand::Create { file, conn } = cmd;
    runtime()?
        .block_on(template_create(&conn, &file))
        .map(Output::from)
}

/// Runs a `holder` command.
pub fn holder(cmd: HolderCommand) -> Result<Output, Failure> {
    runtime()?
        .block_on(async {
            match cmd {
                HolderCommand::Apply {
                    template,
                    data,
                    conn,
                } => apply(&conn, &template, &data).await,
                HolderCommand::Download { vc_id, conn } => download(&conn, &vc_id).await,
            }
        })
        .map(Output::from)
}
