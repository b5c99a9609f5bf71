//! BBS+ signature checks of concurrent submits, verified together.
//!
//! Submit (8.3) checks the issuer's BBS+ signature over the credential's messages: two Miller
//! loops and a final exponentiation each. Submits that arrive while others are being checked
//! queue here. One checking thread per core takes whatever has queued and checks it at once
//! with [`bbs::verify_batch`] (one multi-pairing for the lot, a random linear combination).
//! When the batch fails, each item is checked on its own, so a bad signature is refused alone
//! and never fails another's submit. A lone submit is checked as before: batching starts only
//! under load, and nothing waits for a batch to fill.

use std::sync::{mpsc, Arc, Mutex};

use tokio::sync::oneshot;
use zcred_crypto::bbs::{self, BbsError, Message, PublicKey, Signature};
use zcred_crypto::OsRng;

/// The most signatures checked in one batch.
const MAX_BATCH: usize = 64;

struct Job {
    key: PublicKey,
    messages: Vec<Message>,
    signature: Signature,
    reply: oneshot::Sender<Result<(), BbsError>>,
}

/// The queue to the checking thread; dropping it ends the thread.
#[derive(Debug)]
pub struct BbsVerifier {
    jobs: Option<mpsc::Sender<Job>>,
}

impl Default for BbsVerifier {
    fn default() -> Self {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        let started = (0..threads)
            .filter(|i| {
                let queue = Arc::clone(&queue);
                std::thread::Builder::new()
                    .name(format!("zcred-bbs-verify-{i}"))
                    .spawn(move || check_forever(&queue))
                    .is_ok()
            })
            .count();
        BbsVerifier {
            jobs: (started > 0).then_some(jobs),
        }
    }
}

/// One signature to check: the key, the messages (scalars), the signature.
pub type Check = (PublicKey, Vec<Message>, Signature);

impl BbsVerifier {
    /// Checks `signature` over `messages` under `key`. The outer `Err` is a failure of the
    /// checking itself (a bug), never a verdict on the signature.
    pub async fn verify(
        &self,
        key: PublicKey,
        messages: Vec<Message>,
        signature: Signature,
    ) -> Result<Result<(), BbsError>, String> {
        let mut verdicts = self.verify_all(vec![(key, messages, signature)]).await?;
        verdicts
            .pop()
            .ok_or_else(|| "the BBS+ check gave no verdict".to_owned())
    }

    /// Checks every one of `checks`, all queued at once (so they are checked together, with
    /// whatever else is queued); a verdict for each, in order. The outer `Err` is a failure of
    /// the checking itself (a bug), never a verdict on a signature.
    pub async fn verify_all(
        &self,
        checks: Vec<Check>,
    ) -> Result<Vec<Result<(), BbsError>>, String> {
        let Some(jobs) = &self.jobs else {
            // No thread could be started: check on the blocking pool, one by one.
            return tokio::task::spawn_blocking(move || {
                checks
                    .iter()
                    .map(|(key, messages, signature)| key.verify_messages(messages, signature))
                    .collect()
            })
            .await
            .map_err(|e| format!("the BBS+ check failed: {e}"));
        };
        let mut answers = Vec::with_capacity(checks.len());
        for (key, messages, signature) in checks {
            let (reply, answer) = oneshot::channel();
            jobs.send(Job {
                key,
                messages,
                signature,
                reply,
            })
            .map_err(|_| "the BBS+ checking thread has stopped".to_owned())?;
            answers.push(answer);
        }
        let mut verdicts = Vec::with_capacity(answers.len());
        for answer in answers {
            verdicts.push(
                answer
                    .await
                    .map_err(|_| "the BBS+ check failed without an answer".to_owned())?,
            );
        }
        Ok(verdicts)
    }
}

fn check_forever(queue: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        // The lock is held only while taking a batch: the next thread then waits for the
        // next job while this one checks.
        let jobs = {
            // Only the queue is behind the lock: a poisoned one is still consistent.
            let queue = queue.lock().unwrap_or_else(|p| p.into_inner());
            let Ok(first) = queue.recv() else {
                return;
            };
            let mut jobs = vec![first];
            while jobs.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            jobs
        };
        // A panic drops the batch's reply senders (each caller gets an error) and the thread
        // goes on with the next batch.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(jobs)));
    }
}

fn check(jobs: Vec<Job>) {
    let items: Vec<bbs::BatchItem<'_>> = jobs
        .iter()
        .map(|j| (&j.key, j.messages.as_slice(), &j.signature))
        .collect();
    let together = bbs::verify_batch(&items, &mut OsRng);
    drop(items);
    let alone = jobs.len() == 1;
    for job in jobs {
        let verdict = if together.is_ok() {
            Ok(())
        } else if alone {
            together.clone()
        } else {
            job.key.verify_messages(&job.messages, &job.signature)
        };
        let _ = job.reply.send(verdict);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zcred_crypto::bbs::{KeyPair, SecretKey};

    /// Many concurrent checks, some of them bad, through the queue: each gets its own verdict
    /// whether it was checked alone or in a batch with others (and a failed batch re-checked
    /// item by item).
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn each_check_gets_its_own_verdict_under_load() {
        let verifier = Arc::new(BbsVerifier::default());
        let pair = KeyPair::new(SecretKey::generate(&mut OsRng));
        let mut tasks = Vec::new();
        for i in 0..48 {
            let messages = Message::hash_all(&[format!("item {i}"), "class: B2".to_owned()]);
            let signature = pair.sign_messages(&messages, &mut OsRng).unwrap();
            // Every fifth item is checked over other messages than it signed.
            let bad = i % 5 == 3;
            let checked = if bad {
                Message::hash_all(&[format!("item {i}!"), "class: B2".to_owned()])
            } else {
                messages
            };
            let (verifier, key) = (Arc::clone(&verifier), pair.public().clone());
            tasks.push(tokio::spawn(async move {
                (bad, verifier.verify(key, checked, signature).await.unwrap())
            }));
        }
        for task in tasks {
            let (bad, verdict) = task.await.unwrap();
            if bad {
                assert_eq!(verdict, Err(BbsError::InvalidSignature));
            } else {
                assert_eq!(verdict, Ok(()));
            }
        }
    }
}
