// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.11;

// Single entry point for forge-std (1.9.7, from @layerzerolabs/toolbox-foundry; see foundry.toml).
import {TestBase} from "forge-std/Base.sol";
import {StdAssertions} from "forge-std/StdAssertions.sol";
import {StdChains} from "forge-std/StdChains.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdInvariant} from "forge-std/StdInvariant.sol";
import {StdUtils} from "forge-std/StdUtils.sol";
import {Vm} from "forge-std/Vm.sol";

/// @dev forge-std's Test (same bases, same IS_TEST flag) without the imports of forge-std/Test.sol that no
/// test uses: safeconsole.sol alone is 427 kB. forge hands solc every source of a build in one standard-JSON
/// input, and solc-js (tools/solc) copies that input onto its 5 MB wasm stack at 4 bytes per character, so a
/// build whose input exceeds about 1.3 MB fails with "RuntimeError: memory access out of bounds" (a clean
/// build and every `forge coverage` compile all sources at once).
abstract contract Test is TestBase, StdAssertions, StdChains, StdCheats, StdInvariant, StdUtils {
    bool public IS_TEST = true;
}
