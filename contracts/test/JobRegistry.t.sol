// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.11;

import {Base, JobEvents} from "./Base.t.sol";
import {Consortium, NotActiveMember} from "../src/Consortium.sol";
import {DataRegistry} from "../src/DataRegistry.sol";
import {JobRegistry} from "../src/JobRegistry.sol";

contract JobRegistryTest is Base, JobEvents {
    bytes32 internal constant DS_A = keccak256("ds-alice");
    bytes32 internal constant DS_B = keccak256("ds-bob");
    bytes32 internal constant RESULT = keccak256("result");

    function setUp() public override {
        super.setUp();
        _registerDataset(alice, DS_A, DataRegistry.Visibility.Public);
        _registerDataset(bob, DS_B, DataRegistry.Visibility.Listed);
        vm.prank(bob);
        data.grant(DS_B, alice);
    }

    function _none() internal pure returns (bytes32[] memory) {
        return new bytes32[](0);
    }

    function _both() internal pure returns (bytes32[] memory ids) {
        ids = new bytes32[](2);
        ids[0] = DS_A;
        ids[1] = DS_B;
    }

    function _statusOf(uint256 id) internal view returns (uint256) {
        return uint256(jobs.jobStatus(id));
    }

    function _state(uint256 id, address p) internal view returns (uint256) {
        return uint256(jobs.participantReport(id, p).state);
    }

    function _approved() internal returns (uint256 id) {
        id = _proposeJob();
        _approveAll(id);
    }

    function _newMembers(uint256 n) internal returns (address[] memory list) {
        list = new address[](n);
        for (uint256 i = 0; i < n; i++) {
            list[i] = makeAddr(string(abi.encodePacked("member-", vm.toString(i))));
            _onboard(list[i], "Member");
        }
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
        bytes32[] memory ids = _both();
        vm.expectEmit(true, true, true, true);
        emit JobProposed(1, carol, "vertical-lr", ps, ids, '{"epochs":3}', 1050);
        vm.prank(carol);
        uint256 id = jobs.propose("vertical-lr", ps, ids, '{"epochs":3}', 1050);
        assertEq(id, 1);
        assertEq(jobs.jobCount(), 1);
        JobRegistry.Job memory j = jobs.getJob(id);
        assertEq(j.id, 1);
        assertEq(j.kind, "vertical-lr");
        assertEq(j.proposer, carol, "the proposer need not participate");
        assertEq(j.participants.length, 2);
        assertEq(j.participants[1], bob);
        assertEq(j.datasetIds.length, 2);
        assertEq(j.datasetIds[1], DS_B);
        assertEq(j.params, '{"epochs":3}');
        assertEq(j.deadlineBlock, 1050);
        assertEq(uint256(j.status), uint256(JobRegistry.JobStatus.Proposed));
        assertEq(j.proposedBlock, 1000);
        assertEq(j.approvals, 0);
        assertEq(_state(id, alice), uint256(JobRegistry.ParticipantState.Pending));
        assertEq(_state(id, bob), uint256(JobRegistry.ParticipantState.Pending));
        assertEq(_state(id, carol), uint256(JobRegistry.ParticipantState.None));
    }

    function testRevert_propose_notActiveMember() public {
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, outsider));
        _proposeJob(outsider, _pair(alice, bob), _none());
    }

    function testRevert_propose_participantNotActive() public {
        _suspend(bob);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, bob));
        _proposeJob(alice, _pair(alice, bob), _none());
    }

    function testRevert_propose_invalidKind() public {
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidKind.selector, 0));
        vm.prank(alice);
        jobs.propose("", _pair(alice, bob), _none(), "", 2000);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidKind.selector, 33));
        vm.prank(alice);
        jobs.propose(_str(33), _pair(alice, bob), _none(), "", 2000);
    }

    function testRevert_propose_invalidParams() public {
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidParams.selector, 16_385));
        vm.prank(alice);
        jobs.propose("psi", _pair(alice, bob), _none(), _str(16_385), 2000);
    }

    function testRevert_propose_invalidParticipantCount() public {
        address[] memory one = new address[](1);
        one[0] = alice;
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidParticipantCount.selector, 1));
        _proposeJob(alice, one, _none());
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidParticipantCount.selector, 17));
        _proposeJob(alice, new address[](17), _none());
    }

    function testRevert_propose_invalidDatasetCount() public {
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidDatasetCount.selector, 17));
        _proposeJob(alice, _pair(alice, bob), new bytes32[](17));
    }

    function testRevert_propose_deadlineInPast() public {
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.DeadlineInPast.selector, 1000, 1000));
        vm.prank(alice);
        jobs.propose("psi", _pair(alice, bob), _none(), "", 1000);
    }

    function testRevert_propose_duplicateParticipant() public {
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.DuplicateParticipant.selector, alice));
        _proposeJob(alice, _trio(alice, bob, alice), _none());
    }

    function testRevert_propose_duplicateDataset() public {
        bytes32[] memory ids = _both();
        ids[1] = DS_A;
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.DuplicateDataset.selector, DS_A));
        _proposeJob(alice, _pair(alice, bob), ids);
    }

    function testRevert_propose_datasetNotActive() public {
        bytes32 unknown = keccak256("nope");
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.DatasetNotActive.selector, unknown));
        _proposeJob(alice, _pair(alice, bob), _ids(unknown));
        vm.prank(alice);
        data.retire(DS_A);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.DatasetNotActive.selector, DS_A));
        _proposeJob(alice, _pair(alice, bob), _ids(DS_A));
    }

    function testRevert_propose_datasetOwnerNotParticipant() public {
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.DatasetOwnerNotParticipant.selector, DS_A, alice));
        _proposeJob(bob, _pair(bob, carol), _ids(DS_A));
    }

    function testRevert_propose_datasetNotVisible() public {
        // DS_B is Listed and granted to alice only
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.DatasetNotVisible.selector, DS_B, carol));
        _proposeJob(bob, _trio(alice, bob, carol), _ids(DS_B));
    }

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
        if (kindLen == 0 || kindLen > 32) {
            vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidKind.selector, kindLen));
        } else if (paramsLen > 16_384) {
            vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidParams.selector, paramsLen));
        }
        vm.prank(alice);
        jobs.propose(_str(kindLen), _pair(alice, bob), _none(), _str(paramsLen), 1001);
    }

    function testFuzz_propose_deadline(uint64 deadline) public {
        if (deadline <= block.number) {
            vm.expectRevert(abi.encodeWithSelector(JobRegistry.DeadlineInPast.selector, deadline, block.number));
        }
        vm.prank(alice);
        jobs.propose("psi", _pair(alice, bob), _none(), "", deadline);
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
        if (!visible) vm.expectRevert(abi.encodeWithSelector(JobRegistry.DatasetNotVisible.selector, ds, bob));
        _proposeJob(bob, _pair(alice, bob), _ids(ds));
        assertEq(jobs.jobCount(), visible ? 1 : 0);
    }

    function testFuzz_propose_datasetCount(uint256 n) public {
        n = bound(n, 0, 16);
        bytes32[] memory ids = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) {
            ids[i] = bytes32(i + 1);
            _registerDataset(i % 2 == 0 ? alice : bob, ids[i], DataRegistry.Visibility.Public);
        }
        uint256 id = _proposeJob(carol, _pair(alice, bob), ids);
        assertEq(jobs.getJob(id).datasetIds.length, n);
        _approveAll(id);
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Approved));
    }

    // ---------------------------------------------------------------- approve

    function test_approve() public {
        address[] memory ps = _pair(alice, bob);
        bytes32[] memory ids = _both();
        uint256 id = _proposeJob(alice, ps, ids);
        vm.roll(1010);
        vm.expectEmit(true, true, true, true);
        emit JobApprovalGiven(id, alice, 1, 2);
        vm.prank(alice);
        jobs.approve(id);
        assertEq(_state(id, alice), uint256(JobRegistry.ParticipantState.Approved));
        assertEq(jobs.participantReport(id, alice).updatedBlock, 1010);
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Proposed));

        vm.expectEmit(true, true, true, true);
        emit JobApprovalGiven(id, bob, 2, 2);
        vm.expectEmit(true, true, true, true);
        emit JobApproved(id, "psi", ps, ids, '{"k":1}');
        vm.prank(bob);
        jobs.approve(id);
        JobRegistry.Job memory j = jobs.getJob(id);
        assertEq(uint256(j.status), uint256(JobRegistry.JobStatus.Approved));
        assertEq(j.approvedBlock, 1010);
        assertEq(j.approvals, 2);
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
    }

    function testRevert_approve_lastApprovalRechecksDatasets() public {
        uint256 id = _proposeJob(alice, _pair(alice, bob), _both());
        vm.prank(alice);
        jobs.approve(id);
        vm.prank(bob);
        data.revoke(DS_B, alice);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.DatasetNotVisible.selector, DS_B, alice));
        vm.prank(bob);
        jobs.approve(id);
        vm.prank(alice);
        data.retire(DS_A);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.DatasetNotActive.selector, DS_A));
        vm.prank(bob);
        jobs.approve(id);
    }

    function testFuzz_approve_deadline(uint64 delta, uint64 wait) public {
        delta = uint64(bound(delta, 1, 10_000));
        wait = uint64(bound(wait, 0, 20_000));
        uint64 deadline = uint64(block.number) + delta;
        vm.prank(alice);
        uint256 id = jobs.propose("psi", _pair(alice, bob), _none(), "", deadline);
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
        assertEq(r.reason, "not now");
        assertEq(r.updatedBlock, 1020);
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
        jobs.reject(id, _str(4097));

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
        assertEq(r.resultHash, RESULT);
        assertEq(r.summary, '{"n":5}');

        // bob completes straight from Approved
        vm.expectEmit(true, true, true, true);
        emit JobParticipantCompleted(id, bob, RESULT, "");
        vm.expectEmit(true, true, true, true);
        emit JobCompleted(id);
        vm.prank(bob);
        jobs.reportCompleted(id, RESULT, "");
        JobRegistry.Job memory j = jobs.getJob(id);
        assertEq(uint256(j.status), uint256(JobRegistry.JobStatus.Completed));
        assertEq(j.completions, 2);
        assertEq(j.closedBlock, 1050);
    }

    function test_reportCompleted_firstMovesApprovedToRunning() public {
        uint256 id = _approved();
        vm.prank(bob);
        jobs.reportCompleted(id, RESULT, "");
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Running));
    }

    function test_reportFailed() public {
        uint256 id = _approved();
        vm.prank(alice);
        jobs.reportStarted(id);
        vm.roll(1060);
        vm.expectEmit(true, true, true, true);
        emit JobFailed(id, bob, "oom");
        vm.prank(bob);
        jobs.reportFailed(id, "oom");
        JobRegistry.Job memory j = jobs.getJob(id);
        assertEq(uint256(j.status), uint256(JobRegistry.JobStatus.Failed));
        assertEq(j.closedBlock, 1060);
        JobRegistry.ParticipantReport memory r = jobs.participantReport(id, bob);
        assertEq(uint256(r.state), uint256(JobRegistry.ParticipantState.Failed));
        assertEq(r.reason, "oom");
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidJobStatus.selector, id, JobRegistry.JobStatus.Failed));
        vm.prank(alice);
        jobs.reportCompleted(id, RESULT, "");
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
        jobs.reportFailed(3, "");
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
        jobs.reportFailed(id, "");
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
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, alice));
        vm.prank(alice);
        jobs.reportFailed(id, "");
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
        jobs.reportFailed(id, "");
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
        jobs.reportFailed(id, "");
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
        uint256 id = _proposeJob(alice, _trio(alice, bob, carol), _none());
        _approveAll(id);
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
        jobs.reportFailed(id, "");
        vm.expectRevert(err);
        vm.prank(alice);
        jobs.reportStarted(id);
    }

    function testRevert_reportCompleted_zeroResultHash() public {
        uint256 id = _approved();
        vm.expectRevert(JobRegistry.ZeroResultHash.selector);
        vm.prank(alice);
        jobs.reportCompleted(id, bytes32(0), "");
    }

    function testRevert_report_invalidText() public {
        uint256 id = _approved();
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidText.selector, 4097));
        vm.prank(alice);
        jobs.reportCompleted(id, RESULT, _str(4097));
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidText.selector, 4097));
        vm.prank(alice);
        jobs.reportFailed(id, _str(4097));
    }

    function testFuzz_report_textLength(uint256 len, bool fail) public {
        len = bound(len, 0, 4200);
        uint256 id = _approved();
        if (len > 4096) vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidText.selector, len));
        vm.prank(alice);
        if (fail) jobs.reportFailed(id, _str(len));
        else jobs.reportCompleted(id, RESULT, _str(len));
    }

    function testFuzz_report_nonParticipantReverts(address caller, uint8 which) public {
        vm.assume(caller != alice && caller != bob);
        uint256 id = _approved();
        bytes memory payload;
        uint256 w = bound(which, 0, 2);
        if (w == 0) payload = abi.encodeWithSelector(JobRegistry.reportStarted.selector, id);
        else if (w == 1) payload = abi.encodeWithSelector(JobRegistry.reportCompleted.selector, id, RESULT, "");
        else payload = abi.encodeWithSelector(JobRegistry.reportFailed.selector, id, "");
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.NotParticipant.selector, id, caller));
        _call(caller, payload);
    }

    // ------------------------------------------------------------------ views

    function test_views_unknownJob() public {
        assertEq(_statusOf(0), 0);
        assertEq(_statusOf(1), 0);
        assertEq(_state(1, alice), 0);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.UnknownJob.selector, 1));
        jobs.getJob(1);
    }

    function test_jobsPage() public {
        for (uint256 i = 0; i < 3; i++) {
            _proposeJob();
        }
        JobRegistry.Job[] memory page = jobs.jobsPage(0, 10);
        assertEq(page.length, 3);
        assertEq(page[2].id, 3);
        page = jobs.jobsPage(1, 1);
        assertEq(page.length, 1);
        assertEq(page[0].id, 2);
        assertEq(jobs.jobsPage(3, 5).length, 0);
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

    function test_fullLifecycle_consortiumReadsAreLive() public {
        // a member removed after approval can no longer report; the others still can
        uint256 id = _proposeJob(alice, _trio(alice, bob, carol), _none());
        _approveAll(id);
        _pass(Consortium.ProposalKind.RemoveMember, carol, 0);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, carol));
        vm.prank(carol);
        jobs.reportCompleted(id, RESULT, "");
        vm.prank(alice);
        jobs.reportFailed(id, "peer carol removed");
        assertEq(_statusOf(id), uint256(JobRegistry.JobStatus.Failed));
    }
}
