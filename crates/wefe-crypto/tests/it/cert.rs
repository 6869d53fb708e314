//! The consortium's X.509 certificates: made here, checked here, and read by
//! the machine's OpenSSL (3.x knows SM2/SM3).

use std::path::Path;
use std::process::Command;

use wefe_crypto::cert::{self, CertificateRejection, Csr, MemberCertificate};
use wefe_crypto::sm::Sm2KeyPair;

const NOW: u64 = 1_800_000_000;
const DAY: u64 = 86_400;
const MEMBER: [u8; 20] = [0xab; 20];

struct Pki {
    ca_key: Sm2KeyPair,
    root: MemberCertificate,
    member_key: Sm2KeyPair,
    csr: Csr,
}

fn pki() -> Pki {
    let ca_key = Sm2KeyPair::generate().unwrap();
    let root = cert::create_root(&ca_key, "Regulator Root CA", NOW - DAY, NOW + 3650 * DAY).unwrap();
    let member_key = Sm2KeyPair::generate().unwrap();
    let csr = cert::create_csr(&member_key, "Bank A, Shanghai \"branch\"", &MEMBER).unwrap();
    Pki { ca_key, root, member_key, csr }
}

fn issue(p: &Pki, not_before: u64, not_after: u64) -> MemberCertificate {
    cert::issue(&p.ca_key, &p.root, &p.csr, cert::random_serial().unwrap(), not_before, not_after).unwrap()
}

#[test]
fn root_csr_and_member_certificate_carry_what_was_asked() {
    let p = pki();
    p.root.check_root().unwrap();
    assert!(p.root.is_ca);
    assert_eq!(p.root.name, "Regulator Root CA");
    assert_eq!(p.root.public_key, p.ca_key.public_key());

    assert_eq!(p.csr.name, "Bank A, Shanghai \"branch\"");
    assert_eq!(p.csr.address, MEMBER);
    assert_eq!(p.csr.public_key, p.member_key.public_key());
    let reparsed = Csr::parse(p.csr.to_pem().unwrap().as_bytes()).unwrap();
    assert_eq!(reparsed.hash(), p.csr.hash());

    let cert = issue(&p, NOW, NOW + 365 * DAY);
    assert!(!cert.is_ca);
    assert_eq!(cert.name, p.csr.name);
    assert_eq!(cert.address, Some(MEMBER));
    assert_eq!((cert.not_before, cert.not_after), (NOW, NOW + 365 * DAY));
    assert_eq!(cert.issuer(), p.root.subject());
    let again = MemberCertificate::parse(cert.to_pem().unwrap().as_bytes()).unwrap();
    assert_eq!(again.hash(), cert.hash());
    assert_eq!(again.serial, cert.serial);
    cert.check(&[p.root.public_key], NOW + DAY, &MEMBER, &p.member_key.public_key()).unwrap();
}

#[test]
fn every_bad_certificate_is_refused_with_its_reason() {
    let p = pki();
    let root = [p.root.public_key];
    let key = p.member_key.public_key();
    let cert = issue(&p, NOW, NOW + 10 * DAY);

    // Expired, and not yet valid.
    assert!(matches!(cert.check(&root, NOW + 11 * DAY, &MEMBER, &key), Err(CertificateRejection::Expired { .. })));
    assert!(matches!(cert.check(&root, NOW - 1, &MEMBER, &key), Err(CertificateRejection::NotYetValid { .. })));

    // Signed by another CA.
    let other_ca = Sm2KeyPair::generate().unwrap();
    let other_root = cert::create_root(&other_ca, "Regulator Root CA", NOW - DAY, NOW + 3650 * DAY).unwrap();
    let foreign = cert::issue(&other_ca, &other_root, &p.csr, 7, NOW, NOW + DAY).unwrap();
    let err = foreign.check(&root, NOW + 1, &MEMBER, &key).unwrap_err();
    assert!(matches!(err, CertificateRejection::UntrustedIssuer(_)), "{err}");

    // Self-signed by the member (a "root" of its own key, used as a member certificate).
    let own_root = cert::create_root(&p.member_key, "Bank A", NOW - DAY, NOW + DAY).unwrap();
    let own = cert::issue(&p.member_key, &own_root, &p.csr, 9, NOW, NOW + DAY).unwrap();
    assert!(matches!(own.check(&root, NOW + 1, &MEMBER, &key), Err(CertificateRejection::UntrustedIssuer(_))));
    // A CA certificate is never a member's.
    assert_eq!(p.root.check(&root, NOW, &MEMBER, &key).unwrap_err(), CertificateRejection::NotMemberCertificate);

    // The right CA, but for a key that is not the member's registered one.
    let registered = Sm2KeyPair::generate().unwrap().public_key();
    let err = cert.check(&root, NOW + 1, &MEMBER, &registered).unwrap_err();
    assert!(matches!(err, CertificateRejection::WrongKey { .. }), "{err}");
    // ... or presented by another member.
    let err = cert.check(&root, NOW + 1, &[0xcd; 20], &key).unwrap_err();
    assert!(matches!(err, CertificateRejection::WrongMember { .. }), "{err}");

    // A tampered certificate no longer verifies.
    let mut der = cert.der().to_vec();
    let at = der.len() / 2;
    der[at] ^= 1;
    if let Ok(tampered) = MemberCertificate::from_der(&der) {
        assert!(tampered.check(&root, NOW + 1, &MEMBER, &key).is_err());
    }
}

#[test]
fn issuing_refuses_what_the_ca_cannot_vouch_for() {
    let p = pki();
    // Validity beyond the root's.
    let err = cert::issue(&p.ca_key, &p.root, &p.csr, 1, NOW, NOW + 4000 * DAY).unwrap_err().to_string();
    assert!(err.contains("outside the CA certificate"), "{err}");
    // Empty validity.
    let err = cert::issue(&p.ca_key, &p.root, &p.csr, 1, NOW, NOW).unwrap_err().to_string();
    assert!(err.contains("empty validity"), "{err}");
    // A key that is not the root's.
    let err = cert::issue(&p.member_key, &p.root, &p.csr, 1, NOW, NOW + DAY).unwrap_err().to_string();
    assert!(err.contains("does not belong"), "{err}");
    // A member certificate cannot issue.
    let leaf = issue(&p, NOW, NOW + DAY);
    assert!(cert::issue(&p.member_key, &leaf, &p.csr, 1, NOW, NOW + DAY).is_err());
}

#[test]
fn malformed_inputs_get_one_line_errors() {
    let p = pki();
    for (bytes, expect) in [
        (&b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n"[..], "malformed PEM"),
        (&b"\x30\x82\x01"[..], "malformed DER"),
        (&b""[..], "malformed DER"),
    ] {
        let err = MemberCertificate::parse(bytes).unwrap_err().to_string();
        assert!(err.contains(expect) && !err.contains('\n'), "{err}");
    }
    // A CSR handed in as a certificate, and the other way round.
    let err = MemberCertificate::parse(p.csr.to_pem().unwrap().as_bytes()).unwrap_err().to_string();
    assert!(err.contains("CERTIFICATE REQUEST"), "{err}");
    let err = Csr::parse(p.root.to_pem().unwrap().as_bytes()).unwrap_err().to_string();
    assert!(err.contains("expected a \"CERTIFICATE REQUEST\""), "{err}");
    // A CSR whose signature does not match its key (proof of possession fails).
    let mut der = p.csr.der().to_vec();
    let last = der.len() - 1;
    der[last] ^= 1;
    let err = Csr::parse(&der).unwrap_err().to_string();
    assert!(err.contains("CSR"), "{err}");
    // Names that no member could have.
    assert!(cert::create_csr(&p.member_key, "", &MEMBER).is_err());
    assert!(cert::create_csr(&p.member_key, &"x".repeat(65), &MEMBER).is_err());
    assert!(cert::create_csr(&p.member_key, "line\nbreak", &MEMBER).is_err());
}

const DISTID: &str = "distid:1234567812345678";

fn openssl(args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl must be installed (scripts/setup.sh installs it)");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// OpenSSL 3 parses and verifies what this module writes: the root, the CSR
/// (its self-signature), the member certificate's chain, and the encrypted key.
#[test]
fn openssl_reads_and_verifies_our_files() {
    let dir = tempfile::tempdir().unwrap();
    let p = pki();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let root = cert::create_root(&p.ca_key, "Regulator Root CA", now - DAY, now + 3650 * DAY).unwrap();
    let member =
        cert::issue(&p.ca_key, &root, &p.csr, cert::random_serial().unwrap(), now - 60, now + 365 * DAY).unwrap();
    std::fs::write(dir.path().join("root.pem"), root.to_pem().unwrap()).unwrap();
    std::fs::write(dir.path().join("member.pem"), member.to_pem().unwrap()).unwrap();
    std::fs::write(dir.path().join("member.der"), member.der()).unwrap();
    std::fs::write(dir.path().join("member.csr"), p.csr.to_pem().unwrap()).unwrap();
    std::fs::write(dir.path().join("member.key"), p.member_key.to_encrypted_pem(b"pw").unwrap().as_bytes()).unwrap();

    let (ok, text) = openssl(&["x509", "-in", "member.pem", "-noout", "-text"], dir.path());
    assert!(ok, "{text}");
    assert!(text.contains("SM2-with-SM3") || text.contains("sm2sign-with-sm3"), "{text}");
    assert!(text.contains(&format!("0x{}", hex::encode(MEMBER))), "{text}");
    assert!(text.contains("TLS Web Client Authentication"), "{text}");
    let (ok, text) = openssl(&["x509", "-inform", "DER", "-in", "member.der", "-noout", "-serial"], dir.path());
    assert!(ok && text.to_lowercase().contains(&hex::encode(&member.serial)), "{text}");
    let (ok, text) = openssl(&["req", "-in", "member.csr", "-noout", "-verify"], dir.path());
    assert!(ok, "{text}");
    // GM/T 0015 certificates are signed with the default SM2 id; OpenSSL 3.0
    // assumes an empty id for certificates unless told (`-vfyopt distid:`).
    let (ok, text) = openssl(&["verify", "-vfyopt", DISTID, "-CAfile", "root.pem", "member.pem"], dir.path());
    assert!(ok && text.contains("member.pem: OK"), "{text}");
    let (ok, text) = openssl(&["pkey", "-in", "member.key", "-passin", "pass:pw", "-noout", "-text"], dir.path());
    assert!(ok, "{text}");
    let (ok, _) = openssl(&["pkey", "-in", "member.key", "-passin", "pass:wrong", "-noout"], dir.path());
    assert!(!ok, "openssl opened the key with a wrong password");

    // And the other way: a certificate OpenSSL verifies against another root fails there too.
    let other = Sm2KeyPair::generate().unwrap();
    let other_root = cert::create_root(&other, "Other CA", now - DAY, now + DAY).unwrap();
    std::fs::write(dir.path().join("other.pem"), other_root.to_pem().unwrap()).unwrap();
    let (ok, _) = openssl(&["verify", "-vfyopt", DISTID, "-CAfile", "other.pem", "member.pem"], dir.path());
    assert!(!ok);
}

/// Keys and certificates made by OpenSSL are read here, including
/// certificates signed the way OpenSSL 3.0 signs them by default (empty SM2 id).
#[test]
fn we_read_openssl_made_keys_and_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, text) = openssl(&["genpkey", "-algorithm", "SM2", "-out", "ca.key"], dir.path());
    assert!(ok, "{text}");
    let (ok, text) = openssl(
        &["req", "-new", "-x509", "-key", "ca.key", "-sm3", "-days", "30", "-subj", "/CN=OpenSSL CA", "-out", "ca.pem"],
        dir.path(),
    );
    assert!(ok, "{text}");
    let key = Sm2KeyPair::from_pkcs8_pem(&std::fs::read_to_string(dir.path().join("ca.key")).unwrap()).unwrap();
    let root = MemberCertificate::parse(&std::fs::read(dir.path().join("ca.pem")).unwrap()).unwrap();
    assert_eq!(root.public_key, key.public_key());
    assert_eq!(root.name, "OpenSSL CA");
    root.check_root().unwrap();

    // A member certificate OpenSSL issues from our CSR, with the default id and without.
    let member = Sm2KeyPair::generate().unwrap();
    let csr = cert::create_csr(&member, "Bank B", &MEMBER).unwrap();
    std::fs::write(dir.path().join("m.csr"), csr.to_pem().unwrap()).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    for (out, extra) in [("m1.pem", None), ("m2.pem", Some(["-sigopt", DISTID]))] {
        // Our CSR is signed with the standard id, which `x509 -req` must be told.
        let mut args = vec!["x509", "-req", "-vfyopt", DISTID, "-in", "m.csr", "-CA", "ca.pem", "-CAkey", "ca.key"];
        args.extend(["-sm3", "-days", "5"]);
        args.extend(extra.iter().flatten());
        args.extend(["-set_serial", "4660", "-out", out]);
        let (ok, text) = openssl(&args, dir.path());
        assert!(ok, "{text}");
        let issued = MemberCertificate::parse(&std::fs::read(dir.path().join(out)).unwrap()).unwrap();
        assert_eq!(issued.serial, vec![0x12, 0x34]);
        issued.check(&[root.public_key], now + 60, &MEMBER, &member.public_key()).unwrap();
    }
}
