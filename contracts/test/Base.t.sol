// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.11;

import {Test} from "./utils/ForgeStd.sol";
import {Consortium} from "../src/Consortium.sol";
import {CertificateRegistry} from "../src/CertificateRegistry.sol";
import {DataRegistry, DatasetRef} from "../src/DataRegistry.sol";
import {JobRegistry} from "../src/JobRegistry.sol";

/// @dev Solidity 0.8.11 cannot emit another contract's events, so the tests re-declare them here.
abstract contract ConsortiumEvents {
    event MemberApplied(address indexed member, string name, string endpoint, bytes publicKey, uint32 keyVersion);
    event MemberStatusChanged(
        address indexed member, Consortium.MemberStatus from, Consortium.MemberStatus to, uint256 indexed proposalId
    );
    event MemberEndpointUpdated(address indexed member, string endpoint);
    event MemberKeyRotated(address indexed member, bytes publicKey, uint32 keyVersion);
    event AdminAdded(address indexed admin, uint256 indexed proposalId);
    event AdminRemoved(address indexed admin, uint256 indexed proposalId);
    event ThresholdChanged(uint256 from, uint256 to, uint256 indexed proposalId);
    event CertificateAuthorityAppointed(address indexed authority, uint256 indexed proposalId);
    event CertificateAuthorityDismissed(address indexed authority, uint256 indexed proposalId);
    event ProposalCreated(
        uint256 indexed proposalId,
        Consortium.ProposalKind kind,
        address indexed target,
        uint256 value,
        address indexed proposer
    );
    event ProposalVoted(uint256 indexed proposalId, address indexed admin, uint32 approvals, uint256 threshold);
    event ProposalExecuted(
        uint256 indexed proposalId, Consortium.ProposalKind kind, address indexed target, uint256 value
    );
    event ProposalCancelled(uint256 indexed proposalId, address indexed by);
    event JobWindowChanged(uint8 indexed which, uint64 from, uint64 to, uint256 indexed proposalId);
    event OperatorNominated(address indexed member, address indexed operator);
    event OperatorChanged(address indexed member, address indexed previous, address indexed operator);
    event AuthorityTermStarted(address indexed authority, uint32 term);
}

abstract contract CertificateEvents {
    event CertificateRequested(uint256 indexed certificateId, address indexed member, bytes32 csrHash);
    event AuthorityRootSet(address indexed authority, bytes32 certificateHash, bytes publicKey);
    event CertificateIssued(
        uint256 indexed certificateId,
        address indexed member,
        address indexed issuer,
        bytes32 certificateHash,
        uint256 serial,
        uint64 notBefore,
        uint64 notAfter,
        string uri
    );
    event CertificateRequestWithdrawn(uint256 indexed certificateId, address indexed member);
    event CertificateRequestRejected(uint256 indexed certificateId, address indexed by, string reason);
    event CertificateRevoked(uint256 indexed certificateId, address indexed by, uint8 reasonCode, string reason);
}

abstract contract DataEvents {
    event DatasetRegistered(
        address indexed owner,
        bytes32 indexed name,
        bytes32 schemaHash,
        uint64 rowCount,
        DataRegistry.Visibility visibility,
        string metadata,
        bytes32 digest
    );
    event DatasetUpdated(
        address indexed owner,
        bytes32 indexed name,
        bytes32 schemaHash,
        uint64 rowCount,
        string metadata,
        uint32 version,
        bytes32 digest
    );
    event DatasetVisibilityChanged(address indexed owner, bytes32 indexed name, DataRegistry.Visibility visibility);
    event DatasetRetired(address indexed owner, bytes32 indexed name);
    event DatasetAccessGranted(address indexed owner, bytes32 indexed name, address indexed member);
    event DatasetAccessRevoked(address indexed owner, bytes32 indexed name, address indexed member);
}

abstract contract JobEvents {
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
    event JobApprovalGiven(uint256 indexed jobId, address indexed participant, uint32 approvals, uint32 required);
    event JobApproved(
        uint256 indexed jobId,
        string kind,
        address[] participants,
        DatasetRef[] datasets,
        bytes32 paramsHash,
        uint64 runDeadlineBlock
    );
    event JobRejected(uint256 indexed jobId, address indexed participant, string reason);
    event JobCancelled(uint256 indexed jobId, address indexed proposer);
    event JobExpired(uint256 indexed jobId, address indexed by);
    event JobStarted(uint256 indexed jobId, address indexed participant);
    event JobParticipantCompleted(
        uint256 indexed jobId, address indexed participant, bytes32 resultCommitment, string summary
    );
    event JobCompleted(uint256 indexed jobId);
    event JobFailed(
        uint256 indexed jobId,
        address indexed participant,
        JobRegistry.FailureCategory category,
        bytes32 detailCommitment
    );
    event JobTimedOut(uint256 indexed jobId, address indexed by);
}

/// @notice Deploys the four contracts (3 admins, threshold 2), onboards three members (alice, bob,
/// carol) and appoints one certificate authority (`ca`), with helpers shared by every test file.
abstract contract Base is Test {
    Consortium internal consortium;
    CertificateRegistry internal certs;
    DataRegistry internal data;
    JobRegistry internal jobs;

    address internal admin1 = makeAddr("admin1");
    address internal admin2 = makeAddr("admin2");
    address internal admin3 = makeAddr("admin3");
    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");
    address internal carol = makeAddr("carol");
    address internal ca = makeAddr("ca");
    address internal outsider = makeAddr("outsider");

    uint256 internal constant THRESHOLD = 2;
    uint64 internal constant DEADLINE_DELTA = 100;
    uint64 internal constant RUN_BLOCKS = 500;

    function setUp() public virtual {
        vm.roll(1000);
        address[] memory initial = new address[](3);
        initial[0] = admin1;
        initial[1] = admin2;
        initial[2] = admin3;
        consortium = new Consortium(initial, THRESHOLD);
        certs = new CertificateRegistry(consortium);
        data = new DataRegistry(consortium);
        jobs = new JobRegistry(consortium, data);

        _onboard(alice, "Bank A");
        _onboard(bob, "Bank B");
        _onboard(carol, "Insurer C");
        _appointCa(ca);
    }

    // ---------------------------------------------------------------- helpers

    /// @dev A deterministic 64-byte public key derived from `seed`.
    function _key(uint256 seed) internal pure returns (bytes memory key) {
        key = abi.encodePacked(keccak256(abi.encode(seed, "x")), keccak256(abi.encode(seed, "y")));
    }

    function _bytes(uint256 length) internal pure returns (bytes memory b) {
        b = new bytes(length);
        for (uint256 i = 0; i < length; i++) {
            b[i] = "a";
        }
    }

    function _str(uint256 length) internal pure returns (string memory) {
        return string(_bytes(length));
    }

    function _endpoint(string memory name) internal pure returns (string memory) {
        return string(abi.encodePacked("https://gw.", name, ".example:7443"));
    }

    function _apply(address account, string memory name) internal {
        vm.prank(account);
        consortium.applyForMembership(name, _endpoint(name), _key(uint256(uint160(account))));
    }

    /// @dev admin1 proposes, admin2 votes: executes with threshold 2.
    function _pass(Consortium.ProposalKind kind, address target, uint256 value) internal returns (uint256 id) {
        vm.prank(admin1);
        id = consortium.propose(kind, target, value);
        if (consortium.getProposal(id).status == Consortium.ProposalStatus.Open) {
            vm.prank(admin2);
            consortium.vote(id);
        }
    }

    /// @dev Applies for `account` and gets two admin votes for its current key version.
    function _onboard(address account, string memory name) internal returns (uint256 proposalId) {
        _apply(account, name);
        proposalId = _approve(account);
    }

    /// @dev Passes an ApproveMember proposal for `account`'s current key version.
    function _approve(address account) internal returns (uint256) {
        return _pass(Consortium.ProposalKind.ApproveMember, account, _keyVersion(account));
    }

    function _keyVersion(address account) internal view returns (uint256) {
        return consortium.getMember(account).keyVersion;
    }

    function _appointCa(address account) internal returns (uint256) {
        return _pass(Consortium.ProposalKind.AppointCertificateAuthority, account, 0);
    }

    /// @dev Makes `operator` `member`'s operator key: the member nominates it, the account accepts.
    function _authorise(address member, address operator) internal {
        vm.prank(member);
        consortium.setOperator(operator);
        vm.prank(operator);
        consortium.acceptOperator(member);
    }

    function _instance(address account) internal view returns (uint256) {
        return consortium.getMember(account).instance;
    }

    /// @dev Passes a Suspend/Reinstate/RemoveMember proposal for `account`'s current membership instance.
    function _sanction(Consortium.ProposalKind kind, address account) internal returns (uint256) {
        return _pass(kind, account, _instance(account));
    }

    function _suspend(address account) internal returns (uint256) {
        return _sanction(Consortium.ProposalKind.SuspendMember, account);
    }

    function _reinstate(address account) internal returns (uint256) {
        return _sanction(Consortium.ProposalKind.ReinstateMember, account);
    }

    function _remove(address account) internal returns (uint256) {
        return _sanction(Consortium.ProposalKind.RemoveMember, account);
    }

    function _registerDataset(address owner, bytes32 name, DataRegistry.Visibility visibility) internal {
        vm.prank(owner);
        data.register(name, keccak256(abi.encode(name, "schema")), 1000, '{"columns":["id","x"]}', visibility);
    }

    function _ref(address owner, bytes32 name) internal pure returns (DatasetRef memory) {
        return DatasetRef(owner, name);
    }

    function _pair(address a, address b) internal pure returns (address[] memory ps) {
        ps = new address[](2);
        ps[0] = a;
        ps[1] = b;
    }

    function _trio(address a, address b, address c) internal pure returns (address[] memory ps) {
        ps = new address[](3);
        ps[0] = a;
        ps[1] = b;
        ps[2] = c;
    }

    function _refs(address owner, bytes32 name) internal pure returns (DatasetRef[] memory refs) {
        refs = new DatasetRef[](1);
        refs[0] = DatasetRef(owner, name);
    }

    function _refs(address ownerA, bytes32 nameA, address ownerB, bytes32 nameB)
        internal
        pure
        returns (DatasetRef[] memory refs)
    {
        refs = new DatasetRef[](2);
        refs[0] = DatasetRef(ownerA, nameA);
        refs[1] = DatasetRef(ownerB, nameB);
    }

    function _none() internal pure returns (DatasetRef[] memory) {
        return new DatasetRef[](0);
    }

    function _proposeJob(address proposer, address[] memory participants, DatasetRef[] memory datasets)
        internal
        returns (uint256)
    {
        vm.prank(proposer);
        return jobs.propose("psi", participants, datasets, '{"k":1}', uint64(block.number) + DEADLINE_DELTA, RUN_BLOCKS);
    }

    /// @dev A job of alice and bob without datasets, proposed by alice.
    function _proposeJob() internal returns (uint256) {
        return _proposeJob(alice, _pair(alice, bob), _none());
    }

    function _approveAll(uint256 jobId) internal {
        address[] memory ps = jobs.getJob(jobId).participants;
        for (uint256 i = 0; i < ps.length; i++) {
            vm.prank(ps[i]);
            jobs.approve(jobId);
        }
    }
}
