//! Which addresses a gateway dials for its peers. A member chooses the
//! endpoint the chain records for it, and every node calls every member's
//! endpoint (jobs, peer checks): without a rule, a hostile member could point
//! its endpoint at this node's own host (`127.0.0.1:…`), at a link-local
//! cloud metadata service or at anything else inside this member's network,
//! and make the node send requests there. The rule is checked on the
//! addresses a name resolves to, and the connection goes to a checked
//! address: a name that resolves differently later (DNS rebinding) cannot
//! slip past it.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use ipnet::IpNet;
use tokio::net::TcpStream;
use tonic::transport::Uri;

/// The rule for peers' endpoint addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PeerNetworks {
    /// Any address (the library's default, for tests on loopback).
    #[default]
    Any,
    /// Any address except this host's and special ones: loopback,
    /// unspecified, link-local (cloud metadata services), multicast,
    /// broadcast and reserved — the node's default. Private networks are
    /// allowed: consortium gateways often live on them.
    NotSpecial,
    /// Only addresses in these networks (`peer_networks` in `party.toml`).
    Only(Vec<IpNet>),
}

impl PeerNetworks {
    /// Networks from text (`10.0.0.0/8`, `2001:db8::/32`, or one address);
    /// the error names the entry.
    pub fn only(entries: &[String]) -> Result<Self, String> {
        entries
            .iter()
            .map(|e| {
                let e = e.trim();
                IpNet::from_str(e).or_else(|_| IpAddr::from_str(e).map(IpNet::from)).map_err(|_| {
                    format!("'{e}' is not a network (such as 10.0.0.0/8 or 2001:db8::/32) or an IP address")
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self::Only)
    }

    /// Whether a peer's endpoint may be dialled at `ip`.
    pub fn allows(&self, ip: IpAddr) -> bool {
        // An IPv4 address written as IPv6 (::ffff:a.b.c.d) is judged as IPv4.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match self {
            Self::Any => true,
            Self::NotSpecial => !is_special(ip),
            Self::Only(nets) => nets.iter().any(|n| n.contains(&ip)),
        }
    }
}

/// This host's and other addresses no member's gateway has any business at.
fn is_special(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_unspecified()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.octets()[0] == 0
                || v4.octets()[0] >= 240
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback() || v6.is_unspecified() || v6.is_multicast() || (first & 0xffc0) == 0xfe80
        }
    }
}

/// Resolves `uri`'s host, keeps the addresses `networks` allows, and connects
/// to the first that answers (within `timeout` each). A peer's endpoint
/// whose every address is refused is an error naming them and the setting.
pub(crate) async fn connect(
    uri: Uri,
    networks: PeerNetworks,
    timeout: Duration,
) -> std::io::Result<TokioIo<TcpStream>> {
    use std::io::{Error, ErrorKind};
    let host = uri.host().ok_or_else(|| Error::new(ErrorKind::InvalidInput, format!("no host in {uri}")))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(if uri.scheme_str() == Some("https") { 443 } else { 80 });
    let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host, port)).await?.collect();
    let (allowed, refused): (Vec<SocketAddr>, Vec<SocketAddr>) =
        resolved.into_iter().partition(|a| networks.allows(a.ip()));
    if allowed.is_empty() {
        let list: Vec<String> = refused.iter().map(|a| a.ip().to_string()).collect();
        return Err(Error::new(
            ErrorKind::PermissionDenied,
            format!(
                "the peer's endpoint {host} is at {}, which this node does not call (peer_networks in party.toml)",
                if list.is_empty() { "no address".to_owned() } else { list.join(", ") }
            ),
        ));
    }
    let mut last = None;
    for addr in allowed {
        match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                stream.set_nodelay(true)?;
                return Ok(TokioIo::new(stream));
            }
            Ok(Err(e)) => last = Some(e),
            Err(_) => last = Some(Error::new(ErrorKind::TimedOut, format!("connecting to {addr} timed out"))),
        }
    }
    Err(last.unwrap_or_else(|| Error::new(ErrorKind::NotFound, "no address")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_node_default_refuses_this_host_and_special_addresses() {
        let rule = PeerNetworks::NotSpecial;
        for refused in [
            "127.0.0.1",
            "127.8.9.10",
            "0.0.0.0",
            "169.254.169.254",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(!rule.allows(ip(refused)), "{refused}");
        }
        for allowed in ["10.1.2.3", "192.168.1.10", "172.16.0.5", "203.0.113.7", "2001:db8::1", "fd00::1"] {
            assert!(rule.allows(ip(allowed)), "{allowed}");
        }
        assert!(PeerNetworks::Any.allows(ip("127.0.0.1")));
    }

    #[test]
    fn an_allow_list_admits_only_its_networks() {
        let rule = PeerNetworks::only(&["10.0.0.0/8".into(), "2001:db8::/32".into(), "127.0.0.1".into()]).unwrap();
        for allowed in ["10.200.0.1", "2001:db8::7", "127.0.0.1", "::ffff:10.0.0.1"] {
            assert!(rule.allows(ip(allowed)), "{allowed}");
        }
        for refused in ["11.0.0.1", "127.0.0.2", "2001:db9::1", "169.254.169.254"] {
            assert!(!rule.allows(ip(refused)), "{refused}");
        }
        let e = PeerNetworks::only(&["10.0.0.0/33".into()]).unwrap_err();
        assert!(e.contains("'10.0.0.0/33' is not a network"), "{e}");
    }

    #[tokio::test]
    async fn a_refused_endpoint_is_never_dialled() {
        // A listener on loopback that must see no connection.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        for host in ["127.0.0.1", "localhost"] {
            let uri: Uri = format!("http://{host}:{port}").parse().unwrap();
            let e = connect(uri, PeerNetworks::NotSpecial, Duration::from_secs(2)).await.unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied);
            assert!(e.to_string().contains("peer_networks in party.toml"), "{e}");
        }
        let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
        assert!(accepted.is_err(), "nothing connected");
        // Allowed: it connects.
        let uri: Uri = format!("http://127.0.0.1:{port}").parse().unwrap();
        let only = PeerNetworks::only(&["127.0.0.0/8".into()]).unwrap();
        connect(uri, only, Duration::from_secs(2)).await.unwrap();
        listener.accept().await.unwrap();
    }
}
