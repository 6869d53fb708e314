// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.11;

import {Base} from "../Base.t.sol";
import {Consortium} from "../../src/Consortium.sol";
import {ConsortiumHandler} from "./handlers/ConsortiumHandler.sol";

contract ConsortiumInvariantTest is Base {
    ConsortiumHandler internal handler;

    string internal constant REACH_DIR = "invariant-reach";
    string internal constant REACH_LOG = "invariant-reach/ConsortiumInvariantTest.log";

    function setUp() public override {
        super.setUp();
        address[] memory admins = new address[](5);
        admins[0] = admin1;
        admins[1] = admin2;
        admins[2] = admin3;
        admins[3] = makeAddr("admin4");
        admins[4] = makeAddr("admin5");
        address[] memory members = new address[](5);
        members[0] = alice;
        members[1] = bob;
        members[2] = carol;
        members[3] = makeAddr("dave");
        members[4] = makeAddr("erin");
        address[] memory cas = new address[](2);
        cas[0] = ca;
        cas[1] = makeAddr("ca2");
        address[] memory operators = new address[](3);
        operators[0] = makeAddr("op1");
        operators[1] = makeAddr("op2");
        operators[2] = makeAddr("op3");
        handler = new ConsortiumHandler(consortium, admins, members, cas, operators);

        bytes4[] memory selectors = new bytes4[](6);
        selectors[0] = ConsortiumHandler.applyOrWithdraw.selector;
        selectors[1] = ConsortiumHandler.rotateKey.selector;
        selectors[2] = ConsortiumHandler.propose.selector;
        selectors[3] = ConsortiumHandler.pass.selector;
        selectors[4] = ConsortiumHandler.vote.selector;
        selectors[5] = ConsortiumHandler.changeOperator.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
        vm.createDir(REACH_DIR, true);
    }

    /// @dev One campaign checks everything after every call (one campaign per invariant function would
    /// repeat the whole run for each). Per call, the proposals the call touched are checked: a proposal
    /// changes only when touched, and a threshold change starts a new epoch, which takes every open proposal
    /// out of the "open in the current epoch" check. afterInvariant checks every proposal and every actor
    /// once more at the end of each run.
    function invariant_consortium() public view {
        _checkThresholdRecoverable();
        _checkAdmins();
        uint256[] memory ids = handler.touched();
        for (uint256 i = 0; i < ids.length; i++) {
            _checkProposal(ids[i]);
        }
        _checkActiveMemberCount(handler.applicants());
        _checkOperators(handler.applicants(), handler.everOperators());
        _checkNoViolations();
    }

    /// @dev 1 <= threshold < admins: losing one admin key never locks governance (the single-admin
    /// development chain, threshold 1 of 1, is not deployed here).
    function _checkThresholdRecoverable() internal view {
        uint256 t = consortium.threshold();
        uint256 n = consortium.adminCount();
        assertGe(t, 1);
        assertLt(t, n, "threshold not below the admin count");
    }

    /// @dev The admin list, the isAdmin flags and the handler's epoch snapshot agree.
    function _checkAdmins() internal view {
        address[] memory list = consortium.admins();
        uint64 epoch = consortium.adminEpoch();
        assertEq(list.length, consortium.adminCount());
        for (uint256 i = 0; i < list.length; i++) {
            assertTrue(consortium.isAdmin(list[i]));
            assertTrue(handler.wasAdminInEpoch(epoch, list[i]), "admin set changed without a new epoch");
        }
        uint256 flagged;
        address[] memory everAdmins = handler.everAdmins();
        for (uint256 i = 0; i < everAdmins.length; i++) {
            if (consortium.isAdmin(everAdmins[i])) flagged++;
        }
        assertEq(flagged, list.length, "every admin is listed once");
    }

    /// @dev The real vote count: every counted approval is a distinct admin of the proposal's epoch whose
    /// vote the handler saw; an executed proposal had at least the threshold in force at execution
    /// (counted over hasVoted of the epoch's admins), an open one of the current epoch has fewer.
    function _checkProposal(uint256 id) internal view {
        Consortium.Proposal memory p = consortium.getProposal(id);
        uint64 epoch = consortium.adminEpoch();
        assertLe(p.epoch, epoch);
        address[] memory voters = handler.votersOf(id);
        assertEq(p.approvals, voters.length, "approvals differ from the votes seen");
        for (uint256 i = 0; i < voters.length; i++) {
            assertTrue(consortium.hasVoted(id, voters[i]));
            assertTrue(handler.wasAdminInEpoch(p.epoch, voters[i]), "vote of a non-admin of the epoch");
        }
        if (p.status == Consortium.ProposalStatus.Executed) {
            address[] memory everAdmins = handler.everAdmins();
            uint256 real;
            for (uint256 i = 0; i < everAdmins.length; i++) {
                if (handler.wasAdminInEpoch(p.epoch, everAdmins[i]) && consortium.hasVoted(id, everAdmins[i])) real++;
            }
            uint256 tAtExecution = handler.thresholdAtExecution(id);
            assertGt(tAtExecution, 0, "an execution the handler did not see");
            assertGe(real, tAtExecution, "executed below the threshold");
            assertEq(p.approvals, real);
        } else if (p.status == Consortium.ProposalStatus.Open && p.epoch == epoch) {
            assertLt(p.approvals, consortium.threshold(), "an open proposal already has enough votes");
        }
    }

    function _checkActiveMemberCount(address[] memory accounts) internal view {
        uint256 active;
        for (uint256 i = 0; i < accounts.length; i++) {
            if (consortium.isActive(accounts[i])) active++;
        }
        assertEq(consortium.activeMemberCount(), active, "activeMemberCount");
    }

    /// @dev operatorOf and memberOfOperator are inverse maps, an operator is never a member (of any status),
    /// an admin or a certificate authority, and a member's pending nomination is never its current operator.
    function _checkOperators(address[] memory members, address[] memory operators) internal view {
        for (uint256 i = 0; i < members.length; i++) {
            address op = consortium.operatorOf(members[i]);
            address nominated = consortium.nominatedOperatorOf(members[i]);
            if (nominated != address(0)) assertTrue(nominated != op, "the current operator is still nominated");
            if (op != address(0)) {
                assertEq(consortium.memberOfOperator(op), members[i], "operator maps are not inverse");
                assertEq(consortium.reportingMember(op), members[i]);
            }
        }
        for (uint256 i = 0; i < operators.length; i++) {
            address o = operators[i];
            address member = consortium.memberOfOperator(o);
            if (member != address(0)) {
                assertEq(consortium.operatorOf(member), o, "operator maps are not inverse");
                assertEq(uint256(consortium.memberStatus(o)), 0, "an operator is a member or applicant");
                assertFalse(consortium.isAdmin(o), "an operator is an admin");
                assertFalse(consortium.isCertificateAuthority(o), "an operator is a certificate authority");
            } else {
                assertEq(consortium.reportingMember(o), o);
            }
        }
    }

    function _checkNoViolations() internal view {
        assertEq(handler.ghostNonAdminSuccess(), 0, "a non-admin acted");
        assertEq(handler.ghostStaleVoteSuccess(), 0, "a stale or repeated vote counted");
        assertEq(handler.ghostStaleExecution(), 0, "a proposal executed for a stale key or membership");
        assertEq(handler.ghostTransitionViolations(), 0, "a status change outside the transition table");
        assertEq(handler.ghostCounterViolations(), 0, "instance / key version bookkeeping");
        assertEq(handler.ghostOperatorViolations(), 0, "an operator applied");
        assertEq(handler.ghostOperatorMismatch(), 0, "an operator call did not do what the model predicts");
        assertEq(handler.ghostOperatorDrift(), 0, "nominations or operator keys differ from the model");
    }

    /// @dev End of a run: every proposal and every actor once more, then one line with the deep states the
    /// run reached (checked across runs by check-reach.js).
    function afterInvariant() public {
        uint256 n = consortium.proposalCount();
        for (uint256 id = 1; id <= n; id++) {
            _checkProposal(id);
        }
        address[] memory actors = handler.actors();
        _checkActiveMemberCount(actors);
        _checkOperators(actors, actors);
        _checkNoViolations();

        string memory line = string(
            abi.encodePacked(
                _flag("memberApproved", handler.memberApproved()),
                _flag(" memberSuspended", handler.memberSuspended()),
                _flag(" memberReinstated", handler.memberReinstated()),
                _flag(" memberRemoved", handler.memberRemoved()),
                _flag(" reapplied", handler.reapplied()),
                _flag(" withdrawn", handler.withdrawn()),
                _flag(" keyRotated", handler.keyRotated()),
                _flag(" rotationDuringSuspensionVote", handler.rotationDuringSuspensionVote())
            )
        );
        line = string(
            abi.encodePacked(
                line,
                _flag(" suspendedAfterRotation", handler.suspendedAfterRotation()),
                _flag(" caAppointed", handler.caAppointed()),
                _flag(" caDismissed", handler.caDismissed()),
                _flag(" adminAdded", handler.adminAdded()),
                _flag(" adminRemoved", handler.adminRemoved()),
                _flag(" thresholdChanged", handler.thresholdChanged()),
                _flag(" windowChanged", handler.windowChanged()),
                _flag(" operatorSet", handler.operatorSet())
            )
        );
        line = string(
            abi.encodePacked(
                line,
                _flag(" operatorReplaced", handler.operatorReplaced()),
                _flag(" operatorResigned", handler.operatorResigned()),
                _flag(" nominationWithdrawn", handler.nominationWithdrawn()),
                _flag(" nomineeNotBound", handler.nomineeNotBound())
            )
        );
        vm.writeLine(REACH_LOG, line);
    }

    function _flag(string memory name, uint256 count) internal pure returns (string memory) {
        return string(abi.encodePacked(name, count > 0 ? "=1" : "=0"));
    }
}
