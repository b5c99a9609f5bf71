//! The credential lifecycle end to end against `zcred serve` on a loopback port (SQLite, and
//! PostgreSQL when `ZCRED_TEST_DATABASE_URL` is set): issuer onboarding (inception, agent
//! delegation, BBS+ key as a DID attribute, operator approval) → template (api.md §7) → apply
//! → create → submit → download (§8) → revoke (§9), each response checked against api.md and
//! every error row of §7–§9 provoked; then `zcred ledger verify` on the export.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use zcred_crypto::zetrix::SigningKey;
use zcred_crypto::{bbs, multibase, OsRng};

use crate::commands::{api_key, ok, scratch};
use crate::serve::{error_of, Server};

/// Asserts a refusal's status and code; returns the body.
#[track_caller]
pub(crate) fn refused(
    server: &Server,
    key: &str,
    path: &str,
    body: &Value,
    status: u16,
    code: &str,
) -> Value {
    let (got, answer) = server.post(path, Some(key), body);
    assert_eq!(
        (got, error_of(&answer).0.as_str()),
        (status, code),
        "{path} {body}: {answer}"
    );
    answer
}

#[track_caller]
pub(crate) fn accepted(server: &Server, key: &str, path: &str, body: &Value) -> Value {
    let (status, answer) = server.post(path, Some(key), body);
    assert_eq!(status, 200, "{path} {body}: {answer}");
    assert_eq!(answer["messages"], json!([]));
    answer["object"].clone()
}

fn sign_hex(key: &SigningKey, blob: &Value) -> String {
    key.sign(&hex::decode(blob.as_str().unwrap()).unwrap())
        .to_hex()
}

pub(crate) fn signers(blob: &Value, key: &SigningKey) -> Value {
    json!({
        "blobId": blob["blobId"],
        "signerList": [{ "signBlob": sign_hex(key, &blob["blob"]), "publicKey": key.verifying_key().to_zetrix() }],
    })
}

/// An onboarded issuer: its keys and its issuer-bound API key.
pub(crate) struct Issuer {
    pub(crate) key: SigningKey,
    /// The pre-committed next key (what a rotation makes current).
    pub(crate) next: SigningKey,
    pub(crate) bbs: bbs::KeyPair,
    pub(crate) did: String,
    pub(crate) api_key: String,
}

pub(crate) fn onboard(server: &Server, si_key: &str, admin: &str) -> Issuer {
    let key = SigningKey::generate(&mut OsRng);
    let next = SigningKey::generate(&mut OsRng);
    let did = zcred_model_did(&key);
    let created = accepted(
        server,
        si_key,
        "/zcred/v1/issuer/inception/create",
        &json!({ "publicKey": key.verifying_key().to_zetrix(), "nextPublicKey": next.verifying_key().to_zetrix() }),
    );
    accepted(
        server,
        si_key,
        "/zcred/v1/issuer/inception/submit",
        &signers(&created, &key),
    );
    let created = accepted(
        server,
        si_key,
        "/zcred/v1/issuer/delegation/create",
        &json!({ "did": did }),
    );
    let delegated = accepted(
        server,
        si_key,
        "/zcred/v1/issuer/delegation/submit",
        &signers(&created, &key),
    );
    assert_eq!(delegated["status"], "PENDING");
    let pair = bbs::KeyPair::new(bbs::SecretKey::generate(&mut OsRng));
    let bbs_public = pair.public().to_multibase();
    let created = accepted(
        server,
        si_key,
        "/zcred/v1/issuer/attributes/create",
        &json!({ "did": did, "bbsPublicKey": bbs_public, "x25519PublicKey": multibase::base64url(&[7u8; 32]) }),
    );
    let attributes = accepted(
        server,
        si_key,
        "/zcred/v1/issuer/attributes/submit",
        &signers(&created, &key),
    );
    assert_eq!(
        attributes["attributes"][0]["id"],
        format!("{did}#delegateKey-1")
    );
    // The DID document lists the BBS+ key for assertions and the X25519 key for agreement.
    let (status, doc) = server.call("GET", &format!("/1.0/identifiers/{did}"), None, b"");
    assert_eq!(status, 200);
    let doc = &doc["didDocument"];
    assert_eq!(
        doc["verificationMethod"][1]["publicKeyMultibase"],
        bbs_public.as_str()
    );
    assert_eq!(doc["verificationMethod"][1]["type"], "Bls12381G2Key2020");
    assert_eq!(doc["assertionMethod"][1], format!("{did}#delegateKey-1"));
    assert_eq!(doc["keyAgreement"][0], format!("{did}#delegateKey-2"));
    let bound = server.call_with_head(
        "POST",
        "/zcred/v1/admin/keys/create",
        Some(admin),
        json!({ "plan": "standard", "issuer": did })
            .to_string()
            .as_bytes(),
    );
    assert_eq!(bound.0, 200, "{:?}", bound.2);
    Issuer {
        key,
        next,
        bbs: pair,
        did,
        api_key: bound.2["object"]["apiKey"].as_str().unwrap().to_owned(),
    }
}

pub(crate) fn zcred_model_did(key: &SigningKey) -> String {
    format!("did:zid:{}", hex::encode(key.verifying_key().to_bytes()))
}

pub(crate) fn approve(server: &Server, admin: &str, did: &str) {
    let (status, _, body) = server.call_with_head(
        "POST",
        "/zcred/v1/admin/issuers/approve",
        Some(admin),
        json!({ "did": did }).to_string().as_bytes(),
    );
    assert_eq!(
        (status, &body["object"]["status"]),
        (200, &json!("APPROVED"))
    );
}

pub(crate) fn template(issuer: &Issuer, name: &str) -> Value {
    json!({
        "templateName": name,
        "issuerZid": issuer.did,
        "credentialFormat": [
            {"attribute": "Name", "format": "STRING", "key": "name", "mandatory": true, "type": "USER"},
            {"attribute": "Age", "format": "number", "key": "age", "mandatory": true, "type": "user"},
            {"attribute": "Gender", "format": "STRING", "key": "gender", "mandatory": false, "type": "USER"},
            {"attribute": "Id no.", "format": "STRING", "key": "idNo", "mandatory": true, "type": "FIXED"},
            {"attribute": "Height", "format": "NUMBER", "key": "height", "mandatory": false, "type": "APPLICATION"}
        ],
        "version": "1.0.0",
        "remark": "test remark"
    })
}

pub(crate) fn register(server: &Server, issuer: &Issuer, name: &str) -> String {
    let blob = accepted(
        server,
        &issuer.api_key,
        "/cred/tds/template/blob/create",
        &template(issuer, name),
    );
    let done = accepted(
        server,
        &issuer.api_key,
        "/cred/tds/template/submit",
        &signers(&blob, &issuer.key),
    );
    done["templateId"].as_str().unwrap().to_owned()
}

/// An apply request for `templates` (with their values) signed by `holder`.
pub(crate) fn application(holder: &SigningKey, data: Value) -> Value {
    let canonical = canonical_json(&data);
    json!({
        "data": data,
        "signData": holder.sign(canonical.as_bytes()).to_hex(),
        "publicKey": holder.verifying_key().to_zetrix(),
    })
}

/// Canonical JSON (api.md §2.8) of the values used here (ASCII strings, objects, arrays).
pub(crate) fn canonical_json(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", Value::String((*k).clone()), canonical_json(&m[*k])))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical_json).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// Create + sign + submit for `vc_id`; returns the submit request (to replay it).
pub(crate) fn issue_request(server: &Server, issuer: &Issuer, vc_id: &str, create: Value) -> Value {
    let created = accepted(server, &issuer.api_key, "/cred/v1/vc/create", &create);
    submit_body(issuer, vc_id, &created)
}

/// The 8.3 body for `vc_id`: the issuer's signatures over what its create (8.2) answered.
pub(crate) fn submit_body(issuer: &Issuer, vc_id: &str, created: &Value) -> Value {
    let input = hex::decode(created["ed25519Blob"].as_str().unwrap()).unwrap();
    let messages: Vec<Vec<u8>> = created["bbsBlsBase64"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| multibase::from_base64(m.as_str().unwrap()).unwrap())
        .collect();
    json!({
        "vcId": vc_id,
        "ed25519PubKey": issuer.key.verifying_key().to_zetrix(),
        "ed25519SignData": issuer.key.sign(&input).to_hex(),
        "bbsBlsPubKey": issuer.bbs.public().to_multibase(),
        "bbsBlsSignData": issuer.bbs.sign(&messages, &mut OsRng).unwrap().to_multibase(),
    })
}

fn lifecycle(store_args: &[&str], check_gone: bool, encrypted: bool) {
    let si = api_key(store_args);
    let token_file = scratch("lifecycle-token");
    let admin = "the operator's token for the lifecycle test";
    std::fs::write(&token_file, admin).unwrap();
    let token_arg = token_file.display().to_string();
    let args = [
        store_args,
        &[
            "--admin-token-file",
            &token_arg,
            "--abandoned-after-days",
            "0",
        ],
    ]
    .concat();
    // Everything the server writes goes to a file, checked for secrets at the end.
    let log = scratch(&format!("lifecycle-log-{encrypted}-{}", store_args.len()));
    let mut server = Server::start_logged(&args, &log);
    server.encrypted = encrypted;
    let si = si.as_str();

    // Onboarding; a pending issuer may not register templates.
    let issuer = onboard(&server, si, admin);
    let other = onboard(&server, si, admin);
    let ik = issuer.api_key.as_str();
    let blob_create = "/cred/tds/template/blob/create";
    let answer = refused(
        &server,
        ik,
        blob_create,
        &template(&issuer, "DrivingLicense"),
        403,
        "FORBIDDEN",
    );
    assert!(answer.to_string().contains("approval"), "{answer}");
    approve(&server, admin, &issuer.did);
    approve(&server, admin, &other.did);

    // §7.1 errors.
    let mut missing = template(&issuer, "DrivingLicense");
    missing.as_object_mut().unwrap().remove("version");
    let answer = refused(&server, ik, blob_create, &missing, 400, "MISSING_FIELD");
    assert_eq!(answer["messages"][0]["field"], "/version");
    let mut bad_format = template(&issuer, "DrivingLicense");
    bad_format["credentialFormat"][0]["format"] = json!("VIDEO");
    let answer = refused(&server, ik, blob_create, &bad_format, 400, "INVALID_FORMAT");
    assert_eq!(answer["messages"][0]["field"], "/credentialFormat/0/format");
    let mut numeric_type = template(&issuer, "DrivingLicense");
    numeric_type["credentialFormat"][0]["type"] = json!(1);
    refused(
        &server,
        ik,
        blob_create,
        &numeric_type,
        400,
        "INVALID_FORMAT",
    );
    let mut twice = template(&issuer, "DrivingLicense");
    twice["credentialFormat"][1]["key"] = json!("name");
    refused(&server, ik, blob_create, &twice, 400, "INVALID_REQUEST");
    refused(
        &server,
        ik,
        blob_create,
        &template(&issuer, "ID"),
        400,
        "INVALID_REQUEST",
    );
    // Another issuer's DID (403), and a key bound to no issuer (403).
    refused(
        &server,
        ik,
        blob_create,
        &template(&other, "DrivingLicense"),
        403,
        "FORBIDDEN",
    );
    refused(
        &server,
        si,
        blob_create,
        &template(&issuer, "DrivingLicense"),
        403,
        "FORBIDDEN",
    );
    // §7.2 is off by default.
    let mut server_side = template(&issuer, "DrivingLicense");
    server_side["issuerPrivateKey"] = json!(*issuer.key.to_zetrix());
    refused(
        &server,
        ik,
        "/cred/tds/template/create",
        &server_side,
        403,
        "FEATURE_DISABLED",
    );
    // The alias issuerZID; a pending blob makes a second create 409.
    let mut aliased = template(&issuer, "DrivingLicense");
    let zid = aliased
        .as_object_mut()
        .unwrap()
        .remove("issuerZid")
        .unwrap();
    aliased["issuerZID"] = zid;
    let blob = accepted(&server, ik, blob_create, &aliased);
    let raw = String::from_utf8(hex::decode(blob["blob"].as_str().unwrap()).unwrap()).unwrap();
    assert!(
        raw.starts_with("{\"v\":\"ACDC10JSON"),
        "the blob is the template ACDC: {raw}"
    );
    refused(
        &server,
        ik,
        blob_create,
        &template(&issuer, "DrivingLicense"),
        409,
        "INVALID_STATE",
    );

    // §7.3 errors, then the submit.
    let submit = "/cred/tds/template/submit";
    let stranger = SigningKey::generate(&mut OsRng);
    let mut no_id = signers(&blob, &issuer.key);
    no_id.as_object_mut().unwrap().remove("blobId");
    let answer = refused(&server, ik, submit, &no_id, 400, "MISSING_FIELD");
    assert_eq!(answer["messages"][0]["field"], "/blobId");
    let mut short = signers(&blob, &issuer.key);
    short["signerList"][0]["signBlob"] = json!("ABCD");
    refused(&server, ik, submit, &short, 400, "INVALID_SIGNATURE_FORMAT");
    let mut unknown = signers(&blob, &issuer.key);
    unknown["blobId"] = json!("00000000000000000000000000000000");
    refused(&server, ik, submit, &unknown, 404, "NOT_FOUND");
    refused(
        &server,
        ik,
        submit,
        &signers(&blob, &stranger),
        401,
        "SIGNATURE_MISMATCH",
    );
    refused(
        &server,
        other.api_key.as_str(),
        submit,
        &signers(&blob, &issuer.key),
        404,
        "NOT_FOUND",
    );
    let done = accepted(&server, ik, submit, &signers(&blob, &issuer.key));
    let license = done["templateId"].as_str().unwrap().to_owned();
    assert!(license.starts_with("did:zid:") && license.len() == 72);
    assert!(done["txHash"].as_str().unwrap().starts_with('E'));
    refused(
        &server,
        ik,
        submit,
        &signers(&blob, &issuer.key),
        404,
        "NOT_FOUND",
    );
    refused(
        &server,
        ik,
        blob_create,
        &template(&issuer, "DrivingLicense"),
        409,
        "DUPLICATE",
    );
    // The template context URL serves the record, without a key.
    let (status, ctx) = server.call(
        "GET",
        &format!("/getAccountMetaData?address=zcred-templates&key=template__{license}"),
        None,
        b"",
    );
    assert_eq!(
        (status, &ctx["object"]["templateName"]),
        (200, &json!("DrivingLicense"))
    );
    let degree = register(&server, &issuer, "degree certificate");
    let foreign = register(&server, &other, "Passport");
    // "Driving License" camelCases to drivingLicense, the subject key of "DrivingLicense".
    let twin = register(&server, &issuer, "Driving License");

    // §8.1 apply errors.
    let holder = SigningKey::generate(&mut OsRng);
    let holder_did = zcred_model_did(&holder);
    let apply = "/cred/v1/vc/apply";
    let values = json!({ "name": "Ali bin Abu", "age": "21", "gender": "Male" });
    let good = json!([{ "templateId": license, "metadata": values }]);
    refused(
        &server,
        si,
        apply,
        &json!({ "data": good, "publicKey": holder.verifying_key().to_zetrix() }),
        400,
        "MISSING_FIELD",
    );
    let unknown_template = format!("did:zid:{}", "1".repeat(64));
    refused(
        &server,
        si,
        apply,
        &application(
            &holder,
            json!([{ "templateId": unknown_template, "metadata": values }]),
        ),
        404,
        "NOT_FOUND",
    );
    refused(
        &server,
        si,
        apply,
        &application(
            &holder,
            json!([{ "templateId": license, "metadata": { "name": "A", "age": "21", "idNo": "x" } }]),
        ),
        400,
        "INVALID_REQUEST",
    );
    refused(
        &server,
        si,
        apply,
        &application(
            &holder,
            json!([{ "templateId": license, "metadata": { "name": "A" } }]),
        ),
        400,
        "INVALID_REQUEST",
    );
    let answer = refused(
        &server,
        si,
        apply,
        &application(
            &holder,
            json!([{ "templateId": license, "metadata": { "name": "A", "age": "old" } }]),
        ),
        400,
        "INVALID_FORMAT",
    );
    assert_eq!(answer["messages"][0]["field"], "/data/0/metadata/age");
    refused(
        &server,
        si,
        apply,
        &application(
            &holder,
            json!([{ "templateId": license, "metadata": { "name": null, "age": "1" } }]),
        ),
        400,
        "INVALID_FORMAT",
    );
    refused(
        &server,
        si,
        apply,
        &application(
            &holder,
            json!([
                { "templateId": license, "metadata": values },
                { "templateId": foreign, "metadata": { "name": "A", "age": "1" } }
            ]),
        ),
        400,
        "INVALID_REQUEST",
    );
    let answer = refused(
        &server,
        si,
        apply,
        &application(
            &holder,
            json!([
                { "templateId": license, "metadata": values },
                { "templateId": twin, "metadata": values }
            ]),
        ),
        400,
        "INVALID_REQUEST",
    );
    assert!(
        answer.to_string().contains("drivingLicense"),
        "the message names the colliding subject key: {answer}"
    );
    let mut forged = application(&holder, good.clone());
    forged["publicKey"] = json!(stranger.verifying_key().to_zetrix());
    refused(&server, si, apply, &forged, 401, "SIGNATURE_MISMATCH");
    // Two templates, values in the order supplied; the list alias for metadata.
    let two = json!([
        { "templateId": license, "metadata": values },
        { "templateId": degree, "metadata": [{ "key": "name", "value": "Ali" }, { "key": "age", "value": 30 }] }
    ]);
    // signData covers data after the aliases are applied (OP-4): metadata as an object.
    let normalized = json!([
        { "templateId": license, "metadata": values },
        { "templateId": degree, "metadata": { "name": "Ali", "age": 30 } }
    ]);
    let mut request = application(&holder, normalized);
    request["data"] = two.clone();
    let applied = accepted(&server, si, apply, &request);
    assert_eq!(applied["status"], "APPLIED");
    let vc_id = applied["vcId"].as_str().unwrap().to_owned();
    refused(&server, si, apply, &request, 409, "DUPLICATE");
    // The field-list alias: top-level templateId + metadata.
    let other_holder = SigningKey::generate(&mut OsRng);
    let single = json!([{ "templateId": license, "metadata": values }]);
    let mut alias = application(&other_holder, single);
    let obj = alias.as_object_mut().unwrap();
    obj.remove("data");
    obj.insert("templateId".into(), json!(license));
    obj.insert("metadata".into(), values.clone());
    let waiting = accepted(&server, si, apply, &alias)["vcId"]
        .as_str()
        .unwrap()
        .to_owned();

    // §8.2 create errors.
    let create = "/cred/v1/vc/create";
    let unknown_vc = format!("did:zid:{}", "2".repeat(64));
    let create_body = |id: &str| {
        json!({
            "vcId": id, "issuanceDate": "2025-01-01", "expirationDate": "2030-01-01",
            "data": [{ "templateId": license, "metadata": { "idNo": "abc12345" } },
                     { "templateId": degree, "metadata": { "idNo": "gg1233222", "height": 170 } }]
        })
    };
    refused(
        &server,
        ik,
        create,
        &json!({ "vcId": vc_id }),
        400,
        "MISSING_FIELD",
    );
    refused(
        &server,
        ik,
        create,
        &json!({ "vcId": vc_id, "issuanceDate": "2025-13-01" }),
        400,
        "INVALID_FORMAT",
    );
    refused(
        &server,
        ik,
        create,
        &json!({ "vcId": vc_id, "issuanceDate": "2025-01-01", "expiredDate": "2024-01-01" }),
        400,
        "INVALID_REQUEST",
    );
    refused(
        &server,
        ik,
        create,
        &create_body(&unknown_vc),
        404,
        "NOT_FOUND",
    );
    refused(
        &server,
        other.api_key.as_str(),
        create,
        &create_body(&vc_id),
        403,
        "FORBIDDEN",
    );
    refused(
        &server,
        ik,
        create,
        &json!({ "vcId": vc_id, "issuanceDate": "2025-01-01", "data": [{ "templateId": foreign, "metadata": {} }] }),
        400,
        "INVALID_REQUEST",
    );
    refused(
        &server,
        ik,
        create,
        &json!({ "vcId": vc_id, "issuanceDate": "2025-01-01", "data": [{ "templateId": license, "metadata": { "name": "X" } }] }),
        400,
        "INVALID_REQUEST",
    );
    refused(
        &server,
        ik,
        create,
        &json!({ "vcId": vc_id, "issuanceDate": "2025-01-01" }),
        400,
        "INVALID_REQUEST",
    );
    // metadata as a JSON string must hold an object.
    for text in ["not json", "[1]", "\"idNo\""] {
        let answer = refused(
            &server,
            ik,
            create,
            &json!({ "vcId": vc_id, "issuanceDate": "2025-01-01",
                     "data": [{ "templateId": license, "metadata": text }] }),
            400,
            "INVALID_FORMAT",
        );
        assert_eq!(answer["messages"][0]["field"], "/data/0/metadata", "{text}");
    }
    // The string form holding an object is read as that object (api.md §8.2 alias).
    let mut string_form = create_body(&vc_id);
    string_form["data"][0]["metadata"] = json!("{\"idNo\": \"abc12345\"}");
    let created = accepted(&server, ik, create, &string_form);
    let messages: Vec<String> = created["bbsBlsBase64"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| String::from_utf8(multibase::from_base64(m.as_str().unwrap()).unwrap()).unwrap())
        .collect();
    assert_eq!(
        messages,
        [
            format!("id: {holder_did}"),
            "drivingLicense.name: Ali bin Abu".into(),
            "drivingLicense.age: 21".into(),
            "drivingLicense.gender: Male".into(),
            "drivingLicense.idNo: abc12345".into(),
            "degreeCertificate.name: Ali".into(),
            "degreeCertificate.age: 30".into(),
            "degreeCertificate.idNo: gg1233222".into(),
            "degreeCertificate.height: 170".into(),
        ]
    );
    let input =
        String::from_utf8(hex::decode(created["ed25519Blob"].as_str().unwrap()).unwrap()).unwrap();
    assert!(input.starts_with("eyJhbGciOiJFZERTQSJ9."), "{input}");
    refused(
        &server,
        ik,
        create,
        &create_body(&vc_id),
        409,
        "INVALID_STATE",
    );

    // §8.3 submit errors, then exactly one of two concurrent submits.
    let submit_vc = "/cred/v1/vc/submit";
    let messages_bytes: Vec<Vec<u8>> = messages.iter().map(|m| m.as_bytes().to_vec()).collect();
    let input_bytes = input.as_bytes();
    let good_submit = json!({
        "vcId": vc_id,
        "ed25519PubKey": issuer.key.verifying_key().to_zetrix(),
        "ed25519SignData": issuer.key.sign(input_bytes).to_hex(),
        "bbsB1sPubKey": issuer.bbs.public().to_multibase(),
        "bbsB1SignData": issuer.bbs.sign(&messages_bytes, &mut OsRng).unwrap().to_multibase(),
        "keyExpiry": "2592000",
    });
    let with = |name: &str, value: Value| {
        let mut b = good_submit.clone();
        b[name] = value;
        b
    };
    refused(
        &server,
        ik,
        submit_vc,
        &with("ed25519SignData", json!("12")),
        400,
        "INVALID_SIGNATURE_FORMAT",
    );
    refused(
        &server,
        ik,
        submit_vc,
        &with("bbsB1sPubKey", json!("zshort")),
        400,
        "INVALID_FORMAT",
    );
    refused(
        &server,
        ik,
        submit_vc,
        &with("keyExpiry", json!(10)),
        400,
        "INVALID_FORMAT",
    );
    refused(
        &server,
        ik,
        submit_vc,
        &with("vcId", json!(unknown_vc)),
        404,
        "NOT_FOUND",
    );
    refused(
        &server,
        other.api_key.as_str(),
        submit_vc,
        &good_submit,
        403,
        "FORBIDDEN",
    );
    refused(
        &server,
        ik,
        submit_vc,
        &with("vcId", json!(waiting)),
        409,
        "INVALID_STATE",
    );
    refused(
        &server,
        ik,
        submit_vc,
        &with("ed25519PubKey", json!(stranger.verifying_key().to_zetrix())),
        401,
        "SIGNATURE_MISMATCH",
    );
    refused(
        &server,
        ik,
        submit_vc,
        &with("ed25519SignData", json!(issuer.key.sign(b"other").to_hex())),
        401,
        "SIGNATURE_MISMATCH",
    );
    let unregistered = bbs::KeyPair::new(bbs::SecretKey::generate(&mut OsRng));
    refused(
        &server,
        ik,
        submit_vc,
        &with("bbsB1sPubKey", json!(unregistered.public().to_multibase())),
        401,
        "SIGNATURE_MISMATCH",
    );
    let forged = issuer.bbs.sign(&messages_bytes[..8], &mut OsRng).unwrap();
    refused(
        &server,
        ik,
        submit_vc,
        &with("bbsB1SignData", json!(forged.to_multibase())),
        401,
        "SIGNATURE_MISMATCH",
    );
    let before = zcred_now_ms();
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| server.post(submit_vc, Some(ik), &good_submit));
        let b = s.spawn(|| server.post(submit_vc, Some(ik), &good_submit));
        (a.join().unwrap(), b.join().unwrap())
    });
    let mut statuses = [a.0, b.0];
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [200, 409],
        "exactly one of two concurrent submits: {a:?} {b:?}"
    );
    let issued = if a.0 == 200 { a.1 } else { b.1 };
    let vc = issued["object"]["vc"].clone();
    let expiry = issued["object"]["downloadExpiryDate"].as_i64().unwrap();
    assert!(expiry >= before + 2_592_000_000 && expiry <= zcred_now_ms() + 2_592_000_000);
    assert_eq!(vc["id"], vc_id.as_str());
    assert_eq!(
        vc["type"],
        json!([
            "VerifiableCredential",
            "DrivingLicense",
            "degree certificate"
        ])
    );
    assert_eq!(vc["issuer"], issuer.did.as_str());
    assert_eq!(vc["issuanceDate"], "2025-01-01T00:00:00Z");
    assert_eq!(vc["expirationDate"], "2030-01-01T00:00:00Z");
    assert_eq!(
        vc["proof"][0]["verificationMethod"],
        format!("{}#delegateKey-1", issuer.did)
    );
    assert_eq!(
        vc["proof"][1]["verificationMethod"],
        format!("{}#controllerKey", issuer.did)
    );
    assert!(vc["@context"][2]
        .as_str()
        .unwrap()
        .ends_with(&format!("key=template__{license}")));
    let keys: Vec<&String> = vc.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "id",
            "type",
            "issuer",
            "issuanceDate",
            "expirationDate",
            "credentialSubject",
            "proof",
            "@context"
        ]
    );
    refused(&server, ik, submit_vc, &good_submit, 409, "INVALID_STATE");
    // The issued VC verifies offline with `zcred vc verify`.
    let vc_file = scratch("lifecycle-vc");
    std::fs::write(&vc_file, vc.to_string()).unwrap();
    let report = ok(&[
        "vc",
        "verify",
        "--issuer-key",
        &issuer.key.verifying_key().to_zetrix(),
        "--issuer-bbs-key",
        &issuer.bbs.public().to_multibase(),
        &vc_file.display().to_string(),
    ]);
    assert_eq!(report["verified"], true, "{report}");
    let _ = std::fs::remove_file(&vc_file);

    // A credential with the shortest window (60 s), for the 410 at the end.
    let short_lived = if check_gone {
        let short_holder = SigningKey::generate(&mut OsRng);
        let id = accepted(
            &server,
            si,
            apply,
            &application(
                &short_holder,
                json!([{ "templateId": license, "metadata": values }]),
            ),
        )["vcId"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut request = issue_request(
            &server,
            &issuer,
            &id,
            json!({ "vcId": id, "issuanceDate": "2025-01-01", "data": [{ "templateId": license, "metadata": { "idNo": "1" } }] }),
        );
        request["keyExpiry"] = json!(60);
        accepted(&server, ik, submit_vc, &request);
        Some((id, short_holder, Instant::now()))
    } else {
        None
    };

    // §8.4 download.
    let download = "/cred/v1/vc/download";
    let sign_id = |k: &SigningKey, id: &str| k.sign(id.as_bytes()).to_hex();
    refused(
        &server,
        si,
        download,
        &json!({ "vcId": vc_id, "signVcId": sign_id(&holder, &vc_id), "isIssuer": "no" }),
        400,
        "INVALID_FORMAT",
    );
    refused(
        &server,
        si,
        download,
        &json!({ "vcId": vc_id, "signVcId": "zz" }),
        400,
        "INVALID_SIGNATURE_FORMAT",
    );
    refused(
        &server,
        si,
        download,
        &json!({ "vcId": unknown_vc, "signVcId": sign_id(&holder, &unknown_vc) }),
        404,
        "NOT_FOUND",
    );
    refused(
        &server,
        si,
        download,
        &json!({ "vcId": vc_id, "signVcId": sign_id(&holder, &vc_id), "isIssuer": true }),
        403,
        "FORBIDDEN",
    );
    refused(
        &server,
        si,
        download,
        &json!({ "vcId": waiting, "signVcId": sign_id(&other_holder, &waiting) }),
        409,
        "INVALID_STATE",
    );
    refused(
        &server,
        si,
        download,
        &json!({ "vcId": vc_id, "signVcId": sign_id(&stranger, &vc_id) }),
        401,
        "SIGNATURE_MISMATCH",
    );
    let got = accepted(
        &server,
        si,
        download,
        &json!({ "vcId": vc_id, "signVcId": sign_id(&holder, &vc_id), "isIssuer": false }),
    );
    assert_eq!(got, vc, "the download is the issued VC itself");
    let got = accepted(
        &server,
        ik,
        download,
        &json!({ "vcId": vc_id, "signVcId": sign_id(&issuer.key, &vc_id), "isIssuer": true }),
    );
    assert_eq!(got, vc);
    // A new application for the same templates is allowed once issued.
    let again = accepted(
        &server,
        si,
        apply,
        &application(
            &holder,
            json!([{ "templateId": license, "metadata": values }, { "templateId": degree, "metadata": { "name": "Ali", "age": "30" } }]),
        ),
    );
    assert_ne!(again["vcId"], vc_id.as_str());

    // §9.1 revoke create errors.
    let revoke_create = "/cred/v1/vc/revoke/create";
    let address = issuer.key.verifying_key().address().to_string();
    refused(
        &server,
        ik,
        revoke_create,
        &json!({ "vcId": vc_id }),
        400,
        "MISSING_FIELD",
    );
    refused(
        &server,
        ik,
        revoke_create,
        &json!({ "vcId": vc_id, "issuerAddress": "ZTXnope" }),
        400,
        "INVALID_FORMAT",
    );
    refused(
        &server,
        ik,
        revoke_create,
        &json!({ "vcId": unknown_vc, "issuerAddress": address }),
        404,
        "NOT_FOUND",
    );
    refused(
        &server,
        other.api_key.as_str(),
        revoke_create,
        &json!({ "vcId": vc_id, "issuerAddress": address }),
        403,
        "FORBIDDEN",
    );
    let other_address = other.key.verifying_key().address().to_string();
    refused(
        &server,
        ik,
        revoke_create,
        &json!({ "vcId": vc_id, "issuerAddress": other_address }),
        403,
        "FORBIDDEN",
    );
    refused(
        &server,
        ik,
        revoke_create,
        &json!({ "vcId": waiting, "issuerAddress": address }),
        409,
        "INVALID_STATE",
    );
    let blob = accepted(
        &server,
        ik,
        revoke_create,
        &json!({ "vcId": vc_id, "remark": "test revoke", "issuerAddress": address }),
    );
    let raw = String::from_utf8(hex::decode(blob["blob"].as_str().unwrap()).unwrap()).unwrap();
    assert!(
        raw.contains("\"t\":\"rev\""),
        "the blob is the raw rev: {raw}"
    );
    refused(
        &server,
        ik,
        revoke_create,
        &json!({ "vcId": vc_id, "issuerAddress": address }),
        409,
        "INVALID_STATE",
    );

    // §9.2 revoke submit errors, then the revocation.
    let revoke_submit = "/cred/v1/vc/revoke/submit";
    let mut no_id = signers(&blob, &issuer.key);
    no_id.as_object_mut().unwrap().remove("blobId");
    refused(&server, ik, revoke_submit, &no_id, 400, "MISSING_FIELD");
    let mut bad = signers(&blob, &issuer.key);
    bad["signerList"][0]["signBlob"] = json!("00");
    refused(
        &server,
        ik,
        revoke_submit,
        &bad,
        400,
        "INVALID_SIGNATURE_FORMAT",
    );
    let mut unknown = signers(&blob, &issuer.key);
    unknown["blobId"] = json!("FFFF");
    refused(&server, ik, revoke_submit, &unknown, 404, "NOT_FOUND");
    refused(
        &server,
        ik,
        revoke_submit,
        &signers(&blob, &stranger),
        401,
        "SIGNATURE_MISMATCH",
    );
    let revoked = accepted(&server, ik, revoke_submit, &signers(&blob, &issuer.key));
    assert_eq!(revoked["vcId"], vc_id.as_str());
    assert_eq!(revoked["status"], "REVOKED");
    assert!(revoked["txHash"].as_str().unwrap().starts_with('E'));
    refused(
        &server,
        ik,
        revoke_submit,
        &signers(&blob, &issuer.key),
        404,
        "NOT_FOUND",
    );
    refused(
        &server,
        ik,
        revoke_create,
        &json!({ "vcId": vc_id, "issuerAddress": address }),
        409,
        "INVALID_STATE",
    );
    refused(
        &server,
        si,
        download,
        &json!({ "vcId": vc_id, "signVcId": sign_id(&holder, &vc_id) }),
        409,
        "INVALID_STATE",
    );
    refused(
        &server,
        ik,
        create,
        &create_body(&vc_id),
        409,
        "INVALID_STATE",
    );

    // The sweep (OP-12, OP-14; this server purges applications after 0 days): the open
    // application `waiting` becomes a tombstone (404 from then on, and its holder may apply
    // again), and a body past its window is dropped (410 from then on).
    if let Some((_, _, at)) = &short_lived {
        std::thread::sleep(Duration::from_secs(61).saturating_sub(at.elapsed()));
    }
    let (status, _, swept) =
        server.call_with_head("POST", "/zcred/v1/admin/sweep", Some(admin), b"{}");
    assert_eq!(status, 200, "{swept}");
    assert!(
        swept["object"]["abandoned"].as_u64().unwrap() >= 1,
        "{swept}"
    );
    let bodies = swept["object"]["bodies"].as_u64().unwrap();
    assert_eq!(bodies, u64::from(short_lived.is_some()), "{swept}");
    refused(
        &server,
        ik,
        create,
        &create_body(&waiting),
        404,
        "NOT_FOUND",
    );
    let again = accepted(&server, si, apply, &alias);
    assert_ne!(again["vcId"], json!(waiting));

    // §8.4 410: past the window (the shortest allowed is 60 s).
    if let Some((id, short_holder, _)) = short_lived {
        for _ in 0..2 {
            refused(
                &server,
                si,
                download,
                &json!({ "vcId": id, "signVcId": sign_id(&short_holder, &id) }),
                410,
                "GONE",
            );
        }
    }

    // Metrics count the lifecycle.
    let (status, _, metrics) = server.call_with_head("GET", "/metrics", Some(admin), b"");
    assert_eq!(status, 200);
    let text = metrics.as_str().unwrap();
    let issued_count = if check_gone { 2 } else { 1 };
    assert!(
        text.contains(&format!("zcred_issuances_total {issued_count}\n")),
        "{text}"
    );
    assert!(text.contains("zcred_revocations_total 1\n"), "{text}");
    if encrypted {
        server.assert_only_encrypted(admin);
    }
    assert!(server.stop().success());
    let _ = std::fs::remove_file(&token_file);

    // No secret reached the server's output: API keys, the admin token, private keys, the
    // issuer's BBS+ secret key, and (sent inside /enc/ envelopes in the encrypted run) the
    // holder's values.
    let written = std::fs::read_to_string(&log).unwrap();
    assert!(
        written.contains("request"),
        "the log holds the request lines"
    );
    let mut secrets: Vec<(String, String)> = vec![
        ("the integrator's API key".into(), si.to_owned()),
        ("the admin token".into(), admin.to_owned()),
        ("the issuer's API key".into(), issuer.api_key.clone()),
        ("the other issuer's API key".into(), other.api_key.clone()),
        ("a holder's value".into(), "Ali bin Abu".to_owned()),
    ];
    for (who, key) in [("issuer", &issuer), ("other issuer", &other)] {
        secrets.push((
            format!("the {who}'s private key"),
            key.key.to_zetrix().to_string(),
        ));
        secrets.push((
            format!("the {who}'s BBS+ secret key"),
            key.bbs.secret().to_multibase().to_string(),
        ));
    }
    for (what, secret) in &secrets {
        assert!(
            !written.contains(secret.as_str()),
            "{what} is in the server's output"
        );
    }
    let _ = std::fs::remove_file(&log);
}

fn zcred_now_ms() -> i64 {
    (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()) as i64
}

/// The export of what the lifecycle recorded, checked offline.
fn verify_export(export_args: &[&str], stream: &str, check_gone: bool) {
    ok(&[&["ledger", "export", "--out", stream], export_args].concat());
    let report = ok(&["ledger", "verify", "--file", stream]);
    assert_eq!(report["verified"], true);
    // Two issuers and their two agents; one registry each.
    assert_eq!(report["keyStates"].as_array().unwrap().len(), 4);
    assert_eq!(report["registries"].as_array().unwrap().len(), 2);
    let credentials = report["credentials"].as_array().unwrap();
    assert_eq!(credentials.len(), if check_gone { 2 } else { 1 });
    assert_eq!(report["revoked"], 1);
    let revoked = credentials
        .iter()
        .find(|c| c["status"] == "revoked")
        .unwrap();
    assert_eq!(
        revoked["revoked"]["endorsers"].as_array().unwrap().len(),
        1,
        "the issuer endorsed the rev"
    );
}

/// The lifecycle on SQLite in a fresh data directory named by `tag`, and its export verified.
fn lifecycle_on_sqlite_as(tag: &str, encrypted: bool) {
    let dir = scratch(tag);
    let data = dir.display().to_string();
    lifecycle(&["--data-dir", &data], true, encrypted);
    verify_export(&["--data-dir", &data], &format!("{data}/export.cesr"), true);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn lifecycle_on_sqlite() {
    lifecycle_on_sqlite_as("lifecycle", false);
}

/// The same flow with every call that has an `/enc/` twin (apply, create, submit, download)
/// sealed with zcred-enc-v1 (api.md §6); the metrics show no plain call to those routes.
#[test]
fn lifecycle_encrypted_on_sqlite() {
    lifecycle_on_sqlite_as("lifecycle-enc", true);
}

#[test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "needs PostgreSQL: set ZCRED_TEST_DATABASE_URL"
)]
fn lifecycle_on_postgres() {
    let Ok(url) = std::env::var("ZCRED_TEST_DATABASE_URL") else {
        println!("skipped lifecycle_on_postgres: ZCRED_TEST_DATABASE_URL is not set");
        return;
    };
    let dir = scratch("lifecycle-pg");
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.display().to_string();
    let schema = crate::serve::pg_schema("zcred_life");
    let store = ["--database-url", &url, "--database-schema", &schema];
    lifecycle(&[&store[..], &["--data-dir", &data]].concat(), false, false);
    verify_export(&store, &format!("{data}/export.cesr"), false);
    crate::serve::drop_schema(&url, &schema);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A credential of `template` applied for by a new holder and created (8.1, 8.2), with its
/// submit body signed by `issuer` and ready: (the holder's key, the vcId, the 8.3 body).
pub(crate) fn created(
    server: &Server,
    si: &str,
    issuer: &Issuer,
    template: &str,
    n: usize,
) -> (SigningKey, String, Value) {
    let holder = SigningKey::generate(&mut OsRng);
    let values = json!({ "name": format!("Holder {n}"), "age": "30" });
    let applied = accepted(
        server,
        si,
        "/cred/v1/vc/apply",
        &application(
            &holder,
            json!([{ "templateId": template, "metadata": values }]),
        ),
    );
    let vc_id = applied["vcId"].as_str().unwrap().to_owned();
    let create = json!({
        "vcId": vc_id, "issuanceDate": "2025-01-01", "expirationDate": "2030-01-01",
        "data": [{ "templateId": template, "metadata": { "idNo": format!("id-{n}") } }]
    });
    let submit = issue_request(server, issuer, &vc_id, create);
    (holder, vc_id, submit)
}

/// A server on `store` (with an admin token) with one approved issuer and its template: what
/// the batch, crash and concurrency tests start from.
pub(crate) struct Issuing {
    pub(crate) server: Server,
    /// The arguments the server was started with (to start it again on the same store).
    pub(crate) args: Vec<String>,
    /// The integrator's API key (holders' calls).
    pub(crate) si: String,
    pub(crate) issuer: Issuer,
    pub(crate) template: String,
}

impl Issuing {
    /// `unlimited`: the issuer calls with a key of the unlimited plan (no rate or quota limit).
    pub(crate) fn start(store: &[&str], tag: &str, unlimited: bool) -> Issuing {
        let si = api_key(store);
        let token_file = scratch(&format!("{tag}-token"));
        let admin = "the operator's token for a fixture";
        std::fs::write(&token_file, admin).unwrap();
        let token_arg = token_file.display().to_string();
        let args: Vec<String> = [store, &["--admin-token-file", &token_arg]]
            .concat()
            .into_iter()
            .map(str::to_owned)
            .collect();
        let server = Server::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let mut issuer = onboard(&server, &si, admin);
        approve(&server, admin, &issuer.did);
        let template = register(&server, &issuer, "FixtureLicence");
        if unlimited {
            let key = accepted(
                &server,
                admin,
                "/zcred/v1/admin/keys/create",
                &json!({ "plan": "unlimited", "issuer": issuer.did }),
            );
            issuer.api_key = key["apiKey"].as_str().unwrap().to_owned();
        }
        Issuing {
            server,
            args,
            si,
            issuer,
            template,
        }
    }
}

/// `POST /zcred/v1/vc/submit/batch`: many submits of one issuer, all or nothing. A bad BBS+
/// signature, a repeated vcId or a record not yet created refuses the whole batch, names the
/// item, and records nothing; a good batch issues every credential, each downloadable, and the
/// log still verifies offline.
#[test]
fn batch_submit_on_sqlite() {
    let dir = scratch("batch");
    let data = dir.display().to_string();
    let store = ["--data-dir", data.as_str()];
    let Issuing {
        server,
        si,
        issuer,
        template: license,
        ..
    } = Issuing::start(&store, "batch", false);
    let si = si.as_str();
    let ik = issuer.api_key.as_str();
    let batch = "/zcred/v1/vc/submit/batch";

    // Three applications, created; their submits built and signed.
    let mut submits = Vec::new();
    let mut holders = Vec::new();
    for i in 0..3 {
        let (holder, vc_id, submit) = created(&server, si, &issuer, &license, i);
        submits.push(submit);
        holders.push((holder, vc_id));
    }
    let not_issued = |server: &Server| {
        for (holder, vc_id) in &holders {
            let body = json!({ "vcId": vc_id, "signVcId": holder.sign(vc_id.as_bytes()).to_hex() });
            refused(
                server,
                si,
                "/cred/v1/vc/download",
                &body,
                409,
                "INVALID_STATE",
            );
        }
    };

    // The shape.
    refused(&server, ik, batch, &json!({}), 400, "INVALID_REQUEST");
    refused(
        &server,
        ik,
        batch,
        &json!({ "items": [] }),
        400,
        "INVALID_REQUEST",
    );
    let answer = refused(
        &server,
        ik,
        batch,
        &json!({ "items": [submits[0], 7] }),
        400,
        "INVALID_REQUEST",
    );
    assert_eq!(answer["messages"][0]["field"], "/items/1");
    // A repeated vcId.
    let answer = refused(
        &server,
        ik,
        batch,
        &json!({ "items": [submits[0], submits[1], submits[0]] }),
        400,
        "INVALID_REQUEST",
    );
    assert_eq!(answer["messages"][0]["field"], "/items/2/vcId");
    // Item 1 carries item 2's BBS+ signature: the batch check fails, item 1 is named.
    let mut swapped = submits.clone();
    swapped[1]["bbsBlsSignData"] = submits[2]["bbsBlsSignData"].clone();
    let answer = refused(
        &server,
        ik,
        batch,
        &json!({ "items": swapped }),
        401,
        "SIGNATURE_MISMATCH",
    );
    assert_eq!(
        answer["messages"][0]["field"], "/items/1/bbsBlsSignData",
        "{answer}"
    );
    // A field missing from one item.
    let mut missing = submits.clone();
    missing[2]
        .as_object_mut()
        .unwrap()
        .remove("ed25519SignData");
    let answer = refused(
        &server,
        ik,
        batch,
        &json!({ "items": missing }),
        400,
        "MISSING_FIELD",
    );
    assert_eq!(answer["messages"][0]["field"], "/items/2/ed25519SignData");
    // A key bound to no issuer.
    refused(
        &server,
        si,
        batch,
        &json!({ "items": submits }),
        403,
        "FORBIDDEN",
    );
    // Nothing of the refused batches was recorded.
    not_issued(&server);

    // The whole batch.
    let done = accepted(&server, ik, batch, &json!({ "items": submits }));
    let vcs = done["vcs"].as_array().unwrap();
    assert_eq!(vcs.len(), 3);
    for (answer, (holder, vc_id)) in vcs.iter().zip(&holders) {
        assert_eq!(answer["vc"]["id"], json!(vc_id));
        assert!(answer["downloadExpiryDate"].as_i64().unwrap() > 0);
        let body = json!({ "vcId": vc_id, "signVcId": holder.sign(vc_id.as_bytes()).to_hex() });
        let downloaded = accepted(&server, si, "/cred/v1/vc/download", &body);
        assert_eq!(downloaded, answer["vc"]);
    }
    // Again: every record is ISSUED now.
    let answer = refused(
        &server,
        ik,
        batch,
        &json!({ "items": submits }),
        409,
        "INVALID_STATE",
    );
    assert_eq!(answer["messages"][0]["field"], "/items/0", "{answer}");
    drop(server);
    // Each issuance has its own agent `ixn` (one seal each): the export verifies offline.
    let stream = format!("{data}/export.cesr");
    ok(&[&["ledger", "export", "--out", stream.as_str()], &store[..]].concat());
    let report = ok(&["ledger", "verify", "--file", &stream]);
    assert_eq!(report["verified"], true, "{report}");
    assert_eq!(
        report["credentials"].as_array().unwrap().len(),
        3,
        "{report}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
