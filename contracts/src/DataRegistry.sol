// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.11;

import {Consortium, NotActiveMember, ZeroAddress} from "./Consortium.sol";

/// @notice A dataset's identity: its owner and the name the owner gave it. Names are per owner, so no
/// member can take or burn another member's name.
struct DatasetRef {
    address owner;
    bytes32 name;
}

/// @title DataRegistry
/// @notice Datasets known to the consortium: never the data, only what a partner needs to plan a joint
/// job (schema hash, row count, metadata JSON) and who may use it in one.
/// Private datasets cannot be used in jobs: a job needs every dataset visible to every participant, and a
/// job has at least two participants.
/// @dev A dataset is identified by (owner, name): each member has a namespace of its own. Its description
/// (schema hash, row count, metadata) carries a version, incremented on every change, and a digest over
/// all of it; the registry also numbers every description change across all datasets (`descriptionSeq`),
/// so a job can tell exactly which of its datasets changed after it was proposed.
/// Visibility: Public datasets are visible to everyone; Listed ones to the owner and the members it
/// granted; Private ones to the owner only. Retired datasets are visible to no one. Registering, updating
/// and granting need an active owner; retiring and revoking a grant only reduce access, so a suspended or
/// removed owner can still do them.
contract DataRegistry {
    enum Visibility {
        Public,
        Listed,
        Private
    }

    enum DatasetStatus {
        None,
        Active,
        Retired
    }

    struct Dataset {
        address owner;
        bytes32 name;
        bytes32 schemaHash;
        uint64 rowCount;
        Visibility visibility;
        DatasetStatus status;
        uint32 version;
        uint64 registeredBlock;
        uint64 updatedBlock;
        // Value of the registry-wide `descriptionSeq` at this dataset's last description change.
        uint64 descriptionSeq;
        bytes32 metadataHash;
        // keccak256(abi.encode(owner, name, schemaHash, rowCount, metadataHash, version)).
        bytes32 digest;
        string metadata;
    }

    /// @notice A page entry: a dataset without its metadata (read it with `getDataset`).
    struct DatasetSummary {
        address owner;
        bytes32 name;
        bytes32 schemaHash;
        uint64 rowCount;
        Visibility visibility;
        DatasetStatus status;
        uint32 version;
        uint64 registeredBlock;
        uint64 updatedBlock;
        bytes32 metadataHash;
        bytes32 digest;
    }

    /// @notice Maximum length of a dataset's metadata JSON, in bytes.
    uint256 public constant MAX_METADATA_LENGTH = 4096;
    /// @notice Maximum number of entries a page view returns.
    uint256 public constant MAX_PAGE = 100;

    error ZeroDatasetName();
    error ZeroHash();
    error DatasetExists(address owner, bytes32 name);
    error UnknownDataset(address owner, bytes32 name);
    error DatasetIsRetired(address owner, bytes32 name);
    error InvalidMetadata(uint256 length);
    error UnknownMember(address account);
    error AlreadyGranted(address owner, bytes32 name, address member);
    error NotGranted(address owner, bytes32 name, address member);
    error DatasetNotActive(address owner, bytes32 name);
    error DatasetNotVisible(address owner, bytes32 name, address participant);
    error UnchangedDescription(address owner, bytes32 name);

    /// @notice A member registered a dataset (version 1).
    event DatasetRegistered(
        address indexed owner,
        bytes32 indexed name,
        bytes32 schemaHash,
        uint64 rowCount,
        Visibility visibility,
        string metadata,
        bytes32 digest
    );
    /// @notice The owner changed a dataset's description; jobs proposed before can no longer be approved.
    event DatasetUpdated(
        address indexed owner,
        bytes32 indexed name,
        bytes32 schemaHash,
        uint64 rowCount,
        string metadata,
        uint32 version,
        bytes32 digest
    );
    /// @notice The owner changed who may use a dataset.
    event DatasetVisibilityChanged(address indexed owner, bytes32 indexed name, Visibility visibility);
    /// @notice The owner retired a dataset; it can no longer be used in new jobs.
    event DatasetRetired(address indexed owner, bytes32 indexed name);
    /// @notice The owner let `member` see a Listed dataset.
    event DatasetAccessGranted(address indexed owner, bytes32 indexed name, address indexed member);
    /// @notice The owner withdrew `member`'s access.
    event DatasetAccessRevoked(address indexed owner, bytes32 indexed name, address indexed member);

    /// @notice The consortium whose members own datasets here.
    Consortium public immutable consortium;
    mapping(bytes32 => Dataset) private _datasets; // key = datasetKey(owner, name)
    bytes32[] private _keys;
    /// @notice True when the owner of the dataset with key `key` granted `member` access (it only matters
    /// while Listed).
    mapping(bytes32 => mapping(address => bool)) public isGranted;
    /// @notice Number of description changes (registrations and updates) of all datasets so far.
    uint64 public descriptionSeq;

    /// @param consortium_ The consortium whose members own datasets here.
    constructor(Consortium consortium_) {
        consortium = consortium_;
    }

    /// @notice The storage key of (owner, name).
    function datasetKey(address owner, bytes32 name) public pure returns (bytes32) {
        return keccak256(abi.encode(owner, name));
    }

    /// @notice Registers a dataset named `name` in the caller's namespace; the caller must be an active
    /// member. Another member's datasets never stand in the way.
    /// @param name Non-zero name, unique among the caller's datasets (retired ones included).
    /// @param schemaHash Hash of the dataset's schema (column names and types), non-zero.
    /// @param rowCount Number of rows.
    /// @param metadata JSON describing the dataset (at most 4096 bytes; validated by clients).
    /// @param visibility Who may use it in jobs (Private: no job can use it).
    function register(
        bytes32 name,
        bytes32 schemaHash,
        uint64 rowCount,
        string calldata metadata,
        Visibility visibility
    ) external {
        _onlyActive();
        if (name == bytes32(0)) revert ZeroDatasetName();
        bytes32 key = datasetKey(msg.sender, name);
        Dataset storage d = _datasets[key];
        if (d.status != DatasetStatus.None) revert DatasetExists(msg.sender, name);
        _checkFields(schemaHash, metadata);
        d.owner = msg.sender;
        d.name = name;
        d.visibility = visibility;
        d.status = DatasetStatus.Active;
        d.registeredBlock = uint64(block.number);
        _describe(d, schemaHash, rowCount, metadata);
        _keys.push(key);
        emit DatasetRegistered(msg.sender, name, schemaHash, rowCount, visibility, metadata, d.digest);
    }

    /// @notice Replaces the description of an active dataset the caller owns (the caller must be an active
    /// member); its version goes up by one. Jobs proposed before the change can no longer be approved.
    /// @param name The dataset.
    /// @param schemaHash New schema hash, non-zero.
    /// @param rowCount New row count.
    /// @param metadata New metadata JSON (at most 4096 bytes).
    function update(bytes32 name, bytes32 schemaHash, uint64 rowCount, string calldata metadata) external {
        Dataset storage d = _owned(name);
        _onlyActive();
        _checkFields(schemaHash, metadata);
        if (d.schemaHash == schemaHash && d.rowCount == rowCount && d.metadataHash == keccak256(bytes(metadata))) {
            revert UnchangedDescription(msg.sender, name);
        }
        _describe(d, schemaHash, rowCount, metadata);
        emit DatasetUpdated(msg.sender, name, schemaHash, rowCount, metadata, d.version, d.digest);
    }

    /// @notice Changes who may use an active dataset the caller owns; the caller must be an active member.
    /// The description (and its version) is unchanged; jobs check visibility when their last approval comes.
    /// @param name The dataset.
    /// @param visibility The new visibility.
    function setVisibility(bytes32 name, Visibility visibility) external {
        Dataset storage d = _owned(name);
        _onlyActive();
        d.visibility = visibility;
        d.updatedBlock = uint64(block.number);
        emit DatasetVisibilityChanged(msg.sender, name, visibility);
    }

    /// @notice Retires an active dataset the caller owns. Final: the caller cannot reuse the name. Allowed
    /// whatever the caller's membership status, since it only reduces access.
    /// @param name The dataset.
    function retire(bytes32 name) external {
        Dataset storage d = _owned(name);
        d.status = DatasetStatus.Retired;
        d.updatedBlock = uint64(block.number);
        emit DatasetRetired(msg.sender, name);
    }

    /// @notice Lets `member` use a Listed dataset the caller owns; the caller must be an active member.
    /// @param name The dataset.
    /// @param member A member of the consortium (any status but unknown).
    function grant(bytes32 name, address member) external {
        _owned(name);
        _onlyActive();
        if (member == address(0)) revert ZeroAddress();
        if (consortium.memberStatus(member) == Consortium.MemberStatus.None) revert UnknownMember(member);
        bytes32 key = datasetKey(msg.sender, name);
        if (isGranted[key][member]) revert AlreadyGranted(msg.sender, name, member);
        isGranted[key][member] = true;
        emit DatasetAccessGranted(msg.sender, name, member);
    }

    /// @notice Withdraws `member`'s access to an active dataset the caller owns. Allowed whatever the
    /// caller's membership status, since it only reduces access.
    /// @param name The dataset.
    /// @param member The member whose grant is withdrawn.
    function revoke(bytes32 name, address member) external {
        _owned(name);
        bytes32 key = datasetKey(msg.sender, name);
        if (!isGranted[key][member]) revert NotGranted(msg.sender, name, member);
        isGranted[key][member] = false;
        emit DatasetAccessRevoked(msg.sender, name, member);
    }

    /// @notice True when `account` may use the dataset in a job: it is active and public, or owned by
    /// `account`, or Listed and granted to `account`.
    function isVisibleTo(address owner, bytes32 name, address account) external view returns (bool) {
        bytes32 key = datasetKey(owner, name);
        Dataset storage d = _datasets[key];
        return d.status == DatasetStatus.Active && _visible(d, key, account);
    }

    /// @notice Checks that a job may use the dataset: it is active and visible to every participant
    /// (reverting with DatasetNotActive / DatasetNotVisible otherwise). Returns its digest and the
    /// `descriptionSeq` of its last description change.
    function checkUse(address owner, bytes32 name, address[] calldata participants)
        external
        view
        returns (bytes32 digest, uint64 seq)
    {
        bytes32 key = datasetKey(owner, name);
        Dataset storage d = _datasets[key];
        if (d.status != DatasetStatus.Active) revert DatasetNotActive(owner, name);
        for (uint256 i = 0; i < participants.length; i++) {
            if (!_visible(d, key, participants[i])) revert DatasetNotVisible(owner, name, participants[i]);
        }
        return (d.digest, d.descriptionSeq);
    }

    /// @notice The `descriptionSeq` of the dataset's last description change (0 when unknown).
    function descriptionSeqOf(address owner, bytes32 name) external view returns (uint64) {
        return _datasets[datasetKey(owner, name)].descriptionSeq;
    }

    /// @notice True when the dataset exists and is not retired.
    function isActive(address owner, bytes32 name) external view returns (bool) {
        return _datasets[datasetKey(owner, name)].status == DatasetStatus.Active;
    }

    /// @notice The full record of a dataset; reverts when unknown.
    function getDataset(address owner, bytes32 name) external view returns (Dataset memory) {
        Dataset storage d = _datasets[datasetKey(owner, name)];
        if (d.status == DatasetStatus.None) revert UnknownDataset(owner, name);
        return d;
    }

    /// @notice Number of datasets ever registered (retired ones included).
    function datasetCount() external view returns (uint256) {
        return _keys.length;
    }

    /// @notice Datasets in registration order without their metadata, `limit` (at most 100) from `offset`.
    function datasetsPage(uint256 offset, uint256 limit) external view returns (DatasetSummary[] memory page) {
        uint256 total = _keys.length;
        if (offset >= total) return new DatasetSummary[](0);
        if (limit > MAX_PAGE) limit = MAX_PAGE;
        uint256 end = offset + limit > total ? total : offset + limit;
        page = new DatasetSummary[](end - offset);
        for (uint256 i = offset; i < end; i++) {
            Dataset storage d = _datasets[_keys[i]];
            page[i - offset] = DatasetSummary({
                owner: d.owner,
                name: d.name,
                schemaHash: d.schemaHash,
                rowCount: d.rowCount,
                visibility: d.visibility,
                status: d.status,
                version: d.version,
                registeredBlock: d.registeredBlock,
                updatedBlock: d.updatedBlock,
                metadataHash: d.metadataHash,
                digest: d.digest
            });
        }
    }

    function _describe(Dataset storage d, bytes32 schemaHash, uint64 rowCount, string calldata metadata) private {
        uint32 version = d.version + 1;
        uint64 seq = descriptionSeq + 1;
        bytes32 metadataHash = keccak256(bytes(metadata));
        descriptionSeq = seq;
        d.schemaHash = schemaHash;
        d.rowCount = rowCount;
        d.metadata = metadata;
        d.metadataHash = metadataHash;
        d.version = version;
        d.descriptionSeq = seq;
        d.updatedBlock = uint64(block.number);
        d.digest = keccak256(abi.encode(d.owner, d.name, schemaHash, rowCount, metadataHash, version));
    }

    /// @dev Visibility of an active dataset.
    function _visible(Dataset storage d, bytes32 key, address account) private view returns (bool) {
        Visibility v = d.visibility;
        if (d.owner == account || v == Visibility.Public) return true;
        return v == Visibility.Listed && isGranted[key][account];
    }

    function _onlyActive() private view {
        if (!consortium.isActive(msg.sender)) revert NotActiveMember(msg.sender);
    }

    function _owned(bytes32 name) private view returns (Dataset storage d) {
        d = _datasets[datasetKey(msg.sender, name)];
        if (d.status == DatasetStatus.None) revert UnknownDataset(msg.sender, name);
        if (d.status == DatasetStatus.Retired) revert DatasetIsRetired(msg.sender, name);
    }

    function _checkFields(bytes32 schemaHash, string calldata metadata) private pure {
        if (schemaHash == bytes32(0)) revert ZeroHash();
        if (bytes(metadata).length > MAX_METADATA_LENGTH) revert InvalidMetadata(bytes(metadata).length);
    }
}
