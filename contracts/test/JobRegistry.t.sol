// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.11;

import {Base, JobEvents} from "./Base.t.sol";
import {Consortium, NotActiveMember} from "../src/Consortium.sol";
import {DataRegistry, DatasetRef} from "../src/DataRegistry.sol";
import {JobRegistry} from "../src/JobRegistry.sol";
import {VmSafe} from "forge-std/Vm.sol";

/// @dev Shared fixtures of the JobRegistry tests: alice owns DS_A (Public), bob DS_B (Public) and DS_L
/// (Listed, granted to alice), carol DS_C (Public).
abstract contract JobFixtures is Base, JobEvents {
    bytes32 internal constant DS_A = keccak256("ds-alice");
    bytes32 internal constant DS_B = keccak256("ds-bob");
    bytes32 internal constant DS_L = keccak256("ds-bob-listed");
    bytes32 internal constant DS_C = keccak256("ds-carol");
    bytes32 internal constant RESULT = keccak256("result");
    bytes32 internal constant DETAIL = keccak256("detail");
    string internal constant PARAMS = '{"k":1}';

    address internal opA = makeAddr("operator-alice");
    address internal opB = makeAddr("operator-bob");

    function _statusOf(uint256 id) internal view returns (uint256) {
        return uint256(jobs.jobStatus(id));
    }

    function _state(uint256 id, address p) internal view returns (uint256) {
        return uint256(jobs.participantReport(id, p).state);
    }

    /// @dev `length` bytes of "a", written a word at a time (Base._bytes loops per byte: too slow for fuzzing).
    function _fill(uint256 length) internal pure returns (bytes memory b) {
        b = new bytes(length);
        bytes32 word = 0x6161616161616161616161616161616161616161616161616161616161616161;
        uint256 words = length / 32;
        for (uint256 i = 0; i < words; i++) {
            assembly {
                mstore(add(add(b, 32), mul(i, 32)), word)
            }
        }
        for (uint256 i = words * 32; i < length; i++) {
            b[i] = "a";
        }
    }

    function _text(uint256 length) internal pure returns (string memory) {
        return string(_fill(length));
    }

    function _digest(address owner, bytes32 name) internal view returns (bytes32) {
        return data.getDataset(owner, name).digest;
    }

    function _digests(DatasetRef[] memory ds) internal view returns (bytes32[] memory digests) {
        digests = new bytes32[](ds.length);
        for (uint256 i = 0; i < ds.length; i++) {
            digests[i] = _digest(ds[i].owner, ds[i].name);
        }
    }

    function _newMembers(uint256 n) internal returns (address[] memory list) {
        list = new address[](n);
        for (uint256 i = 0; i < n; i++) {
            list[i] = makeAddr(string(abi.encodePacked("member-", vm.toString(i))));
            _onboard(list[i], "Member");
        }
    }

    function _setOperator(address member, address operator) internal {
        vm.prank(member);
        consortium.setOperator(operator);
    }

    /// @dev Changes one field of the dataset's description: 0 schema, 1 row count, 2 metadata.
    function _update(address owner, bytes32 name, uint256 field) internal {
        DataRegistry.Dataset memory d = data.getDataset(owner, name);
        bytes32 schema = field == 0 ? keccak256(abi.encode(d.schemaHash)) : d.schemaHash;
        uint64 rows = field == 1 ? d.rowCount + 1 : d.rowCount;
        string memory metadata = field == 2 ? string(abi.encodePacked(d.metadata, " ")) : d.metadata;
        vm.prank(owner);
        data.update(name, schema, rows, metadata);
    }

    function _runDeadline(uint256 id) internal view returns (uint64) {
        return jobs.getJob(id).runDeadlineBlock;
    }

    function _assertRefs(DatasetRef[] memory got, DatasetRef[] memory want) internal pure {
        assertEq(got.length, want.length, "dataset count");
        for (uint256 i = 0; i < want.length; i++) {
            assertEq(got[i].owner, want[i].owner, "dataset owner");
            assertEq(got[i].name, want[i].name, "dataset name");
        }
    }
}

contract JobRegistryTest is JobFixtures {
    function setUp() public override {
        super.setUp();
        _registerDataset(alice, DS_A, DataRegistry.Visibility.Public);
        _registerDataset(bob, DS_B, DataRegistry.Visibility.Public);
        _registerDataset(bob, DS_L, DataRegistry.Visibility.Listed);
        vm.prank(bob);
        data.grant(DS_L, alice);
        _registerDataset(carol, DS_C, DataRegistry.Visibility.Public);
    }

    function _approved() internal returns (uint256 id) {
        id = _proposeJob();
        _approveAll(id);
    }

    function _approvedTrio() internal returns (uint256 id) {
        id = _proposeJob(alice, _trio(alice, bob, carol), _none());
        _approveAll(id);
    }

    function _call(address who, bytes memory payload) internal {
        vm.prank(who);
        (bool ok, bytes memory ret) = address(jobs).call(payload);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
    }

    // ------------------------------------------------------------------- gas

    /// @dev The gas figure of this test (.gas-snapshot) is the cost of a whole two-party job: budget 800k.
    function test_gas_twoPartyLifecycle() public {
        vm.prank(alice);
        uint256 id = jobs.propose(
            "psi",
            _pair(alice, bob),
            _refs(alice, DS_A, bob, DS_B),
            '{"protocol":"ecdh","reveal":"both"}',
            uint64(block.number) + DEADLINE_DELTA,
            RUN_BLOCKS
        );
        vm.prank(alice);
        jobs.approve(id);
        vm.prank(bob);
        jobs.approve(id);
        vm.prank(alice);
        jobs.reportStarted(id);
        vm.prank(bob);
        jobs.reportStarted(id);
        vm.prank(alice);
        jobs.reportCompleted(id, keccak256("alice-result"), "");
        vm.prank(bob);
        jobs.reportCompleted(id, keccak256("bob-result"), "");
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Completed));
    }

    /// @dev The same lifecycle as seven separate transactions, as a chain charges them: each call starts
    /// from cold storage and accounts (`vm.cool`) and pays the 21 000 base and its calldata (EIP-2028). The
    /// measurement also counts the test's own call into the registry (about 2 600 per cold account), so
    /// the real figure is a little lower. Budget: 800k.
    function test_gas_twoPartyLifecycleAsTransactions() public {
        uint256 total = _asTransaction(
            alice,
            abi.encodeCall(
                jobs.propose,
                (
                    "psi",
                    _pair(alice, bob),
                    _refs(alice, DS_A, bob, DS_B),
                    '{"protocol":"ecdh","reveal":"both"}',
                    uint64(block.number) + DEADLINE_DELTA,
                    RUN_BLOCKS
                )
            )
        );
        uint256 id = jobs.jobCount();
        total += _asTransaction(alice, abi.encodeCall(jobs.approve, (id)));
        total += _asTransaction(bob, abi.encodeCall(jobs.approve, (id)));
        total += _asTransaction(alice, abi.encodeCall(jobs.reportStarted, (id)));
        total += _asTransaction(bob, abi.encodeCall(jobs.reportStarted, (id)));
        total += _asTransaction(alice, abi.encodeCall(jobs.reportCompleted, (id, keccak256("alice-result"), "")));
        total += _asTransaction(bob, abi.encodeCall(jobs.reportCompleted, (id, keccak256("bob-result"), "")));
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Completed));
        emit log_named_uint("two-party lifecycle as seven transactions (gas)", total);
        // `forge coverage` compiles without the optimizer: its gas is not the deployed code's.
        if (!vm.isContext(VmSafe.ForgeContext.Coverage)) assertLe(total, 800_000);
    }

    function _asTransaction(address from, bytes memory input) internal returns (uint256 used) {
        vm.cool(address(jobs));
        vm.cool(address(data));
        vm.cool(address(consortium));
        vm.prank(from);
        uint256 before = gasleft();
        (bool ok,) = address(jobs).call(input);
        used = before - gasleft();
        assertTrue(ok, "the call reverted");
        used += 21_000;
        for (uint256 i = 0; i < input.length; i++) {
            used += input[i] == 0 ? 4 : 16;
        }
    }

    // ---------------------------------------------------------------- propose

    function test_constants() public view {
        assertEq(address(jobs.consortium()), address(consortium));
        assertEq(address(jobs.dataRegistry()), address(data));
        assertEq(jobs.MAX_PARTICIPANTS(), 16);
        assertEq(jobs.MAX_DATASETS(), 16);
        assertEq(jobs.MAX_KIND_LENGTH(), 32);
        assertEq(jobs.MAX_PARAMS_LENGTH(), 16_384);
        assertEq(jobs.MAX_TEXT_LENGTH(), 4096);
        assertEq(jobs.MAX_PAGE(), 100);
        assertEq(jobs.jobCount(), 0);
    }

    function test_propose() public {
        address[] memory ps = _pair(alice, bob);
        DatasetRef[] memory ds = _refs(alice, DS_A, bob, DS_L);
        bytes32[] memory digests = _digests(ds);
        assertTrue(digests[0] != bytes32(0) && digests[0] != digests[1]);
        vm.expectEmit(true, true, true, true);
        emit JobProposed(1, carol, "vertical-lr", ps, ds, digests, '{"epochs":3}', 1050, 77);
        vm.prank(carol);
        uint256 id = jobs.propose("vertical-lr", ps, ds, '{"epochs":3}', 1050, 77);
        assertEq(id, 1);
        assertEq(jobs.jobCount(), 1);
        JobRegistry.Job memory j = jobs.getJob(id);
        assertEq(j.id, 1);
        assertEq(j.kind, "vertical-lr");
        assertEq(j.proposer, carol, "the proposer need not participate");
        assertEq(j.participants.length, 2);
        assertEq(j.participants[0], alice);
        assertEq(j.participants[1], bob);
        _assertRefs(j.datasets, ds);
        assertEq(j.paramsHash, keccak256('{"epochs":3}'), "only the params' hash is stored");
        assertEq(j.deadlineBlock, 1050);
        assertEq(j.runBlocks, 77);
        assertEq(j.runDeadlineBlock, 0, "the run window starts at the approval");
        assertEq(uint256(j.status), uint256(JobRegistry.JobStatus.Proposed));
        assertEq(j.proposedBlock, 1000);
        assertEq(j.approvedBlock, 0);
        assertEq(j.closedBlock, 0);
        assertEq(j.approvals, 0);
        assertEq(j.completions, 0);
        assertEq(_state(id, alice), uint256(JobRegistry.ParticipantState.Pending));
        assertEq(_state(id, bob), uint256(JobRegistry.ParticipantState.Pending));
        assertEq(_state(id, carol), uint256(JobRegistry.ParticipantState.None));
    }

    function test_propose_digestsFollowUpdatesBeforeProposal() public {
        bytes32 before = _digest(alice, DS_A);
        _update(alice, DS_A, 1);
        bytes32 current = _digest(alice, DS_A);
        assertTrue(before != current);
        DatasetRef[] memory ds = _refs(alice, DS_A);
        bytes32[] memory digests = new bytes32[](1);
        digests[0] = current;
        vm.expectEmit(true, true, true, true);
        emit JobProposed(1, alice, "psi", _pair(alice, bob), ds, digests, PARAMS, 1100, RUN_BLOCKS);
        uint256 id = _proposeJob(alice, _pair(alice, bob), ds);
        // an update before the proposal does not stand in the way of the approvals
        _approveAll(id);
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Approved));
    }

    function test_propose_sameNameOfDifferentOwners() public {
        _registerDataset(bob, DS_A, DataRegistry.Visibility.Public);
        DatasetRef[] memory ds = _refs(alice, DS_A, bob, DS_A);
        uint256 id = _proposeJob(alice, _pair(alice, bob), ds);
        _assertRefs(jobs.getJob(id).datasets, ds);
        assertTrue(_digest(alice, DS_A) != _digest(bob, DS_A));
    }

    function test_propose_windowsAtTheirCaps() public {
        uint64 maxApproval = consortium.maxApprovalBlocks();
        uint64 maxRun = consortium.maxRunBlocks();
        vm.prank(alice);
        uint256 id = jobs.propose("psi", _pair(alice, bob), _none(), "", uint64(block.number) + maxApproval, maxRun);
        JobRegistry.Job memory j = jobs.getJob(id);
        assertEq(j.deadlineBlock, block.number + maxApproval);
        assertEq(j.runBlocks, maxRun);
        vm.prank(alice);
        jobs.propose("psi", _pair(alice, bob), _none(), "", uint64(block.number) + 1, 1);
    }

    function testRevert_propose_notActiveMember() public {
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, outsider));
        _proposeJob(outsider, _pair(alice, bob), _none());
        _suspend(alice);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, alice));
        _proposeJob(alice, _pair(bob, carol), _none());
    }

    function testRevert_propose_participantNotActive() public {
        _suspend(bob);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, bob));
        _proposeJob(alice, _pair(alice, bob), _none());
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, outsider));
        _proposeJob(alice, _pair(alice, outsider), _none());
    }

    function testRevert_propose_invalidKind() public {
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidKind.selector, 0));
        vm.prank(alice);
        jobs.propose("", _pair(alice, bob), _none(), "", 1001, 1);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidKind.selector, 33));
        vm.prank(alice);
        jobs.propose(_text(33), _pair(alice, bob), _none(), "", 1001, 1);
    }

    function testRevert_propose_invalidParams() public {
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidParams.selector, 16_385));
        vm.prank(alice);
        jobs.propose("psi", _pair(alice, bob), _none(), _text(16_385), 1001, 1);
    }

    function testRevert_propose_invalidParticipantCount() public {
        address[] memory one = new address[](1);
        one[0] = alice;
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidParticipantCount.selector, 0));
        _proposeJob(alice, new address[](0), _none());
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidParticipantCount.selector, 1));
        _proposeJob(alice, one, _none());
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidParticipantCount.selector, 17));
        _proposeJob(alice, new address[](17), _none());
    }

    function testRevert_propose_invalidDatasetCount() public {
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidDatasetCount.selector, 17));
        _proposeJob(alice, _pair(alice, bob), new DatasetRef[](17));
    }

    function testRevert_propose_deadlineInPast() public {
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.DeadlineInPast.selector, 1000, 1000));
        vm.prank(alice);
        jobs.propose("psi", _pair(alice, bob), _none(), "", 1000, 1);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.DeadlineInPast.selector, 999, 1000));
        vm.prank(alice);
        jobs.propose("psi", _pair(alice, bob), _none(), "", 999, 1);
    }

    function testRevert_propose_deadlineTooFar() public {
        uint256 latest = block.number + consortium.maxApprovalBlocks();
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.DeadlineTooFar.selector, latest + 1, latest));
        vm.prank(alice);
        jobs.propose("psi", _pair(alice, bob), _none(), "", uint64(latest + 1), 1);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.DeadlineTooFar.selector, type(uint64).max, latest));
        vm.prank(alice);
        jobs.propose("psi", _pair(alice, bob), _none(), "", type(uint64).max, 1);
    }

    function testRevert_propose_invalidRunBlocks() public {
        uint64 maxRun = consortium.maxRunBlocks();
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidRunBlocks.selector, 0, maxRun));
        vm.prank(alice);
        jobs.propose("psi", _pair(alice, bob), _none(), "", 1001, 0);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidRunBlocks.selector, maxRun + 1, maxRun));
        vm.prank(alice);
        jobs.propose("psi", _pair(alice, bob), _none(), "", 1001, maxRun + 1);
    }

    function test_propose_windowCapsFollowGovernance() public {
        _pass(Consortium.ProposalKind.SetMaxApprovalBlocks, address(0), 50);
        _pass(Consortium.ProposalKind.SetMaxRunBlocks, address(0), 10);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.DeadlineTooFar.selector, 1051, 1050));
        vm.prank(alice);
        jobs.propose("psi", _pair(alice, bob), _none(), "", 1051, 10);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidRunBlocks.selector, 11, 10));
        vm.prank(alice);
        jobs.propose("psi", _pair(alice, bob), _none(), "", 1050, 11);
        vm.prank(alice);
        uint256 id = jobs.propose("psi", _pair(alice, bob), _none(), "", 1050, 10);
        // a cap lowered after the proposal does not shorten the job's windows
        _pass(Consortium.ProposalKind.SetMaxRunBlocks, address(0), 1);
        vm.roll(1050);
        _approveAll(id);
        assertEq(_runDeadline(id), 1060);
    }

    function testFuzz_propose_windows(uint64 maxApproval, uint64 maxRun, uint64 delta, uint64 runBlocks) public {
        maxApproval = uint64(bound(maxApproval, 1, 1_000_000));
        maxRun = uint64(bound(maxRun, 1, 1_000_000));
        delta = uint64(bound(delta, 0, 2 * uint256(maxApproval)));
        runBlocks = uint64(bound(runBlocks, 0, 2 * uint256(maxRun)));
        _pass(Consortium.ProposalKind.SetMaxApprovalBlocks, address(0), maxApproval);
        _pass(Consortium.ProposalKind.SetMaxRunBlocks, address(0), maxRun);
        uint64 deadline = uint64(block.number) + delta;
        if (delta == 0) {
            vm.expectRevert(abi.encodeWithSelector(JobRegistry.DeadlineInPast.selector, deadline, block.number));
        } else if (delta > maxApproval) {
            vm.expectRevert(
                abi.encodeWithSelector(JobRegistry.DeadlineTooFar.selector, deadline, block.number + maxApproval)
            );
        } else if (runBlocks == 0 || runBlocks > maxRun) {
            vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidRunBlocks.selector, runBlocks, maxRun));
        }
        vm.prank(alice);
        jobs.propose("psi", _pair(alice, bob), _none(), "", deadline, runBlocks);
        bool ok = delta != 0 && delta <= maxApproval && runBlocks != 0 && runBlocks <= maxRun;
        assertEq(jobs.jobCount(), ok ? 1 : 0);
    }

    function testRevert_propose_duplicateParticipant() public {
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.DuplicateParticipant.selector, alice));
        _proposeJob(alice, _trio(alice, bob, alice), _none());
    }

    function testRevert_propose_duplicateDataset() public {
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.DuplicateDataset.selector, alice, DS_A));
        _proposeJob(alice, _pair(alice, bob), _refs(alice, DS_A, alice, DS_A));
        DatasetRef[] memory ds = new DatasetRef[](3);
        ds[0] = _ref(bob, DS_B);
        ds[1] = _ref(alice, DS_A);
        ds[2] = _ref(bob, DS_B);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.DuplicateDataset.selector, bob, DS_B));
        _proposeJob(alice, _pair(alice, bob), ds);
    }

    function testRevert_propose_datasetOwnerNotParticipant() public {
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.DatasetOwnerNotParticipant.selector, alice, DS_A));
        _proposeJob(bob, _pair(bob, carol), _refs(bob, DS_B, alice, DS_A));
        // a dataset name that only another member uses is not the participant's
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.DatasetOwnerNotParticipant.selector, outsider, DS_A));
        _proposeJob(bob, _pair(bob, carol), _refs(outsider, DS_A));
    }

    function testRevert_propose_datasetNotActive() public {
        bytes32 unknown = keccak256("nope");
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.DatasetNotActive.selector, alice, unknown));
        _proposeJob(alice, _pair(alice, bob), _refs(alice, unknown));
        // bob has no dataset called DS_A
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.DatasetNotActive.selector, bob, DS_A));
        _proposeJob(alice, _pair(alice, bob), _refs(bob, DS_A));
        vm.prank(alice);
        data.retire(DS_A);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.DatasetNotActive.selector, alice, DS_A));
        _proposeJob(alice, _pair(alice, bob), _refs(alice, DS_A));
    }

    function testRevert_propose_datasetNotVisible() public {
        // DS_L is Listed and granted to alice only
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.DatasetNotVisible.selector, bob, DS_L, carol));
        _proposeJob(bob, _trio(alice, bob, carol), _refs(bob, DS_L));
        vm.prank(alice);
        data.setVisibility(DS_A, DataRegistry.Visibility.Private);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.DatasetNotVisible.selector, alice, DS_A, bob));
        _proposeJob(alice, _pair(alice, bob), _refs(alice, DS_A));
    }

    function testFuzz_propose_visibility(uint8 vis, bool granted) public {
        bytes32 ds = keccak256("fuzz-ds");
        DataRegistry.Visibility v = DataRegistry.Visibility(bound(vis, 0, 2));
        _registerDataset(alice, ds, v);
        if (granted) {
            vm.prank(alice);
            data.grant(ds, bob);
        }
        bool visible = v == DataRegistry.Visibility.Public || (v == DataRegistry.Visibility.Listed && granted);
        if (!visible) vm.expectRevert(abi.encodeWithSelector(DataRegistry.DatasetNotVisible.selector, alice, ds, bob));
        _proposeJob(bob, _pair(alice, bob), _refs(alice, ds));
        assertEq(jobs.jobCount(), visible ? 1 : 0);
    }

    /// forge-config: default.fuzz.runs = 48
    function testFuzz_propose_participantCount(uint256 n) public {
        n = bound(n, 2, 16);
        address[] memory ps = _newMembers(n);
        uint256 id = _proposeJob(ps[0], ps, _none());
        assertEq(jobs.getJob(id).participants.length, n);
        for (uint256 i = 0; i < n; i++) {
            vm.prank(ps[i]);
            jobs.approve(id);
            JobRegistry.JobStatus expected =
                i + 1 == n ? JobRegistry.JobStatus.Approved : JobRegistry.JobStatus.Proposed;
            assertEq(_statusOf(id), uint256(expected));
        }
        assertEq(jobs.getJob(id).approvals, n);
    }

    function testFuzz_propose_lengths(uint256 kindLen, uint256 paramsLen) public {
        kindLen = bound(kindLen, 0, 40);
        paramsLen = bound(paramsLen, 0, 16_400);
        bool ok = kindLen != 0 && kindLen <= 32 && paramsLen <= 16_384;
        if (kindLen == 0 || kindLen > 32) {
            vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidKind.selector, kindLen));
        } else if (paramsLen > 16_384) {
            vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidParams.selector, paramsLen));
        }
        vm.prank(alice);
        jobs.propose(_text(kindLen), _pair(alice, bob), _none(), _text(paramsLen), 1001, 1);
        if (ok) {
            JobRegistry.Job memory j = jobs.getJob(1);
            assertEq(j.kind, _text(kindLen));
            assertEq(j.paramsHash, keccak256(_fill(paramsLen)));
        }
    }

    function testFuzz_propose_deadline(uint64 deadline) public {
        bool ok = deadline > block.number && deadline <= block.number + consortium.maxApprovalBlocks();
        if (deadline <= block.number) {
            vm.expectRevert(abi.encodeWithSelector(JobRegistry.DeadlineInPast.selector, deadline, block.number));
        } else if (!ok) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    JobRegistry.DeadlineTooFar.selector, deadline, block.number + consortium.maxApprovalBlocks()
                )
            );
        }
        vm.prank(alice);
        jobs.propose("psi", _pair(alice, bob), _none(), "", deadline, 1);
        assertEq(jobs.jobCount(), ok ? 1 : 0);
    }

    /// forge-config: default.fuzz.runs = 48
    function testFuzz_propose_datasetCount(uint256 n) public {
        n = bound(n, 0, 16);
        DatasetRef[] memory ds = new DatasetRef[](n);
        for (uint256 i = 0; i < n; i++) {
            ds[i] = _ref(i % 2 == 0 ? alice : bob, bytes32(i + 1));
            _registerDataset(ds[i].owner, ds[i].name, DataRegistry.Visibility.Public);
        }
        bytes32[] memory digests = _digests(ds);
        vm.expectEmit(true, true, true, true);
        emit JobProposed(1, carol, "psi", _pair(alice, bob), ds, digests, PARAMS, 1100, RUN_BLOCKS);
        uint256 id = _proposeJob(carol, _pair(alice, bob), ds);
        _assertRefs(jobs.getJob(id).datasets, ds);
        _approveAll(id);
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Approved));
    }

    // ---------------------------------------------------------------- approve

    function test_approve() public {
        address[] memory ps = _pair(alice, bob);
        // newer dataset first: the job binds the newest description of them all
        DatasetRef[] memory ds = _refs(bob, DS_L, alice, DS_A);
        uint256 id = _proposeJob(alice, ps, ds);
        vm.roll(1010);
        vm.expectEmit(true, true, true, true);
        emit JobApprovalGiven(id, alice, 1, 2);
        vm.prank(alice);
        jobs.approve(id);
        assertEq(_state(id, alice), uint256(JobRegistry.ParticipantState.Approved));
        assertEq(jobs.participantReport(id, alice).updatedBlock, 1010);
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Proposed));
        assertEq(jobs.getJob(id).approvals, 1);

        vm.roll(1020);
        vm.expectEmit(true, true, true, true);
        emit JobApprovalGiven(id, bob, 2, 2);
        vm.expectEmit(true, true, true, true);
        emit JobApproved(id, "psi", ps, ds, keccak256(bytes(PARAMS)), 1020 + RUN_BLOCKS);
        vm.prank(bob);
        jobs.approve(id);
        JobRegistry.Job memory j = jobs.getJob(id);
        assertEq(uint256(j.status), uint256(JobRegistry.JobStatus.Approved));
        assertEq(j.approvedBlock, 1020);
        assertEq(j.runDeadlineBlock, 1020 + RUN_BLOCKS);
        assertEq(j.approvals, 2);
        assertEq(j.closedBlock, 0);
        assertEq(_state(id, bob), uint256(JobRegistry.ParticipantState.Approved));
    }

    function test_approve_atDeadlineInclusive() public {
        uint256 id = _proposeJob();
        vm.roll(1000 + DEADLINE_DELTA);
        _approveAll(id);
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Approved));
    }

    function testRevert_approve_unknownJob() public {
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.UnknownJob.selector, 0));
        vm.prank(alice);
        jobs.approve(0);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.UnknownJob.selector, 1));
        vm.prank(alice);
        jobs.approve(1);
    }

    function testRevert_approve_notProposed() public {
        uint256 id = _approved();
        vm.expectRevert(
            abi.encodeWithSelector(JobRegistry.InvalidJobStatus.selector, id, JobRegistry.JobStatus.Approved)
        );
        vm.prank(alice);
        jobs.approve(id);
    }

    function testRevert_approve_deadlinePassed() public {
        uint256 id = _proposeJob();
        vm.roll(1000 + DEADLINE_DELTA + 1);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.DeadlinePassed.selector, id, 1000 + DEADLINE_DELTA));
        vm.prank(alice);
        jobs.approve(id);
    }

    function testRevert_approve_notParticipant() public {
        uint256 id = _proposeJob();
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.NotParticipant.selector, id, carol));
        vm.prank(carol);
        jobs.approve(id);
    }

    function testRevert_approve_participantSuspended() public {
        uint256 id = _proposeJob();
        _suspend(alice);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, alice));
        vm.prank(alice);
        jobs.approve(id);
    }

    function testRevert_approve_alreadyResponded() public {
        uint256 id = _proposeJob(alice, _trio(alice, bob, carol), _none());
        vm.prank(alice);
        jobs.approve(id);
        vm.expectRevert(
            abi.encodeWithSelector(
                JobRegistry.AlreadyResponded.selector, id, alice, JobRegistry.ParticipantState.Approved
            )
        );
        vm.prank(alice);
        jobs.approve(id);
    }

    function testRevert_approve_lastApprovalRechecksParticipants() public {
        uint256 id = _proposeJob(alice, _trio(alice, bob, carol), _none());
        vm.prank(alice);
        jobs.approve(id);
        vm.prank(bob);
        jobs.approve(id);
        _suspend(alice);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, alice));
        vm.prank(carol);
        jobs.approve(id);
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Proposed));
        // undone before the deadline: the job can still be approved
        _reinstate(alice);
        vm.prank(carol);
        jobs.approve(id);
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Approved));
    }

    function testRevert_approve_lastApprovalRechecksDatasets() public {
        uint256 id = _proposeJob(alice, _pair(alice, bob), _refs(alice, DS_A, bob, DS_L));
        vm.prank(alice);
        jobs.approve(id);
        vm.prank(bob);
        data.revoke(DS_L, alice);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.DatasetNotVisible.selector, bob, DS_L, alice));
        vm.prank(bob);
        jobs.approve(id);
        vm.prank(alice);
        data.retire(DS_A);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.DatasetNotActive.selector, alice, DS_A));
        vm.prank(bob);
        jobs.approve(id);
    }

    function testFuzz_approve_deadline(uint64 delta, uint64 wait) public {
        delta = uint64(bound(delta, 1, 10_000));
        wait = uint64(bound(wait, 0, 20_000));
        uint64 deadline = uint64(block.number) + delta;
        vm.prank(alice);
        uint256 id = jobs.propose("psi", _pair(alice, bob), _none(), "", deadline, 1);
        vm.roll(block.number + wait);
        if (block.number > deadline) {
            vm.expectRevert(abi.encodeWithSelector(JobRegistry.DeadlinePassed.selector, id, deadline));
            vm.prank(alice);
            jobs.approve(id);
            jobs.expire(id);
            assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Expired));
        } else {
            vm.expectRevert(abi.encodeWithSelector(JobRegistry.DeadlineNotPassed.selector, id, deadline));
            jobs.expire(id);
            _approveAll(id);
            assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Approved));
        }
    }

    function testFuzz_approve_nonParticipantReverts(address caller) public {
        vm.assume(caller != alice && caller != bob);
        uint256 id = _proposeJob();
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.NotParticipant.selector, id, caller));
        vm.prank(caller);
        jobs.approve(id);
    }

    // ------------------------------------------- approvals bind the datasets

    /// @dev Attack: the owner changes a dataset's description after the others saw the proposal, hoping
    /// they approve a job over data they never reviewed. Every remaining approval fails, naming the dataset.
    function test_attack_datasetUpdatedAfterProposal() public {
        DatasetRef[] memory ds = new DatasetRef[](3);
        ds[0] = _ref(alice, DS_A);
        ds[1] = _ref(bob, DS_B);
        ds[2] = _ref(carol, DS_C);
        uint256 id = _proposeJob(alice, _trio(alice, bob, carol), ds);
        vm.prank(alice);
        jobs.approve(id);
        _update(bob, DS_B, 0);
        bytes memory err = abi.encodeWithSelector(JobRegistry.DatasetChanged.selector, id, bob, DS_B);
        vm.expectRevert(err);
        vm.prank(carol);
        jobs.approve(id);
        vm.expectRevert(err);
        vm.prank(bob);
        jobs.approve(id);
        // restoring the old description does not help: it is a new version
        DataRegistry.Dataset memory d = data.getDataset(bob, DS_B);
        vm.prank(bob);
        data.update(DS_B, keccak256(abi.encode(DS_B, "schema")), d.rowCount, d.metadata);
        vm.expectRevert(err);
        vm.prank(carol);
        jobs.approve(id);
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Proposed));
        assertEq(jobs.getJob(id).approvals, 1);
        // the job can still be rejected; a new proposal binds the new description
        vm.prank(carol);
        jobs.reject(id, "dataset changed");
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Rejected));
        uint256 again = _proposeJob(alice, _trio(alice, bob, carol), ds);
        _approveAll(again);
        assertEq(_statusOf(again), uint256(JobRegistry.JobStatus.Approved));
    }

    function testFuzz_attack_datasetChanged(uint256 which, uint256 field, uint256 approvedBefore) public {
        which = bound(which, 0, 3);
        field = bound(field, 0, 2);
        approvedBefore = bound(approvedBefore, 0, 2);
        address[] memory ps = _trio(alice, bob, carol);
        DatasetRef[] memory ds = new DatasetRef[](4);
        ds[0] = _ref(alice, DS_A);
        ds[1] = _ref(bob, DS_B);
        ds[2] = _ref(bob, DS_L);
        ds[3] = _ref(carol, DS_C);
        vm.prank(bob);
        data.grant(DS_L, carol);
        uint256 id = _proposeJob(carol, ps, ds);
        for (uint256 i = 0; i < approvedBefore; i++) {
            vm.prank(ps[i]);
            jobs.approve(id);
        }
        _update(ds[which].owner, ds[which].name, field);
        for (uint256 i = approvedBefore; i < 3; i++) {
            vm.expectRevert(
                abi.encodeWithSelector(JobRegistry.DatasetChanged.selector, id, ds[which].owner, ds[which].name)
            );
            vm.prank(ps[i]);
            jobs.approve(id);
        }
        assertEq(jobs.getJob(id).approvals, approvedBefore);
    }

    function test_datasetChanged_unrelatedUpdatesIgnored() public {
        uint256 id = _proposeJob(alice, _pair(alice, bob), _refs(alice, DS_A));
        // datasets the job does not read may change, even those of its participants
        _update(bob, DS_B, 1);
        _update(carol, DS_C, 2);
        _approveAll(id);
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Approved));
    }

    function test_datasetChanged_visibilityIsCheckedAtLastApproval() public {
        uint256 id = _proposeJob(alice, _trio(alice, bob, carol), _refs(alice, DS_A, bob, DS_B));
        vm.prank(bob);
        data.setVisibility(DS_B, DataRegistry.Visibility.Listed);
        vm.prank(bob);
        data.grant(DS_B, alice);
        vm.prank(bob);
        data.grant(DS_B, carol);
        // a visibility change is no description change
        vm.prank(alice);
        jobs.approve(id);
        vm.prank(alice);
        data.setVisibility(DS_A, DataRegistry.Visibility.Private);
        vm.prank(bob);
        jobs.approve(id);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.DatasetNotVisible.selector, alice, DS_A, bob));
        vm.prank(carol);
        jobs.approve(id);
        vm.prank(alice);
        data.setVisibility(DS_A, DataRegistry.Visibility.Public);
        vm.prank(carol);
        jobs.approve(id);
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Approved));
    }

    // ----------------------------------------------------------------- reject

    function test_reject() public {
        uint256 id = _proposeJob();
        vm.prank(alice);
        jobs.approve(id);
        vm.roll(1020);
        vm.expectEmit(true, true, true, true);
        emit JobRejected(id, bob, "not now");
        vm.prank(bob);
        jobs.reject(id, "not now");
        JobRegistry.Job memory j = jobs.getJob(id);
        assertEq(uint256(j.status), uint256(JobRegistry.JobStatus.Rejected));
        assertEq(j.closedBlock, 1020);
        JobRegistry.ParticipantReport memory r = jobs.participantReport(id, bob);
        assertEq(uint256(r.state), uint256(JobRegistry.ParticipantState.Rejected));
        assertEq(r.text, "not now");
        assertEq(r.updatedBlock, 1020);
        assertEq(r.commitment, bytes32(0));
    }

    function test_reject_maxReason() public {
        uint256 id = _proposeJob();
        vm.prank(bob);
        jobs.reject(id, _text(4096));
        assertEq(jobs.participantReport(id, bob).text, _text(4096));
    }

    function testRevert_reject_paths() public {
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.UnknownJob.selector, 1));
        vm.prank(alice);
        jobs.reject(1, "");

        uint256 id = _proposeJob();
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.NotParticipant.selector, id, carol));
        vm.prank(carol);
        jobs.reject(id, "");

        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidText.selector, 4097));
        vm.prank(bob);
        jobs.reject(id, _text(4097));

        vm.prank(alice);
        jobs.approve(id);
        vm.expectRevert(
            abi.encodeWithSelector(
                JobRegistry.AlreadyResponded.selector, id, alice, JobRegistry.ParticipantState.Approved
            )
        );
        vm.prank(alice);
        jobs.reject(id, "");

        vm.roll(1000 + DEADLINE_DELTA + 1);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.DeadlinePassed.selector, id, 1000 + DEADLINE_DELTA));
        vm.prank(bob);
        jobs.reject(id, "");
    }

    function testRevert_reject_afterRejected() public {
        uint256 id = _proposeJob();
        vm.prank(alice);
        jobs.reject(id, "");
        vm.expectRevert(
            abi.encodeWithSelector(JobRegistry.InvalidJobStatus.selector, id, JobRegistry.JobStatus.Rejected)
        );
        vm.prank(bob);
        jobs.reject(id, "");
    }

    function testRevert_reject_suspended() public {
        uint256 id = _proposeJob();
        _suspend(bob);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, bob));
        vm.prank(bob);
        jobs.reject(id, "");
    }

    // ----------------------------------------------------------------- cancel

    function test_cancel() public {
        uint256 id = _proposeJob();
        vm.roll(1030);
        vm.expectEmit(true, true, true, true);
        emit JobCancelled(id, alice);
        vm.prank(alice);
        jobs.cancel(id);
        JobRegistry.Job memory j = jobs.getJob(id);
        assertEq(uint256(j.status), uint256(JobRegistry.JobStatus.Cancelled));
        assertEq(j.closedBlock, 1030);
    }

    function test_cancel_evenIfProposerSuspended() public {
        uint256 id = _proposeJob(carol, _pair(alice, bob), _none());
        _suspend(carol);
        vm.prank(carol);
        jobs.cancel(id);
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Cancelled));
    }

    function testRevert_cancel_paths() public {
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.UnknownJob.selector, 1));
        vm.prank(alice);
        jobs.cancel(1);
        uint256 id = _proposeJob();
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.NotProposer.selector, id, bob));
        vm.prank(bob);
        jobs.cancel(id);
        _approveAll(id);
        vm.expectRevert(
            abi.encodeWithSelector(JobRegistry.InvalidJobStatus.selector, id, JobRegistry.JobStatus.Approved)
        );
        vm.prank(alice);
        jobs.cancel(id);
    }

    // ----------------------------------------------------------------- expire

    function test_expire() public {
        uint256 id = _proposeJob();
        vm.roll(1000 + DEADLINE_DELTA + 1);
        vm.expectEmit(true, true, true, true);
        emit JobExpired(id, outsider);
        vm.prank(outsider);
        jobs.expire(id);
        JobRegistry.Job memory j = jobs.getJob(id);
        assertEq(uint256(j.status), uint256(JobRegistry.JobStatus.Expired));
        assertEq(j.closedBlock, 1000 + DEADLINE_DELTA + 1);
    }

    function testRevert_expire_paths() public {
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.UnknownJob.selector, 7));
        jobs.expire(7);
        uint256 id = _proposeJob();
        vm.roll(1000 + DEADLINE_DELTA);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.DeadlineNotPassed.selector, id, 1000 + DEADLINE_DELTA));
        jobs.expire(id);
        vm.prank(alice);
        jobs.cancel(id);
        vm.roll(1000 + DEADLINE_DELTA + 1);
        vm.expectRevert(
            abi.encodeWithSelector(JobRegistry.InvalidJobStatus.selector, id, JobRegistry.JobStatus.Cancelled)
        );
        jobs.expire(id);
    }

    // ------------------------------------------------------- run deadline

    /// @dev Attack: after the approval one participant never reports, so the job would stay Running
    /// forever. After the run deadline anyone closes it.
    function test_attack_jobHangsForever() public {
        uint256 id = _proposeJob();
        vm.roll(1010);
        _approveAll(id);
        uint64 runDeadline = _runDeadline(id);
        assertEq(runDeadline, 1010 + RUN_BLOCKS);
        vm.prank(alice);
        jobs.reportStarted(id);
        vm.prank(alice);
        jobs.reportCompleted(id, RESULT, "");
        // bob stays silent
        vm.roll(runDeadline);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.RunDeadlineNotPassed.selector, id, runDeadline));
        vm.prank(outsider);
        jobs.timeOut(id);

        vm.roll(runDeadline + 1);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.RunDeadlinePassed.selector, id, runDeadline));
        vm.prank(bob);
        jobs.reportCompleted(id, RESULT, "");
        vm.expectEmit(true, true, true, true);
        emit JobTimedOut(id, outsider);
        vm.prank(outsider);
        jobs.timeOut(id);
        JobRegistry.Job memory j = jobs.getJob(id);
        assertEq(uint256(j.status), uint256(JobRegistry.JobStatus.TimedOut));
        assertEq(j.closedBlock, runDeadline + 1);
        assertEq(j.completions, 1);
        assertEq(_state(id, alice), uint256(JobRegistry.ParticipantState.Completed));
        assertEq(_state(id, bob), uint256(JobRegistry.ParticipantState.Approved));

        bytes memory closed =
            abi.encodeWithSelector(JobRegistry.InvalidJobStatus.selector, id, JobRegistry.JobStatus.TimedOut);
        vm.expectRevert(closed);
        jobs.timeOut(id);
        vm.expectRevert(closed);
        vm.prank(bob);
        jobs.reportFailed(id, JobRegistry.FailureCategory.Timeout, DETAIL);
    }

    function test_timeOut_withoutAnyReport() public {
        uint256 id = _approved();
        vm.roll(_runDeadline(id) + 1);
        vm.prank(carol);
        jobs.timeOut(id);
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.TimedOut));
    }

    function testRevert_timeOut_paths() public {
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.UnknownJob.selector, 1));
        jobs.timeOut(1);
        uint256 id = _proposeJob();
        vm.roll(block.number + DEADLINE_DELTA + RUN_BLOCKS + 10);
        vm.expectRevert(
            abi.encodeWithSelector(JobRegistry.InvalidJobStatus.selector, id, JobRegistry.JobStatus.Proposed)
        );
        jobs.timeOut(id);
        uint256 done = _approved();
        vm.prank(alice);
        jobs.reportCompleted(done, RESULT, "");
        vm.prank(bob);
        jobs.reportCompleted(done, RESULT, "");
        vm.roll(_runDeadline(done) + 1);
        vm.expectRevert(
            abi.encodeWithSelector(JobRegistry.InvalidJobStatus.selector, done, JobRegistry.JobStatus.Completed)
        );
        jobs.timeOut(done);
    }

    /// @dev After the run deadline a failure report is refused, from a participant that started or not, its
    /// operator key or an inactive participant: only the time-out can close the job.
    function testRevert_reportFailed_afterRunDeadline() public {
        _authorise(bob, opB);
        uint256 id = _approvedTrio();
        vm.prank(alice);
        jobs.reportStarted(id);
        _suspend(carol);
        uint64 runDeadline = _runDeadline(id);
        vm.roll(runDeadline + 1);
        bytes memory late = abi.encodeWithSelector(JobRegistry.RunDeadlinePassed.selector, id, runDeadline);
        vm.expectRevert(late);
        vm.prank(bob);
        jobs.reportStarted(id);
        vm.expectRevert(late);
        vm.prank(alice);
        jobs.reportFailed(id, JobRegistry.FailureCategory.Timeout, DETAIL); // started
        vm.expectRevert(late);
        vm.prank(bob);
        jobs.reportFailed(id, JobRegistry.FailureCategory.Internal, DETAIL); // approved only
        vm.expectRevert(late);
        vm.prank(opB);
        jobs.reportFailed(id, JobRegistry.FailureCategory.Internal, DETAIL); // by its operator key
        vm.expectRevert(late);
        vm.prank(carol);
        jobs.reportFailed(id, JobRegistry.FailureCategory.Membership, DETAIL); // suspended
        vm.roll(runDeadline + 100);
        vm.expectRevert(late);
        vm.prank(alice);
        jobs.reportFailed(id, JobRegistry.FailureCategory.Timeout, bytes32(0));
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Running));
        assertEq(_state(id, alice), uint256(JobRegistry.ParticipantState.Started));
        assertEq(_state(id, bob), uint256(JobRegistry.ParticipantState.Approved));
        assertEq(_state(id, carol), uint256(JobRegistry.ParticipantState.Approved));

        // the time-out still closes it, and then nothing else can
        vm.expectEmit(true, true, true, true);
        emit JobTimedOut(id, bob);
        vm.prank(bob);
        jobs.timeOut(id);
        JobRegistry.Job memory j = jobs.getJob(id);
        assertEq(uint256(j.status), uint256(JobRegistry.JobStatus.TimedOut));
        assertEq(j.closedBlock, runDeadline + 100);
        vm.expectRevert(
            abi.encodeWithSelector(JobRegistry.InvalidJobStatus.selector, id, JobRegistry.JobStatus.TimedOut)
        );
        vm.prank(alice);
        jobs.reportFailed(id, JobRegistry.FailureCategory.Timeout, DETAIL);
    }

    /// @dev The run deadline block itself is still in time for a failure.
    function test_reportFailed_atRunDeadlineInclusive() public {
        uint256 id = _approved();
        uint64 runDeadline = _runDeadline(id);
        vm.roll(runDeadline);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.RunDeadlineNotPassed.selector, id, runDeadline));
        jobs.timeOut(id);
        vm.expectEmit(true, true, true, true);
        emit JobFailed(id, bob, JobRegistry.FailureCategory.Peer, DETAIL);
        vm.prank(bob);
        jobs.reportFailed(id, JobRegistry.FailureCategory.Peer, DETAIL);
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Failed));
        assertEq(jobs.getJob(id).closedBlock, runDeadline);
    }

    /// @dev Attack: bob stalls its side, the others complete. Before, bob could wait past the run deadline
    /// and front-run the time-out with a failure blaming a peer. Now after the deadline only the time-out
    /// closes the job, and the record shows who never finished.
    function test_attack_stalledParticipantCannotBlameAfterRunDeadline() public {
        _authorise(bob, opB);
        uint256 id = _approvedTrio();
        vm.prank(alice);
        jobs.reportCompleted(id, RESULT, "");
        vm.prank(carol);
        jobs.reportCompleted(id, RESULT, "");
        vm.prank(bob);
        jobs.reportStarted(id);
        uint64 runDeadline = _runDeadline(id);
        vm.roll(runDeadline + 1);
        bytes memory late = abi.encodeWithSelector(JobRegistry.RunDeadlinePassed.selector, id, runDeadline);
        vm.expectRevert(late);
        vm.prank(bob);
        jobs.reportFailed(id, JobRegistry.FailureCategory.Peer, keccak256("alice sent garbage"));
        vm.expectRevert(late);
        vm.prank(opB);
        jobs.reportFailed(id, JobRegistry.FailureCategory.Peer, keccak256("carol went silent"));
        vm.expectEmit(true, true, true, true);
        emit JobTimedOut(id, alice);
        vm.prank(alice);
        jobs.timeOut(id);
        JobRegistry.Job memory j = jobs.getJob(id);
        assertEq(uint256(j.status), uint256(JobRegistry.JobStatus.TimedOut));
        assertEq(j.completions, 2);
        assertEq(_state(id, alice), uint256(JobRegistry.ParticipantState.Completed));
        assertEq(_state(id, carol), uint256(JobRegistry.ParticipantState.Completed));
        JobRegistry.ParticipantReport memory r = jobs.participantReport(id, bob);
        assertEq(uint256(r.state), uint256(JobRegistry.ParticipantState.Started), "bob is the one that stalled");
        assertEq(r.commitment, bytes32(0));
        assertEq(uint256(r.failure), uint256(JobRegistry.FailureCategory.Unspecified));
    }

    /// @dev Every report (0 started, 1 completed, 2 failed) is accepted up to the run deadline and refused
    /// after it, when only the time-out closes the job.
    function testFuzz_runDeadline(uint64 runBlocks, uint64 wait, uint8 report) public {
        runBlocks = uint64(bound(runBlocks, 1, consortium.maxRunBlocks()));
        wait = uint64(bound(wait, 0, 2 * uint256(runBlocks)));
        uint256 which = bound(report, 0, 2);
        vm.prank(alice);
        uint256 id = jobs.propose("psi", _pair(alice, bob), _none(), "", 1001, runBlocks);
        _approveAll(id);
        uint64 runDeadline = uint64(block.number) + runBlocks;
        assertEq(_runDeadline(id), runDeadline);
        vm.roll(block.number + wait);
        if (block.number <= runDeadline) {
            vm.expectRevert(abi.encodeWithSelector(JobRegistry.RunDeadlineNotPassed.selector, id, runDeadline));
            jobs.timeOut(id);
            _report(id, which);
            uint256 expected =
                which == 2 ? uint256(JobRegistry.JobStatus.Failed) : uint256(JobRegistry.JobStatus.Running);
            assertEq(_statusOf(id), expected);
        } else {
            vm.expectRevert(abi.encodeWithSelector(JobRegistry.RunDeadlinePassed.selector, id, runDeadline));
            _report(id, which);
            jobs.timeOut(id);
            assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.TimedOut));
        }
    }

    /// @dev alice reports: 0 started, 1 completed, 2 failed.
    function _report(uint256 id, uint256 which) internal {
        vm.prank(alice);
        if (which == 0) jobs.reportStarted(id);
        else if (which == 1) jobs.reportCompleted(id, RESULT, "");
        else jobs.reportFailed(id, JobRegistry.FailureCategory.Timeout, DETAIL);
    }

    // ---------------------------------------------------------------- reports

    function test_reportStarted() public {
        uint256 id = _approved();
        vm.roll(1040);
        vm.expectEmit(true, true, true, true);
        emit JobStarted(id, alice);
        vm.prank(alice);
        jobs.reportStarted(id);
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Running));
        assertEq(_state(id, alice), uint256(JobRegistry.ParticipantState.Started));
        assertEq(jobs.participantReport(id, alice).updatedBlock, 1040);
        vm.prank(bob);
        jobs.reportStarted(id);
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Running));
        assertEq(_state(id, bob), uint256(JobRegistry.ParticipantState.Started));
    }

    function test_reportStarted_atRunDeadlineInclusive() public {
        uint256 id = _approved();
        vm.roll(_runDeadline(id));
        vm.prank(alice);
        jobs.reportStarted(id);
        vm.prank(alice);
        jobs.reportCompleted(id, RESULT, "");
        vm.prank(bob);
        jobs.reportCompleted(id, RESULT, "");
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Completed));
    }

    function test_reportCompleted_allCompletes() public {
        uint256 id = _approved();
        vm.prank(alice);
        jobs.reportStarted(id);
        vm.roll(1050);
        vm.expectEmit(true, true, true, true);
        emit JobParticipantCompleted(id, alice, RESULT, '{"n":5}');
        vm.prank(alice);
        jobs.reportCompleted(id, RESULT, '{"n":5}');
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Running));
        JobRegistry.ParticipantReport memory r = jobs.participantReport(id, alice);
        assertEq(uint256(r.state), uint256(JobRegistry.ParticipantState.Completed));
        assertEq(r.commitment, RESULT);
        assertEq(r.text, '{"n":5}');
        assertEq(r.updatedBlock, 1050);
        assertEq(uint256(r.failure), uint256(JobRegistry.FailureCategory.Unspecified));

        // bob completes straight from Approved, with an empty summary
        bytes32 bobResult = keccak256("bob-result");
        vm.expectEmit(true, true, true, true);
        emit JobParticipantCompleted(id, bob, bobResult, "");
        vm.expectEmit(true, true, true, true);
        emit JobCompleted(id);
        vm.prank(bob);
        jobs.reportCompleted(id, bobResult, "");
        r = jobs.participantReport(id, bob);
        assertEq(r.commitment, bobResult);
        assertEq(r.text, "");
        JobRegistry.Job memory j = jobs.getJob(id);
        assertEq(uint256(j.status), uint256(JobRegistry.JobStatus.Completed));
        assertEq(j.completions, 2);
        assertEq(j.closedBlock, 1050);
    }

    function test_reportCompleted_firstMovesApprovedToRunning() public {
        uint256 id = _approvedTrio();
        vm.prank(bob);
        jobs.reportCompleted(id, RESULT, "");
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Running));
        vm.prank(carol);
        jobs.reportCompleted(id, RESULT, "");
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Running));
        assertEq(jobs.getJob(id).completions, 2);
    }

    function test_reportFailed() public {
        uint256 id = _approved();
        vm.prank(alice);
        jobs.reportStarted(id);
        vm.roll(1060);
        vm.expectEmit(true, true, true, true);
        emit JobFailed(id, bob, JobRegistry.FailureCategory.Input, DETAIL);
        vm.prank(bob);
        jobs.reportFailed(id, JobRegistry.FailureCategory.Input, DETAIL);
        JobRegistry.Job memory j = jobs.getJob(id);
        assertEq(uint256(j.status), uint256(JobRegistry.JobStatus.Failed));
        assertEq(j.closedBlock, 1060);
        JobRegistry.ParticipantReport memory r = jobs.participantReport(id, bob);
        assertEq(uint256(r.state), uint256(JobRegistry.ParticipantState.Failed));
        assertEq(uint256(r.failure), uint256(JobRegistry.FailureCategory.Input));
        assertEq(r.commitment, DETAIL);
        assertEq(r.updatedBlock, 1060);
        assertEq(r.text, "");
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidJobStatus.selector, id, JobRegistry.JobStatus.Failed));
        vm.prank(alice);
        jobs.reportCompleted(id, RESULT, "");
    }

    function testFuzz_reportFailed_categoryAndCommitment(uint8 category, bytes32 detail, bool started) public {
        JobRegistry.FailureCategory c = JobRegistry.FailureCategory(bound(category, 0, 9));
        uint256 id = _approved();
        if (started) {
            vm.prank(alice);
            jobs.reportStarted(id);
        }
        vm.expectEmit(true, true, true, true);
        emit JobFailed(id, alice, c, detail);
        vm.prank(alice);
        jobs.reportFailed(id, c, detail);
        JobRegistry.ParticipantReport memory r = jobs.participantReport(id, alice);
        assertEq(uint256(r.failure), uint256(c));
        assertEq(r.commitment, detail, "zero is allowed: no detail");
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Failed));
    }

    function testRevert_reportFailed_invalidCategory() public {
        uint256 id = _approved();
        vm.prank(alice);
        (bool ok,) = address(jobs).call(abi.encodeWithSelector(JobRegistry.reportFailed.selector, id, 10, DETAIL));
        assertFalse(ok, "an out-of-range category is refused by the ABI decoder");
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Approved));
    }

    function testRevert_report_unknownJob() public {
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.UnknownJob.selector, 3));
        vm.prank(alice);
        jobs.reportStarted(3);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.UnknownJob.selector, 3));
        vm.prank(alice);
        jobs.reportCompleted(3, RESULT, "");
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.UnknownJob.selector, 3));
        vm.prank(alice);
        jobs.reportFailed(3, JobRegistry.FailureCategory.Internal, DETAIL);
    }

    function testRevert_report_notParticipant() public {
        uint256 id = _approved();
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.NotParticipant.selector, id, carol));
        vm.prank(carol);
        jobs.reportStarted(id);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.NotParticipant.selector, id, carol));
        vm.prank(carol);
        jobs.reportCompleted(id, RESULT, "");
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.NotParticipant.selector, id, carol));
        vm.prank(carol);
        jobs.reportFailed(id, JobRegistry.FailureCategory.Internal, DETAIL);
    }

    function testRevert_report_notActive() public {
        uint256 id = _approved();
        _suspend(alice);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, alice));
        vm.prank(alice);
        jobs.reportStarted(id);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, alice));
        vm.prank(alice);
        jobs.reportCompleted(id, RESULT, "");
        assertEq(_state(id, alice), uint256(JobRegistry.ParticipantState.Approved));
    }

    function testRevert_report_jobNotApproved() public {
        uint256 id = _proposeJob();
        bytes memory err =
            abi.encodeWithSelector(JobRegistry.InvalidJobStatus.selector, id, JobRegistry.JobStatus.Proposed);
        vm.expectRevert(err);
        vm.prank(alice);
        jobs.reportStarted(id);
        vm.expectRevert(err);
        vm.prank(alice);
        jobs.reportCompleted(id, RESULT, "");
        vm.expectRevert(err);
        vm.prank(alice);
        jobs.reportFailed(id, JobRegistry.FailureCategory.Internal, DETAIL);
    }

    function testRevert_report_afterCompleted() public {
        uint256 id = _approved();
        vm.prank(alice);
        jobs.reportCompleted(id, RESULT, "");
        vm.prank(bob);
        jobs.reportCompleted(id, RESULT, "");
        vm.expectRevert(
            abi.encodeWithSelector(JobRegistry.InvalidJobStatus.selector, id, JobRegistry.JobStatus.Completed)
        );
        vm.prank(alice);
        jobs.reportFailed(id, JobRegistry.FailureCategory.Internal, DETAIL);
    }

    function testRevert_reportStarted_invalidParticipantState() public {
        uint256 id = _approved();
        vm.prank(alice);
        jobs.reportStarted(id);
        vm.expectRevert(
            abi.encodeWithSelector(
                JobRegistry.InvalidParticipantState.selector, id, alice, JobRegistry.ParticipantState.Started
            )
        );
        vm.prank(alice);
        jobs.reportStarted(id);
    }

    function testRevert_reportCompleted_invalidParticipantState() public {
        uint256 id = _approvedTrio();
        vm.prank(alice);
        jobs.reportCompleted(id, RESULT, "");
        bytes memory err = abi.encodeWithSelector(
            JobRegistry.InvalidParticipantState.selector, id, alice, JobRegistry.ParticipantState.Completed
        );
        vm.expectRevert(err);
        vm.prank(alice);
        jobs.reportCompleted(id, RESULT, "");
        vm.expectRevert(err);
        vm.prank(alice);
        jobs.reportFailed(id, JobRegistry.FailureCategory.Internal, DETAIL);
        vm.expectRevert(err);
        vm.prank(alice);
        jobs.reportStarted(id);
    }

    function testRevert_reportCompleted_zeroCommitment() public {
        uint256 id = _approved();
        vm.expectRevert(JobRegistry.ZeroCommitment.selector);
        vm.prank(alice);
        jobs.reportCompleted(id, bytes32(0), "");
    }

    function testRevert_reportCompleted_invalidText() public {
        uint256 id = _approved();
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidText.selector, 4097));
        vm.prank(alice);
        jobs.reportCompleted(id, RESULT, _text(4097));
    }

    function testFuzz_reportCompleted_summaryLength(uint256 len) public {
        len = bound(len, 0, 4200);
        uint256 id = _approved();
        if (len > 4096) vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidText.selector, len));
        vm.prank(alice);
        jobs.reportCompleted(id, RESULT, _text(len));
        if (len <= 4096) assertEq(jobs.participantReport(id, alice).text, _text(len));
    }

    function testFuzz_report_nonParticipantReverts(address caller, uint8 which) public {
        vm.assume(caller != alice && caller != bob);
        uint256 id = _approved();
        bytes memory payload;
        uint256 w = bound(which, 0, 2);
        if (w == 0) payload = abi.encodeWithSelector(JobRegistry.reportStarted.selector, id);
        else if (w == 1) payload = abi.encodeWithSelector(JobRegistry.reportCompleted.selector, id, RESULT, "");
        else payload = abi.encodeWithSelector(JobRegistry.reportFailed.selector, id, 0, DETAIL);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.NotParticipant.selector, id, caller));
        _call(caller, payload);
    }

    /// @dev Attack: the admins suspend or remove a participant after the approval. It must not be able to
    /// push the job forward, but it must be able to say that its side stopped.
    function test_attack_suspendedParticipantCanStillFail() public {
        uint256 id = _approvedTrio();
        vm.prank(carol);
        jobs.reportStarted(id);
        _suspend(carol);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, carol));
        vm.prank(carol);
        jobs.reportCompleted(id, RESULT, "");
        vm.expectEmit(true, true, true, true);
        emit JobFailed(id, carol, JobRegistry.FailureCategory.Membership, DETAIL);
        vm.prank(carol);
        jobs.reportFailed(id, JobRegistry.FailureCategory.Membership, DETAIL);
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Failed));
        assertEq(_state(id, carol), uint256(JobRegistry.ParticipantState.Failed));
    }

    function test_attack_removedParticipantCanStillFail() public {
        uint256 id = _approvedTrio();
        _remove(carol);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, carol));
        vm.prank(carol);
        jobs.reportStarted(id);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, carol));
        vm.prank(carol);
        jobs.reportCompleted(id, RESULT, "");
        // the others can still report progress, but the job can only end failed or timed out
        vm.prank(alice);
        jobs.reportCompleted(id, RESULT, "");
        vm.prank(carol);
        jobs.reportFailed(id, JobRegistry.FailureCategory.Membership, bytes32(0));
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Failed));
        JobRegistry.ParticipantReport memory r = jobs.participantReport(id, carol);
        assertEq(uint256(r.failure), uint256(JobRegistry.FailureCategory.Membership));
        assertEq(r.commitment, bytes32(0));
    }

    function test_fullLifecycle_consortiumReadsAreLive() public {
        // a member removed after approval can no longer report progress; the others still can
        uint256 id = _approvedTrio();
        _remove(carol);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, carol));
        vm.prank(carol);
        jobs.reportCompleted(id, RESULT, "");
        vm.prank(alice);
        jobs.reportFailed(id, JobRegistry.FailureCategory.Peer, keccak256("peer carol removed"));
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Failed));
    }

    // -------------------------------------------------------------- operators

    function test_operator_reportsForItsMember() public {
        _authorise(alice, opA);
        _authorise(bob, opB);
        uint256 id = _approvedTrio();
        vm.expectEmit(true, true, true, true);
        emit JobStarted(id, alice);
        vm.prank(opA);
        jobs.reportStarted(id);
        assertEq(_state(id, alice), uint256(JobRegistry.ParticipantState.Started));
        assertEq(_state(id, opA), uint256(JobRegistry.ParticipantState.None));

        vm.expectEmit(true, true, true, true);
        emit JobParticipantCompleted(id, alice, RESULT, '{"rows":10}');
        vm.prank(opA);
        jobs.reportCompleted(id, RESULT, '{"rows":10}');
        assertEq(jobs.participantReport(id, alice).commitment, RESULT);
        assertEq(jobs.participantReport(id, alice).text, '{"rows":10}');

        // the member's own key can still report too
        vm.prank(carol);
        jobs.reportCompleted(id, RESULT, "");

        vm.expectEmit(true, true, true, true);
        emit JobFailed(id, bob, JobRegistry.FailureCategory.Peer, DETAIL);
        vm.prank(opB);
        jobs.reportFailed(id, JobRegistry.FailureCategory.Peer, DETAIL);
        assertEq(_state(id, bob), uint256(JobRegistry.ParticipantState.Failed));
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Failed));
    }

    function test_operator_completesForItsMember() public {
        _authorise(alice, opA);
        _authorise(bob, opB);
        uint256 id = _approved();
        vm.prank(opA);
        jobs.reportCompleted(id, RESULT, "");
        vm.expectEmit(true, true, true, true);
        emit JobCompleted(id);
        vm.prank(opB);
        jobs.reportCompleted(id, RESULT, "");
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Completed));
    }

    function testRevert_operator_cannotDecide() public {
        _authorise(alice, opA);
        uint256 id = _proposeJob();
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.NotParticipant.selector, id, opA));
        vm.prank(opA);
        jobs.approve(id);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.NotParticipant.selector, id, opA));
        vm.prank(opA);
        jobs.reject(id, "");
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.NotProposer.selector, id, opA));
        vm.prank(opA);
        jobs.cancel(id);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, opA));
        _proposeJob(opA, _pair(alice, bob), _none());
        assertEq(_state(id, alice), uint256(JobRegistry.ParticipantState.Pending));
    }

    function testRevert_operator_cannotActAsMemberElsewhere() public {
        _authorise(alice, opA);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, opA));
        vm.prank(opA);
        data.register(keccak256("op-ds"), keccak256("schema"), 1, "", DataRegistry.Visibility.Public);
        vm.prank(admin1);
        uint256 pid = consortium.propose(Consortium.ProposalKind.SetMaxRunBlocks, address(0), 5);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotAdmin.selector, opA));
        vm.prank(opA);
        consortium.vote(pid);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotAdmin.selector, opA));
        vm.prank(opA);
        consortium.propose(Consortium.ProposalKind.SetMaxRunBlocks, address(0), 6);
    }

    function testRevert_operator_cannotReportForAnotherMembersJob() public {
        _authorise(alice, opA);
        uint256 id = _proposeJob(bob, _pair(bob, carol), _none());
        _approveAll(id);
        bytes memory err = abi.encodeWithSelector(JobRegistry.NotParticipant.selector, id, alice);
        vm.expectRevert(err);
        vm.prank(opA);
        jobs.reportStarted(id);
        vm.expectRevert(err);
        vm.prank(opA);
        jobs.reportCompleted(id, RESULT, "");
        vm.expectRevert(err);
        vm.prank(opA);
        jobs.reportFailed(id, JobRegistry.FailureCategory.Internal, DETAIL);
    }

    function test_operator_clearedOrReplacedLosesItsPower() public {
        _authorise(alice, opA);
        uint256 id = _approvedTrio();
        vm.prank(opA);
        jobs.reportStarted(id);

        // nominated: the new key reports for nobody yet, the old one still for alice
        address opA2 = makeAddr("operator-alice-2");
        vm.prank(alice);
        consortium.setOperator(opA2);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.NotParticipant.selector, id, opA2));
        vm.prank(opA2);
        jobs.reportCompleted(id, RESULT, "");
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.NotParticipant.selector, id, opA2));
        vm.prank(opA2);
        jobs.reportFailed(id, JobRegistry.FailureCategory.Internal, DETAIL);
        assertEq(consortium.reportingMember(opA), alice);

        // replaced (the nominee accepted): the old key reports for nobody, the new one for alice
        vm.prank(opA2);
        consortium.acceptOperator(alice);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.NotParticipant.selector, id, opA));
        vm.prank(opA);
        jobs.reportCompleted(id, RESULT, "");
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.NotParticipant.selector, id, opA));
        vm.prank(opA);
        jobs.reportFailed(id, JobRegistry.FailureCategory.Internal, DETAIL);
        vm.prank(opA2);
        jobs.reportCompleted(id, RESULT, "");
        assertEq(_state(id, alice), uint256(JobRegistry.ParticipantState.Completed));

        // cleared: no key but the member's own
        _authorise(bob, opB);
        _setOperator(bob, address(0));
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.NotParticipant.selector, id, opB));
        vm.prank(opB);
        jobs.reportStarted(id);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.NotParticipant.selector, id, opB));
        vm.prank(opB);
        jobs.reportFailed(id, JobRegistry.FailureCategory.Internal, DETAIL);
        vm.prank(bob);
        jobs.reportStarted(id);
        vm.prank(bob);
        jobs.reportCompleted(id, RESULT, "");
        vm.prank(carol);
        jobs.reportCompleted(id, RESULT, "");
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Completed));
    }

    /// @dev An operator key that resigned reports for nobody; the member's own key still does.
    function test_operator_resignedLosesItsPower() public {
        _authorise(alice, opA);
        uint256 id = _approved();
        vm.prank(opA);
        jobs.reportStarted(id);
        vm.prank(opA);
        consortium.resignOperator();
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.NotParticipant.selector, id, opA));
        vm.prank(opA);
        jobs.reportCompleted(id, RESULT, "");
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.NotParticipant.selector, id, opA));
        vm.prank(opA);
        jobs.reportFailed(id, JobRegistry.FailureCategory.Internal, DETAIL);
        vm.prank(alice);
        jobs.reportCompleted(id, RESULT, "");
        assertEq(_state(id, alice), uint256(JobRegistry.ParticipantState.Completed));
    }

    function test_operator_ofInactiveMemberCanOnlyFail() public {
        _authorise(alice, opA);
        _authorise(bob, opB);
        uint256 id = _approvedTrio();
        _suspend(alice);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, alice));
        vm.prank(opA);
        jobs.reportStarted(id);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, alice));
        vm.prank(opA);
        jobs.reportCompleted(id, RESULT, "");
        _remove(bob);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, bob));
        vm.prank(opB);
        jobs.reportStarted(id);
        vm.expectEmit(true, true, true, true);
        emit JobFailed(id, bob, JobRegistry.FailureCategory.Membership, DETAIL);
        vm.prank(opB);
        jobs.reportFailed(id, JobRegistry.FailureCategory.Membership, DETAIL);
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Failed));
    }

    // ------------------------------------------------------------------ views

    function test_views_unknownJob() public {
        assertEq(_statusOf(0), 0);
        assertEq(_statusOf(1), 0);
        assertEq(_state(1, alice), 0);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.UnknownJob.selector, 0));
        jobs.getJob(0);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.UnknownJob.selector, 1));
        jobs.getJob(1);
        _proposeJob();
        assertEq(_statusOf(1), uint256(JobRegistry.JobStatus.Proposed));
        assertEq(_statusOf(2), 0);
    }

    function test_getJob_sixteenDatasetsOfSixteenParticipants() public {
        address[] memory ps = _newMembers(16);
        DatasetRef[] memory ds = new DatasetRef[](16);
        for (uint256 i = 0; i < 16; i++) {
            // dataset i belongs to participant 7i mod 16: every owner index 0..15 appears, out of order
            ds[i] = _ref(ps[(7 * i) % 16], keccak256(abi.encode("ds", i)));
            _registerDataset(ds[i].owner, ds[i].name, DataRegistry.Visibility.Public);
        }
        uint256 id = _proposeJob(ps[3], ps, ds);
        JobRegistry.Job memory j = jobs.getJob(id);
        assertEq(j.participants.length, 16);
        for (uint256 i = 0; i < 16; i++) {
            assertEq(j.participants[i], ps[i]);
        }
        _assertRefs(j.datasets, ds);
        _assertRefs(jobs.jobsPage(0, 1)[0].datasets, ds);
        for (uint256 i = 0; i < 15; i++) {
            vm.prank(ps[i]);
            jobs.approve(id);
        }
        vm.expectEmit(true, true, true, true);
        emit JobApproved(id, "psi", ps, ds, keccak256(bytes(PARAMS)), uint64(block.number) + RUN_BLOCKS);
        vm.prank(ps[15]);
        jobs.approve(id);
    }

    function test_jobsPage() public {
        for (uint256 i = 0; i < 3; i++) {
            _proposeJob();
        }
        _proposeJob(bob, _trio(alice, bob, carol), _refs(carol, DS_C, alice, DS_A));
        JobRegistry.Job[] memory page = jobs.jobsPage(0, 10);
        assertEq(page.length, 4);
        assertEq(page[2].id, 3);
        assertEq(page[3].proposer, bob);
        assertEq(page[3].participants.length, 3);
        _assertRefs(page[3].datasets, _refs(carol, DS_C, alice, DS_A));
        assertEq(page[3].paramsHash, keccak256(bytes(PARAMS)));
        page = jobs.jobsPage(1, 1);
        assertEq(page.length, 1);
        assertEq(page[0].id, 2);
        assertEq(jobs.jobsPage(4, 5).length, 0);
        assertEq(jobs.jobsPage(type(uint256).max, type(uint256).max).length, 0);
        assertEq(jobs.jobsPage(3, type(uint256).max).length, 1);
    }

    function testFuzz_jobsPage(uint256 n, uint256 offset, uint256 limit) public {
        n = bound(n, 0, 8);
        for (uint256 i = 0; i < n; i++) {
            _proposeJob();
        }
        offset = bound(offset, 0, n + 3);
        JobRegistry.Job[] memory page = jobs.jobsPage(offset, limit);
        uint256 lim = limit > 100 ? 100 : limit;
        uint256 expected = offset >= n ? 0 : (n - offset < lim ? n - offset : lim);
        assertEq(page.length, expected);
        for (uint256 i = 0; i < page.length; i++) {
            assertEq(page[i].id, offset + i + 1);
        }
    }
}

/// @notice Views that fit any call: 1000 maximal jobs (16 participants, 16 datasets, 16384-byte params,
/// 32-byte kind), every page of 100 read within 25M gas.
contract JobRegistryPageTest is JobFixtures {
    uint256 internal constant JOBS = 1000;
    uint256 internal constant PAGE_GAS_LIMIT = 25_000_000;

    address[] internal members;
    DatasetRef[] internal datasets;

    function setUp() public override {
        super.setUp();
        members = _newMembers(16);
        for (uint256 i = 0; i < 16; i++) {
            datasets.push(_ref(members[i], keccak256(abi.encode("page-ds", i))));
            _registerDataset(members[i], datasets[i].name, DataRegistry.Visibility.Public);
        }
        // 1000 maximal proposals take more gas than one test may use; only the page reads are measured
        vm.pauseGasMetering();
        bytes memory params = _fill(16_384);
        for (uint256 id = 1; id <= JOBS; id++) {
            _stamp(params, id);
            vm.prank(members[id % 16]);
            jobs.propose(_kind(id), _participants(id), _datasets(id), string(params), 1001, 1);
        }
        vm.resumeGasMetering();
    }

    /// @dev Job `id`'s participants: the members rotated by `id`.
    function _participants(uint256 id) internal view returns (address[] memory ps) {
        ps = new address[](16);
        for (uint256 i = 0; i < 16; i++) {
            ps[i] = members[(i + id) % 16];
        }
    }

    /// @dev Job `id`'s datasets: every member's, in an order that depends on `id`.
    function _datasets(uint256 id) internal view returns (DatasetRef[] memory ds) {
        ds = new DatasetRef[](16);
        for (uint256 i = 0; i < 16; i++) {
            ds[i] = datasets[(5 * i + id) % 16];
        }
    }

    function _kind(uint256 id) internal pure returns (string memory) {
        return string(abi.encodePacked(bytes32(id)));
    }

    function _stamp(bytes memory params, uint256 id) internal pure {
        bytes32 s = bytes32(id);
        assembly {
            mstore(add(params, 32), s)
        }
    }

    function _pageGas(uint256 offset) internal view returns (uint256 used) {
        bytes memory payload = abi.encodeWithSelector(JobRegistry.jobsPage.selector, offset, 100);
        address target = address(jobs);
        bool ok;
        uint256 before = gasleft();
        assembly {
            ok := staticcall(gas(), target, add(payload, 32), mload(payload), 0, 0)
        }
        used = before - gasleft();
        assertTrue(ok);
    }

    /// @dev Checks every job of the page at `offset` (an external call, so each page starts with fresh memory).
    function checkPage(uint256 offset) external view {
        JobRegistry.Job[] memory page = jobs.jobsPage(offset, 100);
        assertEq(page.length, 100);
        bytes memory params = _fill(16_384);
        for (uint256 k = 0; k < 100; k++) {
            JobRegistry.Job memory j = page[k];
            uint256 id = offset + k + 1;
            assertEq(j.id, id);
            assertEq(j.kind, _kind(id));
            assertEq(j.proposer, members[id % 16]);
            assertEq(keccak256(abi.encode(j.participants)), keccak256(abi.encode(_participants(id))));
            _assertRefs(j.datasets, _datasets(id));
            _stamp(params, id);
            assertEq(j.paramsHash, keccak256(params));
            assertEq(uint256(j.status), uint256(JobRegistry.JobStatus.Proposed));
            assertEq(j.deadlineBlock, 1001);
            assertEq(j.runBlocks, 1);
        }
    }

    function test_jobsPage_thousandMaximalJobs() public {
        assertEq(jobs.jobCount(), JOBS);
        uint256 most;
        for (uint256 offset = 0; offset < JOBS; offset += 100) {
            uint256 used = _pageGas(offset);
            assertLt(used, PAGE_GAS_LIMIT, "a page must fit in one call");
            if (used > most) most = used;
            this.checkPage(offset);
        }
        assertEq(jobs.jobsPage(JOBS, 100).length, 0);
        emit log_named_uint("most gas of a page of 100 maximal jobs", most);
    }
}
