// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.11;

import {Test} from "../../utils/ForgeStd.sol";
import {Consortium} from "../../../src/Consortium.sol";

/// @notice Drives random AddAdmin / RemoveAdmin / ChangeThreshold proposals, votes and cancellations
/// from a fixed set of actors (the three initial admins plus three candidates).
contract ConsortiumHandler is Test {
    Consortium public immutable consortium;
    address[] public actors;
    uint256[] public proposalIds;

    uint256 public ghostNonAdminSuccess;
    uint256 public ghostProposed;
    uint256 public ghostVotes;
    uint256 public ghostExecuted;
    uint256 public ghostCancelled;
    uint256 public ghostStaleVoteSuccess;

    constructor(Consortium consortium_, address[] memory actors_) {
        consortium = consortium_;
        actors = actors_;
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    /// @dev Three times out of four a current admin, otherwise any actor (maybe a non-admin).
    function _actor(uint256 seed) internal view returns (address) {
        address[] memory current = consortium.admins();
        if (seed % 4 != 0 && current.length > 0) return current[(seed / 4) % current.length];
        return actors[(seed / 4) % actors.length];
    }

    /// @dev Mostly a valid target: a non-admin for AddAdmin, an admin for RemoveAdmin.
    function _target(Consortium.ProposalKind kind, uint256 seed) internal view returns (address) {
        if (seed % 5 == 0) return actors[(seed / 5) % actors.length];
        bool wantAdmin = kind == Consortium.ProposalKind.RemoveAdmin;
        for (uint256 i = 0; i < actors.length; i++) {
            address a = actors[(seed % actors.length + i) % actors.length];
            if (consortium.isAdmin(a) == wantAdmin) return a;
        }
        return actors[seed % actors.length];
    }

    function propose(uint256 actorSeed, uint256 kindSeed, uint256 targetSeed, uint256 value) external {
        address actor = _actor(actorSeed);
        uint256 k = kindSeed % 3;
        Consortium.ProposalKind kind = k == 0
            ? Consortium.ProposalKind.AddAdmin
            : (k == 1 ? Consortium.ProposalKind.RemoveAdmin : Consortium.ProposalKind.ChangeThreshold);
        address target;
        if (kind == Consortium.ProposalKind.ChangeThreshold) {
            // mostly in range, sometimes 0 or above the admin count
            value = value % 4 == 0 ? _bound(value, 0, actors.length + 1) : _bound(value, 1, consortium.adminCount());
        } else {
            target = _target(kind, targetSeed);
            value = 0;
        }
        bool wasAdmin = consortium.isAdmin(actor);
        vm.prank(actor);
        try consortium.propose(kind, target, value) returns (uint256 id) {
            if (!wasAdmin) ghostNonAdminSuccess++;
            proposalIds.push(id);
            ghostProposed++;
            if (consortium.getProposal(id).status == Consortium.ProposalStatus.Executed) ghostExecuted++;
        } catch {}
    }

    /// @dev Mostly an open proposal of the current epoch and an admin that has not voted on it yet.
    function vote(uint256 actorSeed, uint256 proposalSeed) external {
        if (proposalIds.length == 0) return;
        uint256 id = proposalIds[proposalSeed % proposalIds.length];
        address actor = _actor(actorSeed);
        if (actorSeed % 5 != 0) {
            for (uint256 i = 0; i < proposalIds.length; i++) {
                uint256 candidate = proposalIds[(proposalSeed % proposalIds.length + i) % proposalIds.length];
                if (consortium.getProposal(candidate).status == Consortium.ProposalStatus.Open) {
                    id = candidate;
                    if (consortium.getProposal(candidate).epoch == consortium.adminEpoch()) break;
                }
            }
            address[] memory current = consortium.admins();
            for (uint256 i = 0; i < current.length; i++) {
                address a = current[(actorSeed % current.length + i) % current.length];
                if (!consortium.hasVoted(id, a)) {
                    actor = a;
                    break;
                }
            }
        }
        bool wasAdmin = consortium.isAdmin(actor);
        bool stale = consortium.getProposal(id).epoch != consortium.adminEpoch();
        vm.prank(actor);
        try consortium.vote(id) {
            if (!wasAdmin) ghostNonAdminSuccess++;
            if (stale) ghostStaleVoteSuccess++;
            ghostVotes++;
            if (consortium.getProposal(id).status == Consortium.ProposalStatus.Executed) ghostExecuted++;
        } catch {}
    }

    function cancel(uint256 proposalSeed) external {
        if (proposalIds.length == 0) return;
        uint256 id = proposalIds[proposalSeed % proposalIds.length];
        address proposer = consortium.getProposal(id).proposer;
        bool wasAdmin = consortium.isAdmin(proposer);
        vm.prank(proposer);
        try consortium.cancel(id) {
            if (!wasAdmin) ghostNonAdminSuccess++;
            ghostCancelled++;
        } catch {}
    }

    function roll(uint256 blocks) external {
        vm.roll(block.number + _bound(blocks, 1, 10));
    }
}
