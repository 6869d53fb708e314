// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.11;

// Single entry point for forge-std (1.9.7, from @layerzerolabs/toolbox-foundry; see foundry.toml).
import {Test} from "forge-std/Test.sol";
import {StdInvariant} from "forge-std/StdInvariant.sol";
import {Vm} from "forge-std/Vm.sol";
