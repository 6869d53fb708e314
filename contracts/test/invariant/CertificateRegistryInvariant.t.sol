// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.11;

import {Base} from "../Base.t.sol";
import {CertificateRegistry} from "../../src/CertificateRegistry.sol";
import {CertificateHandler} from "./handlers/CertificateHandler.sol";

contract CertificateRegistryInvariantTest is Base {
    CertificateHandler internal handler;

    function setUp() public override {
        super.setUp();
        address ca2 = makeAddr("ca2");
        _appointCa(ca2);
        address[] memory members = new address[](4);
        members[0] = alice;
        members[1] = bob;
        members[2] = carol;
        members[3] = outsider;
        address[] memory authorities = new address[](3);
        authorities[0] = ca;
        authorities[1] = ca2;
        authorities[2] = admin3; // not an authority
        handler = new CertificateHandler(consortium, certs, admin1, admin2, members, authorities);

        bytes4[] memory selectors = new bytes4[](6);
        selectors[0] = CertificateHandler.request.selector;
        selectors[1] = CertificateHandler.issue.selector;
        selectors[2] = CertificateHandler.reject.selector;
        selectors[3] = CertificateHandler.revoke.selector;
        selectors[4] = CertificateHandler.toggleMember.selector;
        selectors[5] = CertificateHandler.roll.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    function invariant_revokedCertificateNeverReadsValid() public view {
        uint256 n = handler.revokedCount();
        for (uint256 i = 0; i < n; i++) {
            uint256 id = handler.revokedIds(i);
            assertEq(uint256(certs.status(id)), uint256(CertificateRegistry.CertificateStatus.Revoked));
            bytes32 hash = certs.getCertificate(id).certificateHash;
            assertFalse(certs.isValid(hash));
            assertEq(certs.certificateIdByHash(hash), id);
        }
    }

    function invariant_validIffIssued() public view {
        uint256 n = certs.certificateCount();
        for (uint256 id = 1; id <= n; id++) {
            CertificateRegistry.Certificate memory c = certs.getCertificate(id);
            if (c.status == CertificateRegistry.CertificateStatus.Issued) {
                assertTrue(certs.isValid(c.certificateHash));
                assertEq(certs.certificateIdByHash(c.certificateHash), id);
            } else if (c.certificateHash != bytes32(0)) {
                assertFalse(certs.isValid(c.certificateHash));
            }
        }
        assertFalse(certs.isValid(bytes32(0)));
    }

    function invariant_onlyActiveMembersRequest() public view {
        assertEq(handler.ghostInactiveRequest(), 0);
    }
}
