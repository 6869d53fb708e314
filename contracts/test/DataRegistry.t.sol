// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.11;

import {Base, DataEvents} from "./Base.t.sol";
import {Consortium, NotActiveMember, ZeroAddress} from "../src/Consortium.sol";
import {DataRegistry} from "../src/DataRegistry.sol";

contract DataRegistryTest is Base, DataEvents {
    bytes32 internal constant DS = keccak256("ds-alice");
    bytes32 internal constant SCHEMA = keccak256("schema");
    string internal constant META = '{"columns":["id","age"]}';

    DataRegistry.Visibility internal constant PUBLIC = DataRegistry.Visibility.Public;
    DataRegistry.Visibility internal constant LISTED = DataRegistry.Visibility.Listed;
    DataRegistry.Visibility internal constant PRIVATE = DataRegistry.Visibility.Private;
    Consortium.ProposalKind internal constant REMOVE_MEMBER = Consortium.ProposalKind.RemoveMember;

    function _register(address owner, bytes32 id, DataRegistry.Visibility v) internal {
        vm.prank(owner);
        data.register(id, SCHEMA, 10, META, v);
    }

    // --------------------------------------------------------------- register

    function test_constants() public view {
        assertEq(address(data.consortium()), address(consortium));
        assertEq(data.MAX_METADATA_LENGTH(), 4096);
        assertEq(data.MAX_PAGE(), 100);
        assertEq(data.datasetCount(), 0);
    }

    function test_register() public {
        vm.roll(1234);
        vm.expectEmit(true, true, true, true);
        emit DatasetRegistered(DS, alice, SCHEMA, 10, LISTED, META);
        _register(alice, DS, LISTED);
        DataRegistry.Dataset memory d = data.getDataset(DS);
        assertEq(d.id, DS);
        assertEq(d.owner, alice);
        assertEq(d.schemaHash, SCHEMA);
        assertEq(d.rowCount, 10);
        assertEq(d.metadata, META);
        assertEq(uint256(d.visibility), uint256(LISTED));
        assertEq(uint256(d.status), uint256(DataRegistry.DatasetStatus.Active));
        assertEq(d.registeredBlock, 1234);
        assertEq(d.updatedBlock, 1234);
        assertTrue(data.isActive(DS));
        assertEq(data.ownerOf(DS), alice);
        assertEq(data.datasetCount(), 1);
    }

    function testRevert_register_notActiveMember() public {
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, outsider));
        _register(outsider, DS, PUBLIC);
    }

    function testRevert_register_zeroId() public {
        vm.expectRevert(DataRegistry.ZeroDatasetId.selector);
        _register(alice, bytes32(0), PUBLIC);
    }

    function testRevert_register_exists() public {
        _register(alice, DS, PUBLIC);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.DatasetExists.selector, DS));
        _register(bob, DS, PUBLIC);
        vm.prank(alice);
        data.retire(DS);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.DatasetExists.selector, DS));
        _register(alice, DS, PUBLIC);
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

    function testFuzz_register(bytes32 id, bytes32 schema, uint64 rows, uint256 metaLen, uint8 vis) public {
        vm.assume(id != bytes32(0) && schema != bytes32(0));
        metaLen = bound(metaLen, 0, 4096);
        DataRegistry.Visibility v = DataRegistry.Visibility(bound(vis, 0, 2));
        vm.prank(bob);
        data.register(id, schema, rows, _str(metaLen), v);
        DataRegistry.Dataset memory d = data.getDataset(id);
        assertEq(d.rowCount, rows);
        assertEq(bytes(d.metadata).length, metaLen);
        assertEq(uint256(d.visibility), uint256(v));
    }

    function testFuzz_register_nonMemberReverts(address caller) public {
        vm.assume(!consortium.isActive(caller));
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, caller));
        _register(caller, DS, PUBLIC);
    }

    // ----------------------------------------------------------------- update

    function test_update() public {
        _register(alice, DS, PUBLIC);
        vm.roll(2000);
        bytes32 schema2 = keccak256("schema2");
        vm.expectEmit(true, true, true, true);
        emit DatasetUpdated(DS, alice, schema2, 99, PRIVATE, "{}");
        vm.prank(alice);
        data.update(DS, schema2, 99, "{}", PRIVATE);
        DataRegistry.Dataset memory d = data.getDataset(DS);
        assertEq(d.schemaHash, schema2);
        assertEq(d.rowCount, 99);
        assertEq(d.metadata, "{}");
        assertEq(uint256(d.visibility), uint256(PRIVATE));
        assertEq(d.updatedBlock, 2000);
        assertEq(d.registeredBlock, 1000);
    }

    function testRevert_update_unknown() public {
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.UnknownDataset.selector, DS));
        vm.prank(alice);
        data.update(DS, SCHEMA, 1, META, PUBLIC);
    }

    function testRevert_update_notOwner() public {
        _register(alice, DS, PUBLIC);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.NotDatasetOwner.selector, DS, bob));
        vm.prank(bob);
        data.update(DS, SCHEMA, 1, META, PUBLIC);
    }

    function testRevert_update_retired() public {
        _register(alice, DS, PUBLIC);
        vm.prank(alice);
        data.retire(DS);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.DatasetIsRetired.selector, DS));
        vm.prank(alice);
        data.update(DS, SCHEMA, 1, META, PUBLIC);
    }

    function testRevert_update_ownerSuspended() public {
        _register(alice, DS, PUBLIC);
        _suspend(alice);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, alice));
        vm.prank(alice);
        data.update(DS, SCHEMA, 1, META, PUBLIC);
    }

    function testRevert_update_invalidFields() public {
        _register(alice, DS, PUBLIC);
        vm.expectRevert(DataRegistry.ZeroHash.selector);
        vm.prank(alice);
        data.update(DS, bytes32(0), 1, META, PUBLIC);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.InvalidMetadata.selector, 5000));
        vm.prank(alice);
        data.update(DS, SCHEMA, 1, _str(5000), PUBLIC);
    }

    function testFuzz_update_metadataLength(uint256 len) public {
        len = bound(len, 0, 5000);
        _register(alice, DS, PUBLIC);
        if (len > 4096) vm.expectRevert(abi.encodeWithSelector(DataRegistry.InvalidMetadata.selector, len));
        vm.prank(alice);
        data.update(DS, SCHEMA, 1, _str(len), LISTED);
        assertEq(uint256(data.getDataset(DS).visibility), len > 4096 ? uint256(PUBLIC) : uint256(LISTED));
    }

    // ----------------------------------------------------------------- retire

    function test_retire() public {
        _register(alice, DS, PUBLIC);
        vm.roll(3000);
        vm.expectEmit(true, true, true, true);
        emit DatasetRetired(DS, alice);
        vm.prank(alice);
        data.retire(DS);
        assertFalse(data.isActive(DS));
        assertFalse(data.isVisibleTo(DS, alice));
        DataRegistry.Dataset memory d = data.getDataset(DS);
        assertEq(uint256(d.status), uint256(DataRegistry.DatasetStatus.Retired));
        assertEq(d.updatedBlock, 3000);
        assertEq(data.ownerOf(DS), alice);
        assertEq(data.datasetCount(), 1);
    }

    function testRevert_retire_paths() public {
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.UnknownDataset.selector, DS));
        vm.prank(alice);
        data.retire(DS);
        _register(alice, DS, PUBLIC);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.NotDatasetOwner.selector, DS, bob));
        vm.prank(bob);
        data.retire(DS);
        vm.prank(alice);
        data.retire(DS);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.DatasetIsRetired.selector, DS));
        vm.prank(alice);
        data.retire(DS);
    }

    function test_retire_byInactiveOwner() public {
        bytes32 ds2 = keccak256("ds-bob");
        _register(alice, DS, PUBLIC);
        _register(bob, ds2, PUBLIC);
        _suspend(alice);
        _pass(REMOVE_MEMBER, bob, 0);

        vm.expectEmit(true, true, true, true);
        emit DatasetRetired(DS, alice);
        vm.prank(alice);
        data.retire(DS);
        assertEq(uint256(data.getDataset(DS).status), uint256(DataRegistry.DatasetStatus.Retired));

        vm.expectEmit(true, true, true, true);
        emit DatasetRetired(ds2, bob);
        vm.prank(bob);
        data.retire(ds2);
        assertFalse(data.isActive(ds2));
    }

    function testRevert_retire_inactiveOwnerStillChecked() public {
        _register(alice, DS, PUBLIC);
        _suspend(alice);
        _suspend(bob);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.NotDatasetOwner.selector, DS, bob));
        vm.prank(bob);
        data.retire(DS);
        vm.prank(alice);
        data.retire(DS);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.DatasetIsRetired.selector, DS));
        vm.prank(alice);
        data.retire(DS);
    }

    // ----------------------------------------------------------- grant/revoke

    function test_grantAndRevoke() public {
        _register(alice, DS, LISTED);
        assertFalse(data.isVisibleTo(DS, bob));
        vm.expectEmit(true, true, true, true);
        emit DatasetAccessGranted(DS, bob);
        vm.prank(alice);
        data.grant(DS, bob);
        assertTrue(data.isGranted(DS, bob));
        assertTrue(data.isVisibleTo(DS, bob));

        vm.expectEmit(true, true, true, true);
        emit DatasetAccessRevoked(DS, bob);
        vm.prank(alice);
        data.revoke(DS, bob);
        assertFalse(data.isGranted(DS, bob));
        assertFalse(data.isVisibleTo(DS, bob));
    }

    function test_grant_toPendingOrSuspendedMember() public {
        _register(alice, DS, LISTED);
        address dave = makeAddr("dave");
        _apply(dave, "Dave");
        _suspend(bob);
        vm.startPrank(alice);
        data.grant(DS, dave);
        data.grant(DS, bob);
        vm.stopPrank();
        assertTrue(data.isVisibleTo(DS, dave));
        assertTrue(data.isVisibleTo(DS, bob), "visibility does not look at membership");
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
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.AlreadyGranted.selector, DS, bob));
        vm.prank(alice);
        data.grant(DS, bob);
    }

    function testRevert_grant_ownershipChecks() public {
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.UnknownDataset.selector, DS));
        vm.prank(alice);
        data.grant(DS, bob);
        _register(alice, DS, LISTED);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.NotDatasetOwner.selector, DS, carol));
        vm.prank(carol);
        data.grant(DS, bob);
    }

    function testRevert_grant_ownerSuspended() public {
        _register(alice, DS, LISTED);
        _suspend(alice);
        vm.expectRevert(abi.encodeWithSelector(NotActiveMember.selector, alice));
        vm.prank(alice);
        data.grant(DS, bob);
        assertFalse(data.isGranted(DS, bob));
    }

    function test_revoke_bySuspendedOwner() public {
        _register(alice, DS, LISTED);
        vm.prank(alice);
        data.grant(DS, bob);
        _suspend(alice);
        vm.expectEmit(true, true, true, true);
        emit DatasetAccessRevoked(DS, bob);
        vm.prank(alice);
        data.revoke(DS, bob);
        assertFalse(data.isGranted(DS, bob));
        assertFalse(data.isVisibleTo(DS, bob));
    }

    function testRevert_revoke_suspendedOwnerStillChecked() public {
        _register(alice, DS, LISTED);
        _suspend(alice);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.NotGranted.selector, DS, bob));
        vm.prank(alice);
        data.revoke(DS, bob);
        vm.prank(alice);
        data.retire(DS);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.DatasetIsRetired.selector, DS));
        vm.prank(alice);
        data.revoke(DS, bob);
    }

    function testRevert_revoke_notGranted() public {
        _register(alice, DS, LISTED);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.NotGranted.selector, DS, bob));
        vm.prank(alice);
        data.revoke(DS, bob);
    }

    function testRevert_revoke_ownershipChecks() public {
        _register(alice, DS, LISTED);
        vm.prank(alice);
        data.grant(DS, bob);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.NotDatasetOwner.selector, DS, bob));
        vm.prank(bob);
        data.revoke(DS, bob);
        vm.prank(alice);
        data.retire(DS);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.DatasetIsRetired.selector, DS));
        vm.prank(alice);
        data.revoke(DS, bob);
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
        assertEq(data.isVisibleTo(DS, alice), !retired, "owner");
        bool bobSees = !retired && (v == PUBLIC || (v == LISTED && granted));
        assertEq(data.isVisibleTo(DS, bob), bobSees, "grantee");
        if (account != bob) assertEq(data.isVisibleTo(DS, account), !retired && v == PUBLIC, "anyone");
    }

    function test_views_unknown() public {
        assertFalse(data.isVisibleTo(DS, alice));
        assertFalse(data.isActive(DS));
        assertEq(data.ownerOf(DS), address(0));
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.UnknownDataset.selector, DS));
        data.getDataset(DS);
    }

    function test_datasetsPage() public {
        for (uint256 i = 1; i <= 3; i++) {
            _register(alice, bytes32(i), PUBLIC);
        }
        DataRegistry.Dataset[] memory page = data.datasetsPage(0, 10);
        assertEq(page.length, 3);
        assertEq(page[2].id, bytes32(uint256(3)));
        page = data.datasetsPage(1, 1);
        assertEq(page.length, 1);
        assertEq(page[0].id, bytes32(uint256(2)));
        assertEq(data.datasetsPage(3, 1).length, 0);
    }

    function testFuzz_datasetsPage(uint256 n, uint256 offset, uint256 limit) public {
        n = bound(n, 0, 120);
        for (uint256 i = 1; i <= n; i++) {
            _register(bob, bytes32(i), PUBLIC);
        }
        offset = bound(offset, 0, n + 5);
        DataRegistry.Dataset[] memory page = data.datasetsPage(offset, limit);
        uint256 lim = limit > 100 ? 100 : limit;
        uint256 expected = offset >= n ? 0 : (n - offset < lim ? n - offset : lim);
        assertEq(page.length, expected);
        for (uint256 i = 0; i < page.length; i++) {
            assertEq(page[i].id, bytes32(offset + i + 1));
        }
    }
}
