//! The consortium's X.509 certificates: SM2 keys, SM2-with-SM3 signatures
//! (OID 1.2.156.10197.1.501, signed with the default identifier
//! `1234567812345678` as GM/T 0015 specifies), DER/PEM files that `openssl`
//! reads. OpenSSL 3.0 verifies them with `openssl verify -vfyopt
//! distid:1234567812345678`; certificates OpenSSL signed with its own default
//! (an empty identifier) are accepted too.
//!
//! - A certificate authority makes a self-signed root with [`create_root`]
//!   (basicConstraints CA, keyUsage keyCertSign + cRLSign).
//! - A member makes a CSR with [`create_csr`]: subject `CN=<member name>`,
//!   `UID=<0x member address>`, signed by the member's key (proof of possession).
//! - The authority reads it with [`Csr::parse`] (which checks that
//!   signature), and after its own checks (the member is active on chain
//!   and the CSR's key is the member's registered key) signs a member
//!   certificate with [`issue`] (keyUsage digitalSignature + keyAgreement,
//!   extendedKeyUsage clientAuth + serverAuth, not a CA).
//! - Anyone checks a member certificate with [`MemberCertificate::check`]:
//!   signed by a trusted root's key, within its validity, the expected key.
//!
//! Certificates are identified on chain by [`MemberCertificate::hash`]:
//! SM3 of the DER encoding.

use std::time::Duration;

use sm2::dsa::DerSignature;
use sm2::dsa::signature::{Keypair, Signer};
use sm2::pkcs8::{DecodePublicKey, EncodePublicKey, LineEnding};
use x509_cert::Certificate;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder, RequestBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::der;
use x509_cert::der::asn1::Utf8StringRef;
use x509_cert::der::{Decode, Encode, EncodePem};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::request::CertReq;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{
    AlgorithmIdentifier, SignatureAlgorithmIdentifier, SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef,
};
use x509_cert::time::{Time, Validity};

use crate::sm::{DEFAULT_ID, Sm2KeyPair, Sm2PublicKey, sm3};
use crate::{Error, Result};

/// SM2 signature with SM3 (GM/T 0006).
pub const SM2_WITH_SM3: der::oid::ObjectIdentifier = der::oid::ObjectIdentifier::new_unwrap("1.2.156.10197.1.501");
/// The userid attribute type (RFC 4519 `UID`) that carries a member's address.
const UID: der::oid::ObjectIdentifier = der::oid::ObjectIdentifier::new_unwrap("0.9.2342.19200300.100.1.1");
const COMMON_NAME: der::oid::ObjectIdentifier = der::oid::ObjectIdentifier::new_unwrap("2.5.4.3");
const CLIENT_AUTH: der::oid::ObjectIdentifier = der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");
const SERVER_AUTH: der::oid::ObjectIdentifier = der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");
/// The SM2 identifier OpenSSL 3.0 uses for certificate signatures when none is set.
const OPENSSL_DEFAULT_ID: &str = "";
/// Longest certificate or CSR this module reads.
pub const MAX_DER_LEN: usize = 64 * 1024;

fn cert_err(what: impl std::fmt::Display) -> Error {
    Error::Certificate(what.to_string())
}

/// Reads a PEM (`-----BEGIN <label>-----`) or DER file's bytes into DER.
fn pem_or_der(bytes: &[u8], label: &str, what: &str) -> Result<Vec<u8>> {
    if bytes.len() > 4 * MAX_DER_LEN {
        return Err(cert_err(format!("{what} is {} bytes: too large", bytes.len())));
    }
    // DER starts with a SEQUENCE tag (0x30); PEM is text with a BEGIN line.
    if bytes.first() != Some(&0x30) && bytes.windows(10).any(|w| w == b"-----BEGIN") {
        let text = std::str::from_utf8(bytes).map_err(|_| cert_err(format!("{what}: PEM is not UTF-8 text")))?;
        let (found, der) = pem_rfc7468_decode(text).map_err(|e| cert_err(format!("{what}: malformed PEM: {e}")))?;
        if found != label {
            return Err(cert_err(format!("{what}: PEM holds a {found:?}, expected a {label:?}")));
        }
        return Ok(der);
    }
    Ok(bytes.to_vec())
}

fn pem_rfc7468_decode(text: &str) -> std::result::Result<(String, Vec<u8>), String> {
    let start = text.find("-----BEGIN").ok_or("no BEGIN line")?;
    let (label, der) = der::pem::decode_vec(&text.as_bytes()[start..]).map_err(|e| e.to_string())?;
    Ok((label.to_owned(), der))
}

fn utf8_atv(oid: der::oid::ObjectIdentifier, value: &str) -> Result<AttributeTypeAndValue> {
    let value = Utf8StringRef::new(value).map_err(|e| cert_err(format!("name attribute: {e}")))?;
    Ok(AttributeTypeAndValue { oid, value: der::Any::encode_from(&value).map_err(cert_err)? })
}

fn name_of(attributes: Vec<AttributeTypeAndValue>) -> Result<Name> {
    let mut rdns = RdnSequence::default();
    for atv in attributes {
        rdns.push(RelativeDistinguishedName::try_from(vec![atv]).map_err(cert_err)?);
    }
    // A Name is its RDN sequence's encoding; building it from DER keeps any
    // text (commas, quotes, non-ASCII) out of a string parser.
    Name::from_der(&rdns.to_der().map_err(cert_err)?).map_err(cert_err)
}

fn member_name(name: &str, address: &[u8; 20]) -> Result<Name> {
    check_display_name(name)?;
    name_of(vec![utf8_atv(COMMON_NAME, name)?, utf8_atv(UID, &format!("0x{}", hex::encode(address)))?])
}

fn check_display_name(name: &str) -> Result<()> {
    if name.trim().is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
        return Err(cert_err(format!(
            "name {name:?} must be 1 to 64 bytes of printable text (the on-chain member name limit)"
        )));
    }
    Ok(())
}

/// Reads `CN` and `UID` from a name.
fn read_member_name(name: &Name) -> Result<(String, Option<[u8; 20]>)> {
    let mut cn = None;
    let mut uid = None;
    for atv in name.iter() {
        let text = || -> Result<String> {
            let s: der::asn1::Utf8StringRef<'_> =
                atv.value.decode_as().map_err(|_| cert_err("a name attribute is not a UTF8String"))?;
            Ok(s.as_str().to_owned())
        };
        if atv.oid == COMMON_NAME {
            cn = Some(text()?);
        } else if atv.oid == UID {
            uid = Some(text()?);
        }
    }
    let cn = cn.ok_or_else(|| cert_err("the subject has no common name (CN)"))?;
    let address = match uid {
        None => None,
        Some(uid) => Some(
            parse_address(&uid)
                .ok_or_else(|| cert_err(format!("the subject's UID {uid:?} is not a 0x-prefixed 20-byte address")))?,
        ),
    };
    Ok((cn, address))
}

fn parse_address(text: &str) -> Option<[u8; 20]> {
    let hex_part = text.strip_prefix("0x")?;
    let bytes = hex::decode(hex_part).ok()?;
    bytes.try_into().ok()
}

/// The SM2 public key of a SubjectPublicKeyInfo (id-ecPublicKey on the SM2 curve).
fn spki_key(spki: &SubjectPublicKeyInfoOwned) -> Result<Sm2PublicKey> {
    let der = spki.to_der().map_err(cert_err)?;
    let key = sm2::PublicKey::from_public_key_der(&der).map_err(|_| {
        cert_err("the subject key is not an SM2 public key (id-ecPublicKey on curve 1.2.156.10197.1.301)")
    })?;
    Sm2PublicKey::from_sec1(&sm2_point_bytes(&key))
}

fn sm2_point_bytes(key: &sm2::PublicKey) -> Vec<u8> {
    use sm2::elliptic_curve::sec1::ToSec1Point;
    key.to_sec1_point(false).as_bytes().to_vec()
}

fn spki_of(key: &Sm2PublicKey) -> Result<SubjectPublicKeyInfoOwned> {
    let point = key.point()?;
    let der = point.to_public_key_der().map_err(cert_err)?;
    SubjectPublicKeyInfoOwned::from_der(der.as_bytes()).map_err(cert_err)
}

/// Checks an SM2-with-SM3 signature (DER `r, s`) by `key` over `message`.
fn verify_sm2_sm3(
    key: &Sm2PublicKey,
    algorithm: &AlgorithmIdentifier<der::Any>,
    message: &[u8],
    signature: &[u8],
) -> Result<()> {
    if algorithm.oid != SM2_WITH_SM3 {
        return Err(cert_err(format!("signed with algorithm {}, not SM2-with-SM3 ({SM2_WITH_SM3})", algorithm.oid)));
    }
    let signature =
        sm2::dsa::Signature::from_der(signature).map_err(|_| cert_err("the signature is not a DER SM2 signature"))?;
    let rs = signature.to_bytes();
    // GM/T 0015 signs certificates with the default identifier (as wefe,
    // GmSSL and Tongsuo do); OpenSSL 3.0 signs them with an empty identifier
    // unless given `-sigopt distid:...`. Both are accepted: each is a valid
    // SM2 signature by `key` over `message`.
    key.verify_with_id(DEFAULT_ID, message, &rs)
        .or_else(|_| key.verify_with_id(OPENSSL_DEFAULT_ID, message, &rs))
        .map_err(|_| Error::BadSignature)
}

/// Signs with an SM2 key and returns the DER signature X.509 wants.
struct DerSigner(sm2::dsa::SigningKey);

impl Keypair for DerSigner {
    type VerifyingKey = sm2::dsa::VerifyingKey;
    fn verifying_key(&self) -> Self::VerifyingKey {
        self.0.verifying_key().clone()
    }
}

impl Signer<DerSignature> for DerSigner {
    fn try_sign(&self, msg: &[u8]) -> std::result::Result<DerSignature, sm2::dsa::signature::Error> {
        let signature: sm2::dsa::Signature = self.0.try_sign(msg)?;
        Ok(signature.to_der())
    }
}

impl SignatureAlgorithmIdentifier for DerSigner {
    type Params = der::AnyRef<'static>;
    const SIGNATURE_ALGORITHM_IDENTIFIER: AlgorithmIdentifier<Self::Params> =
        <sm2::dsa::SigningKey as SignatureAlgorithmIdentifier>::SIGNATURE_ALGORITHM_IDENTIFIER;
}

fn signer(key: &Sm2KeyPair) -> Result<DerSigner> {
    Ok(DerSigner(key.signing_key(DEFAULT_ID)?))
}

/// What kind of certificate a [`Profile`] builds.
enum Kind {
    Root,
    Member,
}

/// The extensions of wefe's two certificate kinds.
struct Profile {
    subject: Name,
    issuer: Option<Name>,
    kind: Kind,
}

impl BuilderProfile for Profile {
    fn get_issuer(&self, subject: &Name) -> Name {
        self.issuer.clone().unwrap_or_else(|| subject.clone())
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let mut out = Vec::new();
        let ski = SubjectKeyIdentifier::try_from(spk)?;
        let issuer_ski = SubjectKeyIdentifier::try_from(issuer_spk)?;
        let (ca, usages) = match self.kind {
            Kind::Root => (true, KeyUsages::KeyCertSign | KeyUsages::CRLSign),
            Kind::Member => (false, KeyUsages::DigitalSignature | KeyUsages::KeyAgreement),
        };
        out.push(BasicConstraints { ca, path_len_constraint: ca.then_some(0) }.to_extension(tbs.subject(), &out)?);
        out.push(KeyUsage(usages).to_extension(tbs.subject(), &out)?);
        if let Kind::Member = self.kind {
            out.push(ExtendedKeyUsage(vec![CLIENT_AUTH, SERVER_AUTH]).to_extension(tbs.subject(), &out)?);
        }
        out.push(ski.to_extension(tbs.subject(), &out)?);
        out.push(
            AuthorityKeyIdentifier { key_identifier: Some(issuer_ski.0), ..Default::default() }
                .to_extension(tbs.subject(), &out)?,
        );
        Ok(out)
    }
}

fn validity(not_before: u64, not_after: u64) -> Result<Validity> {
    if not_after <= not_before {
        return Err(cert_err(format!("empty validity: not after ({not_after}) must follow not before ({not_before})")));
    }
    let time = |secs: u64| -> Result<Time> {
        let t = der::asn1::GeneralizedTime::from_unix_duration(Duration::from_secs(secs))
            .map_err(|e| cert_err(format!("time {secs} cannot be encoded: {e}")))?;
        Ok(Time::GeneralTime(t))
    };
    Ok(Validity::new(time(not_before)?, time(not_after)?))
}

/// A random positive 127-bit serial number (RFC 5280: unique per issuer,
/// at most 20 octets, unpredictable).
pub fn random_serial() -> Result<u128> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| Error::Random(e.to_string()))?;
    Ok((u128::from_be_bytes(bytes) >> 1).max(1))
}

fn serial_number(serial: u128) -> Result<SerialNumber> {
    let bytes = serial.to_be_bytes();
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(15);
    let mut der = bytes[first..].to_vec();
    if der[0] & 0x80 != 0 {
        der.insert(0, 0);
    }
    SerialNumber::new(&der).map_err(cert_err)
}

/// A self-signed root certificate for a certificate authority's key.
pub fn create_root(key: &Sm2KeyPair, name: &str, not_before: u64, not_after: u64) -> Result<MemberCertificate> {
    check_display_name(name)?;
    let subject = name_of(vec![utf8_atv(COMMON_NAME, name)?])?;
    let profile = Profile { subject, issuer: None, kind: Kind::Root };
    let builder = CertificateBuilder::new(
        profile,
        serial_number(random_serial()?)?,
        validity(not_before, not_after)?,
        spki_of(&key.public_key())?,
    )
    .map_err(cert_err)?;
    let cert = builder.build::<_, DerSignature>(&signer(key)?).map_err(cert_err)?;
    MemberCertificate::from_der(&cert.to_der().map_err(cert_err)?)
}

/// A certificate signing request for `key`, naming the member.
pub fn create_csr(key: &Sm2KeyPair, name: &str, address: &[u8; 20]) -> Result<Csr> {
    let builder = RequestBuilder::new(member_name(name, address)?).map_err(cert_err)?;
    let req = builder.build::<_, DerSignature>(&signer(key)?).map_err(cert_err)?;
    Csr::parse(&req.to_der().map_err(cert_err)?)
}

/// A certificate signing request whose signature was checked.
#[derive(Debug, Clone)]
pub struct Csr {
    der: Vec<u8>,
    /// The member name (`CN`).
    pub name: String,
    /// The member address (`UID`).
    pub address: [u8; 20],
    /// The key to certify.
    pub public_key: Sm2PublicKey,
}

impl Csr {
    /// Reads a PEM (`CERTIFICATE REQUEST`) or DER CSR and checks its signature.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let der = pem_or_der(bytes, "CERTIFICATE REQUEST", "CSR")?;
        let req = CertReq::from_der(&der).map_err(|e| cert_err(format!("CSR: malformed DER: {e}")))?;
        let public_key = spki_key(&req.info.public_key).map_err(|e| cert_err(format!("CSR: {e}")))?;
        let info = req.info.to_der().map_err(cert_err)?;
        verify_sm2_sm3(&public_key, &req.algorithm, &info, req.signature.raw_bytes())
            .map_err(|e| cert_err(format!("CSR: its signature by its own key does not verify ({e})")))?;
        let (name, address) = read_member_name(&req.info.subject).map_err(|e| cert_err(format!("CSR: {e}")))?;
        let address = address.ok_or_else(|| cert_err("CSR: the subject has no UID (member address)"))?;
        check_display_name(&name).map_err(|e| cert_err(format!("CSR: {e}")))?;
        Ok(Self { der, name, address, public_key })
    }

    /// DER bytes.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// PEM text (`-----BEGIN CERTIFICATE REQUEST-----`).
    pub fn to_pem(&self) -> Result<String> {
        CertReq::from_der(&self.der).and_then(|r| r.to_pem(LineEnding::LF)).map_err(cert_err)
    }

    /// SM3 of the DER encoding: the hash a member records on chain with its request.
    pub fn hash(&self) -> [u8; 32] {
        sm3(&self.der)
    }
}

/// Issues a member certificate for `csr`, signed by the authority's key.
pub fn issue(
    ca_key: &Sm2KeyPair,
    ca_cert: &MemberCertificate,
    csr: &Csr,
    serial: u128,
    not_before: u64,
    not_after: u64,
) -> Result<MemberCertificate> {
    if ca_cert.public_key != ca_key.public_key() {
        return Err(cert_err("the CA key does not belong to the CA certificate"));
    }
    if !ca_cert.is_ca {
        return Err(cert_err("the issuing certificate is not a CA certificate"));
    }
    if not_before < ca_cert.not_before || not_after > ca_cert.not_after {
        return Err(cert_err(format!(
            "the validity [{not_before}, {not_after}] falls outside the CA certificate's [{}, {}]",
            ca_cert.not_before, ca_cert.not_after
        )));
    }
    let profile = Profile {
        subject: member_name(&csr.name, &csr.address)?,
        issuer: Some(ca_cert.cert.tbs_certificate().subject().clone()),
        kind: Kind::Member,
    };
    let builder = CertificateBuilder::new(
        profile,
        serial_number(serial)?,
        validity(not_before, not_after)?,
        spki_of(&csr.public_key)?,
    )
    .map_err(cert_err)?;
    let cert = builder.build::<_, DerSignature>(&signer(ca_key)?).map_err(cert_err)?;
    MemberCertificate::from_der(&cert.to_der().map_err(cert_err)?)
}

/// A parsed certificate (root or member) with the fields wefe checks.
#[derive(Debug, Clone)]
pub struct MemberCertificate {
    cert: Certificate,
    der: Vec<u8>,
    /// Subject common name.
    pub name: String,
    /// Subject UID as an address (member certificates).
    pub address: Option<[u8; 20]>,
    /// The certified key.
    pub public_key: Sm2PublicKey,
    /// Serial number: big-endian, positive, at most 20 bytes (RFC 5280);
    /// wefe issues serials below 2^127.
    pub serial: Vec<u8>,
    /// Start of validity, Unix seconds.
    pub not_before: u64,
    /// End of validity, Unix seconds.
    pub not_after: u64,
    /// basicConstraints cA.
    pub is_ca: bool,
}

/// Header and content length of the DER element at the start of `bytes`.
fn der_element(bytes: &[u8]) -> Option<(usize, usize)> {
    let first = *bytes.get(1)?;
    if first < 0x80 {
        return Some((2, usize::from(first)));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 4 {
        return None;
    }
    let len = bytes.get(2..2 + n)?.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
    Some((2 + n, len))
}

/// The encoded `tbsCertificate` (first element of the outer SEQUENCE) of a
/// certificate that already decoded.
fn raw_tbs(der: &[u8]) -> Option<&[u8]> {
    let (outer_header, _) = der_element(der)?;
    let inner = der.get(outer_header..)?;
    let (header, len) = der_element(inner)?;
    inner.get(..header.checked_add(len)?)
}

/// Why a certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateRejection {
    /// Not signed by any trusted root (another CA, or self-signed).
    #[error("not signed by a certificate authority appointed on chain (issuer: {0})")]
    UntrustedIssuer(String),
    /// Before notBefore.
    #[error("not yet valid: valid from {not_before}, now {now} (Unix seconds)")]
    NotYetValid { not_before: u64, now: u64 },
    /// After notAfter.
    #[error("expired at {not_after}, now {now} (Unix seconds)")]
    Expired { not_after: u64, now: u64 },
    /// The certified key is not the expected one.
    #[error("certifies key {certified}, but the member's registered key is {registered}")]
    WrongKey { certified: String, registered: String },
    /// The certificate names another member.
    #[error("issued to {certified}, not to {expected}")]
    WrongMember { certified: String, expected: String },
    /// A CA certificate used as a member's.
    #[error("is a CA certificate, not a member certificate")]
    NotMemberCertificate,
}

impl MemberCertificate {
    /// Reads a PEM (`CERTIFICATE`) or DER certificate.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let der = pem_or_der(bytes, "CERTIFICATE", "certificate")?;
        Self::from_der(&der)
    }

    /// Reads a DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        if der.len() > MAX_DER_LEN {
            return Err(cert_err(format!("certificate is {} bytes: too large", der.len())));
        }
        let cert = Certificate::from_der(der).map_err(|e| cert_err(format!("certificate: malformed DER: {e}")))?;
        let tbs = cert.tbs_certificate();
        let public_key = spki_key(tbs.subject_public_key_info()).map_err(|e| cert_err(format!("certificate: {e}")))?;
        let (name, address) = read_member_name(tbs.subject()).map_err(|e| cert_err(format!("certificate: {e}")))?;
        let serial = tbs.serial_number().as_bytes();
        if serial.first().is_some_and(|b| b & 0x80 != 0) {
            return Err(cert_err("certificate: the serial number is negative"));
        }
        let serial = serial.strip_prefix(&[0]).unwrap_or(serial).to_vec();
        if serial.len() > 20 {
            return Err(cert_err("certificate: the serial number is longer than 20 bytes"));
        }
        let is_ca = cert
            .tbs_certificate()
            .get_extension::<BasicConstraints>()
            .map_err(|e| cert_err(format!("certificate: bad basicConstraints: {e}")))?
            .is_some_and(|(_, bc)| bc.ca);
        let validity = tbs.validity();
        Ok(Self {
            name,
            address,
            public_key,
            serial,
            not_before: validity.not_before.to_unix_duration().as_secs(),
            not_after: validity.not_after.to_unix_duration().as_secs(),
            is_ca,
            der: der.to_vec(),
            cert,
        })
    }

    /// DER bytes.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// PEM text.
    pub fn to_pem(&self) -> Result<String> {
        self.cert.to_pem(LineEnding::LF).map_err(cert_err)
    }

    /// SM3 of the DER encoding: the certificate's id on chain.
    pub fn hash(&self) -> [u8; 32] {
        sm3(&self.der)
    }

    /// The issuer's distinguished name (RFC 4514 text).
    pub fn issuer(&self) -> String {
        self.cert.tbs_certificate().issuer().to_string()
    }

    /// The subject's distinguished name (RFC 4514 text).
    pub fn subject(&self) -> String {
        self.cert.tbs_certificate().subject().to_string()
    }

    /// Whether `key` signed this certificate.
    pub fn is_signed_by(&self, key: &Sm2PublicKey) -> bool {
        // The signature covers the TBS bytes as the issuer encoded them: a
        // re-encoding may differ (e.g. in how an issuer wrote an integer).
        raw_tbs(&self.der).is_some_and(|tbs| {
            verify_sm2_sm3(key, self.cert.signature_algorithm(), tbs, self.cert.signature().raw_bytes()).is_ok()
        })
    }

    /// Checks a member certificate: signed by one of `trusted_roots` (the
    /// keys of the authorities appointed on chain), valid at `now` (Unix
    /// seconds), certifying `registered` for `member`.
    pub fn check(
        &self,
        trusted_roots: &[Sm2PublicKey],
        now: u64,
        member: &[u8; 20],
        registered: &Sm2PublicKey,
    ) -> std::result::Result<(), CertificateRejection> {
        if self.is_ca {
            return Err(CertificateRejection::NotMemberCertificate);
        }
        if !trusted_roots.iter().any(|root| self.is_signed_by(root)) {
            return Err(CertificateRejection::UntrustedIssuer(self.issuer()));
        }
        if now < self.not_before {
            return Err(CertificateRejection::NotYetValid { not_before: self.not_before, now });
        }
        if now > self.not_after {
            return Err(CertificateRejection::Expired { not_after: self.not_after, now });
        }
        if self.address != Some(*member) {
            return Err(CertificateRejection::WrongMember {
                certified: self.address.map_or_else(|| "no member".to_owned(), |a| format!("0x{}", hex::encode(a))),
                expected: format!("0x{}", hex::encode(member)),
            });
        }
        if &self.public_key != registered {
            return Err(CertificateRejection::WrongKey {
                certified: hex::encode(self.public_key.to_xy()),
                registered: hex::encode(registered.to_xy()),
            });
        }
        Ok(())
    }

    /// A root's own checks: self-signed CA certificate of `key`.
    pub fn check_root(&self) -> Result<()> {
        if !self.is_ca {
            return Err(cert_err("not a CA certificate (basicConstraints cA is false)"));
        }
        if !self.is_signed_by(&self.public_key) {
            return Err(cert_err("the root certificate is not self-signed by its own key"));
        }
        Ok(())
    }
}
