//! Where the signing key comes from. Never from a command-line argument (it
//! would end up in shell history and `ps`), never printed, never logged.
//!
//! 1. `--keystore FILE` (or `WEFE_KEYSTORE`): a standard Ethereum JSON keystore
//!    (scrypt + AES-128-CTR) for ECDSA chains, or an SM2 PEM key (PKCS#8,
//!    encrypted by `wefe key sm2-new`, or FISCO's plain console account files)
//!    for SM chains; password from `--password-file`,
//!    `WEFE_KEYSTORE_PASSWORD`, or a prompt on the terminal;
//! 2. else `WEFE_PRIVATE_KEY`: a hex private key in the environment, read as
//!    a key of the chain's `crypto_suite`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use alloy::signers::local::PrivateKeySigner;
use anyhow::{Context, Result, anyhow, bail};
use wefe_chain::{CryptoSuite, SuiteKey};
use zeroize::Zeroizing;

use crate::args::GlobalArgs;

/// Loads the configured account key for a chain of `suite`, or None when no
/// key is configured. `--keystore` names an Ethereum JSON keystore or an SM2
/// PEM key (`wefe key sm2-new`); either one's password comes from
/// `--password-file`, `WEFE_KEYSTORE_PASSWORD` or a prompt. `WEFE_PRIVATE_KEY`
/// is read as a key of `suite`.
pub fn load_signer(global: &GlobalArgs, suite: CryptoSuite) -> Result<Option<SuiteKey>> {
    if let Some(path) = &global.keystore {
        let key = SuiteKey::read_file(path, || {
            password(global.password_file.as_deref(), false).map_err(|e| format!("{e:#}"))
        })?;
        return Ok(Some(key));
    }
    if let Ok(hex_key) = std::env::var("WEFE_PRIVATE_KEY") {
        return SuiteKey::from_hex(&hex_key, suite).map(Some).context("WEFE_PRIVATE_KEY");
    }
    Ok(None)
}

/// The crypto suite of the configured chain (`chain.toml`), ECDSA when there
/// is no readable configuration: how a hex key is read for commands that need
/// no chain.
pub fn configured_suite(global: &GlobalArgs) -> CryptoSuite {
    wefe_chain::ChainConfig::load(&global.chain_config).map(|c| c.chain.crypto_suite).unwrap_or_default()
}

/// The configured account's address without asking for a password: a
/// keystore's (unencrypted) `address` field, or the address of
/// `WEFE_PRIVATE_KEY`. None when no key is configured.
pub fn address_if_configured(global: &GlobalArgs) -> Result<Option<alloy::primitives::Address>> {
    if let Some(path) = &global.keystore {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read keystore {}", path.display()))?;
        if !text.trim_start().starts_with('{') {
            return Ok(None); // an SM2 PEM key: its address needs the (maybe encrypted) key
        }
        let json: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("keystore {} is not JSON", path.display()))?;
        let Some(address) = json["address"].as_str() else { return Ok(None) };
        let address = address.strip_prefix("0x").unwrap_or(address);
        return Ok(format!("0x{address}").parse().ok());
    }
    if let Ok(hex_key) = std::env::var("WEFE_PRIVATE_KEY") {
        return Ok(Some(SuiteKey::from_hex(&hex_key, configured_suite(global))?.address()));
    }
    Ok(None)
}

/// Parses a hex private key without ever echoing it.
pub fn parse_private_key(text: &str) -> Result<PrivateKeySigner> {
    let trimmed = text.trim();
    let hex_part = trimmed.strip_prefix("0x").unwrap_or(trimmed);
    if hex_part.len() != 64 || !hex_part.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("not a private key: expected 64 hex digits (32 bytes), got {} characters", hex_part.len());
    }
    hex_part.parse::<PrivateKeySigner>().map_err(|_| anyhow!("not a valid secp256k1 private key"))
}

/// The keystore password: `--password-file`, then `WEFE_KEYSTORE_PASSWORD`, then a
/// prompt. Wiped from memory when dropped.
pub fn password(file: Option<&Path>, confirm: bool) -> Result<Zeroizing<String>> {
    secret(file, "WEFE_KEYSTORE_PASSWORD", "keystore password", "--password-file", confirm)
}

/// The password of an SM2 key file: `--key-password-file`, then
/// `WEFE_SM2_KEY_PASSWORD`, then a prompt.
pub fn sm2_password(global: &GlobalArgs, confirm: bool) -> Result<Zeroizing<String>> {
    secret(
        global.key_password_file.as_deref(),
        "WEFE_SM2_KEY_PASSWORD",
        "SM2 key password",
        "--key-password-file",
        confirm,
    )
}

/// Reads an SM2 key file (refused when others can read it), asking for its
/// password only when it is encrypted.
pub fn load_sm2_key(global: &GlobalArgs, path: &Path) -> Result<wefe_crypto::sm::Sm2KeyPair> {
    Ok(wefe_crypto::keyfile::read_sm2_key(path, || {
        sm2_password(global, false).map_err(|e| wefe_crypto::Error::KeyFile(format!("{e:#}")))
    })?)
}

fn secret(file: Option<&Path>, env: &str, what: &str, flag: &str, confirm: bool) -> Result<Zeroizing<String>> {
    if let Some(file) = file {
        let text = Zeroizing::new(
            std::fs::read_to_string(file).with_context(|| format!("cannot read password file {}", file.display()))?,
        );
        let pw = Zeroizing::new(text.trim_end_matches(['\n', '\r']).to_owned());
        if pw.is_empty() {
            bail!("password file {} is empty", file.display());
        }
        return Ok(pw);
    }
    if let Ok(pw) = std::env::var(env) {
        if pw.is_empty() {
            bail!("{env} is empty");
        }
        return Ok(Zeroizing::new(pw));
    }
    if !std::io::stdin().is_terminal() {
        bail!("no {what}: use {flag} FILE or set {env} (no terminal to prompt on)");
    }
    let pw = Zeroizing::new(rpassword::prompt_password(format!("{what}: ")).context("cannot read the password")?);
    if pw.is_empty() {
        bail!("empty password");
    }
    if confirm {
        let again =
            Zeroizing::new(rpassword::prompt_password("repeat password: ").context("cannot read the password")?);
        if *again != *pw {
            bail!("the passwords differ");
        }
    }
    Ok(pw)
}

/// Refuses to go on when `out` exists (checked before asking for a password).
pub fn check_new_keystore(out: &Path) -> Result<()> {
    if out.exists() {
        bail!("{} already exists: refusing to overwrite a keystore", out.display());
    }
    Ok(())
}

/// Writes `secret` to a new keystore file at `out`, readable by the owner only.
/// The file is written in a private temporary directory beside `out` and then
/// hard-linked into place, which fails if `out` appeared meanwhile: an existing
/// file is never overwritten and the keystore is never readable by others.
pub fn write_keystore(out: &Path, secret: &[u8], password: &str) -> Result<PrivateKeySigner> {
    check_new_keystore(out)?;
    let dir: PathBuf = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".wefe-keystore-")
        .tempdir_in(&dir)
        .with_context(|| format!("cannot create a temporary directory in {}", dir.display()))?;
    restrict_permissions(staging.path(), 0o700)?;
    let (signer, _uuid) = PrivateKeySigner::encrypt_keystore(
        staging.path(),
        &mut rand::thread_rng(),
        secret,
        password.as_bytes(),
        Some("keystore.json"),
    )
    .map_err(|e| anyhow!("cannot write keystore {}: {e}", out.display()))?;
    let staged = staging.path().join("keystore.json");
    restrict_permissions(&staged, 0o600)?;
    std::fs::hard_link(&staged, out).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow!("{} already exists: refusing to overwrite a keystore", out.display())
        } else {
            anyhow!("cannot write keystore {}: {e}", out.display())
        }
    })?;
    Ok(signer)
}

#[cfg(unix)]
fn restrict_permissions(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot restrict permissions of {}", path.display()))
}

#[cfg(not(unix))]
fn restrict_permissions(_path: &Path, _mode: u32) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_key_errors_never_contain_the_key() {
        let almost = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff8"; // 63 digits
        let msg = parse_private_key(almost).unwrap_err().to_string();
        assert!(!msg.contains(almost) && msg.contains("64 hex digits"), "{msg}");
        let zero = "0".repeat(64);
        let msg = parse_private_key(&zero).unwrap_err().to_string();
        assert!(!msg.contains(&zero), "{msg}");
    }

    #[test]
    fn keystore_round_trip_with_owner_only_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin.json");
        let key = parse_private_key(wefe_chain::anvil::DEV_KEYS[0]).unwrap();
        let written = write_keystore(&path, &key.to_bytes()[..], "pw").unwrap();
        assert_eq!(written.address(), key.address());
        let read = PrivateKeySigner::decrypt_keystore(&path, b"pw").unwrap();
        assert_eq!(read.address(), key.address());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert!(write_keystore(&path, &key.to_bytes()[..], "pw").unwrap_err().to_string().contains("already exists"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            wefe_crypto::keyfile::check_owner_only(&path, "keystore").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
            let err = wefe_crypto::keyfile::check_owner_only(&path, "keystore").unwrap_err().to_string();
            assert!(err.contains("chmod 600"), "{err}");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        // Nothing is left behind but the keystore itself.
        let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(entries, vec![std::ffi::OsString::from("admin.json")]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&wefe_chain::anvil::DEV_KEYS[0][2..]));
    }
}
