// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.11;

import {Base, CertificateEvents} from "./Base.t.sol";
import {Consortium, NotActiveMember} from "../src/Consortium.sol";
import {CertificateRegistry} from "../src/CertificateRegistry.sol";

contract CertificateRegistryTest is Base, CertificateEvents {
    bytes32 internal constant CSR = keccak256("csr-alice");
    bytes32 internal constant CERT = keccak256("cert-alice");
    uint64 internal constant NOT_BEFORE = 1_700_000_000;
    uint64 internal constant NOT_AFTER = 1_800_000_000;
    string internal constant URI = "https://pki.example/certs/alice.pem";

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

    // ---------------------------------------------------------------- request

    function test_constants() public view {
        assertEq(address(certs.consortium()), address(consortium));
        assertEq(certs.MAX_URI_LENGTH(), 512);
        assertEq(certs.MAX_REASON_LENGTH(), 256);
        assertEq(certs.certificateCount(), 0);
    }

    function test_request() public {
        vm.roll(4242);
        vm.expectEmit(true, true, true, true);
        emit CertificateRequested(1, alice, CSR);
        uint256 id = _request(alice, CSR);
        assertEq(id, 1);
        assertEq(certs.certificateCount(), 1);
        assertEq(_status(id), uint256(CertificateRegistry.CertificateStatus.Requested));
        CertificateRegistry.Certificate memory c = certs.getCertificate(id);
        assertEq(c.id, 1);
        assertEq(c.member, alice);
        assertEq(c.csrHash, CSR);
        assertEq(c.requestedBlock, 4242);
        assertEq(c.certificateHash, bytes32(0));
        assertEq(c.issuer, address(0));
        assertEq(c.closedBlock, 0);
        assertEq(_request(bob, CSR), 2, "same CSR hash may be requested again");
    }

    function testRevert_request_notActiveMember() public {
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, outsider));
        _request(outsider, CSR);
        _suspend(alice);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, alice));
        _request(alice, CSR);
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

    // ------------------------------------------------------------------ issue

    function test_issue() public {
        uint256 id = _request(alice, CSR);
        vm.roll(5000);
        vm.expectEmit(true, true, true, true);
        emit CertificateIssued(id, alice, ca, CERT, 7, NOT_BEFORE, NOT_AFTER, URI);
        vm.prank(ca);
        certs.issue(id, CERT, 7, NOT_BEFORE, NOT_AFTER, URI);

        assertEq(_status(id), uint256(CertificateRegistry.CertificateStatus.Issued));
        assertTrue(certs.isValid(CERT));
        assertEq(certs.certificateIdByHash(CERT), id);
        assertEq(certs.latestCertificateOf(alice), id);
        CertificateRegistry.Certificate memory c = certs.getCertificateByHash(CERT);
        assertEq(c.id, id);
        assertEq(c.certificateHash, CERT);
        assertEq(c.serial, 7);
        assertEq(c.notBefore, NOT_BEFORE);
        assertEq(c.notAfter, NOT_AFTER);
        assertEq(c.uri, URI);
        assertEq(c.issuer, ca);
        assertEq(c.issuedBlock, 5000);
        assertEq(c.closedBlock, 0, "closed only by reject or revoke");
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
    }

    function testRevert_issue_notCertificateAuthority() public {
        uint256 id = _request(alice, CSR);
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.NotCertificateAuthority.selector, admin1));
        vm.prank(admin1);
        certs.issue(id, CERT, 1, NOT_BEFORE, NOT_AFTER, URI);
    }

    function testRevert_issue_dismissedAuthority() public {
        uint256 id = _request(alice, CSR);
        _pass(Consortium.ProposalKind.DismissCertificateAuthority, ca, 0);
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
        vm.expectRevert(
            abi.encodeWithSelector(
                CertificateRegistry.InvalidCertificateStatus.selector, id, CertificateRegistry.CertificateStatus.Issued
            )
        );
        _issue(id, keccak256("other"), 2);
    }

    function testRevert_issue_memberNoLongerActive() public {
        uint256 id = _request(alice, CSR);
        _suspend(alice);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, alice));
        _issue(id, CERT, 1);
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
        vm.expectEmit(true, true, true, true);
        emit CertificateRequestRejected(id, ca, "bad subject");
        vm.prank(ca);
        certs.reject(id, "bad subject");
        assertEq(_status(id), uint256(CertificateRegistry.CertificateStatus.Rejected));
        CertificateRegistry.Certificate memory c = certs.getCertificate(id);
        assertEq(c.reason, "bad subject");
        assertEq(c.closedBlock, 6000);
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
        vm.expectRevert(
            abi.encodeWithSelector(
                CertificateRegistry.InvalidCertificateStatus.selector,
                id,
                CertificateRegistry.CertificateStatus.Rejected
            )
        );
        vm.prank(ca);
        certs.reject(id, "");
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
        vm.expectEmit(true, true, true, true);
        emit CertificateRevoked(id, ca, 1, "key compromise");
        vm.prank(ca);
        certs.revoke(id, 1, "key compromise");
        assertEq(_status(id), uint256(CertificateRegistry.CertificateStatus.Revoked));
        assertFalse(certs.isValid(CERT));
        CertificateRegistry.Certificate memory c = certs.getCertificate(id);
        assertEq(c.reason, "key compromise");
        assertEq(c.closedBlock, 7000);
        assertEq(certs.certificateIdByHash(CERT), id, "hash stays reserved");
    }

    function test_revoke_byMemberEvenWhenSuspended() public {
        uint256 id = _issued();
        _suspend(alice);
        vm.expectEmit(true, true, true, true);
        emit CertificateRevoked(id, alice, 4, "");
        vm.prank(alice);
        certs.revoke(id, 4, "");
        assertFalse(certs.isValid(CERT));
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
    }

    function testRevert_revoke_notIssued() public {
        uint256 id = _request(alice, CSR);
        vm.expectRevert(
            abi.encodeWithSelector(
                CertificateRegistry.InvalidCertificateStatus.selector,
                id,
                CertificateRegistry.CertificateStatus.Requested
            )
        );
        vm.prank(ca);
        certs.revoke(id, 0, "");

        _issue(id, CERT, 1);
        vm.prank(ca);
        certs.revoke(id, 0, "");
        vm.expectRevert(
            abi.encodeWithSelector(
                CertificateRegistry.InvalidCertificateStatus.selector, id, CertificateRegistry.CertificateStatus.Revoked
            )
        );
        vm.prank(alice);
        certs.revoke(id, 0, "");
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

    // ------------------------------------------------------------------ views

    function test_status_unknownIsNone() public {
        assertEq(_status(0), 0);
        assertEq(_status(1), 0);
        _request(alice, CSR);
        assertEq(_status(2), 0);
    }

    function test_isValid_unknownOrRejected() public {
        assertFalse(certs.isValid(CERT));
        assertFalse(certs.isValid(bytes32(0)));
        uint256 id = _request(alice, CSR);
        vm.prank(ca);
        certs.reject(id, "no");
        assertFalse(certs.isValid(CERT));
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
        uint256 s = bound(steps, 0, 2);
        if (s >= 1) {
            vm.prank(ca);
            certs.issue(id, hash, uint256(hash), 1, 2, "");
        }
        if (s >= 2) {
            vm.prank(bob);
            certs.revoke(id, 0, "");
        }
        assertEq(certs.isValid(hash), s == 1);
        assertEq(_status(id), s == 0 ? 1 : (s == 1 ? 2 : 3));
    }

    // ------------------------------------------------------------ authority roots

    function test_setAuthorityRoot() public {
        bytes32 root = keccak256("root-cert");
        bytes memory key = _key(7);
        assertEq(certs.authorityRoot(ca).certificateHash, bytes32(0));
        vm.expectEmit(true, false, false, true, address(certs));
        emit AuthorityRootSet(ca, root, key);
        vm.prank(ca);
        certs.setAuthorityRoot(root, key);
        CertificateRegistry.AuthorityRoot memory r = certs.authorityRoot(ca);
        assertEq(r.certificateHash, root);
        assertEq(r.publicKey, key);
        assertEq(r.setBlock, block.number);

        // Replacing a root keeps only the new one.
        vm.roll(block.number + 5);
        vm.prank(ca);
        certs.setAuthorityRoot(keccak256("root-2"), _key(8));
        r = certs.authorityRoot(ca);
        assertEq(r.certificateHash, keccak256("root-2"));
        assertEq(r.publicKey, _key(8));
        assertEq(r.setBlock, block.number);
    }

    function testRevert_setAuthorityRoot_notAuthority() public {
        vm.expectRevert(abi.encodeWithSelector(CertificateRegistry.NotCertificateAuthority.selector, alice));
        vm.prank(alice);
        certs.setAuthorityRoot(keccak256("root"), _key(1));
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
        certs.setAuthorityRoot(keccak256("root"), _bytes(len));
    }
}
