// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.11;

import {Test} from "../../utils/ForgeStd.sol";
import {Consortium} from "../../../src/Consortium.sol";
import {CertificateRegistry} from "../../../src/CertificateRegistry.sol";

/// @notice Requests, issues, rejects and revokes certificates from fixed members, authorities and one
/// outsider; records every certificate it revoked.
contract CertificateHandler is Test {
    Consortium public immutable consortium;
    CertificateRegistry public immutable certs;
    address public immutable admin1;
    address public immutable admin2;
    address[] public members; // last one is an outsider
    address[] public authorities; // last one is not an authority

    uint256[] public revokedIds;
    uint256 public ghostInactiveRequest;
    uint256 public ghostIssued;

    constructor(
        Consortium consortium_,
        CertificateRegistry certs_,
        address admin1_,
        address admin2_,
        address[] memory members_,
        address[] memory authorities_
    ) {
        consortium = consortium_;
        certs = certs_;
        admin1 = admin1_;
        admin2 = admin2_;
        members = members_;
        authorities = authorities_;
    }

    function revokedCount() external view returns (uint256) {
        return revokedIds.length;
    }

    function _cert(uint256 seed) internal view returns (uint256 id, bool ok) {
        uint256 n = certs.certificateCount();
        if (n == 0) return (0, false);
        return (seed % n + 1, true);
    }

    function request(uint256 memberSeed, uint256 csrSeed) external {
        address m = members[memberSeed % members.length];
        bool wasActive = consortium.isActive(m);
        vm.prank(m);
        try certs.request(bytes32(_bound(csrSeed, 0, 50))) {
            if (!wasActive) ghostInactiveRequest++;
        } catch {}
    }

    /// @dev Hashes and serials from small ranges so collisions (HashInUse, SerialInUse) happen.
    function issue(uint256 idSeed, uint256 caSeed, uint256 hashSeed, uint256 serialSeed) external {
        (uint256 id, bool ok) = _cert(idSeed);
        if (!ok) return;
        address ca = authorities[caSeed % authorities.length];
        vm.prank(ca);
        try certs.issue(id, bytes32(_bound(hashSeed, 0, 64)), _bound(serialSeed, 0, 32), 1, 2, "uri") {
            ghostIssued++;
        } catch {}
    }

    function reject(uint256 idSeed, uint256 caSeed) external {
        (uint256 id, bool ok) = _cert(idSeed);
        if (!ok) return;
        if (caSeed % 3 != 0) return;
        vm.prank(authorities[caSeed % authorities.length]);
        try certs.reject(id, "no") {} catch {}
    }

    function revoke(uint256 idSeed, uint256 bySeed, uint8 code) external {
        (uint256 id, bool ok) = _cert(idSeed);
        if (!ok) return;
        // the holder, an authority or (sometimes) a stranger
        address by = bySeed % 3 == 0
            ? certs.getCertificate(id).member
            : (bySeed % 3 == 1 ? authorities[bySeed % authorities.length] : members[bySeed % members.length]);
        vm.prank(by);
        try certs.revoke(id, code, "revoked") {
            revokedIds.push(id);
        } catch {}
    }

    /// @dev Admins suspend or reinstate a member (issuing then fails with NotActiveMember).
    function toggleMember(uint256 seed) external {
        address m = members[seed % (members.length - 1)];
        Consortium.MemberStatus s = consortium.memberStatus(m);
        Consortium.ProposalKind kind;
        if (s == Consortium.MemberStatus.Active) {
            if (seed % 4 != 0) return;
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
    }

    function roll(uint256 blocks) external {
        vm.roll(block.number + _bound(blocks, 1, 5));
    }
}
