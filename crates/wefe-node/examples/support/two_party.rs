//! Two parties as two OS processes, each with its own SM2-signing gateway on
//! loopback: the plumbing the node's two-party benchmark examples share
//! (`#[path]`-included: not an example itself). The driver starts the
//! example twice with `--role …`; each child prints `listening <endpoint>`,
//! reads the peer's endpoint on stdin, runs, and prints one JSON line.
#![allow(dead_code)] // each example uses what it needs

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, ensure};
use tokio::net::TcpListener;
use wefe_core::{PeerId, Transport, TransportError};
use wefe_gateway::{Gateway, GatewayConfig, MemberKey, PeerInfo, StaticPeerDirectory};

use super::proc_stats::cpu_seconds;

pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[derive(Debug, Default)]
pub struct Meter {
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub messages_sent: u64,
    /// Tag of the next send → (wall s, CPU s) spent computing it.
    pub compute: BTreeMap<String, (f64, f64)>,
    pub send_s: f64,
    pub wait_s: f64,
    mark: Option<(Instant, f64)>,
}

impl Meter {
    /// Closes the interval since the last transport call; returns it.
    pub fn lap(&mut self) -> (f64, f64) {
        let now = (Instant::now(), cpu_seconds());
        let since = self.mark.map_or((0.0, 0.0), |(t, c)| (now.0.duration_since(t).as_secs_f64(), now.1 - c));
        self.mark = Some(now);
        since
    }
}

/// A transport that counts payload bytes and times compute, send and wait.
#[derive(Debug)]
pub struct Metered<T> {
    pub inner: T,
    pub meter: Arc<Mutex<Meter>>,
}

impl<T: Transport> Transport for Metered<T> {
    fn local_peer(&self) -> PeerId {
        self.inner.local_peer()
    }

    fn max_message_bytes(&self) -> usize {
        self.inner.max_message_bytes()
    }

    async fn send(&self, to: &PeerId, tag: &str, payload: Vec<u8>) -> Result<(), TransportError> {
        let len = payload.len() as u64;
        {
            let mut m = self.meter.lock().expect("meter");
            let (wall, cpu) = m.lap();
            let entry = m.compute.entry(tag.to_owned()).or_default();
            entry.0 += wall;
            entry.1 += cpu;
        }
        let result = self.inner.send(to, tag, payload).await;
        let mut m = self.meter.lock().expect("meter");
        m.send_s += m.lap().0;
        m.bytes_sent += len;
        m.messages_sent += 1;
        result
    }

    async fn recv(&self, from: &PeerId, tag: &str) -> Result<Vec<u8>, TransportError> {
        {
            let mut m = self.meter.lock().expect("meter");
            let (wall, cpu) = m.lap();
            // Work between a send and the next recv (none in this protocol's runners).
            let entry = m.compute.entry("before-recv".to_owned()).or_default();
            entry.0 += wall;
            entry.1 += cpu;
        }
        let result = self.inner.recv(from, tag).await;
        let mut m = self.meter.lock().expect("meter");
        m.wait_s += m.lap().0;
        if let Ok(bytes) = &result {
            m.bytes_received += bytes.len() as u64;
        }
        result
    }
}

pub async fn start_gateway(
    directory: &Arc<StaticPeerDirectory>,
    me: PeerId,
    key: MemberKey,
) -> anyhow::Result<(Gateway, String)> {
    let listener = TcpListener::bind("127.0.0.1:0").await.context("binding the gateway on loopback")?;
    let endpoint = format!("http://{}", listener.local_addr()?);
    directory.insert(me, PeerInfo { active: true, public_key: key.public_key(), endpoint: endpoint.clone() });
    let gateway = Gateway::new(me, key, directory.clone(), GatewayConfig::default());
    let server = gateway.clone();
    tokio::spawn(async move { server.serve(listener, std::future::pending()).await });
    Ok((gateway, endpoint))
}

/// Fixed SM2 keys, so each child knows the other's public key.
pub fn member_key(peer: PeerId) -> anyhow::Result<MemberKey> {
    Ok(MemberKey::from_secret_bytes(&[peer.to_bytes()[0].wrapping_mul(0x11); 32])?)
}

pub fn spawn_party(role: &str, args: &[String]) -> anyhow::Result<(Child, BufReader<ChildStdout>)> {
    let exe = std::env::current_exe().context("locating this example's binary")?;
    let mut child = Command::new(exe)
        .args(["--role", role])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting the {role}"))?;
    let stdout = BufReader::new(child.stdout.take().context("child stdout")?);
    Ok((child, stdout))
}

pub fn read_line(role: &str, out: &mut BufReader<ChildStdout>) -> anyhow::Result<String> {
    let mut line = String::new();
    out.read_line(&mut line).with_context(|| format!("reading from the {role}"))?;
    ensure!(!line.is_empty(), "the {role} exited early");
    Ok(line.trim().to_owned())
}

/// In a child: starts this party's gateway, announces its endpoint on stdout,
/// reads the peer's from stdin and registers it. Returns the gateway.
pub async fn join_peer(me: PeerId, peer: PeerId) -> anyhow::Result<Gateway> {
    Ok(join_peer_in(me, peer).await?.0)
}

/// [`join_peer`], also returning the directory (to register more members).
pub async fn join_peer_in(me: PeerId, peer: PeerId) -> anyhow::Result<(Gateway, Arc<StaticPeerDirectory>)> {
    use std::io::Write;
    let directory = Arc::new(StaticPeerDirectory::new());
    let (gateway, endpoint) = start_gateway(&directory, me, member_key(me)?).await?;
    println!("listening {endpoint}");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("reading the peer's endpoint")?;
    let peer_endpoint = line.trim().to_owned();
    ensure!(peer_endpoint.starts_with("http://"), "bad peer endpoint {peer_endpoint:?}");
    directory
        .insert(peer, PeerInfo { active: true, public_key: member_key(peer)?.public_key(), endpoint: peer_endpoint });
    Ok((gateway, directory))
}

/// In the driver: starts both children, waits until both listen and tells
/// each the other's endpoint. Returns them in the order given.
pub fn start_pair(
    first: (&str, &[String]),
    second: (&str, &[String]),
) -> anyhow::Result<[(Child, BufReader<ChildStdout>); 2]> {
    Ok(start_pair_at(first, second)?.0)
}

/// A started child and its stdout.
pub type Party = (Child, BufReader<ChildStdout>);

/// [`start_pair`], also returning the two gateways' endpoints.
pub fn start_pair_at(first: (&str, &[String]), second: (&str, &[String])) -> anyhow::Result<([Party; 2], [String; 2])> {
    use std::io::Write;
    let mut a = spawn_party(first.0, first.1)?;
    let mut b = spawn_party(second.0, second.1)?;
    let endpoint = |role: &str, out: &mut BufReader<ChildStdout>| -> anyhow::Result<String> {
        let line = read_line(role, out)?;
        line.strip_prefix("listening ").map(str::to_owned).with_context(|| format!("the {role} said {line:?}"))
    };
    let a_endpoint = endpoint(first.0, &mut a.1)?;
    let b_endpoint = endpoint(second.0, &mut b.1)?;
    for (child, peer) in [(&mut a.0, &b_endpoint), (&mut b.0, &a_endpoint)] {
        let stdin = child.stdin.as_mut().context("child stdin")?;
        writeln!(stdin, "{peer}")?;
        stdin.flush()?;
    }
    Ok(([a, b], [a_endpoint, b_endpoint]))
}
