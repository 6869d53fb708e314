// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.11;

import {Test} from "../../utils/ForgeStd.sol";
import {Consortium} from "../../../src/Consortium.sol";
import {DataRegistry, DatasetRef} from "../../../src/DataRegistry.sol";
import {JobRegistry} from "../../../src/JobRegistry.sol";

/// @notice Drives jobs through their whole life cycle: five members (each with a Public dataset, some with
/// an operator key) and one outsider propose, approve, reject, cancel, expire, report and time out jobs,
/// while dataset owners change their descriptions between approvals, admins suspend, remove and re-admit
/// members and members nominate, replace, clear or lose (by resignation) their operator keys. After a job's
/// run deadline no report, a failure included, may succeed: only the time-out closes it. An action that finds
/// no job in the state it needs first brings one there (proposes, approves), so runs reach completed, failed
/// and timed-out jobs.
/// @dev The handler keeps its own model (participants, dataset versions, deadlines, operator keys; only the
/// initial operator keys are read from the Consortium) and checks every status change it observes against
/// the transition tables: the touched job after every single call, every open job at the end of every
/// action, every job and participant at the end of every run. Violations are counted in ghost variables
/// the invariant test asserts to be zero.
contract JobHandler is Test {
    Consortium public immutable consortium;
    DataRegistry public immutable data;
    JobRegistry public immutable jobs;
    address public immutable admin1;
    address public immutable admin2;
    address public immutable outsider;

    address[] public members;
    mapping(address => bytes32) public datasetOf;
    // Version of each member's dataset, counted by the handler (registered at version 1 by the test).
    mapping(address => uint32) public versionOf;

    // Operator keys as the handler set them (a key is an operator once it accepted its nomination).
    mapping(address => address) public opOf;
    mapping(address => address) public memberOfOp;
    // Keys that must report for nobody: replaced, cleared or resigned operators, and nominees that never
    // accepted.
    address[] public staleOperators;
    mapping(address => bool) public nomineeOnly;
    uint256 internal _operatorNonce;

    // ------------------------------------------------------------ job model
    mapping(uint256 => address[]) internal _participants;
    mapping(uint256 => DatasetRef[]) internal _datasets;
    mapping(uint256 => uint32[]) internal _versions; // dataset versions at proposal
    mapping(uint256 => uint64) public deadlineOf;
    mapping(uint256 => uint64) public runBlocksOf;
    mapping(uint256 => uint64) public runDeadlineOf; // set when the approval is observed
    mapping(uint256 => uint256) public ghostApprovals;
    mapping(uint256 => uint256) public ghostCompletions;
    mapping(uint256 => JobRegistry.JobStatus) public lastStatus;
    mapping(uint256 => mapping(address => JobRegistry.ParticipantState)) public lastState;
    mapping(uint256 => bytes32) public closedFingerprint;

    // ----------------------------------------------- violations (must stay 0)
    uint256 public badJobTransitions;
    uint256 public badParticipantTransitions;
    uint256 public launchedWithoutAllApprovals;
    uint256 public completedWithoutAllCompletions;
    uint256 public badRunDeadline;
    uint256 public approvedAfterDataChange;
    uint256 public spuriousDataChange;
    uint256 public progressAfterRunDeadline;
    uint256 public failedAfterRunDeadline;
    uint256 public badCloseTiming;
    uint256 public operatorModelDrift;
    uint256 public progressFromInactive;
    uint256 public unauthorisedDecisions;
    uint256 public staleOperatorReports;
    uint256 public misattributedReports;
    uint256 public earlyClose;
    uint256 public badClosing;

    // ------------------------------------------------------------ reach
    uint256 public reachCompleted;
    uint256 public reachFailed;
    uint256 public reachTimedOut;
    uint256 public reachExpired;
    uint256 public reachRejected;
    uint256 public reachCancelled;
    uint256 public reachDatasetChangedRefused;
    uint256 public reachOperatorReported;
    uint256 public reachFailedByInactive;
    uint256 public reachLateFailureRefused;
    uint256 public reachOperatorResigned;
    uint256 public reachNomineeRefused;

    // Jobs the current action called the registry about.
    uint256[] internal _touched;
    // Jobs not seen closed yet.
    uint256[] internal _open;

    /// @dev Every action ends with a look at every open job.
    modifier observed() {
        delete _touched;
        _;
        _observeAll();
    }

    constructor(
        Consortium consortium_,
        DataRegistry data_,
        JobRegistry jobs_,
        address admin1_,
        address admin2_,
        address[] memory members_,
        address outsider_
    ) {
        consortium = consortium_;
        data = data_;
        jobs = jobs_;
        admin1 = admin1_;
        admin2 = admin2_;
        outsider = outsider_;
        members = members_;
        for (uint256 i = 0; i < members_.length; i++) {
            address m = members_[i];
            datasetOf[m] = keccak256(abi.encode("dataset", m));
            versionOf[m] = 1;
            address op = consortium_.operatorOf(m);
            if (op != address(0)) {
                opOf[m] = op;
                memberOfOp[op] = m;
            }
        }
    }

    // ================================================================ actions

    function propose(uint256 seed) external observed {
        _propose(seed, false);
    }

    /// @dev Three times out of four every pending participant approves, else one approval by anyone.
    function approve(uint256 jobSeed, uint256 actorSeed) external observed {
        (uint256 id, bool found) = _proposed(jobSeed, false);
        if (!found) return;
        if (actorSeed % 4 != 0) _approvePending(id);
        else _approveAs(id, _anyone(id, actorSeed >> 2));
    }

    function reject(uint256 jobSeed, uint256 actorSeed) external observed {
        (uint256 id, bool found) = _proposed(jobSeed, false);
        if (!found) return;
        address actor = actorSeed % 5 != 0
            ? _participantIn(id, actorSeed >> 3, JobRegistry.ParticipantState.Pending)
            : _anyone(id, actorSeed >> 3);
        _reject(id, actor);
    }

    function cancel(uint256 jobSeed, uint256 actorSeed) external observed {
        (uint256 id, bool found) = _proposed(jobSeed, false);
        if (!found) return;
        _cancel(id, actorSeed % 4 == 0 ? _anyone(id, actorSeed >> 2) : jobs.getJob(id).proposer);
    }

    /// @dev Expires a proposed job, usually after rolling past its approval deadline.
    function expire(uint256 jobSeed, uint256 rollSeed) external observed {
        (uint256 id, bool found) = _proposed(jobSeed, false);
        if (!found) return;
        uint64 deadline = deadlineOf[id];
        if (rollSeed % 4 != 0 && block.number <= deadline) vm.roll(deadline + 1 + (rollSeed >> 2) % 3);
        _expire(id);
    }

    /// @dev One time in four on a job past its run deadline (must fail).
    function reportStarted(uint256 jobSeed, uint256 actorSeed) external observed {
        (uint256 id, bool found) = _launched(jobSeed, jobSeed % 4 != 0);
        if (!found) return;
        address member = _participantIn(id, actorSeed, JobRegistry.ParticipantState.Approved);
        _reportProgress(id, _reporter(member, actorSeed >> 8), false);
    }

    /// @dev Three times out of four every open side of a launched job completes, else one report. One time
    /// in four on a job past its run deadline (must fail).
    function reportCompleted(uint256 jobSeed, uint256 actorSeed) external observed {
        (uint256 id, bool found) = _launched(jobSeed, jobSeed % 4 != 0);
        if (!found) return;
        if (actorSeed % 4 != 0) {
            _completeOpen(id, actorSeed >> 2);
        } else {
            address member = _participantIn(id, actorSeed >> 2, JobRegistry.ParticipantState.Started);
            _reportProgress(id, _reporter(member, actorSeed >> 10), true);
        }
    }

    /// @dev A participant's side fails; half of the time the admins first suspend or remove it. Half of the
    /// time on a job past its run deadline when there is one (the failure must be refused then).
    function reportFailed(uint256 jobSeed, uint256 actorSeed) external observed {
        (uint256 id, bool found) = _launched(jobSeed, jobSeed % 2 == 0);
        if (!found) return;
        address member = _participantIn(id, actorSeed >> 4, JobRegistry.ParticipantState.Started);
        if (actorSeed % 2 == 0 && consortium.isActive(member)) _sanction(member, (actorSeed >> 1) % 3 == 0);
        _reportFailed(id, _reporter(member, actorSeed >> 12), JobRegistry.FailureCategory(actorSeed % 10));
    }

    /// @dev Times out a launched job, usually after rolling past its run deadline. Half of the time a
    /// participant that never finished first tries to close it as failed, blaming another (it must be refused
    /// once the run deadline passed).
    function timeOut(uint256 jobSeed, uint256 rollSeed) external observed {
        (uint256 id, bool found) = _launched(jobSeed, false);
        if (!found) return;
        uint64 runDeadline = runDeadlineOf[id];
        if (rollSeed % 4 != 0 && block.number <= runDeadline) vm.roll(runDeadline + 1 + (rollSeed >> 2) % 3);
        if ((rollSeed >> 8) % 2 == 0) {
            address staller = _participantIn(id, rollSeed >> 9, JobRegistry.ParticipantState.Started);
            if (lastState[id][staller] != JobRegistry.ParticipantState.Started) {
                staller = _participantIn(id, rollSeed >> 9, JobRegistry.ParticipantState.Approved);
            }
            _reportFailed(id, _reporter(staller, rollSeed >> 16), JobRegistry.FailureCategory.Peer);
            if (isClosed(lastStatus[id])) return; // it was still in time
        }
        _timeOut(id, rollSeed % 3 == 0 ? outsider : _anyone(id, rollSeed >> 4));
    }

    /// @dev Any call on any job, mostly closed ones (nothing may change them), by one of its participants,
    /// their operator key or someone else.
    function poke(uint256 jobSeed, uint256 seed) external observed {
        uint256 n = jobs.jobCount();
        if (n == 0) return;
        uint256 id = jobSeed % n + 1;
        address member = _participants[id][(seed >> 4) % _participants[id].length];
        address actor = _reporter(member, seed >> 8);
        uint256 what = seed % 8;
        if (what == 0) _approveAs(id, member);
        else if (what == 1) _reject(id, member);
        else if (what == 2) _cancel(id, jobs.getJob(id).proposer);
        else if (what == 3) _expire(id);
        else if (what == 4) _timeOut(id, actor);
        else if (what == 5) _reportProgress(id, actor, false);
        else if (what == 6) _reportProgress(id, actor, true);
        else _reportFailed(id, actor, JobRegistry.FailureCategory.Internal);
    }

    /// @dev An owner changes the description of a dataset a proposed job reads, then a pending participant
    /// tries to approve (it must fail with DatasetChanged). One time in four the owner only hides the
    /// dataset (Listed without grants, or Private) around the approval attempt: no description change.
    function updateDataset(uint256 jobSeed, uint256 seed) external observed {
        (uint256 id, bool found) = _proposed(jobSeed, true);
        if (!found) return;
        DatasetRef memory d = _datasets[id][seed % _datasets[id].length];
        DataRegistry.Dataset memory current = data.getDataset(d.owner, d.name);
        bool hide = (seed >> 8) % 4 == 0;
        vm.prank(d.owner);
        if (hide) {
            DataRegistry.Visibility v =
                (seed >> 10) % 2 == 0 ? DataRegistry.Visibility.Listed : DataRegistry.Visibility.Private;
            try data.setVisibility(d.name, v) {} catch {}
        } else {
            try data.update(d.name, current.schemaHash, current.rowCount + 1, current.metadata) {
                versionOf[d.owner]++;
            } catch {}
        }
        _approveAs(id, _participantIn(id, seed >> 16, JobRegistry.ParticipantState.Pending));
        if (hide) {
            vm.prank(d.owner);
            try data.setVisibility(d.name, current.visibility) {} catch {}
        }
    }

    /// @dev Admins suspend or remove a member, or (two times in three) bring an inactive one back.
    function changeMembership(uint256 seed) external observed {
        if (seed % 3 != 0 && _restore(seed >> 2)) return;
        address m = members[(seed >> 2) % members.length];
        if (consortium.isActive(m)) _sanction(m, (seed >> 8) % 3 == 0);
    }

    /// @dev A member's operator key changes: mostly the member nominates a fresh key that accepts at once
    /// (replacing the previous one); sometimes the fresh key is only nominated (it must report for nobody),
    /// the operator resigns, or the member clears it. Every key that stops being an operator, and every
    /// nominee that never accepted, becomes stale.
    function changeOperator(uint256 seed) external observed {
        address m = members[seed % members.length];
        address previous = opOf[m];
        uint256 mode = (seed >> 8) % 8;
        if (previous == address(0) || mode < 5) {
            _operatorNonce++;
            address next = address(uint160(uint256(keccak256(abi.encode("operator", _operatorNonce)))));
            bool nominated;
            vm.prank(m);
            try consortium.setOperator(next) {
                nominated = true;
            } catch {}
            if (nominated && mode == 4) {
                staleOperators.push(next); // nominated only: it never accepts
                nomineeOnly[next] = true;
            } else if (nominated) {
                vm.prank(next);
                try consortium.acceptOperator(m) {
                    _operatorGone(previous);
                    opOf[m] = next;
                    memberOfOp[next] = m;
                } catch {}
            }
        } else if (mode == 5) {
            vm.prank(previous);
            try consortium.resignOperator() {
                reachOperatorResigned++;
                _operatorGone(previous);
                delete opOf[m];
            } catch {}
        } else {
            vm.prank(m);
            try consortium.setOperator(address(0)) {
                _operatorGone(previous);
                delete opOf[m];
            } catch {}
        }
        _checkOperatorModel(m);
    }

    function _operatorGone(address previous) internal {
        if (previous == address(0)) return;
        delete memberOfOp[previous];
        staleOperators.push(previous);
    }

    /// @dev The consortium agrees with the handler about `m`'s operator key.
    function _checkOperatorModel(address m) internal {
        address op = opOf[m];
        if (consortium.operatorOf(m) != op) operatorModelDrift++;
        if (op != address(0) && consortium.memberOfOperator(op) != m) operatorModelDrift++;
    }

    function roll(uint256 blocks) external observed {
        vm.roll(block.number + _bound(blocks, 1, 6));
    }

    // ========================================================= action parts

    /// @dev Proposes a job of 2..4 active members (now and then with an inactive one or by someone not
    /// entitled, which must fail) reading 0..2 of their datasets (1..2 with `withData`).
    function _propose(uint256 seed, bool withData) internal returns (uint256 id, bool ok) {
        address[] memory ps = _pickParticipants(seed);
        if (ps.length < 2) return (0, false);
        uint256 nData = (seed >> 16) % 3;
        if (withData && nData == 0) nData = 1;
        DatasetRef[] memory ds = new DatasetRef[](nData);
        for (uint256 i = 0; i < nData; i++) {
            address owner = ps[(i + (seed >> 20)) % ps.length];
            ds[i] = DatasetRef(owner, datasetOf[owner]);
        }
        address proposer = (seed >> 48) % 8 == 0 ? _anyone(0, seed >> 52) : ps[(seed >> 56) % ps.length];
        return _submit(proposer, ps, ds, uint64(block.number + 4 + (seed >> 24) % 16), uint64(4 + (seed >> 32) % 24));
    }

    function _submit(address proposer, address[] memory ps, DatasetRef[] memory ds, uint64 deadline, uint64 runBlocks)
        internal
        returns (uint256 id, bool ok)
    {
        bool entitled = consortium.isActive(proposer);
        for (uint256 i = 0; i < ps.length; i++) {
            if (!consortium.isActive(ps[i])) entitled = false;
        }
        vm.prank(proposer);
        try jobs.propose("psi", ps, ds, '{"protocol":"ecdh"}', deadline, runBlocks) returns (uint256 newId) {
            (id, ok) = (newId, true);
            if (!entitled) unauthorisedDecisions++;
            _record(id, ps, ds, deadline, runBlocks);
        } catch {}
    }

    /// @dev 2..4 active members (now and then one inactive member among them); fewer than 2 when not
    /// enough members are active even after bringing one back.
    function _pickParticipants(uint256 seed) internal returns (address[] memory ps) {
        (address[] memory act, uint256 n) = _activeMembers();
        if (n < 2) {
            _restore(seed);
            (act, n) = _activeMembers();
            if (n < 2) return new address[](0);
        }
        uint256 count = 2 + (seed % 3);
        if (count > n) count = n;
        ps = new address[](count);
        uint256 start = (seed >> 8) % n;
        for (uint256 i = 0; i < count; i++) {
            ps[i] = act[(start + i) % n];
        }
        if ((seed >> 40) % 16 == 0) {
            address m = members[(seed >> 44) % members.length];
            if (!consortium.isActive(m)) ps[count - 1] = m;
        }
    }

    function _record(uint256 id, address[] memory ps, DatasetRef[] memory ds, uint64 deadline, uint64 runBlocks)
        internal
    {
        _participants[id] = ps;
        for (uint256 i = 0; i < ds.length; i++) {
            _datasets[id].push(ds[i]);
            _versions[id].push(versionOf[ds[i].owner]);
        }
        deadlineOf[id] = deadline;
        runBlocksOf[id] = runBlocks;
        _open.push(id);
        _observe(id);
    }

    function _reject(uint256 id, address actor) internal {
        bool entitled = _isParticipant(id, actor) && consortium.isActive(actor);
        vm.prank(actor);
        try jobs.reject(id, "not with this data") {
            if (!entitled) unauthorisedDecisions++;
        } catch {}
        _observe(id, actor);
    }

    function _cancel(uint256 id, address actor) internal {
        address proposer = jobs.getJob(id).proposer;
        vm.prank(actor);
        try jobs.cancel(id) {
            if (actor != proposer) unauthorisedDecisions++;
        } catch {}
        _observe(id, address(0));
    }

    function _expire(uint256 id) internal {
        vm.prank(outsider);
        try jobs.expire(id) {
            if (block.number <= deadlineOf[id]) earlyClose++;
        } catch {}
        _observe(id, address(0));
    }

    function _timeOut(uint256 id, address caller) internal {
        vm.prank(caller);
        try jobs.timeOut(id) {
            if (block.number <= runDeadlineOf[id]) earlyClose++;
        } catch {}
        _observe(id, address(0));
    }

    function _approvePending(uint256 id) internal {
        address[] memory ps = _participants[id];
        for (uint256 i = 0; i < ps.length; i++) {
            if (lastState[id][ps[i]] == JobRegistry.ParticipantState.Pending) _approveAs(id, ps[i]);
        }
    }

    function _approveAs(uint256 id, address actor) internal {
        (bool changed, uint256 first) = _firstChanged(id);
        bool entitled = _isParticipant(id, actor) && consortium.isActive(actor);
        vm.prank(actor);
        try jobs.approve(id) {
            ghostApprovals[id]++;
            if (changed) approvedAfterDataChange++;
            if (!entitled) unauthorisedDecisions++;
        } catch (bytes memory err) {
            _checkRefusal(id, err, changed, first);
        }
        _observe(id, actor);
    }

    /// @dev A DatasetChanged refusal must name the first dataset of the job whose description changed.
    function _checkRefusal(uint256 id, bytes memory err, bool changed, uint256 first) internal {
        if (err.length != 100 || bytes4(err) != JobRegistry.DatasetChanged.selector) return;
        reachDatasetChangedRefused++;
        uint256 jobId;
        address owner;
        bytes32 name;
        assembly {
            jobId := mload(add(err, 36))
            owner := mload(add(err, 68))
            name := mload(add(err, 100))
        }
        if (!changed || jobId != id || owner != _datasets[id][first].owner || name != _datasets[id][first].name) {
            spuriousDataChange++;
        }
    }

    function _completeOpen(uint256 id, uint256 seed) internal {
        address[] memory ps = _participants[id];
        for (uint256 i = 0; i < ps.length; i++) {
            JobRegistry.ParticipantState s = lastState[id][ps[i]];
            if (s != JobRegistry.ParticipantState.Approved && s != JobRegistry.ParticipantState.Started) continue;
            // half of the time the admins bring a suspended or removed participant back first
            if ((seed >> (i + 24)) % 2 == 0) _restoreMember(ps[i]);
            if ((seed >> i) % 4 == 0 && s == JobRegistry.ParticipantState.Approved) {
                _reportProgress(id, _reporter(ps[i], seed >> (i + 8)), false);
            }
            _reportProgress(id, _reporter(ps[i], seed >> (i + 16)), true);
        }
    }

    /// @dev reportFailed from `actor`: credited to the right member, whatever its membership status, and only
    /// until the run deadline.
    function _reportFailed(uint256 id, address actor, JobRegistry.FailureCategory category) internal {
        address credited = _credited(actor);
        bool wasActive = consortium.isActive(credited);
        bool late = block.number > runDeadlineOf[id];
        bool running =
            lastStatus[id] == JobRegistry.JobStatus.Approved || lastStatus[id] == JobRegistry.JobStatus.Running;
        vm.prank(actor);
        try jobs.reportFailed(id, category, keccak256(abi.encode(id, actor))) {
            _checkCredited(id, actor, credited, JobRegistry.ParticipantState.Failed);
            if (late) failedAfterRunDeadline++;
            if (!wasActive) reachFailedByInactive++;
        } catch (bytes memory err) {
            if (running && late && bytes4(err) == JobRegistry.RunDeadlinePassed.selector) reachLateFailureRefused++;
            if (nomineeOnly[actor]) reachNomineeRefused++;
        }
        _observe(id, credited);
    }

    /// @dev reportStarted / reportCompleted from `actor`; checks the report went to the right member and
    /// only succeeded in time from an active participant.
    function _reportProgress(uint256 id, address actor, bool complete) internal {
        address credited = _credited(actor);
        bool active = consortium.isActive(credited);
        bool late = block.number > runDeadlineOf[id];
        bool ok;
        vm.prank(actor);
        if (complete) {
            try jobs.reportCompleted(id, keccak256(abi.encode(id, credited)), "") {
                ok = true;
            } catch {}
        } else {
            try jobs.reportStarted(id) {
                ok = true;
            } catch {}
        }
        if (!ok && nomineeOnly[actor]) reachNomineeRefused++;
        if (ok) {
            if (!active) progressFromInactive++;
            if (late) progressAfterRunDeadline++;
            if (complete) ghostCompletions[id]++;
            _checkCredited(
                id,
                actor,
                credited,
                complete ? JobRegistry.ParticipantState.Completed : JobRegistry.ParticipantState.Started
            );
        }
        _observe(id, credited);
    }

    function _checkCredited(uint256 id, address actor, address credited, JobRegistry.ParticipantState want) internal {
        if (!_isParticipant(id, credited) || jobs.participantReport(id, credited).state != want) {
            misattributedReports++;
        }
        for (uint256 i = 0; i < staleOperators.length; i++) {
            if (staleOperators[i] == actor) staleOperatorReports++;
        }
        if (actor != credited) reachOperatorReported++;
    }

    // ----------------------------------------------------------- membership

    function _pass(Consortium.ProposalKind kind, address target, uint256 value) internal {
        vm.prank(admin1);
        try consortium.propose(kind, target, value) returns (uint256 pid) {
            if (consortium.getProposal(pid).status == Consortium.ProposalStatus.Open) {
                vm.prank(admin2);
                try consortium.vote(pid) {} catch {}
            }
        } catch {}
    }

    function _sanction(address m, bool removal) internal {
        Consortium.ProposalKind kind =
            removal ? Consortium.ProposalKind.RemoveMember : Consortium.ProposalKind.SuspendMember;
        _pass(kind, m, consortium.getMember(m).instance);
    }

    /// @dev Brings back the first inactive member from `seed`: reinstates a suspended one, re-admits a
    /// removed one. Returns false when every member is active.
    function _restore(uint256 seed) internal returns (bool) {
        for (uint256 i = 0; i < members.length; i++) {
            address m = members[(seed + i) % members.length];
            if (_restoreMember(m)) return true;
        }
        return false;
    }

    /// @dev Reinstates `m` when suspended, re-admits it when removed; false when it is active.
    function _restoreMember(address m) internal returns (bool) {
        Consortium.MemberStatus s = consortium.memberStatus(m);
        if (s == Consortium.MemberStatus.Active) return false;
        if (s == Consortium.MemberStatus.Suspended) {
            _pass(Consortium.ProposalKind.ReinstateMember, m, consortium.getMember(m).instance);
        } else {
            if (s == Consortium.MemberStatus.Removed) {
                vm.prank(m);
                try consortium.applyForMembership("Member again", "https://gw.example:7443", _key(m)) {} catch {}
            }
            _pass(Consortium.ProposalKind.ApproveMember, m, consortium.keyVersionOf(m));
        }
        return true;
    }

    function _key(address m) internal pure returns (bytes memory) {
        return abi.encodePacked(keccak256(abi.encode(m, "x")), keccak256(abi.encode(m, "y")));
    }

    // ------------------------------------------------------------- choosers

    /// @dev A proposed job (with `withData`: one that reads datasets) still inside its approval window, whose
    /// datasets did not change; else (one time in four) any proposed one; else a new one.
    function _proposed(uint256 seed, bool withData) internal returns (uint256, bool) {
        uint256[] memory open = _open;
        uint256 fallbackId;
        for (uint256 i = 0; i < open.length; i++) {
            uint256 id = open[(seed + i) % open.length];
            if (lastStatus[id] != JobRegistry.JobStatus.Proposed) continue;
            if (withData && _datasets[id].length == 0) continue;
            (bool changed,) = _firstChanged(id);
            if (block.number <= deadlineOf[id] && !changed) return (id, true);
            if (fallbackId == 0) fallbackId = id;
        }
        if (fallbackId != 0 && seed % 4 == 0) return (fallbackId, true);
        return _propose(seed, withData);
    }

    /// @dev An Approved or Running job: with `inTime` one before its run deadline, else preferably one past
    /// it; when there is none, one made by approving a proposed (or new) job.
    function _launched(uint256 seed, bool inTime) internal returns (uint256, bool) {
        uint256[] memory open = _open;
        uint256 other;
        for (uint256 i = 0; i < open.length; i++) {
            uint256 id = open[(seed + i) % open.length];
            JobRegistry.JobStatus s = lastStatus[id];
            if (s != JobRegistry.JobStatus.Approved && s != JobRegistry.JobStatus.Running) continue;
            if (inTime == (block.number <= runDeadlineOf[id])) return (id, true);
            if (other == 0) other = id;
        }
        if (other != 0 && !inTime) return (other, true);
        (uint256 pid, bool found) = _proposed(seed >> 3, false);
        if (!found) return (0, false);
        _approvePending(pid);
        return (pid, lastStatus[pid] == JobRegistry.JobStatus.Approved);
    }

    function _activeMembers() internal view returns (address[] memory list, uint256 n) {
        list = new address[](members.length);
        for (uint256 i = 0; i < members.length; i++) {
            if (consortium.isActive(members[i])) list[n++] = members[i];
        }
    }

    /// @dev Four times out of five a participant in state `want` (if any), otherwise any participant.
    function _participantIn(uint256 id, uint256 seed, JobRegistry.ParticipantState want)
        internal
        view
        returns (address)
    {
        address[] memory ps = _participants[id];
        if (seed % 5 != 0) {
            for (uint256 i = 0; i < ps.length; i++) {
                address p = ps[(seed / 5 + i) % ps.length];
                if (lastState[id][p] == want) return p;
            }
        }
        return ps[(seed / 5) % ps.length];
    }

    /// @dev Who sends a member's report: its operator key (when it has one) four times in ten, a stale
    /// operator key or the outsider one time in ten, else the member itself.
    function _reporter(address member, uint256 seed) internal view returns (address) {
        uint256 r = seed % 10;
        if (r < 4 && opOf[member] != address(0)) return opOf[member];
        if (r == 9) {
            uint256 stale = staleOperators.length;
            return stale != 0 && (seed / 10) % 2 == 0 ? staleOperators[(seed / 20) % stale] : outsider;
        }
        return member;
    }

    /// @dev Anyone: a participant of `id`, any member, an operator key (current or stale) or the outsider.
    function _anyone(uint256 id, uint256 seed) internal view returns (address) {
        uint256 r = seed % 8;
        if (r < 3 && id != 0) return _participants[id][(seed >> 3) % _participants[id].length];
        address m = members[(seed >> 3) % members.length];
        if (r < 5) return m;
        if (r == 5 && opOf[m] != address(0)) return opOf[m];
        if (r == 6 && staleOperators.length != 0) return staleOperators[(seed >> 3) % staleOperators.length];
        return outsider;
    }

    function _credited(address actor) internal view returns (address) {
        address m = memberOfOp[actor];
        return m == address(0) ? actor : m;
    }

    function _isParticipant(uint256 id, address account) internal view returns (bool) {
        address[] memory ps = _participants[id];
        for (uint256 i = 0; i < ps.length; i++) {
            if (ps[i] == account) return true;
        }
        return false;
    }

    /// @dev The first of the job's datasets whose version moved since the proposal.
    function _firstChanged(uint256 id) internal view returns (bool, uint256) {
        DatasetRef[] memory ds = _datasets[id];
        for (uint256 i = 0; i < ds.length; i++) {
            if (versionOf[ds[i].owner] != _versions[id][i]) return (true, i);
        }
        return (false, 0);
    }

    // ========================================================== observation

    /// @notice Everything the registry says about a job (record and reports), hashed.
    function fingerprint(uint256 id) public view returns (bytes32) {
        return _fingerprint(id, jobs.getJob(id));
    }

    function _fingerprint(uint256 id, JobRegistry.Job memory j) internal view returns (bytes32 h) {
        h = keccak256(abi.encode(j));
        address[] memory ps = _participants[id];
        for (uint256 i = 0; i < ps.length; i++) {
            h = keccak256(abi.encode(h, jobs.participantReport(id, ps[i])));
        }
    }

    function isClosed(JobRegistry.JobStatus s) public pure returns (bool) {
        return uint256(s) >= uint256(JobRegistry.JobStatus.Completed);
    }

    function _jobStepAllowed(JobRegistry.JobStatus from, JobRegistry.JobStatus to) internal pure returns (bool) {
        if (from == JobRegistry.JobStatus.None) return to == JobRegistry.JobStatus.Proposed;
        if (from == JobRegistry.JobStatus.Proposed) {
            return to == JobRegistry.JobStatus.Approved || to == JobRegistry.JobStatus.Rejected
                || to == JobRegistry.JobStatus.Cancelled || to == JobRegistry.JobStatus.Expired;
        }
        if (from == JobRegistry.JobStatus.Approved) {
            return to == JobRegistry.JobStatus.Running || to == JobRegistry.JobStatus.Failed
                || to == JobRegistry.JobStatus.TimedOut;
        }
        if (from == JobRegistry.JobStatus.Running) {
            return to == JobRegistry.JobStatus.Completed || to == JobRegistry.JobStatus.Failed
                || to == JobRegistry.JobStatus.TimedOut;
        }
        return false;
    }

    function _participantStepAllowed(JobRegistry.ParticipantState from, JobRegistry.ParticipantState to)
        internal
        pure
        returns (bool)
    {
        if (from == JobRegistry.ParticipantState.None) return to == JobRegistry.ParticipantState.Pending;
        if (from == JobRegistry.ParticipantState.Pending) {
            return to == JobRegistry.ParticipantState.Approved || to == JobRegistry.ParticipantState.Rejected;
        }
        if (from == JobRegistry.ParticipantState.Approved) {
            return to == JobRegistry.ParticipantState.Started || to == JobRegistry.ParticipantState.Completed
                || to == JobRegistry.ParticipantState.Failed;
        }
        if (from == JobRegistry.ParticipantState.Started) {
            return to == JobRegistry.ParticipantState.Completed || to == JobRegistry.ParticipantState.Failed;
        }
        return false;
    }

    /// @dev The status of every job not seen closed yet (with every participant's state when it changed).
    function _observeAll() internal {
        uint256[] memory open = _open;
        for (uint256 i = 0; i < open.length; i++) {
            if (jobs.jobStatus(open[i]) != lastStatus[open[i]]) _observe(open[i]);
        }
    }

    /// @notice Observes every job and every participant (called by the invariant test after every run).
    function observeEverything() external {
        uint256 n = jobs.jobCount();
        for (uint256 id = 1; id <= n; id++) {
            _observe(id);
        }
    }

    function _close(uint256 id) internal {
        for (uint256 i = 0; i < _open.length; i++) {
            if (_open[i] == id) {
                _open[i] = _open[_open.length - 1];
                _open.pop();
                return;
            }
        }
    }

    function _touch(uint256 id) internal {
        for (uint256 i = 0; i < _touched.length; i++) {
            if (_touched[i] == id) return;
        }
        _touched.push(id);
    }

    /// @notice The jobs the last action called the registry about (or saw change).
    function touchedJobs() external view returns (uint256[] memory) {
        return _touched;
    }

    /// @dev Compares the job's status and every participant's state with what was last seen. A job that
    /// was closed when last seen and still is, is skipped (the invariant test compares its fingerprint).
    function _observe(uint256 id) internal {
        _observe(id, address(0), true);
    }

    /// @dev After a call on behalf of `who` (zero: nobody in particular): the job's status and `who`'s
    /// state; every participant's state when the status changed.
    function _observe(uint256 id, address who) internal {
        _observe(id, who, false);
    }

    function _observe(uint256 id, address who, bool everyone) internal {
        _touch(id);
        JobRegistry.JobStatus s = jobs.jobStatus(id);
        JobRegistry.JobStatus prev = lastStatus[id];
        if (s == prev && isClosed(s)) return;
        address[] memory ps = _participants[id];
        for (uint256 i = 0; i < ps.length; i++) {
            if (everyone || s != prev || ps[i] == who) _observeParticipant(id, ps[i]);
        }
        if (s != prev) {
            if (!_jobStepAllowed(prev, s)) badJobTransitions++;
            lastStatus[id] = s;
            _onStatus(id, s, ps);
        }
    }

    function _observeParticipant(uint256 id, address p) internal {
        JobRegistry.ParticipantState st = jobs.participantReport(id, p).state;
        JobRegistry.ParticipantState was = lastState[id][p];
        if (st != was) {
            if (!_participantStepAllowed(was, st)) badParticipantTransitions++;
            lastState[id][p] = st;
        }
    }

    function _onStatus(uint256 id, JobRegistry.JobStatus s, address[] memory ps) internal {
        if (s == JobRegistry.JobStatus.Approved) {
            JobRegistry.Job memory j = jobs.getJob(id);
            bool all = ghostApprovals[id] == ps.length && j.approvals == ps.length;
            for (uint256 i = 0; i < ps.length; i++) {
                if (lastState[id][ps[i]] != JobRegistry.ParticipantState.Approved) all = false;
            }
            if (!all) launchedWithoutAllApprovals++;
            if (j.runDeadlineBlock != block.number + runBlocksOf[id] || j.approvedBlock != block.number) {
                badRunDeadline++;
            }
            runDeadlineOf[id] = j.runDeadlineBlock;
        } else if (s == JobRegistry.JobStatus.Completed) {
            bool all = ghostCompletions[id] == ps.length;
            for (uint256 i = 0; i < ps.length; i++) {
                if (lastState[id][ps[i]] != JobRegistry.ParticipantState.Completed) all = false;
            }
            if (!all) completedWithoutAllCompletions++;
            reachCompleted++;
        } else if (s == JobRegistry.JobStatus.Failed) {
            reachFailed++;
        } else if (s == JobRegistry.JobStatus.TimedOut) {
            reachTimedOut++;
        } else if (s == JobRegistry.JobStatus.Expired) {
            reachExpired++;
        } else if (s == JobRegistry.JobStatus.Rejected) {
            reachRejected++;
        } else if (s == JobRegistry.JobStatus.Cancelled) {
            reachCancelled++;
        }
        if (isClosed(s)) {
            _close(id);
            _checkClosing(id, s, ps);
        }
    }

    /// @dev When a job closes: a job closed after its launch was approved by every participant and every
    /// report is one of a launched job; a job closed before its launch lacks an approval and has no report.
    function _checkClosing(uint256 id, JobRegistry.JobStatus s, address[] memory ps) internal {
        bool launched = s == JobRegistry.JobStatus.Completed || s == JobRegistry.JobStatus.Failed
            || s == JobRegistry.JobStatus.TimedOut;
        JobRegistry.Job memory j = jobs.getJob(id);
        closedFingerprint[id] = _fingerprint(id, j);
        if (j.closedBlock != block.number) badClosing++;
        // after the run deadline only the time-out closes a launched job; it never closes one in time
        if (launched) {
            bool late = j.closedBlock > j.runDeadlineBlock;
            if (s == JobRegistry.JobStatus.TimedOut ? !late : late) badCloseTiming++;
        }
        if (launched != (j.approvals == ps.length && ghostApprovals[id] == ps.length)) badClosing++;
        for (uint256 i = 0; i < ps.length; i++) {
            JobRegistry.ParticipantState st = lastState[id][ps[i]];
            bool launchedState = st == JobRegistry.ParticipantState.Approved
                || st == JobRegistry.ParticipantState.Started || st == JobRegistry.ParticipantState.Completed
                || st == JobRegistry.ParticipantState.Failed;
            bool proposedState = st == JobRegistry.ParticipantState.Pending
                || st == JobRegistry.ParticipantState.Approved || st == JobRegistry.ParticipantState.Rejected;
            if (launched ? !launchedState : !proposedState) badClosing++;
        }
    }
}
