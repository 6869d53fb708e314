// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.11;

import {Consortium, NotActiveMember} from "./Consortium.sol";
import {DataRegistry} from "./DataRegistry.sol";

/// @title JobRegistry
/// @notice Joint jobs of the consortium. A member proposes a job (kind, participants, datasets, params,
/// deadline block); every participant approves or rejects it; when the last one approves, `JobApproved`
/// is emitted and each participant's node launches its side by itself. Nodes then report started,
/// completed (result hash + summary) or failed; when every participant completed, `JobCompleted`.
/// @dev Job status only moves forward in this order: Proposed, Approved, Running, then one of
/// Completed / Failed; or from Proposed to Rejected / Cancelled / Expired. The deadline block bounds the
/// approval phase only. Loops run over a job's own participants and datasets, both capped at 16.
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
        Expired
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

    struct Job {
        uint256 id;
        string kind;
        address proposer;
        address[] participants;
        bytes32[] datasetIds;
        string params;
        uint64 deadlineBlock;
        JobStatus status;
        uint64 proposedBlock;
        uint64 approvedBlock;
        uint64 closedBlock;
        uint32 approvals;
        uint32 completions;
    }

    struct ParticipantReport {
        ParticipantState state;
        bytes32 resultHash;
        string summary;
        string reason;
        uint64 updatedBlock;
    }

    /// @notice Maximum number of participants of a job (at least 2 are needed).
    uint256 public constant MAX_PARTICIPANTS = 16;
    /// @notice Maximum number of datasets a job reads.
    uint256 public constant MAX_DATASETS = 16;
    /// @notice Maximum length of a job's kind, in bytes.
    uint256 public constant MAX_KIND_LENGTH = 32;
    /// @notice Maximum length of a job's params JSON, in bytes.
    uint256 public constant MAX_PARAMS_LENGTH = 16_384;
    /// @notice Maximum length of a rejection reason, completion summary or failure reason, in bytes.
    uint256 public constant MAX_TEXT_LENGTH = 4096;
    /// @notice Maximum number of entries a page view returns.
    uint256 public constant MAX_PAGE = 100;

    error InvalidKind(uint256 length);
    error InvalidParams(uint256 length);
    error InvalidText(uint256 length);
    error InvalidParticipantCount(uint256 count);
    error InvalidDatasetCount(uint256 count);
    error DuplicateParticipant(address participant);
    error DuplicateDataset(bytes32 datasetId);
    error DatasetNotActive(bytes32 datasetId);
    error DatasetOwnerNotParticipant(bytes32 datasetId, address owner);
    error DatasetNotVisible(bytes32 datasetId, address participant);
    error DeadlineInPast(uint64 deadlineBlock, uint256 currentBlock);
    error UnknownJob(uint256 jobId);
    error InvalidJobStatus(uint256 jobId, JobStatus status);
    error DeadlinePassed(uint256 jobId, uint64 deadlineBlock);
    error DeadlineNotPassed(uint256 jobId, uint64 deadlineBlock);
    error NotParticipant(uint256 jobId, address account);
    error NotProposer(uint256 jobId, address account);
    error AlreadyResponded(uint256 jobId, address participant, ParticipantState state);
    error InvalidParticipantState(uint256 jobId, address participant, ParticipantState state);
    error ZeroResultHash();

    /// @notice A member proposed a job.
    event JobProposed(
        uint256 indexed jobId,
        address indexed proposer,
        string kind,
        address[] participants,
        bytes32[] datasetIds,
        string params,
        uint64 deadlineBlock
    );
    /// @notice One participant approved the job.
    event JobApprovalGiven(uint256 indexed jobId, address indexed participant, uint32 approvals, uint32 required);
    /// @notice Every participant approved: the launch trigger for the parties' nodes.
    event JobApproved(uint256 indexed jobId, string kind, address[] participants, bytes32[] datasetIds, string params);
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
        uint256 indexed jobId, address indexed participant, bytes32 resultHash, string summary
    );
    /// @notice Every participant completed.
    event JobCompleted(uint256 indexed jobId);
    /// @notice A participant's side failed; the job is over.
    event JobFailed(uint256 indexed jobId, address indexed participant, string reason);

    /// @notice The consortium whose active members propose and run jobs.
    Consortium public immutable consortium;
    /// @notice The registry of the datasets jobs read.
    DataRegistry public immutable dataRegistry;
    Job[] private _jobs; // id = index + 1
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
    /// @param datasetIds 0..16 distinct registered datasets the job reads.
    /// @param params Job parameters as JSON (at most 16384 bytes; validated by the nodes).
    /// @param deadlineBlock Last block in which approvals are accepted; must be in the future.
    /// @return jobId The new job's id (ids start at 1).
    function propose(
        string calldata kind,
        address[] calldata participants,
        bytes32[] calldata datasetIds,
        string calldata params,
        uint64 deadlineBlock
    ) external returns (uint256 jobId) {
        _onlyActive(msg.sender);
        uint256 kindLength = bytes(kind).length;
        if (kindLength == 0 || kindLength > MAX_KIND_LENGTH) revert InvalidKind(kindLength);
        if (bytes(params).length > MAX_PARAMS_LENGTH) revert InvalidParams(bytes(params).length);
        uint256 n = participants.length;
        if (n < 2 || n > MAX_PARTICIPANTS) revert InvalidParticipantCount(n);
        if (datasetIds.length > MAX_DATASETS) revert InvalidDatasetCount(datasetIds.length);
        if (deadlineBlock <= block.number) revert DeadlineInPast(deadlineBlock, block.number);

        jobId = _jobs.length + 1;
        for (uint256 i = 0; i < n; i++) {
            address p = participants[i];
            _onlyActive(p);
            if (_reports[jobId][p].state != ParticipantState.None) revert DuplicateParticipant(p);
            _reports[jobId][p].state = ParticipantState.Pending;
        }
        for (uint256 i = 0; i < datasetIds.length; i++) {
            for (uint256 j = 0; j < i; j++) {
                if (datasetIds[j] == datasetIds[i]) revert DuplicateDataset(datasetIds[i]);
            }
            _checkDataset(jobId, datasetIds[i], participants);
        }

        Job storage job = _jobs.push();
        job.id = jobId;
        job.kind = kind;
        job.proposer = msg.sender;
        job.participants = participants;
        job.datasetIds = datasetIds;
        job.params = params;
        job.deadlineBlock = deadlineBlock;
        job.status = JobStatus.Proposed;
        job.proposedBlock = uint64(block.number);
        emit JobProposed(jobId, msg.sender, kind, participants, datasetIds, params, deadlineBlock);
    }

    /// @notice Approves a proposed job as one of its participants. The last approval checks that every
    /// participant is still active and every dataset still usable, then emits `JobApproved`. It reverts
    /// (NotActiveMember, DatasetNotActive, DatasetNotVisible) if a participant was suspended or a dataset
    /// became unusable (retired, made Private, grant withdrawn) meanwhile; unless that is undone before the
    /// deadline, the job then can only be cancelled by its proposer, rejected, or expire.
    /// @param jobId The job.
    function approve(uint256 jobId) external {
        Job storage job = _decidable(jobId);
        ParticipantReport storage r = _reports[jobId][msg.sender];
        r.state = ParticipantState.Approved;
        r.updatedBlock = uint64(block.number);
        job.approvals += 1;
        uint32 required = uint32(job.participants.length);
        emit JobApprovalGiven(jobId, msg.sender, job.approvals, required);
        if (job.approvals == required) {
            address[] storage participants = job.participants;
            for (uint256 i = 0; i < participants.length; i++) {
                _onlyActive(participants[i]);
            }
            bytes32[] storage datasetIds = job.datasetIds;
            for (uint256 i = 0; i < datasetIds.length; i++) {
                _checkDataset(jobId, datasetIds[i], participants);
            }
            job.status = JobStatus.Approved;
            job.approvedBlock = uint64(block.number);
            emit JobApproved(jobId, job.kind, job.participants, job.datasetIds, job.params);
        }
    }

    /// @notice Rejects a proposed job as one of its participants; the job will never run.
    /// @param jobId The job.
    /// @param reason Why (at most 4096 bytes).
    function reject(uint256 jobId, string calldata reason) external {
        Job storage job = _decidable(jobId);
        _checkText(reason);
        ParticipantReport storage r = _reports[jobId][msg.sender];
        r.state = ParticipantState.Rejected;
        r.reason = reason;
        r.updatedBlock = uint64(block.number);
        _close(job, JobStatus.Rejected);
        emit JobRejected(jobId, msg.sender, reason);
    }

    /// @notice Withdraws a job that is not yet approved; only its proposer may.
    /// @param jobId The job.
    function cancel(uint256 jobId) external {
        Job storage job = _get(jobId);
        if (job.proposer != msg.sender) revert NotProposer(jobId, msg.sender);
        if (job.status != JobStatus.Proposed) revert InvalidJobStatus(jobId, job.status);
        _close(job, JobStatus.Cancelled);
        emit JobCancelled(jobId, msg.sender);
    }

    /// @notice Marks a proposed job whose approval deadline passed as expired. Anyone may call it.
    /// @param jobId The job.
    function expire(uint256 jobId) external {
        Job storage job = _get(jobId);
        if (job.status != JobStatus.Proposed) revert InvalidJobStatus(jobId, job.status);
        if (block.number <= job.deadlineBlock) revert DeadlineNotPassed(jobId, job.deadlineBlock);
        _close(job, JobStatus.Expired);
        emit JobExpired(jobId, msg.sender);
    }

    /// @notice Reports that the caller's node started its side of an approved job.
    /// @param jobId The job.
    function reportStarted(uint256 jobId) external {
        (Job storage job, ParticipantReport storage r) = _reporting(jobId);
        if (r.state != ParticipantState.Approved) revert InvalidParticipantState(jobId, msg.sender, r.state);
        r.state = ParticipantState.Started;
        r.updatedBlock = uint64(block.number);
        if (job.status == JobStatus.Approved) job.status = JobStatus.Running;
        emit JobStarted(jobId, msg.sender);
    }

    /// @notice Reports that the caller's side finished, committing to its result artifact's hash.
    /// @param jobId The job.
    /// @param resultHash SHA-256 of the caller's result artifact; non-zero.
    /// @param summary JSON summary (e.g. intersection size, metrics), at most 4096 bytes.
    function reportCompleted(uint256 jobId, bytes32 resultHash, string calldata summary) external {
        (Job storage job, ParticipantReport storage r) = _reporting(jobId);
        if (r.state != ParticipantState.Approved && r.state != ParticipantState.Started) {
            revert InvalidParticipantState(jobId, msg.sender, r.state);
        }
        if (resultHash == bytes32(0)) revert ZeroResultHash();
        _checkText(summary);
        r.state = ParticipantState.Completed;
        r.resultHash = resultHash;
        r.summary = summary;
        r.updatedBlock = uint64(block.number);
        job.completions += 1;
        emit JobParticipantCompleted(jobId, msg.sender, resultHash, summary);
        if (job.completions == job.participants.length) {
            _close(job, JobStatus.Completed);
            emit JobCompleted(jobId);
        } else if (job.status == JobStatus.Approved) {
            job.status = JobStatus.Running;
        }
    }

    /// @notice Reports that the caller's side failed; the whole job becomes Failed.
    /// @param jobId The job.
    /// @param reason What went wrong (at most 4096 bytes).
    function reportFailed(uint256 jobId, string calldata reason) external {
        (Job storage job, ParticipantReport storage r) = _reporting(jobId);
        if (r.state != ParticipantState.Approved && r.state != ParticipantState.Started) {
            revert InvalidParticipantState(jobId, msg.sender, r.state);
        }
        _checkText(reason);
        r.state = ParticipantState.Failed;
        r.reason = reason;
        r.updatedBlock = uint64(block.number);
        _close(job, JobStatus.Failed);
        emit JobFailed(jobId, msg.sender, reason);
    }

    /// @notice The full record of a job; reverts when unknown.
    function getJob(uint256 jobId) external view returns (Job memory) {
        return _get(jobId);
    }

    /// @notice The status of a job (None when unknown).
    function jobStatus(uint256 jobId) external view returns (JobStatus) {
        if (jobId == 0 || jobId > _jobs.length) return JobStatus.None;
        return _jobs[jobId - 1].status;
    }

    /// @notice What `participant` decided and reported for a job (state None when not a participant).
    function participantReport(uint256 jobId, address participant) external view returns (ParticipantReport memory) {
        return _reports[jobId][participant];
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
            page[i - offset] = _jobs[i];
        }
    }

    // ---------------------------------------------------------------- internals

    function _get(uint256 jobId) private view returns (Job storage) {
        if (jobId == 0 || jobId > _jobs.length) revert UnknownJob(jobId);
        return _jobs[jobId - 1];
    }

    /// @dev The checks shared by approve and reject.
    function _decidable(uint256 jobId) private view returns (Job storage job) {
        job = _get(jobId);
        if (job.status != JobStatus.Proposed) revert InvalidJobStatus(jobId, job.status);
        if (block.number > job.deadlineBlock) revert DeadlinePassed(jobId, job.deadlineBlock);
        ParticipantState s = _reports[jobId][msg.sender].state;
        if (s == ParticipantState.None) revert NotParticipant(jobId, msg.sender);
        _onlyActive(msg.sender);
        if (s != ParticipantState.Pending) revert AlreadyResponded(jobId, msg.sender, s);
    }

    /// @dev The checks shared by the three reports.
    function _reporting(uint256 jobId) private view returns (Job storage job, ParticipantReport storage r) {
        job = _get(jobId);
        r = _reports[jobId][msg.sender];
        if (r.state == ParticipantState.None) revert NotParticipant(jobId, msg.sender);
        _onlyActive(msg.sender);
        if (job.status != JobStatus.Approved && job.status != JobStatus.Running) {
            revert InvalidJobStatus(jobId, job.status);
        }
    }

    function _close(Job storage job, JobStatus to) private {
        job.status = to;
        job.closedBlock = uint64(block.number);
    }

    function _checkDataset(uint256 jobId, bytes32 datasetId, address[] memory participants) private view {
        if (!dataRegistry.isActive(datasetId)) revert DatasetNotActive(datasetId);
        address owner = dataRegistry.ownerOf(datasetId);
        if (_reports[jobId][owner].state == ParticipantState.None) revert DatasetOwnerNotParticipant(datasetId, owner);
        for (uint256 i = 0; i < participants.length; i++) {
            if (!dataRegistry.isVisibleTo(datasetId, participants[i])) {
                revert DatasetNotVisible(datasetId, participants[i]);
            }
        }
    }

    function _onlyActive(address account) private view {
        if (!consortium.isActive(account)) revert NotActiveMember(account);
    }

    function _checkText(string calldata text) private pure {
        if (bytes(text).length > MAX_TEXT_LENGTH) revert InvalidText(bytes(text).length);
    }
}
