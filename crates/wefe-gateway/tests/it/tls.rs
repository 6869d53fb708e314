//! TLS under gRPC: two gateways of one authority talk over mutual TLS; a
//! plain-text caller, a caller without the authority's certificate and a
//! plain `http://` peer are refused.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use wefe_core::Transport;
use wefe_gateway::proto::gateway_client::GatewayClient;
use wefe_gateway::session::{self, Role};
use wefe_gateway::{GatewayConfig, GatewayTls, MemberKey, PeerInfo, StaticPeerDirectory};

use crate::{ALICE, BOB, CAROL, JOB, start_on};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// An authority and one gateway certificate for `localhost` signed by it.
fn authority(dir: &Path, name: &str) -> GatewayTls {
    let (ca, gw) = (format!("{name}-ca"), format!("{name}-gw"));
    let file = |stem: &str, ext: &str| format!("{stem}.{ext}");
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let (ca_key, ca_pem) = (file(&ca, "key"), file(&ca, "pem"));
    let mut args = vec!["req", "-x509"];
    args.extend(ec);
    args.extend(["-keyout", &ca_key, "-out", &ca_pem, "-days", "2", "-subj", "/CN=wefe test authority"]);
    openssl(dir, &args);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n",
    )
    .unwrap();
    let (gw_key, gw_csr, gw_pem) = (file(&gw, "key"), file(&gw, "csr"), file(&gw, "pem"));
    let mut args = vec!["req"];
    args.extend(ec);
    args.extend(["-keyout", &gw_key, "-out", &gw_csr, "-subj", "/CN=localhost"]);
    openssl(dir, &args);
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &gw_csr,
            "-CA",
            &ca_pem,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-out",
            &gw_pem,
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
    GatewayTls { cert_pem: read(&gw_pem), key_pem: read(&gw_key), ca_pem: read(&ca_pem) }
}

#[tokio::test]
async fn gateways_talk_over_mutual_tls_and_refuse_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    let tls = authority(dir.path(), "consortium");
    let config = GatewayConfig { tls: Some(tls.clone()), ..GatewayConfig::default() };
    let directory = Arc::new(StaticPeerDirectory::new());
    let mut nodes = Vec::new();
    for id in [ALICE, BOB] {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let key = MemberKey::generate().unwrap();
        let node = start_on(listener, &directory, id, key.clone(), config.clone()).await;
        // Peers are called at https:// (the certificate names localhost).
        directory.insert(
            id,
            PeerInfo { active: true, public_key: key.public_key(), endpoint: format!("https://localhost:{port}") },
        );
        nodes.push(node);
    }
    let (alice, bob) = (&nodes[0], &nodes[1]);
    let (ta, tb) = (alice.gateway.job_transport(JOB, [ALICE, BOB]), bob.gateway.job_transport(JOB, [ALICE, BOB]));
    ta.send(&BOB, "psi/m1", b"over tls".to_vec()).await.unwrap();
    assert_eq!(tb.recv(&ALICE, "psi/m1").await.unwrap(), b"over tls");
    tb.send(&ALICE, "psi/m2", vec![5; 3 << 20]).await.unwrap();
    assert_eq!(ta.recv(&BOB, "psi/m2").await.unwrap(), vec![5; 3 << 20]);

    // A plain-text caller does not get a handshake answered.
    let (hello, _) = session::new_hello(&MemberKey::generate().unwrap(), CAROL, BOB, None, Role::Caller, None).unwrap();
    let plain = async {
        let mut client = GatewayClient::connect(format!("http://{}", bob.addr)).await.map_err(|e| e.to_string())?;
        client.handshake(hello.clone()).await.map(|_| ()).map_err(|e| e.to_string())
    };
    let plain = tokio::time::timeout(Duration::from_secs(10), plain).await.expect("a plain caller is answered at once");
    assert!(plain.is_err(), "a plain-text handshake was answered");

    // A gateway of another authority cannot open a stream (mutual TLS).
    let stranger_tls = authority(dir.path(), "other");
    let strangers = Arc::new(StaticPeerDirectory::new());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let carol_key = MemberKey::generate().unwrap();
    let carol = start_on(
        listener,
        &strangers,
        CAROL,
        carol_key.clone(),
        GatewayConfig { tls: Some(stranger_tls), ..GatewayConfig::default() },
    )
    .await;
    let bob_port = bob.addr.port();
    strangers.insert(
        BOB,
        PeerInfo { active: true, public_key: bob.key.public_key(), endpoint: format!("https://localhost:{bob_port}") },
    );
    let tc = carol.gateway.job_transport(JOB + 1, [CAROL, BOB]);
    let refused =
        tokio::time::timeout(Duration::from_secs(30), tc.send(&BOB, "x", vec![1])).await.expect("refused in time");
    assert!(refused.is_err(), "a gateway of another authority got through");

    // With TLS on, a peer at a plain http:// endpoint is not called.
    directory.insert(
        CAROL,
        PeerInfo { active: true, public_key: carol_key.public_key(), endpoint: format!("http://{}", carol.addr) },
    );
    let to_plain = alice.gateway.job_transport(JOB + 2, [ALICE, CAROL]);
    let error = to_plain.send(&CAROL, "x", vec![1]).await.unwrap_err().to_string();
    assert!(error.contains("TLS only"), "{error}");
}
