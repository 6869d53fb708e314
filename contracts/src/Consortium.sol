// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.11;

/// @notice The caller (or a named account) is not an active member of the consortium.
error NotActiveMember(address account);
/// @notice A zero address was given where an account is required.
error ZeroAddress();

/// @title Consortium
/// @notice Members and admins of a wefe consortium. Institutions apply as members with a name, a
/// gateway endpoint and a 64-byte SM2 public key; admins decide by M-of-N proposals who is approved,
/// suspended, reinstated or removed, who is an admin, what the threshold is and which accounts act as
/// certificate authorities.
/// @dev No logic depends on block.timestamp (FISCO BCOS counts it in milliseconds). No state-changing
/// function loops over members or admins. A change of the admin set starts a new admin epoch: proposals
/// opened in an earlier epoch can no longer be voted on, so votes of removed admins never count. An
/// ApproveMember proposal names the member's key version, so it approves exactly the key the admins saw:
/// after a key rotation or re-application it can no longer execute. Suspend, reinstate and remove proposals
/// name the membership instance (one per application), so a proposal opened against a member that was
/// removed and re-admitted since can no longer execute. A key rotation never voids a pending suspension: a
/// member whose new key awaits approval can still be suspended, and reinstatement only restores an approved
/// key. Admin sets and thresholds must survive the loss of one admin key (threshold < number of admins);
/// only a single-admin development chain, made at deployment, is exempt.
contract Consortium {
    enum MemberStatus {
        None,
        Pending,
        Active,
        Suspended,
        Removed,
        // The applicant withdrew its application before it was approved; it may apply again.
        Withdrawn
    }

    enum ProposalKind {
        ApproveMember,
        SuspendMember,
        ReinstateMember,
        RemoveMember,
        AddAdmin,
        RemoveAdmin,
        ChangeThreshold,
        AppointCertificateAuthority,
        DismissCertificateAuthority,
        SetMaxApprovalBlocks,
        SetMaxRunBlocks
    }

    enum ProposalStatus {
        None,
        Open,
        Executed,
        Cancelled
    }

    struct Member {
        address account;
        string name;
        string endpoint;
        bytes publicKey;
        // Counts the keys this account ever registered: 1 after the first application, +1 on every
        // re-application and key rotation. An ApproveMember proposal names the version it approves.
        uint32 keyVersion;
        // The key version the admins last approved in this membership instance (0: never approved).
        uint32 approvedKeyVersion;
        // Counts this account's applications: 1 after the first, +1 on every re-application. Suspend,
        // reinstate and remove proposals name the instance they target.
        uint32 instance;
        MemberStatus status;
        uint64 appliedBlock;
        uint64 updatedBlock;
    }

    struct Proposal {
        uint256 id;
        ProposalKind kind;
        address target;
        uint256 value;
        address proposer;
        ProposalStatus status;
        uint64 epoch;
        uint64 createdBlock;
        uint64 closedBlock;
        uint32 approvals;
    }

    /// @notice Maximum length of a member's name, in bytes.
    uint256 public constant MAX_NAME_LENGTH = 64;
    /// @notice Maximum length of a member's gateway endpoint, in bytes.
    uint256 public constant MAX_ENDPOINT_LENGTH = 256;
    /// @notice Exact length of a member's SM2 public key (x || y, no 0x04 prefix), in bytes.
    uint256 public constant PUBLIC_KEY_LENGTH = 64;
    /// @notice Maximum number of entries a page view returns.
    uint256 public constant MAX_PAGE = 100;
    /// @notice Default of `maxApprovalBlocks` (about a week at 3 s per block).
    uint64 public constant DEFAULT_MAX_APPROVAL_BLOCKS = 201_600;
    /// @notice Default of `maxRunBlocks` (about a week at 3 s per block).
    uint64 public constant DEFAULT_MAX_RUN_BLOCKS = 201_600;
    /// @notice Upper bound of both job windows a proposal may set.
    uint64 public constant MAX_WINDOW_BLOCKS = 100_000_000;

    error NotAdmin(address account);
    error InvalidThreshold(uint256 threshold, uint256 adminCount);
    error DuplicateAdmin(address account);
    error AlreadyApplied(address account, MemberStatus status);
    error InvalidName(uint256 length);
    error InvalidEndpoint(uint256 length);
    error InvalidPublicKey(uint256 length);
    error UnknownMember(address account);
    error InvalidMemberStatus(address account, MemberStatus status);
    error UnknownProposal(uint256 proposalId);
    error ProposalNotOpen(uint256 proposalId, ProposalStatus status);
    error ProposalStale(uint256 proposalId, uint64 proposalEpoch, uint64 currentEpoch);
    error ProposalAlreadyOpen(uint256 proposalId);
    error AlreadyVoted(uint256 proposalId, address admin);
    error NotProposer(uint256 proposalId, address account);
    error AlreadyAdmin(address account);
    error AlreadyCertificateAuthority(address account);
    error NotCertificateAuthority(address account);
    error InvalidProposalValue(ProposalKind kind, uint256 value);
    error StaleMemberKey(address account, uint256 proposedVersion, uint256 currentVersion);
    error StaleMembership(address account, uint256 proposedInstance, uint256 currentInstance);
    error UnrecoverableThreshold(uint256 threshold, uint256 adminCount);
    error InvalidOperator(address operator);
    error OperatorInUse(address operator, address member);
    error AccountIsOperator(address account);
    error NotNominated(address member, address account);

    /// @notice An institution applied (or re-applied after removal) to join; `keyVersion` is the version
    /// of `publicKey` that an ApproveMember proposal must name.
    event MemberApplied(address indexed member, string name, string endpoint, bytes publicKey, uint32 keyVersion);
    /// @notice A member's status changed; `proposalId` is 0 when the member caused it (key rotation).
    event MemberStatusChanged(address indexed member, MemberStatus from, MemberStatus to, uint256 indexed proposalId);
    /// @notice A member moved its gateway endpoint.
    event MemberEndpointUpdated(address indexed member, string endpoint);
    /// @notice A member registered a new SM2 public key; it is pending again until re-approved by an
    /// ApproveMember proposal naming `keyVersion`.
    event MemberKeyRotated(address indexed member, bytes publicKey, uint32 keyVersion);
    /// @notice An admin joined (at deployment or by proposal).
    event AdminAdded(address indexed admin, uint256 indexed proposalId);
    /// @notice An admin left by proposal.
    event AdminRemoved(address indexed admin, uint256 indexed proposalId);
    /// @notice The number of admin approvals a proposal needs changed.
    event ThresholdChanged(uint256 from, uint256 to, uint256 indexed proposalId);
    /// @notice An account may now issue and revoke certificates.
    event CertificateAuthorityAppointed(address indexed authority, uint256 indexed proposalId);
    /// @notice An account may no longer issue certificates.
    event CertificateAuthorityDismissed(address indexed authority, uint256 indexed proposalId);
    /// @notice An admin opened a proposal (and voted for it).
    event ProposalCreated(
        uint256 indexed proposalId, ProposalKind kind, address indexed target, uint256 value, address indexed proposer
    );
    /// @notice An admin voted for a proposal.
    event ProposalVoted(uint256 indexed proposalId, address indexed admin, uint32 approvals, uint256 threshold);
    /// @notice A proposal reached the threshold and took effect.
    event ProposalExecuted(uint256 indexed proposalId, ProposalKind kind, address indexed target, uint256 value);
    /// @notice The proposer withdrew an open proposal.
    event ProposalCancelled(uint256 indexed proposalId, address indexed by);
    /// @notice A job window cap changed: `maxApprovalBlocks` (which = 0) or `maxRunBlocks` (which = 1).
    event JobWindowChanged(uint8 indexed which, uint64 from, uint64 to, uint256 indexed proposalId);
    /// @notice `member` nominated `operator` (zero: withdrew its nomination); the account must accept.
    event OperatorNominated(address indexed member, address indexed operator);
    /// @notice `member`'s operator key (zero: none) changed: accepted, removed or resigned.
    event OperatorChanged(address indexed member, address indexed previous, address indexed operator);
    /// @notice `authority` was appointed for the `term`-th time (its certificates of earlier terms no
    /// longer count).
    event AuthorityTermStarted(address indexed authority, uint32 term);

    mapping(address => Member) private _members;
    address[] private _memberList;
    /// @notice Number of members whose status is Active.
    uint256 public activeMemberCount;

    /// @notice True when the account is a current admin.
    mapping(address => bool) public isAdmin;
    address[] private _adminList;
    mapping(address => uint256) private _adminIndex; // 1-based position in _adminList
    /// @notice Number of admin approvals a proposal needs to execute.
    uint256 public threshold;
    /// @notice Admin epoch; bumped on every change of the admin set or threshold, which makes the
    /// proposals opened before it stale.
    uint64 public adminEpoch;

    /// @notice True when the account may issue and revoke certificates.
    mapping(address => bool) public isCertificateAuthority;
    address[] private _authorityList;
    mapping(address => uint256) private _authorityIndex; // 1-based

    Proposal[] private _proposals; // id = index + 1
    /// @notice True when `admin` voted for proposal `proposalId`.
    mapping(uint256 => mapping(address => bool)) public hasVoted;
    mapping(bytes32 => uint256) private _openProposal; // keccak(kind, target, value) => id

    /// @notice Longest approval window (blocks between a job's proposal and its approval deadline).
    uint64 public maxApprovalBlocks;
    /// @notice Longest run window (blocks between a job's approval and its run deadline).
    uint64 public maxRunBlocks;

    /// @notice The operator key a member authorised to report job progress in its name (zero: none).
    mapping(address => address) public operatorOf;
    /// @notice The member an operator key reports for (zero: not an operator).
    mapping(address => address) public memberOfOperator;
    /// @notice The account a member nominated as operator, until it accepts (zero: none).
    mapping(address => address) public nominatedOperatorOf;
    /// @notice How many times `account` was appointed certificate authority (its current term while it is
    /// one). Certificates record the term they were issued in.
    mapping(address => uint32) public authorityTerm;

    modifier onlyAdmin() {
        if (!isAdmin[msg.sender]) revert NotAdmin(msg.sender);
        _;
    }

    /// @notice Deploys a consortium with its first admins.
    /// @param initialAdmins The initial admin accounts (distinct, non-zero).
    /// @param threshold_ Approvals a proposal needs: 1 <= threshold < admins.length, so that losing one admin
    /// key never locks governance; a single admin with threshold 1 is accepted for development chains.
    constructor(address[] memory initialAdmins, uint256 threshold_) {
        if (threshold_ == 0 || threshold_ > initialAdmins.length) {
            revert InvalidThreshold(threshold_, initialAdmins.length);
        }
        if (initialAdmins.length > 1) _checkRecoverable(threshold_, initialAdmins.length);
        for (uint256 i = 0; i < initialAdmins.length; i++) {
            address a = initialAdmins[i];
            if (a == address(0)) revert ZeroAddress();
            if (isAdmin[a]) revert DuplicateAdmin(a);
            _addAdmin(a, 0);
        }
        threshold = threshold_;
        emit ThresholdChanged(0, threshold_, 0);
        maxApprovalBlocks = DEFAULT_MAX_APPROVAL_BLOCKS;
        maxRunBlocks = DEFAULT_MAX_RUN_BLOCKS;
        emit JobWindowChanged(0, 0, DEFAULT_MAX_APPROVAL_BLOCKS, 0);
        emit JobWindowChanged(1, 0, DEFAULT_MAX_RUN_BLOCKS, 0);
    }

    // ------------------------------------------------------------------ members

    /// @notice Applies for membership. The caller's account becomes the member's identity.
    /// @dev Allowed for new accounts, removed members and withdrawn applicants; the status becomes Pending,
    /// the key version and the membership instance are incremented (1 for a first application). An operator
    /// key cannot apply.
    /// @param name Institution name, 1..64 bytes.
    /// @param endpoint Gateway endpoint (e.g. `https://gw.bank-a.example:7443`), 1..256 bytes.
    /// @param publicKey Uncompressed SM2 public key without the 0x04 prefix: exactly 64 bytes (x || y).
    function applyForMembership(string calldata name, string calldata endpoint, bytes calldata publicKey) external {
        Member storage m = _members[msg.sender];
        MemberStatus old = m.status;
        if (old != MemberStatus.None && old != MemberStatus.Removed && old != MemberStatus.Withdrawn) {
            revert AlreadyApplied(msg.sender, old);
        }
        _notOperator(msg.sender);
        _checkName(name);
        _checkEndpoint(endpoint);
        _checkPublicKey(publicKey);
        if (old == MemberStatus.None) {
            _memberList.push(msg.sender);
            m.account = msg.sender;
        }
        m.name = name;
        m.endpoint = endpoint;
        m.publicKey = publicKey;
        uint32 version = m.keyVersion + 1;
        m.keyVersion = version;
        m.approvedKeyVersion = 0;
        m.instance += 1;
        m.status = MemberStatus.Pending;
        m.appliedBlock = uint64(block.number);
        m.updatedBlock = uint64(block.number);
        emit MemberApplied(msg.sender, name, endpoint, publicKey, version);
        emit MemberStatusChanged(msg.sender, old, MemberStatus.Pending, 0);
    }

    /// @notice Withdraws the caller's application before it was approved (an applicant waiting for its
    /// first approval in this membership instance). It may apply again later.
    function withdrawApplication() external {
        Member storage m = _members[msg.sender];
        MemberStatus s = m.status;
        if (s == MemberStatus.None) revert UnknownMember(msg.sender);
        if (s != MemberStatus.Pending || m.approvedKeyVersion != 0) revert InvalidMemberStatus(msg.sender, s);
        m.status = MemberStatus.Withdrawn;
        m.updatedBlock = uint64(block.number);
        emit MemberStatusChanged(msg.sender, s, MemberStatus.Withdrawn, 0);
    }

    /// @notice Nominates `operator` to report the progress of the caller's jobs (started, completed,
    /// failed) and nothing else; the operator account takes the role by calling `acceptOperator`, so no one
    /// can make an account an operator (and bar it from becoming a member, admin or authority) without its
    /// key. Zero withdraws the nomination and removes the current operator. A member's node runs with its
    /// operator key, never with the member's governance key. Nominating needs an active member; removing is
    /// always allowed. The operator must be a fresh account: no member, applicant, admin, certificate
    /// authority or other member's operator.
    /// @param operator The node's account, or zero.
    function setOperator(address operator) external {
        MemberStatus s = _members[msg.sender].status;
        if (s == MemberStatus.None) revert UnknownMember(msg.sender);
        if (operator == address(0)) {
            address previous = operatorOf[msg.sender];
            address nominated = nominatedOperatorOf[msg.sender];
            if (previous == address(0) && nominated == address(0)) revert InvalidOperator(operator);
            if (nominated != address(0)) {
                delete nominatedOperatorOf[msg.sender];
                emit OperatorNominated(msg.sender, address(0));
            }
            if (previous != address(0)) {
                delete memberOfOperator[previous];
                delete operatorOf[msg.sender];
                emit OperatorChanged(msg.sender, previous, address(0));
            }
            return;
        }
        if (s != MemberStatus.Active) revert NotActiveMember(msg.sender);
        _checkFreshOperator(operator);
        nominatedOperatorOf[msg.sender] = operator;
        emit OperatorNominated(msg.sender, operator);
    }

    /// @notice Takes the operator role `member` nominated the caller for; the member's previous operator (if
    /// any) loses it. The member must still be active and the caller still a fresh account.
    /// @param member The member that nominated the caller.
    function acceptOperator(address member) external {
        if (nominatedOperatorOf[member] != msg.sender) revert NotNominated(member, msg.sender);
        if (_members[member].status != MemberStatus.Active) revert NotActiveMember(member);
        _checkFreshOperator(msg.sender);
        delete nominatedOperatorOf[member];
        address previous = operatorOf[member];
        if (previous != address(0)) delete memberOfOperator[previous];
        operatorOf[member] = msg.sender;
        memberOfOperator[msg.sender] = member;
        emit OperatorChanged(member, previous, msg.sender);
    }

    /// @notice Gives up the caller's operator role (the account is free again).
    function resignOperator() external {
        address member = memberOfOperator[msg.sender];
        if (member == address(0)) revert InvalidOperator(msg.sender);
        delete memberOfOperator[msg.sender];
        delete operatorOf[member];
        emit OperatorChanged(member, msg.sender, address(0));
    }

    /// @notice The member on whose behalf `account` reports job progress: the member whose operator it
    /// is, else `account` itself.
    function reportingMember(address account) external view returns (address) {
        address member = memberOfOperator[account];
        return member == address(0) ? account : member;
    }

    /// @notice Moves the caller's gateway to a new endpoint. Status is unchanged.
    /// @param endpoint The new endpoint, 1..256 bytes.
    function updateEndpoint(string calldata endpoint) external {
        Member storage m = _members[msg.sender];
        MemberStatus s = m.status;
        if (s == MemberStatus.None) revert UnknownMember(msg.sender);
        if (s == MemberStatus.Removed || s == MemberStatus.Withdrawn) revert InvalidMemberStatus(msg.sender, s);
        _checkEndpoint(endpoint);
        m.endpoint = endpoint;
        m.updatedBlock = uint64(block.number);
        emit MemberEndpointUpdated(msg.sender, endpoint);
    }

    /// @notice Registers a new SM2 public key for the caller. An active member becomes Pending again and
    /// must be re-approved by the admins, because peers trust the key, not the account. The key version is
    /// incremented, so ApproveMember proposals opened for the previous key can no longer execute. A pending
    /// suspension or removal still executes against a member that rotated (see `_checkProposal`).
    /// @dev Suspended members cannot rotate (that would be a way out of suspension).
    /// @param publicKey The new 64-byte public key.
    function rotateKey(bytes calldata publicKey) external {
        Member storage m = _members[msg.sender];
        MemberStatus s = m.status;
        if (s == MemberStatus.None) revert UnknownMember(msg.sender);
        if (s != MemberStatus.Active && s != MemberStatus.Pending) revert InvalidMemberStatus(msg.sender, s);
        _checkPublicKey(publicKey);
        m.publicKey = publicKey;
        uint32 version = m.keyVersion + 1;
        m.keyVersion = version;
        m.updatedBlock = uint64(block.number);
        emit MemberKeyRotated(msg.sender, publicKey, version);
        if (s == MemberStatus.Active) {
            activeMemberCount--;
            m.status = MemberStatus.Pending;
            emit MemberStatusChanged(msg.sender, s, MemberStatus.Pending, 0);
        }
    }

    /// @notice True when `account` is an approved member that is neither suspended nor removed.
    function isActive(address account) external view returns (bool) {
        return _members[account].status == MemberStatus.Active;
    }

    /// @notice Both job window caps at once: (`maxApprovalBlocks`, `maxRunBlocks`).
    function jobWindows() external view returns (uint64, uint64) {
        return (maxApprovalBlocks, maxRunBlocks);
    }

    /// @notice The version of `account`'s current key (0 when it never applied).
    function keyVersionOf(address account) external view returns (uint32) {
        return _members[account].keyVersion;
    }

    /// @notice The status of `account` (None when it never applied).
    function memberStatus(address account) external view returns (MemberStatus) {
        return _members[account].status;
    }

    /// @notice The full record of `account`; reverts for accounts that never applied.
    function getMember(address account) external view returns (Member memory) {
        Member storage m = _members[account];
        if (m.status == MemberStatus.None) revert UnknownMember(account);
        return m;
    }

    /// @notice Number of accounts that ever applied (removed members included).
    function memberCount() external view returns (uint256) {
        return _memberList.length;
    }

    /// @notice Members in application order, `limit` (at most 100) from `offset`.
    function membersPage(uint256 offset, uint256 limit) external view returns (Member[] memory page) {
        uint256 end = _pageEnd(offset, limit, _memberList.length);
        page = new Member[](end - offset);
        for (uint256 i = offset; i < end; i++) {
            page[i - offset] = _members[_memberList[i]];
        }
    }

    // ------------------------------------------------------------------- admins

    /// @notice The current admins.
    function admins() external view returns (address[] memory) {
        return _adminList;
    }

    /// @notice The number of current admins.
    function adminCount() external view returns (uint256) {
        return _adminList.length;
    }

    /// @notice The current certificate authorities.
    function certificateAuthorities() external view returns (address[] memory) {
        return _authorityList;
    }

    // ---------------------------------------------------------------- proposals

    /// @notice Opens an M-of-N proposal; the proposer's vote is counted at once, so with threshold 1 it
    /// executes immediately.
    /// @param kind What to do.
    /// @param target The member, admin or authority concerned (must be zero for ChangeThreshold and the two
    /// job windows).
    /// @param value For ApproveMember the target's current key version (`getMember(target).keyVersion`), so
    /// the approval binds to the key the admins reviewed; for SuspendMember, ReinstateMember and RemoveMember
    /// the target's membership instance (`getMember(target).instance`); the new threshold for ChangeThreshold;
    /// the new cap in blocks for SetMaxApprovalBlocks / SetMaxRunBlocks; 0 otherwise.
    /// @return proposalId The new proposal's id (ids start at 1).
    function propose(ProposalKind kind, address target, uint256 value) external onlyAdmin returns (uint256 proposalId) {
        _checkProposal(kind, target, value);
        bytes32 key = keccak256(abi.encode(kind, target, value));
        uint256 open = _openProposal[key];
        if (open != 0) {
            Proposal storage existing = _proposals[open - 1];
            if (existing.status == ProposalStatus.Open && existing.epoch == adminEpoch) {
                revert ProposalAlreadyOpen(open);
            }
        }
        proposalId = _proposals.length + 1;
        _proposals.push(
            Proposal({
                id: proposalId,
                kind: kind,
                target: target,
                value: value,
                proposer: msg.sender,
                status: ProposalStatus.Open,
                epoch: adminEpoch,
                createdBlock: uint64(block.number),
                closedBlock: 0,
                approvals: 0
            })
        );
        _openProposal[key] = proposalId;
        emit ProposalCreated(proposalId, kind, target, value, msg.sender);
        _vote(proposalId);
    }

    /// @notice Votes for an open proposal of the current admin epoch; executes it when the threshold is met.
    /// @param proposalId The proposal to support.
    function vote(uint256 proposalId) external onlyAdmin {
        _openProposalRef(proposalId);
        if (hasVoted[proposalId][msg.sender]) revert AlreadyVoted(proposalId, msg.sender);
        _vote(proposalId);
    }

    /// @notice Withdraws an open proposal; only its proposer may.
    /// @param proposalId The proposal to cancel.
    function cancel(uint256 proposalId) external onlyAdmin {
        if (proposalId == 0 || proposalId > _proposals.length) revert UnknownProposal(proposalId);
        Proposal storage p = _proposals[proposalId - 1];
        if (p.status != ProposalStatus.Open) revert ProposalNotOpen(proposalId, p.status);
        if (p.proposer != msg.sender) revert NotProposer(proposalId, msg.sender);
        p.status = ProposalStatus.Cancelled;
        p.closedBlock = uint64(block.number);
        emit ProposalCancelled(proposalId, msg.sender);
    }

    /// @notice The proposal with `proposalId`; reverts when unknown.
    function getProposal(uint256 proposalId) external view returns (Proposal memory) {
        if (proposalId == 0 || proposalId > _proposals.length) revert UnknownProposal(proposalId);
        return _proposals[proposalId - 1];
    }

    /// @notice Number of proposals ever opened.
    function proposalCount() external view returns (uint256) {
        return _proposals.length;
    }

    /// @notice Proposals in id order, `limit` (at most 100) from `offset`.
    function proposalsPage(uint256 offset, uint256 limit) external view returns (Proposal[] memory page) {
        uint256 end = _pageEnd(offset, limit, _proposals.length);
        page = new Proposal[](end - offset);
        for (uint256 i = offset; i < end; i++) {
            page[i - offset] = _proposals[i];
        }
    }

    /// @notice The id of the open, current-epoch proposal for exactly (kind, target, value), or 0.
    /// @dev Lets a client vote on an existing proposal instead of opening a duplicate.
    function openProposalFor(ProposalKind kind, address target, uint256 value) external view returns (uint256) {
        uint256 id = _openProposal[keccak256(abi.encode(kind, target, value))];
        if (id == 0) return 0;
        Proposal storage p = _proposals[id - 1];
        return (p.status == ProposalStatus.Open && p.epoch == adminEpoch) ? id : 0;
    }

    // ---------------------------------------------------------------- internals

    function _openProposalRef(uint256 proposalId) private view returns (Proposal storage p) {
        if (proposalId == 0 || proposalId > _proposals.length) revert UnknownProposal(proposalId);
        p = _proposals[proposalId - 1];
        if (p.status != ProposalStatus.Open) revert ProposalNotOpen(proposalId, p.status);
        if (p.epoch != adminEpoch) revert ProposalStale(proposalId, p.epoch, adminEpoch);
    }

    function _vote(uint256 proposalId) private {
        Proposal storage p = _proposals[proposalId - 1];
        hasVoted[proposalId][msg.sender] = true;
        p.approvals += 1;
        emit ProposalVoted(proposalId, msg.sender, p.approvals, threshold);
        if (p.approvals >= threshold) {
            _execute(p);
        }
    }

    function _execute(Proposal storage p) private {
        ProposalKind kind = p.kind;
        address target = p.target;
        uint256 value = p.value;
        uint256 id = p.id;
        // Re-check: the world may have changed since the proposal was opened.
        _checkProposal(kind, target, value);
        p.status = ProposalStatus.Executed;
        p.closedBlock = uint64(block.number);
        emit ProposalExecuted(id, kind, target, value);

        if (kind == ProposalKind.ApproveMember) {
            Member storage m = _members[target];
            m.approvedKeyVersion = m.keyVersion;
            _setStatus(target, MemberStatus.Active, id);
        } else if (kind == ProposalKind.SuspendMember) {
            _setStatus(target, MemberStatus.Suspended, id);
        } else if (kind == ProposalKind.ReinstateMember) {
            // Only an approved key becomes active again: a member suspended while its new key awaited
            // approval returns to Pending.
            Member storage m = _members[target];
            _setStatus(target, m.approvedKeyVersion == m.keyVersion ? MemberStatus.Active : MemberStatus.Pending, id);
        } else if (kind == ProposalKind.RemoveMember) {
            _setStatus(target, MemberStatus.Removed, id);
        } else if (kind == ProposalKind.AddAdmin) {
            _addAdmin(target, id);
            adminEpoch++;
        } else if (kind == ProposalKind.RemoveAdmin) {
            _removeAdmin(target, id);
            adminEpoch++;
        } else if (kind == ProposalKind.ChangeThreshold) {
            emit ThresholdChanged(threshold, value, id);
            threshold = value;
            adminEpoch++;
        } else if (kind == ProposalKind.AppointCertificateAuthority) {
            isCertificateAuthority[target] = true;
            _authorityList.push(target);
            _authorityIndex[target] = _authorityList.length;
            uint32 term = authorityTerm[target] + 1;
            authorityTerm[target] = term;
            emit CertificateAuthorityAppointed(target, id);
            emit AuthorityTermStarted(target, term);
        } else if (kind == ProposalKind.SetMaxApprovalBlocks) {
            emit JobWindowChanged(0, maxApprovalBlocks, uint64(value), id);
            maxApprovalBlocks = uint64(value);
        } else if (kind == ProposalKind.SetMaxRunBlocks) {
            emit JobWindowChanged(1, maxRunBlocks, uint64(value), id);
            maxRunBlocks = uint64(value);
        } else {
            uint256 idx = _authorityIndex[target];
            address last = _authorityList[_authorityList.length - 1];
            _authorityList[idx - 1] = last;
            _authorityIndex[last] = idx;
            _authorityList.pop();
            delete _authorityIndex[target];
            isCertificateAuthority[target] = false;
            emit CertificateAuthorityDismissed(target, id);
        }
    }

    /// @dev Validates a proposal against the current state; used when opening and again when executing.
    function _checkProposal(ProposalKind kind, address target, uint256 value) private view {
        if (
            kind == ProposalKind.ChangeThreshold || kind == ProposalKind.SetMaxApprovalBlocks
                || kind == ProposalKind.SetMaxRunBlocks
        ) {
            if (target != address(0)) revert InvalidProposalValue(kind, uint256(uint160(target)));
            if (kind == ProposalKind.ChangeThreshold) {
                if (value == 0 || value > _adminList.length) revert InvalidThreshold(value, _adminList.length);
                _checkRecoverable(value, _adminList.length);
            } else if (value == 0 || value > MAX_WINDOW_BLOCKS) {
                revert InvalidProposalValue(kind, value);
            }
            return;
        }
        if (target == address(0)) revert ZeroAddress();
        if (kind == ProposalKind.AddAdmin) {
            _noValue(kind, value);
            if (isAdmin[target]) revert AlreadyAdmin(target);
            _notOperator(target);
        } else if (kind == ProposalKind.RemoveAdmin) {
            _noValue(kind, value);
            if (!isAdmin[target]) revert NotAdmin(target);
            _checkRecoverable(threshold, _adminList.length - 1);
        } else if (kind == ProposalKind.AppointCertificateAuthority) {
            _noValue(kind, value);
            if (isCertificateAuthority[target]) revert AlreadyCertificateAuthority(target);
            _notOperator(target);
        } else if (kind == ProposalKind.DismissCertificateAuthority) {
            _noValue(kind, value);
            if (!isCertificateAuthority[target]) revert NotCertificateAuthority(target);
        } else {
            Member storage m = _members[target];
            MemberStatus s = m.status;
            if (s == MemberStatus.None) revert UnknownMember(target);
            bool ok = (kind == ProposalKind.ApproveMember && s == MemberStatus.Pending)
                || (kind == ProposalKind.SuspendMember
                    && (s == MemberStatus.Active || (s == MemberStatus.Pending && m.approvedKeyVersion != 0)))
                || (kind == ProposalKind.ReinstateMember && s == MemberStatus.Suspended)
                || (kind == ProposalKind.RemoveMember && s != MemberStatus.Removed && s != MemberStatus.Withdrawn);
            if (!ok) revert InvalidMemberStatus(target, s);
            if (kind == ProposalKind.ApproveMember) {
                if (value != m.keyVersion) revert StaleMemberKey(target, value, m.keyVersion);
            } else if (value != m.instance) {
                revert StaleMembership(target, value, m.instance);
            }
        }
    }

    function _noValue(ProposalKind kind, uint256 value) private pure {
        if (value != 0) revert InvalidProposalValue(kind, value);
    }

    /// @dev Governance must survive the loss of one admin key: the other admins must still reach the
    /// threshold (to replace the lost one).
    function _checkRecoverable(uint256 threshold_, uint256 admins_) private pure {
        if (threshold_ >= admins_) revert UnrecoverableThreshold(threshold_, admins_);
    }

    function _checkFreshOperator(address operator) private view {
        if (_members[operator].status != MemberStatus.None || isAdmin[operator] || isCertificateAuthority[operator]) {
            revert InvalidOperator(operator);
        }
        address holder = memberOfOperator[operator];
        if (holder != address(0)) revert OperatorInUse(operator, holder);
    }

    function _notOperator(address account) private view {
        if (memberOfOperator[account] != address(0)) revert AccountIsOperator(account);
    }

    function _setStatus(address account, MemberStatus to, uint256 proposalId) private {
        Member storage m = _members[account];
        MemberStatus from = m.status;
        if (from == MemberStatus.Active) activeMemberCount--;
        if (to == MemberStatus.Active) activeMemberCount++;
        m.status = to;
        m.updatedBlock = uint64(block.number);
        emit MemberStatusChanged(account, from, to, proposalId);
    }

    function _addAdmin(address account, uint256 proposalId) private {
        isAdmin[account] = true;
        _adminList.push(account);
        _adminIndex[account] = _adminList.length;
        emit AdminAdded(account, proposalId);
    }

    function _removeAdmin(address account, uint256 proposalId) private {
        uint256 idx = _adminIndex[account];
        address last = _adminList[_adminList.length - 1];
        _adminList[idx - 1] = last;
        _adminIndex[last] = idx;
        _adminList.pop();
        delete _adminIndex[account];
        isAdmin[account] = false;
        emit AdminRemoved(account, proposalId);
    }

    function _checkName(string calldata name) private pure {
        uint256 len = bytes(name).length;
        if (len == 0 || len > MAX_NAME_LENGTH) revert InvalidName(len);
    }

    function _checkEndpoint(string calldata endpoint) private pure {
        uint256 len = bytes(endpoint).length;
        if (len == 0 || len > MAX_ENDPOINT_LENGTH) revert InvalidEndpoint(len);
    }

    function _checkPublicKey(bytes calldata publicKey) private pure {
        if (publicKey.length != PUBLIC_KEY_LENGTH) revert InvalidPublicKey(publicKey.length);
    }

    function _pageEnd(uint256 offset, uint256 limit, uint256 total) private pure returns (uint256) {
        if (offset >= total) return offset;
        if (limit > MAX_PAGE) limit = MAX_PAGE;
        uint256 end = offset + limit;
        return end > total ? total : end;
    }
}
