//! A throw-away local chain: an `anvil` child process on a free port, with the
//! FISCO-compatible `london` hardfork, killed when the handle is dropped. Used
//! by tests; the demo script starts its own the same way.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{ChainError, Result};

/// The private keys of anvil's ten default accounts (mnemonic `test test … junk`).
/// Public knowledge: for local development chains only.
pub const DEV_KEYS: [&str; 10] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
];

/// A running anvil; killed on drop.
#[derive(Debug)]
pub struct Anvil {
    child: Child,
    port: u16,
}

impl Anvil {
    /// Finds the anvil binary: `$WEFE_ANVIL`, then `contracts/bin/anvil` of this
    /// repository (installed by `scripts/setup.sh`), then `anvil` on `PATH`.
    pub fn binary() -> PathBuf {
        if let Some(path) = std::env::var_os("WEFE_ANVIL") {
            return PathBuf::from(path);
        }
        let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../contracts/bin/anvil");
        if repo.exists() {
            return repo;
        }
        PathBuf::from("anvil")
    }

    /// Starts anvil (chain id 31337, london) on a free port and waits until it listens.
    pub fn spawn() -> Result<Self> {
        Self::spawn_with(&[])
    }

    /// Like [`Anvil::spawn`], with extra anvil arguments (e.g. `--block-time 1`).
    pub fn spawn_with(extra: &[&str]) -> Result<Self> {
        let binary = Self::binary();
        let mut child = Command::new(&binary)
            .args(["--host", "127.0.0.1", "--port", "0", "--chain-id", "31337", "--hardfork", "london"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                ChainError::Process(format!(
                    "cannot start {} ({e}): run scripts/setup.sh or set WEFE_ANVIL",
                    binary.display()
                ))
            })?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines().map_while(std::result::Result::ok) {
                if !sent
                    && let Some(port) = line
                        .strip_prefix("Listening on ")
                        .and_then(|addr| addr.rsplit(':').next())
                        .and_then(|p| p.trim().parse::<u16>().ok())
                {
                    let _ = tx.send(port);
                    sent = true;
                }
                // Keep draining so anvil never blocks on a full pipe.
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(port) = rx.recv_timeout(Duration::from_millis(100)) {
                return Ok(Self { child, port });
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(ChainError::Process(format!("anvil exited before listening ({status})")));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return Err(ChainError::Process("anvil did not start listening within 20 s".into()));
            }
        }
    }

    /// The port anvil listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// anvil's chain id.
    pub fn chain_id(&self) -> u64 {
        31337
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
