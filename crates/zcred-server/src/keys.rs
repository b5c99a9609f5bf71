//! The service's own keys (issue: "the service's own keys live behind a key-store trait,
//! encrypted at rest under a master key").
//!
//! The master key is 32 random bytes, kept as 64 hex characters in a file (mode 0600) that is
//! made on first start when missing, or named by `--master-key-file`. Secrets are sealed with
//! XChaCha20-Poly1305 (random 24-byte nonce; the record's name as associated data, so a sealed
//! record cannot be moved to another name) and stored through
//! [`SealedKeyStore`](zcred_store::SealedKeyStore), which never sees the master key. An HSM or
//! cloud KMS would take this type's place behind the same two calls, `seal` and `open`.

use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

/// Why the master key could not be had or a record could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyStoreError {
    /// The master key file could not be read, made or parsed.
    MasterKey(String),
    /// A sealed record does not open under this master key (wrong key, or altered).
    Open(String),
}

impl std::fmt::Display for KeyStoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyStoreError::MasterKey(m) => write!(f, "master key: {m}"),
            KeyStoreError::Open(name) => {
                write!(f, "sealed key {name} does not open under this master key")
            }
        }
    }
}

impl std::error::Error for KeyStoreError {}

/// The master key. Invariant: never printed, cloned or serialized; zeroized on drop.
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey").finish_non_exhaustive()
    }
}

const NONCE: usize = 24;

impl MasterKey {
    /// A fresh random key.
    pub fn generate() -> MasterKey {
        let mut key = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(key.as_mut());
        MasterKey(key)
    }

    /// Reads the key from `path`, or makes one there (mode 0600) when the file is missing.
    /// Returns the key and whether it was made now.
    pub fn load_or_create(path: &Path) -> Result<(MasterKey, bool), KeyStoreError> {
        let fail = |what: &str, e: std::io::Error| {
            KeyStoreError::MasterKey(format!("{what} {}: {e}", path.display()))
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt as _;
                    let mode = std::fs::metadata(path)
                        .map_err(|e| fail("cannot read", e))?
                        .permissions()
                        .mode();
                    if mode & 0o077 != 0 {
                        return Err(KeyStoreError::MasterKey(format!(
                            "{} can be read by others (mode {:o}); make it chmod 600",
                            path.display(),
                            mode & 0o777
                        )));
                    }
                }
                let text = Zeroizing::new(text);
                let bytes = Zeroizing::new(hex::decode(text.trim()).map_err(|_| {
                    KeyStoreError::MasterKey(format!("{} is not 64 hex characters", path.display()))
                })?);
                let mut key = Zeroizing::new([0u8; 32]);
                if bytes.len() != 32 {
                    return Err(KeyStoreError::MasterKey(format!(
                        "{} must hold 32 bytes as 64 hex characters",
                        path.display()
                    )));
                }
                key.copy_from_slice(&bytes);
                Ok((MasterKey(key), false))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = MasterKey::generate();
                let text = Zeroizing::new(hex::encode(key.0.as_ref()));
                write_private(path, text.as_bytes()).map_err(|e| fail("cannot write", e))?;
                Ok((key, true))
            }
            Err(e) => Err(fail("cannot read", e)),
        }
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.0.as_ref().into())
    }

    /// Seals `secret` for the record `name`: nonce ‖ ciphertext+tag.
    pub fn seal(&self, name: &str, secret: &[u8]) -> Result<Vec<u8>, KeyStoreError> {
        let mut nonce = [0u8; NONCE];
        OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher()
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: secret,
                    aad: name.as_bytes(),
                },
            )
            .map_err(|_| KeyStoreError::MasterKey(format!("cannot seal {name}")))?;
        Ok([&nonce[..], &sealed].concat())
    }

    /// Opens what [`MasterKey::seal`] sealed for `name`.
    pub fn open(&self, name: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyStoreError> {
        if sealed.len() < NONCE + 16 {
            return Err(KeyStoreError::Open(name.to_owned()));
        }
        let (nonce, body) = sealed.split_at(NONCE);
        self.cipher()
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: name.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| KeyStoreError::Open(name.to_owned()))
    }
}

/// Writes a new file readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open() {
        let key = MasterKey::generate();
        let sealed = key.seal("agent/E1/0", b"secret seed").unwrap();
        assert_eq!(&*key.open("agent/E1/0", &sealed).unwrap(), b"secret seed");
        // Another name, another key, or one flipped bit: it does not open.
        assert!(key.open("agent/E2/0", &sealed).is_err());
        assert!(MasterKey::generate().open("agent/E1/0", &sealed).is_err());
        let mut altered = sealed.clone();
        altered[30] ^= 1;
        assert!(key.open("agent/E1/0", &altered).is_err());
        assert!(key.open("agent/E1/0", &sealed[..10]).is_err());
        assert_eq!(format!("{key:?}"), "MasterKey { .. }");
    }

    #[test]
    fn the_file_is_made_once_with_owner_only_access() {
        let dir = std::env::temp_dir().join(format!("zcred-master-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("master.key");
        let (first, made) = MasterKey::load_or_create(&path).unwrap();
        assert!(made);
        let (second, made) = MasterKey::load_or_create(&path).unwrap();
        assert!(!made);
        let sealed = first.seal("n", b"x").unwrap();
        assert_eq!(&*second.open("n", &sealed).unwrap(), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = MasterKey::load_or_create(&path).unwrap_err();
            assert!(err.to_string().contains("chmod 600"), "{err}");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        std::fs::write(&path, "not hex").unwrap();
        assert!(MasterKey::load_or_create(&path).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
