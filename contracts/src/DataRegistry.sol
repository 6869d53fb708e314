// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.11;

import {Consortium, NotActiveMember, ZeroAddress} from "./Consortium.sol";

/// @title DataRegistry
/// @notice Datasets known to the consortium: never the data, only what a partner needs to plan a joint
/// job (schema hash, row count, metadata JSON) and who may use it in one.
/// Private datasets cannot be used in jobs: a job needs every dataset visible to every participant, and a
/// job has at least two participants.
/// @dev Visibility: Public datasets are visible to everyone; Listed ones to the owner and the members it
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
        bytes32 id;
        address owner;
        bytes32 schemaHash;
        uint64 rowCount;
        string metadata;
        Visibility visibility;
        DatasetStatus status;
        uint64 registeredBlock;
        uint64 updatedBlock;
    }

    /// @notice Maximum length of a dataset's metadata JSON, in bytes.
    uint256 public constant MAX_METADATA_LENGTH = 4096;
    /// @notice Maximum number of entries a page view returns.
    uint256 public constant MAX_PAGE = 100;

    error ZeroDatasetId();
    error ZeroHash();
    error DatasetExists(bytes32 datasetId);
    error UnknownDataset(bytes32 datasetId);
    error DatasetIsRetired(bytes32 datasetId);
    error NotDatasetOwner(bytes32 datasetId, address account);
    error InvalidMetadata(uint256 length);
    error UnknownMember(address account);
    error AlreadyGranted(bytes32 datasetId, address member);
    error NotGranted(bytes32 datasetId, address member);

    /// @notice A member registered a dataset.
    event DatasetRegistered(
        bytes32 indexed datasetId,
        address indexed owner,
        bytes32 schemaHash,
        uint64 rowCount,
        Visibility visibility,
        string metadata
    );
    /// @notice The owner changed a dataset's description or visibility.
    event DatasetUpdated(
        bytes32 indexed datasetId,
        address indexed owner,
        bytes32 schemaHash,
        uint64 rowCount,
        Visibility visibility,
        string metadata
    );
    /// @notice The owner retired a dataset; it can no longer be used in new jobs.
    event DatasetRetired(bytes32 indexed datasetId, address indexed owner);
    /// @notice The owner let `member` see a Listed dataset.
    event DatasetAccessGranted(bytes32 indexed datasetId, address indexed member);
    /// @notice The owner withdrew `member`'s access.
    event DatasetAccessRevoked(bytes32 indexed datasetId, address indexed member);

    /// @notice The consortium whose members own datasets here.
    Consortium public immutable consortium;
    mapping(bytes32 => Dataset) private _datasets;
    bytes32[] private _datasetIds;
    /// @notice True when the owner of `datasetId` granted `member` access (it only matters while Listed).
    mapping(bytes32 => mapping(address => bool)) public isGranted;

    /// @param consortium_ The consortium whose members own datasets here.
    constructor(Consortium consortium_) {
        consortium = consortium_;
    }

    /// @notice Registers a dataset owned by the caller, who must be an active member.
    /// @param datasetId Caller-chosen non-zero id, unique in the registry.
    /// @param schemaHash Hash of the dataset's schema (column names and types), non-zero.
    /// @param rowCount Number of rows.
    /// @param metadata JSON describing the dataset (at most 4096 bytes; validated by clients).
    /// @param visibility Who may use it in jobs (Private: no job can use it).
    function register(
        bytes32 datasetId,
        bytes32 schemaHash,
        uint64 rowCount,
        string calldata metadata,
        Visibility visibility
    ) external {
        _onlyActive();
        if (datasetId == bytes32(0)) revert ZeroDatasetId();
        if (_datasets[datasetId].status != DatasetStatus.None) revert DatasetExists(datasetId);
        _checkFields(schemaHash, metadata);
        Dataset storage d = _datasets[datasetId];
        d.id = datasetId;
        d.owner = msg.sender;
        d.schemaHash = schemaHash;
        d.rowCount = rowCount;
        d.metadata = metadata;
        d.visibility = visibility;
        d.status = DatasetStatus.Active;
        d.registeredBlock = uint64(block.number);
        d.updatedBlock = uint64(block.number);
        _datasetIds.push(datasetId);
        emit DatasetRegistered(datasetId, msg.sender, schemaHash, rowCount, visibility, metadata);
    }

    /// @notice Replaces the description of an active dataset the caller owns; the caller must be an active
    /// member.
    /// @param datasetId The dataset.
    /// @param schemaHash New schema hash, non-zero.
    /// @param rowCount New row count.
    /// @param metadata New metadata JSON (at most 4096 bytes).
    /// @param visibility New visibility.
    function update(
        bytes32 datasetId,
        bytes32 schemaHash,
        uint64 rowCount,
        string calldata metadata,
        Visibility visibility
    ) external {
        Dataset storage d = _owned(datasetId);
        _onlyActive();
        _checkFields(schemaHash, metadata);
        d.schemaHash = schemaHash;
        d.rowCount = rowCount;
        d.metadata = metadata;
        d.visibility = visibility;
        d.updatedBlock = uint64(block.number);
        emit DatasetUpdated(datasetId, msg.sender, schemaHash, rowCount, visibility, metadata);
    }

    /// @notice Retires an active dataset the caller owns. Final: a retired id cannot be reused. Allowed
    /// whatever the caller's membership status, since it only reduces access.
    /// @param datasetId The dataset.
    function retire(bytes32 datasetId) external {
        Dataset storage d = _owned(datasetId);
        d.status = DatasetStatus.Retired;
        d.updatedBlock = uint64(block.number);
        emit DatasetRetired(datasetId, msg.sender);
    }

    /// @notice Lets `member` use a Listed dataset the caller owns; the caller must be an active member.
    /// @param datasetId The dataset.
    /// @param member A member of the consortium (any status but unknown).
    function grant(bytes32 datasetId, address member) external {
        _owned(datasetId);
        _onlyActive();
        if (member == address(0)) revert ZeroAddress();
        if (consortium.memberStatus(member) == Consortium.MemberStatus.None) revert UnknownMember(member);
        if (isGranted[datasetId][member]) revert AlreadyGranted(datasetId, member);
        isGranted[datasetId][member] = true;
        emit DatasetAccessGranted(datasetId, member);
    }

    /// @notice Withdraws `member`'s access to an active dataset the caller owns. Allowed whatever the
    /// caller's membership status, since it only reduces access.
    /// @param datasetId The dataset.
    /// @param member The member whose grant is withdrawn.
    function revoke(bytes32 datasetId, address member) external {
        _owned(datasetId);
        if (!isGranted[datasetId][member]) revert NotGranted(datasetId, member);
        isGranted[datasetId][member] = false;
        emit DatasetAccessRevoked(datasetId, member);
    }

    /// @notice True when `account` may use the dataset in a job: it is active and public, or owned by
    /// `account`, or Listed and granted to `account`.
    function isVisibleTo(bytes32 datasetId, address account) public view returns (bool) {
        Dataset storage d = _datasets[datasetId];
        if (d.status != DatasetStatus.Active) return false;
        if (d.owner == account || d.visibility == Visibility.Public) return true;
        return d.visibility == Visibility.Listed && isGranted[datasetId][account];
    }

    /// @notice True when the dataset exists and is not retired.
    function isActive(bytes32 datasetId) external view returns (bool) {
        return _datasets[datasetId].status == DatasetStatus.Active;
    }

    /// @notice The owner of a dataset (zero when unknown).
    function ownerOf(bytes32 datasetId) external view returns (address) {
        return _datasets[datasetId].owner;
    }

    /// @notice The full record of a dataset; reverts when unknown.
    function getDataset(bytes32 datasetId) external view returns (Dataset memory) {
        Dataset storage d = _datasets[datasetId];
        if (d.status == DatasetStatus.None) revert UnknownDataset(datasetId);
        return d;
    }

    /// @notice Number of datasets ever registered (retired ones included).
    function datasetCount() external view returns (uint256) {
        return _datasetIds.length;
    }

    /// @notice Datasets in registration order, `limit` (at most 100) from `offset`.
    function datasetsPage(uint256 offset, uint256 limit) external view returns (Dataset[] memory page) {
        uint256 total = _datasetIds.length;
        if (offset >= total) return new Dataset[](0);
        if (limit > MAX_PAGE) limit = MAX_PAGE;
        uint256 end = offset + limit > total ? total : offset + limit;
        page = new Dataset[](end - offset);
        for (uint256 i = offset; i < end; i++) {
            page[i - offset] = _datasets[_datasetIds[i]];
        }
    }

    function _onlyActive() private view {
        if (!consortium.isActive(msg.sender)) revert NotActiveMember(msg.sender);
    }

    function _owned(bytes32 datasetId) private view returns (Dataset storage d) {
        d = _datasets[datasetId];
        if (d.status == DatasetStatus.None) revert UnknownDataset(datasetId);
        if (d.owner != msg.sender) revert NotDatasetOwner(datasetId, msg.sender);
        if (d.status == DatasetStatus.Retired) revert DatasetIsRetired(datasetId);
    }

    function _checkFields(bytes32 schemaHash, string calldata metadata) private pure {
        if (schemaHash == bytes32(0)) revert ZeroHash();
        if (bytes(metadata).length > MAX_METADATA_LENGTH) revert InvalidMetadata(bytes(metadata).length);
    }
}
