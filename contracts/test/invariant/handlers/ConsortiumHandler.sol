// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.11;

import {Test} from "../../utils/ForgeStd.sol";
import {Consortium} from "../../../src/Consortium.sol";

/// @notice Drives the whole Consortium: member lifecycle (apply, withdraw, rotate, approve, suspend,
/// reinstate, remove, re-apply), every proposal kind, votes, cancellations and operators (nominate,
/// accept, withdraw or remove, resign), from fixed actor pools. Choices are biased toward progress (valid targets, current values, proposals that still miss
/// votes, kinds whose deep state was not reached yet), with a share of invalid calls mixed in.
/// Ghost state: who voted for what, which admins belonged to each admin epoch, the threshold in force when
/// each proposal executed, every member status change checked against the transition table, a model of
/// nominations and operator keys that predicts the outcome of every operator call, and reach counters for
/// the deep states.
contract ConsortiumHandler is Test {
    Consortium public immutable consortium;

    address[] internal _actors; // everyone below
    address[] internal _adminPool;
    address[] internal _memberPool;
    address[] internal _caPool;
    address[] internal _operatorPool;

    // ------------------------------------------------------------ ghost state

    /// @notice The accounts whose vote (or proposal) for a proposal succeeded, in order.
    mapping(uint256 => address[]) internal _voters;
    mapping(uint256 => mapping(address => bool)) public ghostVoted;
    /// @notice True when `account` was an admin during admin epoch `epoch`.
    mapping(uint64 => mapping(address => bool)) public wasAdminInEpoch;
    /// @notice Every account that was ever an admin.
    address[] internal _everAdmin;
    mapping(address => bool) internal _isEverAdmin;
    uint64 internal _snappedEpoch;
    /// @notice The threshold in force when the proposal executed (0: not executed).
    mapping(uint256 => uint256) public thresholdAtExecution;

    /// @notice Accounts that ever held a membership record (status != None); only they can change status.
    address[] internal _applicants;
    mapping(address => bool) internal _isApplicant;
    /// @notice Accounts that were ever nominated or set as an operator.
    address[] internal _everOperator;
    mapping(address => bool) internal _isEverOperator;
    /// @notice The operator model: who nominated whom, and the accepted operator keys.
    mapping(address => address) public mNominated;
    mapping(address => address) public mOperatorOf;
    mapping(address => address) public mMemberOfOperator;
    /// @notice Open proposals of the current epoch the handler opened (closed and stale ones dropped).
    uint256[] internal _openIds;
    /// @notice Proposals that were open when a newer admin epoch began (votes on them must fail).
    uint256[] internal _staleIds;
    /// @notice Proposals proposed, voted or cancelled during the last action.
    uint256[] internal _touched;

    // mirror of every applicant's record after the last action (choices read it instead of the contract)
    mapping(address => Consortium.MemberStatus) public lastStatus;
    mapping(address => uint32) internal _lastApproved;
    mapping(address => uint32) internal _lastInstance;
    mapping(address => uint32) internal _lastKeyVersion;

    // violations: each must stay 0
    uint256 public ghostNonAdminSuccess;
    uint256 public ghostStaleVoteSuccess;
    uint256 public ghostStaleExecution;
    uint256 public ghostTransitionViolations;
    uint256 public ghostCounterViolations;
    uint256 public ghostOperatorViolations;
    uint256 public ghostOperatorMismatch;
    uint256 public ghostOperatorDrift;

    // progress
    uint256 public ghostProposed;
    uint256 public ghostVotes;
    uint256 public ghostExecuted;
    uint256 public ghostCancelled;

    // reach counters (deep states)
    uint256 public memberApproved;
    uint256 public memberSuspended;
    uint256 public memberReinstated;
    uint256 public memberRemoved;
    uint256 public reapplied;
    uint256 public withdrawn;
    uint256 public keyRotated;
    uint256 public rotationDuringSuspensionVote;
    uint256 public suspendedAfterRotation;
    uint256 public caAppointed;
    uint256 public caDismissed;
    uint256 public adminAdded;
    uint256 public adminRemoved;
    uint256 public thresholdChanged;
    uint256 public windowChanged;
    uint256 public operatorSet;
    uint256 public operatorReplaced;
    uint256 public operatorResigned;
    uint256 public nominationWithdrawn;
    uint256 public nomineeNotBound;

    enum Cause {
        Apply,
        Withdraw,
        Rotate,
        Proposal,
        Operator
    }

    uint256 internal constant KINDS = 11;

    struct Snapshot {
        uint256 threshold;
        uint64 epoch;
        bool wasAdmin;
        uint32 targetKeyVersion;
        uint32 targetInstance;
    }

    constructor(
        Consortium consortium_,
        address[] memory admins_,
        address[] memory members_,
        address[] memory cas_,
        address[] memory operators_
    ) {
        consortium = consortium_;
        _adminPool = admins_;
        _memberPool = members_;
        _caPool = cas_;
        _operatorPool = operators_;
        _addAll(admins_);
        _addAll(members_);
        _addAll(cas_);
        _addAll(operators_);
        _snapEpoch(true);
        // proposals executed before the handler existed (Base.setUp): same epoch and threshold as now
        uint256 n = consortium_.proposalCount();
        for (uint256 id = 1; id <= n; id++) {
            for (uint256 i = 0; i < _everAdmin.length; i++) {
                address a = _everAdmin[i];
                if (consortium_.hasVoted(id, a)) _recordVote(id, a);
            }
            if (consortium_.getProposal(id).status == Consortium.ProposalStatus.Executed) {
                thresholdAtExecution[id] = consortium_.threshold();
            }
        }
        for (uint256 i = 0; i < _actors.length; i++) {
            if (consortium_.memberStatus(_actors[i]) != Consortium.MemberStatus.None) _addApplicant(_actors[i]);
        }
    }

    function _addApplicant(address a) internal {
        if (_isApplicant[a]) return;
        _isApplicant[a] = true;
        _applicants.push(a);
        _remember(a);
    }

    function _addAll(address[] memory list) internal {
        for (uint256 i = 0; i < list.length; i++) {
            _actors.push(list[i]);
        }
    }

    // ----------------------------------------------------------------- views

    function actors() external view returns (address[] memory) {
        return _actors;
    }

    function everAdmins() external view returns (address[] memory) {
        return _everAdmin;
    }

    function votersOf(uint256 id) external view returns (address[] memory) {
        return _voters[id];
    }

    function applicants() external view returns (address[] memory) {
        return _applicants;
    }

    function everOperators() external view returns (address[] memory) {
        return _everOperator;
    }

    function touched() external view returns (uint256[] memory) {
        return _touched;
    }

    /// @dev Every action starts a new block and a new touched set, and ends with a comparison of the
    /// operator model with the contract.
    modifier action() {
        vm.roll(block.number + 1);
        delete _touched;
        _;
        _checkOperatorModel();
    }

    // --------------------------------------------------------------- actions

    /// @dev One time in three a fresh applicant withdraws (if there is one). Otherwise mostly a member-pool
    /// account that may apply (None, Removed, Withdrawn); sometimes anyone (operators included, which must
    /// fail).
    function applyOrWithdraw(uint256 seed, uint256 keySeed) external action {
        if (seed % 3 == 0) {
            address applicant = _pickMember(seed, _fresh);
            if (seed % 4 == 0) applicant = _memberPool[(seed / 4) % _memberPool.length];
            if (applicant != address(0)) {
                vm.prank(applicant);
                try consortium.withdrawApplication() {} catch {}
                _observe(Cause.Withdraw);
                return;
            }
        }
        address account = seed % 8 == 1 ? _actors[(seed / 8) % _actors.length] : _pickMember(seed, _canApply);
        if (account == address(0)) account = _memberPool[seed % _memberPool.length];
        bool wasOperator = consortium.memberOfOperator(account) != address(0);
        bool nominated = _nominatedByAny(account);
        vm.prank(account);
        try consortium.applyForMembership("M", "https://gw.m.example:7443", _key(keySeed)) {
            if (wasOperator) ghostOperatorViolations++;
            if (nominated) nomineeNotBound++;
        } catch {}
        if (!_isApplicant[account] && consortium.memberStatus(account) != Consortium.MemberStatus.None) {
            _isApplicant[account] = true;
            _applicants.push(account); // observed below as None -> Pending
        }
        _observe(Cause.Apply);
    }

    /// @dev Mostly a member facing an open suspension vote (the dodge attempt; less often once a run saw
    /// one), else an active or pending member; sometimes anyone in the member pool.
    function rotateKey(uint256 seed, uint256 keySeed) external action {
        address account;
        if (seed % 4 != 0 && (rotationDuringSuspensionVote == 0 || seed % 4 == 1)) {
            account = _pickMember(seed / 4, _facesSuspension);
        }
        if (account == address(0) || seed % 7 == 0) account = _pickMember(seed / 2, _canRotate);
        _rotate(account, keySeed);
    }

    function _rotate(address account, uint256 keySeed) internal {
        bool facing = _facesSuspension(account);
        vm.prank(account);
        try consortium.rotateKey(_key(keySeed)) {
            keyRotated++;
            if (facing) rotationDuringSuspensionVote++;
        } catch {}
        _observe(Cause.Rotate);
    }

    /// @dev Opens a proposal (the proposer's vote only). When it opens a suspension of an active member, that
    /// member sometimes reacts in the same block by rotating its key (mostly, until a run saw it once).
    function propose(uint256 actorSeed, uint256 kindSeed, uint256 targetSeed, uint256 valueSeed) external action {
        (Consortium.ProposalKind kind, address target, uint256 value) = _choose(kindSeed, targetSeed, valueSeed, true);
        (, bool ok) = _propose(_actor(actorSeed), kind, target, value);
        bool react = rotationDuringSuspensionVote == 0 ? valueSeed % 4 != 0 : valueSeed % 8 == 0;
        if (ok && react && kind == Consortium.ProposalKind.SuspendMember) _rotate(target, valueSeed);
    }

    /// @dev The admins agree on three decisions in one block: each opens a proposal (or joins the open one for
    /// the same action) and has the other admins vote until it executes or a vote fails.
    function pass(uint256 actorSeed, uint256 kindSeed, uint256 targetSeed, uint256 valueSeed) external action {
        _decide(actorSeed, kindSeed, targetSeed, valueSeed);
        _decide(actorSeed >> 85, kindSeed >> 85, targetSeed >> 85, valueSeed >> 85);
        _decide(actorSeed >> 170, kindSeed >> 170, targetSeed >> 170, valueSeed >> 170);
    }

    function _decide(uint256 actorSeed, uint256 kindSeed, uint256 targetSeed, uint256 valueSeed) internal {
        (Consortium.ProposalKind kind, address target, uint256 value) = _choose(kindSeed, targetSeed, valueSeed, false);
        uint256 id = consortium.openProposalFor(kind, target, value);
        if (id == 0) {
            bool ok;
            address[] memory admins = consortium.admins();
            (id, ok) = _propose(admins[actorSeed % admins.length], kind, target, value);
            if (!ok) return;
        }
        // The nomination attack: half of the time a member nominates the account the admins are promoting
        // before the deciding vote (a nomination binds nothing: the vote must still execute).
        bool promotion =
            kind == Consortium.ProposalKind.AddAdmin || kind == Consortium.ProposalKind.AppointCertificateAuthority;
        if (promotion && valueSeed % 2 == 0 && _freshOperator(target)) {
            address member = _pickMember(valueSeed / 2, _active);
            if (member != address(0)) _nominateAs(member, target, false, false);
        }
        address[] memory current = consortium.admins();
        for (uint256 i = 0; i < current.length; i++) {
            if (consortium.getProposal(id).status != Consortium.ProposalStatus.Open) break;
            address a = current[(actorSeed % current.length + i) % current.length];
            if (consortium.hasVoted(id, a)) continue;
            if (!_vote(a, id)) break;
        }
    }

    /// @dev Mostly a current-epoch open proposal and an admin that has not voted on it yet; sometimes a
    /// proposal of an earlier epoch, any proposal and any actor, a second vote of the proposer; sometimes
    /// the proposer cancels instead.
    function vote(uint256 actorSeed, uint256 proposalSeed) external action {
        uint256 n = consortium.proposalCount();
        uint256 id = 1 + proposalSeed % n;
        address actor = _actors[actorSeed % _actors.length];
        bool staleProbe = proposalSeed % 7 == 3 && _staleIds.length > 0;
        if (staleProbe) id = _staleIds[proposalSeed % _staleIds.length];
        if (!staleProbe && proposalSeed % 5 != 0 && _openIds.length > 0) {
            id = _openIds[proposalSeed % _openIds.length];
            // until the run saw a rotation during a suspension vote, leave suspensions of active members
            // open for the member to react (when another proposal is open)
            for (uint256 i = 0; rotationDuringSuspensionVote == 0 && i < _openIds.length; i++) {
                id = _openIds[(proposalSeed % _openIds.length + i) % _openIds.length];
                Consortium.Proposal memory p = consortium.getProposal(id);
                if (p.kind != Consortium.ProposalKind.SuspendMember || !_active(p.target)) break;
                if (i + 1 == _openIds.length) id = 1 + proposalSeed % n; // nothing else open: any proposal
            }
        }
        if (staleProbe || proposalSeed % 5 != 0) {
            address[] memory current = consortium.admins();
            for (uint256 i = 0; i < current.length; i++) {
                address a = current[(actorSeed % current.length + i) % current.length];
                if (!consortium.hasVoted(id, a)) {
                    actor = a;
                    break;
                }
            }
        }
        if (actorSeed % 9 == 0) {
            _cancel(id);
            return;
        }
        if (actorSeed % 9 == 1) actor = consortium.getProposal(id).proposer; // a second vote of the proposer
        _vote(actor, id);
    }

    /// @dev The operator calls, in one action (the fuzzer picks actions uniformly: one action keeps the
    /// others' share). Mostly a member nominates (see `_nominate`), one time in eight a nominee accepts
    /// (`_acceptAction`), one in sixteen an operator resigns (`_resignAction`), one in sixteen a member
    /// withdraws its nomination and removes its operator (`_withdrawAction`).
    function changeOperator(uint256 memberSeed, uint256 operatorSeed) external action {
        uint256 what = (operatorSeed / 512) % 8;
        if (what < 6) _nominate(memberSeed, operatorSeed);
        else if (what == 6) _acceptAction(operatorSeed / 8, memberSeed);
        else if ((operatorSeed / 4096) % 2 == 0) _resignAction(operatorSeed / 8);
        else _withdrawAction(memberSeed, operatorSeed / 8);
        _observe(Cause.Operator);
    }

    /// @dev Mostly an active member nominating a free operator key, which (three times in four) accepts at
    /// once; sometimes withdrawing its nomination and removing its operator (zero), sometimes nominating a
    /// taken account (any actor: members, admins, authorities, other members' operators), sometimes a fresh
    /// account the admins may still promote or that may still apply (the attack: it never accepts here).
    function _nominate(uint256 memberSeed, uint256 operatorSeed) internal {
        address member =
            memberSeed % 5 == 0 ? _memberPool[(memberSeed / 5) % _memberPool.length] : _pickMember(memberSeed, _active);
        address operator;
        // small seeds (frequent in fuzzing) make progress: a pool key, accepted at once
        uint256 mode = operatorSeed % 10;
        bool acceptNow = (operatorSeed / 10) % 4 != 3;
        if (mode == 7) {
            return _withdrawAction(memberSeed, operatorSeed / 10);
        } else if (mode == 8) {
            operator = _actors[(operatorSeed / 64) % _actors.length];
        } else if (mode == 9) {
            operator = _pick(_actors, operatorSeed / 64, true, _candidate);
            acceptNow = false;
        } else {
            // progress: an active member (when there is one) and a free key of the operator pool
            if (!_active(member)) {
                address m = _pickMember(memberSeed, _active);
                if (m != address(0)) member = m;
            }
            operator = _operatorPool[(operatorSeed / 64) % _operatorPool.length];
            for (uint256 i = 0; i < _operatorPool.length; i++) {
                address o = _operatorPool[((operatorSeed / 64) % _operatorPool.length + i) % _operatorPool.length];
                if (mMemberOfOperator[o] == address(0)) {
                    operator = o;
                    break;
                }
            }
        }
        _nominateAs(member, operator, (operatorSeed / 40) % 4 == 1, acceptNow);
    }

    /// @dev `member` calls setOperator(operator), checked against the model; when it should succeed and
    /// `acceptNow`, the nominee accepts at once; with `probe`, another fresh account (an operator-pool key)
    /// first tries to take the role (it must fail: only the nominee can accept).
    function _nominateAs(address member, address operator, bool probe, bool acceptNow) internal {
        bool expectOk = operator == address(0)
            ? lastStatus[member] != Consortium.MemberStatus.None
                && (mNominated[member] != address(0) || mOperatorOf[member] != address(0))
            : _active(member) && _freshOperator(operator);
        vm.prank(member);
        try consortium.setOperator(operator) {
            if (!expectOk) ghostOperatorMismatch++;
            if (operator == address(0)) {
                if (mNominated[member] != address(0)) nominationWithdrawn++;
                delete mNominated[member];
                _freeOperator(member);
            } else {
                mNominated[member] = operator;
                _addEverOperator(operator);
            }
        } catch {
            if (expectOk) ghostOperatorMismatch++;
        }
        if (!expectOk || operator == address(0)) return;
        if (probe) {
            for (uint256 i = 0; i < _operatorPool.length; i++) {
                address o = _operatorPool[i];
                if (o != operator && _freshOperator(o)) {
                    _accept(o, member);
                    break;
                }
            }
        }
        if (acceptNow) _accept(operator, member);
    }

    /// @dev setOperator(0): mostly a member that has something to withdraw or remove (else any member of the
    /// pool, maybe with nothing: must fail); half of those with an operator but no pending nomination first
    /// nominate a successor, so that both go at once.
    function _withdrawAction(uint256 memberSeed, uint256 seed) internal {
        address member = _memberPool[memberSeed % _memberPool.length];
        for (uint256 i = 0; seed % 4 != 3 && i < _memberPool.length; i++) {
            address m = _memberPool[(memberSeed + i) % _memberPool.length];
            if (mNominated[m] != address(0) || mOperatorOf[m] != address(0)) {
                member = m;
                break;
            }
        }
        if (mOperatorOf[member] != address(0) && mNominated[member] == address(0) && (seed / 4) % 2 == 0) {
            address successor = _pick(_operatorPool, seed / 8, true, _freshOperator);
            if (successor != address(0)) _nominateAs(member, successor, false, false);
        }
        _nominateAs(member, address(0), false, false);
    }

    /// @dev A fresh account outside the operator pool (a member-pool account that never applied, an
    /// authority or admin candidate): the target of the nomination attack.
    function _candidate(address a) internal view returns (bool) {
        return _freshOperator(a) && !_inOperatorPool(a);
    }

    function _inOperatorPool(address a) internal view returns (bool) {
        for (uint256 i = 0; i < _operatorPool.length; i++) {
            if (_operatorPool[i] == a) return true;
        }
        return false;
    }

    /// @dev For a member with a pending nomination of an operator-pool key (when there is one; nominated admin,
    /// authority or member candidates are left to be promoted or to apply): half of the time its nominee
    /// accepts, a quarter of the time another fresh account (a free operator-pool key) tries to take the role
    /// (must fail); otherwise any actor accepts for any member of the pool (must fail unless it is the nominee).
    function _acceptAction(uint256 accountSeed, uint256 memberSeed) internal {
        address member = _memberPool[memberSeed % _memberPool.length];
        address account = _actors[(accountSeed / 4) % _actors.length];
        uint256 r = accountSeed % 4;
        if (r != 3) {
            for (uint256 i = 0; i < _memberPool.length; i++) {
                address m = _memberPool[(memberSeed + i) % _memberPool.length];
                if (mNominated[m] != address(0) && _inOperatorPool(mNominated[m])) {
                    (member, account) = (m, mNominated[m]);
                    break;
                }
            }
        }
        if (r == 2) {
            for (uint256 i = 0; i < _operatorPool.length; i++) {
                address o = _operatorPool[(accountSeed / 4 + i) % _operatorPool.length];
                if (o != account && _freshOperator(o)) {
                    account = o; // not the nominee
                    break;
                }
            }
        }
        _accept(account, member);
    }

    /// @dev Mostly a current operator key gives up its role; sometimes any actor tries (must fail unless it is
    /// an operator).
    function _resignAction(uint256 seed) internal {
        address account = _actors[seed % _actors.length];
        if (seed % 4 != 3) {
            for (uint256 i = 0; i < _everOperator.length; i++) {
                address o = _everOperator[(seed / 4 + i) % _everOperator.length];
                if (mMemberOfOperator[o] != address(0)) {
                    account = o;
                    break;
                }
            }
        }
        address member = mMemberOfOperator[account];
        vm.prank(account);
        try consortium.resignOperator() {
            if (member == address(0)) ghostOperatorMismatch++;
            operatorResigned++;
            _freeOperator(member);
        } catch {
            if (member != address(0)) ghostOperatorMismatch++;
        }
    }

    function _accept(address account, address member) internal {
        bool expectOk =
            account != address(0) && mNominated[member] == account && _active(member) && _freshOperator(account);
        address previous = mOperatorOf[member];
        vm.prank(account);
        try consortium.acceptOperator(member) {
            if (!expectOk) ghostOperatorMismatch++;
            operatorSet++;
            if (previous != address(0)) operatorReplaced++;
            delete mNominated[member];
            _freeOperator(member);
            mOperatorOf[member] = account;
            mMemberOfOperator[account] = member;
            _addEverOperator(account);
        } catch {
            if (expectOk) ghostOperatorMismatch++;
        }
    }

    /// @dev Removes `member`'s operator key from the model (if any).
    function _freeOperator(address member) internal {
        address op = mOperatorOf[member];
        if (op == address(0)) return;
        delete mMemberOfOperator[op];
        delete mOperatorOf[member];
    }

    /// @dev What the contract requires of an operator key (by the model): never applied, no admin, no
    /// authority, no other member's operator.
    function _freshOperator(address account) internal view returns (bool) {
        return lastStatus[account] == Consortium.MemberStatus.None && !consortium.isAdmin(account)
            && !consortium.isCertificateAuthority(account) && mMemberOfOperator[account] == address(0);
    }

    function _nominatedByAny(address account) internal view returns (bool) {
        for (uint256 i = 0; i < _memberPool.length; i++) {
            if (mNominated[_memberPool[i]] == account) return true;
        }
        return false;
    }

    function _addEverOperator(address account) internal {
        if (_isEverOperator[account]) return;
        _isEverOperator[account] = true;
        _everOperator.push(account);
    }

    /// @dev After every action: the operator model is the contract's (every actor).
    function _checkOperatorModel() internal {
        for (uint256 i = 0; i < _actors.length; i++) {
            address a = _actors[i];
            if (consortium.nominatedOperatorOf(a) != mNominated[a]) ghostOperatorDrift++;
            if (consortium.operatorOf(a) != mOperatorOf[a]) ghostOperatorDrift++;
            if (consortium.memberOfOperator(a) != mMemberOfOperator[a]) ghostOperatorDrift++;
        }
    }

    // -------------------------------------------------------------- choosing

    /// @dev Three times out of four a current admin, otherwise any actor (maybe a non-admin).
    function _actor(uint256 seed) internal view returns (address) {
        address[] memory current = consortium.admins();
        if (seed % 4 != 0) return current[(seed / 4) % current.length];
        return _actors[(seed / 4) % _actors.length];
    }

    /// @dev Mostly a kind that has a valid target now, preferring kinds whose deep state this run has not
    /// reached: 3/4 of the time in a fixed order (deepest first, so prerequisites lead to the next state),
    /// 1/8 from a random kind on, 1/8 a random kind. A single-vote proposal prefers a suspension of an
    /// active member (the rotation attack needs one open). Rule probes (see `_boundary`), random targets and
    /// perturbed values are mixed in.
    function _choose(uint256 kindSeed, uint256 targetSeed, uint256 valueSeed, bool single)
        internal
        view
        returns (Consortium.ProposalKind kind, address target, uint256 value)
    {
        bool found;
        uint256 mode = kindSeed % 8;
        if (single && mode != 0 && rotationDuringSuspensionVote == 0) {
            target = _pickMember(targetSeed, _active);
            if (target != address(0)) {
                (found, kind, value) = (true, Consortium.ProposalKind.SuspendMember, _lastInstance[target]);
            }
        }
        // first pass: an unreached goal with a valid target; second pass: any valid target
        for (uint256 pass_ = 0; mode != 0 && pass_ < 2 && !found; pass_++) {
            for (uint256 i = 0; i < KINDS; i++) {
                Consortium.ProposalKind k =
                    mode == 1 ? Consortium.ProposalKind(((kindSeed / 8) % KINDS + i) % KINDS) : _priority(i);
                if (pass_ == 0 && _reached(k)) continue;
                (found, target, value) = _validTarget(k, targetSeed);
                if (found) {
                    kind = k;
                    break;
                }
            }
        }
        if (!found) {
            kind = Consortium.ProposalKind((kindSeed / 8) % KINDS);
            (found, target, value) = _validTarget(kind, targetSeed);
        }
        // Rule probes: a third of the single-vote proposals, an eighth of the decisions the admins agree on
        // (an invalid decision must be refused however many admins back it).
        if (targetSeed % (single ? 3 : 8) == 0) {
            kind = Consortium.ProposalKind((kindSeed / 8) % KINDS);
            (target, value) = _boundary(kind, targetSeed / 5);
            return (kind, target, value);
        }
        if (!single) return (kind, target, value);
        if (!found || targetSeed % 11 == 1) target = _actors[(targetSeed / 11) % _actors.length];
        if (valueSeed % 7 == 0) value = valueSeed % 3 == 0 ? 0 : value + 1;
    }

    /// @dev Rule probe: a plausible target and value for `k` that ignores the rule the contract must
    /// enforce: an applicant of a status the kind excludes (with its current key version / instance), any
    /// current admin whatever the threshold, any threshold up to the admin count, operators as admins or
    /// CAs, window caps around the upper bound. If the contract accepted one, the invariants would see it.
    function _boundary(Consortium.ProposalKind k, uint256 seed) internal view returns (address target, uint256 value) {
        if (uint256(k) <= uint256(Consortium.ProposalKind.RemoveMember)) {
            // an applicant the rule excludes, if there is one
            function(address) view returns (bool) ok = k == Consortium.ProposalKind.ApproveMember
                ? _pending
                : k == Consortium.ProposalKind.SuspendMember
                    ? _suspendable
                    : k == Consortium.ProposalKind.ReinstateMember ? _suspended : _removable;
            target = _pick(_applicants, seed, false, ok);
            if (target == address(0)) target = _applicants[seed % _applicants.length];
            value = k == Consortium.ProposalKind.ApproveMember ? _lastKeyVersion[target] : _lastInstance[target];
        } else if (k == Consortium.ProposalKind.RemoveAdmin) {
            address[] memory current = consortium.admins();
            target = current[seed % current.length];
        } else if (k == Consortium.ProposalKind.ChangeThreshold) {
            value = 1 + seed % consortium.adminCount();
        } else if (k == Consortium.ProposalKind.SetMaxApprovalBlocks || k == Consortium.ProposalKind.SetMaxRunBlocks) {
            value = consortium.MAX_WINDOW_BLOCKS() + 1 - seed % 3; // MAX - 1, MAX, MAX + 1
        } else if (k == Consortium.ProposalKind.DismissCertificateAuthority) {
            target = _caPool[seed % _caPool.length];
        } else {
            // AddAdmin, AppointCertificateAuthority: maybe an operator
            target = _operatorPool[seed % _operatorPool.length];
        }
    }

    /// @dev Kinds deepest first: a state whose prerequisite is met is taken before new prerequisites.
    function _priority(uint256 i) internal pure returns (Consortium.ProposalKind) {
        Consortium.ProposalKind[11] memory order = [
            Consortium.ProposalKind.ReinstateMember,
            Consortium.ProposalKind.RemoveAdmin,
            Consortium.ProposalKind.SuspendMember,
            Consortium.ProposalKind.ApproveMember,
            Consortium.ProposalKind.AddAdmin,
            Consortium.ProposalKind.DismissCertificateAuthority,
            Consortium.ProposalKind.AppointCertificateAuthority,
            Consortium.ProposalKind.RemoveMember,
            Consortium.ProposalKind.ChangeThreshold,
            Consortium.ProposalKind.SetMaxApprovalBlocks,
            Consortium.ProposalKind.SetMaxRunBlocks
        ];
        return order[i];
    }

    function _reached(Consortium.ProposalKind k) internal view returns (bool) {
        if (k == Consortium.ProposalKind.ApproveMember) return memberApproved > 0;
        if (k == Consortium.ProposalKind.SuspendMember) return memberSuspended > 0;
        if (k == Consortium.ProposalKind.ReinstateMember) return memberReinstated > 0;
        if (k == Consortium.ProposalKind.RemoveMember) return memberRemoved > 0;
        if (k == Consortium.ProposalKind.AddAdmin) return adminAdded > 0;
        if (k == Consortium.ProposalKind.RemoveAdmin) return adminRemoved > 0;
        if (k == Consortium.ProposalKind.ChangeThreshold) return thresholdChanged > 0;
        if (k == Consortium.ProposalKind.AppointCertificateAuthority) return caAppointed > 0;
        if (k == Consortium.ProposalKind.DismissCertificateAuthority) return caDismissed > 0;
        return windowChanged > 0;
    }

    function _validTarget(Consortium.ProposalKind k, uint256 seed)
        internal
        view
        returns (bool found, address target, uint256 value)
    {
        if (k == Consortium.ProposalKind.ApproveMember) {
            target = _pickMember(seed, _pending);
            if (target != address(0)) return (true, target, _lastKeyVersion[target]);
        } else if (k == Consortium.ProposalKind.SuspendMember) {
            target = _pickMember(seed, _suspendable);
            if (target != address(0)) return (true, target, _lastInstance[target]);
        } else if (k == Consortium.ProposalKind.ReinstateMember) {
            target = _pickMember(seed, _suspended);
            if (target != address(0)) return (true, target, _lastInstance[target]);
        } else if (k == Consortium.ProposalKind.RemoveMember) {
            target = _pickMember(seed, _removable);
            if (target != address(0)) return (true, target, _lastInstance[target]);
        } else if (k == Consortium.ProposalKind.AddAdmin) {
            target = _pick(_adminPool, seed, false, _isAdmin);
            if (target != address(0)) return (true, target, 0);
        } else if (k == Consortium.ProposalKind.RemoveAdmin) {
            if (consortium.threshold() + 1 < consortium.adminCount()) {
                address[] memory current = consortium.admins();
                return (true, current[seed % current.length], 0);
            }
        } else if (k == Consortium.ProposalKind.ChangeThreshold) {
            uint256 n = consortium.adminCount();
            if (n > 2 || (n == 2 && consortium.threshold() != 1)) {
                value = 1 + seed % (n - 1);
                if (value == consortium.threshold()) value = value == n - 1 ? 1 : value + 1;
                return (true, address(0), value);
            }
        } else if (k == Consortium.ProposalKind.AppointCertificateAuthority) {
            target = _pick(_caPool, seed, false, _isCa);
            if (target != address(0)) return (true, target, 0);
        } else if (k == Consortium.ProposalKind.DismissCertificateAuthority) {
            target = _pick(_caPool, seed, true, _isCa);
            if (target != address(0)) return (true, target, 0);
        } else {
            return (true, address(0), 1 + seed % consortium.MAX_WINDOW_BLOCKS());
        }
        return (false, address(0), 0);
    }

    function _pickMember(uint256 seed, function(address) view returns (bool) ok) internal view returns (address) {
        return _pick(_memberPool, seed, true, ok);
    }

    /// @dev The first account of `list` from `seed` on for which `ok(account) == want`, else zero.
    function _pick(address[] storage list, uint256 seed, bool want, function(address) view returns (bool) ok)
        internal
        view
        returns (address)
    {
        for (uint256 i = 0; i < list.length; i++) {
            address a = list[(seed % list.length + i) % list.length];
            if (ok(a) == want) return a;
        }
        return address(0);
    }

    function _s(address a) internal view returns (Consortium.MemberStatus) {
        return lastStatus[a];
    }

    function _canApply(address a) internal view returns (bool) {
        Consortium.MemberStatus s = _s(a);
        return s == Consortium.MemberStatus.None || s == Consortium.MemberStatus.Removed
            || s == Consortium.MemberStatus.Withdrawn;
    }

    function _pending(address a) internal view returns (bool) {
        return _s(a) == Consortium.MemberStatus.Pending;
    }

    function _fresh(address a) internal view returns (bool) {
        return _pending(a) && _lastApproved[a] == 0;
    }

    function _active(address a) internal view returns (bool) {
        return _s(a) == Consortium.MemberStatus.Active;
    }

    function _suspended(address a) internal view returns (bool) {
        return _s(a) == Consortium.MemberStatus.Suspended;
    }

    function _canRotate(address a) internal view returns (bool) {
        return _active(a) || _pending(a);
    }

    function _suspendable(address a) internal view returns (bool) {
        return _active(a) || (_pending(a) && _lastApproved[a] != 0);
    }

    function _removable(address a) internal view returns (bool) {
        return _canRotate(a) || _suspended(a);
    }

    /// @dev An active member against which a suspension of its current membership is open in this epoch.
    function _facesSuspension(address a) internal view returns (bool) {
        if (a == address(0) || !_active(a)) return false;
        return consortium.openProposalFor(Consortium.ProposalKind.SuspendMember, a, _lastInstance[a]) != 0;
    }

    function _isAdmin(address a) internal view returns (bool) {
        return consortium.isAdmin(a);
    }

    function _isCa(address a) internal view returns (bool) {
        return consortium.isCertificateAuthority(a);
    }

    // ------------------------------------------------------ governance calls

    function _snapshot(address actor, address target) internal view returns (Snapshot memory snap) {
        snap.threshold = consortium.threshold();
        snap.epoch = consortium.adminEpoch();
        snap.wasAdmin = consortium.isAdmin(actor);
        snap.targetKeyVersion = _lastKeyVersion[target];
        snap.targetInstance = _lastInstance[target];
    }

    function _propose(address actor, Consortium.ProposalKind kind, address target, uint256 value)
        internal
        returns (uint256 id, bool ok)
    {
        Snapshot memory snap = _snapshot(actor, target);
        vm.prank(actor);
        try consortium.propose(kind, target, value) returns (uint256 id_) {
            id = id_;
            ok = true;
            ghostProposed++;
            if (!snap.wasAdmin) ghostNonAdminSuccess++;
            _touched.push(id);
            _openIds.push(id);
            _afterVote(id, actor, snap);
        } catch {}
        _observe(Cause.Proposal);
    }

    function _vote(address actor, uint256 id) internal returns (bool ok) {
        Consortium.Proposal memory p = consortium.getProposal(id);
        Snapshot memory snap = _snapshot(actor, p.target);
        _touched.push(id);
        vm.prank(actor);
        try consortium.vote(id) {
            ok = true;
            ghostVotes++;
            if (!snap.wasAdmin) ghostNonAdminSuccess++;
            if (p.epoch != snap.epoch) ghostStaleVoteSuccess++;
            _afterVote(id, actor, snap);
        } catch {}
        _observe(Cause.Proposal);
    }

    function _cancel(uint256 id) internal {
        Consortium.Proposal memory p = consortium.getProposal(id);
        bool wasAdmin = consortium.isAdmin(p.proposer);
        _touched.push(id);
        vm.prank(p.proposer);
        try consortium.cancel(id) {
            _dropOpen(id);
            ghostCancelled++;
            if (!wasAdmin) ghostNonAdminSuccess++;
        } catch {}
    }

    function _recordVote(uint256 id, address voter) internal {
        if (ghostVoted[id][voter]) {
            ghostStaleVoteSuccess++; // a second vote of one admin was accepted
            return;
        }
        ghostVoted[id][voter] = true;
        _voters[id].push(voter);
    }

    function _afterVote(uint256 id, address voter, Snapshot memory snap) internal {
        _recordVote(id, voter);
        Consortium.Proposal memory p = consortium.getProposal(id);
        if (p.status != Consortium.ProposalStatus.Executed) return;
        _dropOpen(id);
        ghostExecuted++;
        thresholdAtExecution[id] = snap.threshold;
        Consortium.ProposalKind k = p.kind;
        if (k == Consortium.ProposalKind.ApproveMember) {
            if (p.value != snap.targetKeyVersion) ghostStaleExecution++;
        } else if (
            k == Consortium.ProposalKind.SuspendMember || k == Consortium.ProposalKind.ReinstateMember
                || k == Consortium.ProposalKind.RemoveMember
        ) {
            if (p.value != snap.targetInstance) ghostStaleExecution++;
        } else if (k == Consortium.ProposalKind.AddAdmin) {
            adminAdded++;
            if (_nominatedByAny(p.target)) nomineeNotBound++; // a nomination did not bar the promotion
        } else if (k == Consortium.ProposalKind.RemoveAdmin) {
            adminRemoved++;
        } else if (k == Consortium.ProposalKind.ChangeThreshold) {
            thresholdChanged++;
        } else if (k == Consortium.ProposalKind.AppointCertificateAuthority) {
            caAppointed++;
            if (_nominatedByAny(p.target)) nomineeNotBound++;
        } else if (k == Consortium.ProposalKind.DismissCertificateAuthority) {
            caDismissed++;
        } else {
            windowChanged++;
        }
        _snapEpoch(false);
    }

    function _dropOpen(uint256 id) internal {
        for (uint256 i = 0; i < _openIds.length; i++) {
            if (_openIds[i] == id) {
                _openIds[i] = _openIds[_openIds.length - 1];
                _openIds.pop();
                return;
            }
        }
    }

    function _snapEpoch(bool force) internal {
        uint64 epoch = consortium.adminEpoch();
        if (!force && epoch == _snappedEpoch) return;
        _snappedEpoch = epoch;
        for (uint256 i = 0; i < _openIds.length; i++) {
            _staleIds.push(_openIds[i]);
        }
        delete _openIds; // all stale now
        address[] memory current = consortium.admins();
        for (uint256 i = 0; i < current.length; i++) {
            address a = current[i];
            wasAdminInEpoch[epoch][a] = true;
            if (!_isEverAdmin[a]) {
                _isEverAdmin[a] = true;
                _everAdmin.push(a);
            }
        }
    }

    // ------------------------------------------------ member status tracking

    function _remember(address a) internal {
        lastStatus[a] = consortium.memberStatus(a);
        if (lastStatus[a] == Consortium.MemberStatus.None) return;
        Consortium.Member memory m = consortium.getMember(a);
        _lastApproved[a] = m.approvedKeyVersion;
        _lastInstance[a] = m.instance;
        _lastKeyVersion[a] = m.keyVersion;
    }

    /// @dev Checks every status change since the last action against the transition table, and the
    /// counters (instance, key version, approved version) against the cause of the change.
    /// Only applicants can change (None -> Pending needs a successful application, which adds the account).
    function _observe(Cause cause) internal {
        for (uint256 i = 0; i < _applicants.length; i++) {
            address a = _applicants[i];
            Consortium.MemberStatus from = lastStatus[a];
            Consortium.MemberStatus to = consortium.memberStatus(a);
            if (from == to && consortium.keyVersionOf(a) == _lastKeyVersion[a]) continue;
            if (to == Consortium.MemberStatus.None) {
                ghostTransitionViolations++;
                continue;
            }
            Consortium.Member memory m = consortium.getMember(a);
            if (from != to) {
                if (!_allowed(from, to, cause, _lastApproved[a], m)) ghostTransitionViolations++;
                _countReach(from, to);
            }
            bool applied = cause == Cause.Apply && to == Consortium.MemberStatus.Pending && from != to;
            if (applied) {
                if (m.instance != _lastInstance[a] + 1 || m.keyVersion != _lastKeyVersion[a] + 1) {
                    ghostCounterViolations++;
                }
                if (m.approvedKeyVersion != 0) ghostCounterViolations++;
            } else {
                if (m.instance != _lastInstance[a]) ghostCounterViolations++;
                if (m.keyVersion < _lastKeyVersion[a] || (m.keyVersion > _lastKeyVersion[a] && cause != Cause.Rotate)) {
                    ghostCounterViolations++;
                }
            }
            if (m.approvedKeyVersion > m.keyVersion) ghostCounterViolations++;
            _remember(a);
        }
    }

    function _allowed(
        Consortium.MemberStatus from,
        Consortium.MemberStatus to,
        Cause cause,
        uint32 approvedBefore,
        Consortium.Member memory m
    ) internal pure returns (bool) {
        Consortium.MemberStatus None = Consortium.MemberStatus.None;
        Consortium.MemberStatus Pending = Consortium.MemberStatus.Pending;
        Consortium.MemberStatus Active = Consortium.MemberStatus.Active;
        Consortium.MemberStatus Suspended = Consortium.MemberStatus.Suspended;
        Consortium.MemberStatus Removed = Consortium.MemberStatus.Removed;
        Consortium.MemberStatus Withdrawn = Consortium.MemberStatus.Withdrawn;
        bool byProposal = cause == Cause.Proposal;
        if (to == Pending && (from == None || from == Removed || from == Withdrawn)) return cause == Cause.Apply;
        if (from == Pending) {
            if (to == Active) return byProposal && m.approvedKeyVersion == m.keyVersion;
            if (to == Suspended) return byProposal && approvedBefore != 0;
            if (to == Removed) return byProposal;
            if (to == Withdrawn) return cause == Cause.Withdraw && approvedBefore == 0;
            return false;
        }
        if (from == Active) {
            if (to == Pending) return cause == Cause.Rotate;
            return (to == Suspended || to == Removed) && byProposal;
        }
        if (from == Suspended) {
            if (to == Active) return byProposal && m.approvedKeyVersion == m.keyVersion;
            if (to == Pending) return byProposal && m.approvedKeyVersion != m.keyVersion;
            return to == Removed && byProposal;
        }
        return false;
    }

    function _countReach(Consortium.MemberStatus from, Consortium.MemberStatus to) internal {
        if (to == Consortium.MemberStatus.Active && from == Consortium.MemberStatus.Pending) memberApproved++;
        if (to == Consortium.MemberStatus.Suspended) {
            memberSuspended++;
            if (from == Consortium.MemberStatus.Pending) suspendedAfterRotation++;
        }
        if (from == Consortium.MemberStatus.Suspended && to != Consortium.MemberStatus.Removed) memberReinstated++;
        if (to == Consortium.MemberStatus.Removed) memberRemoved++;
        if (to == Consortium.MemberStatus.Pending) {
            if (from == Consortium.MemberStatus.Removed || from == Consortium.MemberStatus.Withdrawn) reapplied++;
        }
        if (to == Consortium.MemberStatus.Withdrawn) withdrawn++;
    }

    function _key(uint256 seed) internal pure returns (bytes memory) {
        return abi.encodePacked(keccak256(abi.encode(seed, "x")), keccak256(abi.encode(seed, "y")));
    }
}
