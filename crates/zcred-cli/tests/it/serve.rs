//! `zcred serve` as a process on a loopback port: API keys made by `zcred admin key create`,
//! the envelope, status codes in the documented order, strict bodies, the BBS+ signing
//! utility, and a graceful stop on SIGTERM. Runs on SQLite, and on PostgreSQL too when
//! `ZCRED_TEST_DATABASE_URL` is set.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use std::sync::OnceLock;

use serde_json::{json, Value};
use zcred_crypto::bbs;
use zcred_crypto::enc::ServerPublicKey;
use zcred_crypto::multibase;

use crate::commands::{api_key, ok, scratch};

/// A running server, stopped (SIGTERM, then waited for) when dropped.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) address: String,
    /// Whether [`Server::post`] calls the `/enc/` twin of a route that has one.
    pub(crate) encrypted: bool,
    enc_key: OnceLock<ServerPublicKey>,
}

impl Server {
    /// A server whose `post` seals every call to a route with an `/enc/` twin (zcred-enc-v1)
    /// and opens its answer: the same flows, end-to-end encrypted.
    pub(crate) fn start_encrypted(store_args: &[&str]) -> Server {
        let mut server = Server::start(store_args);
        server.encrypted = true;
        server
    }

    /// `zcred serve` on port 0 with stdout and stderr both written to `log` (where
    /// [`Server::start`] pipes them), once its ready line is in the file. Logging is the most
    /// verbose the binary supports: it logs at INFO (a line per request: method, path, status,
    /// latency) and has no flag for more; `RUST_LOG=trace` is set as well in case it ever
    /// reads it.
    pub(crate) fn start_logged(store_args: &[&str], log: &std::path::Path) -> Server {
        let out = std::fs::File::create(log).unwrap();
        let mut child = Server::command(store_args)
            .env("RUST_LOG", "trace")
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .expect("zcred serve starts");
        // The ready line `{"listening": "host:port", …}` goes to stdout, so to the file.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let address = BufReader::new(std::fs::File::open(log).unwrap())
                .lines()
                .map_while(Result::ok)
                .filter_map(|line| serde_json::from_str::<Value>(&line).ok())
                .find_map(|v| v["listening"].as_str().map(str::to_owned));
            if let Some(address) = address {
                return Server::adopt(child, address);
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "zcred serve exited ({status}): {}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "zcred serve did not get ready");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A server started by the caller, listening on `address`.
    pub(crate) fn adopt(child: Child, address: String) -> Server {
        Server {
            child,
            address,
            encrypted: false,
            enc_key: OnceLock::new(),
        }
    }

    /// `zcred serve` on port 0 with `store_args`, untouched by the caller's `ZCRED_*`
    /// environment; the caller sets where its output goes and spawns it.
    pub(crate) fn command(store_args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_zcred"));
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(store_args)
            .env_remove("ZCRED_LISTEN")
            .env_remove("ZCRED_DATA_DIR")
            .env_remove("ZCRED_DATABASE_URL");
        command
    }

    pub(crate) fn start(store_args: &[&str]) -> Server {
        let mut child = Server::command(store_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("zcred serve starts");
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut line).unwrap();
        let ready: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
            let mut err = String::new();
            child.stderr.take().unwrap().read_to_string(&mut err).ok();
            panic!("no ready line ({e}): {line:?}; stderr: {err}")
        });
        // Keep reading what the server writes (a line per request), so that a full pipe never
        // blocks it.
        let mut stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        Server::adopt(child, ready["listening"].as_str().unwrap().to_owned())
    }

    /// One HTTP/1.1 request; returns the status and the body as JSON.
    pub(crate) fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: &[u8],
    ) -> (u16, Value) {
        let (status, _, json) = self.call_with_head(method, path, key, body);
        (status, json)
    }

    /// As `call`, with the response head (status line and headers) too.
    pub(crate) fn call_with_head(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: &[u8],
    ) -> (u16, String, Value) {
        self.exchange(
            method,
            path,
            key,
            &[("Content-Type", "application/json")],
            body,
        )
    }

    /// One HTTP/1.1 request with extra `headers`; returns status, head and body (JSON, or a
    /// JSON string for a text answer).
    pub(crate) fn exchange(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String, Value) {
        let mut stream = TcpStream::connect(&self.address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.address,
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if let Some(key) = key {
            head.push_str(&format!("Authorization: Bearer {key}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        // The server may answer (413) before reading a large body; a failed write is fine then.
        let _ = stream.write_all(body);
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        let text = String::from_utf8_lossy(&response);
        let (head, body) = text
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("{text}"));
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        let lower = head.to_ascii_lowercase();
        if lower.contains("content-type: text/plain") || lower.contains("content-type: text/html") {
            return (
                status,
                head.to_ascii_lowercase(),
                Value::String(body.to_owned()),
            );
        }
        let json = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
        (status, head.to_ascii_lowercase(), json)
    }

    /// The base URL (`http://host:port`).
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// POST `body`; on an encrypted server, to the route's `/enc/` twin when it has one.
    pub(crate) fn post(&self, path: &str, key: Option<&str>, body: &Value) -> (u16, Value) {
        match (self.encrypted, zcred_server::routes::twin_of(path), key) {
            (true, Some(twin), Some(key)) => self.post_sealed(twin.path, key, body),
            _ => self.call("POST", path, key, body.to_string().as_bytes()),
        }
    }

    /// The server's `/enc/` keys, fetched once with `key`.
    pub(crate) fn enc_key(&self, key: &str) -> &ServerPublicKey {
        self.enc_key.get_or_init(|| {
            let (status, keys) = self.call("GET", "/cred/v1/enc/keys", Some(key), b"");
            assert_eq!(status, 200, "{keys}");
            let o = &keys["object"];
            ServerPublicKey::from_parts(
                o["keyId"].as_str().unwrap(),
                o["rsaPublicKey"].as_str().unwrap(),
                o["x25519PublicKey"].as_str().unwrap(),
            )
            .unwrap()
        })
    }

    /// POSTs `body` sealed to the `/enc/` route `path`; returns the status and the answer (opened
    /// when 200, in the clear otherwise).
    pub(crate) fn post_sealed(&self, path: &str, key: &str, body: &Value) -> (u16, Value) {
        self.post_sealed_by(path, key, Some(key), body)
    }

    /// [`Server::post_sealed`] with the server's keys fetched with `fetch_key` and `auth` (any
    /// or none) as the request's `Authorization`.
    pub(crate) fn post_sealed_by(
        &self,
        path: &str,
        fetch_key: &str,
        auth: Option<&str>,
        body: &Value,
    ) -> (u16, Value) {
        let (sealed, channel) = self
            .enc_key(fetch_key)
            .seal_request(path, body.to_string().as_bytes(), now_ms())
            .unwrap();
        let (status, head, answer) = self.exchange(
            "POST",
            path,
            auth,
            &[
                ("Content-Type", "text/plain"),
                ("keyId", &sealed.key_id),
                ("secretKey", &sealed.secret_key),
            ],
            sealed.body.as_bytes(),
        );
        if status != 200 {
            return (status, answer);
        }
        assert!(head.contains("content-type: text/plain"), "{head}");
        let opened = channel.open(answer.as_str().unwrap()).unwrap();
        (status, serde_json::from_slice(&opened).unwrap())
    }

    /// Asserts that every answered call to a route with an `/enc/` twin went to the twin (plain
    /// calls without a key, refused with 401, are part of the scenarios): the metrics
    /// (behind the admin token `admin`) count requests by route.
    pub(crate) fn assert_only_encrypted(&self, admin: &str) {
        let (status, metrics) = self.call("GET", "/metrics", Some(admin), b"");
        assert_eq!(status, 200);
        let text = metrics.as_str().unwrap();
        let mut sealed = 0;
        for twin in zcred_server::routes::ROUTES
            .iter()
            .filter(|r| r.twin.is_some())
        {
            let plain = format!("route=\"{}\",status=\"200\"", twin.twin.unwrap());
            assert!(
                !text.contains(&plain),
                "a plain call answered: {plain}: {text}"
            );
            sealed +=
                usize::from(text.contains(&format!("route=\"{}\",status=\"200\"", twin.path)));
        }
        assert!(sealed >= 3, "too few encrypted routes answered 200: {text}");
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub(crate) fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "zcred serve did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The clock, Unix ms.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The error message's code and field.
pub(crate) fn error_of(body: &Value) -> (String, Option<String>) {
    assert_eq!(body["object"], Value::Null, "{body}");
    let m = &body["messages"][0];
    (
        m["code"].as_str().unwrap().to_owned(),
        m["field"].as_str().map(str::to_owned),
    )
}

fn story(store_args: &[&str]) {
    let key = api_key(store_args);
    assert!(key.starts_with("zk_"));
    let token_file = scratch("admin-token");
    std::fs::write(&token_file, "an admin token for the tests\n").unwrap();
    let token_arg = token_file.display().to_string();
    let server = Server::start(&[store_args, &["--admin-token-file", &token_arg]].concat());

    // Health, like every endpoint but DID resolution, needs a key.
    let (status, _) = server.call("GET", "/health", None, b"");
    assert_eq!(status, 401);
    let (status, body) = server.call("GET", "/health", Some(&key), b"");
    assert_eq!(
        (status, &body["object"]["status"]),
        (200, &json!("ok")),
        "{body}"
    );
    assert_eq!(body["messages"], json!([]));

    openapi(&server);

    // The key comes first: no key or an unknown key is 401, even for unknown paths.
    let sign = "/cred/bbs/vc/sign";
    for (path, k) in [
        (sign, None),
        ("/no/such/path", None),
        (sign, Some("zk_unknown")),
    ] {
        let (status, body) = server.post(path, k, &json!({}));
        assert_eq!(
            (status, error_of(&body).0.as_str()),
            (401, "UNAUTHENTICATED"),
            "{path}"
        );
    }
    let key_text = key.as_str();
    let key = Some(key_text);
    let (status, body) = server.post("/no/such/path", key, &json!({}));
    assert_eq!((status, error_of(&body).0.as_str()), (404, "NOT_FOUND"));
    let (status, _) = server.call("GET", sign, key, b"");
    assert_eq!(status, 405);

    // Strict bodies.
    let (status, body) = server.call("POST", sign, key, br#"{"data":[],"data":[]}"#);
    assert_eq!(status, 400);
    assert_eq!(
        error_of(&body),
        ("INVALID_REQUEST".into(), Some("/data".into()))
    );
    let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
    let (status, _) = server.call("POST", sign, key, format!("{{\"data\":{deep}}}").as_bytes());
    assert_eq!(status, 400);
    let (status, body) = server.call("POST", sign, key, &vec![b' '; 2 * 1024 * 1024]);
    assert_eq!(
        (status, error_of(&body).0.as_str()),
        (413, "PAYLOAD_TOO_LARGE")
    );
    let (status, _) = server.call("POST", sign, key, b"not json");
    assert_eq!(status, 400);

    // BBS+ signing (api.md 10.0b), checked with the public key.
    let pair = bbs::KeyPair::new(bbs::SecretKey::from_seed(&[7u8; 32]).unwrap());
    let public = pair.public().to_multibase();
    let secret = pair.secret().to_multibase().to_string();
    let messages = ["id: did:zid:00", "passportMalaysia.name: Ali bin Abu"];
    let data: Vec<String> = messages
        .iter()
        .map(|m| multibase::base64(m.as_bytes()))
        .collect();
    let request =
        json!({ "publicKeyMultibase": public, "privateKeyMultibase": secret, "data": data });
    let (status, body) = server.post(sign, key, &request);
    assert_eq!(status, 200, "{body}");
    let signature =
        bbs::Signature::from_multibase(body["object"]["signData"].as_str().unwrap()).unwrap();
    let bytes: Vec<&[u8]> = messages.iter().map(|m| m.as_bytes()).collect();
    pair.public().verify(&bytes, &signature).unwrap();
    // From a hex seed: the same key, so the signature verifies under the same public key.
    let request =
        json!({ "publicKeyMultibase": public, "seed": hex::encode([7u8; 32]), "data": data });
    let (status, body) = server.post(sign, key, &request);
    assert_eq!(status, 200, "{body}");

    // Each bad input names its member.
    let other = bbs::SecretKey::from_seed(&[8u8; 32])
        .unwrap()
        .public_key()
        .to_multibase();
    for (request, field) in [
        (
            json!({ "privateKeyMultibase": secret, "data": data }),
            "/publicKeyMultibase",
        ),
        (
            json!({ "publicKeyMultibase": other, "privateKeyMultibase": secret, "data": data }),
            "/publicKeyMultibase",
        ),
        (
            json!({ "publicKeyMultibase": public, "privateKeyMultibase": secret }),
            "/data",
        ),
        (
            json!({ "publicKeyMultibase": public, "privateKeyMultibase": secret, "data": [] }),
            "/data",
        ),
        (
            json!({ "publicKeyMultibase": public, "privateKeyMultibase": secret, "data": [data[0], "!!"] }),
            "/data/1",
        ),
        (
            json!({ "publicKeyMultibase": public, "privateKeyMultibase": "zNotAKey", "data": data }),
            "/privateKeyMultibase",
        ),
        (
            json!({ "publicKeyMultibase": public, "data": data }),
            "/privateKeyMultibase",
        ),
        (
            json!({ "publicKeyMultibase": public, "seed": "abandon ability able", "data": data }),
            "/seed",
        ),
        (
            json!({ "publicKeyMultibase": public, "seed": "00ff", "data": data }),
            "/seed",
        ),
    ] {
        let (status, body) = server.post(sign, key, &request);
        assert_eq!(status, 400, "{request}: {body}");
        assert_eq!(
            error_of(&body).1.as_deref(),
            Some(field),
            "{request}: {body}"
        );
        assert!(
            !body.to_string().contains(&secret),
            "the secret key is never echoed"
        );
    }
    let (status, _) = server.post(sign, key, &json!({ "publicKeyMultibase": public, "privateKeyMultibase": secret, "seed": "00", "data": data }));
    assert_eq!(status, 400);

    onboarding(&server, key_text, store_args);
    admin_api(&server, key_text);
    let _ = std::fs::remove_file(&token_file);

    // SIGTERM: a clean exit.
    assert!(server.stop().success());
}

/// Issuer KEL inception over the blob pattern, signed with `zcred sign` as a person would, and
/// the DID document that results.
fn onboarding(server: &Server, key: &str, store_args: &[&str]) {
    let issuer = ok(&["key", "new"]);
    let (public, private) = (
        issuer["publicKey"].as_str().unwrap(),
        issuer["privateKey"].as_str().unwrap(),
    );
    let did = issuer["did"].as_str().unwrap();
    let next = ok(&["key", "new"]);
    let create = "/zcred/v1/issuer/inception/create";
    let submit = "/zcred/v1/issuer/inception/submit";
    let request = json!({ "publicKey": public, "nextPublicKey": next["publicKey"] });
    let (status, body) = server.post(create, Some(key), &request);
    assert_eq!(status, 200, "{body}");
    let object = &body["object"];
    assert_eq!(object["did"], did);
    let blob = object["blob"].as_str().unwrap();
    assert_eq!(blob, blob.to_uppercase(), "blobs are uppercase hex");
    let blob_id = object["blobId"].as_str().unwrap();
    assert_eq!(blob_id.len(), 32);
    // The blob is the exact raw icp: a KERI event whose SAID `zcred ledger said` confirms.
    let raw = String::from_utf8(hex::decode(blob).unwrap()).unwrap();
    assert!(raw.starts_with("{\"v\":\"KERI10JSON"), "{raw}");

    // One blob at a time: the same request by the same key gets the same blob back (a client
    // that lost the answer goes on with it); another request for the step, or another key's,
    // is refused while it waits, and the refusal names the caller's own blob.
    let (status, again) = server.post(create, Some(key), &request);
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        again["object"], body["object"],
        "the same blob, handed out again"
    );
    let other_next = ok(&["key", "new"]);
    let (status, refused) = server.post(
        create,
        Some(key),
        &json!({ "publicKey": public, "nextPublicKey": other_next["publicKey"] }),
    );
    assert_eq!(
        (status, error_of(&refused).0.as_str()),
        (409, "INVALID_STATE"),
        "{refused}"
    );
    assert!(refused.to_string().contains(blob_id), "{refused}");
    let other_key = api_key(store_args);
    let (status, refused) = server.post(create, Some(&other_key), &request);
    assert_eq!(
        (status, error_of(&refused).0.as_str()),
        (409, "INVALID_STATE"),
        "{refused}"
    );
    let signature = ok(&["sign", "--key", private, blob])["signature"]
        .as_str()
        .unwrap()
        .to_owned();
    let stranger = ok(&["key", "new"]);
    let wrong = ok(&[
        "sign",
        "--key",
        stranger["privateKey"].as_str().unwrap(),
        blob,
    ])["signature"]
        .as_str()
        .unwrap()
        .to_owned();
    let signer = |sig: &str, pk: &str| json!({ "blobId": blob_id, "signerList": [{ "signBlob": sig, "publicKey": pk }] });
    for (request, status, code) in [
        (signer(&wrong, public), 401, "SIGNATURE_MISMATCH"),
        (
            signer(&wrong, stranger["publicKey"].as_str().unwrap()),
            401,
            "SIGNATURE_MISMATCH",
        ),
        (signer("ABCD", public), 400, "INVALID_SIGNATURE_FORMAT"),
        (signer(&signature, "b001"), 400, "INVALID_FORMAT"),
        (
            json!({ "blobId": blob_id, "signerList": [], }),
            400,
            "INVALID_REQUEST",
        ),
        (
            json!({ "blobId": blob_id, "signBlob": signature, "publicKey": public, "signerList": [] }),
            400,
            "INVALID_REQUEST",
        ),
        (
            json!({ "blobId": "FFFF", "signBlob": signature, "publicKey": public }),
            404,
            "NOT_FOUND",
        ),
    ] {
        let (got, body) = server.post(submit, Some(key), &request);
        assert_eq!(
            (got, error_of(&body).0.as_str()),
            (status, code),
            "{request}: {body}"
        );
    }
    // The alias form (top-level signBlob + publicKey) is accepted.
    let (status, body) = server.post(
        submit,
        Some(key),
        &json!({ "blobId": blob_id, "signBlob": signature, "publicKey": public }),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"]["did"], did);
    let prefix = body["object"]["prefix"].as_str().unwrap().to_owned();
    assert!(prefix.starts_with('D'));
    // The blob is used up; the issuer cannot be registered twice.
    let (status, _) = server.post(submit, Some(key), &signer(&signature, public));
    assert_eq!(status, 404);
    let (status, body) = server.post(create, Some(key), &request);
    assert_eq!((status, error_of(&body).0.as_str()), (409, "DUPLICATE"));

    // The DID document, without an API key.
    let (status, doc) = server.call("GET", &format!("/1.0/identifiers/{did}"), None, b"");
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["didDocument"]["id"], did);
    let method = &doc["didDocument"]["verificationMethod"][0];
    assert_eq!(method["id"], format!("{did}#controllerKey"));
    let multikey =
        multibase::decode_base58btc(method["publicKeyMultibase"].as_str().unwrap(), 34).unwrap();
    assert_eq!(&multikey[..2], &[0xed, 0x01]);
    assert_eq!(
        hex::encode(&multikey[2..]),
        did.trim_start_matches("did:zid:")
    );
    assert_eq!(doc["didDocumentMetadata"]["keriPrefix"], prefix.as_str());
    let unregistered = ok(&["key", "new"]);
    let (status, doc) = server.call(
        "GET",
        &format!("/1.0/identifiers/{}", unregistered["did"].as_str().unwrap()),
        None,
        b"",
    );
    assert_eq!(
        (status, &doc["didResolutionMetadata"]["error"]),
        (404, &json!("notFound"))
    );
    // A DID whose hex is not an Ed25519 key is invalid, not unknown.
    let (status, doc) = server.call(
        "GET",
        &format!("/1.0/identifiers/did:zid:{}", "ab".repeat(32)),
        None,
        b"",
    );
    assert_eq!(
        (status, &doc["didResolutionMetadata"]["error"]),
        (400, &json!("invalidDid"))
    );
    let (status, _) = server.call("GET", "/1.0/identifiers/did:example:1", None, b"");
    assert_eq!(status, 400);

    // Step 2: the service's anchoring agent, delegated by the issuer.
    let delegate = "/zcred/v1/issuer/delegation/create";
    let (status, body) = server.post(delegate, Some(key), &json!({ "did": did }));
    assert_eq!(status, 200, "{body}");
    let agent = body["object"]["agent"].as_str().unwrap().to_owned();
    let blob = body["object"]["blob"].as_str().unwrap().to_owned();
    let blob_id = body["object"]["blobId"].as_str().unwrap().to_owned();
    let raw = String::from_utf8(hex::decode(&blob).unwrap()).unwrap();
    assert!(
        raw.contains("\"t\":\"ixn\"") && raw.contains(&agent),
        "the blob is the approving ixn: {raw}"
    );
    // While that blob waits, no second one is handed out for the same step (the issuer would
    // be led to sign two approvals at one sequence number).
    // (The same call again gets the same blob back.)
    let (status, second) = server.post(delegate, Some(key), &json!({ "did": did }));
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["object"]["blobId"], blob_id.as_str());
    assert_eq!(second["object"]["blob"], blob.as_str());
    let submit = "/zcred/v1/issuer/delegation/submit";
    let approve = |sig: &str| json!({ "blobId": blob_id, "signerList": [{ "signBlob": sig, "publicKey": public }] });
    let (status, body) = server.post(submit, Some(key), &approve(&wrong));
    assert_eq!(
        (status, error_of(&body).0.as_str()),
        (401, "SIGNATURE_MISMATCH")
    );
    let signature = ok(&["sign", "--key", private, &blob])["signature"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = server.post(submit, Some(key), &approve(&signature));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"]["agent"], agent.as_str());
    assert!(body["object"]["registry"]
        .as_str()
        .unwrap()
        .starts_with('E'));
    let (status, body) = server.post(delegate, Some(key), &json!({ "did": did }));
    assert_eq!(
        (status, error_of(&body).0.as_str()),
        (409, "DUPLICATE"),
        "one agent per issuer"
    );
    let (status, body) = server.post(delegate, Some(key), &json!({ "did": unregistered["did"] }));
    assert_eq!((status, error_of(&body).0.as_str()), (404, "NOT_FOUND"));
    let (status, body) = server.post(delegate, Some(key), &json!({ "did": "did:zid:nothex" }));
    assert_eq!((status, error_of(&body).1.as_deref()), (400, Some("/did")));

    // Pending until the operator approves it, by the command line or the admin API.
    assert_eq!(body_status(server, did), "PENDING");
    let approved = ok(&[&["admin", "issuer", "approve", did], store_args].concat());
    assert_eq!(approved["status"], "APPROVED");
    assert_eq!(body_status(server, did), "APPROVED");
    let (status, body) = server.call(
        "POST",
        "/zcred/v1/admin/issuers/approve",
        Some("an admin token for the tests"),
        json!({ "did": did }).to_string().as_bytes(),
    );
    assert_eq!(
        (status, &body["object"]["status"]),
        (200, &json!("APPROVED")),
        "{body}"
    );
    let err = crate::commands::refused(
        &[
            &[
                "admin",
                "issuer",
                "approve",
                unregistered["did"].as_str().unwrap(),
            ],
            store_args,
        ]
        .concat(),
    );
    assert!(err.contains("not registered"), "{err}");

    // A key bound to another issuer may not onboard this one.
    let bound_to = ok(&["key", "new"]);
    let bound = ok(&[
        &[
            "admin",
            "key",
            "create",
            "--plan",
            "free",
            "--issuer",
            bound_to["did"].as_str().unwrap(),
        ],
        store_args,
    ]
    .concat());
    let other = ok(&["key", "new"]);
    let (status, body) = server.post(
        create,
        bound["apiKey"].as_str(),
        &json!({ "publicKey": other["publicKey"] }),
    );
    assert_eq!((status, error_of(&body).0.as_str()), (403, "FORBIDDEN"));
}

#[test]
fn serve_on_sqlite() {
    let dir = scratch("serve");
    let data = dir.display().to_string();
    story(&["--data-dir", &data]);
    // What the server recorded exports as a stream that verifies offline: the issuer's KEL
    // (icp, approving ixn), the agent's (dip, anchoring ixn) and the registry's vcp.
    let stream = format!("{data}/export.cesr");
    assert_eq!(
        ok(&["ledger", "export", "--data-dir", &data, "--out", &stream])["events"],
        5
    );
    let report = ok(&["ledger", "verify", "--file", &stream]);
    assert_eq!(report["keyStates"].as_array().unwrap().len(), 2);
    assert_eq!(report["registries"].as_array().unwrap().len(), 1);
    // The agent's keys are sealed under a master key made on first start, readable by its
    // owner only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.join("master.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Without its master key, a data directory whose agents are sealed under it will not
    // start (a new key could not open them).
    std::fs::rename(dir.join("master.key"), dir.join("master.key.moved")).unwrap();
    let err = crate::commands::refused(&["serve", "--listen", "127.0.0.1:0", "--data-dir", &data]);
    assert!(err.contains("is missing"), "{err}");
    // The refusals of `admin key create`.
    let err = crate::commands::refused(&[
        "admin",
        "key",
        "create",
        "--plan",
        "gold",
        "--data-dir",
        &data,
    ]);
    assert!(err.contains("unknown plan"), "{err}");
    let err = crate::commands::refused(&[
        "admin",
        "key",
        "create",
        "--plan",
        "free",
        "--issuer",
        "did:x:1",
        "--data-dir",
        &data,
    ]);
    assert!(err.contains("--issuer"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "needs PostgreSQL: set ZCRED_TEST_DATABASE_URL"
)]
fn serve_on_postgres() {
    let Ok(url) = std::env::var("ZCRED_TEST_DATABASE_URL") else {
        println!("skipped serve_on_postgres: ZCRED_TEST_DATABASE_URL is not set");
        return;
    };
    let dir = scratch("serve-pg");
    let data = dir.display().to_string();
    // A schema of its own (the test database is shared and kept between runs), dropped after.
    let schema = pg_schema("zcred_cli");
    story(&[
        "--database-url",
        &url,
        "--database-schema",
        &schema,
        "--data-dir",
        &data,
    ]);
    // The log in that schema exports and verifies offline.
    std::fs::create_dir_all(&dir).unwrap();
    let stream = format!("{data}/export.cesr");
    let exported = ok(&[
        "ledger",
        "export",
        "--database-url",
        &url,
        "--database-schema",
        &schema,
        "--out",
        &stream,
    ]);
    assert_eq!(exported["events"], 5);
    assert_eq!(
        ok(&["ledger", "verify", "--file", &stream])["registries"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    drop_schema(&url, &schema);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A fresh schema name for one test run.
pub(crate) fn pg_schema(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{tag}_{nanos}_{}", std::process::id())
}

/// Drops a test run's schema.
pub(crate) fn drop_schema(url: &str, schema: &str) {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::raw_sql(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    });
}

/// The zcred issuer status in the DID document's metadata.
fn body_status(server: &Server, did: &str) -> String {
    let (status, doc) = server.call("GET", &format!("/1.0/identifiers/{did}"), None, b"");
    assert_eq!(status, 200, "{doc}");
    doc["didDocumentMetadata"]["zcredIssuerStatus"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The admin API takes the admin token, and nothing else.
fn admin_api(server: &Server, api_key: &str) {
    let create = "/zcred/v1/admin/keys/create";
    let request = json!({ "plan": "free" });
    for token in [None, Some(api_key), Some("not the token")] {
        let (status, body) = server.post(create, token, &request);
        assert_eq!(
            (status, error_of(&body).0.as_str()),
            (401, "UNAUTHENTICATED"),
            "{token:?}"
        );
    }
    let token = Some("an admin token for the tests");
    let (status, body) = server.post(create, token, &request);
    assert_eq!(status, 200, "{body}");
    let new_key = body["object"]["apiKey"].as_str().unwrap().to_owned();
    // The new key is accepted (the request then fails on its body, not on the key).
    let (status, _) = server.post("/cred/bbs/vc/sign", Some(&new_key), &json!({}));
    assert_eq!(status, 400);
    let (status, body) = server.post(create, token, &json!({ "plan": "gold" }));
    assert_eq!((status, error_of(&body).1.as_deref()), (400, Some("/plan")));
    // Operator plans: each bad member is a 400 naming it; a good one is answered back.
    let plans = "/zcred/v1/admin/plans/set";
    for (body, field) in [
        (
            json!({ "name": "Bad Name", "issuancesPerDay": 1, "requestsPerSecond": 1 }),
            "/name",
        ),
        (
            json!({ "name": "standard", "issuancesPerDay": 1, "requestsPerSecond": 1 }),
            "/name",
        ),
        (
            json!({ "name": "p1", "issuancesPerDay": -1, "requestsPerSecond": 1 }),
            "/issuancesPerDay",
        ),
        (
            json!({ "name": "p1", "issuancesPerDay": 1 }),
            "/requestsPerSecond",
        ),
        (
            json!({ "name": "p1", "issuancesPerDay": 1, "requestsPerSecond": 0 }),
            "/requestsPerSecond",
        ),
    ] {
        let (status, answer) = server.post(plans, token, &body);
        assert_eq!(
            (status, error_of(&answer).1.as_deref()),
            (400, Some(field)),
            "{body}: {answer}"
        );
    }
    let body = json!({ "name": "p1", "issuancesPerDay": null, "requestsPerSecond": 7 });
    let (status, answer) = server.post(plans, token, &body);
    assert_eq!((status, &answer["object"]), (200, &body), "{answer}");
    let (status, _) = server.post("/zcred/v1/admin/nothing", token, &request);
    assert_eq!(status, 404);

    // Metrics: operator only; counted by route template (no DIDs in labels).
    let (status, _) = server.call("GET", "/metrics", Some(api_key), b"");
    assert_eq!(status, 401);
    let (status, text) = server.call("GET", "/metrics", token, b"");
    assert_eq!(status, 200);
    let text = text.as_str().unwrap();
    assert!(
        text.contains(
            "zcred_http_requests_total{method=\"POST\",route=\"/cred/bbs/vc/sign\",status=\"200\"}"
        ),
        "{text}"
    );
    assert!(text.contains("route=\"/1.0/identifiers/{did}\""), "{text}");
    assert!(!text.contains("did:zid:"), "no DIDs in labels");
    assert!(text.contains("zcred_http_request_duration_seconds_bucket"));

    // A flood from one free-plan key (5 requests a second) is refused with Retry-After, while
    // other keys are still served.
    let (_, body) = server.post(create, token, &request);
    let free = body["object"]["apiKey"].as_str().unwrap().to_owned();
    let limited: Vec<(u16, String)> = (0..20)
        .map(|_| {
            let (status, head, _) =
                server.call_with_head("POST", "/cred/bbs/vc/sign", Some(&free), b"{}");
            (status, head)
        })
        .filter(|(status, _)| *status == 429)
        .collect();
    assert!(!limited.is_empty(), "20 requests at once exceed 5 a second");
    assert!(
        limited
            .iter()
            .all(|(_, head)| head.contains("retry-after: ")),
        "{limited:?}"
    );
    let (status, _) = server.post("/cred/bbs/vc/sign", Some(api_key), &json!({}));
    assert_eq!(
        status, 400,
        "another key is not limited by this one's flood"
    );
}

/// `/openapi.json` and `/docs` are public and list every route; each route's documented
/// security holds: without credentials a public route is never 401, every other route is.
fn openapi(server: &Server) {
    let (status, doc) = server.call("GET", "/openapi.json", None, b"");
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/cred/v1/vc/apply",
        "/cred/v1/vc/revoke/submit",
        "/zcred/v1/issuer/rotation/create",
        "/1.0/identifiers/{did}",
    ] {
        assert!(paths.contains_key(path), "{path} is documented");
    }
    let mut public = 0;
    for (path, ops) in paths {
        let concrete = path.replace(
            "{did}",
            "did:zid:0000000000000000000000000000000000000000000000000000000000000000",
        );
        for (method, op) in ops.as_object().unwrap() {
            let method = method.to_ascii_uppercase();
            let (status, body) = server.call(&method, &concrete, None, b"{}");
            if op["security"] == json!([]) {
                public += 1;
                assert_ne!(status, 401, "{method} {path} is public: {body}");
            } else {
                assert_eq!(status, 401, "{method} {path} needs credentials: {body}");
            }
            assert!(
                op["responses"][status.to_string()].is_object(),
                "{method} {path} answered {status}, which it does not document"
            );
        }
    }
    assert_eq!(
        public, 6,
        "DID resolution, template contexts, the document and its page, liveness and readiness"
    );
    let (status, head, page) = server.call_with_head("GET", "/docs", None, b"");
    assert_eq!(status, 200);
    assert!(head.contains("text/html"), "{head}");
    assert!(page.to_string().contains("/cred/v1/vc/download"));
}
