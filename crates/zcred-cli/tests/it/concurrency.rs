//! Concurrency: clients released together by a barrier, again and again, against `zcred
//! serve` on SQLite. The same submit sent by many at once issues once; the same revocation
//! blob submitted by many at once revokes once; downloads racing a revocation see the
//! credential either issued or revoked. No 500, and the exported log verifies with exactly one
//! `iss` and at most one `rev` per credential.

use std::sync::Barrier;

use serde_json::{json, Value};

use crate::commands::{ok, scratch};
use crate::lifecycle::{accepted, created, signers, Issuer, Issuing};
use crate::serve::{error_of, Server};

/// Clients per race.
const RACERS: usize = 8;
/// Races per kind.
const ROUNDS: usize = 4;

/// Runs `call` on `RACERS` threads released at once; returns each (status, answer).
fn race(call: impl Fn(usize) -> (u16, Value) + Sync) -> Vec<(u16, Value)> {
    let barrier = Barrier::new(RACERS);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..RACERS)
            .map(|i| {
                let (barrier, call) = (&barrier, &call);
                s.spawn(move || {
                    barrier.wait();
                    call(i)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// `vc_id`'s revocation blob (9.1), signed by the issuer: a revoke submit body.
fn signed_revocation(server: &Server, issuer: &Issuer, vc_id: &str) -> Value {
    let address = issuer.key.verifying_key().address().to_string();
    let blob = accepted(
        server,
        &issuer.api_key,
        "/cred/v1/vc/revoke/create",
        &json!({ "vcId": vc_id, "issuerAddress": address }),
    );
    signers(&blob, &issuer.key)
}

/// Exactly one 200; every other answer one of `losers` (status, code).
#[track_caller]
fn one_winner(answers: &[(u16, Value)], losers: &[(u16, &str)]) {
    let won = answers.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(won, 1, "{answers:?}");
    for (status, answer) in answers.iter().filter(|(s, _)| *s != 200) {
        let code = error_of(answer).0;
        assert!(
            losers.contains(&(*status, code.as_str())),
            "{status} {code}: {answer}"
        );
    }
}

#[test]
fn racing_clients_get_exactly_the_allowed_outcomes() {
    let dir = scratch("race");
    let data = dir.display().to_string();
    let store = ["--data-dir", data.as_str()];
    let Issuing {
        server,
        si,
        issuer,
        template,
        ..
    } = Issuing::start(&store, "race", true);
    let ik = issuer.api_key.as_str();
    let mut revoked = 0;
    let mut issued = 0;
    for round in 0..ROUNDS {
        // The same submit, eight times at once: one issuance; the others find the record
        // issued already (409) or lose the compare-and-set on it (409).
        let (holder, vc_id, submit) = created(&server, &si, &issuer, &template, round);
        let answers = race(|_| server.post("/cred/v1/vc/submit", Some(ik), &submit));
        one_winner(&answers, &[(409, "INVALID_STATE")]);
        issued += 1;

        // The same revocation blob, eight times at once: one revocation; the others find the
        // blob used up (404) or the record revoked already (409).
        let signed = signed_revocation(&server, &issuer, &vc_id);
        let answers = race(|_| server.post("/cred/v1/vc/revoke/submit", Some(ik), &signed));
        one_winner(&answers, &[(404, "NOT_FOUND"), (409, "INVALID_STATE")]);
        revoked += 1;
        let download = json!({ "vcId": vc_id, "signVcId": holder.sign(vc_id.as_bytes()).to_hex() });
        let (status, _) = server.post("/cred/v1/vc/download", Some(&si), &download);
        assert_eq!(status, 409, "a revoked credential does not download");

        // Downloads racing a revocation: each sees it issued (200) or revoked (409).
        let (holder, vc_id, submit) = created(&server, &si, &issuer, &template, 100 + round);
        accepted(&server, ik, "/cred/v1/vc/submit", &submit);
        issued += 1;
        let signed = signed_revocation(&server, &issuer, &vc_id);
        let download = json!({ "vcId": vc_id, "signVcId": holder.sign(vc_id.as_bytes()).to_hex() });
        let answers = race(|i| {
            if i == 0 {
                server.post("/cred/v1/vc/revoke/submit", Some(ik), &signed)
            } else {
                server.post("/cred/v1/vc/download", Some(&si), &download)
            }
        });
        assert_eq!(answers[0].0, 200, "the revocation: {:?}", answers[0].1);
        revoked += 1;
        for (status, answer) in &answers[1..] {
            match status {
                200 => assert_eq!(answer["object"]["id"], json!(vc_id)),
                409 => assert_eq!(error_of(answer).0, "INVALID_STATE", "{answer}"),
                other => panic!("a download racing a revocation got {other}: {answer}"),
            }
        }
    }
    drop(server);

    // No duplicate events: the log verifies, one `iss` per credential, one `rev` per revoked.
    let stream = format!("{data}/race-export.cesr");
    ok(&[&["ledger", "export", "--out", stream.as_str()], &store[..]].concat());
    let report = ok(&["ledger", "verify", "--file", &stream]);
    assert_eq!(report["verified"], true, "{report}");
    assert_eq!(
        report["credentials"].as_array().unwrap().len(),
        issued,
        "{report}"
    );
    assert_eq!(report["revoked"], revoked, "{report}");
    std::fs::remove_dir_all(&dir).unwrap();
}
