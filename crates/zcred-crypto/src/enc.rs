//! zcred-enc-v1: the envelope of the `/enc/` endpoints (encryption.md), one implementation for
//! the server ([`ServerKey`]) and its clients ([`ServerPublicKey::seal_request`]).
//!
//! A request, step by step (the worked example in `tests/vectors/enc/example.json` gives every
//! intermediate value, and a test re-derives all of them):
//!
//! 1. The client makes an ephemeral X25519 pair `(e, E)` and computes `Z = X25519(e, S)`, where
//!    `S` is the server's X25519 public key (`GET /cred/v1/enc/keys`). An all-zero `Z` (a
//!    low-order `S` or `E`) is refused.
//! 2. `K = HKDF-SHA256(ikm = Z, salt = E ‖ S, info = "zcred-enc-v1" ‖ keyId)`, 64 bytes:
//!    `k_enc = K[0..32]` (AES-256-GCM), `k_mac = K[32..64]` (HMAC-SHA256).
//! 3. Header `secretKey` = base64url(RSA-OAEP-SHA256(server RSA key, `E ‖ ts`)), `ts` the
//!    8-byte big-endian Unix time in milliseconds (OAEP with SHA-256 for both the hash and
//!    MGF1, empty label).
//! 4. `AAD = "POST " ‖ path ‖ ts`; `nonce` 12 random bytes; `ct ‖ tag = AES-256-GCM(k_enc,
//!    nonce, plaintext, AAD)`; `mac = HMAC-SHA256(k_mac, AAD ‖ nonce ‖ ct ‖ tag)`.
//! 5. Body = base64url(`nonce ‖ ct ‖ tag ‖ mac`); header `keyId` names the server key.
//!
//! The response to a 2xx uses the same `Z`, `E`, `S` and `ts` with info `"zcred-enc-v1-resp" ‖
//! keyId`, `AAD = "RESP " ‖ path ‖ ts` and a fresh nonce. base64url is written with padding and
//! read with or without it.
//!
//! The server checks in the spec's order: the headers parse and the key id is known; RSA-OAEP
//! opens ([`ServerKey::unwrap`]); `|now − ts| ≤ 5 min` (and, the caller's part, `(E, ts)` was not
//! seen before, [`Wrapped::replay_id`]); the HMAC verifies in constant time; only then does GCM
//! decrypt ([`ServerKey::open`]). Every cryptographic failure is the one [`EncError::Rejected`],
//! so that no step can be told from another by its answer.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand_core::{CryptoRng, OsRng, RngCore};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use x25519_dalek::{PublicKey as X25519Public, StaticSecret};
use zeroize::Zeroizing;

use crate::multibase;

/// The envelope's name, and its HKDF info for requests.
pub const VERSION: &str = "zcred-enc-v1";
/// How far a request's timestamp may be from the server's clock, ms.
pub const WINDOW_MS: u64 = 5 * 60 * 1000;
/// The RSA modulus of new server keys, bits (2048-bit keys are accepted too).
pub const DEFAULT_RSA_BITS: usize = 3072;
/// The header carrying the RSA-wrapped ephemeral key and timestamp.
pub const SECRET_KEY_HEADER: &str = "secretKey";
/// The header naming the server key.
pub const KEY_ID_HEADER: &str = "keyId";

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const MAC_LEN: usize = 32;
const X25519_LEN: usize = 32;
const WRAPPED_LEN: usize = X25519_LEN + 8;

type HmacSha256 = Hmac<Sha256>;

/// Why an envelope was refused. The messages name syntax only, never a secret or which
/// cryptographic check failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncError {
    /// A header or the body is not in the envelope's syntax; names which.
    Malformed(&'static str),
    /// `keyId` names no key the server holds.
    UnknownKey,
    /// RSA, the time window, the MAC or GCM failed: one answer for all of them.
    Rejected,
    /// A key could not be made or read.
    Key(String),
}

impl std::fmt::Display for EncError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EncError::Malformed(what) => write!(f, "{what}"),
            EncError::UnknownKey => write!(
                f,
                "the keyId header names no current server key; fetch GET /cred/v1/enc/keys"
            ),
            EncError::Rejected => write!(f, "the encrypted request could not be opened"),
            EncError::Key(m) => write!(f, "encryption key: {m}"),
        }
    }
}

impl std::error::Error for EncError {}

/// Which way a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Request,
    Response,
}

impl Direction {
    fn info(self) -> &'static [u8] {
        match self {
            Direction::Request => b"zcred-enc-v1",
            Direction::Response => b"zcred-enc-v1-resp",
        }
    }

    fn label(self) -> &'static [u8] {
        match self {
            Direction::Request => b"POST ",
            Direction::Response => b"RESP ",
        }
    }
}

/// The keys and associated data of one direction of one exchange: the client seals its request
/// and opens the response with one; the server opens the request and seals the response with
/// another. Secret: it prints nothing, cannot be cloned, and is zeroized on drop.
pub struct Channel {
    enc: Zeroizing<[u8; 32]>,
    mac: Zeroizing<[u8; 32]>,
    aad: Vec<u8>,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel").finish_non_exhaustive()
    }
}

/// The shared secret and public values both sides derive channels from.
struct Agreement {
    z: Zeroizing<[u8; 32]>,
    ephemeral: [u8; X25519_LEN],
    server: [u8; X25519_LEN],
    timestamp_ms: u64,
}

impl Agreement {
    fn new(
        secret: &StaticSecret,
        peer: &[u8; X25519_LEN],
        ephemeral: [u8; X25519_LEN],
        server: [u8; X25519_LEN],
        timestamp_ms: u64,
    ) -> Result<Agreement, EncError> {
        let shared = secret.diffie_hellman(&X25519Public::from(*peer));
        if !shared.was_contributory() {
            return Err(EncError::Rejected);
        }
        Ok(Agreement {
            z: Zeroizing::new(shared.to_bytes()),
            ephemeral,
            server,
            timestamp_ms,
        })
    }

    fn channel(&self, direction: Direction, key_id: &str, path: &str) -> Channel {
        let salt = [self.ephemeral, self.server].concat();
        let hkdf = Hkdf::<Sha256>::new(Some(&salt), self.z.as_ref());
        let mut okm = Zeroizing::new([0u8; 64]);
        hkdf.expand_multi_info(&[direction.info(), key_id.as_bytes()], okm.as_mut())
            .expect("64 bytes is a valid HKDF-SHA256 output length");
        let mut enc = Zeroizing::new([0u8; 32]);
        let mut mac = Zeroizing::new([0u8; 32]);
        enc.copy_from_slice(&okm[..32]);
        mac.copy_from_slice(&okm[32..]);
        let aad = [
            direction.label(),
            path.as_bytes(),
            &self.timestamp_ms.to_be_bytes(),
        ]
        .concat();
        Channel { enc, mac, aad }
    }
}

impl Channel {
    /// Seals `plaintext`: base64url (padded) of `nonce ‖ ciphertext ‖ tag ‖ mac`.
    pub fn seal(&self, plaintext: &[u8]) -> Result<String, EncError> {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        self.seal_with_nonce(&nonce, plaintext)
            .map(|bytes| multibase::base64url_padded(&bytes))
    }

    fn mac_of(&self, nonce: &[u8], sealed: &[u8]) -> HmacSha256 {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(self.mac.as_ref())
            .expect("HMAC takes a key of any length");
        mac.update(&self.aad);
        mac.update(nonce);
        mac.update(sealed);
        mac
    }

    fn seal_with_nonce(
        &self,
        nonce: &[u8; NONCE_LEN],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, EncError> {
        let cipher = Aes256Gcm::new(self.enc.as_ref().into());
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: plaintext,
                    aad: &self.aad,
                },
            )
            .map_err(|_| EncError::Key("the plaintext is too long for AES-GCM".into()))?;
        let mac = self.mac_of(nonce, &sealed).finalize().into_bytes();
        Ok([&nonce[..], &sealed, &mac].concat())
    }

    /// Opens a body sealed for this channel: the HMAC first, in constant time, then GCM.
    pub fn open(&self, body: &str) -> Result<Zeroizing<Vec<u8>>, EncError> {
        let bytes = multibase::from_base64url(body.trim())
            .map_err(|_| EncError::Malformed("the body is not base64url"))?;
        if bytes.len() < NONCE_LEN + TAG_LEN + MAC_LEN {
            return Err(EncError::Rejected);
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let (sealed, mac) = rest.split_at(rest.len() - MAC_LEN);
        let expected = self.mac_of(nonce, sealed).finalize().into_bytes();
        if !bool::from(expected.as_slice().ct_eq(mac)) {
            return Err(EncError::Rejected);
        }
        let cipher = Aes256Gcm::new(self.enc.as_ref().into());
        cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: &self.aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| EncError::Rejected)
    }
}

/// What the RSA layer of a request carried: the client's ephemeral X25519 key and the
/// request's timestamp. Both are public values; `(E, ts)` identifies the request for replay
/// detection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wrapped {
    /// The client's ephemeral X25519 public key `E`.
    pub ephemeral: [u8; X25519_LEN],
    /// `ts`, Unix milliseconds.
    pub timestamp_ms: u64,
}

impl Wrapped {
    /// `hex(E)-ts`: the name under which the server remembers a request for [`WINDOW_MS`] on
    /// either side of `ts`.
    pub fn replay_id(&self) -> String {
        format!("{}-{}", hex::encode(self.ephemeral), self.timestamp_ms)
    }
}

/// A server key pair (RSA for the key wrap, X25519 for the agreement). Secret: no `Debug`
/// contents, no `Clone`, zeroized on drop.
pub struct ServerKey {
    rsa: rsa::PrivateKey,
    x25519: StaticSecret,
    public: ServerPublicKey,
}

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerKey")
            .field("key_id", &self.public.key_id)
            .finish_non_exhaustive()
    }
}

impl Drop for ServerKey {
    fn drop(&mut self) {
        // `rsa::PrivateKey` zeroizes itself; the X25519 secret is overwritten here.
        self.x25519 = StaticSecret::from([0u8; 32]);
    }
}

impl ServerKey {
    /// A new key pair named `key_id`, with an RSA modulus of `rsa_bits` (2048 to 4096).
    pub fn generate(key_id: &str, rsa_bits: usize) -> Result<ServerKey, EncError> {
        if !(2048..=4096).contains(&rsa_bits) {
            return Err(EncError::Key(format!(
                "RSA keys are 2048 to 4096 bits, not {rsa_bits}"
            )));
        }
        let rsa = rsa::PrivateKey::new(&mut RsaRng, rsa_bits)
            .map_err(|e| EncError::Key(format!("RSA key generation failed: {e}")))?;
        let mut x = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(x.as_mut());
        ServerKey::assemble(key_id, rsa, StaticSecret::from(*x))
    }

    fn assemble(
        key_id: &str,
        rsa: rsa::PrivateKey,
        x25519: StaticSecret,
    ) -> Result<ServerKey, EncError> {
        check_key_id(key_id)?;
        let bits = rsa::traits::PublicKeyParts::size(&rsa) * 8;
        if !(2048..=4096).contains(&bits) {
            return Err(EncError::Key(format!(
                "RSA keys are 2048 to 4096 bits, not {bits}"
            )));
        }
        let public = ServerPublicKey {
            key_id: key_id.to_owned(),
            rsa: rsa.to_public_key(),
            x25519: X25519Public::from(&x25519).to_bytes(),
        };
        Ok(ServerKey {
            rsa,
            x25519,
            public,
        })
    }

    /// The secret halves for sealed storage: the X25519 secret (32 bytes) ‖ the RSA key as
    /// PKCS#8 DER.
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>, EncError> {
        let der = self
            .rsa
            .to_pkcs8_der()
            .map_err(|e| EncError::Key(format!("RSA key encoding failed: {e}")))?;
        let mut out = Zeroizing::new(Vec::with_capacity(32 + der.as_bytes().len()));
        out.extend_from_slice(self.x25519.as_bytes());
        out.extend_from_slice(der.as_bytes());
        Ok(out)
    }

    /// Reads what [`ServerKey::to_bytes`] wrote, naming the pair `key_id`.
    pub fn from_bytes(key_id: &str, bytes: &[u8]) -> Result<ServerKey, EncError> {
        if bytes.len() <= 32 {
            return Err(EncError::Key("the stored key is too short".into()));
        }
        let mut x = Zeroizing::new([0u8; 32]);
        x.copy_from_slice(&bytes[..32]);
        let rsa = rsa::PrivateKey::from_pkcs8_der(&bytes[32..])
            .map_err(|_| EncError::Key("the stored RSA key does not parse".into()))?;
        ServerKey::assemble(key_id, rsa, StaticSecret::from(*x))
    }

    /// The public halves.
    pub fn public(&self) -> &ServerPublicKey {
        &self.public
    }

    /// The key's name.
    pub fn key_id(&self) -> &str {
        &self.public.key_id
    }

    /// Checks 1 and 2 of encryption.md: the `secretKey` header opens under the RSA key, and
    /// its timestamp is within [`WINDOW_MS`] of `now_ms`. The replay check is the caller's.
    pub fn unwrap(&self, secret_key: &str, now_ms: u64) -> Result<Wrapped, EncError> {
        let wrapped = multibase::from_base64url(secret_key.trim())
            .map_err(|_| EncError::Malformed("the secretKey header is not base64url"))?;
        let plain = Zeroizing::new(
            self.rsa
                .oaep_decrypt::<rsa::sha2::Sha256>(&wrapped)
                .map_err(|_| EncError::Rejected)?,
        );
        if plain.len() != WRAPPED_LEN {
            return Err(EncError::Rejected);
        }
        let mut ephemeral = [0u8; X25519_LEN];
        ephemeral.copy_from_slice(&plain[..X25519_LEN]);
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&plain[X25519_LEN..]);
        let timestamp_ms = u64::from_be_bytes(ts);
        if now_ms.abs_diff(timestamp_ms) > WINDOW_MS {
            return Err(EncError::Rejected);
        }
        Ok(Wrapped {
            ephemeral,
            timestamp_ms,
        })
    }

    /// Check 3: the body's HMAC, then GCM, for a request to `path`. Returns the plaintext and
    /// the channel that seals the response.
    pub fn open(
        &self,
        wrapped: &Wrapped,
        path: &str,
        body: &str,
    ) -> Result<(Zeroizing<Vec<u8>>, Channel), EncError> {
        let agreement = Agreement::new(
            &self.x25519,
            &wrapped.ephemeral,
            wrapped.ephemeral,
            self.public.x25519,
            wrapped.timestamp_ms,
        )?;
        let key_id = &self.public.key_id;
        let plaintext = agreement
            .channel(Direction::Request, key_id, path)
            .open(body)?;
        Ok((
            plaintext,
            agreement.channel(Direction::Response, key_id, path),
        ))
    }
}

/// A key id: 1–64 characters of `[A-Za-z0-9._-]` (it travels in a header and names a record).
fn check_key_id(key_id: &str) -> Result<(), EncError> {
    let ok = (1..=64).contains(&key_id.len())
        && key_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(EncError::Key(
            "a key id is 1–64 characters of letters, digits, '.', '_' and '-'".into(),
        ))
    }
}

/// A server's public keys, as `GET /cred/v1/enc/keys` publishes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerPublicKey {
    key_id: String,
    rsa: rsa::PublicKey,
    x25519: [u8; X25519_LEN],
}

/// A sealed request: its two headers and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedRequest {
    /// The `keyId` header.
    pub key_id: String,
    /// The `secretKey` header.
    pub secret_key: String,
    /// The body (`Content-Type: text/plain`).
    pub body: String,
}

impl ServerPublicKey {
    /// From the published forms: the key id, base64 of the RSA key's SPKI DER, and base64url of
    /// the 32-byte X25519 key.
    pub fn from_parts(key_id: &str, rsa_spki: &str, x25519: &str) -> Result<Self, EncError> {
        check_key_id(key_id)?;
        let der = multibase::from_base64(rsa_spki)
            .map_err(|_| EncError::Key("rsaPublicKey is not base64".into()))?;
        let rsa = rsa::PublicKey::from_public_key_der(&der)
            .map_err(|_| EncError::Key("rsaPublicKey is not an RSA SPKI".into()))?;
        let bits = rsa::traits::PublicKeyParts::size(&rsa) * 8;
        if !(2048..=4096).contains(&bits) {
            return Err(EncError::Key(format!(
                "RSA keys are 2048 to 4096 bits, not {bits}"
            )));
        }
        let x25519 = multibase::from_base64url(x25519)
            .ok()
            .and_then(|b| <[u8; X25519_LEN]>::try_from(b).ok())
            .ok_or_else(|| EncError::Key("x25519PublicKey is not 32 bytes of base64url".into()))?;
        Ok(ServerPublicKey {
            key_id: key_id.to_owned(),
            rsa,
            x25519,
        })
    }

    /// The key id.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// base64 (standard, padded) of the RSA key's SPKI DER.
    pub fn rsa_spki_base64(&self) -> Result<String, EncError> {
        let der = self
            .rsa
            .to_public_key_der()
            .map_err(|e| EncError::Key(format!("RSA key encoding failed: {e}")))?;
        Ok(multibase::base64(der.as_bytes()))
    }

    /// base64url (padded) of the X25519 key.
    pub fn x25519_base64url(&self) -> String {
        multibase::base64url_padded(&self.x25519)
    }

    /// Seals `plaintext` as a request to `path` at `now_ms`. Returns the request and the
    /// channel that opens its response.
    pub fn seal_request(
        &self,
        path: &str,
        plaintext: &[u8],
        now_ms: u64,
    ) -> Result<(SealedRequest, Channel), EncError> {
        self.seal_request_with(&mut OsRng, path, plaintext, now_ms)
    }

    fn seal_request_with(
        &self,
        rng: &mut (impl RngCore + CryptoRng),
        path: &str,
        plaintext: &[u8],
        now_ms: u64,
    ) -> Result<(SealedRequest, Channel), EncError> {
        let mut e = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(e.as_mut());
        let (request, response, _) = self.seal_request_from(&e, rng, path, plaintext, now_ms)?;
        Ok((request, response))
    }

    /// The whole client side from a given ephemeral secret; also returns the request channel
    /// (for the worked example).
    fn seal_request_from(
        &self,
        e: &[u8; 32],
        rng: &mut (impl RngCore + CryptoRng),
        path: &str,
        plaintext: &[u8],
        now_ms: u64,
    ) -> Result<(SealedRequest, Channel, Channel), EncError> {
        let secret = StaticSecret::from(*e);
        let ephemeral = X25519Public::from(&secret).to_bytes();
        let agreement = Agreement::new(&secret, &self.x25519, ephemeral, self.x25519, now_ms)?;
        let wrapped = Zeroizing::new([&ephemeral[..], &now_ms.to_be_bytes()].concat());
        let secret_key = self
            .rsa
            .oaep_encrypt::<rsa::sha2::Sha256>(&wrapped)
            .map_err(|e| EncError::Key(format!("RSA-OAEP failed: {e}")))?;
        let request = agreement.channel(Direction::Request, &self.key_id, path);
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let body = request.seal_with_nonce(&nonce, plaintext)?;
        Ok((
            SealedRequest {
                key_id: self.key_id.clone(),
                secret_key: multibase::base64url_padded(&secret_key),
                body: multibase::base64url_padded(&body),
            },
            agreement.channel(Direction::Response, &self.key_id, path),
            request,
        ))
    }
}

/// The operating system's RNG for `rsa` (which speaks `rand_core` 0.10).
struct RsaRng;

impl rsa::rand_core::TryRng for RsaRng {
    type Error = std::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(OsRng.next_u32())
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(OsRng.next_u64())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        OsRng.fill_bytes(dst);
        Ok(())
    }
}

impl rsa::rand_core::TryCryptoRng for RsaRng {}

#[cfg(test)]
mod tests;
