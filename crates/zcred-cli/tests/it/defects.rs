//! Single-node defects found by trying zcred as operators and third-party clients would
//! (issue 18), each pinned by a test against the real `zcred serve` (SQLite): a refused submit
//! that locked its step, squatted onboarding blobs, racing revocation creates, a log sink that
//! stops reading, connections that never finish sending, racing verifies of one challenge, a
//! master key that does not open the sealed keys, IMAGE values that are not base64, and the
//! api.md clarifications (§2.5, §2.8, OP-4).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use zcred_crypto::zetrix::SigningKey;
use zcred_crypto::OsRng;

use crate::commands::{api_key, ok, scratch};
use crate::lifecycle::{
    accepted, application, created, refused, signers, zcred_model_did, Issuing,
};
use crate::presentation::vp_signed;
use crate::serve::{error_of, Server};

/// A fixture on a fresh SQLite directory.
fn fixture(tag: &str) -> (Issuing, std::path::PathBuf) {
    let dir = scratch(tag);
    let data = dir.display().to_string();
    (Issuing::start(&["--data-dir", &data], tag, true), dir)
}

/// An issued credential of the fixture: its holder and vcId.
fn issued(fx: &Issuing, n: usize) -> (SigningKey, String) {
    let (holder, vc_id, submit) = created(&fx.server, &fx.si, &fx.issuer, &fx.template, n);
    accepted(
        &fx.server,
        &fx.issuer.api_key,
        "/cred/v1/vc/submit",
        &submit,
    );
    (holder, vc_id)
}

fn revoke_create(fx: &Issuing, vc_id: &str) -> (u16, Value) {
    fx.server.post(
        "/cred/v1/vc/revoke/create",
        Some(&fx.issuer.api_key),
        &json!({ "vcId": vc_id, "issuerAddress": fx.issuer.key.verifying_key().address().to_string() }),
    )
}

/// A revoke submit signed by a key that is not the issuer's is refused, and the issuer goes on
/// at once: its create hands the same blob back (it was 409 "a blob for this step is pending"
/// for 30 minutes), and signed by the right key it lands.
#[test]
fn a_refused_submit_leaves_the_caller_able_to_go_on() {
    let (fx, dir) = fixture("defect-refused");
    let (_, vc_id) = issued(&fx, 1);
    let (status, first) = revoke_create(&fx, &vc_id);
    assert_eq!(status, 200, "{first}");
    let stale = SigningKey::generate(&mut OsRng);
    let (status, answer) = fx.server.post(
        "/cred/v1/vc/revoke/submit",
        Some(&fx.issuer.api_key),
        &signers(&first["object"], &stale),
    );
    assert_eq!(
        (status, error_of(&answer).0.as_str()),
        (401, "SIGNATURE_MISMATCH")
    );
    let (status, again) = revoke_create(&fx, &vc_id);
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        again["object"], first["object"],
        "the pending blob, handed back"
    );
    let done = accepted(
        &fx.server,
        &fx.issuer.api_key,
        "/cred/v1/vc/revoke/submit",
        &signers(&again["object"], &fx.issuer.key),
    );
    assert_eq!(done["status"], "REVOKED");
    let _ = std::fs::remove_dir_all(dir);
}

/// Ten concurrent revoke creates for one ISSUED credential hand out one blob (they handed out
/// two or three different pending `rev` events, api.md §4: one unexpired blob per step).
#[test]
fn concurrent_revoke_creates_hand_out_one_blob() {
    let (fx, dir) = fixture("defect-revoke-race");
    let (_, vc_id) = issued(&fx, 1);
    let fx = std::sync::Arc::new(fx);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(10));
    let answers: Vec<(u16, Value)> = (0..10)
        .map(|_| {
            let (fx, barrier, vc_id) = (fx.clone(), barrier.clone(), vc_id.clone());
            std::thread::spawn(move || {
                barrier.wait();
                revoke_create(&fx, &vc_id)
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let blobs: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|(status, answer)| {
            assert_eq!(*status, 200, "{answer}");
            answer["object"]["blobId"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        blobs.len(),
        1,
        "one pending rev for one credential: {blobs:?}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// A key bound to no issuer made onboarding blobs for someone else's public key (inception,
/// then delegation and attributes): they no longer block that issuer, whose key bound to its
/// DID takes the steps over (it was 409 for 30 minutes, renewably).
#[test]
fn squatted_onboarding_blobs_do_not_block_the_issuer() {
    let dir = scratch("defect-squat");
    let data = dir.display().to_string();
    let store = ["--data-dir", data.as_str()];
    let server = Server::start(&store);
    let squatter = api_key(&store);
    let victim = SigningKey::generate(&mut OsRng);
    let next = SigningKey::generate(&mut OsRng);
    let did = zcred_model_did(&victim);
    let bound = ok(&[
        &[
            "admin",
            "key",
            "create",
            "--plan",
            "unlimited",
            "--issuer",
            &did,
        ],
        &store[..],
    ]
    .concat())["apiKey"]
        .as_str()
        .unwrap()
        .to_owned();
    let inception = json!({
        "publicKey": victim.verifying_key().to_zetrix(),
        "nextPublicKey": next.verifying_key().to_zetrix(),
    });
    let create = "/zcred/v1/issuer/inception/create";
    accepted(&server, &squatter, create, &inception);
    let blob = accepted(&server, &bound, create, &inception);
    accepted(
        &server,
        &bound,
        "/zcred/v1/issuer/inception/submit",
        &signers(&blob, &victim),
    );
    // The same for the next steps, squatted by the unbound key first.
    for (create, submit, body) in [
        (
            "/zcred/v1/issuer/delegation/create",
            "/zcred/v1/issuer/delegation/submit",
            json!({ "did": did }),
        ),
        (
            "/zcred/v1/issuer/attributes/create",
            "/zcred/v1/issuer/attributes/submit",
            json!({ "did": did, "x25519PublicKey": zcred_crypto::multibase::base64url(&[9; 32]) }),
        ),
    ] {
        accepted(&server, &squatter, create, &body);
        let blob = accepted(&server, &bound, create, &body);
        accepted(&server, &bound, submit, &signers(&blob, &victim));
    }
    // An unbound key cannot take over a blob of the bound key.
    let rotate = json!({ "did": did, "publicKey": next.verifying_key().to_zetrix() });
    accepted(&server, &bound, "/zcred/v1/issuer/rotation/create", &rotate);
    refused(
        &server,
        &squatter,
        "/zcred/v1/issuer/rotation/create",
        &rotate,
        409,
        "INVALID_STATE",
    );
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

/// With standard output and error going to a FIFO that nobody reads any more, the server keeps
/// answering (it hung after about 730 requests, and ignored SIGTERM) and stops on SIGTERM.
#[cfg(unix)]
#[test]
fn a_log_sink_that_stops_reading_does_not_stop_the_server() {
    let dir = scratch("defect-fifo");
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("log.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let data = dir.join("data").display().to_string();
    // Open the reading end first without blocking (O_NONBLOCK), so that the writing end can be
    // opened; the server gets the writing end as its standard output and error.
    let mut reader = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(0o4000)
            .open(&fifo)
            .unwrap()
    };
    let sink = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    let mut child = Server::command(&["--data-dir", &data])
        .stdout(Stdio::from(sink.try_clone().unwrap()))
        .stderr(Stdio::from(sink))
        .spawn()
        .unwrap();
    // Read until the ready line, then never read again.
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let address = loop {
        let mut buffer = [0u8; 4096];
        match reader.read(&mut buffer) {
            Ok(n) => seen.extend_from_slice(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("{e}"),
        }
        let text = String::from_utf8_lossy(&seen).into_owned();
        if let Some(address) = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find_map(|v| v["listening"].as_str().map(str::to_owned))
        {
            break address;
        }
        assert!(Instant::now() < deadline, "no ready line: {text}");
        std::thread::sleep(Duration::from_millis(10));
    };
    // Each request writes a log line: a few thousand fill the pipe many times over. (DID
    // resolution: public, cheap, and served by every version.)
    let unknown = format!(
        "/1.0/identifiers/{}",
        zcred_model_did(&SigningKey::generate(&mut OsRng))
    );
    for n in 0..3000 {
        let mut stream = TcpStream::connect(&address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        write!(
            stream,
            "GET {unknown} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream
            .read_to_string(&mut answer)
            .unwrap_or_else(|e| panic!("request {n} got no answer: {e}"));
        assert!(answer.starts_with("HTTP/1.1 404"), "request {n}: {answer}");
    }
    let pid = child.id().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "zcred serve ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(reader);
    let _ = std::fs::remove_dir_all(dir);
}

/// Reads from `stream` until the server closes it; `false` when it stayed open for `limit`.
fn closed_by_server(stream: &mut TcpStream, limit: Duration) -> (bool, String) {
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut got = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return (true, String::from_utf8_lossy(&got).into_owned()),
            Ok(n) => got.extend_from_slice(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return (true, String::from_utf8_lossy(&got).into_owned())
            }
            Err(_) => return (false, String::from_utf8_lossy(&got).into_owned()),
        }
    }
}

/// A silent connection, a half-sent header, a body sent a byte every half second and an idle
/// kept-alive connection are all closed (they stayed open indefinitely, with no API key).
#[test]
fn connections_that_never_finish_sending_are_closed() {
    let dir = scratch("defect-slow");
    let data = dir.display().to_string();
    let server = Server::start(&[
        "--data-dir",
        &data,
        "--header-timeout-seconds",
        "1",
        "--body-timeout-seconds",
        "2",
    ]);
    let limit = Duration::from_secs(15);
    let connect = || TcpStream::connect(&server.address).unwrap();

    let mut silent = connect();
    assert!(
        closed_by_server(&mut silent, limit).0,
        "a silent connection stayed open"
    );

    let mut half = connect();
    write!(half, "POST /cred/v1/vc/apply HTTP/1.1\r\nHost: x\r\n").unwrap();
    assert!(
        closed_by_server(&mut half, limit).0,
        "a half-sent header stayed open"
    );

    let mut slow = connect();
    write!(
        slow,
        "POST /cred/v1/vc/apply HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer zk_nope\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    )
    .unwrap();
    // The unknown key is refused first (401, api.md §1.4): a keyless slow body costs nothing.
    let (_, answer) = closed_by_server(&mut slow, limit);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    let key = api_key(&["--data-dir", &data]);
    let mut slow = connect();
    write!(
        slow,
        "POST /cred/v1/vc/apply HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    )
    .unwrap();
    let writer = {
        let mut slow = slow.try_clone().unwrap();
        std::thread::spawn(move || {
            for _ in 0..20 {
                if slow.write_all(b" ").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        })
    };
    let (closed, answer) = closed_by_server(&mut slow, limit);
    assert!(closed, "a slow body held the connection: {answer}");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("did not arrive within 2 s"), "{answer}");
    writer.join().unwrap();

    let mut idle = connect();
    write!(idle, "GET /livez HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let (closed, answer) = closed_by_server(&mut idle, limit);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(closed, "an idle kept-alive connection stayed open");
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

/// Ten parallel verifies of one presentation bound to one challenge: one says verified, the
/// other nine answer 200 `verified:false` "Challenge already used" (some got HTTP 409).
#[test]
fn racing_verifies_of_one_challenge_all_get_their_answer() {
    let (fx, dir) = fixture("defect-challenge");
    let (holder, vc_id) = issued(&fx, 1);
    let vc = accepted(
        &fx.server,
        &fx.si,
        "/cred/v1/vc/download",
        &json!({ "vcId": vc_id, "signVcId": holder.sign(vc_id.as_bytes()).to_hex() }),
    );
    let challenge = accepted(&fx.server, &fx.si, "/cred/v1/vp/challenge", &json!({}))["challenge"]
        .as_str()
        .unwrap()
        .to_owned();
    let blob = accepted(
        &fx.server,
        &fx.si,
        "/cred/v1/vp/create",
        &json!({ "vc": vc, "challenge": challenge }),
    );
    let vp = accepted(
        &fx.server,
        &fx.si,
        "/cred/v1/vp/submit",
        &vp_signed(&blob, &holder, &holder),
    )["vpObject"]
        .clone();
    let fx = std::sync::Arc::new(fx);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(10));
    let outcomes: Vec<(u16, Value)> = (0..10)
        .map(|_| {
            let (fx, barrier) = (fx.clone(), barrier.clone());
            let body = json!({ "vpObject": vp, "challenge": challenge });
            std::thread::spawn(move || {
                barrier.wait();
                fx.server.post("/cred/v1/vp/verify", Some(&fx.si), &body)
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let mut verified = 0;
    for (status, answer) in &outcomes {
        assert_eq!(*status, 200, "{answer}");
        if answer["object"]["verified"] == true {
            verified += 1;
        } else {
            assert!(
                answer.to_string().contains("Challenge already used"),
                "{answer}"
            );
        }
    }
    assert_eq!(verified, 1, "{outcomes:?}");
    let _ = std::fs::remove_dir_all(dir);
}

/// A `--master-key-file` that does not open the agents' sealed keys refuses to start, naming
/// the file (it started, and failed the first issuance with 500).
#[test]
fn a_master_key_that_opens_nothing_refuses_to_start() {
    let (fx, dir) = fixture("defect-master");
    let args = fx.args.clone();
    drop(fx);
    let wrong = dir.join("another.key");
    std::fs::write(&wrong, "ab".repeat(32)).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrong, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let wrong = wrong.display().to_string();
    let mut serve: Vec<&str> = vec!["--master-key-file", &wrong];
    serve.extend(args.iter().map(String::as_str));
    let mut child = Server::command(&serve)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("zcred serve started with a master key that opens nothing");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(2));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        stderr.contains("--master-key-file") && stderr.contains(&wrong),
        "{stderr}"
    );
    assert!(stderr.contains("does not open the sealed keys"), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}

/// An IMAGE value whose data URL payload is not base64 is refused at apply, naming it (api.md
/// §8.1: values well formed for their format); it was accepted.
#[test]
fn an_image_that_is_not_base64_is_refused() {
    let dir = scratch("defect-image");
    let data = dir.display().to_string();
    let Issuing {
        server, si, issuer, ..
    } = Issuing::start(&["--data-dir", &data], "defect-image", true);
    let template = crate::presentation::register_template(
        &server,
        &issuer,
        "Photo Card",
        json!([{"attribute": "Photo", "format": "IMAGE", "key": "photo", "mandatory": true, "type": "USER"}]),
    );
    let holder = SigningKey::generate(&mut OsRng);
    for (photo, status) in [
        ("data:image/png;base64,this is not base64!", 400),
        ("data:image/png;base64,", 400),
        ("data:image/png;base64,iVBORw0KGgo=", 200),
    ] {
        let body = application(
            &holder,
            json!([{ "templateId": template, "metadata": { "photo": photo } }]),
        );
        let (got, answer) = server.post("/cred/v1/vc/apply", Some(&si), &body);
        assert_eq!(got, status, "{photo}: {answer}");
        if status == 400 {
            let (code, field) = error_of(&answer);
            assert_eq!(code, "INVALID_FORMAT", "{answer}");
            assert!(field.unwrap_or_default().ends_with("/photo"), "{answer}");
        }
    }
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

/// api.md §2.8: a number in signed data is signed as Python writes it (an integer of any size
/// stays exact, `-0` is `0`); it was signed as `1.2345678901234568e+22`. OP-4: `signVcId` is
/// over the vcId exactly as sent (in uppercase too); it was checked over the lowercased form.
/// §2.5: a malformed BBS+ signature is `INVALID_SIGNATURE_FORMAT`, a malformed key
/// `INVALID_FORMAT`.
#[test]
fn signatures_are_over_what_was_sent() {
    let (fx, dir) = fixture("defect-numbers");
    let holder = SigningKey::generate(&mut OsRng);
    let data = format!(
        r#"[{{"templateId": "{}", "metadata": {{"name": "Big", "age": 12345678901234567890123, "gender": -0}}}}]"#,
        fx.template
    );
    // What Python's json.dumps(json.loads(data), sort_keys=True, separators=(',',':')) gives.
    let python = format!(
        r#"[{{"metadata":{{"age":12345678901234567890123,"gender":0,"name":"Big"}},"templateId":"{}"}}]"#,
        fx.template
    );
    let body = format!(
        r#"{{"data": {data}, "signData": "{}", "publicKey": "{}"}}"#,
        holder.sign(python.as_bytes()).to_hex(),
        holder.verifying_key().to_zetrix()
    );
    let (status, answer) =
        fx.server
            .call("POST", "/cred/v1/vc/apply", Some(&fx.si), body.as_bytes());
    assert_eq!(status, 200, "{answer}");

    // Download with the vcId in uppercase, signed as sent.
    let (holder, vc_id) = issued(&fx, 2);
    let upper = format!("did:zid:{}", vc_id["did:zid:".len()..].to_uppercase());
    let body = json!({ "vcId": upper, "signVcId": holder.sign(upper.as_bytes()).to_hex() });
    let (status, answer) = fx.server.post("/cred/v1/vc/download", Some(&fx.si), &body);
    assert_eq!(status, 200, "{answer}");

    // Malformed BBS+ signature and key at submit.
    let (_, _, submit) = created(&fx.server, &fx.si, &fx.issuer, &fx.template, 3);
    let mut bad_sig = submit.clone();
    bad_sig["bbsBlsSignData"] = json!("uAAAA");
    let answer = refused(
        &fx.server,
        &fx.issuer.api_key,
        "/cred/v1/vc/submit",
        &bad_sig,
        400,
        "INVALID_SIGNATURE_FORMAT",
    );
    assert_eq!(answer["messages"][0]["field"], "/bbsBlsSignData");
    let mut bad_key = submit;
    bad_key["bbsBlsPubKey"] = json!("zNotAKey");
    refused(
        &fx.server,
        &fx.issuer.api_key,
        "/cred/v1/vc/submit",
        &bad_key,
        400,
        "INVALID_FORMAT",
    );
    let _ = std::fs::remove_dir_all(dir);
}
