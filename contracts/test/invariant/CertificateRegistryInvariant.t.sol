// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.11;

import {Base} from "../Base.t.sol";
import {CertificateRegistry} from "../../src/CertificateRegistry.sol";
import {CertificateHandler} from "./handlers/CertificateHandler.sol";

/// @notice The certificate lifecycle under random requests, issues, rejections, withdrawals, revocations,
/// root replacements, authority appointments and dismissals, member suspensions, reinstatements, removals,
/// re-admissions and key rotations. One invariant function checks every property after every call (forge
/// runs a separate campaign per invariant function; one keeps the suite fast).
contract CertificateRegistryInvariantTest is Base {
    string internal constant REACH_DIR = "invariant-reach";
    string internal constant REACH_LOG = "invariant-reach/CertificateRegistryInvariantTest.log";

    CertificateHandler internal handler;

    function setUp() public override {
        super.setUp();
        address ca2 = makeAddr("ca2");
        _appointCa(ca2);
        address[] memory members = new address[](3);
        members[0] = alice;
        members[1] = bob;
        members[2] = carol;
        address[] memory authorities = new address[](3);
        authorities[0] = ca;
        authorities[1] = ca2;
        authorities[2] = makeAddr("ca3"); // appointed only by the handler
        handler = new CertificateHandler(consortium, certs, admin1, admin2, outsider, members, authorities);

        bytes4[] memory selectors = new bytes4[](11);
        selectors[0] = CertificateHandler.request.selector;
        selectors[1] = CertificateHandler.issue.selector;
        selectors[2] = CertificateHandler.reject.selector;
        selectors[3] = CertificateHandler.withdraw.selector;
        selectors[4] = CertificateHandler.revoke.selector;
        selectors[5] = CertificateHandler.setRoot.selector;
        selectors[6] = CertificateHandler.governAuthority.selector;
        selectors[7] = CertificateHandler.sanction.selector;
        selectors[8] = CertificateHandler.rotateKey.selector;
        selectors[9] = CertificateHandler.roll.selector;
        selectors[10] = CertificateHandler.issue.selector; // twice as likely: most deep states start there
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
        vm.createDir(REACH_DIR, true);
    }

    function invariant_certificateRegistry() public view {
        (
            uint256 transitionViolations,
            uint256 validityMismatch,
            uint256 modelMismatch,
            uint256 modelDrift,
            uint256 inactiveRequest,
            uint256 unknownRequester,
            uint256 observedCount
        ) = handler.ghosts();
        _checkOpenRequests(unknownRequester);
        _checkValidity(validityMismatch);
        _checkTransitions(transitionViolations, observedCount);
        _checkModel(modelMismatch, modelDrift, inactiveRequest);
    }

    /// @dev openRequests[m] is the number of m's Requested certificates (counted by the handler from the
    /// chain's statuses after the last call, and by the model) and never exceeds MAX_OPEN_REQUESTS.
    function _checkOpenRequests(uint256 unknownRequester) internal view {
        (address[] memory accounts, uint256[] memory requested, uint256[] memory modelOpen) = handler.openCounts();
        uint256 max = certs.MAX_OPEN_REQUESTS();
        for (uint256 i = 0; i < accounts.length; i++) {
            _eq(certs.openRequests(accounts[i]), requested[i], "openRequests = Requested count");
            _eq(modelOpen[i], requested[i], "model count");
            _le(requested[i], max, "at most MAX_OPEN_REQUESTS");
        }
        _eq(accounts[accounts.length - 1], outsider);
        _eq(requested[accounts.length - 1], 0, "an outsider never has a request");
        _eq(unknownRequester, 0, "every request belongs to a known account");
    }

    /// @dev isValid(hash) is true exactly when the handler's model says the certificate is issued, unrevoked,
    /// its issuer still an authority in the term it issued in with the root it had at issuance, and its member
    /// active with the key version it had at the request (and still had at issuance); `validity` names the model's first failing reason. The handler compares
    /// every certificate after every call; here: no mismatch, and a direct check of the newest certificate.
    function _checkValidity(uint256 validityMismatch) internal view {
        _eq(validityMismatch, 0, "validity differs from the model");
        uint256 id = handler.lastIssued();
        if (id == 0) return;
        CertificateHandler.MCert memory m = handler.modelCert(id);
        CertificateRegistry.Validity expected = handler.modelValidity(id);
        _eq(uint256(certs.validity(m.hash)), uint256(expected), "validity reason");
        _eq(certs.isValid(m.hash), expected == CertificateRegistry.Validity.Valid, "isValid");
        CertificateRegistry.Certificate memory c = certs.getCertificate(id);
        _eq(c.certificateHash, m.hash);
        _eq(certs.certificateIdByHash(m.hash), id);
        _eq(c.keyVersion, m.keyAtRequest, "key version at the request");
        _eq(c.issuerTerm, m.termAtIssue, "issuer's term at issuance");
        _eq(c.rootHash, m.rootAtIssue, "root at issuance");
        _eq(c.issuer, m.issuer);
    }

    /// @dev Every status change the handler observed follows the table None->Requested,
    /// Requested->Issued|Rejected|Withdrawn, Issued->Revoked; every certificate was observed.
    function _checkTransitions(uint256 violations, uint256 observedCount) internal view {
        _eq(violations, 0, "illegal status transition");
        _eq(observedCount, certs.certificateCount(), "every certificate observed");
    }

    /// @dev Every action succeeded or failed exactly as the model predicted, and the model's view of the
    /// consortium (member status, key version, authorities, roots) was the consortium's after every change.
    function _checkModel(uint256 modelMismatch, uint256 modelDrift, uint256 inactiveRequest) internal pure {
        _eq(modelMismatch, 0, "unexpected outcome");
        _eq(modelDrift, 0, "model differs from the consortium");
        _eq(inactiveRequest, 0, "only active members request");
    }

    /// @dev assertEq / assertLe that only reach the (costly) assertion cheatcode when they fail: the
    /// invariant runs after each of the campaign's 2048 calls.
    function _eq(uint256 a, uint256 b, string memory what) internal pure {
        if (a != b) assertEq(a, b, what);
    }

    function _eq(uint256 a, uint256 b) internal pure {
        if (a != b) assertEq(a, b);
    }

    function _eq(address a, address b) internal pure {
        if (a != b) assertEq(a, b);
    }

    function _eq(bytes32 a, bytes32 b) internal pure {
        if (a != b) assertEq(a, b);
    }

    function _eq(bytes32 a, bytes32 b, string memory what) internal pure {
        if (a != b) assertEq(a, b, what);
    }

    function _eq(bool a, bool b, string memory what) internal pure {
        if (a != b) assertEq(a, b, what);
    }

    function _le(uint256 a, uint256 b, string memory what) internal pure {
        if (a > b) assertLe(a, b, what);
    }

    /// @dev One line per run: which deep states the run reached (see check-reach.js).
    function afterInvariant() public {
        string memory line = string(
            abi.encodePacked(
                _kv("issued", handler.reachIssued()),
                _kv(" revoked", handler.reachRevoked()),
                _kv(" withdrawn", handler.reachWithdrawn()),
                _kv(" rejected", handler.reachRejected()),
                _kv(" invalidByDismissal", handler.reachInvalidByDismissal()),
                _kv(" invalidByRootChange", handler.reachInvalidByRootChange()),
                _kv(" invalidByMembership", handler.reachInvalidByMembership()),
                _kv(" invalidByKeyRotation", handler.reachInvalidByKeyRotation()),
                _kv(" requestLimitHit", handler.reachRequestLimitHit())
            )
        );
        line = string(
            abi.encodePacked(
                line,
                _kv(" staleRequestRefused", handler.reachStaleRequestRefused()),
                _kv(" invalidAfterReappointment", handler.reachInvalidAfterReappointment()),
                _kv(" issuedInLaterTerm", handler.reachIssuedInLaterTerm())
            )
        );
        vm.writeLine(REACH_LOG, line);
    }

    function _kv(string memory key, uint256 count) internal pure returns (bytes memory) {
        return abi.encodePacked(key, count > 0 ? "=1" : "=0");
    }
}
