// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.11;

import {Base, ConsortiumEvents} from "./Base.t.sol";
import {Consortium, NotActiveMember, ZeroAddress} from "../src/Consortium.sol";

contract ConsortiumTest is Base, ConsortiumEvents {
    address internal dave = makeAddr("dave");
    address internal admin4 = makeAddr("admin4");

    Consortium.ProposalKind internal constant APPROVE = Consortium.ProposalKind.ApproveMember;
    Consortium.ProposalKind internal constant SUSPEND = Consortium.ProposalKind.SuspendMember;
    Consortium.ProposalKind internal constant REINSTATE = Consortium.ProposalKind.ReinstateMember;
    Consortium.ProposalKind internal constant REMOVE = Consortium.ProposalKind.RemoveMember;
    Consortium.ProposalKind internal constant ADD_ADMIN = Consortium.ProposalKind.AddAdmin;
    Consortium.ProposalKind internal constant REMOVE_ADMIN = Consortium.ProposalKind.RemoveAdmin;
    Consortium.ProposalKind internal constant CHANGE_THRESHOLD = Consortium.ProposalKind.ChangeThreshold;
    Consortium.ProposalKind internal constant APPOINT_CA = Consortium.ProposalKind.AppointCertificateAuthority;
    Consortium.ProposalKind internal constant DISMISS_CA = Consortium.ProposalKind.DismissCertificateAuthority;

    function _admins(uint256 n) internal returns (address[] memory list) {
        list = new address[](n);
        for (uint256 i = 0; i < n; i++) {
            list[i] = makeAddr(string(abi.encodePacked("admin-", vm.toString(i))));
        }
    }

    function _open(address admin, Consortium.ProposalKind kind, address target, uint256 value)
        internal
        returns (uint256 id)
    {
        vm.prank(admin);
        id = consortium.propose(kind, target, value);
    }

    function _voteAs(address admin, uint256 id) internal {
        vm.prank(admin);
        consortium.vote(id);
    }

    // ------------------------------------------------------------ constructor

    function test_constructor_setsAdminsAndThreshold() public view {
        assertEq(consortium.adminCount(), 3);
        assertEq(consortium.threshold(), 2);
        assertEq(consortium.adminEpoch(), 0);
        address[] memory list = consortium.admins();
        assertEq(list.length, 3);
        assertEq(list[0], admin1);
        assertEq(list[1], admin2);
        assertEq(list[2], admin3);
        assertTrue(consortium.isAdmin(admin1));
        assertFalse(consortium.isAdmin(alice));
        assertEq(consortium.MAX_NAME_LENGTH(), 64);
        assertEq(consortium.MAX_ENDPOINT_LENGTH(), 256);
        assertEq(consortium.PUBLIC_KEY_LENGTH(), 64);
        assertEq(consortium.MAX_PAGE(), 100);
    }

    function test_constructor_emitsAdminAddedAndThresholdChanged() public {
        address[] memory list = _admins(2);
        vm.expectEmit(true, true, true, true);
        emit AdminAdded(list[0], 0);
        vm.expectEmit(true, true, true, true);
        emit AdminAdded(list[1], 0);
        vm.expectEmit(true, true, true, true);
        emit ThresholdChanged(0, 1, 0);
        Consortium c = new Consortium(list, 1);
        assertEq(c.threshold(), 1);
    }

    function testRevert_constructor_zeroThreshold() public {
        address[] memory list = _admins(2);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidThreshold.selector, 0, 2));
        new Consortium(list, 0);
    }

    function testRevert_constructor_thresholdAboveAdmins() public {
        address[] memory list = _admins(2);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidThreshold.selector, 3, 2));
        new Consortium(list, 3);
    }

    function testRevert_constructor_noAdmins() public {
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidThreshold.selector, 1, 0));
        new Consortium(new address[](0), 1);
    }

    function testRevert_constructor_zeroAddress() public {
        address[] memory list = _admins(2);
        list[1] = address(0);
        vm.expectRevert(ZeroAddress.selector);
        new Consortium(list, 1);
    }

    function testRevert_constructor_duplicateAdmin() public {
        address[] memory list = _admins(3);
        list[2] = list[0];
        vm.expectRevert(abi.encodeWithSelector(Consortium.DuplicateAdmin.selector, list[0]));
        new Consortium(list, 2);
    }

    function testFuzz_constructor_anyValidSize(uint256 n, uint256 t) public {
        n = bound(n, 1, 20);
        t = bound(t, 1, n);
        Consortium c = new Consortium(_admins(n), t);
        assertEq(c.adminCount(), n);
        assertEq(c.threshold(), t);
        assertEq(c.admins().length, n);
    }

    function testFuzz_constructor_invalidThreshold(uint256 n, uint256 t) public {
        n = bound(n, 0, 10);
        vm.assume(t == 0 || t > n);
        address[] memory list = _admins(n);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidThreshold.selector, t, n));
        new Consortium(list, t);
    }

    // ---------------------------------------------------------- membership

    function test_applyForMembership_storesPendingMember() public {
        vm.roll(2000);
        bytes memory key = _key(7);
        vm.expectEmit(true, true, true, true);
        emit MemberApplied(dave, "Dave Bank", "https://gw.dave:7443", key, 1);
        vm.expectEmit(true, true, true, true);
        emit MemberStatusChanged(dave, Consortium.MemberStatus.None, Consortium.MemberStatus.Pending, 0);
        vm.prank(dave);
        consortium.applyForMembership("Dave Bank", "https://gw.dave:7443", key);

        Consortium.Member memory m = consortium.getMember(dave);
        assertEq(m.account, dave);
        assertEq(m.name, "Dave Bank");
        assertEq(m.endpoint, "https://gw.dave:7443");
        assertEq(m.publicKey, key);
        assertEq(m.keyVersion, 1);
        assertEq(uint256(m.status), uint256(Consortium.MemberStatus.Pending));
        assertEq(m.appliedBlock, 2000);
        assertEq(m.updatedBlock, 2000);
        assertEq(consortium.memberCount(), 4);
        assertFalse(consortium.isActive(dave));
        assertEq(uint256(consortium.memberStatus(dave)), uint256(Consortium.MemberStatus.Pending));
    }

    function test_applyForMembership_reapplyAfterRemoval() public {
        _pass(REMOVE, alice, 0);
        assertEq(uint256(consortium.memberStatus(alice)), uint256(Consortium.MemberStatus.Removed));
        assertEq(consortium.activeMemberCount(), 2);
        bytes memory key = _key(99);
        vm.expectEmit(true, true, true, true);
        emit MemberApplied(alice, "Bank A2", "https://a2", key, 2);
        vm.expectEmit(true, true, true, true);
        emit MemberStatusChanged(alice, Consortium.MemberStatus.Removed, Consortium.MemberStatus.Pending, 0);
        vm.prank(alice);
        consortium.applyForMembership("Bank A2", "https://a2", key);
        assertEq(consortium.memberCount(), 3, "no duplicate list entry");
        assertEq(consortium.getMember(alice).name, "Bank A2");
        assertEq(consortium.getMember(alice).publicKey, key);
        assertEq(consortium.getMember(alice).keyVersion, 2, "the key version keeps counting");
    }

    function testRevert_applyForMembership_alreadyApplied() public {
        _apply(dave, "Dave");
        vm.expectRevert(
            abi.encodeWithSelector(Consortium.AlreadyApplied.selector, dave, Consortium.MemberStatus.Pending)
        );
        _apply(dave, "Dave");

        vm.expectRevert(
            abi.encodeWithSelector(Consortium.AlreadyApplied.selector, alice, Consortium.MemberStatus.Active)
        );
        _apply(alice, "Bank A");

        _suspend(alice);
        vm.expectRevert(
            abi.encodeWithSelector(Consortium.AlreadyApplied.selector, alice, Consortium.MemberStatus.Suspended)
        );
        _apply(alice, "Bank A");
    }

    function testRevert_applyForMembership_emptyName() public {
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidName.selector, 0));
        vm.prank(dave);
        consortium.applyForMembership("", "https://x", _key(1));
    }

    function testRevert_applyForMembership_longName() public {
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidName.selector, 65));
        vm.prank(dave);
        consortium.applyForMembership(_str(65), "https://x", _key(1));
    }

    function testRevert_applyForMembership_emptyEndpoint() public {
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidEndpoint.selector, 0));
        vm.prank(dave);
        consortium.applyForMembership("Dave", "", _key(1));
    }

    function testRevert_applyForMembership_longEndpoint() public {
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidEndpoint.selector, 257));
        vm.prank(dave);
        consortium.applyForMembership("Dave", _str(257), _key(1));
    }

    function testRevert_applyForMembership_badKey() public {
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidPublicKey.selector, 65));
        vm.prank(dave);
        consortium.applyForMembership("Dave", "https://x", _bytes(65));
    }

    function testFuzz_applyForMembership_lengths(uint256 nameLen, uint256 endpointLen, uint256 keyLen) public {
        nameLen = bound(nameLen, 0, 80);
        endpointLen = bound(endpointLen, 0, 300);
        keyLen = bound(keyLen, 0, 70);
        bool ok = true;
        if (nameLen == 0 || nameLen > 64) {
            vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidName.selector, nameLen));
            ok = false;
        } else if (endpointLen == 0 || endpointLen > 256) {
            vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidEndpoint.selector, endpointLen));
            ok = false;
        } else if (keyLen != 64) {
            vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidPublicKey.selector, keyLen));
            ok = false;
        }
        vm.prank(dave);
        consortium.applyForMembership(_str(nameLen), _str(endpointLen), _bytes(keyLen));
        assertEq(
            uint256(consortium.memberStatus(dave)),
            uint256(ok ? Consortium.MemberStatus.Pending : Consortium.MemberStatus.None)
        );
    }

    function test_updateEndpoint() public {
        vm.roll(3000);
        vm.expectEmit(true, true, true, true);
        emit MemberEndpointUpdated(alice, "https://new.example");
        vm.prank(alice);
        consortium.updateEndpoint("https://new.example");
        Consortium.Member memory m = consortium.getMember(alice);
        assertEq(m.endpoint, "https://new.example");
        assertEq(m.updatedBlock, 3000);
        assertEq(uint256(m.status), uint256(Consortium.MemberStatus.Active));
    }

    function test_updateEndpoint_allowedWhenPendingOrSuspended() public {
        _apply(dave, "Dave");
        vm.prank(dave);
        consortium.updateEndpoint("https://dave2");
        assertEq(consortium.getMember(dave).endpoint, "https://dave2");

        _suspend(alice);
        vm.prank(alice);
        consortium.updateEndpoint("https://alice2");
        assertEq(consortium.getMember(alice).endpoint, "https://alice2");
    }

    function testRevert_updateEndpoint_unknownMember() public {
        vm.expectRevert(abi.encodeWithSelector(Consortium.UnknownMember.selector, dave));
        vm.prank(dave);
        consortium.updateEndpoint("https://x");
    }

    function testRevert_updateEndpoint_removed() public {
        _pass(REMOVE, alice, 0);
        vm.expectRevert(
            abi.encodeWithSelector(Consortium.InvalidMemberStatus.selector, alice, Consortium.MemberStatus.Removed)
        );
        vm.prank(alice);
        consortium.updateEndpoint("https://x");
    }

    function testRevert_updateEndpoint_invalid() public {
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidEndpoint.selector, 0));
        vm.prank(alice);
        consortium.updateEndpoint("");
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidEndpoint.selector, 257));
        vm.prank(alice);
        consortium.updateEndpoint(_str(257));
    }

    function testFuzz_updateEndpoint_length(uint256 len) public {
        len = bound(len, 1, 256);
        string memory ep = _str(len);
        vm.prank(alice);
        consortium.updateEndpoint(ep);
        assertEq(bytes(consortium.getMember(alice).endpoint).length, len);
    }

    function test_rotateKey_activeBecomesPending() public {
        bytes memory key = _key(1234);
        uint256 activeBefore = consortium.activeMemberCount();
        vm.expectEmit(true, true, true, true);
        emit MemberKeyRotated(alice, key, 2);
        vm.expectEmit(true, true, true, true);
        emit MemberStatusChanged(alice, Consortium.MemberStatus.Active, Consortium.MemberStatus.Pending, 0);
        vm.prank(alice);
        consortium.rotateKey(key);
        assertEq(consortium.getMember(alice).publicKey, key);
        assertEq(consortium.getMember(alice).keyVersion, 2);
        assertFalse(consortium.isActive(alice));
        assertEq(consortium.activeMemberCount(), activeBefore - 1);

        // re-approval of the new key version restores the member
        _pass(APPROVE, alice, 2);
        assertTrue(consortium.isActive(alice));
        assertEq(consortium.activeMemberCount(), activeBefore);
    }

    function test_rotateKey_pendingStaysPending() public {
        _apply(dave, "Dave");
        vm.expectEmit(true, true, true, true);
        emit MemberKeyRotated(dave, _key(5), 2);
        vm.recordLogs();
        vm.prank(dave);
        consortium.rotateKey(_key(5));
        assertEq(vm.getRecordedLogs().length, 1, "only MemberKeyRotated");
        assertEq(uint256(consortium.memberStatus(dave)), uint256(Consortium.MemberStatus.Pending));
        assertEq(consortium.getMember(dave).publicKey, _key(5));
        assertEq(consortium.getMember(dave).keyVersion, 2);
    }

    function testRevert_rotateKey_unknownMember() public {
        vm.expectRevert(abi.encodeWithSelector(Consortium.UnknownMember.selector, dave));
        vm.prank(dave);
        consortium.rotateKey(_key(1));
    }

    function testRevert_rotateKey_suspendedOrRemoved() public {
        _suspend(alice);
        vm.expectRevert(
            abi.encodeWithSelector(Consortium.InvalidMemberStatus.selector, alice, Consortium.MemberStatus.Suspended)
        );
        vm.prank(alice);
        consortium.rotateKey(_key(1));

        _pass(REMOVE, bob, 0);
        vm.expectRevert(
            abi.encodeWithSelector(Consortium.InvalidMemberStatus.selector, bob, Consortium.MemberStatus.Removed)
        );
        vm.prank(bob);
        consortium.rotateKey(_key(1));
    }

    function testRevert_rotateKey_badKey() public {
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidPublicKey.selector, 33));
        vm.prank(alice);
        consortium.rotateKey(_bytes(33));
    }

    function testFuzz_rotateKey_onlyExactly64Bytes(uint256 len) public {
        len = bound(len, 0, 200);
        if (len != 64) vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidPublicKey.selector, len));
        vm.prank(alice);
        consortium.rotateKey(_bytes(len));
    }

    function testRevert_getMember_unknown() public {
        vm.expectRevert(abi.encodeWithSelector(Consortium.UnknownMember.selector, dave));
        consortium.getMember(dave);
    }

    function test_views_membership() public view {
        assertTrue(consortium.isActive(alice));
        assertFalse(consortium.isActive(dave));
        assertEq(uint256(consortium.memberStatus(dave)), uint256(Consortium.MemberStatus.None));
        assertEq(consortium.memberCount(), 3);
        assertEq(consortium.activeMemberCount(), 3);
    }

    function test_membersPage() public view {
        Consortium.Member[] memory page = consortium.membersPage(0, 10);
        assertEq(page.length, 3);
        assertEq(page[0].account, alice);
        assertEq(page[1].account, bob);
        assertEq(page[2].account, carol);
        page = consortium.membersPage(1, 1);
        assertEq(page.length, 1);
        assertEq(page[0].account, bob);
        assertEq(consortium.membersPage(3, 10).length, 0);
        assertEq(consortium.membersPage(0, 0).length, 0);
    }

    function testFuzz_membersPage(uint256 extra, uint256 offset, uint256 limit) public {
        extra = bound(extra, 0, 10);
        for (uint256 i = 0; i < extra; i++) {
            _apply(makeAddr(string(abi.encodePacked("m", vm.toString(i)))), "M");
        }
        uint256 total = 3 + extra;
        offset = bound(offset, 0, total + 5);
        Consortium.Member[] memory page = consortium.membersPage(offset, limit);
        uint256 lim = limit > 100 ? 100 : limit;
        uint256 expected = offset >= total ? 0 : (total - offset < lim ? total - offset : lim);
        assertEq(page.length, expected);
        if (expected > 0) assertEq(page[0].account, consortium.membersPage(0, 100)[offset].account);
    }

    // ------------------------------------------------------------ proposals

    function test_propose_createsAndVotes() public {
        _apply(dave, "Dave");
        uint256 expectedId = consortium.proposalCount() + 1;
        vm.roll(5000);
        vm.expectEmit(true, true, true, true);
        emit ProposalCreated(expectedId, APPROVE, dave, 1, admin1);
        vm.expectEmit(true, true, true, true);
        emit ProposalVoted(expectedId, admin1, 1, 2);
        uint256 id = _open(admin1, APPROVE, dave, 1);
        assertEq(id, expectedId);

        Consortium.Proposal memory p = consortium.getProposal(id);
        assertEq(p.id, id);
        assertEq(uint256(p.kind), uint256(APPROVE));
        assertEq(p.target, dave);
        assertEq(p.value, 1, "the key version being approved");
        assertEq(p.proposer, admin1);
        assertEq(uint256(p.status), uint256(Consortium.ProposalStatus.Open));
        assertEq(p.epoch, 0);
        assertEq(p.createdBlock, 5000);
        assertEq(p.closedBlock, 0);
        assertEq(p.approvals, 1);
        assertTrue(consortium.hasVoted(id, admin1));
        assertFalse(consortium.hasVoted(id, admin2));
        assertEq(consortium.openProposalFor(APPROVE, dave, 1), id);
        assertEq(consortium.proposalCount(), expectedId);
    }

    function test_vote_executesApproveMember() public {
        _apply(dave, "Dave");
        uint256 id = _open(admin1, APPROVE, dave, 1);
        vm.roll(6000);
        vm.expectEmit(true, true, true, true);
        emit ProposalVoted(id, admin2, 2, 2);
        vm.expectEmit(true, true, true, true);
        emit ProposalExecuted(id, APPROVE, dave, 1);
        vm.expectEmit(true, true, true, true);
        emit MemberStatusChanged(dave, Consortium.MemberStatus.Pending, Consortium.MemberStatus.Active, id);
        vm.prank(admin2);
        consortium.vote(id);
        Consortium.Proposal memory p = consortium.getProposal(id);
        assertEq(uint256(p.status), uint256(Consortium.ProposalStatus.Executed));
        assertEq(p.closedBlock, 6000);
        assertEq(p.approvals, 2);
        assertTrue(consortium.isActive(dave));
        assertEq(consortium.activeMemberCount(), 4);
        assertEq(consortium.openProposalFor(APPROVE, dave, 1), 0);
        assertEq(consortium.getMember(dave).updatedBlock, 6000);
    }

    function test_propose_thresholdOneExecutesImmediately() public {
        _pass(CHANGE_THRESHOLD, address(0), 1);
        _apply(dave, "Dave");
        vm.expectEmit(true, true, true, true);
        emit ProposalExecuted(consortium.proposalCount() + 1, APPROVE, dave, 1);
        uint256 id = _open(admin3, APPROVE, dave, 1);
        assertEq(uint256(consortium.getProposal(id).status), uint256(Consortium.ProposalStatus.Executed));
        assertTrue(consortium.isActive(dave));
    }

    function test_suspendReinstateRemove() public {
        uint256 id = _open(admin1, SUSPEND, alice, 0);
        assertEq(id, 5);
        vm.expectEmit(true, true, true, true);
        emit MemberStatusChanged(alice, Consortium.MemberStatus.Active, Consortium.MemberStatus.Suspended, 5);
        _voteAs(admin2, id);
        assertEq(consortium.activeMemberCount(), 2);
        assertFalse(consortium.isActive(alice));

        id = _open(admin1, REINSTATE, alice, 0);
        vm.expectEmit(true, true, true, true);
        emit MemberStatusChanged(alice, Consortium.MemberStatus.Suspended, Consortium.MemberStatus.Active, 6);
        _voteAs(admin2, id);
        assertTrue(consortium.isActive(alice));
        assertEq(consortium.activeMemberCount(), 3);

        id = _open(admin1, REMOVE, alice, 0);
        vm.expectEmit(true, true, true, true);
        emit MemberStatusChanged(alice, Consortium.MemberStatus.Active, Consortium.MemberStatus.Removed, 7);
        _voteAs(admin2, id);
        assertEq(uint256(consortium.memberStatus(alice)), uint256(Consortium.MemberStatus.Removed));
        assertEq(consortium.activeMemberCount(), 2);
    }

    function test_removeMember_fromPendingAndSuspended() public {
        _apply(dave, "Dave");
        _pass(REMOVE, dave, 0);
        assertEq(uint256(consortium.memberStatus(dave)), uint256(Consortium.MemberStatus.Removed));
        assertEq(consortium.activeMemberCount(), 3);
        _suspend(bob);
        _pass(REMOVE, bob, 0);
        assertEq(uint256(consortium.memberStatus(bob)), uint256(Consortium.MemberStatus.Removed));
        assertEq(consortium.activeMemberCount(), 2);
    }

    function test_addAdmin_bumpsEpoch() public {
        uint256 id = _open(admin1, ADD_ADMIN, admin4, 0);
        vm.expectEmit(true, true, true, true);
        emit ProposalExecuted(id, ADD_ADMIN, admin4, 0);
        vm.expectEmit(true, true, true, true);
        emit AdminAdded(admin4, id);
        vm.prank(admin2);
        consortium.vote(id);
        assertTrue(consortium.isAdmin(admin4));
        assertEq(consortium.adminCount(), 4);
        assertEq(consortium.admins()[3], admin4);
        assertEq(consortium.adminEpoch(), 1);
    }

    function test_removeAdmin_bumpsEpochAndReordersList() public {
        uint256 rid = _open(admin1, REMOVE_ADMIN, admin1, 0);
        vm.expectEmit(true, true, true, true);
        emit AdminRemoved(admin1, rid);
        _voteAs(admin2, rid);
        assertFalse(consortium.isAdmin(admin1));
        assertEq(consortium.adminCount(), 2);
        address[] memory list = consortium.admins();
        assertEq(list[0], admin3, "last moved into the gap");
        assertEq(list[1], admin2);
        assertEq(consortium.adminEpoch(), 1);

        // the index bookkeeping stays consistent: the moved admin can be removed too
        uint256 t = _open(admin2, CHANGE_THRESHOLD, address(0), 1);
        vm.prank(admin3);
        consortium.vote(t);
        assertEq(consortium.threshold(), 1);
        uint256 id = _open(admin2, REMOVE_ADMIN, admin3, 0);
        assertEq(uint256(consortium.getProposal(id).status), uint256(Consortium.ProposalStatus.Executed));
        list = consortium.admins();
        assertEq(list.length, 1);
        assertEq(list[0], admin2);
    }

    function test_changeThreshold() public {
        uint256 id = _open(admin1, CHANGE_THRESHOLD, address(0), 3);
        vm.expectEmit(true, true, true, true);
        emit ThresholdChanged(2, 3, id);
        vm.prank(admin2);
        consortium.vote(id);
        assertEq(consortium.threshold(), 3);
        assertEq(consortium.adminEpoch(), 1);
    }

    function test_appointAndDismissCertificateAuthority() public {
        uint256 id = _open(admin1, APPOINT_CA, dave, 0);
        vm.expectEmit(true, true, true, true);
        emit CertificateAuthorityAppointed(dave, id);
        _voteAs(admin2, id);
        assertTrue(consortium.isCertificateAuthority(dave));
        address[] memory cas = consortium.certificateAuthorities();
        assertEq(cas.length, 2);
        assertEq(cas[0], ca);
        assertEq(cas[1], dave);

        id = _open(admin1, DISMISS_CA, ca, 0);
        vm.expectEmit(true, true, true, true);
        emit CertificateAuthorityDismissed(ca, id);
        _voteAs(admin2, id);
        assertFalse(consortium.isCertificateAuthority(ca));
        cas = consortium.certificateAuthorities();
        assertEq(cas.length, 1);
        assertEq(cas[0], dave);

        _pass(DISMISS_CA, dave, 0);
        assertEq(consortium.certificateAuthorities().length, 0);
        assertEq(consortium.adminEpoch(), 0, "CA changes do not touch the admin epoch");
    }

    function testRevert_propose_notAdmin() public {
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotAdmin.selector, alice));
        vm.prank(alice);
        consortium.propose(APPOINT_CA, dave, 0);
    }

    function testRevert_propose_changeThresholdWithTarget() public {
        vm.expectRevert(
            abi.encodeWithSelector(Consortium.InvalidProposalValue.selector, CHANGE_THRESHOLD, uint256(uint160(dave)))
        );
        _open(admin1, CHANGE_THRESHOLD, dave, 1);
    }

    function testRevert_propose_changeThresholdOutOfRange() public {
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidThreshold.selector, 0, 3));
        _open(admin1, CHANGE_THRESHOLD, address(0), 0);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidThreshold.selector, 4, 3));
        _open(admin1, CHANGE_THRESHOLD, address(0), 4);
    }

    function testRevert_propose_nonZeroValue() public {
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidProposalValue.selector, ADD_ADMIN, 1));
        _open(admin1, ADD_ADMIN, dave, 1);
        // only ApproveMember carries a key version; the other member kinds still need 0
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidProposalValue.selector, SUSPEND, 1));
        _open(admin1, SUSPEND, alice, 1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidProposalValue.selector, REMOVE, 1));
        _open(admin1, REMOVE, alice, 1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidProposalValue.selector, APPOINT_CA, 1));
        _open(admin1, APPOINT_CA, dave, 1);
    }

    function testRevert_propose_staleMemberKey() public {
        _apply(dave, "Dave");
        vm.expectRevert(abi.encodeWithSelector(Consortium.StaleMemberKey.selector, dave, 0, 1));
        _open(admin1, APPROVE, dave, 0);
        vm.expectRevert(abi.encodeWithSelector(Consortium.StaleMemberKey.selector, dave, 2, 1));
        _open(admin1, APPROVE, dave, 2);
        vm.prank(dave);
        consortium.rotateKey(_key(8));
        vm.expectRevert(abi.encodeWithSelector(Consortium.StaleMemberKey.selector, dave, 1, 2));
        _open(admin1, APPROVE, dave, 1);
    }

    function testRevert_vote_staleMemberKey() public {
        _apply(dave, "Dave");
        uint256 id = _open(admin1, APPROVE, dave, 1);
        vm.prank(dave);
        consortium.rotateKey(_key(8));
        vm.expectRevert(abi.encodeWithSelector(Consortium.StaleMemberKey.selector, dave, 1, 2));
        _voteAs(admin2, id);
        assertEq(uint256(consortium.getProposal(id).status), uint256(Consortium.ProposalStatus.Open));
        assertFalse(consortium.isActive(dave));
    }

    /// @dev A key rotated while an ApproveMember proposal is open: the vote reverts, and a fresh proposal
    /// naming the new key version executes.
    function test_approveMember_bindsToKeyVersion() public {
        _apply(dave, "Dave");
        uint256 stale = _open(admin1, APPROVE, dave, 1);

        bytes memory newKey = _key(8);
        vm.expectEmit(true, true, true, true);
        emit MemberKeyRotated(dave, newKey, 2);
        vm.prank(dave);
        consortium.rotateKey(newKey);

        vm.expectRevert(abi.encodeWithSelector(Consortium.StaleMemberKey.selector, dave, 1, 2));
        _voteAs(admin2, stale);
        assertEq(consortium.openProposalFor(APPROVE, dave, 1), stale, "still open, but can never execute");
        assertEq(consortium.openProposalFor(APPROVE, dave, 2), 0);

        uint256 fresh = _open(admin1, APPROVE, dave, 2);
        assertEq(fresh, stale + 1);
        vm.expectEmit(true, true, true, true);
        emit ProposalExecuted(fresh, APPROVE, dave, 2);
        vm.expectEmit(true, true, true, true);
        emit MemberStatusChanged(dave, Consortium.MemberStatus.Pending, Consortium.MemberStatus.Active, fresh);
        _voteAs(admin2, fresh);
        assertTrue(consortium.isActive(dave));
        assertEq(consortium.getMember(dave).publicKey, newKey);
        assertEq(consortium.getMember(dave).keyVersion, 2);

        // the stale proposal stays dead: dave is active now
        vm.expectRevert(
            abi.encodeWithSelector(Consortium.InvalidMemberStatus.selector, dave, Consortium.MemberStatus.Active)
        );
        _voteAs(admin3, stale);
        vm.prank(admin1);
        consortium.cancel(stale);
    }

    /// @dev An approval opened before a removal cannot approve the key of a re-application.
    function testRevert_vote_staleMemberKeyAfterReapplication() public {
        _apply(dave, "Dave");
        uint256 stale = _open(admin3, APPROVE, dave, 1);
        _pass(REMOVE, dave, 0);
        _apply(dave, "Dave again");
        assertEq(consortium.getMember(dave).keyVersion, 2);
        vm.expectRevert(abi.encodeWithSelector(Consortium.StaleMemberKey.selector, dave, 1, 2));
        _voteAs(admin2, stale);
        _pass(APPROVE, dave, 2);
        assertTrue(consortium.isActive(dave));
    }

    function test_keyVersion_countsApplicationsAndRotations() public {
        assertEq(consortium.getMember(alice).keyVersion, 1);
        _apply(dave, "Dave");
        assertEq(consortium.getMember(dave).keyVersion, 1);
        vm.prank(dave);
        consortium.rotateKey(_key(1));
        assertEq(consortium.getMember(dave).keyVersion, 2);
        _pass(APPROVE, dave, 2);
        vm.prank(dave);
        consortium.rotateKey(_key(2));
        assertEq(consortium.getMember(dave).keyVersion, 3);
        _pass(REMOVE, dave, 0);
        assertEq(consortium.getMember(dave).keyVersion, 3, "status changes keep the version");
        _apply(dave, "Dave");
        assertEq(consortium.getMember(dave).keyVersion, 4);
        vm.prank(dave);
        consortium.updateEndpoint("https://dave2");
        assertEq(consortium.getMember(dave).keyVersion, 4, "an endpoint move keeps the version");
    }

    function testFuzz_approveMember_onlyCurrentKeyVersion(uint8 rotations, uint256 value) public {
        rotations = uint8(bound(rotations, 0, 5));
        _apply(dave, "Dave");
        for (uint256 i = 0; i < rotations; i++) {
            vm.prank(dave);
            consortium.rotateKey(_key(i));
        }
        uint256 current = 1 + uint256(rotations);
        if (value % 2 == 0) value = current; // hit the valid case often
        if (value != current) {
            vm.expectRevert(abi.encodeWithSelector(Consortium.StaleMemberKey.selector, dave, value, current));
            _open(admin1, APPROVE, dave, value);
            assertFalse(consortium.isActive(dave));
            return;
        }
        _pass(APPROVE, dave, value);
        assertTrue(consortium.isActive(dave));
    }

    function testRevert_propose_zeroTarget() public {
        vm.expectRevert(ZeroAddress.selector);
        _open(admin1, APPROVE, address(0), 0);
    }

    function testRevert_propose_alreadyAdmin() public {
        vm.expectRevert(abi.encodeWithSelector(Consortium.AlreadyAdmin.selector, admin2));
        _open(admin1, ADD_ADMIN, admin2, 0);
    }

    function testRevert_propose_removeNonAdmin() public {
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotAdmin.selector, dave));
        _open(admin1, REMOVE_ADMIN, dave, 0);
    }

    function testRevert_propose_removeAdminBelowThreshold() public {
        _pass(CHANGE_THRESHOLD, address(0), 3);
        vm.expectRevert(abi.encodeWithSelector(Consortium.AdminCountBelowThreshold.selector, 2, 3));
        _open(admin1, REMOVE_ADMIN, admin3, 0);
    }

    function testRevert_propose_alreadyCertificateAuthority() public {
        vm.expectRevert(abi.encodeWithSelector(Consortium.AlreadyCertificateAuthority.selector, ca));
        _open(admin1, APPOINT_CA, ca, 0);
    }

    function testRevert_propose_notCertificateAuthority() public {
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotCertificateAuthority.selector, dave));
        _open(admin1, DISMISS_CA, dave, 0);
    }

    function testRevert_propose_unknownMember() public {
        vm.expectRevert(abi.encodeWithSelector(Consortium.UnknownMember.selector, dave));
        _open(admin1, SUSPEND, dave, 0);
    }

    function testRevert_propose_invalidMemberStatus() public {
        vm.expectRevert(
            abi.encodeWithSelector(Consortium.InvalidMemberStatus.selector, alice, Consortium.MemberStatus.Active)
        );
        _open(admin1, APPROVE, alice, 1);
        vm.expectRevert(
            abi.encodeWithSelector(Consortium.InvalidMemberStatus.selector, alice, Consortium.MemberStatus.Active)
        );
        _open(admin1, REINSTATE, alice, 0);
        _apply(dave, "Dave");
        vm.expectRevert(
            abi.encodeWithSelector(Consortium.InvalidMemberStatus.selector, dave, Consortium.MemberStatus.Pending)
        );
        _open(admin1, SUSPEND, dave, 0);
        _pass(REMOVE, dave, 0);
        vm.expectRevert(
            abi.encodeWithSelector(Consortium.InvalidMemberStatus.selector, dave, Consortium.MemberStatus.Removed)
        );
        _open(admin1, REMOVE, dave, 0);
    }

    function testRevert_propose_alreadyOpen() public {
        uint256 id = _open(admin1, APPOINT_CA, dave, 0);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ProposalAlreadyOpen.selector, id));
        _open(admin2, APPOINT_CA, dave, 0);
    }

    function test_propose_againAfterCancelOrStale() public {
        uint256 id = _open(admin1, APPOINT_CA, dave, 0);
        vm.prank(admin1);
        consortium.cancel(id);
        uint256 id2 = _open(admin2, APPOINT_CA, dave, 0);
        assertEq(id2, id + 1);
        assertEq(consortium.openProposalFor(APPOINT_CA, dave, 0), id2);

        _pass(ADD_ADMIN, admin4, 0); // epoch bump makes id2 stale
        assertEq(consortium.openProposalFor(APPOINT_CA, dave, 0), 0);
        uint256 id3 = _open(admin3, APPOINT_CA, dave, 0);
        assertEq(consortium.openProposalFor(APPOINT_CA, dave, 0), id3);
    }

    function testRevert_vote_notAdmin() public {
        uint256 id = _open(admin1, APPOINT_CA, dave, 0);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotAdmin.selector, outsider));
        vm.prank(outsider);
        consortium.vote(id);
    }

    function testRevert_vote_unknownProposal() public {
        vm.expectRevert(abi.encodeWithSelector(Consortium.UnknownProposal.selector, 0));
        vm.prank(admin1);
        consortium.vote(0);
        vm.expectRevert(abi.encodeWithSelector(Consortium.UnknownProposal.selector, 99));
        vm.prank(admin1);
        consortium.vote(99);
    }

    function testRevert_vote_notOpen() public {
        uint256 executed = _appointCa(dave);
        vm.expectRevert(
            abi.encodeWithSelector(Consortium.ProposalNotOpen.selector, executed, Consortium.ProposalStatus.Executed)
        );
        vm.prank(admin3);
        consortium.vote(executed);

        uint256 cancelled = _open(admin1, APPOINT_CA, admin4, 0);
        vm.prank(admin1);
        consortium.cancel(cancelled);
        vm.expectRevert(
            abi.encodeWithSelector(Consortium.ProposalNotOpen.selector, cancelled, Consortium.ProposalStatus.Cancelled)
        );
        vm.prank(admin2);
        consortium.vote(cancelled);
    }

    function testRevert_vote_stale() public {
        uint256 id = _open(admin1, APPOINT_CA, dave, 0);
        _pass(ADD_ADMIN, admin4, 0);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ProposalStale.selector, id, 0, 1));
        vm.prank(admin2);
        consortium.vote(id);
    }

    function testRevert_vote_alreadyVoted() public {
        uint256 id = _open(admin1, APPOINT_CA, dave, 0);
        vm.expectRevert(abi.encodeWithSelector(Consortium.AlreadyVoted.selector, id, admin1));
        vm.prank(admin1);
        consortium.vote(id);
    }

    function testRevert_vote_executionRecheck() public {
        // a suspend proposal that became invalid because the member was removed meanwhile
        uint256 id = _open(admin3, SUSPEND, alice, 0);
        _pass(REMOVE, alice, 0);
        vm.expectRevert(
            abi.encodeWithSelector(Consortium.InvalidMemberStatus.selector, alice, Consortium.MemberStatus.Removed)
        );
        vm.prank(admin2);
        consortium.vote(id);
        assertEq(uint256(consortium.getProposal(id).status), uint256(Consortium.ProposalStatus.Open));
    }

    function test_cancel() public {
        uint256 id = _open(admin1, APPOINT_CA, dave, 0);
        vm.roll(7000);
        vm.expectEmit(true, true, true, true);
        emit ProposalCancelled(id, admin1);
        vm.prank(admin1);
        consortium.cancel(id);
        Consortium.Proposal memory p = consortium.getProposal(id);
        assertEq(uint256(p.status), uint256(Consortium.ProposalStatus.Cancelled));
        assertEq(p.closedBlock, 7000);
        assertEq(consortium.openProposalFor(APPOINT_CA, dave, 0), 0);
    }

    function test_cancel_staleProposal() public {
        uint256 id = _open(admin3, APPOINT_CA, dave, 0);
        _pass(ADD_ADMIN, admin4, 0);
        vm.prank(admin3);
        consortium.cancel(id);
        assertEq(uint256(consortium.getProposal(id).status), uint256(Consortium.ProposalStatus.Cancelled));
    }

    function testRevert_cancel_notAdmin() public {
        uint256 id = _open(admin1, APPOINT_CA, dave, 0);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotAdmin.selector, alice));
        vm.prank(alice);
        consortium.cancel(id);
    }

    function testRevert_cancel_unknown() public {
        vm.expectRevert(abi.encodeWithSelector(Consortium.UnknownProposal.selector, 0));
        vm.prank(admin1);
        consortium.cancel(0);
        vm.expectRevert(abi.encodeWithSelector(Consortium.UnknownProposal.selector, 50));
        vm.prank(admin1);
        consortium.cancel(50);
    }

    function testRevert_cancel_notOpen() public {
        uint256 id = _appointCa(dave);
        vm.expectRevert(
            abi.encodeWithSelector(Consortium.ProposalNotOpen.selector, id, Consortium.ProposalStatus.Executed)
        );
        vm.prank(admin1);
        consortium.cancel(id);
    }

    function testRevert_cancel_notProposer() public {
        uint256 id = _open(admin1, APPOINT_CA, dave, 0);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotProposer.selector, id, admin2));
        vm.prank(admin2);
        consortium.cancel(id);
    }

    function testRevert_getProposal_unknown() public {
        vm.expectRevert(abi.encodeWithSelector(Consortium.UnknownProposal.selector, 0));
        consortium.getProposal(0);
        vm.expectRevert(abi.encodeWithSelector(Consortium.UnknownProposal.selector, 5));
        consortium.getProposal(5);
    }

    function test_proposalsPage() public view {
        Consortium.Proposal[] memory page = consortium.proposalsPage(0, 100);
        assertEq(page.length, 4);
        for (uint256 i = 0; i < 4; i++) {
            assertEq(page[i].id, i + 1);
        }
        page = consortium.proposalsPage(2, 1);
        assertEq(page.length, 1);
        assertEq(page[0].id, 3);
        assertEq(consortium.proposalsPage(4, 1).length, 0);
        assertEq(consortium.proposalsPage(type(uint256).max, type(uint256).max).length, 0);
    }

    function testFuzz_proposalsPage(uint256 offset, uint256 limit) public view {
        uint256 total = consortium.proposalCount();
        offset = bound(offset, 0, total + 3);
        Consortium.Proposal[] memory page = consortium.proposalsPage(offset, limit);
        uint256 lim = limit > 100 ? 100 : limit;
        uint256 expected = offset >= total ? 0 : (total - offset < lim ? total - offset : lim);
        assertEq(page.length, expected);
        for (uint256 i = 0; i < page.length; i++) {
            assertEq(page[i].id, offset + i + 1);
        }
    }

    function test_openProposalFor_unknownIsZero() public view {
        assertEq(consortium.openProposalFor(APPOINT_CA, dave, 0), 0);
    }

    // -------------------------------------------------------- fuzz: admin sets

    /// @dev With n admins and threshold t, a proposal executes exactly on the t-th vote.
    function testFuzz_proposal_executesAtThreshold(uint256 n, uint256 t) public {
        n = bound(n, 1, 12);
        t = bound(t, 1, n);
        address[] memory list = _admins(n);
        Consortium c = new Consortium(list, t);
        for (uint256 i = 0; i < t; i++) {
            vm.prank(list[i]);
            if (i == 0) c.propose(APPOINT_CA, dave, 0);
            else c.vote(1);
            Consortium.ProposalStatus expected =
                i + 1 == t ? Consortium.ProposalStatus.Executed : Consortium.ProposalStatus.Open;
            assertEq(uint256(c.getProposal(1).status), uint256(expected));
        }
        assertTrue(c.isCertificateAuthority(dave));
        assertEq(c.getProposal(1).approvals, t);
    }

    /// @dev Removing admins one by one never takes the count below the threshold.
    function testFuzz_removeAdmin_respectsThreshold(uint256 n, uint256 t) public {
        n = bound(n, 1, 10);
        t = bound(t, 1, n);
        address[] memory list = _admins(n);
        Consortium c = new Consortium(list, t);
        // everyone from the end votes to remove list[0] .. while possible
        for (uint256 r = 0; r < n; r++) {
            address target = list[r];
            if (c.adminCount() - 1 < t) {
                vm.expectRevert(
                    abi.encodeWithSelector(Consortium.AdminCountBelowThreshold.selector, c.adminCount() - 1, t)
                );
                vm.prank(list[n - 1]);
                c.propose(REMOVE_ADMIN, target, 0);
                break;
            }
            vm.prank(list[n - 1]);
            uint256 id = c.propose(REMOVE_ADMIN, target, 0);
            for (uint256 v = 0; c.getProposal(id).status == Consortium.ProposalStatus.Open; v++) {
                address voter = list[n - 2 - v];
                vm.prank(voter);
                c.vote(id);
            }
            assertFalse(c.isAdmin(target));
            assertGe(c.adminCount(), c.threshold());
        }
        assertEq(c.adminCount(), t);
    }

    function testFuzz_changeThreshold(uint256 value) public {
        value = bound(value, 0, 10);
        if (value == 0 || value > 3) {
            vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidThreshold.selector, value, 3));
            _open(admin1, CHANGE_THRESHOLD, address(0), value);
            return;
        }
        // the current threshold (2) decides, not the new value
        _pass(CHANGE_THRESHOLD, address(0), value);
        assertEq(consortium.threshold(), value);
        assertEq(consortium.adminEpoch(), 1);
    }

    function testFuzz_propose_nonAdminReverts(address caller) public {
        vm.assume(!consortium.isAdmin(caller));
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotAdmin.selector, caller));
        vm.prank(caller);
        consortium.propose(APPOINT_CA, dave, 0);
    }

    function testFuzz_stalenessAfterAdminChange(uint8 kindSeed) public {
        uint256 id = _open(admin3, APPOINT_CA, dave, 0);
        uint256 k = bound(kindSeed, 0, 2);
        if (k == 0) _pass(ADD_ADMIN, admin4, 0);
        else if (k == 1) _pass(REMOVE_ADMIN, admin3, 0);
        else _pass(CHANGE_THRESHOLD, address(0), 3);
        assertEq(consortium.adminEpoch(), 1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ProposalStale.selector, id, 0, 1));
        vm.prank(admin2);
        consortium.vote(id);
    }

    function test_notActiveMemberErrorIsShared() public pure {
        // file-level error exported by Consortium.sol and used by the registries
        assertEq(NotActiveMember.selector, bytes4(keccak256("NotActiveMember(address)")));
    }
}
