use std::io::IsTerminal;

use anyhow::{Context, Result, bail};
use serde_json::json;
use zeroize::Zeroizing;

use crate::args::{GlobalArgs, KeyCommand};
use crate::keys;
use crate::output::Output;

pub fn run(global: &GlobalArgs, cmd: KeyCommand) -> Result<Output> {
    match cmd {
        KeyCommand::New { out } => {
            keys::check_new_keystore(&out)?;
            let password = keys::password(global.password_file.as_deref(), true)?;
            let secret = Zeroizing::new(alloy::signers::local::PrivateKeySigner::random().to_bytes().0);
            let signer = keys::write_keystore(&out, &secret[..], &password)?;
            Ok(created(&out, signer.address()))
        }
        KeyCommand::Import { out } => {
            keys::check_new_keystore(&out)?;
            let signer = match std::env::var("WEFE_PRIVATE_KEY") {
                Ok(text) => keys::parse_private_key(&text).context("WEFE_PRIVATE_KEY")?,
                Err(_) => {
                    if !std::io::stdin().is_terminal() {
                        bail!("no key to import: set WEFE_PRIVATE_KEY (no terminal to prompt on)");
                    }
                    let text = Zeroizing::new(rpassword::prompt_password("private key (hex, hidden): ")?);
                    keys::parse_private_key(&text)?
                }
            };
            let password = keys::password(global.password_file.as_deref(), true)?;
            let secret = Zeroizing::new(signer.to_bytes().0);
            let written = keys::write_keystore(&out, &secret[..], &password)?;
            Ok(created(&out, written.address()))
        }
        KeyCommand::Sm2New { out } => {
            if out.exists() {
                bail!("{} already exists: refusing to overwrite a key", out.display());
            }
            let password = keys::sm2_password(global, true)?;
            let key = wefe_crypto::sm::Sm2KeyPair::generate()?;
            wefe_crypto::keyfile::write_sm2_key(&out, &key, &password)?;
            let public = alloy::hex::encode(key.public_key().to_xy());
            // The same key is also an account on an SM chain (--keystore FILE there).
            let address = wefe_chain::SuiteKey::Sm(key).address().to_checksum(None);
            Ok(Output::new(
                format!(
                    "SM2 key {} written (encrypted, owner-only); public key {public}; as an SM chain account: {address}",
                    out.display()
                ),
                json!({ "ok": true, "key": out.display().to_string(), "public_key": public, "sm_address": address }),
            ))
        }
        KeyCommand::Sm2Public { key } => {
            let key = keys::load_sm2_key(global, &key)?;
            let public = alloy::hex::encode(key.public_key().to_xy());
            Ok(Output::new(public.clone(), json!({ "ok": true, "public_key": public })))
        }
        KeyCommand::Address => {
            let key =
                keys::load_signer(global, keys::configured_suite(global))?.ok_or(wefe_chain::ChainError::NoSigner)?;
            let address = key.address().to_checksum(None);
            Ok(Output::new(address.clone(), json!({ "ok": true, "address": address })))
        }
    }
}

fn created(path: &std::path::Path, address: alloy::primitives::Address) -> Output {
    let address = address.to_checksum(None);
    Output::new(
        format!("keystore {} written; address {address}", path.display()),
        json!({ "ok": true, "keystore": path.display().to_string(), "address": address }),
    )
}
