// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.11;

import {Consortium, NotActiveMember} from "./Consortium.sol";
import {DataRegistry, DatasetRef} from "./DataRegistry.sol";

/// @title JobRegistry
/// @notice Joint jobs of the consortium. A member proposes a job (kind, participants, datasets, params,
/// approval deadline, run window); every participant approves or rejects it; when the last one approves,
/// `JobApproved` is emitted and each participant's node launches its side by itself. Nodes then report
/// started, completed (a commitment to their result + the summary the params declare public) or failed (a
/// category + a commitment to the detail); when every participant completed, `JobCompleted`. After the
/// run deadline, anyone may close a job still running as timed out (and nothing else can close it).
/// @dev Status only moves forward: Proposed, then Approved, Running and one of Completed / Failed /
/// TimedOut; or from Proposed to Rejected / Cancelled / Expired. The approval deadline and the run window
/// are capped by the consortium's `maxApprovalBlocks` and `maxRunBlocks`. The params are stored as a hash
/// and published in `JobProposed` only, so list views stay small. A proposal binds the description of
/// each dataset (the digests in `JobProposed`): a change to any of them after the proposal makes the
/// remaining approvals fail with `DatasetChanged`. Reports come from the participant's own account or from
/// the operator key it authorised in the Consortium. Loops run over a job's own participants and datasets,
/// both capped at 16.
contract JobRegistry {
    enum JobStatus {
        None,
        Proposed,
        Approved,
        Running,
        Completed,
        Failed,
        Rejected,
        Cancelled,
        Expired,
        TimedOut
    }

    enum ParticipantState {
        None,
        Pending,
        Approved,
        Rejected,
        Started,
        Completed,
        Failed
    }

    /// @notice Why a participant's side failed; the detail stays with the participant (committed to on chain).
    enum FailureCategory {
        Unspecified,
        // The node cannot run the job as approved (unknown kind, invalid params, role).
        InvalidJob,
        // This participant's data: dataset missing, different from the chain's description, bad values.
        Input,
        // A peer was unreachable, stopped answering or sent something malformed.
        Peer,
        // The protocol's own checks failed (misaligned data, refused parameters, diverged model).
        Protocol,
        // The node's own time limit ran out.
        Timeout,
        // Membership or certificates: a participant suspended, removed or no longer certified.
        Membership,
        // The node itself: restart, crash, storage.
        Internal,
        // The job was stopped: closed on chain or by the node's operator.
        Cancelled,
        // The participant's node stopped or restarted while running the job (its sessions with the peers were lost).
        Interrupted
    }

    /// @notice A job as the views return it.
    struct Job {
        uint256 id;
        string kind;
        address proposer;
        address[] participants;
        DatasetRef[] datasets;
        bytes32 paramsHash;
        uint64 deadlineBlock;
        uint64 runBlocks;
        uint64 runDeadlineBlock;
        JobStatus status;
        uint64 proposedBlock;
        uint64 approvedBlock;
        uint64 closedBlock;
        uint32 approvals;
        uint32 completions;
    }

    struct ParticipantReport {
        ParticipantState state;
        FailureCategory failure;
        uint64 updatedBlock;
        // Completed: the commitment to the participant's result; Failed: the commitment to the detail.
        bytes32 commitment;
        // Completed: the public summary; Rejected: the reason.
        string text;
    }

    /// @dev Storage layout of a job, packed: a two-party job with two datasets takes 8 slots.
    struct StoredJob {
        string kind;
        address proposer;
        uint64 deadlineBlock;
        JobStatus status;
        uint8 approvals;
        uint8 completions;
        uint64 proposedBlock;
        uint64 approvedBlock;
        uint64 closedBlock;
        uint64 runBlocks;
        uint64 runDeadlineBlock;
        // The largest DataRegistry description sequence number among the datasets at proposal.
        uint64 dataSeq;
        // Dataset i's owner is participants[uint8(datasetOwners >> (8 * i))].
        uint128 datasetOwners;
        bytes32 paramsHash;
        address[] participants;
        bytes32[] datasetNames;
    }

    /// @notice Maximum number of participants of a job (at least 2 are needed).
    uint256 public constant MAX_PARTICIPANTS = 16;
    /// @notice Maximum number of datasets a job reads.
    uint256 public constant MAX_DATASETS = 16;
    /// @notice Maximum length of a job's kind, in bytes.
    uint256 public constant MAX_KIND_LENGTH = 32;
    /// @notice Maximum length of a job's params JSON, in bytes.
    uint256 public constant MAX_PARAMS_LENGTH = 16_384;
    /// @notice Maximum length of a rejection reason or completion summary, in bytes.
    uint256 public constant MAX_TEXT_LENGTH = 4096;
    /// @notice Maximum number of entries a page view returns.
    uint256 public constant MAX_PAGE = 100;

    error InvalidKind(uint256 length);
    error InvalidParams(uint256 length);
    error InvalidText(uint256 length);
    error InvalidParticipantCount(uint256 count);
    error InvalidDatasetCount(uint256 count);
    error DuplicateParticipant(address participant);
    error DuplicateDataset(address owner, bytes32 name);
    error DatasetOwnerNotParticipant(address owner, bytes32 name);
    error DeadlineInPast(uint64 deadlineBlock, uint256 currentBlock);
    error DeadlineTooFar(uint64 deadlineBlock, uint256 latestAllowed);
    error InvalidRunBlocks(uint64 runBlocks, uint64 maxRunBlocks);
    error UnknownJob(uint256 jobId);
    error InvalidJobStatus(uint256 jobId, JobStatus status);
    error DeadlinePassed(uint256 jobId, uint64 deadlineBlock);
    error DeadlineNotPassed(uint256 jobId, uint64 deadlineBlock);
    error RunDeadlinePassed(uint256 jobId, uint64 runDeadlineBlock);
    error RunDeadlineNotPassed(uint256 jobId, uint64 runDeadlineBlock);
    error NotParticipant(uint256 jobId, address account);
    error NotProposer(uint256 jobId, address account);
    error AlreadyResponded(uint256 jobId, address participant, ParticipantState state);
    error InvalidParticipantState(uint256 jobId, address participant, ParticipantState state);
    error ZeroCommitment();
    error DatasetChanged(uint256 jobId, address owner, bytes32 name);

    /// @notice A member proposed a job. `datasetDigests[i]` is the digest of `datasets[i]`'s description
    /// the proposal binds; `params` is published here only (the job stores its hash).
    event JobProposed(
        uint256 indexed jobId,
        address indexed proposer,
        string kind,
        address[] participants,
        DatasetRef[] datasets,
        bytes32[] datasetDigests,
        string params,
        uint64 deadlineBlock,
        uint64 runBlocks
    );
    /// @notice One participant approved the job.
    event JobApprovalGiven(uint256 indexed jobId, address indexed participant, uint32 approvals, uint32 required);
    /// @notice Every participant approved: the launch trigger for the parties' nodes. The params are those
    /// of `JobProposed` (their keccak-256 is `paramsHash`).
    event JobApproved(
        uint256 indexed jobId,
        string kind,
        address[] participants,
        DatasetRef[] datasets,
        bytes32 paramsHash,
        uint64 runDeadlineBlock
    );
    /// @notice A participant rejected the job; it will never run.
    event JobRejected(uint256 indexed jobId, address indexed participant, string reason);
    /// @notice The proposer withdrew the job before it was approved.
    event JobCancelled(uint256 indexed jobId, address indexed proposer);
    /// @notice The approval deadline passed before every participant approved.
    event JobExpired(uint256 indexed jobId, address indexed by);
    /// @notice A participant's node started its side of the job.
    event JobStarted(uint256 indexed jobId, address indexed participant);
    /// @notice A participant's node finished its side and committed to its result.
    event JobParticipantCompleted(
        uint256 indexed jobId, address indexed participant, bytes32 resultCommitment, string summary
    );
    /// @notice Every participant completed.
    event JobCompleted(uint256 indexed jobId);
    /// @notice A participant's side failed; the job is over.
    event JobFailed(
        uint256 indexed jobId, address indexed participant, FailureCategory category, bytes32 detailCommitment
    );
    /// @notice The run deadline passed before every participant completed; the job is over.
    event JobTimedOut(uint256 indexed jobId, address indexed by);

    /// @notice The consortium whose active members propose and run jobs.
    Consortium public immutable consortium;
    /// @notice The registry of the datasets jobs read.
    DataRegistry public immutable dataRegistry;
    StoredJob[] private _jobs; // id = index + 1
    mapping(uint256 => mapping(address => ParticipantReport)) private _reports;

    /// @param consortium_ Membership source.
    /// @param dataRegistry_ Dataset source.
    constructor(Consortium consortium_, DataRegistry dataRegistry_) {
        consortium = consortium_;
        dataRegistry = dataRegistry_;
    }

    /// @notice Proposes a joint job. The caller must be an active member; so must every participant.
    /// Every dataset must be active, owned by a participant and visible to every participant.
    /// @param kind Job kind understood by the nodes (e.g. `psi`, `vertical-lr`), 1..32 bytes.
    /// @param participants 2..16 distinct members whose nodes run the job.
    /// @param datasets 0..16 distinct registered datasets the job reads.
    /// @param params Job parameters as JSON (at most 16384 bytes; validated by the nodes).
    /// @param deadlineBlock Last block in which approvals are accepted: in the future, at most
    /// `consortium.maxApprovalBlocks()` ahead.
    /// @param runBlocks Blocks the participants have, from the approval, to complete: 1 to
    /// `consortium.maxRunBlocks()`.
    /// @return jobId The new job's id (ids start at 1).
    function propose(
        string calldata kind,
        address[] calldata participants,
        DatasetRef[] calldata datasets,
        string calldata params,
        uint64 deadlineBlock,
        uint64 runBlocks
    ) external returns (uint256 jobId) {
        _onlyActive(msg.sender);
        _checkShape(kind, participants.length, datasets.length, params);
        _checkWindows(deadlineBlock, runBlocks);
        jobId = _jobs.length + 1;
        // Undecided participants have no report yet (the views say Pending): nothing is written for them
        // until they decide.
        for (uint256 i = 0; i < participants.length; i++) {
            address p = participants[i];
            _onlyActive(p);
            for (uint256 j = 0; j < i; j++) {
                if (participants[j] == p) revert DuplicateParticipant(p);
            }
        }
        StoredJob storage job = _jobs.push();
        job.kind = kind;
        job.proposer = msg.sender;
        job.deadlineBlock = deadlineBlock;
        job.status = JobStatus.Proposed;
        job.proposedBlock = uint64(block.number);
        job.runBlocks = runBlocks;
        job.paramsHash = keccak256(bytes(params));
        job.participants = participants;
        _emitProposed(jobId, job, _bindDatasets(job, datasets), datasets, params);
    }

    /// @notice Approves a proposed job as one of its participants. Every approval checks that no dataset's
    /// description changed since the proposal (`DatasetChanged`). The last approval also checks that every
    /// participant is still active and every dataset still usable, starts the run window and emits
    /// `JobApproved`. It reverts (NotActiveMember, DatasetNotActive, DatasetNotVisible) if a participant
    /// was suspended or a dataset became unusable (retired, made Private, grant withdrawn) meanwhile;
    /// unless that is undone before the deadline, the job then can only be cancelled by its proposer,
    /// rejected, or expire.
    /// @param jobId The job.
    function approve(uint256 jobId) external {
        StoredJob storage job = _decidable(jobId);
        ParticipantReport storage r = _reports[jobId][msg.sender];
        r.state = ParticipantState.Approved;
        r.updatedBlock = uint64(block.number);
        uint8 approvals = job.approvals + 1;
        job.approvals = approvals;
        address[] memory participants = job.participants;
        uint32 required = uint32(participants.length);
        emit JobApprovalGiven(jobId, msg.sender, approvals, required);
        bool last = approvals == required;
        if (last) {
            for (uint256 i = 0; i < participants.length; i++) {
                _onlyActive(participants[i]);
            }
        }
        DatasetRef[] memory datasets = _datasets(job, participants);
        for (uint256 i = 0; i < datasets.length; i++) {
            DatasetRef memory d = datasets[i];
            uint64 seq;
            if (last) {
                (, seq) = dataRegistry.checkUse(d.owner, d.name, participants);
            } else {
                seq = dataRegistry.descriptionSeqOf(d.owner, d.name);
            }
            if (seq > job.dataSeq) revert DatasetChanged(jobId, d.owner, d.name);
        }
        if (last) {
            uint64 runDeadline = uint64(block.number) + job.runBlocks;
            job.status = JobStatus.Approved;
            job.approvedBlock = uint64(block.number);
            job.runDeadlineBlock = runDeadline;
            emit JobApproved(jobId, job.kind, participants, datasets, job.paramsHash, runDeadline);
        }
    }

    /// @notice Rejects a proposed job as one of its participants; the job will never run.
    /// @param jobId The job.
    /// @param reason Why (at most 4096 bytes; public).
    function reject(uint256 jobId, string calldata reason) external {
        StoredJob storage job = _decidable(jobId);
        _checkText(reason);
        ParticipantReport storage r = _reports[jobId][msg.sender];
        r.state = ParticipantState.Rejected;
        r.text = reason;
        r.updatedBlock = uint64(block.number);
        _close(job, JobStatus.Rejected);
        emit JobRejected(jobId, msg.sender, reason);
    }

    /// @notice Withdraws a job that is not yet approved; only its proposer may.
    /// @param jobId The job.
    function cancel(uint256 jobId) external {
        StoredJob storage job = _get(jobId);
        if (job.proposer != msg.sender) revert NotProposer(jobId, msg.sender);
        if (job.status != JobStatus.Proposed) revert InvalidJobStatus(jobId, job.status);
        _close(job, JobStatus.Cancelled);
        emit JobCancelled(jobId, msg.sender);
    }

    /// @notice Marks a proposed job whose approval deadline passed as expired. Anyone may call it.
    /// @param jobId The job.
    function expire(uint256 jobId) external {
        StoredJob storage job = _get(jobId);
        if (job.status != JobStatus.Proposed) revert InvalidJobStatus(jobId, job.status);
        if (block.number <= job.deadlineBlock) revert DeadlineNotPassed(jobId, job.deadlineBlock);
        _close(job, JobStatus.Expired);
        emit JobExpired(jobId, msg.sender);
    }

    /// @notice Closes an approved or running job whose run deadline passed as timed out. Anyone may call it.
    /// @param jobId The job.
    function timeOut(uint256 jobId) external {
        StoredJob storage job = _get(jobId);
        _running(jobId, job);
        if (block.number <= job.runDeadlineBlock) revert RunDeadlineNotPassed(jobId, job.runDeadlineBlock);
        _close(job, JobStatus.TimedOut);
        emit JobTimedOut(jobId, msg.sender);
    }

    /// @notice Reports that the participant's node started its side of an approved job. Sent by the
    /// participant or its operator key; the participant must be active and the run deadline not passed.
    /// @param jobId The job.
    function reportStarted(uint256 jobId) external {
        (StoredJob storage job, address member, ParticipantReport storage r) = _reporting(jobId, true);
        if (r.state != ParticipantState.Approved) revert InvalidParticipantState(jobId, member, r.state);
        r.state = ParticipantState.Started;
        r.updatedBlock = uint64(block.number);
        if (job.status == JobStatus.Approved) job.status = JobStatus.Running;
        emit JobStarted(jobId, member);
    }

    /// @notice Reports that the participant's side finished, committing to its result. Sent by the
    /// participant or its operator key; the participant must be active and the run deadline not passed.
    /// @param jobId The job.
    /// @param resultCommitment The participant's commitment to its result artifact (HMAC-SHA-256 under a key
    /// only the result's holders know); non-zero.
    /// @param summary What the job's approved params declare public about the result (JSON, at most 4096
    /// bytes; empty by default).
    function reportCompleted(uint256 jobId, bytes32 resultCommitment, string calldata summary) external {
        (StoredJob storage job, address member, ParticipantReport storage r) = _reporting(jobId, true);
        if (r.state != ParticipantState.Approved && r.state != ParticipantState.Started) {
            revert InvalidParticipantState(jobId, member, r.state);
        }
        if (resultCommitment == bytes32(0)) revert ZeroCommitment();
        _checkText(summary);
        r.state = ParticipantState.Completed;
        r.commitment = resultCommitment;
        if (bytes(summary).length != 0) r.text = summary;
        r.updatedBlock = uint64(block.number);
        uint8 completions = job.completions + 1;
        job.completions = completions;
        emit JobParticipantCompleted(jobId, member, resultCommitment, summary);
        if (completions == job.participants.length) {
            _close(job, JobStatus.Completed);
            emit JobCompleted(jobId);
        } else if (job.status == JobStatus.Approved) {
            job.status = JobStatus.Running;
        }
    }

    /// @notice Reports that the participant's side failed; the whole job becomes Failed. Sent by the
    /// participant or its operator key, whatever the participant's membership status (a suspended or
    /// removed participant can still say its side stopped), until the run deadline: after it the job can
    /// only be closed as timed out, so the participant that stalled cannot blame another.
    /// @param jobId The job.
    /// @param category What kind of failure.
    /// @param detailCommitment Commitment to the failure's detail, which the participant keeps (zero: none).
    function reportFailed(uint256 jobId, FailureCategory category, bytes32 detailCommitment) external {
        (StoredJob storage job, address member, ParticipantReport storage r) = _reporting(jobId, false);
        if (r.state != ParticipantState.Approved && r.state != ParticipantState.Started) {
            revert InvalidParticipantState(jobId, member, r.state);
        }
        r.state = ParticipantState.Failed;
        r.failure = category;
        r.commitment = detailCommitment;
        r.updatedBlock = uint64(block.number);
        _close(job, JobStatus.Failed);
        emit JobFailed(jobId, member, category, detailCommitment);
    }

    /// @notice The full record of a job (its params are in `JobProposed`); reverts when unknown.
    function getJob(uint256 jobId) external view returns (Job memory) {
        _get(jobId);
        return _view(jobId);
    }

    /// @notice The status of a job (None when unknown).
    function jobStatus(uint256 jobId) external view returns (JobStatus) {
        if (jobId == 0 || jobId > _jobs.length) return JobStatus.None;
        return _jobs[jobId - 1].status;
    }

    /// @notice What `participant` decided and reported for a job (state None when not a participant, Pending
    /// while it has not decided).
    function participantReport(uint256 jobId, address participant)
        external
        view
        returns (ParticipantReport memory report)
    {
        report = _reports[jobId][participant];
        if (
            report.state == ParticipantState.None && jobId != 0 && jobId <= _jobs.length
                && _isParticipant(_jobs[jobId - 1], participant)
        ) {
            report.state = ParticipantState.Pending;
        }
    }

    /// @notice Number of jobs ever proposed.
    function jobCount() external view returns (uint256) {
        return _jobs.length;
    }

    /// @notice Jobs in id order, `limit` (at most 100) from `offset`.
    function jobsPage(uint256 offset, uint256 limit) external view returns (Job[] memory page) {
        uint256 total = _jobs.length;
        if (offset >= total) return new Job[](0);
        if (limit > MAX_PAGE) limit = MAX_PAGE;
        uint256 end = offset + limit > total ? total : offset + limit;
        page = new Job[](end - offset);
        for (uint256 i = offset; i < end; i++) {
            page[i - offset] = _view(i + 1);
        }
    }

    // ---------------------------------------------------------------- internals

    function _get(uint256 jobId) private view returns (StoredJob storage) {
        if (jobId == 0 || jobId > _jobs.length) revert UnknownJob(jobId);
        return _jobs[jobId - 1];
    }

    function _view(uint256 jobId) private view returns (Job memory j) {
        StoredJob storage s = _jobs[jobId - 1];
        address[] memory participants = s.participants;
        j.id = jobId;
        j.kind = s.kind;
        j.proposer = s.proposer;
        j.participants = participants;
        j.datasets = _datasets(s, participants);
        j.paramsHash = s.paramsHash;
        j.deadlineBlock = s.deadlineBlock;
        j.runBlocks = s.runBlocks;
        j.runDeadlineBlock = s.runDeadlineBlock;
        j.status = s.status;
        j.proposedBlock = s.proposedBlock;
        j.approvedBlock = s.approvedBlock;
        j.closedBlock = s.closedBlock;
        j.approvals = s.approvals;
        j.completions = s.completions;
    }

    function _datasets(StoredJob storage job, address[] memory participants)
        private
        view
        returns (DatasetRef[] memory datasets)
    {
        bytes32[] memory names = job.datasetNames;
        uint128 owners = job.datasetOwners;
        datasets = new DatasetRef[](names.length);
        for (uint256 i = 0; i < names.length; i++) {
            datasets[i] = DatasetRef(participants[uint8(owners >> uint128(8 * i))], names[i]);
        }
    }

    function _emitProposed(
        uint256 jobId,
        StoredJob storage job,
        bytes32[] memory digests,
        DatasetRef[] memory datasets,
        string memory params
    ) private {
        emit JobProposed(
            jobId, msg.sender, job.kind, job.participants, datasets, digests, params, job.deadlineBlock, job.runBlocks
        );
    }

    function _checkShape(string calldata kind, uint256 participants, uint256 datasets, string calldata params)
        private
        pure
    {
        uint256 kindLength = bytes(kind).length;
        if (kindLength == 0 || kindLength > MAX_KIND_LENGTH) revert InvalidKind(kindLength);
        if (bytes(params).length > MAX_PARAMS_LENGTH) revert InvalidParams(bytes(params).length);
        if (participants < 2 || participants > MAX_PARTICIPANTS) revert InvalidParticipantCount(participants);
        if (datasets > MAX_DATASETS) revert InvalidDatasetCount(datasets);
    }

    /// @dev Checks the proposal's datasets (distinct, owned by a participant, usable by every participant)
    /// and records them in `job` with the newest description sequence number among them; returns their
    /// digests.
    function _bindDatasets(StoredJob storage job, DatasetRef[] calldata datasets)
        private
        returns (bytes32[] memory digests)
    {
        address[] memory participants = job.participants;
        digests = new bytes32[](datasets.length);
        uint128 owners;
        uint64 dataSeq;
        for (uint256 i = 0; i < datasets.length; i++) {
            DatasetRef calldata d = datasets[i];
            for (uint256 j = 0; j < i; j++) {
                if (datasets[j].owner == d.owner && datasets[j].name == d.name) {
                    revert DuplicateDataset(d.owner, d.name);
                }
            }
            uint256 ownerIndex = _indexOf(participants, d.owner);
            if (ownerIndex == participants.length) revert DatasetOwnerNotParticipant(d.owner, d.name);
            uint64 seq;
            (digests[i], seq) = dataRegistry.checkUse(d.owner, d.name, participants);
            if (seq > dataSeq) dataSeq = seq;
            owners |= uint128(ownerIndex) << uint128(8 * i);
            job.datasetNames.push(d.name);
        }
        job.dataSeq = dataSeq;
        job.datasetOwners = owners;
    }

    function _indexOf(address[] memory participants, address account) private pure returns (uint256 i) {
        for (; i < participants.length; i++) {
            if (participants[i] == account) return i;
        }
    }

    function _checkWindows(uint64 deadlineBlock, uint64 runBlocks) private view {
        if (deadlineBlock <= block.number) revert DeadlineInPast(deadlineBlock, block.number);
        (uint64 maxApproval, uint64 maxRun) = consortium.jobWindows();
        uint256 latest = block.number + maxApproval;
        if (deadlineBlock > latest) revert DeadlineTooFar(deadlineBlock, latest);
        if (runBlocks == 0 || runBlocks > maxRun) revert InvalidRunBlocks(runBlocks, maxRun);
    }

    /// @dev The checks shared by approve and reject.
    function _decidable(uint256 jobId) private view returns (StoredJob storage job) {
        job = _get(jobId);
        if (job.status != JobStatus.Proposed) revert InvalidJobStatus(jobId, job.status);
        if (block.number > job.deadlineBlock) revert DeadlinePassed(jobId, job.deadlineBlock);
        ParticipantState s = _reports[jobId][msg.sender].state;
        if (s == ParticipantState.None && !_isParticipant(job, msg.sender)) revert NotParticipant(jobId, msg.sender);
        _onlyActive(msg.sender);
        if (s != ParticipantState.None) revert AlreadyResponded(jobId, msg.sender, s);
    }

    function _isParticipant(StoredJob storage job, address account) private view returns (bool) {
        address[] storage participants = job.participants;
        for (uint256 i = 0; i < participants.length; i++) {
            if (participants[i] == account) return true;
        }
        return false;
    }

    /// @dev The checks shared by the three reports: the job is running, its run deadline has not passed,
    /// the caller reports for a participant (itself or the member whose operator it is); started and
    /// completed also need an active participant.
    function _reporting(uint256 jobId, bool progress)
        private
        view
        returns (StoredJob storage job, address member, ParticipantReport storage r)
    {
        job = _get(jobId);
        // Every participant of a running job has decided, so has a report; the status comes first (an
        // undecided participant of a proposed job is told the job is not running).
        _running(jobId, job);
        member = msg.sender;
        r = _reports[jobId][member];
        if (r.state == ParticipantState.None) {
            // Not a participant itself: maybe the operator key of one.
            member = consortium.reportingMember(msg.sender);
            r = _reports[jobId][member];
            if (r.state == ParticipantState.None) revert NotParticipant(jobId, member);
        }
        if (block.number > job.runDeadlineBlock) revert RunDeadlinePassed(jobId, job.runDeadlineBlock);
        if (progress) _onlyActive(member);
    }

    function _running(uint256 jobId, StoredJob storage job) private view {
        JobStatus s = job.status;
        if (s != JobStatus.Approved && s != JobStatus.Running) revert InvalidJobStatus(jobId, s);
    }

    function _close(StoredJob storage job, JobStatus to) private {
        job.status = to;
        job.closedBlock = uint64(block.number);
    }

    function _onlyActive(address account) private view {
        if (!consortium.isActive(account)) revert NotActiveMember(account);
    }

    function _checkText(string calldata text) private pure {
        if (bytes(text).length > MAX_TEXT_LENGTH) revert InvalidText(bytes(text).length);
    }
}
