// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.11;

import {Test} from "../../utils/ForgeStd.sol";
import {Consortium} from "../../../src/Consortium.sol";
import {DataRegistry} from "../../../src/DataRegistry.sol";
import {JobRegistry} from "../../../src/JobRegistry.sol";

/// @notice Drives jobs through their life cycle from a fixed set of actors: five members (each with a
/// public dataset) and one outsider. Admins suspend and reinstate members now and then, so some actors
/// are inactive at times. Every successful call is checked against the caller's membership before the
/// call, and every job's status is compared with the last status seen.
contract JobHandler is Test {
    Consortium public immutable consortium;
    DataRegistry public immutable data;
    JobRegistry public immutable jobs;
    address public immutable admin1;
    address public immutable admin2;

    address[] public actors; // members first, outsider last
    mapping(address => bytes32) public datasetOf;

    mapping(uint256 => JobRegistry.JobStatus) public lastStatus;
    mapping(uint256 => uint256) public ghostApprovals;
    mapping(uint256 => uint256) public ghostCompletions;

    uint256 public ghostInactiveSuccess;
    uint256 public ghostBackwards;
    uint256 public ghostApprovedEarly;
    uint256 public ghostProposed;
    uint256 public ghostReports;

    constructor(
        Consortium consortium_,
        DataRegistry data_,
        JobRegistry jobs_,
        address admin1_,
        address admin2_,
        address[] memory actors_
    ) {
        consortium = consortium_;
        data = data_;
        jobs = jobs_;
        admin1 = admin1_;
        admin2 = admin2_;
        actors = actors_;
        for (uint256 i = 0; i < actors_.length; i++) {
            datasetOf[actors_[i]] = keccak256(abi.encode("dataset", actors_[i]));
        }
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    // ---------------------------------------------------------------- helpers

    function _job(uint256 seed) internal view returns (uint256 id, bool ok) {
        uint256 n = jobs.jobCount();
        if (n == 0) return (0, false);
        return (seed % n + 1, true);
    }

    /// @dev Four times out of five a job in status `a` or `b` (when there is one), otherwise any job.
    function _jobIn(uint256 seed, JobRegistry.JobStatus a, JobRegistry.JobStatus b)
        internal
        view
        returns (uint256 id, bool ok)
    {
        (id, ok) = _job(seed);
        if (!ok || seed % 5 == 0) return (id, ok);
        uint256 n = jobs.jobCount();
        for (uint256 i = 0; i < n; i++) {
            uint256 candidate = (seed % n + i) % n + 1;
            JobRegistry.JobStatus s = jobs.jobStatus(candidate);
            if (s == a || s == b) return (candidate, true);
        }
    }

    /// @dev Four times out of five a participant of the job in state `want` (if any), otherwise any actor.
    function _participantIn(uint256 jobId, uint256 seed, JobRegistry.ParticipantState want)
        internal
        view
        returns (address)
    {
        if (seed % 5 != 0) {
            address[] memory ps = jobs.getJob(jobId).participants;
            for (uint256 i = 0; i < ps.length; i++) {
                address p = ps[(seed % ps.length + i) % ps.length];
                if (jobs.participantReport(jobId, p).state == want) return p;
            }
        }
        return _participantOr(jobId, seed);
    }

    /// @dev Four times out of five one of the job's participants, otherwise any actor.
    function _participantOr(uint256 jobId, uint256 seed) internal view returns (address) {
        if (seed % 5 != 0) {
            address[] memory ps = jobs.getJob(jobId).participants;
            return ps[(seed / 5) % ps.length];
        }
        return actors[(seed / 5) % actors.length];
    }

    function _afterCall() internal {
        uint256 n = jobs.jobCount();
        for (uint256 id = 1; id <= n; id++) {
            JobRegistry.JobStatus s = jobs.jobStatus(id);
            if (uint256(s) < uint256(lastStatus[id])) ghostBackwards++;
            if (s == JobRegistry.JobStatus.Approved && lastStatus[id] != JobRegistry.JobStatus.Approved) {
                if (ghostApprovals[id] != jobs.getJob(id).participants.length) ghostApprovedEarly++;
            }
            lastStatus[id] = s;
        }
    }

    function _succeeded(address actor, bool wasActive) internal {
        if (!wasActive) ghostInactiveSuccess++;
        actor;
    }

    // ---------------------------------------------------------------- actions

    function propose(uint256 actorSeed, uint256 mask, uint256 deadlineSeed, bool withData) external {
        _propose(actorSeed, mask, deadlineSeed, withData);
    }

    function _propose(uint256 actorSeed, uint256 mask, uint256 deadlineSeed, bool withData) internal {
        address actor = actors[actorSeed % actors.length];
        uint256 members = actors.length - 1;
        // 2..4 consecutive members from a random start
        uint256 count = 2 + (mask % 3);
        uint256 first = (mask / 3) % members;
        address[] memory ps = new address[](count);
        for (uint256 i = 0; i < count; i++) {
            ps[i] = actors[(first + i) % members];
        }
        bytes32[] memory ds = new bytes32[](withData ? 1 : 0);
        if (withData) ds[0] = datasetOf[ps[0]];
        uint64 deadline = uint64(block.number + _bound(deadlineSeed, 1, 20));

        bool wasActive = consortium.isActive(actor);
        vm.prank(actor);
        try jobs.propose("psi", ps, ds, "{}", deadline) {
            _succeeded(actor, wasActive);
            ghostProposed++;
        } catch {}
        _afterCall();
    }

    function approve(uint256 jobSeed, uint256 actorSeed) external {
        (uint256 id, bool ok) = _jobIn(jobSeed, JobRegistry.JobStatus.Proposed, JobRegistry.JobStatus.Proposed);
        if (!ok || (jobs.jobStatus(id) != JobRegistry.JobStatus.Proposed && jobSeed % 2 == 0)) {
            // nothing to approve: open a new job instead
            _propose(actorSeed, jobSeed, actorSeed >> 128, jobSeed % 3 == 0);
            return;
        }
        // one to three approvals in a row (each by a pending participant, mostly)
        uint256 rounds = 1 + (actorSeed % 3);
        for (uint256 i = 0; i < rounds; i++) {
            address actor = _participantIn(id, actorSeed >> (8 * i), JobRegistry.ParticipantState.Pending);
            bool wasActive = consortium.isActive(actor);
            vm.prank(actor);
            try jobs.approve(id) {
                _succeeded(actor, wasActive);
                ghostApprovals[id]++;
            } catch {}
            _afterCall();
        }
    }

    function reject(uint256 jobSeed, uint256 actorSeed) external {
        (uint256 id, bool ok) = _jobIn(jobSeed, JobRegistry.JobStatus.Proposed, JobRegistry.JobStatus.Proposed);
        if (!ok) return;
        // rejections are rarer than approvals
        if (actorSeed % 3 != 0) return;
        address actor = _participantOr(id, actorSeed / 3);
        bool wasActive = consortium.isActive(actor);
        vm.prank(actor);
        try jobs.reject(id, "no") {
            _succeeded(actor, wasActive);
        } catch {}
        _afterCall();
    }

    function cancel(uint256 jobSeed, uint256 actorSeed) external {
        (uint256 id, bool ok) = _job(jobSeed);
        if (!ok) return;
        if (actorSeed % 3 != 0) return; // cancellations are rare
        address actor = actorSeed % 4 == 0 ? actors[actorSeed % actors.length] : jobs.getJob(id).proposer;
        vm.prank(actor);
        try jobs.cancel(id) {} catch {}
        _afterCall();
    }

    function expire(uint256 jobSeed) external {
        (uint256 id, bool ok) = _jobIn(jobSeed, JobRegistry.JobStatus.Proposed, JobRegistry.JobStatus.Proposed);
        if (!ok) return;
        try jobs.expire(id) {} catch {}
        _afterCall();
    }

    function reportStarted(uint256 jobSeed, uint256 actorSeed) external {
        (uint256 id, bool ok) = _jobIn(jobSeed, JobRegistry.JobStatus.Approved, JobRegistry.JobStatus.Running);
        if (!ok) return;
        address actor = _participantIn(id, actorSeed, JobRegistry.ParticipantState.Approved);
        bool wasActive = consortium.isActive(actor);
        vm.prank(actor);
        try jobs.reportStarted(id) {
            _succeeded(actor, wasActive);
            ghostReports++;
        } catch {}
        _afterCall();
    }

    function reportCompleted(uint256 jobSeed, uint256 actorSeed) external {
        (uint256 id, bool ok) = _jobIn(jobSeed, JobRegistry.JobStatus.Approved, JobRegistry.JobStatus.Running);
        if (!ok) return;
        // one or two completions in a row
        uint256 rounds = 1 + (actorSeed % 2);
        for (uint256 i = 0; i < rounds; i++) {
            uint256 seed = actorSeed >> (8 * i);
            address actor = _participantIn(
                id, seed, seed % 3 == 0 ? JobRegistry.ParticipantState.Started : JobRegistry.ParticipantState.Approved
            );
            bool wasActive = consortium.isActive(actor);
            vm.prank(actor);
            try jobs.reportCompleted(id, keccak256(abi.encode(id, actor)), "{}") {
                _succeeded(actor, wasActive);
                ghostCompletions[id]++;
                ghostReports++;
            } catch {}
            _afterCall();
        }
    }

    function reportFailed(uint256 jobSeed, uint256 actorSeed) external {
        (uint256 id, bool ok) = _jobIn(jobSeed, JobRegistry.JobStatus.Approved, JobRegistry.JobStatus.Running);
        if (!ok) return;
        if (actorSeed % 3 != 0) return;
        address actor = _participantIn(id, actorSeed / 3, JobRegistry.ParticipantState.Started);
        bool wasActive = consortium.isActive(actor);
        vm.prank(actor);
        try jobs.reportFailed(id, "boom") {
            _succeeded(actor, wasActive);
            ghostReports++;
        } catch {}
        _afterCall();
    }

    /// @dev Admins suspend an active member or reinstate a suspended one.
    function toggleMember(uint256 memberSeed) external {
        address m = actors[memberSeed % (actors.length - 1)];
        Consortium.MemberStatus s = consortium.memberStatus(m);
        Consortium.ProposalKind kind;
        if (s == Consortium.MemberStatus.Active) {
            if (memberSeed % 4 != 0) return; // suspensions are rare, reinstatements are not
            kind = Consortium.ProposalKind.SuspendMember;
        } else if (s == Consortium.MemberStatus.Suspended) {
            kind = Consortium.ProposalKind.ReinstateMember;
        } else {
            return;
        }
        vm.prank(admin1);
        uint256 pid = consortium.propose(kind, m, 0);
        vm.prank(admin2);
        consortium.vote(pid);
        _afterCall();
    }

    function roll(uint256 blocks) external {
        vm.roll(block.number + _bound(blocks, 1, 8));
        _afterCall();
    }
}
