//! The client commands (`zcred issuer | template | holder`) against `zcred serve` on SQLite,
//! as the README's walkthrough runs them, and then key rotation end to end: the issuer's own
//! key (`zcred issuer rotate`) and the service's anchoring agent (`--agent`), with the
//! rotation endpoints' refusals, a second credential issued under the rotated keys, and
//! `zcred ledger verify` over the export. An operator plan's daily quota gives 429.

use serde_json::{json, Value};
use zcred_crypto::zetrix::SigningKey;

use crate::commands::{ok, scratch, zcred};
use crate::serve::{error_of, Server};

/// Runs a client command against `server` with `key` and the key file `keys` (with
/// `--encrypted` when the server is the encrypted kind).
fn client(server: &Server, key: &str, keys: &str, args: &[&str]) -> Value {
    let url = server.url();
    let encrypted: &[&str] = if server.encrypted {
        &["--encrypted"]
    } else {
        &[]
    };
    ok(&[
        args,
        &["--server", &url, "--api-key", key, "--keys", keys],
        encrypted,
    ]
    .concat())
}

fn key_file(path: &str) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn issuer_key(path: &str, name: &str) -> SigningKey {
    SigningKey::from_zetrix(key_file(path)["issuer"][name].as_str().unwrap()).unwrap()
}

fn controller_key(server: &Server, did: &str) -> Value {
    let (status, doc) = server.call("GET", &format!("/1.0/identifiers/{did}"), None, b"");
    assert_eq!(status, 200, "{doc}");
    doc["didDocument"]["verificationMethod"][0]["publicKeyMultibase"].clone()
}

fn multibase_of(key: &SigningKey) -> Value {
    let mut bytes = vec![0xed, 0x01];
    bytes.extend_from_slice(&key.verifying_key().to_bytes());
    json!(zcred_crypto::multibase::encode_base58btc(&bytes))
}

/// Apply (holder), issue (issuer), download (holder): the downloaded VC.
fn issue_one(server: &Server, si: &str, ik: &str, keys: &str, template: &str) -> (String, Value) {
    let applied = client(
        server,
        si,
        keys,
        &[
            "holder",
            "apply",
            "--template",
            template,
            "--data",
            r#"{"name": "Ali bin Abu"}"#,
        ],
    );
    let vc_id = applied["vcId"].as_str().unwrap().to_owned();
    let data = format!(r#"[{{"templateId": "{template}", "metadata": {{"class": "B2"}}}}]"#);
    let issued = client(
        server,
        ik,
        keys,
        &["issuer", "issue", &vc_id, "--data", &data],
    );
    assert!(issued["downloadExpiryDate"].is_u64(), "{issued}");
    let vc = client(server, si, keys, &["holder", "download", &vc_id]);
    (vc_id, vc)
}

/// `zcred vc verify` on `vc` with the issuer keys of the key file as they are now.
fn verified(dir: &str, keys: &str, did: &str, vc: &Value) -> Value {
    let path = format!("{dir}/vc-{}.json", std::process::id());
    std::fs::write(&path, vc.to_string()).unwrap();
    let public = issuer_key(keys, "privateKey").verifying_key().to_zetrix();
    let bbs_secret = key_file(keys)["issuer"]["bbsPrivateKey"]
        .as_str()
        .unwrap()
        .to_owned();
    let bbs_public = ok(&["bbs", "public", "--key", &bbs_secret]);
    let bbs_public = bbs_public["publicKeyMultibase"]
        .as_str()
        .or_else(|| bbs_public.as_str())
        .unwrap()
        .to_owned();
    let out = zcred(&[
        "vc",
        "verify",
        "--issuer-key",
        &public,
        "--issuer-bbs-key",
        &bbs_public,
        "--issuer-did",
        did,
        &path,
    ]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let _ = std::fs::remove_file(&path);
    report
}

/// What the README's walkthrough leaves behind.
struct Walkthrough {
    si: String,
    ik: String,
    keys: String,
    did: String,
    template: String,
    vc: Value,
}

/// The README's walkthrough: onboard, approve, an issuer key, a template, one credential
/// applied for, issued, downloaded and verified.
fn walkthrough(server: &Server, store: &[&str], data: &str) -> Walkthrough {
    let keys = format!("{data}/keys.json");
    let si = ok(&[&["admin", "key", "create", "--plan", "standard"], store].concat());
    let si = si["apiKey"].as_str().unwrap().to_owned();
    let onboarded = client(server, &si, &keys, &["issuer", "onboard"]);
    assert_eq!(onboarded["status"], "PENDING");
    let did = onboarded["did"].as_str().unwrap().to_owned();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&keys).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the key file is private");
    }
    // Onboarding again is idempotent: the same DID, and no new event in its KEL (a second
    // run used to anchor the BBS+ key again, moving its window).
    let kel_sn = |server: &Server| {
        let (status, doc) = server.call("GET", &format!("/1.0/identifiers/{did}"), None, b"");
        assert_eq!(status, 200, "{doc}");
        doc["didDocumentMetadata"]["sn"].clone()
    };
    let before = kel_sn(server);
    let again = client(server, &si, &keys, &["issuer", "onboard"]);
    assert_eq!(again["did"], did.as_str());
    assert_eq!(kel_sn(server), before, "a second onboard wrote nothing");
    ok(&[&["admin", "issuer", "approve", &did], store].concat());
    let ik = ok(&[
        &[
            "admin", "key", "create", "--plan", "standard", "--issuer", &did,
        ],
        store,
    ]
    .concat());
    let ik = ik["apiKey"].as_str().unwrap().to_owned();
    let template_file = format!("{data}/license.json");
    std::fs::write(
        &template_file,
        json!({"templateName": "DrivingLicense", "version": "1.0.0", "credentialFormat": [
            {"attribute": "Name", "format": "STRING", "key": "name", "mandatory": true, "type": "USER"},
            {"attribute": "Class", "format": "STRING", "key": "class", "mandatory": true, "type": "FIXED"}]})
        .to_string(),
    )
    .unwrap();
    let template = client(server, &ik, &keys, &["template", "create", &template_file]);
    let template = template["templateId"].as_str().unwrap().to_owned();
    let (_, vc) = issue_one(server, &si, &ik, &keys, &template);
    assert_eq!(
        vc["credentialSubject"]["drivingLicense"]["class"], "B2",
        "{vc}"
    );
    assert_eq!(verified(data, &keys, &did, &vc)["verified"], true);
    Walkthrough {
        si,
        ik,
        keys,
        did,
        template,
        vc,
    }
}

/// The walkthrough with `--encrypted`: apply, issue (create and submit) and download go to
/// their `/enc/` twins, sealed; the metrics show no plain call to those routes.
#[test]
fn client_commands_encrypted_on_sqlite() {
    let dir = scratch("client-enc");
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.display().to_string();
    let token = format!("{data}/admin-token");
    let admin = "the operator's token for the encrypted client test";
    std::fs::write(&token, admin).unwrap();
    let store = ["--data-dir", data.as_str()];
    let server = Server::start_encrypted(&[&store[..], &["--admin-token-file", &token]].concat());
    let w = walkthrough(&server, &store, &data);
    // A second credential, and its revocation (which has no twin and goes plain).
    let (vc_id, _) = issue_one(&server, &w.si, &w.ik, &w.keys, &w.template);
    let revoked = client(&server, &w.ik, &w.keys, &["issuer", "revoke", &vc_id]);
    assert!(revoked["txHash"].is_string(), "{revoked}");
    server.assert_only_encrypted(admin);
    assert!(server.stop().success());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn client_commands_and_rotation_on_sqlite() {
    let dir = scratch("client");
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.display().to_string();
    let store = ["--data-dir", data.as_str()];
    let server = Server::start(&store);
    let Walkthrough {
        si,
        ik,
        keys,
        did,
        template,
        vc,
    } = walkthrough(&server, &store, &data);

    // The issuer rotates its key with the CLI.
    let old = issuer_key(&keys, "privateKey");
    let next = issuer_key(&keys, "nextPrivateKey");
    assert_eq!(controller_key(&server, &did), multibase_of(&old));
    let rotated = client(&server, &ik, &keys, &["issuer", "rotate"]);
    assert_eq!(rotated["did"], did.as_str());
    assert!(rotated["sn"].as_u64().unwrap() >= 2, "{rotated}");
    assert_eq!(controller_key(&server, &did), multibase_of(&next));
    let file = key_file(&keys);
    assert_eq!(file["issuer"]["did"], did.as_str());
    assert_eq!(file["issuer"]["privateKey"], next.to_zetrix().as_str());
    assert!(file["issuer"].get("pendingNextPrivateKey").is_none());

    // The old key no longer signs for the issuer: a template signed with it is refused.
    let blob = server.post(
        "/cred/tds/template/blob/create",
        Some(&ik),
        &json!({"templateName": "Old", "issuerZid": did, "version": "1.0.0", "credentialFormat": [
            {"attribute": "Name", "format": "STRING", "key": "name", "mandatory": true, "type": "USER"}]}),
    );
    assert_eq!(blob.0, 200, "{}", blob.1);
    let (got, answer) = server.post(
        "/cred/tds/template/submit",
        Some(&ik),
        &signed(&blob.1["object"], &old),
    );
    assert_eq!(
        (got, error_of(&answer).0.as_str()),
        (401, "SIGNATURE_MISMATCH"),
        "{answer}"
    );

    // The agent's rotation: a blob made before the agent anchored an issuance is stale (409),
    // and used up by that refusal, so the CLI can rotate at once.
    let agent_create = "/zcred/v1/issuer/agent/rotation/create";
    let created = server.post(agent_create, Some(&ik), &json!({ "did": did }));
    assert_eq!(created.0, 200, "{}", created.1);
    let stale = created.1["object"].clone();
    // Asked again while it waits, the same blob comes back (no second approval is handed out).
    let again = server.post(agent_create, Some(&ik), &json!({ "did": did }));
    assert_eq!(again.0, 200, "{}", again.1);
    assert_eq!(again.1["object"], stale);
    let (_, vc2) = issue_one(&server, &si, &ik, &keys, &template);
    let (got, answer) = server.post(
        "/zcred/v1/issuer/agent/rotation/submit",
        Some(&ik),
        &signed(&stale, &next),
    );
    assert_eq!(
        (got, error_of(&answer).0.as_str()),
        (409, "INVALID_STATE"),
        "{answer}"
    );
    let agent = client(&server, &ik, &keys, &["issuer", "rotate", "--agent"]);
    assert_eq!(agent["agent"], stale["agent"]);
    assert_eq!(agent["sn"], stale["sn"].as_u64().unwrap() + 1, "{agent}");
    // The credential issued under the rotated issuer key verifies with that key and the DID;
    // the first one was signed by the old key.
    assert_eq!(verified(&data, &keys, &did, &vc2)["verified"], true);
    assert_eq!(verified(&data, &keys, &did, &vc)["verified"], false);

    // The rotated agent anchors the next issuance and the revocation.
    let (third, _) = issue_one(&server, &si, &ik, &keys, &template);
    client(&server, &ik, &keys, &["issuer", "revoke", &third]);

    // An operator plan with one issuance per day: the second submit by its key is 429 with
    // Retry-After, while the same submit by another key of the issuer succeeds (quotas are
    // per key).
    let plan = ok(&[
        &[
            "admin",
            "plan",
            "set",
            "trial",
            "--issuances-per-day",
            "1",
            "--requests-per-second",
            "unlimited",
        ],
        &store[..],
    ]
    .concat());
    assert_eq!(
        plan,
        json!({"name": "trial", "issuancesPerDay": 1, "requestsPerSecond": null})
    );
    let refused = crate::commands::refused(
        &[
            &[
                "admin",
                "plan",
                "set",
                "standard",
                "--issuances-per-day",
                "1",
            ],
            &["--requests-per-second", "1"][..],
            &store[..],
        ]
        .concat(),
    );
    assert!(refused.contains("built-in"), "{refused}");
    let refused = crate::commands::refused(
        &[&["admin", "key", "create", "--plan", "gold"], &store[..]].concat(),
    );
    assert!(refused.contains("zcred admin plan set"), "{refused}");
    let trial = ok(&[
        &[
            "admin", "key", "create", "--plan", "trial", "--issuer", &did,
        ],
        &store[..],
    ]
    .concat());
    let trial = trial["apiKey"].as_str().unwrap().to_owned();
    issue_one(&server, &si, &trial, &keys, &template);
    let applied = client(
        &server,
        &si,
        &keys,
        &[
            "holder",
            "apply",
            "--template",
            &template,
            "--data",
            r#"{"name": "B"}"#,
        ],
    );
    let vc_id = applied["vcId"].as_str().unwrap();
    let created = server.post(
        "/cred/v1/vc/create",
        Some(&trial),
        &json!({ "vcId": vc_id, "issuanceDate": "2026-01-01",
                 "data": [{ "templateId": template, "metadata": { "class": "C" } }] }),
    );
    assert_eq!(created.0, 200, "{}", created.1);
    let submit = submit_body(vc_id, &created.1["object"], &keys);
    let (status, head, answer) = server.call_with_head(
        "POST",
        "/cred/v1/vc/submit",
        Some(&trial),
        submit.to_string().as_bytes(),
    );
    assert_eq!(
        (status, error_of(&answer).0.as_str()),
        (429, "QUOTA_EXCEEDED"),
        "{answer}"
    );
    assert!(
        answer.to_string().contains("trial plan allows 1"),
        "{answer}"
    );
    let retry: u64 = head
        .lines()
        .find_map(|l| l.strip_prefix("retry-after: "))
        .expect("Retry-After")
        .trim()
        .parse()
        .unwrap();
    assert!((1..=86_400).contains(&retry), "{retry}");
    let (status, answer) = server.post("/cred/v1/vc/submit", Some(&ik), &submit);
    assert_eq!(status, 200, "{answer}");

    // Refusals of the rotation endpoints, on a second issuer driven over HTTP.
    let keys2 = format!("{data}/keys2.json");
    let did2 = client(&server, &si, &keys2, &["issuer", "onboard"])["did"]
        .as_str()
        .unwrap()
        .to_owned();
    let next2 = issuer_key(&keys2, "nextPrivateKey");
    let rotate_create = "/zcred/v1/issuer/rotation/create";
    let stranger = SigningKey::generate(&mut zcred_crypto::OsRng);
    let next2_text = next2.verifying_key().to_zetrix();
    for (body, status, code, field) in [
        (
            json!({ "did": did2 }),
            400,
            "MISSING_FIELD",
            Some("/publicKey"),
        ),
        (
            json!({ "did": did2, "publicKey": stranger.verifying_key().to_zetrix() }),
            400,
            "INVALID_REQUEST",
            Some("/publicKey"),
        ),
        (
            json!({ "did": did2, "publicKey": next2_text, "nextPublicKey": next2_text }),
            400,
            "INVALID_REQUEST",
            Some("/nextPublicKey"),
        ),
        (
            json!({ "did": "did:zid:nothex", "publicKey": next2_text }),
            400,
            "INVALID_FORMAT",
            Some("/did"),
        ),
    ] {
        let (got, answer) = server.post(rotate_create, Some(&si), &body);
        assert_eq!(
            (got, error_of(&answer)),
            (status, (code.to_owned(), field.map(str::to_owned))),
            "{body}: {answer}"
        );
    }
    // A key bound to the first issuer may not rotate the second (403), nor its agent.
    let body = json!({ "did": did2, "publicKey": next2_text });
    let (got, answer) = server.post(rotate_create, Some(&ik), &body);
    assert_eq!((got, error_of(&answer).0.as_str()), (403, "FORBIDDEN"));
    let (got, answer) = server.post(agent_create, Some(&ik), &json!({ "did": did2 }));
    assert_eq!((got, error_of(&answer).0.as_str()), (403, "FORBIDDEN"));
    // One pending blob per step (asked again, the same one comes back); a rotation signed by
    // the old key is refused (a rotation is signed by the key it makes current), and the
    // refusal leaves the caller able to go on: its create gives the blob back, and signed by
    // the new key it lands.
    let created = server.post(rotate_create, Some(&si), &body);
    assert_eq!(created.0, 200, "{}", created.1);
    let created = created.1["object"].clone();
    let (got, answer) = server.post(rotate_create, Some(&si), &body);
    assert_eq!((got, &answer["object"]), (200, &created), "{answer}");
    let submit = "/zcred/v1/issuer/rotation/submit";
    let old2 = issuer_key(&keys2, "privateKey");
    let (got, answer) = server.post(submit, Some(&si), &signed(&created, &old2));
    assert_eq!(
        (got, error_of(&answer).0.as_str()),
        (401, "SIGNATURE_MISMATCH"),
        "{answer}"
    );
    let (got, answer) = server.post(rotate_create, Some(&si), &body);
    assert_eq!((got, &answer["object"]), (200, &created), "{answer}");
    let done = server.post(submit, Some(&si), &signed(&created, &next2));
    assert_eq!(done.0, 200, "{}", done.1);
    assert_eq!(done.1["object"]["publicKey"], next2_text.as_str());
    assert_eq!(controller_key(&server, &did2), multibase_of(&next2));
    let (got, answer) = server.post(submit, Some(&si), &signed(&created, &next2));
    assert_eq!(
        (got, error_of(&answer).0.as_str()),
        (404, "NOT_FOUND"),
        "used up"
    );
    // The second issuer is pending approval: its agent may not be rotated yet (403).
    let (got, answer) = server.post(agent_create, Some(&si), &json!({ "did": did2 }));
    assert_eq!(
        (got, error_of(&answer).0.as_str()),
        (403, "FORBIDDEN"),
        "{answer}"
    );

    // Everything verifies offline: two issuers, two agents, five credentials, one revoked.
    assert!(server.stop().success());
    let stream = format!("{data}/export.cesr");
    ok(&[&["ledger", "export", "--out", &stream], &store[..]].concat());
    let report = ok(&["ledger", "verify", "--file", &stream]);
    assert_eq!(report["verified"], true, "{report}");
    assert_eq!(report["keyStates"].as_array().unwrap().len(), 4);
    assert_eq!(report["credentials"].as_array().unwrap().len(), 5);
    assert_eq!(report["revoked"], 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `{blobId, signerList}` for `created` signed by `key`.
fn signed(created: &Value, key: &SigningKey) -> Value {
    let bytes = hex::decode(created["blob"].as_str().unwrap()).unwrap();
    json!({
        "blobId": created["blobId"],
        "signerList": [{ "signBlob": key.sign(&bytes).to_hex(), "publicKey": key.verifying_key().to_zetrix() }],
    })
}

/// A submit (8.3) of what a create answered, signed with the key file's issuer keys.
fn submit_body(vc_id: &str, created: &Value, keys: &str) -> Value {
    let key = issuer_key(keys, "privateKey");
    let input = hex::decode(created["ed25519Blob"].as_str().unwrap()).unwrap();
    let messages: Vec<Vec<u8>> = created["bbsBlsBase64"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| zcred_crypto::multibase::from_base64(m.as_str().unwrap()).unwrap())
        .collect();
    let secret = key_file(keys)["issuer"]["bbsPrivateKey"]
        .as_str()
        .unwrap()
        .to_owned();
    let pair = zcred_crypto::bbs::KeyPair::new(
        zcred_crypto::bbs::SecretKey::from_multibase(&secret).unwrap(),
    );
    json!({
        "vcId": vc_id,
        "ed25519PubKey": key.verifying_key().to_zetrix(),
        "ed25519SignData": key.sign(&input).to_hex(),
        "bbsBlsPubKey": pair.public().to_multibase(),
        "bbsBlsSignData": pair.sign(&messages, &mut zcred_crypto::OsRng).unwrap().to_multibase(),
    })
}

/// Presentations across the two sides: one made offline by `zcred vp create` verifies on the
/// server, and one made by the server verifies offline with `zcred vp verify` (given keys or
/// the ledger export). The credential has a range-provable attribute, issued by the CLI (which
/// signs the integer message the server hands out).
#[test]
fn presentations_offline_and_on_the_server() {
    let dir = scratch("vp-cli");
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.display().to_string();
    let store = ["--data-dir", data.as_str()];
    let server = Server::start(&store);
    let keys = format!("{data}/keys.json");
    let admin_key = |issuer: Option<&str>| {
        let mut args = vec!["admin", "key", "create", "--plan", "standard"];
        if let Some(did) = issuer {
            args.extend(["--issuer", did]);
        }
        let made = ok(&[&args[..], &store[..]].concat());
        made["apiKey"].as_str().unwrap().to_owned()
    };
    let si = admin_key(None);
    let did = client(&server, &si, &keys, &["issuer", "onboard"])["did"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(&[&["admin", "issuer", "approve", &did], &store[..]].concat());
    let ik = admin_key(Some(&did));
    let template_file = format!("{data}/license.json");
    std::fs::write(
        &template_file,
        json!({"templateName": "DrivingLicense", "version": "1.0.0", "credentialFormat": [
            {"attribute": "Name", "format": "STRING", "key": "name", "mandatory": true, "type": "USER"},
            {"attribute": "Age", "format": "NUMBER", "key": "age", "mandatory": true, "type": "USER", "rangeProvable": true},
            {"attribute": "Class", "format": "STRING", "key": "class", "mandatory": true, "type": "FIXED"}]})
        .to_string(),
    )
    .unwrap();
    let template = client(&server, &ik, &keys, &["template", "create", &template_file]);
    let template = template["templateId"].as_str().unwrap().to_owned();
    let applied = client(
        &server,
        &si,
        &keys,
        &[
            "holder",
            "apply",
            "--template",
            &template,
            "--data",
            r#"{"name": "Ali", "age": "30"}"#,
        ],
    );
    let vc_id = applied["vcId"].as_str().unwrap().to_owned();
    let supplied = format!(r#"[{{"templateId": "{template}", "metadata": {{"class": "B2"}}}}]"#);
    client(
        &server,
        &ik,
        &keys,
        &["issuer", "issue", &vc_id, "--data", &supplied],
    );
    let vc = client(&server, &si, &keys, &["holder", "download", &vc_id]);
    assert_eq!(
        vc["proof"][0]["integerMessages"],
        json!(["drivingLicense.age"]),
        "{vc}"
    );
    let vc_file = format!("{data}/vc.json");
    std::fs::write(&vc_file, vc.to_string()).unwrap();
    let holder = key_file(&keys)["holder"]["privateKey"]
        .as_str()
        .unwrap()
        .to_owned();
    let issuer_public = issuer_key(&keys, "privateKey").verifying_key().to_zetrix();
    let bbs_secret = key_file(&keys)["issuer"]["bbsPrivateKey"]
        .as_str()
        .unwrap()
        .to_owned();
    let bbs_public = ok(&["bbs", "public", "--key", &bbs_secret])["publicKeyMultibase"]
        .as_str()
        .unwrap()
        .to_owned();
    let given_keys = [
        "--issuer-key",
        issuer_public.as_str(),
        "--issuer-bbs-key",
        bbs_public.as_str(),
    ];

    // Made offline, verified by the server.
    let offline_vp = ok(&[
        &[
            "vp",
            "create",
            "--vc",
            &vc_file,
            "--reveal",
            "drivingLicense.name",
            "--range",
            "drivingLicense.age:18:65",
            "--challenge",
            "nonce-1",
            "--key",
            &holder,
        ],
        &given_keys[..],
    ]
    .concat());
    let derived = &offline_vp["verifiableCredential"][0];
    assert!(derived["credentialSubject"]["drivingLicense"]
        .get("age")
        .is_none());
    assert_eq!(derived["proof"][1]["type"], "BulletproofRangeProof2021");
    let (status, answer) = server.post(
        "/cred/v1/vp/verify",
        Some(&si),
        &json!({ "vpObject": offline_vp, "challenge": "nonce-1" }),
    );
    assert_eq!(status, 200, "{answer}");
    let outcome = &answer["object"];
    assert_eq!(outcome["verified"], true, "{outcome}");
    assert_eq!(
        outcome["vcDetail"][0]["credentialSubject"]["drivingLicense"],
        json!({"name": "Ali", "age": "Verified in range 18-65"})
    );
    let (_, wrong) = server.post(
        "/cred/v1/vp/verify",
        Some(&si),
        &json!({ "vpObject": offline_vp, "challenge": "nonce-2" }),
    );
    assert_eq!(wrong["object"]["verified"], false, "{wrong}");
    // A range the value is outside of cannot be proved, offline either.
    let vp_file = format!("{data}/vp.json");
    let refused = zcred(
        &[
            &[
                "vp",
                "create",
                "--vc",
                &vc_file,
                "--range",
                "drivingLicense.age:40:65",
                "--key",
                &holder,
            ],
            &given_keys[..],
        ]
        .concat(),
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("not in the range 40-65"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    // Made by the server, verified offline: with the keys, and with the ledger export.
    let created = server.post(
        "/cred/v1/vp/create",
        Some(&si),
        &json!({ "vc": vc, "revealedAttributes": ["drivingLicense.class"],
                 "rangeProof": [{"attribute": "drivingLicense.age", "min": 21, "max": 30}],
                 "challenge": "nonce-3" }),
    );
    assert_eq!(created.0, 200, "{}", created.1);
    let holder_key = SigningKey::from_zetrix(&holder).unwrap();
    let blob = hex::decode(created.1["object"]["blob"].as_str().unwrap()).unwrap();
    let submitted = server.post(
        "/cred/v1/vp/submit",
        Some(&si),
        &json!({ "blobId": created.1["object"]["blobId"],
                 "ed25519SignData": holder_key.sign(&blob).to_hex(),
                 "ed25519PubKey": holder_key.verifying_key().to_zetrix() }),
    );
    assert_eq!(submitted.0, 200, "{}", submitted.1);
    std::fs::write(&vp_file, submitted.1["object"]["vpObject"].to_string()).unwrap();
    let with_keys = ok(&[
        &["vp", "verify", &vp_file, "--challenge", "nonce-3"],
        &given_keys[..],
    ]
    .concat());
    assert_eq!(with_keys["verified"], true, "{with_keys}");
    assert_eq!(
        with_keys["vcDetail"][0]["credentialSubject"]["drivingLicense"]["age"],
        "Verified in range 21-30"
    );
    let export = format!("{data}/ledger.cesr");
    ok(&[&["ledger", "export", "--out", &export], &store[..]].concat());
    let with_ledger = ok(&[
        "vp",
        "verify",
        &vp_file,
        "--challenge",
        "nonce-3",
        "--ledger",
        &export,
    ]);
    assert_eq!(with_ledger["verified"], true, "{with_ledger}");
    let mismatch = zcred(&[
        "vp",
        "verify",
        &vp_file,
        "--challenge",
        "nonce-4",
        "--ledger",
        &export,
    ]);
    assert_eq!(mismatch.status.code(), Some(1));
    // The full credential's status is read from the export: revoked after a revocation.
    let full_vp = ok(&[
        &["vp", "create", "--vc", &vc_file, "--key", &holder][..],
        &given_keys[..],
    ]
    .concat());
    std::fs::write(&vp_file, full_vp.to_string()).unwrap();
    let active = ok(&["vp", "verify", &vp_file, "--ledger", &export]);
    assert_eq!(active["verified"], true, "{active}");
    assert_eq!(active["notes"], json!([]), "{active}");
    client(&server, &ik, &keys, &["issuer", "revoke", &vc_id]);
    ok(&[&["ledger", "export", "--out", &export], &store[..]].concat());
    let revoked = zcred(&["vp", "verify", &vp_file, "--ledger", &export]);
    assert_eq!(revoked.status.code(), Some(1));
    let revoked: Value = serde_json::from_slice(&revoked.stdout).unwrap();
    assert_eq!(revoked["status"], "revoked", "{revoked}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
