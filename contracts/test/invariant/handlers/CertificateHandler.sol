// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.11;

import {Test} from "../../utils/ForgeStd.sol";
import {Consortium} from "../../../src/Consortium.sol";
import {CertificateRegistry} from "../../../src/CertificateRegistry.sol";

/// @notice Drives the certificate lifecycle (request, issue, reject, withdraw, revoke), authority roots,
/// certificate authority appointment and dismissal, and member suspension, reinstatement, removal,
/// re-admission and key rotation. Keeps an independent model of who is active with which key, who is an
/// authority in which term with which root, and which certificates are requested (with which key) and issued
/// (in which term) and revoked, from which the invariants derive what `validity` must answer and whether an
/// issuance must succeed (a request whose member changed its key since must not be issued). Every status change of every certificate is checked against the
/// transition table after each action.
contract CertificateHandler is Test {
    enum MStatus {
        None,
        Pending,
        Active,
        Suspended,
        Removed
    }

    struct MMember {
        MStatus status;
        uint32 keyVersion;
        uint32 approvedKeyVersion;
        uint32 instance;
    }

    struct MCert {
        address member;
        bool issued;
        bool revoked;
        address issuer;
        bytes32 rootAtIssue;
        uint32 keyAtRequest; // the member's key version when it requested; issuing needs it unchanged
        uint32 termAtIssue; // the issuer's term when it issued
        bytes32 hash;
        bool revokedSeen; // the handler saw it read Revoked (final: no need to ask again)
        bool seen; // lastValidity is set
        CertificateRegistry.Validity lastValidity;
    }

    Consortium public immutable consortium;
    CertificateRegistry public immutable certs;
    address public immutable admin1;
    address public immutable admin2;
    address public immutable outsider;
    address[] public members;
    address[] public authorities; // candidates; the model says which are appointed

    // ------------------------------------------------------------------ model
    mapping(address => MMember) internal _m;
    mapping(address => bool) public mIsCa;
    mapping(address => uint32) public mTerm;
    mapping(address => bytes32) public mRoot;
    mapping(address => uint256) public mOpen;
    mapping(uint256 => MCert) internal _c;
    mapping(bytes32 => bool) internal _hashUsed;
    mapping(address => mapping(uint256 => bool)) internal _serialUsed;
    uint256 internal _nonce;

    // ----------------------------------------------------------------- ghosts
    mapping(uint256 => CertificateRegistry.CertificateStatus) public ghostStatus;
    uint256 public ghostObservedCount;
    uint256 public ghostTransitionViolations;
    uint256 public ghostModelMismatch;
    uint256 public ghostInactiveRequest;
    uint256 public ghostValidityMismatch;
    uint256 public ghostModelDrift;
    uint256 public ghostUnknownRequester;
    /// @notice Number of Requested certificates of each account, counted from the chain's statuses at the
    /// last observation (after the last action).
    mapping(address => uint256) public ghostRequested;
    /// @notice The certificate the handler issued last (0: none yet).
    uint256 public lastIssued;

    // Progress counters (deep-state reach).
    uint256 public reachIssued;
    uint256 public reachRevoked;
    uint256 public reachWithdrawn;
    uint256 public reachRejected;
    uint256 public reachInvalidByDismissal;
    uint256 public reachInvalidByRootChange;
    uint256 public reachInvalidByMembership;
    uint256 public reachInvalidByKeyRotation;
    uint256 public reachRequestLimitHit;
    uint256 public reachStaleRequestRefused;
    uint256 public reachInvalidAfterReappointment;
    uint256 public reachIssuedInLaterTerm;

    constructor(
        Consortium consortium_,
        CertificateRegistry certs_,
        address admin1_,
        address admin2_,
        address outsider_,
        address[] memory members_,
        address[] memory authorities_
    ) {
        consortium = consortium_;
        certs = certs_;
        admin1 = admin1_;
        admin2 = admin2_;
        outsider = outsider_;
        members = members_;
        authorities = authorities_;
        // The starting point (set up by the test): every member active with its first, approved key.
        for (uint256 i = 0; i < members_.length; i++) {
            Consortium.Member memory mem = consortium_.getMember(members_[i]);
            require(mem.status == Consortium.MemberStatus.Active, "members start active");
            _m[members_[i]] = MMember(MStatus.Active, mem.keyVersion, mem.keyVersion, mem.instance);
        }
        for (uint256 i = 0; i < authorities_.length; i++) {
            mIsCa[authorities_[i]] = consortium_.isCertificateAuthority(authorities_[i]);
            mTerm[authorities_[i]] = consortium_.authorityTerm(authorities_[i]);
        }
    }

    // ------------------------------------------------------------- model views

    function memberCount() external view returns (uint256) {
        return members.length;
    }

    function authorityCount() external view returns (uint256) {
        return authorities.length;
    }

    function modelMember(address m) external view returns (MMember memory) {
        return _m[m];
    }

    function modelCert(uint256 id) external view returns (MCert memory) {
        return _c[id];
    }

    /// @notice The ghost counters the invariants check, in one call.
    function ghosts()
        external
        view
        returns (
            uint256 transitionViolations,
            uint256 validityMismatch,
            uint256 modelMismatch,
            uint256 modelDrift,
            uint256 inactiveRequest,
            uint256 unknownRequester,
            uint256 observedCount
        )
    {
        return (
            ghostTransitionViolations,
            ghostValidityMismatch,
            ghostModelMismatch,
            ghostModelDrift,
            ghostInactiveRequest,
            ghostUnknownRequester,
            ghostObservedCount
        );
    }

    /// @notice For every member and then the outsider: its Requested certificates (counted from the chain's
    /// statuses after the last action) and the model's count of its open requests.
    function openCounts()
        external
        view
        returns (address[] memory accounts, uint256[] memory requested, uint256[] memory modelOpen)
    {
        uint256 k = members.length;
        accounts = new address[](k + 1);
        requested = new uint256[](k + 1);
        modelOpen = new uint256[](k + 1);
        for (uint256 i = 0; i <= k; i++) {
            address a = i == k ? outsider : members[i];
            accounts[i] = a;
            requested[i] = ghostRequested[a];
            modelOpen[i] = mOpen[a];
        }
    }

    /// @notice The member that requested certificate `id` (zero when the handler never saw it).
    function requesterOf(uint256 id) external view returns (address) {
        return _c[id].member;
    }

    /// @notice What `validity` must answer for certificate `id`, derived from the model only.
    function modelValidity(uint256 id) public view returns (CertificateRegistry.Validity) {
        MCert storage c = _c[id];
        if (!c.issued) return CertificateRegistry.Validity.Unknown;
        if (c.revoked) return CertificateRegistry.Validity.Revoked;
        // a dismissal is final for the certificates of that term, even if the issuer is appointed again
        if (!mIsCa[c.issuer] || mTerm[c.issuer] != c.termAtIssue) return CertificateRegistry.Validity.IssuerDismissed;
        if (mRoot[c.issuer] != c.rootAtIssue) return CertificateRegistry.Validity.RootReplaced;
        MMember storage m = _m[c.member];
        if (m.status != MStatus.Active) return CertificateRegistry.Validity.MemberNotActive;
        if (m.keyVersion != c.keyAtRequest) return CertificateRegistry.Validity.KeyRotated;
        return CertificateRegistry.Validity.Valid;
    }

    // ---------------------------------------------------------------- observe

    /// @dev After every action: check each certificate's status change against the transition table,
    /// compare its validity with the model's, count the open requests of every account, check the model
    /// against the consortium, and record which invalidity reasons the run has reached.
    modifier observe() {
        _;
        _observe();
    }

    modifier observeGovernance() {
        _;
        _observe();
        _checkDrift();
    }

    function _observe() internal {
        uint256 k = members.length;
        uint256[] memory requested = new uint256[](k + 1); // members, then the outsider
        uint256 n = certs.certificateCount();
        for (uint256 id = 1; id <= n; id++) {
            CertificateRegistry.CertificateStatus s = certs.status(id);
            _see(id, s);
            MCert storage c = _c[id];
            if (s == CertificateRegistry.CertificateStatus.Revoked && c.revokedSeen) continue; // Revoked for good
            if (s == CertificateRegistry.CertificateStatus.Requested) {
                uint256 i = 0;
                while (i < k && members[i] != c.member) i++;
                if (i == k && c.member != outsider) ghostUnknownRequester++;
                requested[i]++;
            }
            if (c.issued) {
                // What the chain answers must be what the model derives, reason included.
                CertificateRegistry.Validity v = certs.validity(c.hash);
                CertificateRegistry.Validity expected = modelValidity(id);
                if (v != expected) ghostValidityMismatch++;
                // isValid is asked whenever the reason changes (the invariant also asks after every call).
                if (!c.seen || v != c.lastValidity) {
                    if (certs.isValid(c.hash) != (expected == CertificateRegistry.Validity.Valid)) {
                        ghostValidityMismatch++;
                    }
                    c.seen = true;
                    c.lastValidity = v;
                }
                if (v == CertificateRegistry.Validity.Revoked) c.revokedSeen = true;
                if (v == CertificateRegistry.Validity.IssuerDismissed) {
                    reachInvalidByDismissal++;
                    if (mIsCa[c.issuer]) reachInvalidAfterReappointment++;
                }
                if (v == CertificateRegistry.Validity.RootReplaced) reachInvalidByRootChange++;
                if (v == CertificateRegistry.Validity.MemberNotActive) reachInvalidByMembership++;
                if (v == CertificateRegistry.Validity.KeyRotated) reachInvalidByKeyRotation++;
            } else if (
                s == CertificateRegistry.CertificateStatus.Issued || s == CertificateRegistry.CertificateStatus.Revoked
            ) {
                ghostValidityMismatch++; // the chain issued a certificate the model never saw issued
            }
        }
        ghostObservedCount = n;
        for (uint256 i = 0; i <= k; i++) {
            ghostRequested[i == k ? outsider : members[i]] = requested[i];
        }
    }

    /// @dev After the actions that change members, authorities or roots: the model's view of the consortium
    /// is the consortium's.
    function _checkDrift() internal {
        uint256 k = members.length;
        for (uint256 i = 0; i < k; i++) {
            address a = members[i];
            if (uint256(consortium.memberStatus(a)) != uint256(_m[a].status)) ghostModelDrift++;
            if (consortium.keyVersionOf(a) != _m[a].keyVersion) ghostModelDrift++;
        }
        for (uint256 i = 0; i < authorities.length; i++) {
            address a = authorities[i];
            if (consortium.isCertificateAuthority(a) != mIsCa[a]) ghostModelDrift++;
            if (consortium.authorityTerm(a) != mTerm[a]) ghostModelDrift++;
            if (certs.authorityRoot(a).certificateHash != mRoot[a]) ghostModelDrift++;
        }
    }

    /// @dev Records the status of `id`, checking a change against the transition table.
    function _see(uint256 id, CertificateRegistry.CertificateStatus s) internal {
        CertificateRegistry.CertificateStatus prev = ghostStatus[id];
        if (s == prev) return;
        if (!_allowed(prev, s)) ghostTransitionViolations++;
        if (s == CertificateRegistry.CertificateStatus.Issued) reachIssued++;
        if (s == CertificateRegistry.CertificateStatus.Revoked) reachRevoked++;
        if (s == CertificateRegistry.CertificateStatus.Withdrawn) reachWithdrawn++;
        if (s == CertificateRegistry.CertificateStatus.Rejected) reachRejected++;
        ghostStatus[id] = s;
    }

    function _allowed(CertificateRegistry.CertificateStatus from, CertificateRegistry.CertificateStatus to)
        internal
        pure
        returns (bool)
    {
        if (from == CertificateRegistry.CertificateStatus.None) {
            return to == CertificateRegistry.CertificateStatus.Requested;
        }
        if (from == CertificateRegistry.CertificateStatus.Requested) {
            return to == CertificateRegistry.CertificateStatus.Issued
                || to == CertificateRegistry.CertificateStatus.Rejected
                || to == CertificateRegistry.CertificateStatus.Withdrawn;
        }
        if (from == CertificateRegistry.CertificateStatus.Issued) {
            return to == CertificateRegistry.CertificateStatus.Revoked;
        }
        return false;
    }

    /// @dev The seed-th certificate (cyclically) whose status is `s`, or 0.
    function _pick(uint256 seed, CertificateRegistry.CertificateStatus s) internal view returns (uint256) {
        uint256 n = certs.certificateCount();
        if (n == 0) return 0;
        uint256 start = seed % n;
        for (uint256 k = 0; k < n; k++) {
            uint256 id = (start + k) % n + 1;
            if (certs.status(id) == s) return id;
        }
        return 0;
    }

    /// @dev A certificate in a status other than `target` (any of them, picked by seed), else any id or 0
    /// (unknown): actions aimed at it must fail, and the transition table would catch it if one did not.
    function _wrongId(uint256 seed, CertificateRegistry.CertificateStatus target) internal view returns (uint256) {
        uint8 s = uint8(1 + (seed / 7) % 5); // Requested .. Withdrawn
        if (s == uint8(target)) s = s % 5 + 1;
        uint256 id = _pick(seed, CertificateRegistry.CertificateStatus(s));
        return id != 0 ? id : seed % (certs.certificateCount() + 1);
    }

    /// @dev True when the handler last observed certificate `id` (non-zero) in status `s`.
    function _is(uint256 id, CertificateRegistry.CertificateStatus s) internal view returns (bool) {
        return id != 0 && ghostStatus[id] == s;
    }

    function _member(uint256 seed) internal view returns (address) {
        return members[seed % members.length];
    }

    function _authority(uint256 seed) internal view returns (address) {
        return authorities[seed % authorities.length];
    }

    /// @dev A current authority (by the model) when there is one, else any candidate.
    function _currentAuthority(uint256 seed) internal view returns (address) {
        for (uint256 k = 0; k < authorities.length; k++) {
            address a = authorities[(seed % authorities.length + k) % authorities.length];
            if (mIsCa[a]) return a;
        }
        return _authority(seed);
    }

    function _fresh() internal returns (bytes32) {
        return keccak256(abi.encode("fresh", ++_nonce));
    }

    // ------------------------------------------------------------ certificates

    function request(uint256 memberSeed, uint256 csrSeed) external observe {
        address m;
        if (memberSeed % 10 == 9) {
            m = outsider;
        } else if (memberSeed % 2 == 0) {
            // Push to the limit: the active member with the most open requests asks until refused.
            for (uint256 i = 0; i < members.length; i++) {
                address a = members[i];
                if (_m[a].status == MStatus.Active && (m == address(0) || mOpen[a] > mOpen[m])) m = a;
            }
            if (m == address(0)) return;
            for (uint256 k = 0; k <= certs.MAX_OPEN_REQUESTS(); k++) {
                if (_request(m, bytes32(1 + (csrSeed % 40 + k) % 40)) == 0) return;
            }
            return;
        } else {
            m = _member(memberSeed);
        }
        _request(m, bytes32(csrSeed % 40));
    }

    /// @dev A member that is not active (from seed on), or zero.
    function _inactive(uint256 seed) internal view returns (address) {
        for (uint256 k = 0; k < members.length; k++) {
            address m = _member(seed % members.length + k);
            if (_m[m].status != MStatus.Active) return m;
        }
        return address(0);
    }

    /// @dev A certificate that still reads valid (per the model), or 0.
    function _someValid() internal view returns (uint256) {
        uint256 n = certs.certificateCount();
        for (uint256 id = 1; id <= n; id++) {
            if (modelValidity(id) == CertificateRegistry.Validity.Valid) return id;
        }
        return 0;
    }

    /// @dev A certificate that reads valid: an existing one, else one requested and issued now when an active
    /// member and an authority exist (0 otherwise). Lets the lifecycle actions hit a valid certificate.
    function _ensureValid(uint256 seed) internal returns (uint256 id) {
        id = _someValid();
        if (id != 0) return id;
        address by = _currentAuthority(seed);
        if (!mIsCa[by]) return 0;
        for (uint256 k = 0; k < members.length; k++) {
            address m = _member(seed % members.length + k);
            if (_m[m].status == MStatus.Active && mOpen[m] < certs.MAX_OPEN_REQUESTS()) {
                id = _request(m, bytes32(uint256(1 + seed % 40)));
                bytes32 hash = _fresh();
                return _issue(id, by, hash, _nonce + 1000) ? id : 0;
            }
        }
    }

    /// @dev The member holding a certificate that reads valid (see `_ensureValid`), or `fallback_`.
    function _holderOfValid(uint256 seed, address fallback_) internal returns (address) {
        uint256 id = _ensureValid(seed);
        return id == 0 ? fallback_ : _c[id].member;
    }

    /// @dev A Requested certificate; when there is none, an active member with a free slot requests one.
    function _requested(uint256 seed) internal returns (uint256 id) {
        id = _pick(seed, CertificateRegistry.CertificateStatus.Requested);
        if (id != 0) return id;
        for (uint256 k = 0; k < members.length; k++) {
            address m = _member(seed % members.length + k);
            if (_m[m].status == MStatus.Active && mOpen[m] < certs.MAX_OPEN_REQUESTS()) {
                return _request(m, bytes32(uint256(1 + seed % 40)));
            }
        }
    }

    /// @dev A Requested certificate (from seed on) of an active member whose key changed since, or 0.
    function _staleRequest(uint256 seed) internal view returns (uint256) {
        uint256 n = certs.certificateCount();
        for (uint256 k = 0; k < n; k++) {
            uint256 id = (seed + k) % n + 1;
            MCert storage c = _c[id];
            MMember storage m = _m[c.member];
            if (!_is(id, CertificateRegistry.CertificateStatus.Requested)) continue;
            if (m.status == MStatus.Active && m.keyVersion != c.keyAtRequest) return id;
        }
        return 0;
    }

    function _request(address m, bytes32 csr) internal returns (uint256 id) {
        bool active = _m[m].status == MStatus.Active;
        bool expectOk = active && csr != bytes32(0) && mOpen[m] < certs.MAX_OPEN_REQUESTS();
        vm.prank(m);
        try certs.request(csr) returns (uint256 newId) {
            id = newId;
            if (!active) ghostInactiveRequest++;
            if (!expectOk) ghostModelMismatch++;
            mOpen[m]++;
            _c[id].member = m;
            _c[id].keyAtRequest = _m[m].keyVersion;
            _see(id, certs.status(id)); // a caller may act on the new request in the same step
        } catch (bytes memory err) {
            if (expectOk) ghostModelMismatch++;
            if (bytes4(err) == CertificateRegistry.TooManyOpenRequests.selector) {
                reachRequestLimitHit++;
                if (mOpen[m] != certs.MAX_OPEN_REQUESTS()) ghostModelMismatch++;
            }
        }
    }

    /// @dev Issues a Requested certificate (requesting one first when none is open). Mostly a current
    /// authority with a fresh hash and serial; sometimes a non-authority, a used hash, a used serial, a
    /// request whose member changed its key since, or a certificate in another status (or unknown) as the
    /// target.
    function issue(uint256 idSeed, uint256 caSeed, uint256 collisionSeed) external observe {
        uint256 id = _requested(idSeed);
        if (id == 0) return;
        if (idSeed % 3 == 1) {
            uint256 stale = _staleRequest(idSeed);
            if (stale != 0) id = stale; // its member changed its key since: must be refused
        }
        if (collisionSeed % 7 == 0) id = _wrongId(idSeed, CertificateRegistry.CertificateStatus.Requested);
        address by = caSeed % 8 == 0 ? _authority(caSeed) : _currentAuthority(caSeed);
        bytes32 hash = collisionSeed % 11 == 1 && _c[1].hash != bytes32(0) ? _c[1].hash : _fresh();
        uint256 serial = collisionSeed % 11 == 2 ? 1 : _nonce + 1000;
        _issue(id, by, hash, serial);
    }

    function _issue(uint256 id, address by, bytes32 hash, uint256 serial) internal returns (bool ok) {
        MCert storage c = _c[id];
        bool requested = _is(id, CertificateRegistry.CertificateStatus.Requested);
        bool active = _m[c.member].status == MStatus.Active;
        bool stale = _m[c.member].keyVersion != c.keyAtRequest;
        bool expectOk = requested && mIsCa[by] && active && !stale && !_hashUsed[hash] && !_serialUsed[by][serial];
        vm.prank(by);
        try certs.issue(id, hash, serial, 1, 2, "uri") {
            ok = true;
            if (!expectOk) ghostModelMismatch++;
            _hashUsed[hash] = true;
            _serialUsed[by][serial] = true;
            mOpen[c.member]--;
            c.issued = true;
            c.issuer = by;
            c.rootAtIssue = mRoot[by];
            c.termAtIssue = mTerm[by];
            if (mTerm[by] > 1) reachIssuedInLaterTerm++;
            c.hash = hash;
            lastIssued = id;
            _see(id, certs.status(id));
        } catch (bytes memory err) {
            if (expectOk) ghostModelMismatch++;
            if (bytes4(err) == CertificateRegistry.StaleRequest.selector) {
                // refused for the right reason only: every earlier check passes and the key changed
                if (!(requested && mIsCa[by] && active && stale)) ghostModelMismatch++;
                reachStaleRequestRefused++;
            }
        }
    }

    /// @dev Rejects a Requested certificate (requesting one first when none is open); sometimes a
    /// non-authority tries, or a certificate in another status (or unknown) is the target.
    function reject(uint256 idSeed, uint256 caSeed) external observe {
        uint256 id =
            idSeed % 5 == 0 ? _wrongId(idSeed, CertificateRegistry.CertificateStatus.Requested) : _requested(idSeed);
        if (id == 0 && idSeed % 5 != 0) return;
        address by = caSeed % 8 == 0 ? _authority(caSeed) : _currentAuthority(caSeed);
        bool expectOk = mIsCa[by] && _is(id, CertificateRegistry.CertificateStatus.Requested);
        vm.prank(by);
        try certs.reject(id, "no") {
            if (!expectOk) ghostModelMismatch++;
            mOpen[_c[id].member]--;
        } catch {
            if (expectOk) ghostModelMismatch++;
        }
    }

    /// @dev Mostly the requester withdraws a Requested certificate (whatever its membership by now); sometimes
    /// a stranger tries, or a certificate in another status (or unknown) is the target.
    function withdraw(uint256 idSeed, uint256 bySeed) external observe {
        uint256 id =
            idSeed % 5 == 0 ? _wrongId(idSeed, CertificateRegistry.CertificateStatus.Requested) : _requested(idSeed);
        if (id == 0 && idSeed % 5 != 0) return;
        address owner = _c[id].member;
        address by = bySeed % 5 == 0 ? _member(bySeed) : owner;
        bool expectOk = id != 0 && by == owner && _is(id, CertificateRegistry.CertificateStatus.Requested);
        vm.prank(by);
        try certs.withdrawRequest(id) {
            if (!expectOk) ghostModelMismatch++;
            mOpen[owner]--;
        } catch {
            if (expectOk) ghostModelMismatch++;
        }
    }

    /// @dev The holder, an authority (current or dismissed) or a stranger revokes an issued certificate;
    /// sometimes a certificate in another status (or unknown) is the target.
    function revoke(uint256 idSeed, uint256 bySeed, uint8 code) external observe {
        uint256 id = idSeed % 5 == 0
            ? _wrongId(idSeed, CertificateRegistry.CertificateStatus.Issued)
            : _pick(idSeed, CertificateRegistry.CertificateStatus.Issued);
        if (id == 0 && idSeed % 5 != 0) return;
        MCert storage c = _c[id];
        uint256 k = bySeed % 4;
        address by =
            k == 0 ? c.member : (k == 1 ? _authority(bySeed) : (k == 2 ? _currentAuthority(bySeed) : _member(bySeed)));
        bool expectOk =
            id != 0 && (by == c.member || mIsCa[by]) && _is(id, CertificateRegistry.CertificateStatus.Issued);
        vm.prank(by);
        try certs.revoke(id, code, "revoked") {
            if (!expectOk) ghostModelMismatch++;
            c.revoked = true;
        } catch {
            if (expectOk) ghostModelMismatch++;
        }
    }

    /// @dev An authority publishes a fresh root (sometimes the one it already has, or a non-authority tries).
    function setRoot(uint256 caSeed, uint256 rootSeed) external observeGovernance {
        address by = caSeed % 8 == 0 ? _authority(caSeed) : _currentAuthority(caSeed);
        if (caSeed % 2 == 1) {
            uint256 valid = _ensureValid(caSeed);
            if (valid != 0) by = _c[valid].issuer; // replace a root that matters
        }
        bytes32 root = rootSeed % 5 == 0 && mRoot[by] != bytes32(0) ? mRoot[by] : _fresh();
        vm.prank(by);
        try certs.setAuthorityRoot(root, abi.encodePacked(root, root)) {
            if (!mIsCa[by]) ghostModelMismatch++;
            mRoot[by] = root;
        } catch {
            if (mIsCa[by]) ghostModelMismatch++;
        }
    }

    // -------------------------------------------------------------- governance

    function _pass(Consortium.ProposalKind kind, address target, uint256 value) internal {
        vm.prank(admin1);
        uint256 pid = consortium.propose(kind, target, value);
        vm.prank(admin2);
        consortium.vote(pid);
    }

    /// @dev Appoints a candidate or dismisses an authority; dismissal prefers an authority that issued a
    /// certificate that still reads valid, and never leaves the consortium without an authority for long.
    function governAuthority(uint256 seed) external observeGovernance {
        uint256 current;
        for (uint256 i = 0; i < authorities.length; i++) {
            if (mIsCa[authorities[i]]) current++;
        }
        if (current == authorities.length || (current > 0 && seed % 2 == 0)) {
            uint256 valid = _ensureValid(seed);
            address target = valid != 0 ? _c[valid].issuer : _currentAuthority(seed);
            _pass(Consortium.ProposalKind.DismissCertificateAuthority, target, 0);
            mIsCa[target] = false;
        } else {
            address target;
            for (uint256 k = 0; k < authorities.length; k++) {
                address a = authorities[(seed % authorities.length + k) % authorities.length];
                if (!mIsCa[a]) {
                    target = a;
                    break;
                }
            }
            _pass(Consortium.ProposalKind.AppointCertificateAuthority, target, 0);
            mIsCa[target] = true;
            mTerm[target] += 1;
        }
    }

    /// @dev Moves a member along its lifecycle: suspend or remove an active member, reinstate or remove a
    /// suspended one, (re-)approve a pending one, re-admit a removed one. Half of the time it brings back an
    /// inactive member, otherwise it prefers a member holding a certificate that reads valid.
    function sanction(uint256 memberSeed, uint256 kindSeed) external observeGovernance {
        address m = memberSeed % 2 == 0 ? _inactive(memberSeed) : address(0);
        if (m == address(0)) m = _holderOfValid(memberSeed, _member(memberSeed));
        MMember storage mm = _m[m];
        MStatus s = mm.status;
        if (s == MStatus.Active || (s == MStatus.Pending && mm.approvedKeyVersion != 0 && kindSeed % 3 == 0)) {
            if (kindSeed % 4 == 1) {
                _pass(Consortium.ProposalKind.RemoveMember, m, mm.instance);
                mm.status = MStatus.Removed;
            } else {
                _pass(Consortium.ProposalKind.SuspendMember, m, mm.instance);
                mm.status = MStatus.Suspended;
            }
        } else if (s == MStatus.Pending) {
            _pass(Consortium.ProposalKind.ApproveMember, m, mm.keyVersion);
            mm.approvedKeyVersion = mm.keyVersion;
            mm.status = MStatus.Active;
        } else if (s == MStatus.Suspended) {
            if (kindSeed % 5 == 1) {
                _pass(Consortium.ProposalKind.RemoveMember, m, mm.instance);
                mm.status = MStatus.Removed;
            } else {
                _pass(Consortium.ProposalKind.ReinstateMember, m, mm.instance);
                mm.status = mm.approvedKeyVersion == mm.keyVersion ? MStatus.Active : MStatus.Pending;
            }
        } else {
            // Removed: re-apply (new key version, new instance), then approve.
            vm.prank(m);
            consortium.applyForMembership("Member", "https://gw.example:7443", abi.encodePacked(_fresh(), _fresh()));
            mm.keyVersion += 1;
            mm.approvedKeyVersion = 0;
            mm.instance += 1;
            mm.status = MStatus.Pending;
            if (kindSeed % 2 == 0) {
                _pass(Consortium.ProposalKind.ApproveMember, m, mm.keyVersion);
                mm.approvedKeyVersion = mm.keyVersion;
                mm.status = MStatus.Active;
            }
        }
    }

    /// @dev An active or pending member rotates its key; often the admins approve the new key at once. Mostly
    /// the holder of a certificate that reads valid, sometimes a member with an open request (which can then
    /// no longer be issued).
    function rotateKey(uint256 memberSeed, uint256 approveSeed) external observeGovernance {
        address m = memberSeed % 4 != 0 ? _holderOfValid(memberSeed, _member(memberSeed)) : _member(memberSeed);
        if (memberSeed % 4 == 1) {
            // a member with an open request (one that requests now when there is none)
            uint256 id = _requested(memberSeed / 4);
            if (id != 0 && _m[_c[id].member].status == MStatus.Active) m = _c[id].member;
        }
        // Rather an active member than a suspended or removed one.
        for (uint256 k = 0; k < members.length && _m[m].status != MStatus.Active; k++) {
            m = _member(memberSeed % members.length + k);
        }
        MMember storage mm = _m[m];
        if (mm.status != MStatus.Active && mm.status != MStatus.Pending) return;
        vm.prank(m);
        consortium.rotateKey(abi.encodePacked(_fresh(), _fresh()));
        mm.keyVersion += 1;
        mm.status = MStatus.Pending;
        if (approveSeed % 4 != 0) {
            _pass(Consortium.ProposalKind.ApproveMember, m, mm.keyVersion);
            mm.approvedKeyVersion = mm.keyVersion;
            mm.status = MStatus.Active;
        }
    }

    function roll(uint256 blocks) external observe {
        vm.roll(block.number + _bound(blocks, 1, 5));
    }
}
