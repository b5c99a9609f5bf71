//! The contract commands of the `zcred` CLI, run as a process: JSON on stdout, exit codes, and a
//! one-line error on stderr for bad input.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

/// A path in the temporary directory that no other test or run uses: `zcred-<tag>-<pid>-<ns>`.
pub fn scratch(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::env::temp_dir().join(format!("zcred-{tag}-{}-{nanos}", std::process::id()))
}

/// A new API key on the `unlimited` plan in the store `store_args` names.
pub fn api_key(store_args: &[&str]) -> String {
    let made = ok(&[
        &["admin", "key", "create", "--plan", "unlimited"],
        store_args,
    ]
    .concat());
    made["apiKey"].as_str().unwrap().to_owned()
}

pub fn zcred(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zcred"))
        .args(args)
        .env_remove("ZCRED_LISTEN")
        .env_remove("ZCRED_DATA_DIR")
        .env_remove("ZCRED_DATABASE_URL")
        .output()
        .expect("zcred runs")
}

pub fn json_out(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

pub fn ok(args: &[&str]) -> Value {
    let out = zcred(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    json_out(&out)
}

pub fn refused(args: &[&str]) -> String {
    let out = zcred(args);
    assert_eq!(out.status.code(), Some(2), "{args:?} should be refused");
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("zcred: "), "{err}");
    err
}

fn vector(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../zcred-crypto/tests/vectors")
        .join(name)
}

// The API reference issuer (zetrix.md §1, §3.4).
const ISSUER_PRIV: &str = "privBrhqgrF5zYTBQmGQnhMvaPccXRpnc31W29XhaRmCwoz44SqVeNM9";
const ISSUER_PUB: &str =
    "b0010d48916e8b0f10297b023b680fb7ab2367d5eb03a1a6bb876d63d1a9f5677dcb43fad909";
const ISSUER_BBS_SECRET: &str = "zMUD9RhqyST16EWBUvSdeQkvE2dMz5oQCTxMCbxT5wHo";
const ISSUER_BBS: &str = "zmGHfsGYtRbh6MfDQegV976maR1FwAJxFnboew8wydSVd2YwprnhXQvBDUYnQ13PCeifouGzeecE3dko8F6KTEGkZtuDFLBYfAJHSCzpk9ukfXWqX9ykpz326RSWPxjeagQp";

#[test]
fn serve_refuses_what_it_cannot_use() {
    let dir = std::env::temp_dir().join(format!("zcred-serve-refusals-{}", std::process::id()));
    let data = dir.display().to_string();
    let err = refused(&["serve", "--listen", "not an address", "--data-dir", &data]);
    assert!(err.contains("--listen"), "{err}");
    let err = refused(&[
        "serve",
        "--database-url",
        "postgres://zcred@127.0.0.1:1/none",
    ]);
    assert!(err.contains("--database-url"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn key_new_and_show() {
    let v = ok(&["key", "new"]);
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["privateKey", "publicKey", "address", "did"]);
    let shown = ok(&["key", "show", v["privateKey"].as_str().unwrap()]);
    assert_eq!(shown, v);
    let public = ok(&["key", "show", v["publicKey"].as_str().unwrap()]);
    assert!(public.get("privateKey").is_none());
    assert_eq!(public["address"], v["address"]);

    let issuer = ok(&["key", "show", ISSUER_PRIV]);
    assert_eq!(issuer["publicKey"], ISSUER_PUB);
    assert_eq!(issuer["address"], "ZTX3LU2NyoRPmgZqMHwiwupr6us5Lv9by3pUo");
    assert!(refused(&["key", "show", "b001"]).contains("public key has the wrong length"));
    assert!(refused(&[
        "key",
        "show",
        "privBrhqgrF5zYTBQmGQnhMvaPccXRpnc31W29XhaRmCwoz44SqVeNM8"
    ])
    .contains("checksum"));
}

#[test]
fn sign_hex_bytes() {
    // The API reference's revoke blob, signed deterministically (zetrix.md §1).
    let blob = "0A255A5458334C55324E796F52506D675A714D48776977757072367573354C763962793370556F104622DD01080712255A5458334C55324E796F52506D675A714D48776977757072367573354C763962793370556F62B1010A255A5458334D6D6F7671313535677A7244364D6564693662433570474B4169355933514D77781A87017B226D6574686F64223A227265766F6B65222C22706172616D73223A7B2272656D61726B223A2274657374207265766F6B65222C2276634964223A226469643A7A69643A66383861666565333033393462353263303534653637366261626131333561636530393031353737303734373139366132313265383537626666313632396666227D7D30B68901380A";
    let v = ok(&["sign", "--key", ISSUER_PRIV, blob]);
    assert_eq!(
        v["signature"],
        "DA4D26A52ABC5C50AAE107FF9C3F03824625F2F6ADEC1169338902793EED332DFE84BFF415973C9DA3E946D6D9F6CD64C812EFE706B24F6A965D1EA4E6C3900B"
    );
    assert!(refused(&["sign", "--key", ISSUER_PRIV, "xyz"]).contains("hex"));
}

#[test]
fn bbs_keys_sign_and_verify() {
    let public = ok(&["bbs", "public", "--key", ISSUER_BBS_SECRET]);
    assert_eq!(public["publicKeyMultibase"], ISSUER_BBS);

    let seeded = ok(&["bbs", "new", "--seed", "a seed phrase"]);
    assert_eq!(
        seeded,
        ok(&["bbs", "new", "--seed", "a seed phrase"]),
        "seeded keys are deterministic"
    );
    let random = ok(&["bbs", "new"]);
    assert_ne!(random["privateKeyMultibase"], seeded["privateKeyMultibase"]);

    let sk = seeded["privateKeyMultibase"].as_str().unwrap();
    let pk = seeded["publicKeyMultibase"].as_str().unwrap();
    let sig = ok(&["bbs", "sign", "--key", sk, "id: did:zid:00", "a.b: c"]);
    let sig = sig["signature"].as_str().unwrap();
    assert_eq!(
        ok(&[
            "bbs",
            "verify",
            "--public-key",
            pk,
            "--signature",
            sig,
            "id: did:zid:00",
            "a.b: c"
        ])["verified"],
        true
    );

    let out = zcred(&[
        "bbs",
        "verify",
        "--public-key",
        pk,
        "--signature",
        sig,
        "id: did:zid:00",
        "a.b: d",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_out(&out)["verified"], false);

    // base64 messages, as the API carries them: aWQ6IGRpZDp6aWQ6MDA= is "id: did:zid:00".
    let b64 = ok(&[
        "bbs",
        "verify",
        "--base64",
        "--public-key",
        pk,
        "--signature",
        sig,
        "aWQ6IGRpZDp6aWQ6MDA=",
        "YS5iOiBj",
    ]);
    assert_eq!(b64["verified"], true);
    assert!(refused(&[
        "bbs",
        "verify",
        "--base64",
        "--public-key",
        pk,
        "--signature",
        sig,
        "!!"
    ])
    .contains("message 1"));
    assert!(refused(&["bbs", "public", "--key", "mAAAA"]).contains("multibase prefix 'z'"));
}

#[test]
fn bbs_verify_of_a_zetrix_signature() {
    let req: Value = serde_json::from_str(
        &std::fs::read_to_string(vector("zetrix/apiref_bbs_sign_request.json")).unwrap(),
    )
    .unwrap();
    let resp: Value = serde_json::from_str(
        &std::fs::read_to_string(vector("zetrix/apiref_bbs_sign_response.json")).unwrap(),
    )
    .unwrap();
    let mut args = vec![
        "bbs",
        "verify",
        "--base64",
        "--public-key",
        ISSUER_BBS,
        "--signature",
        resp["object"]["signData"].as_str().unwrap(),
    ];
    args.extend(
        req["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap()),
    );
    assert_eq!(ok(&args)["verified"], true);
}

/// Runs `zcred vc verify` with the API reference issuer's keys; returns the exit code and report.
fn verify_vc(path: &str, at: &str) -> (Option<i32>, Value) {
    let out = zcred(&[
        "vc",
        "verify",
        "--issuer-key",
        ISSUER_PUB,
        "--issuer-bbs-key",
        ISSUER_BBS,
        "--at",
        at,
        path,
    ]);
    (out.status.code(), json_out(&out))
}

/// The names of the report's checks, all or only the failed ones.
fn checks(report: &Value, only_failed: bool) -> Vec<String> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !only_failed || c["ok"] == false)
        .map(|c| c["check"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn vc_verify_of_a_zetrix_credential() {
    let path = vector("zetrix/apiref_submit_vc.json");
    let path = path.to_str().unwrap();
    let (code, report) = verify_vc(path, "2025-06-01T00:00:00Z");
    assert_eq!(code, Some(0));
    assert_eq!(report["verified"], true);
    assert_eq!(
        checks(&report, false),
        [
            "issuer",
            "Ed25519Signature2020",
            "BbsBlsSignature2020",
            "validFrom",
            "validUntil"
        ]
    );

    // Outside the validity period: exit 1, only the date check fails.
    let (code, report) = verify_vc(path, "2026-02-01T00:00:00Z");
    assert_eq!(code, Some(1));
    assert_eq!(checks(&report, true), ["validUntil"]);

    // One changed attribute value: both proofs fail.
    let tampered = std::env::temp_dir().join(format!("zcred-tampered-{}.json", std::process::id()));
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace("\"B2\"", "\"D\"");
    std::fs::write(&tampered, text).unwrap();
    let (code, report) = verify_vc(tampered.to_str().unwrap(), "2025-06-01T00:00:00Z");
    std::fs::remove_file(&tampered).ok();
    assert_eq!(code, Some(1));
    assert_eq!(
        checks(&report, true),
        ["Ed25519Signature2020", "BbsBlsSignature2020"]
    );

    let bad_key = [
        "vc",
        "verify",
        "--issuer-key",
        "b001",
        "--issuer-bbs-key",
        ISSUER_BBS,
        path,
    ];
    assert!(refused(&bad_key).contains("--issuer-key"));
    let bad_time = [
        "vc",
        "verify",
        "--issuer-key",
        ISSUER_PUB,
        "--issuer-bbs-key",
        ISSUER_BBS,
        "--at",
        "yesterday",
        path,
    ];
    assert!(refused(&bad_time).contains("--at"));
    let missing = [
        "vc",
        "verify",
        "--issuer-key",
        ISSUER_PUB,
        "--issuer-bbs-key",
        ISSUER_BBS,
        "/nonexistent/vc.json",
    ];
    assert!(refused(&missing).contains("reading"));
}
