// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.11;

import {Base} from "../Base.t.sol";
import {DataRegistry} from "../../src/DataRegistry.sol";
import {JobRegistry} from "../../src/JobRegistry.sol";
import {JobHandler} from "./handlers/JobHandler.sol";

contract JobRegistryInvariantTest is Base {
    JobHandler internal handler;

    function setUp() public override {
        super.setUp();
        address[] memory actors = new address[](6);
        actors[0] = alice;
        actors[1] = bob;
        actors[2] = carol;
        actors[3] = makeAddr("dora");
        actors[4] = makeAddr("emil");
        actors[5] = outsider;
        _onboard(actors[3], "Dora");
        _onboard(actors[4], "Emil");
        handler = new JobHandler(consortium, data, jobs, admin1, admin2, actors);
        for (uint256 i = 0; i < 5; i++) {
            _registerDataset(actors[i], handler.datasetOf(actors[i]), DataRegistry.Visibility.Public);
        }

        bytes4[] memory selectors = new bytes4[](10);
        selectors[0] = JobHandler.propose.selector;
        selectors[1] = JobHandler.approve.selector;
        selectors[2] = JobHandler.reject.selector;
        selectors[3] = JobHandler.cancel.selector;
        selectors[4] = JobHandler.expire.selector;
        selectors[5] = JobHandler.reportStarted.selector;
        selectors[6] = JobHandler.reportCompleted.selector;
        selectors[7] = JobHandler.reportFailed.selector;
        selectors[8] = JobHandler.toggleMember.selector;
        selectors[9] = JobHandler.roll.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// @dev Approved, Running, Completed and Failed jobs were approved by every participant.
    function invariant_approvedOnlyAfterEveryParticipantApproved() public view {
        assertEq(handler.ghostApprovedEarly(), 0);
        uint256 n = jobs.jobCount();
        for (uint256 id = 1; id <= n; id++) {
            JobRegistry.Job memory j = jobs.getJob(id);
            uint256 s = uint256(j.status);
            bool launched = s >= uint256(JobRegistry.JobStatus.Approved) && s <= uint256(JobRegistry.JobStatus.Failed);
            if (launched) {
                assertEq(j.approvals, j.participants.length);
                assertEq(handler.ghostApprovals(id), j.participants.length);
            } else {
                assertLt(j.approvals, j.participants.length);
            }
            for (uint256 i = 0; i < j.participants.length; i++) {
                JobRegistry.ParticipantState ps = jobs.participantReport(id, j.participants[i]).state;
                if (launched) {
                    assertTrue(
                        ps == JobRegistry.ParticipantState.Approved || ps == JobRegistry.ParticipantState.Started
                            || ps == JobRegistry.ParticipantState.Completed
                            || ps == JobRegistry.ParticipantState.Failed,
                        "launched job with a participant that did not approve"
                    );
                } else {
                    assertLe(uint256(ps), uint256(JobRegistry.ParticipantState.Rejected), "report before approval");
                }
            }
            if (j.status == JobRegistry.JobStatus.Completed) {
                assertEq(j.completions, j.participants.length);
            }
            assertEq(handler.ghostCompletions(id), j.completions);
        }
    }

    function invariant_onlyActiveMembersProposeApproveReport() public view {
        assertEq(handler.ghostInactiveSuccess(), 0);
    }

    function invariant_statusNeverMovesBackwards() public view {
        assertEq(handler.ghostBackwards(), 0);
        uint256 n = jobs.jobCount();
        for (uint256 id = 1; id <= n; id++) {
            assertGe(uint256(jobs.jobStatus(id)), uint256(handler.lastStatus(id)));
        }
    }
}
