// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.11;

import {Consortium, NotActiveMember} from "./Consortium.sol";

/// @title CertificateRegistry
/// @notice The on-chain half of the consortium PKI. A member requests a certificate by the hash of its
/// certificate signing request; an appointed certificate authority issues it (recording the certificate's
/// hash, serial, validity and where to fetch it) and can revoke it with a reason. Each authority publishes
/// the SM2 key of its root certificate here, so gateways can check a peer's X.509 certificate without any
/// file from the authority. Gateways refuse peers whose certificate does not read `Issued` here, or is not
/// signed by the root key of its issuer.
/// A certificate reads valid (`isValid`, `validity`) only while it is issued and not revoked, its issuer
/// is still an authority in the term it issued in (a dismissal is final for those certificates, even if
/// the account is appointed again) with the published root it issued under, and its member is active with
/// the key it had when it requested the certificate (issuing refuses a request whose member changed its key
/// since). A member has at most `MAX_OPEN_REQUESTS` requests open at once;
/// it can withdraw them.
/// @dev Validity times are X.509 times (Unix seconds) checked by gateways off chain: the chain never
/// compares them with block.timestamp (FISCO BCOS counts it in milliseconds).
contract CertificateRegistry {
    enum CertificateStatus {
        None,
        Requested,
        Issued,
        Revoked,
        Rejected,
        Withdrawn
    }

    /// @notice Why a certificate hash reads valid or not, as of the current block.
    enum Validity {
        Valid,
        Unknown,
        Revoked,
        IssuerDismissed,
        RootReplaced,
        MemberNotActive,
        KeyRotated
    }

    struct Certificate {
        uint256 id;
        address member;
        bytes32 csrHash;
        bytes32 certificateHash;
        uint256 serial;
        uint64 notBefore;
        uint64 notAfter;
        string uri;
        address issuer;
        // The member's key version (Consortium.keyVersionOf) when it requested the certificate; issuing
        // needs it unchanged.
        uint32 keyVersion;
        // The issuer's term as authority (Consortium.authorityTerm) when it issued.
        uint32 issuerTerm;
        CertificateStatus status;
        uint64 requestedBlock;
        uint64 issuedBlock;
        // Block in which the request was rejected or withdrawn or the certificate revoked (see `status`); 0
        // while Requested or Issued.
        uint64 closedBlock;
        // The issuer's published root certificate hash when it issued (zero if it had published none).
        bytes32 rootHash;
        string reason;
    }

    struct AuthorityRoot {
        // SM3 hash of the root certificate's DER encoding (0 when the authority never published one).
        bytes32 certificateHash;
        // The root's SM2 public key, x || y (64 bytes).
        bytes publicKey;
        uint64 setBlock;
    }

    /// @notice Length of an SM2 public key (x || y, no 0x04 prefix), in bytes.
    uint256 public constant ROOT_KEY_LENGTH = 64;
    /// @notice Maximum length of a certificate's download URI, in bytes.
    uint256 public constant MAX_URI_LENGTH = 512;
    /// @notice Maximum length of a rejection or revocation reason, in bytes.
    uint256 public constant MAX_REASON_LENGTH = 256;
    /// @notice Maximum number of requests a member may have open (Requested) at once.
    uint256 public constant MAX_OPEN_REQUESTS = 3;

    error NotCertificateAuthority(address account);
    error ZeroHash();
    error UnknownCertificate(uint256 certificateId);
    error UnknownCertificateHash(bytes32 certificateHash);
    error InvalidCertificateStatus(uint256 certificateId, CertificateStatus status);
    error CertificateHashInUse(bytes32 certificateHash, uint256 certificateId);
    error SerialInUse(address issuer, uint256 serial);
    error InvalidValidity(uint64 notBefore, uint64 notAfter);
    error InvalidUri(uint256 length);
    error InvalidReason(uint256 length);
    error NotAllowedToRevoke(uint256 certificateId, address account);
    error InvalidRootKey(uint256 length);
    error TooManyOpenRequests(address member, uint256 open);
    error NotRequester(uint256 certificateId, address account);
    error StaleRequest(uint256 certificateId, uint256 requestedKeyVersion, uint256 currentKeyVersion);

    /// @notice A member asked for a certificate for the key in the CSR with hash `csrHash`.
    event CertificateRequested(uint256 indexed certificateId, address indexed member, bytes32 csrHash);
    /// @notice A certificate authority issued the certificate.
    event CertificateIssued(
        uint256 indexed certificateId,
        address indexed member,
        address indexed issuer,
        bytes32 certificateHash,
        uint256 serial,
        uint64 notBefore,
        uint64 notAfter,
        string uri
    );
    /// @notice The member withdrew its request.
    event CertificateRequestWithdrawn(uint256 indexed certificateId, address indexed member);
    /// @notice A certificate authority declined a request.
    event CertificateRequestRejected(uint256 indexed certificateId, address indexed by, string reason);
    /// @notice The certificate was revoked; it never reads valid again.
    event CertificateRevoked(uint256 indexed certificateId, address indexed by, uint8 reasonCode, string reason);

    /// @notice A certificate authority published (or replaced) its root certificate: certificates it issues
    /// are signed by `publicKey`.
    event AuthorityRootSet(address indexed authority, bytes32 certificateHash, bytes publicKey);

    /// @notice The consortium whose members and certificate authorities this registry serves.
    Consortium public immutable consortium;
    Certificate[] private _certificates; // id = index + 1
    /// @notice The id of the certificate with this hash (0 when none was issued with it).
    mapping(bytes32 => uint256) public certificateIdByHash;
    mapping(address => mapping(uint256 => bool)) private _serialUsed;
    /// @notice The id of the certificate most recently issued to a member (0 when none; it may have been
    /// revoked since).
    mapping(address => uint256) public latestCertificateOf;
    mapping(address => AuthorityRoot) private _roots;
    /// @notice Number of requests `member` has open (Requested).
    mapping(address => uint256) public openRequests;

    modifier onlyAuthority() {
        if (!consortium.isCertificateAuthority(msg.sender)) revert NotCertificateAuthority(msg.sender);
        _;
    }

    /// @param consortium_ The consortium whose members and authorities this registry serves.
    constructor(Consortium consortium_) {
        consortium = consortium_;
    }

    /// @notice Requests a certificate. Only active members may request, with at most `MAX_OPEN_REQUESTS`
    /// requests open at once.
    /// @param csrHash SM3 (or SHA-256) hash of the DER-encoded certificate signing request.
    /// @return certificateId The id of the request, which becomes the certificate's id.
    function request(bytes32 csrHash) external returns (uint256 certificateId) {
        if (!consortium.isActive(msg.sender)) revert NotActiveMember(msg.sender);
        if (csrHash == bytes32(0)) revert ZeroHash();
        uint256 open = openRequests[msg.sender];
        if (open >= MAX_OPEN_REQUESTS) revert TooManyOpenRequests(msg.sender, open);
        openRequests[msg.sender] = open + 1;
        certificateId = _certificates.length + 1;
        Certificate storage c = _certificates.push();
        c.id = certificateId;
        c.member = msg.sender;
        c.csrHash = csrHash;
        c.status = CertificateStatus.Requested;
        c.keyVersion = consortium.keyVersionOf(msg.sender);
        c.requestedBlock = uint64(block.number);
        emit CertificateRequested(certificateId, msg.sender, csrHash);
    }

    /// @notice Issues a requested certificate. Only appointed certificate authorities may issue, and only
    /// for members that are still active.
    /// @param certificateId The request being answered.
    /// @param certificateHash Hash of the DER-encoded certificate; unique across the registry.
    /// @param serial The certificate's serial number; unique per issuer.
    /// @param notBefore Start of validity, Unix seconds (X.509 notBefore).
    /// @param notAfter End of validity, Unix seconds (X.509 notAfter); must be after notBefore.
    /// @param uri Where peers can download the certificate (at most 512 bytes, may be empty).
    function issue(
        uint256 certificateId,
        bytes32 certificateHash,
        uint256 serial,
        uint64 notBefore,
        uint64 notAfter,
        string calldata uri
    ) external onlyAuthority {
        Certificate storage c = _get(certificateId);
        if (c.status != CertificateStatus.Requested) revert InvalidCertificateStatus(certificateId, c.status);
        if (!consortium.isActive(c.member)) revert NotActiveMember(c.member);
        uint32 keyVersion = consortium.keyVersionOf(c.member);
        if (keyVersion != c.keyVersion) revert StaleRequest(certificateId, c.keyVersion, keyVersion);
        if (certificateHash == bytes32(0)) revert ZeroHash();
        uint256 other = certificateIdByHash[certificateHash];
        if (other != 0) revert CertificateHashInUse(certificateHash, other);
        if (_serialUsed[msg.sender][serial]) revert SerialInUse(msg.sender, serial);
        if (notAfter <= notBefore) revert InvalidValidity(notBefore, notAfter);
        if (bytes(uri).length > MAX_URI_LENGTH) revert InvalidUri(bytes(uri).length);

        _serialUsed[msg.sender][serial] = true;
        certificateIdByHash[certificateHash] = certificateId;
        latestCertificateOf[c.member] = certificateId;
        openRequests[c.member] -= 1;
        c.issuerTerm = consortium.authorityTerm(msg.sender);
        c.rootHash = _roots[msg.sender].certificateHash;
        c.certificateHash = certificateHash;
        c.serial = serial;
        c.notBefore = notBefore;
        c.notAfter = notAfter;
        c.uri = uri;
        c.issuer = msg.sender;
        c.status = CertificateStatus.Issued;
        c.issuedBlock = uint64(block.number);
        emit CertificateIssued(certificateId, c.member, msg.sender, certificateHash, serial, notBefore, notAfter, uri);
    }

    /// @notice Publishes the caller's root certificate: its hash and SM2 public key. Only certificate
    /// authorities may. Replacing a root invalidates, at every gateway, the certificates signed by the old one.
    /// @param certificateHash SM3 hash of the DER-encoded root certificate.
    /// @param publicKey The root's SM2 public key, x || y (64 bytes).
    function setAuthorityRoot(bytes32 certificateHash, bytes calldata publicKey) external onlyAuthority {
        if (certificateHash == bytes32(0)) revert ZeroHash();
        if (publicKey.length != ROOT_KEY_LENGTH) revert InvalidRootKey(publicKey.length);
        _roots[msg.sender] = AuthorityRoot(certificateHash, publicKey, uint64(block.number));
        emit AuthorityRootSet(msg.sender, certificateHash, publicKey);
    }

    /// @notice The root certificate an authority published (all zero when none). Whether the account is still an
    /// authority is `Consortium.isCertificateAuthority`'s answer.
    function authorityRoot(address authority) external view returns (AuthorityRoot memory) {
        return _roots[authority];
    }

    /// @notice Declines a pending request. Only certificate authorities may.
    /// @param certificateId The request.
    /// @param reason Why (at most 256 bytes).
    function reject(uint256 certificateId, string calldata reason) external onlyAuthority {
        Certificate storage c = _get(certificateId);
        if (c.status != CertificateStatus.Requested) revert InvalidCertificateStatus(certificateId, c.status);
        _checkReason(reason);
        openRequests[c.member] -= 1;
        c.status = CertificateStatus.Rejected;
        c.reason = reason;
        c.closedBlock = uint64(block.number);
        emit CertificateRequestRejected(certificateId, msg.sender, reason);
    }

    /// @notice Withdraws a pending request; only the member that made it may, whatever its status.
    /// @param certificateId The request.
    function withdrawRequest(uint256 certificateId) external {
        Certificate storage c = _get(certificateId);
        if (c.member != msg.sender) revert NotRequester(certificateId, msg.sender);
        if (c.status != CertificateStatus.Requested) revert InvalidCertificateStatus(certificateId, c.status);
        openRequests[msg.sender] -= 1;
        c.status = CertificateStatus.Withdrawn;
        c.closedBlock = uint64(block.number);
        emit CertificateRequestWithdrawn(certificateId, msg.sender);
    }

    /// @notice Revokes an issued certificate. Any certificate authority may revoke; the member itself may
    /// revoke its own certificate (e.g. after a key compromise).
    /// @param certificateId The certificate.
    /// @param reasonCode RFC 5280 CRLReason code (0 unspecified, 1 keyCompromise, 4 superseded, ...).
    /// @param reason Free text (at most 256 bytes).
    function revoke(uint256 certificateId, uint8 reasonCode, string calldata reason) external {
        Certificate storage c = _get(certificateId);
        if (!consortium.isCertificateAuthority(msg.sender) && msg.sender != c.member) {
            revert NotAllowedToRevoke(certificateId, msg.sender);
        }
        if (c.status != CertificateStatus.Issued) revert InvalidCertificateStatus(certificateId, c.status);
        _checkReason(reason);
        c.status = CertificateStatus.Revoked;
        c.reason = reason;
        c.closedBlock = uint64(block.number);
        emit CertificateRevoked(certificateId, msg.sender, reasonCode, reason);
    }

    /// @notice The status of certificate `certificateId` (None when unknown).
    function status(uint256 certificateId) external view returns (CertificateStatus) {
        if (certificateId == 0 || certificateId > _certificates.length) return CertificateStatus.None;
        return _certificates[certificateId - 1].status;
    }

    /// @notice True only for an issued, unrevoked certificate with this hash whose issuer is still an
    /// authority with the same root and whose member is active with the key it had at issuance (see
    /// `validity`). Validity times are checked by the caller against its own clock.
    function isValid(bytes32 certificateHash) external view returns (bool) {
        return validity(certificateHash) == Validity.Valid;
    }

    /// @notice Whether the certificate with this hash is valid now and, if not, the first reason why not.
    function validity(bytes32 certificateHash) public view returns (Validity) {
        uint256 id = certificateIdByHash[certificateHash];
        if (id == 0) return Validity.Unknown;
        Certificate storage c = _certificates[id - 1];
        if (c.status != CertificateStatus.Issued) return Validity.Revoked;
        if (!consortium.isCertificateAuthority(c.issuer) || consortium.authorityTerm(c.issuer) != c.issuerTerm) {
            return Validity.IssuerDismissed;
        }
        if (_roots[c.issuer].certificateHash != c.rootHash) return Validity.RootReplaced;
        if (!consortium.isActive(c.member)) return Validity.MemberNotActive;
        if (consortium.keyVersionOf(c.member) != c.keyVersion) return Validity.KeyRotated;
        return Validity.Valid;
    }

    /// @notice The full record of certificate `certificateId`; reverts when unknown.
    function getCertificate(uint256 certificateId) external view returns (Certificate memory) {
        return _get(certificateId);
    }

    /// @notice The full record of the certificate with hash `certificateHash`; reverts when unknown.
    function getCertificateByHash(bytes32 certificateHash) external view returns (Certificate memory) {
        uint256 id = certificateIdByHash[certificateHash];
        if (id == 0) revert UnknownCertificateHash(certificateHash);
        return _certificates[id - 1];
    }

    /// @notice Number of requests ever made.
    function certificateCount() external view returns (uint256) {
        return _certificates.length;
    }

    function _get(uint256 certificateId) private view returns (Certificate storage) {
        if (certificateId == 0 || certificateId > _certificates.length) revert UnknownCertificate(certificateId);
        return _certificates[certificateId - 1];
    }

    function _checkReason(string calldata reason) private pure {
        if (bytes(reason).length > MAX_REASON_LENGTH) revert InvalidReason(bytes(reason).length);
    }
}
