//! Which addresses a gateway dials for its peers. A member chooses the
//! endpoint the chain records for it, and every node calls every member's
//! endpoint (jobs, peer checks): without a rule, a hostile member could point
//! its endpoint at this node's own host (`127.0.0.1:…`), at a link-local
//! cloud metadata service or at anything else inside this member's network,
//! and make the node send requests there. The rule is checked on the
//! addresses a name resolves to, and the connection goes to a checked
//! address: a name that resolves differently later (DNS rebinding) cannot
//! slip past it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
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
    /// Any address except this host's own and special ones (see
    /// `is_special`: loopback, link-local and cloud metadata services,
    /// carrier-grade NAT, multicast…) — the node's default. Private networks
    /// are allowed: consortium gateways often live on them.
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

    /// Whether a peer's endpoint may be dialled at `ip` (this host's own
    /// interface addresses are refused at dialling, see [`connect`]).
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = embedded_ipv4(ip).map_or(ip, IpAddr::V4);
        match self {
            Self::Any => true,
            Self::NotSpecial => !is_special(ip),
            Self::Only(nets) => nets.iter().any(|n| n.contains(&ip)),
        }
    }

    /// Why `ip` is refused, for the error (the rule in words).
    fn refusal(&self) -> &'static str {
        match self {
            Self::Only(_) => "outside the networks peer_networks in party.toml lists",
            _ => {
                "this host's or a special address (loopback, link-local, metadata, multicast…), which a node calls \
                 only when peer_networks in party.toml lists it"
            }
        }
    }
}

/// The IPv4 address an IPv6 one carries, for the forms that reach IPv4 hosts:
/// IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), NAT64
/// (`64:ff9b::a.b.c.d`) and 6to4 (`2002:aabb:ccdd::`).
fn embedded_ipv4(ip: IpAddr) -> Option<Ipv4Addr> {
    let IpAddr::V6(v6) = ip else { return None };
    let s = v6.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if let Some(v4) = v6.to_ipv4_mapped() {
        Some(v4)
    } else if (s[..6] == [0; 6] && !v6.is_loopback() && !v6.is_unspecified()) || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // IPv4-compatible, or NAT64's well-known prefix.
        Some(low)
    } else if s[0] == 0x2002 {
        Some(Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8))
    } else {
        None
    }
}

/// Addresses no member's gateway has any business at: loopback, unspecified,
/// link-local, multicast, broadcast, reserved, carrier-grade NAT (which
/// holds Alibaba Cloud's metadata service, 100.100.100.200), IETF protocol
/// assignments, benchmarking, AWS's IPv6 metadata prefix, site-local,
/// Teredo and NAT64's local-use prefix (whose IPv4 address cannot be read).
fn is_special(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_unspecified()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || a == 0
                || a >= 240
                || (a == 100 && (b & 0xc0) == 64)
                || (a == 192 && b == 0 && v4.octets()[2] == 0)
                || (a == 198 && (b & 0xfe) == 18)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] & 0xffc0) == 0xfec0
                || (s[0] == 0xfd00 && s[1] == 0x0ec2)
                || (s[0] == 0x2001 && s[1] == 0)
                || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1)
        }
    }
}

/// Whether a call failed because the rule refused the peer's endpoint (an
/// `io::Error` of kind `PermissionDenied` from [`connect`] among its sources).
pub(crate) fn refused_by_rule(status: &tonic::Status) -> bool {
    causes(status)
        .any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::PermissionDenied))
}

/// What a status reports as its causes (tonic keeps the connector's error there).
pub(crate) fn causes(status: &tonic::Status) -> impl Iterator<Item = &(dyn std::error::Error + 'static)> {
    std::iter::successors(std::error::Error::source(status), |cause| cause.source())
}

/// Whether `ip` is one of this host's own addresses: binding a socket to it
/// succeeds only then. Anything listening on all interfaces is reachable there.
fn is_this_host(ip: IpAddr) -> bool {
    std::net::UdpSocket::bind((ip, 0)).is_ok()
}

/// Resolves `uri`'s host, keeps the addresses `networks` allows (under the
/// default rule, not this host's own either), and connects to one that
/// answers, IPv6 and IPv4 alternately, all within `timeout`. A peer's
/// endpoint whose every address is refused is an error naming them and the
/// setting.
pub(crate) async fn connect(
    uri: Uri,
    networks: PeerNetworks,
    timeout: Duration,
) -> std::io::Result<TokioIo<TcpStream>> {
    use std::io::{Error, ErrorKind};
    let deadline = tokio::time::Instant::now() + timeout;
    let host = uri.host().ok_or_else(|| Error::new(ErrorKind::InvalidInput, format!("no host in {uri}")))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(if uri.scheme_str() == Some("https") { 443 } else { 80 });
    let resolved: Vec<SocketAddr> = match tokio::time::timeout_at(deadline, tokio::net::lookup_host((host, port))).await
    {
        Ok(Ok(addrs)) => addrs.collect(),
        Ok(Err(e)) => return Err(Error::new(e.kind(), format!("resolving the peer's endpoint {host}: {e}"))),
        Err(_) => {
            return Err(Error::new(ErrorKind::TimedOut, format!("resolving the peer's endpoint {host} timed out")));
        }
    };
    let permitted =
        |a: &SocketAddr| networks.allows(a.ip()) && (networks != PeerNetworks::NotSpecial || !is_this_host(a.ip()));
    let (allowed, refused): (Vec<SocketAddr>, Vec<SocketAddr>) = resolved.into_iter().partition(permitted);
    if allowed.is_empty() {
        let list: Vec<String> = refused.iter().map(|a| a.ip().to_string()).collect();
        let at = if list.len() == 1 && list[0] == host { String::new() } else { format!(" (at {})", list.join(", ")) };
        return Err(Error::new(
            ErrorKind::PermissionDenied,
            format!("the peer's endpoint {host}{at} is {}", networks.refusal()),
        ));
    }
    // IPv6 and IPv4 alternately, so an unreachable family does not hide the other.
    let (v6, v4): (Vec<SocketAddr>, Vec<SocketAddr>) = allowed.into_iter().partition(SocketAddr::is_ipv6);
    let mut order = Vec::with_capacity(v6.len() + v4.len());
    let (mut a, mut b) = (v6.into_iter(), v4.into_iter());
    loop {
        match (a.next(), b.next()) {
            (None, None) => break,
            (x, y) => order.extend(x.into_iter().chain(y)),
        }
    }
    let mut last = None;
    let count = order.len() as u32;
    for (i, addr) in order.into_iter().enumerate() {
        // Each address gets an equal share of what is left of the time.
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let share = left / (count - i as u32);
        match tokio::time::timeout(share, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                stream.set_nodelay(true)?;
                return Ok(TokioIo::new(stream));
            }
            Ok(Err(e)) => last = Some(Error::new(e.kind(), format!("connecting to {addr}: {e}"))),
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
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::1",
            "2001:0:4136:e378::1",
            "64:ff9b:1::1",
            "100.100.100.200",
            "100.64.0.1",
            "192.0.0.8",
            "198.18.0.1",
            "fd00:ec2::254",
            "fec0::1",
        ] {
            assert!(!rule.allows(ip(refused)), "{refused}");
        }
        for allowed in
            ["10.1.2.3", "192.168.1.10", "172.16.0.5", "203.0.113.7", "2001:db8::1", "fd00::1", "64:ff9b::cb00:7107"]
        {
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
        // This host's own non-loopback addresses are refused too (anything listening on all interfaces is there).
        let own = std::net::UdpSocket::bind("0.0.0.0:0")
            .and_then(|s| s.connect("192.0.2.1:9").map(|_| s))
            .and_then(|s| s.local_addr())
            .map(|a| a.ip());
        assert!(is_this_host(ip("127.0.0.1")) && !is_this_host(ip("192.0.2.1")));
        if let Some(own) = own.ok().filter(|ip| !ip.is_unspecified() && !is_special(*ip)) {
            let uri: Uri = format!("http://{own}:{port}").parse().unwrap();
            let e = connect(uri, PeerNetworks::NotSpecial, Duration::from_secs(2)).await.unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{own}: {e}");
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
