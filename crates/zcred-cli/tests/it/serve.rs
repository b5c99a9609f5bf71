//! `zcred serve` as a process on a loopback port: API keys made by `zcred admin key create`,
//! the envelope, status codes in the documented order, strict bodies, the BBS+ signing
//! utility, and a graceful stop on SIGTERM. Runs on SQLite, and on PostgreSQL too when
//! `ZCRED_TEST_DATABASE_URL` is set.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use zcred_crypto::bbs;
use zcred_crypto::multibase;

use crate::commands::ok;

/// A running server, stopped (SIGTERM, then waited for) when dropped.
struct Server {
    child: Child,
    address: String,
}

impl Server {
    fn start(store_args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_zcred"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(store_args)
            .env_remove("ZCRED_LISTEN")
            .env_remove("ZCRED_DATA_DIR")
            .env_remove("ZCRED_DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("zcred serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ready: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
            let mut err = String::new();
            child.stderr.take().unwrap().read_to_string(&mut err).ok();
            panic!("no ready line ({e}): {line:?}; stderr: {err}")
        });
        Server {
            child,
            address: ready["listening"].as_str().unwrap().to_owned(),
        }
    }

    /// One HTTP/1.1 request; returns the status and the body as JSON.
    fn call(&self, method: &str, path: &str, key: Option<&str>, body: &[u8]) -> (u16, Value) {
        let mut stream = TcpStream::connect(&self.address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            self.address,
            body.len()
        );
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
        let json = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
        (status, json)
    }

    fn post(&self, path: &str, key: Option<&str>, body: &Value) -> (u16, Value) {
        self.call("POST", path, key, body.to_string().as_bytes())
    }

    /// Sends SIGTERM and waits for a clean exit.
    fn stop(mut self) -> std::process::ExitStatus {
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

/// The error message's code and field.
fn error_of(body: &Value) -> (String, Option<String>) {
    assert_eq!(body["object"], Value::Null, "{body}");
    let m = &body["messages"][0];
    (
        m["code"].as_str().unwrap().to_owned(),
        m["field"].as_str().map(str::to_owned),
    )
}

fn story(store_args: &[&str]) {
    let key = ok(&[
        &["admin", "key", "create", "--plan", "standard"],
        store_args,
    ]
    .concat());
    let key = key["apiKey"].as_str().unwrap().to_owned();
    assert!(key.starts_with("zk_"));
    let server = Server::start(store_args);

    // Health needs no key.
    let (status, body) = server.call("GET", "/health", None, b"");
    assert_eq!(
        (status, &body["object"]["status"]),
        (200, &json!("ok")),
        "{body}"
    );
    assert_eq!(body["messages"], json!([]));

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
    let key = Some(key.as_str());
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

    // SIGTERM: a clean exit.
    assert!(server.stop().success());
}

#[test]
fn serve_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("zcred-serve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data = dir.display().to_string();
    story(&["--data-dir", &data]);
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
fn serve_on_postgres() {
    let Ok(url) = std::env::var("ZCRED_TEST_DATABASE_URL") else {
        println!("skipped serve_on_postgres: ZCRED_TEST_DATABASE_URL is not set");
        return;
    };
    story(&["--database-url", &url]);
}
