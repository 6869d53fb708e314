// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.11;

import {Base, DataEvents} from "./Base.t.sol";
import {Consortium, NotActiveMember, ZeroAddress} from "../src/Consortium.sol";
import {DataRegistry} from "../src/DataRegistry.sol";

abstract contract DataTestBase is Base, DataEvents {
    bytes32 internal constant DS = keccak256("ds-alice");
    bytes32 internal constant SHARED = keccak256("customers");
    bytes32 internal constant SCHEMA = keccak256("schema");
    bytes32 internal constant SCHEMA2 = keccak256("schema2");
    string internal constant META = '{"columns":["id","age"]}';

    DataRegistry.Visibility internal constant PUBLIC = DataRegistry.Visibility.Public;
    DataRegistry.Visibility internal constant LISTED = DataRegistry.Visibility.Listed;
    DataRegistry.Visibility internal constant PRIVATE = DataRegistry.Visibility.Private;

    function _register(address owner, bytes32 name, DataRegistry.Visibility v) internal {
        vm.prank(owner);
        data.register(name, SCHEMA, 10, META, v);
    }

    function _update(address owner, bytes32 name, bytes32 schema, uint64 rows, string memory meta) internal {
        vm.prank(owner);
        data.update(name, schema, rows, meta);
    }

    function _get(address owner, bytes32 name) internal view returns (DataRegistry.Dataset memory) {
        return data.getDataset(owner, name);
    }

    /// @dev The digest formula, written out independently of the contract.
    function _digest(address owner, bytes32 name, bytes32 schema, uint64 rows, string memory meta, uint32 version)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(owner, name, schema, rows, keccak256(bytes(meta)), version));
    }

    function _status(address owner, bytes32 name) internal view returns (uint256) {
        return uint256(_get(owner, name).status);
    }
}

contract DataRegistryTest is DataTestBase {
    // --------------------------------------------------------------- basics

    function test_constants() public view {
        assertEq(address(data.consortium()), address(consortium));
        assertEq(data.MAX_METADATA_LENGTH(), 4096);
        assertEq(data.MAX_PAGE(), 100);
        assertEq(data.datasetCount(), 0);
        assertEq(data.descriptionSeq(), 0);
    }

    function testFuzz_datasetKey(address owner, bytes32 name) public view {
        assertEq(data.datasetKey(owner, name), keccak256(abi.encode(owner, name)));
    }

    function test_datasetKey_separatesOwners() public view {
        assertTrue(data.datasetKey(alice, SHARED) != data.datasetKey(bob, SHARED));
        assertTrue(data.datasetKey(alice, SHARED) != data.datasetKey(alice, DS));
    }

    // --------------------------------------------------------------- register

    function test_register() public {
        vm.roll(1234);
        bytes32 digest = _digest(alice, DS, SCHEMA, 10, META, 1);
        vm.expectEmit(true, true, true, true, address(data));
        emit DatasetRegistered(alice, DS, SCHEMA, 10, LISTED, META, digest);
        _register(alice, DS, LISTED);

        DataRegistry.Dataset memory d = _get(alice, DS);
        assertEq(d.owner, alice);
        assertEq(d.name, DS);
        assertEq(d.schemaHash, SCHEMA);
        assertEq(d.rowCount, 10);
        assertEq(d.metadata, META);
        assertEq(d.metadataHash, keccak256(bytes(META)));
        assertEq(uint256(d.visibility), uint256(LISTED));
        assertEq(uint256(d.status), uint256(DataRegistry.DatasetStatus.Active));
        assertEq(d.version, 1);
        assertEq(d.registeredBlock, 1234);
        assertEq(d.updatedBlock, 1234);
        assertEq(d.descriptionSeq, 1);
        assertEq(d.digest, digest);
        assertTrue(data.isActive(alice, DS));
        assertEq(data.datasetCount(), 1);
        assertEq(data.descriptionSeq(), 1);
        assertEq(data.descriptionSeqOf(alice, DS), 1);
    }

    function test_register_digestFormula() public {
        string memory meta = '{"rows":"all"}';
        vm.prank(bob);
        data.register(SHARED, SCHEMA2, 77, meta, PUBLIC);
        bytes32 expected = keccak256(abi.encode(bob, SHARED, SCHEMA2, uint64(77), keccak256(bytes(meta)), uint32(1)));
        assertEq(_get(bob, SHARED).digest, expected);
        (bytes32 digest, uint64 seq) = data.checkUse(bob, SHARED, _pair(alice, bob));
        assertEq(digest, expected);
        assertEq(seq, 1);
    }

    function test_register_maxMetadata() public {
        vm.prank(alice);
        data.register(DS, SCHEMA, 1, _str(4096), PUBLIC);
        assertEq(bytes(_get(alice, DS).metadata).length, 4096);
    }

    function testRevert_register_notActiveMember() public {
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, outsider));
        _register(outsider, DS, PUBLIC);
    }

    function testRevert_register_suspendedRemovedOrPendingMember() public {
        _suspend(alice);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, alice));
        _register(alice, DS, PUBLIC);
        _remove(bob);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, bob));
        _register(bob, DS, PUBLIC);
        vm.prank(carol);
        consortium.rotateKey(_key(99)); // Pending until re-approved
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, carol));
        _register(carol, DS, PUBLIC);
        assertEq(data.datasetCount(), 0);
    }

    function testRevert_register_zeroName() public {
        vm.expectRevert(DataRegistry.ZeroDatasetName.selector);
        _register(alice, bytes32(0), PUBLIC);
    }

    function testRevert_register_exists() public {
        _register(alice, DS, PUBLIC);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.DatasetExists.selector, alice, DS));
        _register(alice, DS, PRIVATE);
    }

    function testRevert_register_retiredNameCannotBeReused() public {
        _register(alice, DS, PUBLIC);
        vm.prank(alice);
        data.retire(DS);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.DatasetExists.selector, alice, DS));
        _register(alice, DS, PUBLIC);
        assertEq(_status(alice, DS), uint256(DataRegistry.DatasetStatus.Retired));
        assertEq(data.datasetCount(), 1);
    }

    function testRevert_register_zeroSchemaHash() public {
        vm.expectRevert(DataRegistry.ZeroHash.selector);
        vm.prank(alice);
        data.register(DS, bytes32(0), 1, META, PUBLIC);
    }

    function testRevert_register_metadataTooLong() public {
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.InvalidMetadata.selector, 4097));
        vm.prank(alice);
        data.register(DS, SCHEMA, 1, _str(4097), PUBLIC);
    }

    function testFuzz_register(bytes32 name, bytes32 schema, uint64 rows, uint256 metaLen, uint8 vis) public {
        vm.assume(name != bytes32(0) && schema != bytes32(0));
        metaLen = bound(metaLen, 0, 4096);
        DataRegistry.Visibility v = DataRegistry.Visibility(bound(vis, 0, 2));
        string memory meta = _str(metaLen);
        vm.prank(bob);
        data.register(name, schema, rows, meta, v);
        DataRegistry.Dataset memory d = _get(bob, name);
        assertEq(d.owner, bob);
        assertEq(d.name, name);
        assertEq(d.rowCount, rows);
        assertEq(bytes(d.metadata).length, metaLen);
        assertEq(uint256(d.visibility), uint256(v));
        assertEq(d.version, 1);
        assertEq(d.digest, _digest(bob, name, schema, rows, meta, 1));
    }

    function testFuzz_register_nonMemberReverts(address caller) public {
        vm.assume(!consortium.isActive(caller));
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, caller));
        _register(caller, DS, PUBLIC);
    }

    // ---------------------------------------------- namespaces (attack tests)

    /// @dev Bob registering alice's name first (front-running her) does not block her: both datasets exist.
    function test_namespace_squatterDoesNotBlockOwner() public {
        vm.prank(bob);
        data.register(SHARED, SCHEMA2, 1, "{}", PUBLIC);
        vm.expectEmit(true, true, true, true, address(data));
        emit DatasetRegistered(alice, SHARED, SCHEMA, 10, LISTED, META, _digest(alice, SHARED, SCHEMA, 10, META, 1));
        _register(alice, SHARED, LISTED);

        DataRegistry.Dataset memory a = _get(alice, SHARED);
        DataRegistry.Dataset memory b = _get(bob, SHARED);
        assertEq(a.owner, alice);
        assertEq(b.owner, bob);
        assertEq(a.schemaHash, SCHEMA);
        assertEq(b.schemaHash, SCHEMA2);
        assertEq(uint256(a.visibility), uint256(LISTED));
        assertEq(uint256(b.visibility), uint256(PUBLIC));
        assertTrue(a.digest != b.digest);
        assertEq(data.datasetCount(), 2);
        assertEq(b.descriptionSeq, 1);
        assertEq(a.descriptionSeq, 2);
    }

    function test_namespace_grantsAreSeparate() public {
        _register(alice, SHARED, LISTED);
        _register(bob, SHARED, LISTED);
        vm.prank(alice);
        data.grant(SHARED, carol);
        assertTrue(data.isGranted(data.datasetKey(alice, SHARED), carol));
        assertFalse(data.isGranted(data.datasetKey(bob, SHARED), carol));
        assertTrue(data.isVisibleTo(alice, SHARED, carol));
        assertFalse(data.isVisibleTo(bob, SHARED, carol), "alice's grant does not open bob's dataset");

        // Bob cannot revoke alice's grant: his call acts on his own dataset of the same name.
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.NotGranted.selector, bob, SHARED, carol));
        vm.prank(bob);
        data.revoke(SHARED, carol);
        assertTrue(data.isVisibleTo(alice, SHARED, carol));
    }

    function test_namespace_retireNeverAffectsOtherOwner() public {
        _register(alice, SHARED, PUBLIC);
        _register(bob, SHARED, PUBLIC);
        bytes32 aliceDigest = _get(alice, SHARED).digest;

        vm.expectEmit(true, true, true, true, address(data));
        emit DatasetRetired(bob, SHARED);
        vm.prank(bob);
        data.retire(SHARED);
        assertFalse(data.isActive(bob, SHARED));
        assertTrue(data.isActive(alice, SHARED));
        assertTrue(data.isVisibleTo(alice, SHARED, carol));
        assertEq(_get(alice, SHARED).digest, aliceDigest);
        data.checkUse(alice, SHARED, _pair(bob, carol));

        // ... and the other way round.
        _register(carol, DS, PUBLIC);
        _register(alice, DS, PUBLIC);
        vm.prank(alice);
        data.retire(DS);
        assertTrue(data.isActive(carol, DS));
        assertFalse(data.isActive(alice, DS));
    }

    function testRevert_namespace_cannotTouchAnotherOwnersDataset() public {
        _register(alice, DS, LISTED);
        bytes memory unknown = abi.encodeWithSelector(DataRegistry.UnknownDataset.selector, bob, DS);
        vm.startPrank(bob);
        vm.expectRevert(unknown);
        data.update(DS, SCHEMA2, 1, "{}");
        vm.expectRevert(unknown);
        data.setVisibility(DS, PUBLIC);
        vm.expectRevert(unknown);
        data.grant(DS, bob);
        vm.expectRevert(unknown);
        data.revoke(DS, bob);
        vm.expectRevert(unknown);
        data.retire(DS);
        vm.stopPrank();
        DataRegistry.Dataset memory d = _get(alice, DS);
        assertEq(d.version, 1);
        assertEq(uint256(d.visibility), uint256(LISTED));
        assertEq(uint256(d.status), uint256(DataRegistry.DatasetStatus.Active));
        assertFalse(data.isVisibleTo(alice, DS, bob));
    }

    /// @dev Whatever another member does with a name in its own namespace, the victim's dataset of that name
    /// keeps its description, status, visibility and grants.
    function testFuzz_namespace_isolation(bytes32 name, uint8 ops, uint64 rows) public {
        vm.assume(name != bytes32(0) && rows != 10);
        _register(alice, name, LISTED);
        vm.prank(alice);
        data.grant(name, carol);
        DataRegistry.Dataset memory before = _get(alice, name);

        _register(bob, name, PUBLIC);
        vm.startPrank(bob);
        if (ops & 1 != 0) data.update(name, SCHEMA2, rows, "{}");
        if (ops & 2 != 0) data.setVisibility(name, PRIVATE);
        if (ops & 4 != 0) data.grant(name, carol);
        if (ops & 8 != 0) data.retire(name);
        vm.stopPrank();

        DataRegistry.Dataset memory d = _get(alice, name);
        assertEq(d.digest, before.digest);
        assertEq(d.version, 1);
        assertEq(d.descriptionSeq, before.descriptionSeq);
        assertEq(uint256(d.status), uint256(DataRegistry.DatasetStatus.Active));
        assertEq(uint256(d.visibility), uint256(LISTED));
        assertTrue(data.isVisibleTo(alice, name, carol));
        assertFalse(data.isVisibleTo(alice, name, bob));
        assertEq(data.isActive(bob, name), ops & 8 == 0);
    }

    // ----------------------------------------------------------------- update

    function test_update() public {
        _register(alice, DS, LISTED);
        vm.prank(alice);
        data.grant(DS, bob);
        vm.roll(2000);
        bytes32 digest = _digest(alice, DS, SCHEMA2, 99, "{}", 2);
        vm.expectEmit(true, true, true, true, address(data));
        emit DatasetUpdated(alice, DS, SCHEMA2, 99, "{}", 2, digest);
        _update(alice, DS, SCHEMA2, 99, "{}");

        DataRegistry.Dataset memory d = _get(alice, DS);
        assertEq(d.schemaHash, SCHEMA2);
        assertEq(d.rowCount, 99);
        assertEq(d.metadata, "{}");
        assertEq(d.metadataHash, keccak256(bytes("{}")));
        assertEq(d.version, 2);
        assertEq(d.digest, digest);
        assertEq(d.descriptionSeq, 2);
        assertEq(data.descriptionSeq(), 2);
        assertEq(d.updatedBlock, 2000);
        assertEq(d.registeredBlock, 1000);
        assertEq(uint256(d.visibility), uint256(LISTED), "update keeps the visibility");
        assertTrue(data.isVisibleTo(alice, DS, bob), "update keeps the grants");
    }

    function test_update_eachFieldIsAChange() public {
        _register(alice, DS, PUBLIC);
        _update(alice, DS, SCHEMA2, 10, META);
        assertEq(_get(alice, DS).version, 2);
        _update(alice, DS, SCHEMA2, 11, META);
        assertEq(_get(alice, DS).version, 3);
        _update(alice, DS, SCHEMA2, 11, "{}");
        DataRegistry.Dataset memory d = _get(alice, DS);
        assertEq(d.version, 4);
        assertEq(d.descriptionSeq, 4);
        assertEq(d.digest, _digest(alice, DS, SCHEMA2, 11, "{}", 4));
    }

    function test_update_revertingToAnEarlierDescriptionStillBumpsVersion() public {
        _register(alice, DS, PUBLIC);
        bytes32 v1 = _get(alice, DS).digest;
        _update(alice, DS, SCHEMA2, 10, META);
        _update(alice, DS, SCHEMA, 10, META);
        DataRegistry.Dataset memory d = _get(alice, DS);
        assertEq(d.version, 3);
        assertTrue(d.digest != v1, "the version is part of the digest");
    }

    function testRevert_update_unchanged() public {
        _register(alice, DS, PUBLIC);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.UnchangedDescription.selector, alice, DS));
        _update(alice, DS, SCHEMA, 10, META);
        assertEq(_get(alice, DS).version, 1);
        assertEq(data.descriptionSeq(), 1);
    }

    function testRevert_update_unknown() public {
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.UnknownDataset.selector, alice, DS));
        _update(alice, DS, SCHEMA, 1, META);
    }

    function testRevert_update_retired() public {
        _register(alice, DS, PUBLIC);
        vm.prank(alice);
        data.retire(DS);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.DatasetIsRetired.selector, alice, DS));
        _update(alice, DS, SCHEMA2, 1, META);
    }

    function testRevert_update_ownerNotActive() public {
        _register(alice, DS, PUBLIC);
        _register(bob, DS, PUBLIC);
        _suspend(alice);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, alice));
        _update(alice, DS, SCHEMA2, 1, META);
        _remove(bob);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, bob));
        _update(bob, DS, SCHEMA2, 1, META);
    }

    function testRevert_update_invalidFields() public {
        _register(alice, DS, PUBLIC);
        vm.expectRevert(DataRegistry.ZeroHash.selector);
        _update(alice, DS, bytes32(0), 1, META);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.InvalidMetadata.selector, 5000));
        _update(alice, DS, SCHEMA, 1, _str(5000));
    }

    function testFuzz_update_metadataLength(uint256 len) public {
        len = bound(len, 0, 5000);
        _register(alice, DS, PUBLIC);
        if (len > 4096) vm.expectRevert(abi.encodeWithSelector(DataRegistry.InvalidMetadata.selector, len));
        _update(alice, DS, SCHEMA2, 1, _str(len));
        assertEq(_get(alice, DS).version, len > 4096 ? 1 : 2);
    }

    function testFuzz_update_digest(bytes32 schema, uint64 rows, string memory meta, uint8 times) public {
        vm.assume(schema != bytes32(0) && bytes(meta).length <= 4096);
        uint256 n = bound(times, 1, 5);
        vm.prank(carol);
        data.register(DS, SCHEMA, type(uint64).max, META, PRIVATE); // no update below repeats this row count
        for (uint256 i = 1; i <= n; i++) {
            // rows + i differs from the previous row count, so every update is a change.
            uint64 r = uint64(bound(rows, 0, type(uint64).max - 10)) + uint64(i);
            _update(carol, DS, schema, r, meta);
            DataRegistry.Dataset memory d = _get(carol, DS);
            assertEq(d.version, i + 1);
            assertEq(d.digest, _digest(carol, DS, schema, r, meta, uint32(i + 1)));
            assertEq(d.descriptionSeq, i + 1);
        }
    }

    // ------------------------------------------------------------ visibility

    function test_setVisibility_keepsTheDescription() public {
        _register(alice, DS, PUBLIC);
        _register(bob, DS, PUBLIC);
        DataRegistry.Dataset memory before = _get(alice, DS);
        vm.roll(3000);
        vm.expectEmit(true, true, true, true, address(data));
        emit DatasetVisibilityChanged(alice, DS, PRIVATE);
        vm.prank(alice);
        data.setVisibility(DS, PRIVATE);

        DataRegistry.Dataset memory d = _get(alice, DS);
        assertEq(uint256(d.visibility), uint256(PRIVATE));
        assertEq(d.updatedBlock, 3000);
        assertEq(d.version, before.version);
        assertEq(d.digest, before.digest);
        assertEq(d.descriptionSeq, before.descriptionSeq);
        assertEq(d.metadataHash, before.metadataHash);
        assertEq(data.descriptionSeq(), 2, "the registry-wide counter does not move");
        assertFalse(data.isVisibleTo(alice, DS, bob));
    }

    function test_setVisibility_sameValueIsAllowed() public {
        _register(alice, DS, LISTED);
        vm.expectEmit(true, true, true, true, address(data));
        emit DatasetVisibilityChanged(alice, DS, LISTED);
        vm.prank(alice);
        data.setVisibility(DS, LISTED);
        assertEq(_get(alice, DS).version, 1);
    }

    function testRevert_setVisibility_unknownOrRetired() public {
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.UnknownDataset.selector, alice, DS));
        vm.prank(alice);
        data.setVisibility(DS, PUBLIC);
        _register(alice, DS, PRIVATE);
        vm.prank(alice);
        data.retire(DS);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.DatasetIsRetired.selector, alice, DS));
        vm.prank(alice);
        data.setVisibility(DS, PUBLIC);
    }

    function testRevert_setVisibility_ownerNotActive() public {
        _register(alice, DS, PRIVATE);
        _suspend(alice);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, alice));
        vm.prank(alice);
        data.setVisibility(DS, PUBLIC);
        assertEq(uint256(_get(alice, DS).visibility), uint256(PRIVATE));
    }

    // ------------------------------------------------------- descriptionSeq

    /// @dev Random registrations, updates, visibility changes and retirements by three owners: every
    /// description change takes the next registry-wide number, nothing else moves it.
    function testFuzz_descriptionSeq_strictlyIncreasing(uint256 seed) public {
        address[3] memory owners = [alice, bob, carol];
        uint64 last = 0;
        for (uint256 i = 0; i < 24; i++) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            address owner = owners[r % 3];
            bytes32 name = bytes32((r >> 8) % 4 + 1);
            uint256 op = (r >> 16) % 8;
            uint64 seqBefore = data.descriptionSeqOf(owner, name);
            bool known = seqBefore != 0;
            vm.startPrank(owner);
            if (!known) {
                data.register(name, SCHEMA, 1, META, PUBLIC);
            } else if (!data.isActive(owner, name)) {
                vm.stopPrank();
                continue;
            } else if (op < 4) {
                data.update(name, SCHEMA, uint64(100 + i), META);
            } else if (op < 7) {
                data.setVisibility(name, DataRegistry.Visibility(op % 3));
            } else {
                data.retire(name);
            }
            vm.stopPrank();
            bool described = !known || op < 4;
            if (described) {
                assertEq(data.descriptionSeq(), last + 1, "next number");
                assertEq(data.descriptionSeqOf(owner, name), last + 1);
                assertGt(data.descriptionSeqOf(owner, name), seqBefore);
                last += 1;
            } else {
                assertEq(data.descriptionSeq(), last, "no description change");
                assertEq(data.descriptionSeqOf(owner, name), seqBefore);
            }
        }
        // Every dataset holds a distinct number.
        DataRegistry.DatasetSummary[] memory page = data.datasetsPage(0, 100);
        for (uint256 i = 0; i < page.length; i++) {
            for (uint256 j = i + 1; j < page.length; j++) {
                assertTrue(
                    data.descriptionSeqOf(page[i].owner, page[i].name)
                        != data.descriptionSeqOf(page[j].owner, page[j].name)
                );
            }
        }
    }

    // ----------------------------------------------------------------- retire

    function test_retire() public {
        _register(alice, DS, PUBLIC);
        DataRegistry.Dataset memory before = _get(alice, DS);
        vm.roll(3000);
        vm.expectEmit(true, true, true, true, address(data));
        emit DatasetRetired(alice, DS);
        vm.prank(alice);
        data.retire(DS);
        assertFalse(data.isActive(alice, DS));
        assertFalse(data.isVisibleTo(alice, DS, alice));
        DataRegistry.Dataset memory d = _get(alice, DS);
        assertEq(uint256(d.status), uint256(DataRegistry.DatasetStatus.Retired));
        assertEq(d.updatedBlock, 3000);
        assertEq(d.digest, before.digest);
        assertEq(d.version, 1);
        assertEq(data.descriptionSeqOf(alice, DS), 1);
        assertEq(data.datasetCount(), 1);
    }

    function testRevert_retire_unknownOrRetired() public {
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.UnknownDataset.selector, alice, DS));
        vm.prank(alice);
        data.retire(DS);
        _register(alice, DS, PUBLIC);
        vm.prank(alice);
        data.retire(DS);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.DatasetIsRetired.selector, alice, DS));
        vm.prank(alice);
        data.retire(DS);
    }

    function test_retire_bySuspendedOrRemovedOwner() public {
        _register(alice, DS, PUBLIC);
        _register(bob, DS, PUBLIC);
        _suspend(alice);
        _remove(bob);

        vm.expectEmit(true, true, true, true, address(data));
        emit DatasetRetired(alice, DS);
        vm.prank(alice);
        data.retire(DS);
        assertEq(_status(alice, DS), uint256(DataRegistry.DatasetStatus.Retired));

        vm.expectEmit(true, true, true, true, address(data));
        emit DatasetRetired(bob, DS);
        vm.prank(bob);
        data.retire(DS);
        assertFalse(data.isActive(bob, DS));
    }

    // ----------------------------------------------------------- grant/revoke

    function test_grantAndRevoke() public {
        _register(alice, DS, LISTED);
        bytes32 key = data.datasetKey(alice, DS);
        assertFalse(data.isVisibleTo(alice, DS, bob));
        vm.expectEmit(true, true, true, true, address(data));
        emit DatasetAccessGranted(alice, DS, bob);
        vm.prank(alice);
        data.grant(DS, bob);
        assertTrue(data.isGranted(key, bob));
        assertTrue(data.isVisibleTo(alice, DS, bob));
        assertEq(_get(alice, DS).version, 1, "a grant is not a description change");

        vm.expectEmit(true, true, true, true, address(data));
        emit DatasetAccessRevoked(alice, DS, bob);
        vm.prank(alice);
        data.revoke(DS, bob);
        assertFalse(data.isGranted(key, bob));
        assertFalse(data.isVisibleTo(alice, DS, bob));
    }

    function test_grant_toPendingSuspendedOrRemovedMember() public {
        _register(alice, DS, LISTED);
        address dave = makeAddr("dave");
        _apply(dave, "Dave");
        _suspend(bob);
        _remove(carol);
        vm.startPrank(alice);
        data.grant(DS, dave);
        data.grant(DS, bob);
        data.grant(DS, carol);
        vm.stopPrank();
        assertTrue(data.isVisibleTo(alice, DS, dave));
        assertTrue(data.isVisibleTo(alice, DS, bob), "visibility does not look at membership");
        assertTrue(data.isVisibleTo(alice, DS, carol));
    }

    function testRevert_grant_zeroAddress() public {
        _register(alice, DS, LISTED);
        vm.expectRevert(ZeroAddress.selector);
        vm.prank(alice);
        data.grant(DS, address(0));
    }

    function testRevert_grant_unknownMember() public {
        _register(alice, DS, LISTED);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.UnknownMember.selector, outsider));
        vm.prank(alice);
        data.grant(DS, outsider);
    }

    function testRevert_grant_alreadyGranted() public {
        _register(alice, DS, LISTED);
        vm.prank(alice);
        data.grant(DS, bob);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.AlreadyGranted.selector, alice, DS, bob));
        vm.prank(alice);
        data.grant(DS, bob);
    }

    function testRevert_grant_unknownOrRetired() public {
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.UnknownDataset.selector, alice, DS));
        vm.prank(alice);
        data.grant(DS, bob);
        _register(alice, DS, LISTED);
        vm.prank(alice);
        data.retire(DS);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.DatasetIsRetired.selector, alice, DS));
        vm.prank(alice);
        data.grant(DS, bob);
    }

    function testRevert_grant_ownerNotActive() public {
        _register(alice, DS, LISTED);
        _register(bob, DS, LISTED);
        _suspend(alice);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, alice));
        vm.prank(alice);
        data.grant(DS, carol);
        _remove(bob);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, bob));
        vm.prank(bob);
        data.grant(DS, carol);
        assertFalse(data.isVisibleTo(alice, DS, carol));
        assertFalse(data.isVisibleTo(bob, DS, carol));
    }

    function test_revoke_bySuspendedOrRemovedOwner() public {
        _register(alice, DS, LISTED);
        _register(bob, DS, LISTED);
        vm.prank(alice);
        data.grant(DS, carol);
        vm.prank(bob);
        data.grant(DS, carol);
        _suspend(alice);
        _remove(bob);

        vm.expectEmit(true, true, true, true, address(data));
        emit DatasetAccessRevoked(alice, DS, carol);
        vm.prank(alice);
        data.revoke(DS, carol);
        assertFalse(data.isVisibleTo(alice, DS, carol));

        vm.expectEmit(true, true, true, true, address(data));
        emit DatasetAccessRevoked(bob, DS, carol);
        vm.prank(bob);
        data.revoke(DS, carol);
        assertFalse(data.isVisibleTo(bob, DS, carol));
    }

    function testRevert_revoke_notGranted() public {
        _register(alice, DS, LISTED);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.NotGranted.selector, alice, DS, bob));
        vm.prank(alice);
        data.revoke(DS, bob);
    }

    function testRevert_revoke_unknownOrRetired() public {
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.UnknownDataset.selector, alice, DS));
        vm.prank(alice);
        data.revoke(DS, bob);
        _register(alice, DS, LISTED);
        vm.prank(alice);
        data.grant(DS, bob);
        vm.prank(alice);
        data.retire(DS);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.DatasetIsRetired.selector, alice, DS));
        vm.prank(alice);
        data.revoke(DS, bob);
    }

    // --------------------------------------------------------------- checkUse

    function test_checkUse() public {
        _register(alice, DS, LISTED);
        vm.prank(alice);
        data.grant(DS, bob);
        _register(bob, SHARED, PUBLIC);
        _update(alice, DS, SCHEMA2, 5, META);

        (bytes32 digest, uint64 seq) = data.checkUse(alice, DS, _pair(alice, bob));
        assertEq(digest, _digest(alice, DS, SCHEMA2, 5, META, 2));
        assertEq(seq, 3);
        assertEq(seq, data.descriptionSeqOf(alice, DS));
        (digest, seq) = data.checkUse(bob, SHARED, _trio(alice, bob, outsider));
        assertEq(digest, _get(bob, SHARED).digest);
        assertEq(seq, 2);
        (digest, seq) = data.checkUse(alice, DS, new address[](0));
        assertEq(seq, 3);
    }

    function testRevert_checkUse_notActive() public {
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.DatasetNotActive.selector, alice, DS));
        data.checkUse(alice, DS, _pair(alice, bob));
        _register(alice, DS, PUBLIC);
        vm.prank(alice);
        data.retire(DS);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.DatasetNotActive.selector, alice, DS));
        data.checkUse(alice, DS, _pair(alice, bob));
    }

    function testRevert_checkUse_firstInvisibleParticipant() public {
        _register(alice, DS, LISTED);
        vm.prank(alice);
        data.grant(DS, bob);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.DatasetNotVisible.selector, alice, DS, carol));
        data.checkUse(alice, DS, _trio(bob, carol, outsider));
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.DatasetNotVisible.selector, alice, DS, outsider));
        data.checkUse(alice, DS, _trio(alice, outsider, carol));
    }

    function testRevert_checkUse_private() public {
        _register(alice, DS, PRIVATE);
        vm.prank(alice);
        data.grant(DS, bob); // a grant does not open a Private dataset
        address[] memory ownerOnly = new address[](1);
        ownerOnly[0] = alice;
        data.checkUse(alice, DS, ownerOnly);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.DatasetNotVisible.selector, alice, DS, bob));
        data.checkUse(alice, DS, _pair(alice, bob));
    }

    function testFuzz_checkUse_matchesIsVisibleTo(uint8 vis, bool grantBob, bool grantCarol, bool retired) public {
        DataRegistry.Visibility v = DataRegistry.Visibility(bound(vis, 0, 2));
        _register(alice, DS, v);
        vm.startPrank(alice);
        if (grantBob) data.grant(DS, bob);
        if (grantCarol) data.grant(DS, carol);
        if (retired) data.retire(DS);
        vm.stopPrank();
        address[] memory ps = _trio(alice, bob, carol);
        bool reverts = true;
        if (retired) {
            vm.expectRevert(abi.encodeWithSelector(DataRegistry.DatasetNotActive.selector, alice, DS));
        } else if (!data.isVisibleTo(alice, DS, bob)) {
            vm.expectRevert(abi.encodeWithSelector(DataRegistry.DatasetNotVisible.selector, alice, DS, bob));
        } else if (!data.isVisibleTo(alice, DS, carol)) {
            vm.expectRevert(abi.encodeWithSelector(DataRegistry.DatasetNotVisible.selector, alice, DS, carol));
        } else {
            reverts = false;
        }
        (bytes32 digest, uint64 seq) = data.checkUse(alice, DS, ps);
        bool ok = !retired && (v == PUBLIC || (v == LISTED && grantBob && grantCarol));
        assertEq(!reverts, ok);
        if (ok) {
            assertEq(digest, _get(alice, DS).digest);
            assertEq(seq, 1);
        }
    }

    // ------------------------------------------------------------------ views

    function testFuzz_isVisibleTo(uint8 vis, bool granted, bool retired, address account) public {
        vm.assume(account != alice && account != address(0));
        DataRegistry.Visibility v = DataRegistry.Visibility(bound(vis, 0, 2));
        _register(alice, DS, v);
        if (granted) {
            vm.prank(alice);
            data.grant(DS, bob);
        }
        if (retired) {
            vm.prank(alice);
            data.retire(DS);
        }
        assertEq(data.isVisibleTo(alice, DS, alice), !retired, "owner");
        bool bobSees = !retired && (v == PUBLIC || (v == LISTED && granted));
        assertEq(data.isVisibleTo(alice, DS, bob), bobSees, "grantee");
        if (account != bob) assertEq(data.isVisibleTo(alice, DS, account), !retired && v == PUBLIC, "anyone");
        assertFalse(data.isVisibleTo(bob, DS, bob), "another owner's namespace is empty");
    }

    function test_isVisibleTo_grantSurvivesVisibilityChanges() public {
        _register(alice, DS, LISTED);
        vm.prank(alice);
        data.grant(DS, bob);
        vm.prank(alice);
        data.setVisibility(DS, PRIVATE);
        assertFalse(data.isVisibleTo(alice, DS, bob));
        vm.prank(alice);
        data.setVisibility(DS, LISTED);
        assertTrue(data.isVisibleTo(alice, DS, bob));
    }

    function test_views_unknown() public {
        assertFalse(data.isVisibleTo(alice, DS, alice));
        assertFalse(data.isActive(alice, DS));
        assertEq(data.descriptionSeqOf(alice, DS), 0);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.UnknownDataset.selector, alice, DS));
        data.getDataset(alice, DS);
        _register(bob, DS, PUBLIC);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.UnknownDataset.selector, alice, DS));
        data.getDataset(alice, DS);
    }

    function test_datasetsPage() public {
        for (uint256 i = 1; i <= 3; i++) {
            _register(i == 2 ? bob : alice, bytes32(i), PUBLIC);
        }
        vm.prank(alice);
        data.retire(bytes32(uint256(3)));
        _update(bob, bytes32(uint256(2)), SCHEMA2, 3, "{}");

        DataRegistry.DatasetSummary[] memory page = data.datasetsPage(0, 10);
        assertEq(page.length, 3);
        assertEq(page[2].name, bytes32(uint256(3)));
        assertEq(uint256(page[2].status), uint256(DataRegistry.DatasetStatus.Retired));
        DataRegistry.Dataset memory d = _get(bob, bytes32(uint256(2)));
        DataRegistry.DatasetSummary memory s = page[1];
        assertEq(s.owner, bob);
        assertEq(s.name, d.name);
        assertEq(s.schemaHash, d.schemaHash);
        assertEq(s.rowCount, d.rowCount);
        assertEq(uint256(s.visibility), uint256(d.visibility));
        assertEq(uint256(s.status), uint256(d.status));
        assertEq(s.version, 2);
        assertEq(s.registeredBlock, d.registeredBlock);
        assertEq(s.updatedBlock, d.updatedBlock);
        assertEq(s.metadataHash, keccak256(bytes("{}")));
        assertEq(s.digest, d.digest);

        page = data.datasetsPage(1, 1);
        assertEq(page.length, 1);
        assertEq(page[0].name, bytes32(uint256(2)));
        assertEq(data.datasetsPage(3, 1).length, 0);
        assertEq(data.datasetsPage(0, 0).length, 0);
        assertEq(data.datasetsPage(type(uint256).max, 1).length, 0);
    }

    function testFuzz_datasetsPage(uint256 n, uint256 offset, uint256 limit) public {
        n = bound(n, 0, 120);
        for (uint256 i = 1; i <= n; i++) {
            _register(i % 2 == 0 ? bob : carol, bytes32(i), PUBLIC);
        }
        offset = bound(offset, 0, n + 5);
        limit = bound(limit, 0, 300);
        DataRegistry.DatasetSummary[] memory page = data.datasetsPage(offset, limit);
        uint256 lim = limit > 100 ? 100 : limit;
        uint256 expected = offset >= n ? 0 : (n - offset < lim ? n - offset : lim);
        assertEq(page.length, expected);
        for (uint256 i = 0; i < page.length; i++) {
            assertEq(page[i].name, bytes32(offset + i + 1));
            assertEq(page[i].owner, (offset + i + 1) % 2 == 0 ? bob : carol);
        }
    }
}

/// @notice "Views that fit any call": a full registry (1000 datasets with maximal metadata) is read page by
/// page, and every page stays far below a block's gas.
contract DataRegistryPageGasTest is DataTestBase {
    uint256 internal constant DATASETS = 1000;
    uint256 internal constant PAGE_GAS_BOUND = 10_000_000;

    function test_datasetsPage_gasBoundWithFullRegistry() public {
        address[3] memory owners = [alice, bob, carol];
        string memory meta = _str(4096);
        vm.pauseGasMetering(); // filling the registry costs billions of gas; only the reads are measured
        for (uint256 i = 0; i < DATASETS; i++) {
            vm.prank(owners[i % 3]);
            data.register(bytes32(i + 1), SCHEMA, uint64(i), meta, PUBLIC);
        }
        vm.resumeGasMetering();
        assertEq(data.datasetCount(), DATASETS);

        uint256 maxUsed;
        uint256 seen;
        for (uint256 offset = 0; offset <= DATASETS; offset += 100) {
            vm.cool(address(data)); // every slot cold again, as in a fresh call
            uint256 g = gasleft();
            DataRegistry.DatasetSummary[] memory page = data.datasetsPage{gas: PAGE_GAS_BOUND}(offset, 100);
            uint256 used = g - gasleft();
            assertLt(used, PAGE_GAS_BOUND, "page fits a call");
            if (used > maxUsed) maxUsed = used;
            assertEq(page.length, offset < DATASETS ? 100 : 0);
            for (uint256 i = 0; i < page.length; i++) {
                assertEq(page[i].name, bytes32(offset + i + 1));
                assertEq(page[i].owner, owners[(offset + i) % 3]);
                assertEq(page[i].metadataHash, keccak256(bytes(meta)));
            }
            seen += page.length;
        }
        assertEq(seen, DATASETS);
        // A page reads 100 records of ~11 slots each: far more than 100 cold reads, far less than the bound.
        assertGt(maxUsed, 100 * 2100);
        emit log_named_uint("max gas of a 100-entry page", maxUsed);
    }
}
