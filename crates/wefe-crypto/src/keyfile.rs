//! SM2 key files: encrypted PKCS#8 PEM (PBES2: scrypt + AES-256-CBC), created
//! owner-only and refused when others can read them.
//!
//! `openssl pkey -in FILE` reads them (asking for the password); keys made by
//! `openssl genpkey -algorithm SM2` (unencrypted PKCS#8) are read too, under
//! the same permission rule.

use std::io::Write;
use std::path::Path;

use zeroize::Zeroizing;

use crate::sm::Sm2KeyPair;
use crate::{Error, Result};

/// Largest key file read (a PEM key is well under 1 KiB).
const MAX_KEY_FILE: u64 = 64 * 1024;

/// Reads an SM2 key file; `password` is asked only for an encrypted one.
///
/// Refuses a file that its group or other users can read (as `ssh` does):
/// the error says how to fix it.
pub fn read_sm2_key(path: &Path, password: impl FnOnce() -> Result<Zeroizing<String>>) -> Result<Sm2KeyPair> {
    let meta =
        std::fs::metadata(path).map_err(|e| Error::KeyFile(format!("cannot read SM2 key {}: {e}", path.display())))?;
    if meta.len() > MAX_KEY_FILE {
        return Err(Error::KeyFile(format!("{} is {} bytes: not an SM2 key file", path.display(), meta.len())));
    }
    check_owner_only(path, "SM2 key")?;
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|e| Error::KeyFile(format!("cannot read SM2 key {}: {e}", path.display())))?,
    );
    Sm2KeyPair::from_pem_with(&text, password).map_err(|e| Error::KeyFile(format!("SM2 key {}: {e}", path.display())))
}

/// Refuses a key file (`what`: "SM2 key", "keystore") that its group or
/// other users can access, saying how to fix it.
#[cfg(unix)]
pub fn check_owner_only(path: &Path, what: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta =
        std::fs::metadata(path).map_err(|e| Error::KeyFile(format!("cannot read {what} {}: {e}", path.display())))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Error::KeyFile(format!(
            "{what} {} is accessible by other users (mode {mode:03o}): run chmod 600 {}",
            path.display(),
            path.display()
        )));
    }
    Ok(())
}

/// Refuses a key file others can access (no permission bits to check here).
#[cfg(not(unix))]
pub fn check_owner_only(_path: &Path, _what: &str) -> Result<()> {
    Ok(())
}

/// Writes `key` encrypted under `password` to a new owner-only file; never
/// overwrites an existing file.
pub fn write_sm2_key(path: &Path, key: &Sm2KeyPair, password: &str) -> Result<()> {
    let pem = key.to_encrypted_pem(password.as_bytes())?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::KeyFile(format!("{} already exists: refusing to overwrite a key", path.display()))
        } else {
            Error::KeyFile(format!("cannot create {}: {e}", path.display()))
        }
    })?;
    let written = file.write_all(pem.as_bytes()).and_then(|()| file.sync_all());
    if let Err(e) = written {
        drop(file);
        let _ = std::fs::remove_file(path);
        return Err(Error::KeyFile(format!("cannot write {}: {e}", path.display())));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(s: &str) -> impl FnOnce() -> Result<Zeroizing<String>> + '_ {
        move || Ok(Zeroizing::new(s.to_owned()))
    }

    #[test]
    fn keys_are_written_owner_only_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("member.key");
        let key = Sm2KeyPair::generate().unwrap();
        write_sm2_key(&path, &key, "s3cret").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(read_sm2_key(&path, pw("s3cret")).unwrap().public_key(), key.public_key());
        let err = read_sm2_key(&path, pw("nope")).unwrap_err().to_string();
        assert!(err.contains("wrong password") && err.contains("member.key"), "{err}");
        let err = write_sm2_key(&path, &key, "x").unwrap_err().to_string();
        assert!(err.contains("already exists"), "{err}");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&hex::encode(key.secret_bytes().as_ref())));
    }

    #[cfg(unix)]
    #[test]
    fn keys_readable_by_others_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("open.key");
        let key = Sm2KeyPair::generate().unwrap();
        std::fs::write(&path, key.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_sm2_key(&path, pw("unused")).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        // Unencrypted keys (openssl genpkey) never ask for a password.
        let read = read_sm2_key(&path, || panic!("no password needed")).unwrap();
        assert_eq!(read.public_key(), key.public_key());
    }
}
