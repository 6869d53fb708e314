// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.11;

import {Test} from "./utils/ForgeStd.sol";
import {Consortium} from "../src/Consortium.sol";
import {CertificateRegistry} from "../src/CertificateRegistry.sol";
import {DataRegistry} from "../src/DataRegistry.sol";
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
    event CertificateRequestRejected(uint256 indexed certificateId, address indexed by, string reason);
    event CertificateRevoked(uint256 indexed certificateId, address indexed by, uint8 reasonCode, string reason);
}

abstract contract DataEvents {
    event DatasetRegistered(
        bytes32 indexed datasetId,
        address indexed owner,
        bytes32 schemaHash,
        uint64 rowCount,
        DataRegistry.Visibility visibility,
        string metadata
    );
    event DatasetUpdated(
        bytes32 indexed datasetId,
        address indexed owner,
        bytes32 schemaHash,
        uint64 rowCount,
        DataRegistry.Visibility visibility,
        string metadata
    );
    event DatasetRetired(bytes32 indexed datasetId, address indexed owner);
    event DatasetAccessGranted(bytes32 indexed datasetId, address indexed member);
    event DatasetAccessRevoked(bytes32 indexed datasetId, address indexed member);
}

abstract contract JobEvents {
    event JobProposed(
        uint256 indexed jobId,
        address indexed proposer,
        string kind,
        address[] participants,
        bytes32[] datasetIds,
        string params,
        uint64 deadlineBlock
    );
    event JobApprovalGiven(uint256 indexed jobId, address indexed participant, uint32 approvals, uint32 required);
    event JobApproved(uint256 indexed jobId, string kind, address[] participants, bytes32[] datasetIds, string params);
    event JobRejected(uint256 indexed jobId, address indexed participant, string reason);
    event JobCancelled(uint256 indexed jobId, address indexed proposer);
    event JobExpired(uint256 indexed jobId, address indexed by);
    event JobStarted(uint256 indexed jobId, address indexed participant);
    event JobParticipantCompleted(
        uint256 indexed jobId, address indexed participant, bytes32 resultHash, string summary
    );
    event JobCompleted(uint256 indexed jobId);
    event JobFailed(uint256 indexed jobId, address indexed participant, string reason);
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

    function _suspend(address account) internal returns (uint256) {
        return _pass(Consortium.ProposalKind.SuspendMember, account, 0);
    }

    function _registerDataset(address owner, bytes32 id, DataRegistry.Visibility visibility) internal {
        vm.prank(owner);
        data.register(id, keccak256(abi.encode(id, "schema")), 1000, '{"columns":["id","x"]}', visibility);
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

    function _ids(bytes32 a) internal pure returns (bytes32[] memory ids) {
        ids = new bytes32[](1);
        ids[0] = a;
    }

    function _proposeJob(address proposer, address[] memory participants, bytes32[] memory datasetIds)
        internal
        returns (uint256)
    {
        vm.prank(proposer);
        return jobs.propose("psi", participants, datasetIds, '{"k":1}', uint64(block.number) + DEADLINE_DELTA);
    }

    /// @dev A job of alice and bob without datasets, proposed by alice.
    function _proposeJob() internal returns (uint256) {
        return _proposeJob(alice, _pair(alice, bob), new bytes32[](0));
    }

    function _approveAll(uint256 jobId) internal {
        address[] memory ps = jobs.getJob(jobId).participants;
        for (uint256 i = 0; i < ps.length; i++) {
            vm.prank(ps[i]);
            jobs.approve(jobId);
        }
    }
}
