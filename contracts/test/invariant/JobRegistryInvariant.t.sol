// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.11;

import {Base} from "../Base.t.sol";
import {DataRegistry} from "../../src/DataRegistry.sol";
import {JobRegistry} from "../../src/JobRegistry.sol";
import {JobHandler} from "./handlers/JobHandler.sol";

/// @notice Job life cycles under adversarial sequences (see JobHandler). Every run appends the deep states
/// it reached to invariant-reach/JobRegistryInvariantTest.log (checked by check-reach.js).
contract JobRegistryInvariantTest is Base {
    string internal constant REACH_DIR = "invariant-reach";
    string internal constant REACH_LOG = "invariant-reach/JobRegistryInvariantTest.log";

    JobHandler internal handler;

    function setUp() public override {
        super.setUp();
        address[] memory members = new address[](5);
        members[0] = alice;
        members[1] = bob;
        members[2] = carol;
        members[3] = makeAddr("dora");
        members[4] = makeAddr("emil");
        _onboard(members[3], "Dora");
        _onboard(members[4], "Emil");
        // alice, carol and emil run their nodes with operator keys (nominated and accepted)
        for (uint256 i = 0; i < 5; i += 2) {
            _authorise(members[i], makeAddr(string(abi.encodePacked("operator-", vm.toString(i)))));
        }
        handler = new JobHandler(consortium, data, jobs, admin1, admin2, members, outsider);
        for (uint256 i = 0; i < 5; i++) {
            _registerDataset(members[i], handler.datasetOf(members[i]), DataRegistry.Visibility.Public);
        }
        vm.createDir(REACH_DIR, true);

        // reportCompleted is listed three times: the fuzzer picks selectors uniformly, and completing
        // every side of a job needs more steps than failing or timing it out
        bytes4[] memory selectors = new bytes4[](16);
        selectors[0] = JobHandler.propose.selector;
        selectors[1] = JobHandler.approve.selector;
        selectors[2] = JobHandler.reject.selector;
        selectors[3] = JobHandler.cancel.selector;
        selectors[4] = JobHandler.expire.selector;
        selectors[5] = JobHandler.reportStarted.selector;
        selectors[6] = JobHandler.reportCompleted.selector;
        selectors[7] = JobHandler.reportFailed.selector;
        selectors[8] = JobHandler.timeOut.selector;
        selectors[9] = JobHandler.updateDataset.selector;
        selectors[10] = JobHandler.changeMembership.selector;
        selectors[11] = JobHandler.changeOperator.selector;
        selectors[12] = JobHandler.roll.selector;
        selectors[13] = JobHandler.poke.selector;
        selectors[14] = JobHandler.reportCompleted.selector;
        selectors[15] = JobHandler.reportCompleted.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// @dev All the job properties, checked after every call of one campaign (each invariant_ function
    /// runs a campaign of its own: one keeps the suite fast). Per call: the ghosts and the jobs the call
    /// touched; at the end of every run (afterInvariant): every job and every participant.
    function invariant_jobLifecycle() public view {
        _assertGhosts();
        _assertJobs(handler.touchedJobs());
    }

    function _assertGhosts() internal view {
        assertEq(handler.badJobTransitions(), 0, "job status transition outside the table");
        assertEq(handler.badParticipantTransitions(), 0, "participant state transition outside the table");
        assertEq(handler.launchedWithoutAllApprovals(), 0, "launched without every approval");
        assertEq(handler.completedWithoutAllCompletions(), 0, "completed without every completion");
        assertEq(handler.badRunDeadline(), 0, "run deadline is not approval + runBlocks");
        assertEq(handler.badClosing(), 0, "closed job inconsistent with its launch");
        assertEq(handler.badCloseTiming(), 0, "failed or completed after the run deadline, or timed out in time");
        assertEq(handler.operatorModelDrift(), 0, "operator keys differ from the handler's model");
        _assertApprovalsBindTheData();
        _assertOnlyEntitledActorsInTime();
    }

    /// @dev For each job: the handler observed its current status (so the transition tables were checked
    /// on every change); an open job that launched was approved by every participant and its reports are
    /// those of a launched job, one that did not has none; a closed job never changes again.
    function _assertJobs(uint256[] memory ids) internal view {
        for (uint256 k = 0; k < ids.length; k++) {
            uint256 id = ids[k];
            JobRegistry.JobStatus status = jobs.jobStatus(id);
            assertEq(uint256(status), uint256(handler.lastStatus(id)), "unobserved status change");
            if (handler.isClosed(status)) {
                bytes32 recorded = handler.closedFingerprint(id);
                assertTrue(recorded != bytes32(0), "closed job never observed closing");
                assertEq(handler.fingerprint(id), recorded, "closed job changed");
            } else {
                _assertOpenJob(id, status);
            }
        }
    }

    function _assertOpenJob(uint256 id, JobRegistry.JobStatus status) internal view {
        JobRegistry.Job memory j = jobs.getJob(id);
        bool launched = status != JobRegistry.JobStatus.Proposed;
        if (launched) {
            assertEq(j.approvals, j.participants.length);
            assertEq(handler.ghostApprovals(id), j.participants.length);
            assertEq(j.runDeadlineBlock, j.approvedBlock + j.runBlocks);
        } else {
            assertLt(j.approvals, j.participants.length);
            assertEq(handler.ghostApprovals(id), j.approvals);
            assertEq(j.runDeadlineBlock, 0);
        }
        assertEq(handler.ghostCompletions(id), j.completions);
        for (uint256 i = 0; i < j.participants.length; i++) {
            JobRegistry.ParticipantState s = jobs.participantReport(id, j.participants[i]).state;
            if (launched) {
                assertTrue(
                    s == JobRegistry.ParticipantState.Approved || s == JobRegistry.ParticipantState.Started
                        || s == JobRegistry.ParticipantState.Completed,
                    "launched job with a participant that did not approve"
                );
            } else {
                assertTrue(
                    s == JobRegistry.ParticipantState.Pending || s == JobRegistry.ParticipantState.Approved,
                    "report on a job that never launched"
                );
            }
        }
    }

    /// @dev No approval succeeded after a dataset of the job changed its description since the proposal,
    /// and DatasetChanged only ever named the first dataset that did change.
    function _assertApprovalsBindTheData() internal view {
        assertEq(handler.approvedAfterDataChange(), 0, "approval over a changed dataset");
        assertEq(handler.spuriousDataChange(), 0, "DatasetChanged without (or naming the wrong) change");
    }

    /// @dev Started/completed reports only succeed before the run deadline from active participants (or
    /// their current operator key, credited to the right member), failures only before it (from any
    /// participant or its current operator key); decisions only from those entitled; expiry and time-out
    /// only after their deadline.
    function _assertOnlyEntitledActorsInTime() internal view {
        assertEq(handler.progressAfterRunDeadline(), 0, "progress report after the run deadline");
        assertEq(handler.failedAfterRunDeadline(), 0, "failure report after the run deadline");
        assertEq(handler.progressFromInactive(), 0, "progress report from an inactive member");
        assertEq(handler.unauthorisedDecisions(), 0, "propose/approve/reject/cancel by someone not entitled");
        assertEq(
            handler.staleOperatorReports(),
            0,
            "report from a replaced, cleared, resigned or only nominated operator key"
        );
        assertEq(handler.misattributedReports(), 0, "report credited to the wrong member");
        assertEq(handler.earlyClose(), 0, "expired or timed out before the deadline");
    }

    function _flag(string memory key, uint256 count) internal pure returns (bytes memory) {
        return abi.encodePacked(key, "=", count > 0 ? "1" : "0");
    }

    /// @dev At the end of every run: every job passes the per-job checks; one line in the reach log says
    /// which deep states the run reached (1) or not (0).
    function afterInvariant() public {
        handler.observeEverything();
        _assertGhosts();
        uint256 n = jobs.jobCount();
        uint256[] memory all = new uint256[](n);
        for (uint256 id = 1; id <= n; id++) {
            all[id - 1] = id;
        }
        _assertJobs(all);
        bytes memory line = abi.encodePacked(
            _flag("completed", handler.reachCompleted()),
            _flag(" failed", handler.reachFailed()),
            _flag(" timedOut", handler.reachTimedOut()),
            _flag(" expired", handler.reachExpired()),
            _flag(" rejected", handler.reachRejected()),
            _flag(" cancelled", handler.reachCancelled())
        );
        line = abi.encodePacked(
            line,
            _flag(" datasetChangedRefused", handler.reachDatasetChangedRefused()),
            _flag(" operatorReported", handler.reachOperatorReported()),
            _flag(" failedByInactive", handler.reachFailedByInactive()),
            _flag(" lateFailureRefused", handler.reachLateFailureRefused()),
            _flag(" operatorResigned", handler.reachOperatorResigned()),
            _flag(" nomineeRefused", handler.reachNomineeRefused())
        );
        vm.writeLine(REACH_LOG, string(line));
    }
}
