//! Resource limits (api.md §1.1, and the counts the route table documents): every route's body
//! over 1 MiB is 413, JSON nested past 32 levels is 400, and each list with a bound (template
//! attributes, signers, messages to sign, templates per application, items per batch, range
//! proofs per presentation, credentials per verified presentation) is refused one past its
//! bound with a 400 naming the member. Then a flood: one key's clients and clients with no key
//! hammer the server while other keys go on being served, every one of their calls answered.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use zcred_crypto::zetrix::SigningKey;
use zcred_crypto::OsRng;
use zcred_server::routes::{Access, ROUTES};

use crate::commands::scratch;
use crate::lifecycle::{accepted, application, created, template, Issuing};
use crate::serve::error_of;

/// The key or token a route takes in these tests.
fn caller<'a>(access: Access, key: &'a str, admin: &'a str) -> Option<&'a str> {
    match access {
        Access::Admin => Some(admin),
        Access::Key => Some(key),
        Access::Public => None,
    }
}

const ADMIN: &str = "the operator's token for a fixture";

#[test]
fn limits_on_sqlite() {
    let dir = scratch("limits");
    let data = dir.display().to_string();
    let fx = Issuing::start(&["--data-dir", &data], "limits", true);
    let (server, ik) = (&fx.server, fx.issuer.api_key.as_str());

    // Every route that reads a body: 413 over 1 MiB, 400 past 32 levels of nesting.
    let huge = vec![b' '; 1024 * 1024 + 1];
    let deep = format!("{{\"a\":{}{}}}", "[".repeat(40), "]".repeat(40));
    for route in ROUTES.iter().filter(|r| r.method == "POST") {
        if route.twin.is_some() {
            // An envelope, not JSON, with its own limit (the plain limit as base64url), checked
            // after its headers: the encrypted tests cover it.
            continue;
        }
        let key = caller(route.access, ik, ADMIN);
        let (status, _, answer) = server.exchange(
            "POST",
            route.path,
            key,
            &[("Content-Type", "application/json")],
            &huge,
        );
        assert_eq!(
            (status, error_of(&answer).0.as_str()),
            (413, "PAYLOAD_TOO_LARGE"),
            "{}: {answer}",
            route.path
        );
        let (status, answer) = server.call("POST", route.path, key, deep.as_bytes());
        assert_eq!(status, 400, "{}: {answer}", route.path);
        assert!(
            error_of(&answer).1.is_some() && answer.to_string().contains("32"),
            "{}: the refusal names where and the limit: {answer}",
            route.path
        );
    }

    // Each bounded list, one past its bound: 400 naming the member.
    let bounded = |path: &str, body: &Value, field: &str| {
        let (status, answer) = server.post(path, Some(ik), body);
        assert_eq!(
            (status, error_of(&answer).1.as_deref()),
            (400, Some(field)),
            "{path} one past the bound of {field}: {answer}"
        );
        answer
    };
    // 101 template attributes.
    let mut body = template(&fx.issuer, "Limits Licence");
    body["credentialFormat"] = Value::Array(
        (0..101)
            .map(|i| json!({"attribute": format!("A{i}"), "format": "STRING", "key": format!("a{i}"), "mandatory": false, "type": "USER"}))
            .collect(),
    );
    bounded("/cred/tds/template/blob/create", &body, "/credentialFormat");
    // 9 signers.
    let signer = json!({ "signBlob": "00".repeat(64), "publicKey": fx.issuer.key.verifying_key().to_zetrix() });
    bounded(
        "/cred/tds/template/submit",
        &json!({ "blobId": "0123", "signerList": vec![signer; 9] }),
        "/signerList",
    );
    // 257 messages to BBS+-sign.
    bounded(
        "/cred/bbs/vc/sign",
        &json!({
            "publicKeyMultibase": fx.issuer.bbs.public().to_multibase(),
            "privateKeyMultibase": *fx.issuer.bbs.secret().to_multibase(),
            "data": vec!["AA=="; 257],
        }),
        "/data",
    );
    // 11 templates in one application.
    let holder = SigningKey::generate(&mut OsRng);
    let one = json!({ "templateId": fx.template, "metadata": { "name": "N", "age": "1" } });
    bounded(
        "/cred/v1/vc/apply",
        &application(&holder, Value::Array(vec![one; 11])),
        "/data",
    );
    // 101 items in one batch.
    let (_, _, submit) = created(server, &fx.si, &fx.issuer, &fx.template, 0);
    bounded(
        "/zcred/v1/vc/submit/batch",
        &json!({ "items": vec![submit.clone(); 101] }),
        "/items",
    );
    // A VC to present: 9 range proofs, and one attribute asked for twice.
    let vc = accepted(server, ik, "/cred/v1/vc/submit", &submit)["vc"].clone();
    let range = json!({ "attribute": "fixtureLicence.age", "min": 0, "max": 200 });
    bounded(
        "/cred/v1/vp/create",
        &json!({ "vc": vc, "rangeProof": vec![range.clone(); 9] }),
        "/rangeProof",
    );
    bounded(
        "/cred/v1/vp/create",
        &json!({ "vc": vc, "rangeProof": [range.clone(), range] }),
        "/rangeProof/1/attribute",
    );
    // 11 credentials in one presentation to verify (checked before any proof is).
    let blob = accepted(server, ik, "/cred/v1/vp/create", &json!({ "vc": vc }));
    let vp = json!({
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "type": ["VerifiablePresentation"],
        "holder": fx.issuer.did,
        "verifiableCredential": vec![vc.clone(); 11],
        "proof": {},
    });
    assert!(blob["blobId"].is_string());
    bounded(
        "/cred/v1/vp/verify",
        &json!({ "vpObject": vp }),
        "/vpObject/verifiableCredential",
    );
    // A seed over 1024 characters; a template name over 128.
    bounded(
        "/cred/bbs/create",
        &json!({ "seed": "a".repeat(1025) }),
        "/seed",
    );
    bounded(
        "/cred/tds/template/blob/create",
        &template(&fx.issuer, &"N".repeat(129)),
        "/templateName",
    );
    // After all of it the server still answers, and nothing was issued by the refusals.
    let (status, _) = server.call("GET", "/health", Some(ik), b"");
    assert_eq!(status, 200);
    drop(fx);
    let _ = std::fs::remove_dir_all(&dir);
}

/// One key (the free plan: 5 requests a second) floods the server from 8 clients, and 4
/// clients without a key flood it too, for 3 seconds. Meanwhile the integrator and the issuer
/// (other keys) issue credentials and make presentations one after another: every one of
/// their calls is answered 200. The flooding key gets 429s, each with `Retry-After`; the
/// keyless clients get 401s; nobody gets a 5xx; afterwards the flooding key is served again.
#[test]
fn flood_from_one_key_on_sqlite() {
    let dir = scratch("flood");
    let data = dir.display().to_string();
    let fx = Issuing::start(&["--data-dir", &data], "flood", true);
    let made = accepted(
        &fx.server,
        ADMIN,
        "/zcred/v1/admin/keys/create",
        &json!({ "plan": "free" }),
    );
    let flooder = made["apiKey"].as_str().unwrap().to_owned();
    let server = Arc::new(fx.server);
    let stop = Arc::new(AtomicBool::new(false));
    let seen: Arc<Mutex<Vec<(u16, bool)>>> = Arc::default();
    let mut clients = Vec::new();
    for i in 0..12 {
        let (server, stop, seen) = (server.clone(), stop.clone(), seen.clone());
        let key = (i < 8).then(|| flooder.clone());
        clients.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let (status, head, _) =
                    server.call_with_head("POST", "/cred/v1/vp/challenge", key.as_deref(), b"{}");
                let retry_after = head.contains("retry-after:");
                seen.lock().unwrap().push((status, retry_after));
            }
        }));
    }

    // The other keys' work, meanwhile.
    let started = Instant::now();
    let mut latencies = Vec::new();
    let mut n = 0;
    while started.elapsed() < Duration::from_secs(3) {
        let begun = Instant::now();
        let (holder, vc_id, submit) = created(&server, &fx.si, &fx.issuer, &fx.template, n);
        let vc = accepted(&server, &fx.issuer.api_key, "/cred/v1/vc/submit", &submit)["vc"].clone();
        let body = json!({ "vcId": vc_id, "signVcId": holder.sign(vc_id.as_bytes()).to_hex() });
        accepted(&server, &fx.si, "/cred/v1/vc/download", &body);
        accepted(&server, &fx.si, "/cred/v1/vp/create", &json!({ "vc": vc }));
        latencies.push(begun.elapsed());
        n += 1;
    }
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().unwrap();
    }
    let seen = seen.lock().unwrap();
    let count = |wanted: u16| seen.iter().filter(|(s, _)| *s == wanted).count();
    assert!(n >= 1, "the other keys were served");
    assert!(count(429) > 0, "the flooding key was limited");
    assert!(count(401) > 0, "the keyless clients were refused");
    assert_eq!(
        count(200) + count(429) + count(401),
        seen.len(),
        "only 200, 429 and 401 under the flood"
    );
    assert!(
        seen.iter().filter(|(s, _)| *s == 429).all(|(_, r)| *r),
        "every 429 says when to retry"
    );
    // The flooding key may call again once its bucket refills (at most a second).
    std::thread::sleep(Duration::from_millis(1100));
    let (status, _) = server.post("/cred/v1/vp/challenge", Some(&flooder), &json!({}));
    assert_eq!(status, 200);
    latencies.sort();
    println!(
        "flood: {} flood calls ({} limited, {} without a key); the other keys made {n} issuances with download and presentation, median {:?}, slowest {:?}",
        seen.len(),
        count(429),
        count(401),
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );
    let _ = std::fs::remove_dir_all(&dir);
}
