// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.11;

import {Base, CertificateEvents} from "./Base.t.sol";
import {Consortium, NotActiveMember} from "../src/Consortium.sol";
import {CertificateRegistry} from "../src/CertificateRegistry.sol";

contract CertificateRegistryTest is Base, CertificateEvents {
    bytes32 internal constant CSR = keccak256("csr-alice");
    bytes32 internal constant CERT = keccak256("cert-alice");
    bytes32 internal constant ROOT1 = keccak256("root-1");
    bytes32 internal constant ROOT2 = keccak256("root-2");
    uint64 internal constant NOT_BEFORE = 1_700_000_000;
    uint64 internal constant NOT_AFTER = 1_800_000_000;
    string internal constant URI = "https://pki.example/certs/alice.pem";

    uint256 internal constant VALID = uint256(CertificateRegistry.Validity.Valid);
    uint256 internal constant UNKNOWN = uint256(CertificateRegistry.Validity.Unknown);
    uint256 internal constant REVOKED = uint256(CertificateRegistry.Validity.Revoked);
    uint256 internal constant ISSUER_DISMISSED = uint256(CertificateRegistry.Validity.IssuerDismissed);
    uint256 internal constant ROOT_REPLACED = uint256(CertificateRegistry.Validity.RootReplaced);
    uint256 internal constant MEMBER_NOT_ACTIVE = uint256(CertificateRegistry.Validity.MemberNotActive);
    uint256 internal constant KEY_ROTATED = uint256(CertificateRegistry.Validity.KeyRotated);

    function _request(address member, bytes32 csr) internal returns (uint256 id) {
        vm.prank(member);
        id = certs.request(csr);
    }

    function _issue(uint256 id, bytes32 hash, uint256 serial) internal {
        vm.prank(ca);
        certs.issue(id, hash, serial, NOT_BEFORE, NOT_AFTER, URI);
    }

    function _issued() internal returns (uint256 id) {
        id = _request(alice, CSR);
        _issue(id, CERT, 1);
    }

    function _status(uint256 id) internal view returns (uint256) {
        return uint256(certs.status(id));
    }

    function _validity(bytes32 hash) internal view returns (uint256) {
        return uint256(certs.validity(hash));
    }

    /// @dev validity and isValid agree, and the reason is `expected`.
    function _assertValidity(bytes32 hash, uint256 expected) internal view {
        assertEq(_validity(hash), expected, "validity");
        assertEq(certs.isValid(hash), expected == VALID, "isValid");
    }

    function _setRoot(address authority, bytes32 root) internal {
        vm.prank(authority);
        certs.setAuthorityRoot(root, _key(uint256(root)));
    }

    function _dismiss(address authority) internal {
        _pass(Consortium.ProposalKind.DismissCertificateAuthority, authority, 0);
    }

    function _rotate(address member, uint256 seed) internal {
        vm.prank(member);
        consortium.rotateKey(_key(seed));
    }

    function _invalidStatus(uint256 id, CertificateRegistry.CertificateStatus s) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(CertificateRegistry.InvalidCertificateStatus.selector, id, s);
    }

    // ---------------------------------------------------------------- request

    function test_constants() public view {
        assertEq(address(certs.consortium()), address(consortium));
        assertEq(certs.ROOT_KEY_LENGTH(), 64);
        assertEq(certs.MAX_URI_LENGTH(), 512);
        assertEq(certs.MAX_REASON_LENGTH(), 256);
        assertEq(certs.MAX_OPEN_REQUESTS(), 3);
        assertEq(certs.certificateCount(), 0);
    }

    function test_request() public {
        vm.roll(4242);
        vm.expectEmit(true, true, true, true, address(certs));
        emit CertificateRequested(1, alice, CSR);
        uint256 id = _request(alice, CSR);
        assertEq(id, 1);
        assertEq(certs.certificateCount(), 1);
        assertEq(certs.openRequests(alice), 1);
        assertEq(_status(id), uint256(CertificateRegistry.CertificateStatus.Requested));
        CertificateRegistry.Certificate memory c = certs.getCertificate(id);
        assertEq(c.id, 1);
        assertEq(c.member, alice);
        assertEq(c.csrHash, CSR);
        assertEq(c.requestedBlock, 4242);
        assertEq(c.keyVersion, 1, "the member's key version is taken at the request");
        assertEq(c.issuerTerm, 0, "no issuer yet");
        assertEq(c.certificateHash, bytes32(0));
        assertEq(c.issuer, address(0));
        assertEq(c.closedBlock, 0);
        assertEq(_request(bob, CSR), 2, "same CSR hash may be requested again");
        assertEq(certs.openRequests(bob), 1);
    }

    function testRevert_request_notActiveMember() public {
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, outsider));
        _request(outsider, CSR);
        _suspend(alice);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, alice));
        _request(alice, CSR);
        _remove(bob);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, bob));
        _request(bob, CSR);
        _rotate(carol, 1); // Pending until the new key is approved
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, carol));
        _request(carol, CSR);
        assertEq(certs.certificateCount(), 0);
    }

    function testRevert_request_zeroHash() public {
        vm.expectRevert(CertificateRegistry.ZeroHash.selector);
        _request(alice, bytes32(0));
    }

    function testFuzz_request_nonMemberReverts(address caller) public {
        vm.assume(!consortium.isActive(caller));
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, caller));
        vm.prank(caller);
        certs.request(CSR);
    }

    // --------------------------------------------------------- bounded requests

    function testRevert_request_tooManyOpen() public {
        for (uint256 i = 1; i <= 3; i++) {
            _request(alice, bytes32(i));
        }
        assertEq(certs.openRequests(alice), 3);
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.TooManyOpenRequests.selector, alice, 3));
        _request(alice, bytes32(uint256(4)));
        assertEq(certs.certificateCount(), 3);
        // The limit is per member.
        _request(bob, CSR);
        assertEq(certs.openRequests(bob), 1);
    }

    function test_request_issueRejectAndWithdrawFreeSlots() public {
        for (uint256 i = 1; i <= 3; i++) {
            _request(alice, bytes32(i));
        }
        _issue(1, CERT, 1);
        assertEq(certs.openRequests(alice), 2);
        _request(alice, bytes32(uint256(4))); // id 4

        vm.prank(ca);
        certs.reject(2, "no");
        assertEq(certs.openRequests(alice), 2);
        _request(alice, bytes32(uint256(5))); // id 5

        vm.prank(alice);
        certs.withdrawRequest(3);
        assertEq(certs.openRequests(alice), 2);
        _request(alice, bytes32(uint256(6))); // id 6
        assertEq(certs.openRequests(alice), 3);

        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.TooManyOpenRequests.selector, alice, 3));
        _request(alice, bytes32(uint256(7)));

        // Revoking an issued certificate does not touch the counter.
        vm.prank(alice);
        certs.revoke(1, 0, "");
        assertEq(certs.openRequests(alice), 3);
    }

    /// @dev A random sequence of requests and their closings: the counter always equals the number of
    /// Requested entries, and a request is refused exactly when three are open.
    function testFuzz_openRequests_matchModel(uint256 seed) public {
        uint256[] memory open = new uint256[](64);
        uint256 nOpen;
        uint256 serial;
        for (uint256 i = 0; i < 24; i++) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            uint256 op = r % 4;
            if (op == 0 || nOpen == 0) {
                if (nOpen == 3) {
                    vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.TooManyOpenRequests.selector, bob, 3));
                    _request(bob, CSR);
                } else {
                    open[nOpen++] = _request(bob, CSR);
                }
            } else {
                uint256 k = (r >> 8) % nOpen;
                uint256 id = open[k];
                open[k] = open[--nOpen];
                if (op == 1) {
                    _issue(id, keccak256(abi.encode("cert", id)), ++serial);
                } else if (op == 2) {
                    vm.prank(ca);
                    certs.reject(id, "");
                } else {
                    vm.prank(bob);
                    certs.withdrawRequest(id);
                }
            }
            assertEq(certs.openRequests(bob), nOpen);
            assertLe(certs.openRequests(bob), certs.MAX_OPEN_REQUESTS());
        }
        uint256 requested;
        for (uint256 id = 1; id <= certs.certificateCount(); id++) {
            if (certs.status(id) == CertificateRegistry.CertificateStatus.Requested) requested++;
        }
        assertEq(requested, nOpen);
    }

    // -------------------------------------------------------- withdrawRequest

    function test_withdrawRequest() public {
        uint256 id = _request(alice, CSR);
        vm.roll(4500);
        vm.expectEmit(true, true, true, true, address(certs));
        emit CertificateRequestWithdrawn(id, alice);
        vm.prank(alice);
        certs.withdrawRequest(id);
        assertEq(_status(id), uint256(CertificateRegistry.CertificateStatus.Withdrawn));
        CertificateRegistry.Certificate memory c = certs.getCertificate(id);
        assertEq(c.closedBlock, 4500);
        assertEq(c.certificateHash, bytes32(0));
        assertEq(certs.openRequests(alice), 0);
        assertEq(certs.latestCertificateOf(alice), 0);
    }

    function test_withdrawRequest_bySuspendedOrRemovedMember() public {
        uint256 a = _request(alice, CSR);
        uint256 b = _request(bob, CSR);
        _suspend(alice);
        _remove(bob);
        vm.prank(alice);
        certs.withdrawRequest(a);
        vm.expectEmit(true, true, true, true, address(certs));
        emit CertificateRequestWithdrawn(b, bob);
        vm.prank(bob);
        certs.withdrawRequest(b);
        assertEq(_status(a), uint256(CertificateRegistry.CertificateStatus.Withdrawn));
        assertEq(_status(b), uint256(CertificateRegistry.CertificateStatus.Withdrawn));
        assertEq(certs.openRequests(alice), 0);
        assertEq(certs.openRequests(bob), 0);
    }

    function testRevert_withdrawRequest_notRequester() public {
        uint256 id = _request(alice, CSR);
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.NotRequester.selector, id, bob));
        vm.prank(bob);
        certs.withdrawRequest(id);
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.NotRequester.selector, id, ca));
        vm.prank(ca);
        certs.withdrawRequest(id);
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.NotRequester.selector, id, admin1));
        vm.prank(admin1);
        certs.withdrawRequest(id);
        assertEq(_status(id), uint256(CertificateRegistry.CertificateStatus.Requested));
        // The requester check comes first, whatever the status.
        _issue(id, CERT, 1);
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.NotRequester.selector, id, bob));
        vm.prank(bob);
        certs.withdrawRequest(id);
    }

    function testFuzz_withdrawRequest_strangerReverts(address caller) public {
        vm.assume(caller != alice);
        uint256 id = _request(alice, CSR);
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.NotRequester.selector, id, caller));
        vm.prank(caller);
        certs.withdrawRequest(id);
    }

    function testRevert_withdrawRequest_notRequested() public {
        uint256 issued = _issued();
        vm.expectRevert(_invalidStatus(issued, CertificateRegistry.CertificateStatus.Issued));
        vm.prank(alice);
        certs.withdrawRequest(issued);

        uint256 rejected = _request(alice, CSR);
        vm.prank(ca);
        certs.reject(rejected, "");
        vm.expectRevert(_invalidStatus(rejected, CertificateRegistry.CertificateStatus.Rejected));
        vm.prank(alice);
        certs.withdrawRequest(rejected);

        uint256 withdrawn = _request(alice, CSR);
        vm.prank(alice);
        certs.withdrawRequest(withdrawn);
        vm.expectRevert(_invalidStatus(withdrawn, CertificateRegistry.CertificateStatus.Withdrawn));
        vm.prank(alice);
        certs.withdrawRequest(withdrawn);

        vm.prank(alice);
        certs.revoke(issued, 0, "");
        vm.expectRevert(_invalidStatus(issued, CertificateRegistry.CertificateStatus.Revoked));
        vm.prank(alice);
        certs.withdrawRequest(issued);
        assertEq(certs.openRequests(alice), 0);
    }

    function testRevert_withdrawRequest_unknown() public {
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.UnknownCertificate.selector, 0));
        vm.prank(alice);
        certs.withdrawRequest(0);
        _request(alice, CSR);
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.UnknownCertificate.selector, 2));
        vm.prank(alice);
        certs.withdrawRequest(2);
    }

    function testRevert_withdrawn_cannotBeIssuedOrRejected() public {
        uint256 id = _request(alice, CSR);
        vm.prank(alice);
        certs.withdrawRequest(id);
        vm.expectRevert(_invalidStatus(id, CertificateRegistry.CertificateStatus.Withdrawn));
        _issue(id, CERT, 1);
        vm.expectRevert(_invalidStatus(id, CertificateRegistry.CertificateStatus.Withdrawn));
        vm.prank(ca);
        certs.reject(id, "");
        vm.expectRevert(_invalidStatus(id, CertificateRegistry.CertificateStatus.Withdrawn));
        vm.prank(ca);
        certs.revoke(id, 0, "");
        _assertValidity(CERT, UNKNOWN);
    }

    // ------------------------------------------------------------------ issue

    function test_issue() public {
        uint256 id = _request(alice, CSR);
        vm.roll(5000);
        vm.expectEmit(true, true, true, true, address(certs));
        emit CertificateIssued(id, alice, ca, CERT, 7, NOT_BEFORE, NOT_AFTER, URI);
        vm.prank(ca);
        certs.issue(id, CERT, 7, NOT_BEFORE, NOT_AFTER, URI);

        assertEq(_status(id), uint256(CertificateRegistry.CertificateStatus.Issued));
        _assertValidity(CERT, VALID);
        assertEq(certs.certificateIdByHash(CERT), id);
        assertEq(certs.latestCertificateOf(alice), id);
        assertEq(certs.openRequests(alice), 0);
        CertificateRegistry.Certificate memory c = certs.getCertificateByHash(CERT);
        assertEq(c.id, id);
        assertEq(c.certificateHash, CERT);
        assertEq(c.serial, 7);
        assertEq(c.notBefore, NOT_BEFORE);
        assertEq(c.notAfter, NOT_AFTER);
        assertEq(c.uri, URI);
        assertEq(c.issuer, ca);
        assertEq(c.issuedBlock, 5000);
        assertEq(c.keyVersion, 1);
        assertEq(c.issuerTerm, 1, "ca's first term");
        assertEq(c.rootHash, bytes32(0), "ca had published no root");
        assertEq(c.closedBlock, 0, "closed only by reject, withdrawal or revocation");
    }

    /// @dev The key version comes from the request (and must still be current at issuance); the issuer's
    /// term and root from the issuance.
    function test_issue_recordsRequestKeyVersionIssuerTermAndRoot() public {
        _rotate(alice, 1);
        _approve(alice);
        uint256 id = _request(alice, CSR);
        assertEq(certs.getCertificate(id).keyVersion, 2);
        _pass(Consortium.ProposalKind.DismissCertificateAuthority, ca, 0);
        _appointCa(ca);
        _setRoot(ca, ROOT1);
        _issue(id, CERT, 1);
        CertificateRegistry.Certificate memory c = certs.getCertificate(id);
        assertEq(c.keyVersion, 2);
        assertEq(c.keyVersion, consortium.keyVersionOf(alice));
        assertEq(c.issuerTerm, 2);
        assertEq(c.issuerTerm, consortium.authorityTerm(ca));
        assertEq(c.rootHash, ROOT1);
        _assertValidity(CERT, VALID);
    }

    function test_issue_latestCertificateFollowsNewest() public {
        uint256 first = _issued();
        uint256 second = _request(alice, keccak256("csr2"));
        _issue(second, keccak256("cert2"), 2);
        assertEq(certs.latestCertificateOf(alice), second);
        assertTrue(certs.isValid(CERT), "older certificate stays valid until revoked");
        assertEq(certs.getCertificate(first).serial, 1);
    }

    function test_issue_sameSerialDifferentIssuers() public {
        address ca2 = makeAddr("ca2");
        _appointCa(ca2);
        uint256 a = _request(alice, CSR);
        uint256 b = _request(bob, CSR);
        _issue(a, CERT, 1);
        vm.prank(ca2);
        certs.issue(b, keccak256("cert-b"), 1, NOT_BEFORE, NOT_AFTER, "");
        assertTrue(certs.isValid(keccak256("cert-b")));
        assertEq(certs.getCertificate(b).issuer, ca2);
    }

    function testRevert_issue_notCertificateAuthority() public {
        uint256 id = _request(alice, CSR);
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.NotCertificateAuthority.selector, admin1));
        vm.prank(admin1);
        certs.issue(id, CERT, 1, NOT_BEFORE, NOT_AFTER, URI);
    }

    function testRevert_issue_dismissedAuthority() public {
        uint256 id = _request(alice, CSR);
        _dismiss(ca);
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.NotCertificateAuthority.selector, ca));
        _issue(id, CERT, 1);
    }

    function testRevert_issue_unknownCertificate() public {
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.UnknownCertificate.selector, 0));
        _issue(0, CERT, 1);
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.UnknownCertificate.selector, 3));
        _issue(3, CERT, 1);
    }

    function testRevert_issue_notRequested() public {
        uint256 id = _issued();
        vm.expectRevert(_invalidStatus(id, CertificateRegistry.CertificateStatus.Issued));
        _issue(id, keccak256("other"), 2);
    }

    function testRevert_issue_memberNoLongerActive() public {
        uint256 id = _request(alice, CSR);
        _suspend(alice);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, alice));
        _issue(id, CERT, 1);
        // The request stays open (it still counts) until rejected or withdrawn.
        assertEq(certs.openRequests(alice), 1);
        vm.prank(ca);
        certs.reject(id, "member suspended");
        assertEq(certs.openRequests(alice), 0);
    }

    function testRevert_issue_memberRotatedKeySinceRequest() public {
        uint256 id = _request(alice, CSR);
        _rotate(alice, 1);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, alice));
        _issue(id, CERT, 1);
        _approve(alice);
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.StaleRequest.selector, id, 1, 2));
        _issue(id, CERT, 1);
    }

    /// @dev Attack: alice requests a certificate for the CSR of her key, then rotates it (say, it leaked)
    /// and is re-approved. Before, the authority could still issue the old request, and the certificate
    /// took alice's new key version at issuance: a certificate for the leaked key read valid. Now issuing a
    /// request whose member changed its key since is refused; the request stays open until rejected or
    /// withdrawn, and a request made with the new key is issued normally.
    function test_attack_staleRequestCannotBeIssued() public {
        uint256 id = _request(alice, CSR);
        _rotate(alice, 1);
        _approve(alice);
        assertTrue(consortium.isActive(alice));
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.StaleRequest.selector, id, 1, 2));
        _issue(id, CERT, 1);
        _assertValidity(CERT, UNKNOWN);
        assertEq(_status(id), uint256(CertificateRegistry.CertificateStatus.Requested));
        assertEq(certs.openRequests(alice), 1, "still open: it must be rejected or withdrawn");
        assertEq(certs.latestCertificateOf(alice), 0);
        vm.prank(ca);
        certs.reject(id, "key rotated since the request");
        assertEq(certs.openRequests(alice), 0);

        uint256 fresh = _request(alice, keccak256("csr-new-key"));
        assertEq(certs.getCertificate(fresh).keyVersion, 2);
        _issue(fresh, CERT, 1);
        _assertValidity(CERT, VALID);
    }

    /// @dev A removed member that was admitted again has a new key version: its old request is stale.
    function testRevert_issue_requestOfEarlierMembership() public {
        uint256 id = _request(alice, CSR);
        _remove(alice);
        _apply(alice, "Bank A");
        _approve(alice);
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.StaleRequest.selector, id, 1, 2));
        _issue(id, CERT, 1);
        vm.prank(alice);
        certs.withdrawRequest(id);
        assertEq(certs.openRequests(alice), 0);
    }

    /// @dev Only the key matters: a suspension and reinstatement with the same key leave a request issuable.
    function test_issue_afterReinstatementWithSameKey() public {
        uint256 id = _request(alice, CSR);
        _suspend(alice);
        _reinstate(alice);
        _issue(id, CERT, 1);
        assertEq(certs.getCertificate(id).keyVersion, 1);
        _assertValidity(CERT, VALID);
    }

    function testFuzz_issue_staleRequest(uint8 rotations) public {
        uint256 n = bound(rotations, 0, 5);
        uint256 id = _request(alice, CSR);
        for (uint256 i = 0; i < n; i++) {
            _rotate(alice, i + 1);
            _approve(alice);
        }
        if (n != 0) {
            vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.StaleRequest.selector, id, 1, 1 + n));
        }
        _issue(id, CERT, 1);
        assertEq(certs.isValid(CERT), n == 0);
        assertEq(certs.openRequests(alice), n == 0 ? 0 : 1);
    }

    function testRevert_issue_zeroHash() public {
        uint256 id = _request(alice, CSR);
        vm.expectRevert(CertificateRegistry.ZeroHash.selector);
        _issue(id, bytes32(0), 1);
    }

    function testRevert_issue_hashInUse() public {
        uint256 first = _issued();
        uint256 id = _request(bob, CSR);
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.CertificateHashInUse.selector, CERT, first));
        _issue(id, CERT, 2);
        vm.prank(alice);
        certs.revoke(first, 0, "");
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.CertificateHashInUse.selector, CERT, first));
        _issue(id, CERT, 2);
    }

    function testRevert_issue_serialInUse() public {
        _issued();
        uint256 id = _request(bob, CSR);
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.SerialInUse.selector, ca, 1));
        _issue(id, keccak256("cert-b"), 1);
    }

    function testRevert_issue_invalidValidity() public {
        uint256 id = _request(alice, CSR);
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.InvalidValidity.selector, NOT_AFTER, NOT_AFTER));
        vm.prank(ca);
        certs.issue(id, CERT, 1, NOT_AFTER, NOT_AFTER, URI);
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.InvalidValidity.selector, NOT_AFTER, NOT_BEFORE));
        vm.prank(ca);
        certs.issue(id, CERT, 1, NOT_AFTER, NOT_BEFORE, URI);
    }

    function testRevert_issue_invalidUri() public {
        uint256 id = _request(alice, CSR);
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.InvalidUri.selector, 513));
        vm.prank(ca);
        certs.issue(id, CERT, 1, NOT_BEFORE, NOT_AFTER, _str(513));
    }

    function testFuzz_issue_validityAndUri(uint64 notBefore, uint64 notAfter, uint256 uriLen) public {
        uriLen = bound(uriLen, 0, 600);
        uint256 id = _request(alice, CSR);
        bool ok = notAfter > notBefore && uriLen <= 512;
        if (notAfter <= notBefore) {
            vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.InvalidValidity.selector, notBefore, notAfter));
        } else if (uriLen > 512) {
            vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.InvalidUri.selector, uriLen));
        }
        vm.prank(ca);
        certs.issue(id, CERT, 42, notBefore, notAfter, _str(uriLen));
        assertEq(certs.isValid(CERT), ok);
        assertEq(certs.openRequests(alice), ok ? 0 : 1);
    }

    function testFuzz_issue_nonAuthorityReverts(address caller) public {
        vm.assume(!consortium.isCertificateAuthority(caller));
        uint256 id = _request(alice, CSR);
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.NotCertificateAuthority.selector, caller));
        vm.prank(caller);
        certs.issue(id, CERT, 1, NOT_BEFORE, NOT_AFTER, URI);
    }

    // ----------------------------------------------------------------- reject

    function test_reject() public {
        uint256 id = _request(alice, CSR);
        vm.roll(6000);
        vm.expectEmit(true, true, true, true, address(certs));
        emit CertificateRequestRejected(id, ca, "bad subject");
        vm.prank(ca);
        certs.reject(id, "bad subject");
        assertEq(_status(id), uint256(CertificateRegistry.CertificateStatus.Rejected));
        CertificateRegistry.Certificate memory c = certs.getCertificate(id);
        assertEq(c.reason, "bad subject");
        assertEq(c.closedBlock, 6000);
        assertEq(certs.openRequests(alice), 0);
    }

    function test_reject_requestOfRemovedMember() public {
        uint256 id = _request(alice, CSR);
        _remove(alice);
        vm.prank(ca);
        certs.reject(id, "member removed");
        assertEq(certs.openRequests(alice), 0);
    }

    function testRevert_reject_notCertificateAuthority() public {
        uint256 id = _request(alice, CSR);
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.NotCertificateAuthority.selector, alice));
        vm.prank(alice);
        certs.reject(id, "");
    }

    function testRevert_reject_unknown() public {
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.UnknownCertificate.selector, 1));
        vm.prank(ca);
        certs.reject(1, "");
    }

    function testRevert_reject_notRequested() public {
        uint256 id = _request(alice, CSR);
        vm.prank(ca);
        certs.reject(id, "");
        vm.expectRevert(_invalidStatus(id, CertificateRegistry.CertificateStatus.Rejected));
        vm.prank(ca);
        certs.reject(id, "");
        assertEq(certs.openRequests(alice), 0, "a second reject does not free a second slot");
    }

    function testRevert_reject_invalidReason() public {
        uint256 id = _request(alice, CSR);
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.InvalidReason.selector, 257));
        vm.prank(ca);
        certs.reject(id, _str(257));
    }

    // ----------------------------------------------------------------- revoke

    function test_revoke_byAuthority() public {
        uint256 id = _issued();
        vm.roll(7000);
        vm.expectEmit(true, true, true, true, address(certs));
        emit CertificateRevoked(id, ca, 1, "key compromise");
        vm.prank(ca);
        certs.revoke(id, 1, "key compromise");
        assertEq(_status(id), uint256(CertificateRegistry.CertificateStatus.Revoked));
        _assertValidity(CERT, REVOKED);
        CertificateRegistry.Certificate memory c = certs.getCertificate(id);
        assertEq(c.reason, "key compromise");
        assertEq(c.closedBlock, 7000);
        assertEq(certs.certificateIdByHash(CERT), id, "hash stays reserved");
    }

    function test_revoke_byAnotherAuthority() public {
        address ca2 = makeAddr("ca2");
        _appointCa(ca2);
        uint256 id = _issued();
        vm.prank(ca2);
        certs.revoke(id, 0, "");
        _assertValidity(CERT, REVOKED);
    }

    function test_revoke_byMemberEvenWhenSuspendedOrRemoved() public {
        uint256 id = _issued();
        _suspend(alice);
        vm.expectEmit(true, true, true, true, address(certs));
        emit CertificateRevoked(id, alice, 4, "");
        vm.prank(alice);
        certs.revoke(id, 4, "");
        _assertValidity(CERT, REVOKED);

        uint256 b = _request(bob, CSR);
        _issue(b, keccak256("cert-b"), 2);
        _remove(bob);
        vm.prank(bob);
        certs.revoke(b, 1, "");
        _assertValidity(keccak256("cert-b"), REVOKED);
    }

    function testRevert_revoke_unknown() public {
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.UnknownCertificate.selector, 9));
        vm.prank(ca);
        certs.revoke(9, 0, "");
    }

    function testRevert_revoke_notAllowed() public {
        uint256 id = _issued();
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.NotAllowedToRevoke.selector, id, bob));
        vm.prank(bob);
        certs.revoke(id, 0, "");
        _dismiss(ca);
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.NotAllowedToRevoke.selector, id, ca));
        vm.prank(ca);
        certs.revoke(id, 0, "");
    }

    function testRevert_revoke_notIssued() public {
        uint256 id = _request(alice, CSR);
        vm.expectRevert(_invalidStatus(id, CertificateRegistry.CertificateStatus.Requested));
        vm.prank(ca);
        certs.revoke(id, 0, "");

        _issue(id, CERT, 1);
        vm.prank(ca);
        certs.revoke(id, 0, "");
        vm.expectRevert(_invalidStatus(id, CertificateRegistry.CertificateStatus.Revoked));
        vm.prank(alice);
        certs.revoke(id, 0, "");

        uint256 rejected = _request(alice, CSR);
        vm.prank(ca);
        certs.reject(rejected, "");
        vm.expectRevert(_invalidStatus(rejected, CertificateRegistry.CertificateStatus.Rejected));
        vm.prank(ca);
        certs.revoke(rejected, 0, "");
    }

    function testRevert_revoke_invalidReason() public {
        uint256 id = _issued();
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.InvalidReason.selector, 300));
        vm.prank(ca);
        certs.revoke(id, 0, _str(300));
    }

    function testFuzz_revoke_reasonLength(uint256 len, uint8 code) public {
        len = bound(len, 0, 400);
        uint256 id = _issued();
        if (len > 256) vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.InvalidReason.selector, len));
        vm.prank(alice);
        certs.revoke(id, code, _str(len));
        assertEq(certs.isValid(CERT), len > 256);
    }

    function testFuzz_revoke_strangerReverts(address caller) public {
        vm.assume(caller != alice && !consortium.isCertificateAuthority(caller));
        uint256 id = _issued();
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.NotAllowedToRevoke.selector, id, caller));
        vm.prank(caller);
        certs.revoke(id, 0, "");
    }

    // ------------------------------------------- validity (lifecycle attacks)

    function test_validity_unknownRejectedOrWithdrawn() public {
        _assertValidity(CERT, UNKNOWN);
        _assertValidity(bytes32(0), UNKNOWN);
        uint256 id = _request(alice, CSR);
        vm.prank(ca);
        certs.reject(id, "no");
        id = _request(alice, CSR);
        vm.prank(alice);
        certs.withdrawRequest(id);
        _assertValidity(CERT, UNKNOWN);
        _assertValidity(bytes32(0), UNKNOWN);
    }

    /// @dev (a) A dismissed authority's certificates stop reading valid; other authorities' do not.
    function test_validity_issuerDismissed() public {
        address ca2 = makeAddr("ca2");
        _appointCa(ca2);
        _issued();
        uint256 b = _request(bob, CSR);
        vm.prank(ca2);
        certs.issue(b, keccak256("cert-b"), 1, NOT_BEFORE, NOT_AFTER, "");

        _dismiss(ca);
        _assertValidity(CERT, ISSUER_DISMISSED);
        _assertValidity(keccak256("cert-b"), VALID);
        assertEq(_status(1), uint256(CertificateRegistry.CertificateStatus.Issued), "the record is unchanged");
    }

    /// @dev Attack: a dismissal is final for the authority's certificates. Before, re-appointing a dismissed
    /// authority (for instance after its key was recovered) revived every certificate it had ever issued,
    /// those it issued with the compromised key included. Now certificates of an earlier term read
    /// IssuerDismissed for good; those of the new term are valid.
    function test_attack_reappointedAuthorityDoesNotReviveCertificates() public {
        uint256 old = _issued();
        assertEq(certs.getCertificate(old).issuerTerm, 1);
        _dismiss(ca);
        _assertValidity(CERT, ISSUER_DISMISSED);
        _appointCa(ca);
        assertTrue(consortium.isCertificateAuthority(ca));
        assertEq(consortium.authorityTerm(ca), 2);
        _assertValidity(CERT, ISSUER_DISMISSED);

        uint256 renewed = _request(alice, keccak256("csr-renewed"));
        _issue(renewed, keccak256("cert-renewed"), 2);
        assertEq(certs.getCertificate(renewed).issuerTerm, 2);
        _assertValidity(keccak256("cert-renewed"), VALID);
        _assertValidity(CERT, ISSUER_DISMISSED);
        // the serial of the first term stays used
        uint256 b = _request(bob, CSR);
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.SerialInUse.selector, ca, 1));
        _issue(b, keccak256("cert-b"), 1);

        // and every later dismissal is final as well
        _dismiss(ca);
        _appointCa(ca);
        _assertValidity(CERT, ISSUER_DISMISSED);
        _assertValidity(keccak256("cert-renewed"), ISSUER_DISMISSED);
        assertEq(_status(old), uint256(CertificateRegistry.CertificateStatus.Issued), "the record is unchanged");
    }

    /// @dev Another authority's term does not affect a certificate.
    function test_validity_otherAuthorityReappointed() public {
        address ca2 = makeAddr("ca2");
        _appointCa(ca2);
        _issued();
        _dismiss(ca2);
        _appointCa(ca2);
        _assertValidity(CERT, VALID);
    }

    /// @dev (b) A suspended member's certificate stops reading valid, and reads valid again once it is
    /// reinstated with the same key.
    function test_validity_memberSuspendedThenReinstated() public {
        _issued();
        _suspend(alice);
        _assertValidity(CERT, MEMBER_NOT_ACTIVE);
        _reinstate(alice);
        assertTrue(consortium.isActive(alice));
        _assertValidity(CERT, VALID);
    }

    /// @dev (b) A removed member's certificate stops reading valid, and re-admission does not revive it:
    /// a new application is a new key.
    function test_validity_memberRemovedThenReadmitted() public {
        _issued();
        _remove(alice);
        _assertValidity(CERT, MEMBER_NOT_ACTIVE);
        _apply(alice, "Bank A");
        _assertValidity(CERT, MEMBER_NOT_ACTIVE);
        _approve(alice);
        assertTrue(consortium.isActive(alice));
        _assertValidity(CERT, KEY_ROTATED);
    }

    /// @dev (c) A key rotation makes the certificate of the old key invalid, even after the new key is
    /// approved; a certificate for the new key is valid.
    function test_validity_keyRotated() public {
        _issued();
        _rotate(alice, 1);
        _assertValidity(CERT, MEMBER_NOT_ACTIVE); // Pending until re-approved
        _approve(alice);
        _assertValidity(CERT, KEY_ROTATED);

        uint256 id = _request(alice, keccak256("csr-new-key"));
        _issue(id, keccak256("cert-new-key"), 2);
        _assertValidity(keccak256("cert-new-key"), VALID);
        _assertValidity(CERT, KEY_ROTATED);
    }

    function test_validity_suspendedWhileRotating() public {
        _issued();
        _rotate(alice, 1);
        _suspend(alice);
        _assertValidity(CERT, MEMBER_NOT_ACTIVE);
        _reinstate(alice); // back to Pending: the new key was never approved
        assertEq(uint256(consortium.memberStatus(alice)), uint256(Consortium.MemberStatus.Pending));
        _assertValidity(CERT, MEMBER_NOT_ACTIVE);
        _approve(alice);
        _assertValidity(CERT, KEY_ROTATED);
    }

    /// @dev (d) A new root of the issuer invalidates the certificates issued under the old one.
    function test_validity_rootReplaced() public {
        _setRoot(ca, ROOT1);
        _issued();
        _assertValidity(CERT, VALID);
        vm.roll(block.number + 1);
        _setRoot(ca, ROOT2);
        _assertValidity(CERT, ROOT_REPLACED);

        uint256 id = _request(bob, CSR);
        _issue(id, keccak256("cert-b"), 2);
        assertEq(certs.getCertificate(id).rootHash, ROOT2);
        _assertValidity(keccak256("cert-b"), VALID);
    }

    function test_validity_issuedBeforeAnyRoot() public {
        address ca2 = makeAddr("ca2");
        _appointCa(ca2);
        _issued();
        assertEq(certs.getCertificate(1).rootHash, bytes32(0));
        vm.roll(block.number + 100);
        _assertValidity(CERT, VALID);
        _setRoot(ca2, ROOT1); // another authority's root does not matter
        _assertValidity(CERT, VALID);
        _setRoot(ca, ROOT2); // the issuer's first root replaces "none"
        _assertValidity(CERT, ROOT_REPLACED);
    }

    function test_validity_firstReasonWins() public {
        _setRoot(ca, ROOT1);
        _issued();
        _rotate(alice, 1);
        _approve(alice);
        _assertValidity(CERT, KEY_ROTATED);
        _rotate(alice, 2);
        _suspend(alice);
        _assertValidity(CERT, MEMBER_NOT_ACTIVE);
        _setRoot(ca, ROOT2);
        _assertValidity(CERT, ROOT_REPLACED);
        vm.prank(alice);
        certs.revoke(1, 1, "");
        _dismiss(ca);
        _assertValidity(CERT, REVOKED);
    }

    /// @dev Every combination of the lifecycle events: `validity` names the first failing reason in the
    /// documented order and `isValid` is true only when none applies.
    function testFuzz_validity_firstFailingReason(
        bool revoked,
        bool dismissed,
        bool reappointed,
        bool newRoot,
        uint8 membership,
        bool rotated
    ) public {
        uint256 m = bound(membership, 0, 2); // 0 active, 1 suspended, 2 removed
        _setRoot(ca, ROOT1);
        _issued();
        if (rotated) {
            _rotate(alice, 1);
            if (m == 0) _approve(alice);
        }
        if (m == 1) _suspend(alice);
        if (m == 2) _remove(alice);
        if (newRoot) _setRoot(ca, ROOT2);
        if (revoked) {
            vm.prank(alice);
            certs.revoke(1, 0, "");
        }
        if (dismissed) {
            _dismiss(ca);
            if (reappointed) _appointCa(ca); // a new term does not revive the certificate
        }

        uint256 expected = VALID;
        if (revoked) expected = REVOKED;
        else if (dismissed) expected = ISSUER_DISMISSED;
        else if (newRoot) expected = ROOT_REPLACED;
        else if (m != 0) expected = MEMBER_NOT_ACTIVE;
        else if (rotated) expected = KEY_ROTATED;
        _assertValidity(CERT, expected);
    }

    // ------------------------------------------------------------------ views

    function test_status_unknownIsNone() public {
        assertEq(_status(0), 0);
        assertEq(_status(1), 0);
        _request(alice, CSR);
        assertEq(_status(2), 0);
    }

    function testRevert_getCertificate_unknown() public {
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.UnknownCertificate.selector, 0));
        certs.getCertificate(0);
    }

    function testRevert_getCertificateByHash_unknown() public {
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.UnknownCertificateHash.selector, CERT));
        certs.getCertificateByHash(CERT);
    }

    function testFuzz_lifecycle(uint8 steps, bytes32 csr, bytes32 hash) public {
        vm.assume(csr != bytes32(0) && hash != bytes32(0));
        uint256 id = _request(bob, csr);
        uint256 s = bound(steps, 0, 4); // 0 requested, 1 issued, 2 revoked, 3 rejected, 4 withdrawn
        if (s == 1 || s == 2) {
            vm.prank(ca);
            certs.issue(id, hash, uint256(hash), 1, 2, "");
        }
        if (s == 2) {
            vm.prank(bob);
            certs.revoke(id, 0, "");
        }
        if (s == 3) {
            vm.prank(ca);
            certs.reject(id, "");
        }
        if (s == 4) {
            vm.prank(bob);
            certs.withdrawRequest(id);
        }
        assertEq(certs.isValid(hash), s == 1);
        assertEq(_validity(hash), s == 1 ? VALID : (s == 2 ? REVOKED : UNKNOWN));
        uint256[5] memory expected = [uint256(1), 2, 3, 4, 5];
        assertEq(_status(id), expected[s]);
        assertEq(certs.openRequests(bob), s == 0 ? 1 : 0);
    }

    // ------------------------------------------------------------ authority roots

    function test_setAuthorityRoot() public {
        bytes memory key = _key(7);
        assertEq(certs.authorityRoot(ca).certificateHash, bytes32(0));
        vm.expectEmit(true, false, false, true, address(certs));
        emit AuthorityRootSet(ca, ROOT1, key);
        vm.prank(ca);
        certs.setAuthorityRoot(ROOT1, key);
        CertificateRegistry.AuthorityRoot memory r = certs.authorityRoot(ca);
        assertEq(r.certificateHash, ROOT1);
        assertEq(r.publicKey, key);
        assertEq(r.setBlock, block.number);

        // Replacing a root keeps only the new one.
        vm.roll(block.number + 5);
        vm.expectEmit(true, false, false, true, address(certs));
        emit AuthorityRootSet(ca, ROOT2, _key(8));
        vm.prank(ca);
        certs.setAuthorityRoot(ROOT2, _key(8));
        r = certs.authorityRoot(ca);
        assertEq(r.certificateHash, ROOT2);
        assertEq(r.publicKey, _key(8));
        assertEq(r.setBlock, block.number);
    }

    function testRevert_setAuthorityRoot_notAuthority() public {
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.NotCertificateAuthority.selector, alice));
        vm.prank(alice);
        certs.setAuthorityRoot(ROOT1, _key(1));
        _dismiss(ca);
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.NotCertificateAuthority.selector, ca));
        vm.prank(ca);
        certs.setAuthorityRoot(ROOT1, _key(1));
    }

    function testRevert_setAuthorityRoot_zeroHash() public {
        vm.expectRevert(CertificateRegistry.ZeroHash.selector);
        vm.prank(ca);
        certs.setAuthorityRoot(bytes32(0), _key(1));
    }

    function testFuzz_setAuthorityRoot_keyLength(uint16 length) public {
        uint256 len = bound(length, 0, 200);
        vm.assume(len != 64);
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.InvalidRootKey.selector, len));
        vm.prank(ca);
        certs.setAuthorityRoot(ROOT1, _bytes(len));
    }
}
