//! The `/enc/` endpoints (api.md §6, encryption.md "zcred-enc-v1") against `zcred serve` on a
//! loopback port (SQLite): the published key (made once, kept across a restart), a sealed apply
//! opened by the client's channel, every refusal of the envelope with its status and message
//! (one generic message for every cryptographic failure, plain ones for missing headers and an
//! unknown key id), the check order (API key → envelope → JSON), errors in the clear, replay
//! (also across a restart), and key rotation with and without a grace period.
//!
//! One server (restarted once on the same data directory) serves every scenario; a failing
//! scenario is reported by name and the rest still run.

use std::collections::BTreeSet;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::time::Instant;

use serde_json::{json, Value};
use zcred_crypto::enc::{SealedRequest, ServerPublicKey};
use zcred_crypto::zetrix::SigningKey;
use zcred_crypto::{multibase, OsRng};

use crate::commands::{api_key, scratch};
use crate::lifecycle::{accepted, application, approve, onboard, signers, Issuer};
use crate::serve::{now_ms, Server};

const KEYS: &str = "/cred/v1/enc/keys";
const APPLY: &str = "/cred/v1/vc/apply";
const ENC_APPLY: &str = "/cred/v1/vc/enc/apply";
const ENC_DOWNLOAD: &str = "/cred/v1/vc/enc/download";
const ROTATE: &str = "/zcred/v1/admin/enc/rotate";
const ADMIN: &str = "the operator's token for the encrypted test";
/// The one message of every cryptographic failure (RSA, time window, HMAC, GCM).
const GENERIC: &str = "the encrypted request could not be opened";
const MINUTE_MS: u64 = 60 * 1000;

struct Fixture {
    server: Server,
    /// An API key bound to no issuer (the holder's app).
    si: String,
    /// The onboarded, approved issuer of `template`.
    _issuer: Issuer,
    /// A template with two USER attributes.
    template: String,
    /// A request sealed and accepted before the restart (replayed after it).
    accepted_before_restart: Option<SealedRequest>,
    data_dir: PathBuf,
    token_file: PathBuf,
}

impl Fixture {
    fn server_args(&self) -> Vec<String> {
        server_args(&self.data_dir, &self.token_file)
    }
}

fn server_args(data_dir: &std::path::Path, token_file: &std::path::Path) -> Vec<String> {
    vec![
        "--data-dir".into(),
        data_dir.display().to_string(),
        "--admin-token-file".into(),
        token_file.display().to_string(),
        "--enc-rsa-bits".into(),
        "2048".into(),
    ]
}

fn start(args: &[String]) -> Server {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::start(&args)
}

/// The key scenario runs first, before anything else makes the key on first use.
fn setup() -> (Fixture, Value) {
    let data_dir = scratch("encrypted");
    let token_file = scratch("encrypted-token");
    let data = data_dir.display().to_string();
    let si = api_key(&["--data-dir", &data]);
    std::fs::write(&token_file, ADMIN).unwrap();
    let server = start(&server_args(&data_dir, &token_file));

    // 1. The published key: API key required; made on first use, then the same one.
    let (status, head, body) = server.exchange("GET", KEYS, None, &[], b"");
    assert_eq!(status, 401, "{body}");
    assert_eq!(refusal(&head, &body).0, "UNAUTHENTICATED");
    let first = keys_object(&server, &si);

    let issuer = onboard(&server, &si, ADMIN);
    approve(&server, ADMIN, &issuer.did);
    let blob = accepted(
        &server,
        &issuer.api_key,
        "/cred/tds/template/blob/create",
        &json!({
            "templateName": "Library Card",
            "issuerZid": issuer.did,
            "credentialFormat": [
                {"attribute": "Name", "format": "STRING", "key": "name", "mandatory": true, "type": "USER"},
                {"attribute": "Points", "format": "NUMBER", "key": "points", "mandatory": true, "type": "USER"},
                {"attribute": "Class", "format": "STRING", "key": "class", "mandatory": true, "type": "FIXED"}
            ],
            "version": "1.0.0",
            "remark": "encrypted test",
        }),
    );
    let done = accepted(
        &server,
        &issuer.api_key,
        "/cred/tds/template/submit",
        &signers(&blob, &issuer.key),
    );
    let template = done["templateId"].as_str().unwrap().to_owned();
    (
        Fixture {
            server,
            si,
            _issuer: issuer,
            template,
            accepted_before_restart: None,
            data_dir,
            token_file,
        },
        first,
    )
}

/// `GET /cred/v1/enc/keys` with `key`: asserts the 200 shape, returns `object`.
#[track_caller]
fn keys_object(server: &Server, key: &str) -> Value {
    let (status, head, body) = server.exchange("GET", KEYS, Some(key), &[], b"");
    assert_eq!(status, 200, "{body}");
    assert!(head.contains("content-type: application/json"), "{head}");
    assert_eq!(body["messages"], json!([]), "{body}");
    let o = body["object"].clone();
    for member in ["rsaPublicKey", "x25519PublicKey", "keyId"] {
        assert!(
            o[member].as_str().is_some_and(|s| !s.is_empty()),
            "{member}: {o}"
        );
    }
    // A 2048-bit RSA SPKI DER is 294 bytes (the server was started with --enc-rsa-bits 2048).
    let spki = multibase::from_base64(o["rsaPublicKey"].as_str().unwrap()).unwrap();
    assert_eq!(spki.len(), 294, "{o}");
    let x = multibase::from_base64url(o["x25519PublicKey"].as_str().unwrap()).unwrap();
    assert_eq!(x.len(), 32, "{o}");
    o
}

/// The published key as the client uses it.
fn public_key(object: &Value) -> ServerPublicKey {
    ServerPublicKey::from_parts(
        object["keyId"].as_str().unwrap(),
        object["rsaPublicKey"].as_str().unwrap(),
        object["x25519PublicKey"].as_str().unwrap(),
    )
    .unwrap()
}

fn current_key(fx: &Fixture) -> ServerPublicKey {
    public_key(&keys_object(&fx.server, &fx.si))
}

/// A valid apply request from a fresh holder (never a duplicate).
fn apply_body(fx: &Fixture) -> Value {
    let holder = SigningKey::generate(&mut OsRng);
    application(
        &holder,
        json!([{ "templateId": fx.template, "metadata": { "name": "Siti", "points": "12" } }]),
    )
}

/// Sends a request with the given envelope headers and body; `key` is the API key.
fn send_raw(
    server: &Server,
    path: &str,
    key: Option<&str>,
    key_id: Option<&str>,
    secret_key: Option<&str>,
    body: &[u8],
) -> (u16, String, Value) {
    let mut headers = vec![("Content-Type", "text/plain")];
    if let Some(id) = key_id {
        headers.push(("keyId", id));
    }
    if let Some(secret) = secret_key {
        headers.push(("secretKey", secret));
    }
    server.exchange("POST", path, key, &headers, body)
}

fn send(
    server: &Server,
    path: &str,
    key: Option<&str>,
    sealed: &SealedRequest,
) -> (u16, String, Value) {
    send_raw(
        server,
        path,
        key,
        Some(&sealed.key_id),
        Some(&sealed.secret_key),
        sealed.body.as_bytes(),
    )
}

/// An error answer: in the clear, JSON, `object: null`, one message at least. Returns the
/// first message's code and text.
#[track_caller]
fn refusal(head: &str, body: &Value) -> (String, String) {
    assert!(head.contains("content-type: application/json"), "{head}");
    assert!(!head.contains("content-type: text/plain"), "{head}");
    assert_eq!(body["object"], Value::Null, "{body}");
    let m = &body["messages"][0];
    (
        m["code"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .to_owned(),
        m["message"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .to_owned(),
    )
}

/// Asserts a 400 `INVALID_REQUEST` refusal in the clear; returns its message.
#[track_caller]
fn refused_400(answer: (u16, String, Value), what: &str) -> String {
    let (status, head, body) = answer;
    assert_eq!(status, 400, "{what}: {body}");
    let (code, message) = refusal(&head, &body);
    assert_eq!(code, "INVALID_REQUEST", "{what}: {body}");
    message
}

/// Asserts a sealed 200 (text/plain), opens it with `channel`, returns the JSON.
#[track_caller]
fn opened(answer: (u16, String, Value), channel: &zcred_crypto::enc::Channel) -> Value {
    let (status, head, body) = answer;
    assert_eq!(status, 200, "{body}");
    assert!(head.contains("content-type: text/plain"), "{head}");
    let text = body.as_str().unwrap_or_else(|| panic!("not text: {body}"));
    assert!(
        serde_json::from_str::<Value>(text).is_err(),
        "the answer is in the clear: {text}"
    );
    let plain = channel.open(text).unwrap();
    serde_json::from_slice(&plain).unwrap()
}

/// The shape of an apply answer: `{"object":{"vcId","status":"APPLIED"},"messages":[]}`.
#[track_caller]
fn assert_applied(answer: &Value) {
    let keys: BTreeSet<&str> = answer
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, BTreeSet::from(["object", "messages"]), "{answer}");
    assert_eq!(answer["messages"], json!([]), "{answer}");
    let object: BTreeSet<&str> = answer["object"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(object, BTreeSet::from(["status", "vcId"]), "{answer}");
    assert_eq!(answer["object"]["status"], "APPLIED", "{answer}");
    assert!(
        answer["object"]["vcId"]
            .as_str()
            .is_some_and(|id| id.starts_with("did:zid:")),
        "{answer}"
    );
}

fn with_bit_flipped(bytes: &[u8], index: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[index] ^= 0x01;
    out
}

/// 1 (continued). The key is kept: a second call gives the same one.
fn key_is_kept(fx: &mut Fixture, first: &Value) {
    let again = keys_object(&fx.server, &fx.si);
    assert_eq!(again, *first);
    assert!(
        first["keyId"].as_str().unwrap().len() <= 64,
        "a key id travels in a header: {first}"
    );
}

/// 2. A sealed apply answers the plain twin's JSON, sealed; a JSON string literal body works too.
fn sealed_apply(fx: &mut Fixture) {
    let server = &fx.server;
    let key = current_key(fx);

    let (status, plain) = server.call(
        "POST",
        APPLY,
        Some(&fx.si),
        apply_body(fx).to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{plain}");
    assert_applied(&plain);

    let body = apply_body(fx);
    let (sealed, channel) = key
        .seal_request(ENC_APPLY, body.to_string().as_bytes(), now_ms())
        .unwrap();
    // A 2048-bit RSA-OAEP block is 256 bytes: 344 base64url characters with padding (api.md §6).
    assert_eq!(sealed.secret_key.len(), 344, "{}", sealed.secret_key);
    let answer = opened(send(server, ENC_APPLY, Some(&fx.si), &sealed), &channel);
    assert_applied(&answer);
    // Another request's answer does not open with this request's channel.
    let (second, second_channel) = key
        .seal_request(ENC_APPLY, apply_body(fx).to_string().as_bytes(), now_ms())
        .unwrap();
    let (status, _, raw) = send(server, ENC_APPLY, Some(&fx.si), &second);
    assert_eq!(status, 200, "{raw}");
    let raw = raw.as_str().unwrap();
    assert!(channel.open(raw).is_err());
    assert_applied(&serde_json::from_slice(&second_channel.open(raw).unwrap()).unwrap());
    fx.accepted_before_restart = Some(sealed);

    // The body as a JSON string literal (api.md §6).
    let (sealed, channel) = key
        .seal_request(ENC_APPLY, apply_body(fx).to_string().as_bytes(), now_ms())
        .unwrap();
    let literal = format!("\"{}\"", sealed.body);
    let answer = opened(
        send_raw(
            server,
            ENC_APPLY,
            Some(&fx.si),
            Some(&sealed.key_id),
            Some(&sealed.secret_key),
            literal.as_bytes(),
        ),
        &channel,
    );
    assert_applied(&answer);
    // ... also when labelled application/json.
    let (sealed, channel) = key
        .seal_request(ENC_APPLY, apply_body(fx).to_string().as_bytes(), now_ms())
        .unwrap();
    let literal = format!("\"{}\"", sealed.body);
    let answer = opened(
        server.exchange(
            "POST",
            ENC_APPLY,
            Some(&fx.si),
            &[
                ("Content-Type", "application/json"),
                ("keyId", &sealed.key_id),
                ("secretKey", &sealed.secret_key),
            ],
            literal.as_bytes(),
        ),
        &channel,
    );
    assert_applied(&answer);

    // A timestamp 4 minutes off either way is inside the 5-minute window.
    for ts in [now_ms() - 4 * MINUTE_MS, now_ms() + 4 * MINUTE_MS] {
        let (sealed, channel) = key
            .seal_request(ENC_APPLY, apply_body(fx).to_string().as_bytes(), ts)
            .unwrap();
        assert_applied(&opened(
            send(server, ENC_APPLY, Some(&fx.si), &sealed),
            &channel,
        ));
    }
}

/// 3 and 5. Every refusal, its status and message; errors in the clear.
fn refusals(fx: &mut Fixture) {
    let server = &fx.server;
    let si = Some(fx.si.as_str());
    let key = current_key(fx);
    let seal = |path: &str, ts: u64| {
        key.seal_request(path, apply_body(fx).to_string().as_bytes(), ts)
            .unwrap()
            .0
    };
    let mut generic = Vec::new();

    // (a), (b): a missing header, each with its own plain message.
    let s = seal(ENC_APPLY, now_ms());
    let no_key_id = refused_400(
        send_raw(
            server,
            ENC_APPLY,
            si,
            None,
            Some(&s.secret_key),
            s.body.as_bytes(),
        ),
        "no keyId",
    );
    assert!(no_key_id.contains("keyId"), "{no_key_id}");
    let no_secret = refused_400(
        send_raw(
            server,
            ENC_APPLY,
            si,
            Some(&s.key_id),
            None,
            s.body.as_bytes(),
        ),
        "no secretKey",
    );
    assert!(no_secret.contains("secretKey"), "{no_secret}");
    let empty = refused_400(
        send_raw(
            server,
            ENC_APPLY,
            si,
            Some(""),
            Some(&s.secret_key),
            s.body.as_bytes(),
        ),
        "empty keyId",
    );
    assert_eq!(empty, no_key_id);
    let neither = refused_400(
        send_raw(server, ENC_APPLY, si, None, None, s.body.as_bytes()),
        "no headers",
    );
    assert!(neither.contains("header is missing"), "{neither}");

    // (c) An unknown key id: its own message, pointing at the key endpoint.
    let unknown = refused_400(
        send_raw(
            server,
            ENC_APPLY,
            si,
            Some("ek-0000000000000000"),
            Some(&s.secret_key),
            s.body.as_bytes(),
        ),
        "unknown keyId",
    );
    assert!(unknown.contains("keyId"), "{unknown}");
    assert!(unknown.contains(KEYS), "{unknown}");

    // (d), (e): one sealed request, truncated and with one bit flipped in each region; none of
    // them uses it up.
    let s = seal(ENC_APPLY, now_ms());
    let bytes = multibase::from_base64url(&s.body).unwrap();
    let n = bytes.len();
    assert!(n > 12 + 16 + 32, "{n}");
    let mut tampered: Vec<(String, Vec<u8>)> = Vec::new();
    for len in [0, 1, 12, 28, 59, 60, n - 33, n - 32, n - 1] {
        tampered.push((
            format!("truncated to {len} of {n} bytes"),
            bytes[..len].to_vec(),
        ));
    }
    for (region, index) in [
        ("nonce", 0),
        ("nonce end", 11),
        ("ciphertext", 12),
        ("ciphertext end", n - 49),
        ("GCM tag", n - 48),
        ("GCM tag end", n - 33),
        ("MAC", n - 32),
        ("MAC end", n - 1),
    ] {
        tampered.push((
            format!("bit flipped in the {region} (byte {index})"),
            with_bit_flipped(&bytes, index),
        ));
    }
    let mut extended = bytes.clone();
    extended.push(0);
    tampered.push(("one byte appended".into(), extended));
    for (what, body) in &tampered {
        let text = multibase::base64url_padded(body);
        generic.push((
            what.clone(),
            refused_400(
                send_raw(
                    server,
                    ENC_APPLY,
                    si,
                    Some(&s.key_id),
                    Some(&s.secret_key),
                    text.as_bytes(),
                ),
                what,
            ),
        ));
    }
    // The body truncated as text (whole base64 quads, so still base64url).
    for chars in [4, s.body.len() - 4, s.body.len() - 8] {
        let what = format!("text truncated to {chars} characters");
        generic.push((
            what.clone(),
            refused_400(
                send_raw(
                    server,
                    ENC_APPLY,
                    si,
                    Some(&s.key_id),
                    Some(&s.secret_key),
                    &s.body.as_bytes()[..chars],
                ),
                &what,
            ),
        ));
    }

    // (f) One bit of the secretKey header flipped (several places), and another request's
    // secretKey with this body.
    let wrapped = multibase::from_base64url(&s.secret_key).unwrap();
    assert_eq!(wrapped.len(), 256);
    for index in [0, 1, 100, 255] {
        let what = format!("bit flipped in secretKey byte {index}");
        let flipped = multibase::base64url_padded(&with_bit_flipped(&wrapped, index));
        generic.push((
            what.clone(),
            refused_400(
                send_raw(
                    server,
                    ENC_APPLY,
                    si,
                    Some(&s.key_id),
                    Some(&flipped),
                    s.body.as_bytes(),
                ),
                &what,
            ),
        ));
    }
    let other = seal(ENC_APPLY, now_ms());
    generic.push((
        "another request's secretKey".into(),
        refused_400(
            send_raw(
                server,
                ENC_APPLY,
                si,
                Some(&s.key_id),
                Some(&other.secret_key),
                s.body.as_bytes(),
            ),
            "another request's secretKey",
        ),
    ));

    // None of the refusals above used the request up: sent intact, it is accepted.
    let (status, _, body) = send(server, ENC_APPLY, si, &s);
    assert_eq!(status, 200, "{body}");

    // (g) The same request again, byte for byte: 409 DUPLICATE, in the clear.
    let (status, head, body) = send(server, ENC_APPLY, si, &s);
    assert_eq!(status, 409, "{body}");
    assert_eq!(refusal(&head, &body).0, "DUPLICATE");
    // Sent many times at once, a fresh request is accepted exactly once.
    let s2 = seal(ENC_APPLY, now_ms());
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| send(server, ENC_APPLY, si, &s2).0))
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let mut sorted = statuses.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        [200, 409, 409, 409, 409, 409, 409, 409],
        "{statuses:?}"
    );
    // Also as a JSON string literal, and with the secretKey without its padding.
    let literal = format!("\"{}\"", s.body);
    let (status, _, body) = send_raw(
        server,
        ENC_APPLY,
        si,
        Some(&s.key_id),
        Some(&s.secret_key),
        literal.as_bytes(),
    );
    assert_eq!(status, 409, "{body}");
    let (status, _, body) = send_raw(
        server,
        ENC_APPLY,
        si,
        Some(&s.key_id),
        Some(s.secret_key.trim_end_matches('=')),
        s.body.as_bytes(),
    );
    assert_eq!(status, 409, "{body}");

    // (h) Sealed 6 minutes in the past, and 6 minutes in the future.
    for (what, ts) in [
        ("6 minutes old", now_ms() - 6 * MINUTE_MS),
        ("6 minutes ahead", now_ms() + 6 * MINUTE_MS),
    ] {
        let s = seal(ENC_APPLY, ts);
        generic.push((
            what.into(),
            refused_400(send(server, ENC_APPLY, si, &s), what),
        ));
    }

    // (i) Sealed for apply, sent to download.
    let s = seal(ENC_APPLY, now_ms());
    generic.push((
        "sealed for apply, sent to download".into(),
        refused_400(send(server, ENC_DOWNLOAD, si, &s), "wrong path"),
    ));
    // ... and that request is still good where it was sealed for.
    let (status, _, body) = send(server, ENC_APPLY, si, &s);
    assert_eq!(status, 200, "{body}");

    // (j) A body that is not base64url (and one that is not UTF-8): a syntax message.
    for body in [&b"not*base64url!"[..], b"ab+/cd==", b"\xff\xfe\x00"] {
        let s = seal(ENC_APPLY, now_ms());
        let what = format!("body {body:?}");
        let message = refused_400(
            send_raw(
                server,
                ENC_APPLY,
                si,
                Some(&s.key_id),
                Some(&s.secret_key),
                body,
            ),
            &what,
        );
        assert!(message.contains("base64url"), "{what}: {message}");
        assert_ne!(message, GENERIC);
    }
    // A body over the limit of an encrypted body (the plain 1 MiB, as base64url): 413.
    let s = seal(ENC_APPLY, now_ms());
    let (status, head, body) = send_raw(
        server,
        ENC_APPLY,
        si,
        Some(&s.key_id),
        Some(&s.secret_key),
        &vec![b'A'; 2 * 1024 * 1024],
    );
    assert_eq!(status, 413, "{body}");
    assert_eq!(refusal(&head, &body).0, "PAYLOAD_TOO_LARGE");
    // A secretKey that is not base64url.
    let s = seal(ENC_APPLY, now_ms());
    let message = refused_400(
        send_raw(
            server,
            ENC_APPLY,
            si,
            Some(&s.key_id),
            Some("not*base64!"),
            s.body.as_bytes(),
        ),
        "secretKey not base64url",
    );
    assert!(message.contains("secretKey"), "{message}");

    // Every cryptographic failure has one and the same message, which names no check.
    let texts: BTreeSet<&str> = generic.iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(texts, BTreeSet::from([GENERIC]), "{generic:#?}");
    let lower = GENERIC.to_ascii_lowercase();
    for word in [
        "rsa", "oaep", "mac", "gcm", "tag", "time", "window", "expired", "nonce", "path",
    ] {
        assert!(!lower.contains(word), "{GENERIC} names {word}");
    }
    // Missing headers and an unknown key id have their own messages.
    for own in [&no_key_id, &no_secret, &unknown] {
        assert_ne!(own, GENERIC);
    }
    assert_ne!(no_key_id, no_secret);
    assert_ne!(no_key_id, unknown);
}

/// 4. The order: API key, then the envelope, then the plain JSON.
fn check_order(fx: &mut Fixture) {
    let server = &fx.server;
    let si = Some(fx.si.as_str());
    let key = current_key(fx);

    // Not JSON at all, with a wrong MAC: the envelope's refusal, not a JSON error.
    let (s, _) = key
        .seal_request(ENC_APPLY, b"this is {{ not JSON", now_ms())
        .unwrap();
    let mut bytes = multibase::from_base64url(&s.body).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x80;
    let bad_mac = multibase::base64url_padded(&bytes);
    let message = refused_400(
        send_raw(
            server,
            ENC_APPLY,
            si,
            Some(&s.key_id),
            Some(&s.secret_key),
            bad_mac.as_bytes(),
        ),
        "non-JSON plaintext, wrong MAC",
    );
    assert_eq!(message, GENERIC);
    // The same envelope intact: the plain handler's JSON refusal, in the clear.
    let message = refused_400(send(server, ENC_APPLY, si, &s), "non-JSON plaintext");
    assert!(message.contains("JSON"), "{message}");
    assert_ne!(message, GENERIC);
    // That envelope was opened, so it is used up even though the handler refused it.
    let (status, _, body) = send(server, ENC_APPLY, si, &s);
    assert_eq!(status, 409, "{body}");
    // A JSON plaintext that is not an apply request: the plain handler's field refusal.
    let (s, _) = key
        .seal_request(ENC_APPLY, br#"{"data":"nope"}"#, now_ms())
        .unwrap();
    let (status, head, body) = send(server, ENC_APPLY, si, &s);
    assert_eq!(status, 400, "{body}");
    let (code, _) = refusal(&head, &body);
    assert!(
        ["INVALID_REQUEST", "INVALID_FORMAT", "MISSING_FIELD"].contains(&code.as_str()),
        "{body}"
    );
    assert!(body["messages"][0]["field"].is_string(), "{body}");
    // A plain 404 from the handler (unknown template) also comes back in the clear.
    let holder = SigningKey::generate(&mut OsRng);
    let unknown_template = application(
        &holder,
        json!([{ "templateId": format!("did:zid:{}", "ab".repeat(32)), "metadata": { "name": "x" } }]),
    );
    let (s, _) = key
        .seal_request(ENC_APPLY, unknown_template.to_string().as_bytes(), now_ms())
        .unwrap();
    let (status, head, body) = send(server, ENC_APPLY, si, &s);
    assert_eq!(status, 404, "{body}");
    assert_eq!(refusal(&head, &body).0, "NOT_FOUND");

    // No API key, or an unknown one: 401 before the envelope is looked at, whether the
    // envelope is good, bad or absent.
    let (good, _) = key
        .seal_request(ENC_APPLY, apply_body(fx).to_string().as_bytes(), now_ms())
        .unwrap();
    for api_key in [None, Some("zk_unknown")] {
        let (status, head, body) = send(server, ENC_APPLY, api_key, &good);
        assert_eq!(status, 401, "{body}");
        assert_eq!(refusal(&head, &body).0, "UNAUTHENTICATED");
        let (status, _, body) = send_raw(
            server,
            ENC_APPLY,
            api_key,
            Some(&good.key_id),
            Some(&good.secret_key),
            bad_mac.as_bytes(),
        );
        assert_eq!(status, 401, "{body}");
        let (status, _, body) = send_raw(server, ENC_APPLY, api_key, None, None, b"garbage");
        assert_eq!(status, 401, "{body}");
    }
    // The 401s did not use the request up.
    let (status, _, body) = send(server, ENC_APPLY, si, &good);
    assert_eq!(status, 200, "{body}");
}

/// 1 (end). After a restart on the same data directory: the same key, and a request accepted
/// before the restart is still a replay.
fn restart(fx: &mut Fixture, first: &Value) {
    restart_server(fx);
    assert_eq!(keys_object(&fx.server, &fx.si), *first);
    let sealed = fx
        .accepted_before_restart
        .take()
        .expect("the sealed-apply scenario ran");
    let (status, head, body) = send(&fx.server, ENC_APPLY, Some(&fx.si), &sealed);
    assert_eq!(status, 409, "{body}");
    assert_eq!(refusal(&head, &body).0, "DUPLICATE");
}

/// Stops the running server (two servers on one SQLite file are not wanted), then starts
/// another on the same data directory.
fn restart_server(fx: &mut Fixture) {
    let pid = fx.server.child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    assert!(fx.server.child.wait().unwrap().success());
    fx.server = start(&fx.server_args());
}

fn rotate(server: &Server, token: Option<&str>, body: &Value) -> (u16, String, Value) {
    server.exchange(
        "POST",
        ROTATE,
        token,
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
}

/// 6. Rotation: the old key stays accepted for the grace period, then is an unknown key.
fn rotation(fx: &mut Fixture) {
    let server = &fx.server;
    let si = Some(fx.si.as_str());
    let k1 = current_key(fx);

    // The admin token, and nothing else (as every admin route).
    for token in [None, Some(fx.si.as_str()), Some("not the token")] {
        let (status, head, body) = rotate(server, token, &json!({ "graceSeconds": 3600 }));
        assert_eq!(status, 401, "{token:?}: {body}");
        assert_eq!(refusal(&head, &body).0, "UNAUTHENTICATED");
    }
    // Bad grace periods name the member; none rotates.
    for grace in [json!(-1), json!("x"), json!(1_000_000_000), json!(1.5)] {
        let (status, head, body) = rotate(server, Some(ADMIN), &json!({ "graceSeconds": grace }));
        assert_eq!(status, 400, "{grace}: {body}");
        refusal(&head, &body);
        assert_eq!(
            body["messages"][0]["field"], "/graceSeconds",
            "{grace}: {body}"
        );
    }
    assert_eq!(current_key(fx), k1, "a refused rotation rotated");

    // Rotate with an hour's grace.
    let (status, _, body) = rotate(server, Some(ADMIN), &json!({ "graceSeconds": 3600 }));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["messages"], json!([]));
    let k2_id = body["object"]["keyId"].as_str().unwrap().to_owned();
    assert_eq!(body["object"]["previousKeyId"], k1.key_id(), "{body}");
    assert_ne!(k2_id, k1.key_id());
    let k2 = current_key(fx);
    assert_eq!(k2.key_id(), k2_id);
    assert_ne!(k2, k1);

    // Both keys are accepted; each answer opens with its request's channel.
    for key in [&k1, &k2] {
        let (sealed, channel) = key
            .seal_request(ENC_APPLY, apply_body(fx).to_string().as_bytes(), now_ms())
            .unwrap();
        assert_applied(&opened(send(server, ENC_APPLY, si, &sealed), &channel));
    }
    // A secretKey made for k1 does not open under k2's id (the wrapped key names its key).
    let (sealed, _) = k1
        .seal_request(ENC_APPLY, apply_body(fx).to_string().as_bytes(), now_ms())
        .unwrap();
    let message = refused_400(
        send_raw(
            server,
            ENC_APPLY,
            si,
            Some(k2.key_id()),
            Some(&sealed.secret_key),
            sealed.body.as_bytes(),
        ),
        "k1's envelope under k2's id",
    );
    assert_eq!(message, GENERIC);

    // Rotate again without grace: k2 is at once an unknown key; k3 works, and k1 keeps the
    // rest of its hour.
    let (status, _, body) = rotate(server, Some(ADMIN), &json!({ "graceSeconds": 0 }));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"]["previousKeyId"], k2.key_id(), "{body}");
    let k3 = current_key(fx);
    assert_eq!(body["object"]["keyId"], k3.key_id());
    assert!(k3 != k1 && k3 != k2);
    let (sealed, _) = k2
        .seal_request(ENC_APPLY, apply_body(fx).to_string().as_bytes(), now_ms())
        .unwrap();
    let message = refused_400(
        send(server, ENC_APPLY, si, &sealed),
        "k2 after a rotation without grace",
    );
    assert_ne!(message, GENERIC);
    assert!(message.contains("keyId"), "{message}");
    for key in [&k3, &k1] {
        let (sealed, channel) = key
            .seal_request(ENC_APPLY, apply_body(fx).to_string().as_bytes(), now_ms())
            .unwrap();
        assert_applied(&opened(send(server, ENC_APPLY, si, &sealed), &channel));
    }

    // The ring survives a restart: k3 current, k2 unknown, k1 still in its grace period.
    restart_server(fx);
    let server = &fx.server;
    let si = Some(fx.si.as_str());
    assert_eq!(current_key(fx), k3);
    let (sealed, _) = k2
        .seal_request(ENC_APPLY, apply_body(fx).to_string().as_bytes(), now_ms())
        .unwrap();
    let after = refused_400(send(server, ENC_APPLY, si, &sealed), "k2 after a restart");
    assert_eq!(after, message);
    for key in [&k3, &k1] {
        let (sealed, channel) = key
            .seal_request(ENC_APPLY, apply_body(fx).to_string().as_bytes(), now_ms())
            .unwrap();
        assert_applied(&opened(send(server, ENC_APPLY, si, &sealed), &channel));
    }
    // A rotation with no body member takes the default grace (an hour): k3 stays accepted.
    let (status, _, body) = rotate(server, Some(ADMIN), &json!({}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"]["previousKeyId"], k3.key_id(), "{body}");
    assert!(
        body["object"]["previousAcceptedUntil"].is_string(),
        "{body}"
    );
    let (sealed, channel) = k3
        .seal_request(ENC_APPLY, apply_body(fx).to_string().as_bytes(), now_ms())
        .unwrap();
    assert_applied(&opened(send(server, ENC_APPLY, si, &sealed), &channel));
}

#[test]
fn encrypted_endpoints_on_sqlite() {
    let started = Instant::now();
    let (mut fx, first) = setup();
    type Scenario = fn(&mut Fixture, &Value);
    let scenarios: [(&str, Scenario); 6] = [
        ("key_is_kept", key_is_kept),
        ("sealed_apply", |fx, _| sealed_apply(fx)),
        ("refusals", |fx, _| refusals(fx)),
        ("check_order", |fx, _| check_order(fx)),
        ("restart", restart),
        ("rotation", |fx, _| rotation(fx)),
    ];
    let mut failed = Vec::new();
    for (name, run) in scenarios {
        let t = Instant::now();
        match std::panic::catch_unwind(AssertUnwindSafe(|| run(&mut fx, &first))) {
            Ok(()) => println!("scenario {name}: ok ({:.1?})", t.elapsed()),
            Err(_) => {
                println!("scenario {name}: FAILED ({:.1?})", t.elapsed());
                failed.push(name);
            }
        }
    }
    let Fixture {
        server,
        data_dir,
        token_file,
        ..
    } = fx;
    assert!(server.stop().success());
    let _ = std::fs::remove_dir_all(&data_dir);
    let _ = std::fs::remove_file(&token_file);
    println!("encrypted: {:.1?}", started.elapsed());
    assert!(failed.is_empty(), "failed scenarios: {failed:?}");
}
