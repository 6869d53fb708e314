// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.11;

// Single entry point for forge-std. The `forge-std/` remapping in foundry.toml points at
// `.../lib/forge-std/src/`, but @layerzerolabs/toolbox-foundry ships forge-std 1.9.7 flat in
// `.../lib/forge-std/` (no `src/`), so `forge-std/Test.sol` does not resolve. Once the remapping is
// fixed, replace the paths below with `forge-std/Test.sol` and `forge-std/StdInvariant.sol`.
import {Test} from "../../node_modules/@layerzerolabs/toolbox-foundry/lib/forge-std/Test.sol";
import {StdInvariant} from "../../node_modules/@layerzerolabs/toolbox-foundry/lib/forge-std/StdInvariant.sol";
import {Vm} from "../../node_modules/@layerzerolabs/toolbox-foundry/lib/forge-std/Vm.sol";
