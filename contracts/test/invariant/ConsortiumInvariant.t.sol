// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.11;

import {Base} from "../Base.t.sol";
import {Consortium} from "../../src/Consortium.sol";
import {ConsortiumHandler} from "./handlers/ConsortiumHandler.sol";

contract ConsortiumInvariantTest is Base {
    ConsortiumHandler internal handler;

    function setUp() public override {
        super.setUp();
        address[] memory actors = new address[](6);
        actors[0] = admin1;
        actors[1] = admin2;
        actors[2] = admin3;
        actors[3] = makeAddr("candidate1");
        actors[4] = makeAddr("candidate2");
        actors[5] = alice;
        handler = new ConsortiumHandler(consortium, actors);

        bytes4[] memory selectors = new bytes4[](4);
        selectors[0] = ConsortiumHandler.propose.selector;
        selectors[1] = ConsortiumHandler.vote.selector;
        selectors[2] = ConsortiumHandler.cancel.selector;
        selectors[3] = ConsortiumHandler.roll.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    function invariant_adminCountNeverBelowThreshold() public view {
        assertGe(consortium.threshold(), 1);
        assertGe(consortium.adminCount(), consortium.threshold());
    }

    function invariant_adminListMatchesFlags() public view {
        address[] memory list = consortium.admins();
        assertEq(list.length, consortium.adminCount());
        for (uint256 i = 0; i < list.length; i++) {
            assertTrue(consortium.isAdmin(list[i]));
        }
        uint256 flagged;
        for (uint256 i = 0; i < handler.actorCount(); i++) {
            if (consortium.isAdmin(handler.actors(i))) flagged++;
        }
        assertEq(flagged, list.length, "every admin is one of the actors and listed once");
    }

    function invariant_onlyAdminsActAndStaleVotesNeverCount() public view {
        assertEq(handler.ghostNonAdminSuccess(), 0);
        assertEq(handler.ghostStaleVoteSuccess(), 0);
    }

    function invariant_executedProposalsMetThreshold() public view {
        uint256 n = consortium.proposalCount();
        for (uint256 id = 1; id <= n; id++) {
            Consortium.Proposal memory p = consortium.getProposal(id);
            if (p.status == Consortium.ProposalStatus.Executed) assertGe(p.approvals, 1);
            assertLe(p.epoch, consortium.adminEpoch());
        }
    }
}
