// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.11;

import {Base, ConsortiumEvents} from "./Base.t.sol";
import {Vm} from "./utils/ForgeStd.sol";
import {Consortium, NotActiveMember, ZeroAddress} from "../src/Consortium.sol";

contract ConsortiumTest is Base, ConsortiumEvents {
    address internal dave = makeAddr("dave");
    address internal admin4 = makeAddr("admin4");
    address internal op1 = makeAddr("op1");
    address internal op2 = makeAddr("op2");
    address internal op3 = makeAddr("op3");

    Consortium.ProposalKind internal constant APPROVE = Consortium.ProposalKind.ApproveMember;
    Consortium.ProposalKind internal constant SUSPEND = Consortium.ProposalKind.SuspendMember;
    Consortium.ProposalKind internal constant REINSTATE = Consortium.ProposalKind.ReinstateMember;
    Consortium.ProposalKind internal constant REMOVE = Consortium.ProposalKind.RemoveMember;
    Consortium.ProposalKind internal constant ADD_ADMIN = Consortium.ProposalKind.AddAdmin;
    Consortium.ProposalKind internal constant REMOVE_ADMIN = Consortium.ProposalKind.RemoveAdmin;
    Consortium.ProposalKind internal constant CHANGE_THRESHOLD = Consortium.ProposalKind.ChangeThreshold;
    Consortium.ProposalKind internal constant APPOINT_CA = Consortium.ProposalKind.AppointCertificateAuthority;
    Consortium.ProposalKind internal constant DISMISS_CA = Consortium.ProposalKind.DismissCertificateAuthority;
    Consortium.ProposalKind internal constant SET_APPROVAL = Consortium.ProposalKind.SetMaxApprovalBlocks;
    Consortium.ProposalKind internal constant SET_RUN = Consortium.ProposalKind.SetMaxRunBlocks;

    Consortium.MemberStatus internal constant NONE = Consortium.MemberStatus.None;
    Consortium.MemberStatus internal constant PENDING = Consortium.MemberStatus.Pending;
    Consortium.MemberStatus internal constant ACTIVE = Consortium.MemberStatus.Active;
    Consortium.MemberStatus internal constant SUSPENDED = Consortium.MemberStatus.Suspended;
    Consortium.MemberStatus internal constant REMOVED = Consortium.MemberStatus.Removed;
    Consortium.MemberStatus internal constant WITHDRAWN = Consortium.MemberStatus.Withdrawn;

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

    function _rotate(address account, uint256 seed) internal {
        vm.prank(account);
        consortium.rotateKey(_key(seed));
    }

    function _withdraw(address account) internal {
        vm.prank(account);
        consortium.withdrawApplication();
    }

    function _setOperator(address member, address operator) internal {
        vm.prank(member);
        consortium.setOperator(operator);
    }

    function _accept(address operator, address member) internal {
        vm.prank(operator);
        consortium.acceptOperator(member);
    }

    function _resign(address operator) internal {
        vm.prank(operator);
        consortium.resignOperator();
    }

    function _assertStatus(address account, Consortium.MemberStatus expected) internal view {
        assertEq(uint256(consortium.memberStatus(account)), uint256(expected));
    }

    function _statusError(address account, Consortium.MemberStatus s) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(Consortium.InvalidMemberStatus.selector, account, s);
    }

    function _staleMembership(address account, uint256 proposed, uint256 current) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(Consortium.StaleMembership.selector, account, proposed, current);
    }

    function _unrecoverable(uint256 t, uint256 n) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(Consortium.UnrecoverableThreshold.selector, t, n);
    }

    /// @dev Removes `account` and admits it again (re-application + approval): a new membership instance.
    function _readmit(address account) internal {
        _remove(account);
        _apply(account, "again");
        _approve(account);
    }

    // ------------------------------------------------------------ constructor

    function test_constructor_setsAdminsThresholdAndWindows() public view {
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
        assertEq(consortium.DEFAULT_MAX_APPROVAL_BLOCKS(), 201_600);
        assertEq(consortium.DEFAULT_MAX_RUN_BLOCKS(), 201_600);
        assertEq(consortium.MAX_WINDOW_BLOCKS(), 100_000_000);
        assertEq(consortium.maxApprovalBlocks(), consortium.DEFAULT_MAX_APPROVAL_BLOCKS());
        assertEq(consortium.maxRunBlocks(), consortium.DEFAULT_MAX_RUN_BLOCKS());
    }

    function test_constructor_emitsAdminsThresholdAndWindows() public {
        address[] memory list = _admins(2);
        vm.expectEmit(true, true, true, true);
        emit AdminAdded(list[0], 0);
        vm.expectEmit(true, true, true, true);
        emit AdminAdded(list[1], 0);
        vm.expectEmit(true, true, true, true);
        emit ThresholdChanged(0, 1, 0);
        vm.expectEmit(true, true, true, true);
        emit JobWindowChanged(0, 0, 201_600, 0);
        vm.expectEmit(true, true, true, true);
        emit JobWindowChanged(1, 0, 201_600, 0);
        Consortium c = new Consortium(list, 1);
        assertEq(c.threshold(), 1);
        assertEq(c.maxApprovalBlocks(), 201_600);
        assertEq(c.maxRunBlocks(), 201_600);
    }

    /// @dev A single admin with threshold 1 (development chain) is accepted at deployment only: admins can
    /// be added, but the set can never shrink back to one.
    function test_constructor_singleAdminDevChain() public {
        address[] memory list = _admins(1);
        Consortium c = new Consortium(list, 1);
        assertEq(c.adminCount(), 1);
        assertEq(c.threshold(), 1);

        vm.prank(list[0]);
        uint256 id = c.propose(ADD_ADMIN, admin4, 0);
        assertEq(uint256(c.getProposal(id).status), uint256(Consortium.ProposalStatus.Executed), "1 of 1 decides");
        assertTrue(c.isAdmin(admin4));
        assertEq(c.adminCount(), 2);

        vm.expectRevert(_unrecoverable(1, 1));
        vm.prank(list[0]);
        c.propose(REMOVE_ADMIN, admin4, 0);
        vm.expectRevert(_unrecoverable(1, 1));
        vm.prank(admin4);
        c.propose(REMOVE_ADMIN, list[0], 0);
        vm.expectRevert(_unrecoverable(2, 2));
        vm.prank(admin4);
        c.propose(CHANGE_THRESHOLD, address(0), 2);
    }

    function testRevert_constructor_unrecoverableThreshold() public {
        vm.expectRevert(_unrecoverable(2, 2));
        new Consortium(_admins(2), 2);
        vm.expectRevert(_unrecoverable(3, 3));
        new Consortium(_admins(3), 3);
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

    /// @dev The deployment rule over (admins, threshold): 1 <= t <= n, and t < n unless n == 1.
    function testFuzz_constructor_thresholdRule(uint256 n, uint256 t) public {
        n = bound(n, 0, 12);
        t = bound(t, 0, 14);
        address[] memory list = _admins(n);
        if (t == 0 || t > n) {
            vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidThreshold.selector, t, n));
            new Consortium(list, t);
            return;
        }
        if (n > 1 && t >= n) {
            vm.expectRevert(_unrecoverable(t, n));
            new Consortium(list, t);
            return;
        }
        Consortium c = new Consortium(list, t);
        assertEq(c.adminCount(), n);
        assertEq(c.threshold(), t);
        assertEq(c.admins().length, n);
        assertTrue(t < n || n == 1);
    }

    // ---------------------------------------------------------- membership

    function test_applyForMembership_storesPendingMember() public {
        vm.roll(2000);
        bytes memory key = _key(7);
        vm.expectEmit(true, true, true, true);
        emit MemberApplied(dave, "Dave Bank", "https://gw.dave:7443", key, 1);
        vm.expectEmit(true, true, true, true);
        emit MemberStatusChanged(dave, NONE, PENDING, 0);
        vm.prank(dave);
        consortium.applyForMembership("Dave Bank", "https://gw.dave:7443", key);

        Consortium.Member memory m = consortium.getMember(dave);
        assertEq(m.account, dave);
        assertEq(m.name, "Dave Bank");
        assertEq(m.endpoint, "https://gw.dave:7443");
        assertEq(m.publicKey, key);
        assertEq(m.keyVersion, 1);
        assertEq(m.approvedKeyVersion, 0, "never approved");
        assertEq(m.instance, 1, "first membership instance");
        assertEq(uint256(m.status), uint256(PENDING));
        assertEq(m.appliedBlock, 2000);
        assertEq(m.updatedBlock, 2000);
        assertEq(consortium.memberCount(), 4);
        assertFalse(consortium.isActive(dave));
        _assertStatus(dave, PENDING);
        assertEq(consortium.keyVersionOf(dave), 1);
    }

    function test_approveMember_recordsApprovedKeyVersion() public view {
        Consortium.Member memory m = consortium.getMember(alice);
        assertEq(m.keyVersion, 1);
        assertEq(m.approvedKeyVersion, 1);
        assertEq(m.instance, 1);
    }

    function test_applyForMembership_reapplyAfterRemoval() public {
        _remove(alice);
        _assertStatus(alice, REMOVED);
        assertEq(consortium.activeMemberCount(), 2);
        bytes memory key = _key(99);
        vm.expectEmit(true, true, true, true);
        emit MemberApplied(alice, "Bank A2", "https://a2", key, 2);
        vm.expectEmit(true, true, true, true);
        emit MemberStatusChanged(alice, REMOVED, PENDING, 0);
        vm.prank(alice);
        consortium.applyForMembership("Bank A2", "https://a2", key);
        Consortium.Member memory m = consortium.getMember(alice);
        assertEq(consortium.memberCount(), 3, "no duplicate list entry");
        assertEq(m.name, "Bank A2");
        assertEq(m.publicKey, key);
        assertEq(m.keyVersion, 2, "the key version keeps counting");
        assertEq(m.instance, 2, "a new membership instance");
        assertEq(m.approvedKeyVersion, 0, "the old approval does not carry over");
    }

    /// @dev An account has at most one open application: Pending (also after a rotation), Active and
    /// Suspended accounts cannot apply again.
    function testRevert_applyForMembership_alreadyApplied() public {
        _apply(dave, "Dave");
        vm.expectRevert(abi.encodeWithSelector(Consortium.AlreadyApplied.selector, dave, PENDING));
        _apply(dave, "Dave");
        _rotate(dave, 1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.AlreadyApplied.selector, dave, PENDING));
        _apply(dave, "Dave");
        assertEq(consortium.getMember(dave).instance, 1, "still one application");

        vm.expectRevert(abi.encodeWithSelector(Consortium.AlreadyApplied.selector, alice, ACTIVE));
        _apply(alice, "Bank A");

        _suspend(alice);
        vm.expectRevert(abi.encodeWithSelector(Consortium.AlreadyApplied.selector, alice, SUSPENDED));
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
        _assertStatus(dave, ok ? PENDING : NONE);
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
        assertEq(uint256(m.status), uint256(ACTIVE));
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
        _remove(alice);
        vm.expectRevert(_statusError(alice, REMOVED));
        vm.prank(alice);
        consortium.updateEndpoint("https://x");
    }

    function testRevert_updateEndpoint_withdrawn() public {
        _apply(dave, "Dave");
        _withdraw(dave);
        vm.expectRevert(_statusError(dave, WITHDRAWN));
        vm.prank(dave);
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

    // ------------------------------------------------------------ withdrawal

    function test_withdrawApplication() public {
        _apply(dave, "Dave");
        vm.roll(2500);
        vm.expectEmit(true, true, true, true);
        emit MemberStatusChanged(dave, PENDING, WITHDRAWN, 0);
        _withdraw(dave);
        Consortium.Member memory m = consortium.getMember(dave);
        assertEq(uint256(m.status), uint256(WITHDRAWN));
        assertEq(m.updatedBlock, 2500);
        assertEq(m.instance, 1);
        assertEq(m.keyVersion, 1);
        assertFalse(consortium.isActive(dave));
        assertEq(consortium.activeMemberCount(), 3);
        assertEq(consortium.memberCount(), 4, "the record stays");
    }

    /// @dev A fresh applicant that rotated its key (never approved) may still withdraw.
    function test_withdrawApplication_afterRotationBeforeApproval() public {
        _apply(dave, "Dave");
        _rotate(dave, 3);
        _withdraw(dave);
        _assertStatus(dave, WITHDRAWN);
    }

    function test_withdrawApplication_thenApplyAgain() public {
        _apply(dave, "Dave");
        _withdraw(dave);
        bytes memory key = _key(42);
        vm.expectEmit(true, true, true, true);
        emit MemberApplied(dave, "Dave 2", "https://d2", key, 2);
        vm.expectEmit(true, true, true, true);
        emit MemberStatusChanged(dave, WITHDRAWN, PENDING, 0);
        vm.prank(dave);
        consortium.applyForMembership("Dave 2", "https://d2", key);
        Consortium.Member memory m = consortium.getMember(dave);
        assertEq(m.keyVersion, 2, "the key version goes up");
        assertEq(m.instance, 2, "the instance goes up");
        assertEq(m.approvedKeyVersion, 0);
        assertEq(m.name, "Dave 2");
        assertEq(consortium.memberCount(), 4, "no duplicate list entry");
        _approve(dave);
        assertTrue(consortium.isActive(dave));
        assertEq(consortium.getMember(dave).approvedKeyVersion, 2);
    }

    /// @dev An approval opened for an application that was withdrawn cannot execute, neither while
    /// withdrawn nor after the account applied again with a new key.
    function test_withdrawApplication_voidsOpenApproval() public {
        _apply(dave, "Dave");
        uint256 id = _open(admin1, APPROVE, dave, 1);
        _withdraw(dave);
        vm.expectRevert(_statusError(dave, WITHDRAWN));
        _voteAs(admin2, id);
        _apply(dave, "Dave");
        vm.expectRevert(abi.encodeWithSelector(Consortium.StaleMemberKey.selector, dave, 1, 2));
        _voteAs(admin2, id);
        assertFalse(consortium.isActive(dave));
    }

    function testRevert_withdrawApplication_unknownMember() public {
        vm.expectRevert(abi.encodeWithSelector(Consortium.UnknownMember.selector, dave));
        _withdraw(dave);
    }

    /// @dev Only a fresh applicant withdraws: not an active member, not a member whose rotated key awaits
    /// re-approval (that would dodge a suspension), not a suspended, removed or withdrawn one.
    function testRevert_withdrawApplication_notFreshApplicant() public {
        vm.expectRevert(_statusError(alice, ACTIVE));
        _withdraw(alice);

        _rotate(alice, 5);
        vm.expectRevert(_statusError(alice, PENDING));
        _withdraw(alice);

        _suspend(bob);
        vm.expectRevert(_statusError(bob, SUSPENDED));
        _withdraw(bob);

        _remove(carol);
        vm.expectRevert(_statusError(carol, REMOVED));
        _withdraw(carol);

        _apply(dave, "Dave");
        _withdraw(dave);
        vm.expectRevert(_statusError(dave, WITHDRAWN));
        _withdraw(dave);
    }

    function testRevert_propose_withdrawnMember() public {
        _apply(dave, "Dave");
        _withdraw(dave);
        vm.expectRevert(_statusError(dave, WITHDRAWN));
        _open(admin1, REMOVE, dave, 1);
        vm.expectRevert(_statusError(dave, WITHDRAWN));
        _open(admin1, SUSPEND, dave, 1);
        vm.expectRevert(_statusError(dave, WITHDRAWN));
        _open(admin1, REINSTATE, dave, 1);
        vm.expectRevert(_statusError(dave, WITHDRAWN));
        _open(admin1, APPROVE, dave, 1);
    }

    // ------------------------------------------------------------- key rotation

    function test_rotateKey_activeBecomesPending() public {
        bytes memory key = _key(1234);
        uint256 activeBefore = consortium.activeMemberCount();
        vm.expectEmit(true, true, true, true);
        emit MemberKeyRotated(alice, key, 2);
        vm.expectEmit(true, true, true, true);
        emit MemberStatusChanged(alice, ACTIVE, PENDING, 0);
        vm.prank(alice);
        consortium.rotateKey(key);
        Consortium.Member memory m = consortium.getMember(alice);
        assertEq(m.publicKey, key);
        assertEq(m.keyVersion, 2);
        assertEq(m.approvedKeyVersion, 1, "the old approval is remembered");
        assertEq(m.instance, 1, "a rotation is not a new membership");
        assertFalse(consortium.isActive(alice));
        assertEq(consortium.activeMemberCount(), activeBefore - 1);

        // re-approval of the new key version restores the member
        _pass(APPROVE, alice, 2);
        assertTrue(consortium.isActive(alice));
        assertEq(consortium.activeMemberCount(), activeBefore);
        assertEq(consortium.getMember(alice).approvedKeyVersion, 2);
    }

    function test_rotateKey_pendingStaysPending() public {
        _apply(dave, "Dave");
        vm.expectEmit(true, true, true, true);
        emit MemberKeyRotated(dave, _key(5), 2);
        vm.recordLogs();
        _rotate(dave, 5);
        assertEq(vm.getRecordedLogs().length, 1, "only MemberKeyRotated");
        _assertStatus(dave, PENDING);
        assertEq(consortium.getMember(dave).publicKey, _key(5));
        assertEq(consortium.getMember(dave).keyVersion, 2);
        assertEq(consortium.getMember(dave).approvedKeyVersion, 0);
    }

    function testRevert_rotateKey_unknownMember() public {
        vm.expectRevert(abi.encodeWithSelector(Consortium.UnknownMember.selector, dave));
        _rotate(dave, 1);
    }

    function testRevert_rotateKey_suspendedRemovedOrWithdrawn() public {
        _suspend(alice);
        vm.expectRevert(_statusError(alice, SUSPENDED));
        _rotate(alice, 1);

        _remove(bob);
        vm.expectRevert(_statusError(bob, REMOVED));
        _rotate(bob, 1);

        _apply(dave, "Dave");
        _withdraw(dave);
        vm.expectRevert(_statusError(dave, WITHDRAWN));
        _rotate(dave, 1);
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
        assertEq(consortium.isActive(alice), len != 64);
    }

    function test_keyVersionOf() public {
        assertEq(consortium.keyVersionOf(dave), 0, "never applied");
        assertEq(consortium.keyVersionOf(alice), 1);
        _rotate(alice, 1);
        assertEq(consortium.keyVersionOf(alice), 2);
        _remove(alice);
        assertEq(consortium.keyVersionOf(alice), 2);
        _apply(alice, "A");
        assertEq(consortium.keyVersionOf(alice), 3);
        assertEq(consortium.keyVersionOf(alice), consortium.getMember(alice).keyVersion);
    }

    function test_keyVersion_countsApplicationsAndRotations() public {
        assertEq(consortium.getMember(alice).keyVersion, 1);
        _apply(dave, "Dave");
        assertEq(consortium.getMember(dave).keyVersion, 1);
        _rotate(dave, 1);
        assertEq(consortium.getMember(dave).keyVersion, 2);
        _pass(APPROVE, dave, 2);
        _rotate(dave, 2);
        assertEq(consortium.getMember(dave).keyVersion, 3);
        _remove(dave);
        assertEq(consortium.getMember(dave).keyVersion, 3, "status changes keep the version");
        _apply(dave, "Dave");
        assertEq(consortium.getMember(dave).keyVersion, 4);
        vm.prank(dave);
        consortium.updateEndpoint("https://dave2");
        assertEq(consortium.getMember(dave).keyVersion, 4, "an endpoint move keeps the version");
        _withdraw(dave);
        _apply(dave, "Dave");
        assertEq(consortium.getMember(dave).keyVersion, 5);
        assertEq(consortium.getMember(dave).instance, 3, "three applications");
    }

    // ------------------------------------------------ rotation vs. suspension

    /// @dev Attack: a member learns of a suspension vote (1 of 2) and rotates its key to leave Active. The
    /// deciding vote still suspends it; reinstatement does not activate the unapproved key; the new key
    /// needs its own approval.
    function test_rotateKey_cannotDodgeSuspension() public {
        uint256 id = _open(admin1, SUSPEND, alice, 1);
        _rotate(alice, 77);
        _assertStatus(alice, PENDING);
        assertEq(consortium.activeMemberCount(), 2);

        vm.expectEmit(true, true, true, true);
        emit MemberStatusChanged(alice, PENDING, SUSPENDED, id);
        _voteAs(admin2, id);
        _assertStatus(alice, SUSPENDED);
        assertEq(consortium.activeMemberCount(), 2, "the rotation already took alice out of the count");

        // suspended: no rotation, no withdrawal, no approval of the new key
        vm.expectRevert(_statusError(alice, SUSPENDED));
        _rotate(alice, 78);
        vm.expectRevert(_statusError(alice, SUSPENDED));
        _withdraw(alice);
        vm.expectRevert(_statusError(alice, SUSPENDED));
        _open(admin1, APPROVE, alice, 2);

        uint256 rid = _open(admin1, REINSTATE, alice, 1);
        vm.expectEmit(true, true, true, true);
        emit MemberStatusChanged(alice, SUSPENDED, PENDING, rid);
        _voteAs(admin2, rid);
        _assertStatus(alice, PENDING);
        assertFalse(consortium.isActive(alice), "the unapproved key is not activated");
        assertEq(consortium.activeMemberCount(), 2);

        _pass(APPROVE, alice, 2);
        assertTrue(consortium.isActive(alice));
        assertEq(consortium.getMember(alice).approvedKeyVersion, 2);
        assertEq(consortium.activeMemberCount(), 3);
    }

    /// @dev Same attack with several rotations between the two votes.
    function testFuzz_rotateKey_cannotDodgeSuspension(uint8 rotations) public {
        uint256 n = bound(rotations, 1, 5);
        uint256 id = _open(admin3, SUSPEND, bob, 1);
        for (uint256 i = 0; i < n; i++) {
            _rotate(bob, 100 + i);
        }
        _voteAs(admin1, id);
        _assertStatus(bob, SUSPENDED);
        _reinstate(bob);
        _assertStatus(bob, PENDING);
        assertEq(consortium.getMember(bob).approvedKeyVersion, 1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.StaleMemberKey.selector, bob, 1, 1 + n));
        _open(admin1, APPROVE, bob, 1);
        _pass(APPROVE, bob, 1 + n);
        assertTrue(consortium.isActive(bob));
    }

    /// @dev A member whose rotated key awaits re-approval can be suspended directly.
    function test_suspendMember_pendingAfterRotation() public {
        _rotate(alice, 9);
        _suspend(alice);
        _assertStatus(alice, SUSPENDED);
    }

    /// @dev A removal voted while the member rotates its key still executes.
    function test_removeMember_afterRotationDuringVote() public {
        uint256 id = _open(admin1, REMOVE, alice, 1);
        _rotate(alice, 9);
        vm.expectEmit(true, true, true, true);
        emit MemberStatusChanged(alice, PENDING, REMOVED, id);
        _voteAs(admin2, id);
        _assertStatus(alice, REMOVED);
    }

    /// @dev A fresh applicant (no approved key in this membership) cannot be suspended, also after a
    /// re-application.
    function testRevert_suspendMember_freshApplicant() public {
        _apply(dave, "Dave");
        vm.expectRevert(_statusError(dave, PENDING));
        _open(admin1, SUSPEND, dave, 1);
        _rotate(dave, 4);
        vm.expectRevert(_statusError(dave, PENDING));
        _open(admin1, SUSPEND, dave, 1);

        _remove(alice);
        _apply(alice, "A");
        vm.expectRevert(_statusError(alice, PENDING));
        _open(admin1, SUSPEND, alice, 2);
    }

    function test_reinstate_suspendedWhileActiveReturnsActive() public {
        _suspend(alice);
        uint256 id = _open(admin1, REINSTATE, alice, 1);
        vm.expectEmit(true, true, true, true);
        emit MemberStatusChanged(alice, SUSPENDED, ACTIVE, id);
        _voteAs(admin2, id);
        assertTrue(consortium.isActive(alice));
        assertEq(consortium.activeMemberCount(), 3);
    }

    // ------------------------------------------------------ membership instance

    function testRevert_propose_staleMembership() public {
        vm.expectRevert(_staleMembership(alice, 0, 1));
        _open(admin1, SUSPEND, alice, 0);
        vm.expectRevert(_staleMembership(alice, 2, 1));
        _open(admin1, SUSPEND, alice, 2);
        vm.expectRevert(_staleMembership(alice, 0, 1));
        _open(admin1, REMOVE, alice, 0);
        _suspend(alice);
        vm.expectRevert(_staleMembership(alice, 7, 1));
        _open(admin1, REINSTATE, alice, 7);
    }

    /// @dev Attack: a suspension opened against alice's first membership is kept open while alice is
    /// removed and re-admitted; the old proposal must not hit the new membership.
    function test_staleMembership_suspensionAfterReadmission() public {
        uint256 old = _open(admin3, SUSPEND, alice, 1);
        _readmit(alice);
        assertEq(consortium.getMember(alice).instance, 2);
        assertTrue(consortium.isActive(alice));

        vm.expectRevert(_staleMembership(alice, 1, 2));
        _voteAs(admin2, old);
        assertTrue(consortium.isActive(alice));
        assertEq(uint256(consortium.getProposal(old).status), uint256(Consortium.ProposalStatus.Open));

        uint256 fresh = _open(admin1, SUSPEND, alice, 2);
        _voteAs(admin2, fresh);
        _assertStatus(alice, SUSPENDED);
    }

    /// @dev A removal proposal is unique per (member, instance): while one is open, the member cannot be
    /// removed (and re-admitted) by another proposal of the same epoch.
    function testRevert_removal_uniquePerInstance() public {
        uint256 old = _open(admin3, REMOVE, bob, 1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ProposalAlreadyOpen.selector, old));
        _open(admin1, REMOVE, bob, 1);
    }

    function test_staleMembership_reinstatementAfterReadmission() public {
        _suspend(carol);
        uint256 old = _open(admin3, REINSTATE, carol, 1);
        _readmit(carol);
        _suspend(carol);
        vm.expectRevert(_staleMembership(carol, 1, 2));
        _voteAs(admin2, old);
        _assertStatus(carol, SUSPENDED);
        _reinstate(carol);
        assertTrue(consortium.isActive(carol));
    }

    /// @dev A removal opened against a fresh applicant that withdraws and applies again is stale.
    function test_staleMembership_removalAfterWithdrawAndReapply() public {
        _apply(dave, "Dave");
        uint256 id = _open(admin1, REMOVE, dave, 1);
        _withdraw(dave);
        _apply(dave, "Dave");
        vm.expectRevert(_staleMembership(dave, 1, 2));
        _voteAs(admin2, id);
        _assertStatus(dave, PENDING);
    }

    /// @dev Suspend / remove proposals execute only for the current membership instance.
    function testFuzz_sanction_onlyCurrentInstance(uint8 cycles, uint256 value, bool removal) public {
        uint256 n = bound(cycles, 0, 3);
        for (uint256 i = 0; i < n; i++) {
            _readmit(alice);
        }
        uint256 current = 1 + n;
        assertEq(consortium.getMember(alice).instance, current);
        Consortium.ProposalKind kind = removal ? REMOVE : SUSPEND;
        if (value % 2 == 0) value = current; // hit the valid case often
        if (value != current) {
            vm.expectRevert(_staleMembership(alice, value, current));
            _open(admin1, kind, alice, value);
            assertTrue(consortium.isActive(alice));
            return;
        }
        _pass(kind, alice, value);
        _assertStatus(alice, removal ? REMOVED : SUSPENDED);
    }

    // ---------------------------------------------------------------- views

    function testRevert_getMember_unknown() public {
        vm.expectRevert(abi.encodeWithSelector(Consortium.UnknownMember.selector, dave));
        consortium.getMember(dave);
    }

    function test_views_membership() public view {
        assertTrue(consortium.isActive(alice));
        assertFalse(consortium.isActive(dave));
        _assertStatus(dave, NONE);
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

    // ------------------------------------------------------------- operators

    bytes32 internal constant NOMINATED_TOPIC = keccak256("OperatorNominated(address,address)");
    bytes32 internal constant CHANGED_TOPIC = keccak256("OperatorChanged(address,address,address)");

    /// @dev The first topic of every log the consortium emitted since `vm.recordLogs()` (the test's own
    /// `emit` lines for vm.expectEmit are recorded too: they are left out).
    function _recordedTopics() internal returns (bytes32[] memory topics) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        topics = new bytes32[](logs.length);
        uint256 n;
        for (uint256 i = 0; i < logs.length; i++) {
            if (logs[i].emitter == address(consortium)) topics[n++] = logs[i].topics[0];
        }
        assembly {
            mstore(topics, n)
        }
    }

    function _assertOperator(address member, address operator) internal view {
        assertEq(consortium.operatorOf(member), operator, "operatorOf");
        if (operator != address(0)) {
            assertEq(consortium.memberOfOperator(operator), member, "memberOfOperator");
            assertEq(consortium.reportingMember(operator), member, "the operator reports for the member");
        }
    }

    function _assertFree(address account) internal view {
        assertEq(consortium.memberOfOperator(account), address(0), "memberOfOperator");
        assertEq(consortium.reportingMember(account), account, "reports for itself only");
    }

    /// @dev Nominating binds nothing: the account is not an operator until it accepts.
    function test_setOperator_nominates() public {
        vm.recordLogs();
        vm.expectEmit(true, true, true, true, address(consortium));
        emit OperatorNominated(alice, op1);
        _setOperator(alice, op1);
        bytes32[] memory topics = _recordedTopics();
        assertEq(topics.length, 1, "only OperatorNominated");
        assertEq(topics[0], NOMINATED_TOPIC);
        assertEq(consortium.nominatedOperatorOf(alice), op1);
        _assertOperator(alice, address(0));
        _assertFree(op1);
        assertEq(consortium.nominatedOperatorOf(bob), address(0));
    }

    function test_acceptOperator() public {
        _setOperator(alice, op1);
        vm.roll(block.number + 3); // accepting need not happen in the nomination's block
        vm.recordLogs();
        vm.expectEmit(true, true, true, true, address(consortium));
        emit OperatorChanged(alice, address(0), op1);
        _accept(op1, alice);
        bytes32[] memory topics = _recordedTopics();
        assertEq(topics.length, 1, "only OperatorChanged");
        assertEq(topics[0], CHANGED_TOPIC);
        _assertOperator(alice, op1);
        assertEq(consortium.nominatedOperatorOf(alice), address(0), "the nomination is used up");
        assertEq(consortium.reportingMember(alice), alice);
        assertEq(consortium.reportingMember(outsider), outsider);
        assertEq(consortium.operatorOf(bob), address(0));
    }

    /// @dev A new nomination does not touch the current operator until the nominee accepts; accepting
    /// replaces it and frees the previous key.
    function test_acceptOperator_replacesPrevious() public {
        _authorise(alice, op1);
        _setOperator(alice, op2);
        _assertOperator(alice, op1);
        _assertFree(op2);
        vm.expectEmit(true, true, true, true, address(consortium));
        emit OperatorChanged(alice, op1, op2);
        _accept(op2, alice);
        _assertOperator(alice, op2);
        _assertFree(op1);
        // ... and the previous key can serve another member
        _authorise(bob, op1);
        _assertOperator(bob, op1);
        _assertOperator(alice, op2);
    }

    function test_setOperator_newNominationReplacesOld() public {
        _setOperator(alice, op1);
        vm.expectEmit(true, true, true, true, address(consortium));
        emit OperatorNominated(alice, op2);
        _setOperator(alice, op2);
        assertEq(consortium.nominatedOperatorOf(alice), op2);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotNominated.selector, alice, op1));
        _accept(op1, alice);
        _accept(op2, alice);
        _assertOperator(alice, op2);
    }

    /// @dev Two members may nominate the same fresh account; it serves the first it accepts.
    function test_setOperator_sameAccountNominatedTwice() public {
        _setOperator(alice, op1);
        _setOperator(bob, op1);
        _accept(op1, bob);
        _assertOperator(bob, op1);
        assertEq(consortium.nominatedOperatorOf(alice), op1, "alice's nomination stays, unusable");
        vm.expectRevert(abi.encodeWithSelector(Consortium.OperatorInUse.selector, op1, bob));
        _accept(op1, alice);
    }

    function test_setOperator_zeroWithdrawsNomination() public {
        _setOperator(alice, op1);
        vm.recordLogs();
        vm.expectEmit(true, true, true, true, address(consortium));
        emit OperatorNominated(alice, address(0));
        _setOperator(alice, address(0));
        bytes32[] memory topics = _recordedTopics();
        assertEq(topics.length, 1, "no OperatorChanged: there was no operator");
        assertEq(topics[0], NOMINATED_TOPIC);
        assertEq(consortium.nominatedOperatorOf(alice), address(0));
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotNominated.selector, alice, op1));
        _accept(op1, alice);
        _assertFree(op1);
    }

    function test_setOperator_zeroRemovesOperator() public {
        _authorise(alice, op1);
        vm.recordLogs();
        vm.expectEmit(true, true, true, true, address(consortium));
        emit OperatorChanged(alice, op1, address(0));
        _setOperator(alice, address(0));
        bytes32[] memory topics = _recordedTopics();
        assertEq(topics.length, 1, "no OperatorNominated: there was no nomination");
        assertEq(topics[0], CHANGED_TOPIC);
        _assertOperator(alice, address(0));
        _assertFree(op1);
        // a freed operator may even apply for membership
        _apply(op1, "Op");
        _assertStatus(op1, PENDING);
    }

    function test_setOperator_zeroWithdrawsNominationAndRemovesOperator() public {
        _authorise(alice, op1);
        _setOperator(alice, op2);
        vm.recordLogs();
        vm.expectEmit(true, true, true, true, address(consortium));
        emit OperatorNominated(alice, address(0));
        vm.expectEmit(true, true, true, true, address(consortium));
        emit OperatorChanged(alice, op1, address(0));
        _setOperator(alice, address(0));
        assertEq(_recordedTopics().length, 2);
        assertEq(consortium.nominatedOperatorOf(alice), address(0));
        _assertOperator(alice, address(0));
        _assertFree(op1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotNominated.selector, alice, op2));
        _accept(op2, alice);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidOperator.selector, address(0)));
        _setOperator(alice, address(0));
    }

    /// @dev Withdrawing a nomination and removing an operator are allowed whatever the member's status.
    function test_setOperator_clearAllowedForInactiveMembers() public {
        _authorise(alice, op1);
        _authorise(bob, op2);
        _authorise(carol, op3);
        _apply(dave, "Dave");
        _approve(dave);
        address op4 = makeAddr("op4");
        _setOperator(dave, op4); // nominated only
        _suspend(alice);
        _remove(bob);
        _rotate(carol, 1);
        _suspend(dave);
        _setOperator(alice, address(0));
        _setOperator(bob, address(0));
        _setOperator(carol, address(0));
        vm.expectEmit(true, true, true, true, address(consortium));
        emit OperatorNominated(dave, address(0));
        _setOperator(dave, address(0));
        assertEq(consortium.operatorOf(alice), address(0));
        assertEq(consortium.operatorOf(bob), address(0));
        assertEq(consortium.operatorOf(carol), address(0));
        assertEq(consortium.nominatedOperatorOf(dave), address(0));
        _assertFree(op1);
        _assertFree(op2);
        _assertFree(op3);
    }

    function testRevert_setOperator_clearWithoutOperator() public {
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidOperator.selector, address(0)));
        _setOperator(alice, address(0));
        // nor once the operator is gone (resigned)
        _authorise(alice, op1);
        _resign(op1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidOperator.selector, address(0)));
        _setOperator(alice, address(0));
    }

    function testRevert_setOperator_unknownMember() public {
        vm.expectRevert(abi.encodeWithSelector(Consortium.UnknownMember.selector, outsider));
        _setOperator(outsider, op1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.UnknownMember.selector, outsider));
        _setOperator(outsider, address(0));
        // an operator key is no member: it cannot nominate
        _authorise(alice, op1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.UnknownMember.selector, op1));
        _setOperator(op1, op2);
    }

    function testRevert_setOperator_notActive() public {
        _apply(dave, "Dave");
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, dave));
        _setOperator(dave, op1);
        _withdraw(dave);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, dave));
        _setOperator(dave, op1);

        _suspend(alice);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, alice));
        _setOperator(alice, op1);

        _remove(bob);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, bob));
        _setOperator(bob, op1);

        _rotate(carol, 1);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, carol));
        _setOperator(carol, op1);
        assertEq(consortium.nominatedOperatorOf(alice), address(0));
    }

    /// @dev Only a fresh account can be nominated: no member or applicant of any status (the nominating
    /// member itself, an active, suspended or removed member's account, an applicant, a withdrawn one), no
    /// admin, no CA.
    function testRevert_setOperator_notFresh() public {
        address[] memory taken = new address[](8);
        taken[0] = alice; // itself
        taken[1] = bob; // active member
        _suspend(carol);
        taken[2] = carol; // suspended member
        address erin = makeAddr("erin");
        _onboard(erin, "Erin");
        _remove(erin);
        taken[3] = erin; // removed member
        _apply(dave, "Dave");
        taken[4] = dave; // applicant
        address wendy = makeAddr("wendy");
        _apply(wendy, "Wendy");
        _withdraw(wendy);
        taken[5] = wendy; // withdrawn applicant
        taken[6] = admin3;
        taken[7] = ca;
        for (uint256 i = 0; i < taken.length; i++) {
            vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidOperator.selector, taken[i]));
            _setOperator(alice, taken[i]);
        }
        assertEq(consortium.nominatedOperatorOf(alice), address(0));
        assertEq(consortium.operatorOf(alice), address(0));
    }

    function testRevert_setOperator_inUse() public {
        _authorise(alice, op1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.OperatorInUse.selector, op1, alice));
        _setOperator(bob, op1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.OperatorInUse.selector, op1, alice));
        _setOperator(alice, op1);
        assertEq(consortium.nominatedOperatorOf(bob), address(0));
        assertEq(consortium.nominatedOperatorOf(alice), address(0));
    }

    function testRevert_acceptOperator_notNominated() public {
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotNominated.selector, alice, op1));
        _accept(op1, alice);
        _setOperator(alice, op1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotNominated.selector, alice, op2));
        _accept(op2, alice); // another account
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotNominated.selector, bob, op1));
        _accept(op1, bob); // another member
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotNominated.selector, alice, alice));
        _accept(alice, alice); // the member itself
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotNominated.selector, outsider, op1));
        _accept(op1, outsider); // not a member
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotNominated.selector, address(0), op1));
        _accept(op1, address(0));
        _accept(op1, alice);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotNominated.selector, alice, op1));
        _accept(op1, alice); // the nomination was used up
    }

    /// @dev A member suspended, removed or waiting for its new key's approval after nominating cannot
    /// get an operator; once active again the nomination still holds.
    function testRevert_acceptOperator_memberNotActive() public {
        _setOperator(alice, op1);
        _setOperator(bob, op2);
        _setOperator(carol, op3);
        _suspend(alice);
        _remove(bob);
        _rotate(carol, 1);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, alice));
        _accept(op1, alice);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, bob));
        _accept(op2, bob);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, carol));
        _accept(op3, carol);
        assertEq(consortium.operatorOf(alice), address(0));
        assertEq(consortium.operatorOf(bob), address(0));
        assertEq(consortium.operatorOf(carol), address(0));

        _reinstate(alice);
        _accept(op1, alice);
        _assertOperator(alice, op1);
        _approve(carol);
        _accept(op3, carol);
        _assertOperator(carol, op3);
    }

    /// @dev The nominee must still be fresh when it accepts: a nomination does not stop it from applying or
    /// being promoted, and then it can no longer become an operator.
    function testRevert_acceptOperator_notFresh() public {
        _setOperator(alice, op1);
        _setOperator(bob, op2);
        _setOperator(carol, op3);
        _apply(op1, "Op");
        _pass(ADD_ADMIN, op2, 0);
        _appointCa(op3);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidOperator.selector, op1));
        _accept(op1, alice);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidOperator.selector, op2));
        _accept(op2, bob);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidOperator.selector, op3));
        _accept(op3, carol);
        assertEq(consortium.operatorOf(alice), address(0));
        assertEq(consortium.operatorOf(bob), address(0));
        assertEq(consortium.operatorOf(carol), address(0));
    }

    function testRevert_acceptOperator_inUse() public {
        _setOperator(alice, op1);
        _setOperator(bob, op1);
        _accept(op1, alice);
        vm.expectRevert(abi.encodeWithSelector(Consortium.OperatorInUse.selector, op1, alice));
        _accept(op1, bob);
        _assertOperator(alice, op1);
        assertEq(consortium.operatorOf(bob), address(0));
    }

    function test_resignOperator() public {
        _authorise(alice, op1);
        vm.recordLogs();
        vm.expectEmit(true, true, true, true, address(consortium));
        emit OperatorChanged(alice, op1, address(0));
        _resign(op1);
        assertEq(_recordedTopics().length, 1);
        _assertOperator(alice, address(0));
        _assertFree(op1);
        // free again: another member can authorise it
        _authorise(bob, op1);
        _assertOperator(bob, op1);
    }

    /// @dev Resigning leaves the member's pending nomination alone.
    function test_resignOperator_keepsNomination() public {
        _authorise(alice, op1);
        _setOperator(alice, op2);
        _resign(op1);
        assertEq(consortium.nominatedOperatorOf(alice), op2);
        vm.expectEmit(true, true, true, true, address(consortium));
        emit OperatorChanged(alice, address(0), op2);
        _accept(op2, alice);
        _assertOperator(alice, op2);
    }

    /// @dev An operator can leave whatever its member's status; the freed account may then apply.
    function test_resignOperator_ofInactiveMember() public {
        _authorise(alice, op1);
        _authorise(bob, op2);
        _suspend(alice);
        _remove(bob);
        _resign(op1);
        _resign(op2);
        _assertFree(op1);
        _assertFree(op2);
        _apply(op1, "Op");
        _assertStatus(op1, PENDING);
    }

    function testRevert_resignOperator_notOperator() public {
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidOperator.selector, outsider));
        _resign(outsider);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidOperator.selector, alice));
        _resign(alice); // a member is not its own operator
        _setOperator(alice, op1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidOperator.selector, op1));
        _resign(op1); // nominated only
        _accept(op1, alice);
        _resign(op1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidOperator.selector, op1));
        _resign(op1); // already resigned
    }

    function testRevert_applyForMembership_operator() public {
        _authorise(alice, op1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.AccountIsOperator.selector, op1));
        _apply(op1, "Op");
        _assertStatus(op1, NONE);
    }

    /// @dev A nominee that never accepted is not bound: it may apply, and the member's nomination is
    /// then unusable.
    function test_applyForMembership_nomineeIsFree() public {
        _setOperator(alice, op1);
        _apply(op1, "Op");
        _approve(op1);
        _assertStatus(op1, ACTIVE);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidOperator.selector, op1));
        _accept(op1, alice);
    }

    function testRevert_propose_operatorAsAdminOrCa() public {
        _authorise(alice, op1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.AccountIsOperator.selector, op1));
        _open(admin1, ADD_ADMIN, op1, 0);
        vm.expectRevert(abi.encodeWithSelector(Consortium.AccountIsOperator.selector, op1));
        _open(admin1, APPOINT_CA, op1, 0);
    }

    /// @dev An account proposed as admin or CA that accepts an operator role before the deciding vote is
    /// not promoted (it chose to be an operator: it signed `acceptOperator`).
    function testRevert_vote_targetBecameOperator() public {
        uint256 addId = _open(admin1, ADD_ADMIN, op1, 0);
        uint256 caId = _open(admin1, APPOINT_CA, op2, 0);
        _authorise(alice, op1);
        _authorise(bob, op2);
        vm.expectRevert(abi.encodeWithSelector(Consortium.AccountIsOperator.selector, op1));
        _voteAs(admin2, addId);
        vm.expectRevert(abi.encodeWithSelector(Consortium.AccountIsOperator.selector, op2));
        _voteAs(admin2, caId);
        assertFalse(consortium.isAdmin(op1));
        assertFalse(consortium.isCertificateAuthority(op2));
    }

    /// @dev Attack: before, any member could call setOperator(X) on the target X of an open AddAdmin (or
    /// AppointCertificateAuthority) proposal and so bar it for good (AccountIsOperator at the deciding vote).
    /// Now a member can only nominate X: the deciding votes still execute, and X can no longer accept.
    function test_attack_nominationCannotBarAdminOrCaCandidate() public {
        address candidate = makeAddr("candidate");
        address authority = makeAddr("authority");
        uint256 addId = _open(admin1, ADD_ADMIN, candidate, 0);
        uint256 caId = _open(admin1, APPOINT_CA, authority, 0);
        _setOperator(alice, candidate);
        _setOperator(bob, candidate);
        _setOperator(carol, authority);
        assertEq(consortium.memberOfOperator(candidate), address(0), "a nomination binds nothing");

        vm.expectEmit(true, true, true, true, address(consortium));
        emit CertificateAuthorityAppointed(authority, caId);
        _voteAs(admin2, caId);
        assertTrue(consortium.isCertificateAuthority(authority));
        vm.expectEmit(true, true, true, true, address(consortium));
        emit AdminAdded(candidate, addId);
        _voteAs(admin2, addId);
        assertTrue(consortium.isAdmin(candidate));

        // the nominations can no longer be taken up
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidOperator.selector, candidate));
        _accept(candidate, alice);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidOperator.selector, authority));
        _accept(authority, carol);
        assertEq(consortium.operatorOf(alice), address(0));
        assertEq(consortium.operatorOf(carol), address(0));
        // and the new admin governs
        uint256 id = _open(candidate, SET_RUN, address(0), 77);
        _voteAs(admin1, id);
        assertEq(consortium.maxRunBlocks(), 77);
    }

    /// @dev The same attack against a future applicant: nominating it does not keep it from joining.
    function test_attack_nominationCannotBarApplicant() public {
        _setOperator(alice, dave);
        _apply(dave, "Dave");
        _approve(dave);
        _assertStatus(dave, ACTIVE);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidOperator.selector, dave));
        _accept(dave, alice);
    }

    function testFuzz_authorise(address operator) public {
        vm.assume(operator != address(0));
        vm.assume(consortium.memberStatus(operator) == NONE);
        vm.assume(!consortium.isAdmin(operator) && !consortium.isCertificateAuthority(operator));
        _setOperator(alice, operator);
        assertEq(consortium.reportingMember(operator), operator, "nominated only");
        _accept(operator, alice);
        _assertOperator(alice, operator);
        _setOperator(alice, address(0));
        _assertFree(operator);
    }

    function testFuzz_acceptOperator_onlyTheNominee(address caller) public {
        vm.assume(caller != op1);
        _setOperator(alice, op1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotNominated.selector, alice, caller));
        _accept(caller, alice);
        assertEq(consortium.operatorOf(alice), address(0));
    }

    function testFuzz_resignOperator_onlyAnOperator(address caller) public {
        vm.assume(caller != op1);
        _authorise(alice, op1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidOperator.selector, caller));
        _resign(caller);
        _assertOperator(alice, op1);
    }

    function testFuzz_reportingMember_defaultsToAccount(address account) public view {
        assertEq(consortium.reportingMember(account), account);
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
        emit MemberStatusChanged(dave, PENDING, ACTIVE, id);
        _voteAs(admin2, id);
        Consortium.Proposal memory p = consortium.getProposal(id);
        assertEq(uint256(p.status), uint256(Consortium.ProposalStatus.Executed));
        assertEq(p.closedBlock, 6000);
        assertEq(p.approvals, 2);
        assertTrue(consortium.isActive(dave));
        assertEq(consortium.activeMemberCount(), 4);
        assertEq(consortium.openProposalFor(APPROVE, dave, 1), 0);
        assertEq(consortium.getMember(dave).updatedBlock, 6000);
        assertEq(consortium.getMember(dave).approvedKeyVersion, 1);
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
        uint256 id = _open(admin1, SUSPEND, alice, 1);
        assertEq(id, 5);
        vm.expectEmit(true, true, true, true);
        emit ProposalExecuted(5, SUSPEND, alice, 1);
        vm.expectEmit(true, true, true, true);
        emit MemberStatusChanged(alice, ACTIVE, SUSPENDED, 5);
        _voteAs(admin2, id);
        assertEq(consortium.activeMemberCount(), 2);
        assertFalse(consortium.isActive(alice));

        id = _open(admin1, REINSTATE, alice, 1);
        vm.expectEmit(true, true, true, true);
        emit MemberStatusChanged(alice, SUSPENDED, ACTIVE, 6);
        _voteAs(admin2, id);
        assertTrue(consortium.isActive(alice));
        assertEq(consortium.activeMemberCount(), 3);

        id = _open(admin1, REMOVE, alice, 1);
        vm.expectEmit(true, true, true, true);
        emit MemberStatusChanged(alice, ACTIVE, REMOVED, 7);
        _voteAs(admin2, id);
        _assertStatus(alice, REMOVED);
        assertEq(consortium.activeMemberCount(), 2);
        assertEq(consortium.getMember(alice).instance, 1, "status changes keep the instance");
    }

    function test_removeMember_fromPendingAndSuspended() public {
        _apply(dave, "Dave");
        _remove(dave);
        _assertStatus(dave, REMOVED);
        assertEq(consortium.activeMemberCount(), 3);
        _suspend(bob);
        _remove(bob);
        _assertStatus(bob, REMOVED);
        assertEq(consortium.activeMemberCount(), 2);
    }

    function test_addAdmin_bumpsEpoch() public {
        uint256 id = _open(admin1, ADD_ADMIN, admin4, 0);
        vm.expectEmit(true, true, true, true);
        emit ProposalExecuted(id, ADD_ADMIN, admin4, 0);
        vm.expectEmit(true, true, true, true);
        emit AdminAdded(admin4, id);
        _voteAs(admin2, id);
        assertTrue(consortium.isAdmin(admin4));
        assertEq(consortium.adminCount(), 4);
        assertEq(consortium.admins()[3], admin4);
        assertEq(consortium.adminEpoch(), 1);
    }

    function test_removeAdmin_bumpsEpochAndReordersList() public {
        _pass(ADD_ADMIN, admin4, 0); // [1, 2, 3, 4], threshold 2
        uint256 rid = _open(admin1, REMOVE_ADMIN, admin1, 0);
        vm.expectEmit(true, true, true, true);
        emit AdminRemoved(admin1, rid);
        _voteAs(admin2, rid);
        assertFalse(consortium.isAdmin(admin1));
        assertEq(consortium.adminCount(), 3);
        address[] memory list = consortium.admins();
        assertEq(list[0], admin4, "last moved into the gap");
        assertEq(list[1], admin2);
        assertEq(list[2], admin3);
        assertEq(consortium.adminEpoch(), 2);

        // the index bookkeeping stays consistent: the moved admin can be removed too
        uint256 t = _open(admin2, CHANGE_THRESHOLD, address(0), 1);
        _voteAs(admin3, t);
        assertEq(consortium.threshold(), 1);
        uint256 id = _open(admin2, REMOVE_ADMIN, admin4, 0);
        assertEq(uint256(consortium.getProposal(id).status), uint256(Consortium.ProposalStatus.Executed));
        list = consortium.admins();
        assertEq(list.length, 2);
        assertEq(list[0], admin3);
        assertEq(list[1], admin2);
        assertFalse(consortium.isAdmin(admin4));
    }

    function test_changeThreshold() public {
        uint256 id = _open(admin1, CHANGE_THRESHOLD, address(0), 1);
        vm.expectEmit(true, true, true, true);
        emit ThresholdChanged(2, 1, id);
        _voteAs(admin2, id);
        assertEq(consortium.threshold(), 1);
        assertEq(consortium.adminEpoch(), 1);

        // with four admins, three approvals is recoverable
        _open(admin1, ADD_ADMIN, admin4, 0);
        _pass(CHANGE_THRESHOLD, address(0), 3);
        assertEq(consortium.threshold(), 3);
        assertEq(consortium.adminEpoch(), 3);
    }

    function test_appointAndDismissCertificateAuthority() public {
        uint256 id = _open(admin1, APPOINT_CA, dave, 0);
        vm.expectEmit(true, true, true, true);
        emit CertificateAuthorityAppointed(dave, id);
        vm.expectEmit(true, true, true, true);
        emit AuthorityTermStarted(dave, 1);
        _voteAs(admin2, id);
        assertTrue(consortium.isCertificateAuthority(dave));
        assertEq(consortium.authorityTerm(dave), 1);
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

    /// @dev Every appointment starts a new term (certificates record it); a dismissal keeps the count, so a
    /// re-appointed account does not resume its earlier term.
    function test_authorityTerm_countsAppointments() public {
        assertEq(consortium.authorityTerm(ca), 1, "appointed once in setUp");
        assertEq(consortium.authorityTerm(dave), 0, "never appointed");
        _pass(DISMISS_CA, ca, 0);
        assertEq(consortium.authorityTerm(ca), 1, "a dismissal keeps the count");
        uint256 id = _open(admin1, APPOINT_CA, ca, 0);
        vm.recordLogs();
        vm.expectEmit(true, true, true, true, address(consortium));
        emit CertificateAuthorityAppointed(ca, id);
        vm.expectEmit(true, true, true, true, address(consortium));
        emit AuthorityTermStarted(ca, 2);
        _voteAs(admin2, id);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs[logs.length - 1].emitter, address(consortium));
        assertEq(logs[logs.length - 1].topics[0], keccak256("AuthorityTermStarted(address,uint32)"), "emitted last");
        assertEq(logs[logs.length - 1].topics[1], bytes32(uint256(uint160(ca))));
        assertEq(abi.decode(logs[logs.length - 1].data, (uint32)), 2);
        assertEq(consortium.authorityTerm(ca), 2);
        assertTrue(consortium.isCertificateAuthority(ca));
        _pass(DISMISS_CA, ca, 0);
        _appointCa(ca);
        assertEq(consortium.authorityTerm(ca), 3);
        _appointCa(dave);
        assertEq(consortium.authorityTerm(dave), 1, "terms are per account");
        assertEq(consortium.authorityTerm(ca), 3);
    }

    function testFuzz_authorityTerm(uint8 cycles) public {
        uint256 n = bound(cycles, 1, 12);
        for (uint256 i = 0; i < n; i++) {
            _pass(DISMISS_CA, ca, 0);
            assertEq(consortium.authorityTerm(ca), i + 1);
            _appointCa(ca);
            assertEq(consortium.authorityTerm(ca), i + 2);
        }
        assertTrue(consortium.isCertificateAuthority(ca));
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

    /// @dev A threshold equal to the admin count would lock governance after the loss of one admin key.
    function testRevert_propose_changeThresholdUnrecoverable() public {
        vm.expectRevert(_unrecoverable(3, 3));
        _open(admin1, CHANGE_THRESHOLD, address(0), 3);
    }

    function testRevert_propose_nonZeroValue() public {
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidProposalValue.selector, ADD_ADMIN, 1));
        _open(admin1, ADD_ADMIN, dave, 1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidProposalValue.selector, REMOVE_ADMIN, 1));
        _open(admin1, REMOVE_ADMIN, admin3, 1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidProposalValue.selector, APPOINT_CA, 1));
        _open(admin1, APPOINT_CA, dave, 1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidProposalValue.selector, DISMISS_CA, 1));
        _open(admin1, DISMISS_CA, ca, 1);
    }

    function testRevert_propose_staleMemberKey() public {
        _apply(dave, "Dave");
        vm.expectRevert(abi.encodeWithSelector(Consortium.StaleMemberKey.selector, dave, 0, 1));
        _open(admin1, APPROVE, dave, 0);
        vm.expectRevert(abi.encodeWithSelector(Consortium.StaleMemberKey.selector, dave, 2, 1));
        _open(admin1, APPROVE, dave, 2);
        _rotate(dave, 8);
        vm.expectRevert(abi.encodeWithSelector(Consortium.StaleMemberKey.selector, dave, 1, 2));
        _open(admin1, APPROVE, dave, 1);
    }

    function testRevert_vote_staleMemberKey() public {
        _apply(dave, "Dave");
        uint256 id = _open(admin1, APPROVE, dave, 1);
        _rotate(dave, 8);
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
        emit MemberStatusChanged(dave, PENDING, ACTIVE, fresh);
        _voteAs(admin2, fresh);
        assertTrue(consortium.isActive(dave));
        assertEq(consortium.getMember(dave).publicKey, newKey);
        assertEq(consortium.getMember(dave).keyVersion, 2);

        // the stale proposal stays dead: dave is active now
        vm.expectRevert(_statusError(dave, ACTIVE));
        _voteAs(admin3, stale);
        vm.prank(admin1);
        consortium.cancel(stale);
    }

    /// @dev An approval opened before a removal cannot approve the key of a re-application.
    function testRevert_vote_staleMemberKeyAfterReapplication() public {
        _apply(dave, "Dave");
        uint256 stale = _open(admin3, APPROVE, dave, 1);
        _remove(dave);
        _apply(dave, "Dave again");
        assertEq(consortium.getMember(dave).keyVersion, 2);
        vm.expectRevert(abi.encodeWithSelector(Consortium.StaleMemberKey.selector, dave, 1, 2));
        _voteAs(admin2, stale);
        _pass(APPROVE, dave, 2);
        assertTrue(consortium.isActive(dave));
    }

    function testFuzz_approveMember_onlyCurrentKeyVersion(uint8 rotations, uint256 value) public {
        rotations = uint8(bound(rotations, 0, 5));
        _apply(dave, "Dave");
        for (uint256 i = 0; i < rotations; i++) {
            _rotate(dave, i);
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

    /// @dev Removing an admin from 3 (threshold 2) would leave 2 admins and threshold 2: refused.
    function testRevert_propose_removeAdminUnrecoverable() public {
        vm.expectRevert(_unrecoverable(2, 2));
        _open(admin1, REMOVE_ADMIN, admin3, 0);
        _pass(ADD_ADMIN, admin4, 0);
        _pass(CHANGE_THRESHOLD, address(0), 3);
        vm.expectRevert(_unrecoverable(3, 3));
        _open(admin1, REMOVE_ADMIN, admin4, 0);
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
        _open(admin1, SUSPEND, dave, 1);
    }

    function testRevert_propose_invalidMemberStatus() public {
        vm.expectRevert(_statusError(alice, ACTIVE));
        _open(admin1, APPROVE, alice, 1);
        vm.expectRevert(_statusError(alice, ACTIVE));
        _open(admin1, REINSTATE, alice, 1);
        _suspend(alice);
        vm.expectRevert(_statusError(alice, SUSPENDED));
        _open(admin1, SUSPEND, alice, 1);
        _apply(dave, "Dave");
        vm.expectRevert(_statusError(dave, PENDING));
        _open(admin1, SUSPEND, dave, 1);
        vm.expectRevert(_statusError(dave, PENDING));
        _open(admin1, REINSTATE, dave, 1);
        _remove(dave);
        vm.expectRevert(_statusError(dave, REMOVED));
        _open(admin1, REMOVE, dave, 1);
        vm.expectRevert(_statusError(dave, REMOVED));
        _open(admin1, APPROVE, dave, 1);
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
        _voteAs(admin3, executed);

        uint256 cancelled = _open(admin1, APPOINT_CA, admin4, 0);
        vm.prank(admin1);
        consortium.cancel(cancelled);
        vm.expectRevert(
            abi.encodeWithSelector(Consortium.ProposalNotOpen.selector, cancelled, Consortium.ProposalStatus.Cancelled)
        );
        _voteAs(admin2, cancelled);
    }

    function testRevert_vote_stale() public {
        uint256 id = _open(admin1, APPOINT_CA, dave, 0);
        _pass(ADD_ADMIN, admin4, 0);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ProposalStale.selector, id, 0, 1));
        _voteAs(admin2, id);
    }

    function testRevert_vote_alreadyVoted() public {
        uint256 id = _open(admin1, APPOINT_CA, dave, 0);
        vm.expectRevert(abi.encodeWithSelector(Consortium.AlreadyVoted.selector, id, admin1));
        _voteAs(admin1, id);
    }

    function testRevert_vote_executionRecheck() public {
        // a suspend proposal that became invalid because the member was removed meanwhile
        uint256 id = _open(admin3, SUSPEND, alice, 1);
        _remove(alice);
        vm.expectRevert(_statusError(alice, REMOVED));
        _voteAs(admin2, id);
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

    // ------------------------------------------------------------ job windows

    function test_setMaxApprovalBlocks() public {
        uint256 id = _open(admin1, SET_APPROVAL, address(0), 500);
        vm.expectEmit(true, true, true, true);
        emit ProposalExecuted(id, SET_APPROVAL, address(0), 500);
        vm.expectEmit(true, true, true, true);
        emit JobWindowChanged(0, 201_600, 500, id);
        _voteAs(admin2, id);
        assertEq(consortium.maxApprovalBlocks(), 500);
        assertEq(consortium.maxRunBlocks(), 201_600, "the other window is unchanged");
        assertEq(consortium.adminEpoch(), 0, "window changes do not touch the admin epoch");
    }

    function test_setMaxRunBlocks() public {
        uint256 id = _open(admin1, SET_RUN, address(0), 100_000_000);
        vm.expectEmit(true, true, true, true);
        emit JobWindowChanged(1, 201_600, 100_000_000, id);
        _voteAs(admin2, id);
        assertEq(consortium.maxRunBlocks(), 100_000_000, "the upper bound is accepted");
        assertEq(consortium.maxApprovalBlocks(), 201_600);

        uint256 again = _pass(SET_RUN, address(0), 1);
        assertEq(consortium.maxRunBlocks(), 1, "the lower bound is accepted");
        assertEq(uint256(consortium.getProposal(again).status), uint256(Consortium.ProposalStatus.Executed));
    }

    function testRevert_setJobWindow_withTarget() public {
        vm.expectRevert(
            abi.encodeWithSelector(Consortium.InvalidProposalValue.selector, SET_APPROVAL, uint256(uint160(dave)))
        );
        _open(admin1, SET_APPROVAL, dave, 500);
        vm.expectRevert(
            abi.encodeWithSelector(Consortium.InvalidProposalValue.selector, SET_RUN, uint256(uint160(dave)))
        );
        _open(admin1, SET_RUN, dave, 500);
    }

    function testRevert_setJobWindow_outOfRange() public {
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidProposalValue.selector, SET_APPROVAL, 0));
        _open(admin1, SET_APPROVAL, address(0), 0);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidProposalValue.selector, SET_RUN, 0));
        _open(admin1, SET_RUN, address(0), 0);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidProposalValue.selector, SET_APPROVAL, 100_000_001));
        _open(admin1, SET_APPROVAL, address(0), 100_000_001);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidProposalValue.selector, SET_RUN, type(uint256).max));
        _open(admin1, SET_RUN, address(0), type(uint256).max);
    }

    function testFuzz_setJobWindow(bool run, uint256 value) public {
        value = bound(value, 0, 2 * uint256(consortium.MAX_WINDOW_BLOCKS()));
        Consortium.ProposalKind kind = run ? SET_RUN : SET_APPROVAL;
        if (value == 0 || value > consortium.MAX_WINDOW_BLOCKS()) {
            vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidProposalValue.selector, kind, value));
            _open(admin1, kind, address(0), value);
            return;
        }
        _pass(kind, address(0), value);
        assertEq(run ? consortium.maxRunBlocks() : consortium.maxApprovalBlocks(), value);
        assertEq(run ? consortium.maxApprovalBlocks() : consortium.maxRunBlocks(), 201_600);
    }

    // -------------------------------------------------------- fuzz: admin sets

    /// @dev With n admins and threshold t, a proposal executes exactly on the t-th vote.
    function testFuzz_proposal_executesAtThreshold(uint256 n, uint256 t) public {
        n = bound(n, 1, 12);
        t = n == 1 ? 1 : bound(t, 1, n - 1);
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

    /// @dev Removing admins one by one stops while threshold < remaining admins: the set always keeps one
    /// admin more than the threshold.
    function testFuzz_removeAdmin_keepsRecoverable(uint256 n, uint256 t) public {
        n = bound(n, 2, 10);
        t = bound(t, 1, n - 1);
        address[] memory list = _admins(n);
        Consortium c = new Consortium(list, t);
        for (uint256 r = 0; r < n; r++) {
            address target = list[r];
            if (c.adminCount() - 1 <= t) {
                vm.expectRevert(_unrecoverable(t, c.adminCount() - 1));
                vm.prank(list[n - 1]);
                c.propose(REMOVE_ADMIN, target, 0);
                break;
            }
            vm.prank(list[n - 1]);
            uint256 id = c.propose(REMOVE_ADMIN, target, 0);
            for (uint256 v = 0; c.getProposal(id).status == Consortium.ProposalStatus.Open; v++) {
                vm.prank(list[n - 2 - v]);
                c.vote(id);
            }
            assertFalse(c.isAdmin(target));
            assertGt(c.adminCount(), c.threshold());
        }
        assertEq(c.adminCount(), t + 1);
    }

    /// @dev ChangeThreshold over (admins, new threshold): 1 <= value < admins.
    function testFuzz_changeThreshold_rule(uint256 n, uint256 value) public {
        n = bound(n, 2, 8);
        value = bound(value, 0, n + 2);
        address[] memory list = _admins(n);
        Consortium c = new Consortium(list, 1);
        vm.prank(list[0]);
        if (value == 0 || value > n) {
            vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidThreshold.selector, value, n));
        } else if (value >= n) {
            vm.expectRevert(_unrecoverable(value, n));
        }
        c.propose(CHANGE_THRESHOLD, address(0), value);
        assertEq(c.threshold(), value >= 1 && value < n ? value : 1);
    }

    function testFuzz_changeThreshold(uint256 value) public {
        value = bound(value, 0, 10);
        if (value == 0 || value > 3) {
            vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidThreshold.selector, value, 3));
            _open(admin1, CHANGE_THRESHOLD, address(0), value);
            return;
        }
        if (value == 3) {
            vm.expectRevert(_unrecoverable(3, 3));
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
        _pass(ADD_ADMIN, admin4, 0); // four admins: every admin change below is allowed
        uint256 id = _open(admin3, APPOINT_CA, dave, 0);
        uint256 k = bound(kindSeed, 0, 2);
        if (k == 0) _pass(ADD_ADMIN, makeAddr("admin5"), 0);
        else if (k == 1) _pass(REMOVE_ADMIN, admin3, 0);
        else _pass(CHANGE_THRESHOLD, address(0), 3);
        assertEq(consortium.adminEpoch(), 2);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ProposalStale.selector, id, 1, 2));
        _voteAs(admin2, id);
    }

    function test_notActiveMemberErrorIsShared() public pure {
        // file-level error exported by Consortium.sol and used by the registries
        assertEq(NotActiveMember.selector, bytes4(keccak256("NotActiveMember(address)")));
    }
}
